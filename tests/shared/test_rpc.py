"""Request/reply helpers on real NATS: results, reported errors, silence."""

import pytest
from nats.aio.client import Client as NATS

from shared.errors import NotFound
from shared.rpc import Empty, Operation, ServiceUnavailable, call, ping_operation, request_headers
from shared.runtime import ServiceRuntime
from tests.shared import probe


async def test_a_call_gets_the_reply_model(runtime: ServiceRuntime, nc: NATS) -> None:
    request = probe.Echo.model_validate({"workspace": "ws-1", "a": 1})
    result = await call(nc, probe.ECHO, request, timeout=2, headers=request_headers("r-1"))
    assert result == probe.Echoed(echo={"workspace": "ws-1", "a": 1})


async def test_every_service_answers_ping(runtime: ServiceRuntime, nc: NATS) -> None:
    assert (await call(nc, ping_operation("probe"), Empty(), timeout=2)).service == "probe"


async def test_a_reported_failure_arrives_as_its_error(runtime: ServiceRuntime, nc: NATS) -> None:
    with pytest.raises(NotFound) as reported:
        await call(nc, probe.ECHO, probe.Echo(workspace="ws-1", fail="not_found"), timeout=2)
    assert reported.value.detail == "no such thing"


@pytest.mark.parametrize("body", [b"[1, 2]", b"{broken", b'{"workspace": "not a workspace!"}'])
async def test_a_request_that_is_not_the_operations_model_is_invalid(
    runtime: ServiceRuntime, nc: NATS, body: bytes
) -> None:
    reply = await nc.request(probe.ECHO.subject, body, timeout=2)
    assert b'"error":"invalid"' in reply.data


async def test_silence_is_service_unavailable(nc: NATS) -> None:
    nobody = Operation("nobody", "echo", Empty, Empty, "no replica runs")
    with pytest.raises(ServiceUnavailable):
        await call(nc, nobody, Empty(), timeout=0.5)
