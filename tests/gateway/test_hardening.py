"""The gateway's hardening: token lifetime, issuer and audience, secret length, headers, live streams."""

from collections.abc import Awaitable, Callable

import pytest
from nats.js import JetStreamContext
from pydantic import ValidationError

from gateway.auth import issue_token
from gateway.config import GatewaySettings
from tests.conftest import RunningGateway
from tests.gateway.support import seed_viewable_customer
from tests.support import JWT_SECRET, auth, new_workspace

GatewayStarter = Callable[..., Awaitable[RunningGateway]]
REFERENCE = "/v1/reference/languages"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_jwt_secret_shorter_than_32_bytes_refuses_to_start() -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        GatewaySettings(jwt_secret="too-short-a-secret")


async def test_a_token_that_lives_longer_than_the_maximum_is_refused(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway(jwt_max_lifetime_seconds=3600)
    ws = new_workspace()
    long_lived = issue_token(JWT_SECRET, sub="u", name="U", workspace=ws, role="agent", ttl_seconds=7200)
    refused = await gateway.client.get(REFERENCE, headers=_bearer(long_lived))
    assert (refused.status_code, refused.json()["detail"]) == (401, "token lifetime over the maximum")
    assert (await gateway.client.get(REFERENCE, headers=auth(ws))).status_code == 200


@pytest.mark.parametrize(
    ("issuer", "audience", "status"),
    [
        (None, None, 401),
        ("wrong", "dashboard", 401),
        ("acme-sso", "other", 401),
        ("acme-sso", "dashboard", 200),
    ],
)
async def test_issuer_and_audience_are_checked_when_configured(
    start_gateway: GatewayStarter, issuer: str | None, audience: str | None, status: int
) -> None:
    gateway = await start_gateway(jwt_issuer="acme-sso", jwt_audience="dashboard")
    token = issue_token(
        JWT_SECRET,
        sub="u",
        name="U",
        workspace=new_workspace(),
        role="agent",
        issuer=issuer,
        audience=audience,
    )
    assert (await gateway.client.get(REFERENCE, headers=_bearer(token))).status_code == status


async def test_api_answers_are_neither_sniffed_nor_stored(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway()
    for response in (
        await gateway.client.get(REFERENCE, headers=auth(new_workspace())),
        await gateway.client.get("/v1/customers"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"


async def test_a_live_stream_ends_when_its_token_expires(
    gateway: RunningGateway, js: JetStreamContext
) -> None:
    ws = new_workspace()
    customer = await seed_viewable_customer(gateway.client, js, ws)
    short = issue_token(JWT_SECRET, sub="u", name="U", workspace=ws, role="agent", ttl_seconds=2)
    lines: list[str] = []
    async with gateway.client.stream(
        "GET", f"/v1/customers/{customer}/events", headers=_bearer(short)
    ) as live:
        assert live.status_code == 200
        async for line in live.aiter_lines():
            lines.append(line)
    # The stream ended by itself, telling the page why, once the token ran out.
    assert "event: token.expired" in lines
