"""Request/reply helpers on real NATS: results, reported errors, silence."""

from collections.abc import Awaitable, Callable

import pytest
from nats.aio.client import Client as NATS

from shared.config import ServiceSettings
from shared.rpc import RpcError, ServiceUnavailable, request
from shared.runtime import ServiceRuntime
from shared.subjects import rpc_subject
from tests.shared import probe


async def test_request_reply_round_trip_and_errors(
    start_service: Callable[..., Awaitable[ServiceRuntime]], nc: NATS
) -> None:
    await start_service(probe.definition, ServiceSettings)
    result = await request(nc, rpc_subject("probe", "echo"), {"a": 1}, timeout=2, request_id="r-1")
    assert result == {"echo": {"a": 1}, "subject": "rpc.probe.echo"}
    assert await request(nc, rpc_subject("probe", "ping"), {}, timeout=2) == {"service": "probe"}

    with pytest.raises(RpcError) as reported:
        await request(nc, rpc_subject("probe", "echo"), {"fail": "not_found"}, timeout=2)
    assert (reported.value.code, reported.value.detail) == ("not_found", "no such thing")

    reply = await nc.request(rpc_subject("probe", "echo"), b"[1, 2]", timeout=2)
    assert b'"error":"invalid"' in reply.data
    reply = await nc.request(rpc_subject("probe", "echo"), b"{broken", timeout=2)
    assert b'"error":"invalid"' in reply.data

    with pytest.raises(ServiceUnavailable):
        await request(nc, rpc_subject("nobody", "echo"), {}, timeout=0.5)
