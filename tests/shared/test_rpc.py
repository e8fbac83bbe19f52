"""Request/reply helpers on real NATS: results, reported errors, silence."""

from collections.abc import Awaitable, Callable

import pytest
from nats.aio.client import Client as NATS

from shared.config import ServiceSettings
from shared.errors import NotFound
from shared.rpc import Empty, Operation, ServiceUnavailable, call, ping_operation, request_headers
from shared.runtime import ServiceRuntime
from tests.shared import probe

Starter = Callable[..., Awaitable[ServiceRuntime]]


async def test_a_call_gets_the_reply_model(start_service: Starter, nc: NATS) -> None:
    await start_service(probe.definition, ServiceSettings)
    request = probe.Echo.model_validate({"workspace": "ws-1", "a": 1})
    result = await call(nc, probe.ECHO, request, timeout=2, headers=request_headers("r-1"))
    assert result == probe.Echoed(echo={"workspace": "ws-1", "a": 1})


async def test_every_service_answers_ping(start_service: Starter, nc: NATS) -> None:
    await start_service(probe.definition, ServiceSettings)
    assert (await call(nc, ping_operation("probe"), Empty(), timeout=2)).service == "probe"


async def test_a_reported_failure_arrives_as_its_error(start_service: Starter, nc: NATS) -> None:
    await start_service(probe.definition, ServiceSettings)
    with pytest.raises(NotFound) as reported:
        await call(nc, probe.ECHO, probe.Echo(workspace="ws-1", fail="not_found"), timeout=2)
    assert reported.value.detail == "no such thing"


@pytest.mark.parametrize("body", [b"[1, 2]", b"{broken", b'{"workspace": "not a workspace!"}'])
async def test_a_request_that_is_not_the_operations_model_is_invalid(
    start_service: Starter, nc: NATS, body: bytes
) -> None:
    await start_service(probe.definition, ServiceSettings)
    reply = await nc.request(probe.ECHO.subject, body, timeout=2)
    assert b'"error":"invalid"' in reply.data


async def test_silence_is_service_unavailable(nc: NATS) -> None:
    nobody = Operation("nobody", "echo", Empty, Empty, "no replica runs")
    with pytest.raises(ServiceUnavailable):
        await call(nc, nobody, Empty(), timeout=0.5)
