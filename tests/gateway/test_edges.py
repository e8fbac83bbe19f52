"""The gateway skeleton over real HTTP: auth, problem+json, limits, health and readiness."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import jwt
import pytest
from nats.js import JetStreamContext

from services.insights.app import definition as insights
from services.insights.config import Settings as InsightsSettings
from services.notes.app import definition as notes
from services.notes.config import Settings as NotesSettings
from services.profile.app import definition as profile
from services.profile.config import Settings as ProfileSettings
from services.timeline.app import definition as timeline
from services.timeline.config import Settings as TimelineSettings
from shared.fields import NOTE_FIELDS, PROFILE_FIELDS
from tests.conftest import RunningGateway
from tests.support import JWT_SECRET, auth, declare_streams_bound_by, new_workspace, token, wait_for
from tests.support import assert_problem as problem_body

GatewayStarter = Callable[..., Awaitable[RunningGateway]]


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    body = problem_body(response, status)
    assert set(body) >= {"type", "title", "status", "detail", "errors"}
    return body


def _bearer(claims: dict[str, Any], algorithm: str = "HS256") -> str:
    """An Authorization header carrying `claims` signed with the suite's secret."""
    return "Bearer " + jwt.encode(claims, JWT_SECRET, algorithm=algorithm)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-jwt",
        "Bearer " + token("acme", secret="another-secret-entirely-0123456789"),
        "Bearer " + token("acme", ttl_seconds=-10),
        _bearer({"sub": "u", "workspace": "acme", "role": "root", "exp": 9999999999}),
        _bearer({"sub": "u", "role": "agent", "exp": 9999999999}),
        _bearer({"sub": "u", "workspace": "a.b", "role": "agent", "exp": 9999999999}),
        _bearer({"sub": "u", "workspace": "acme", "role": "agent", "exp": 9999999999}, algorithm="HS384"),
        _bearer({"sub": "u", "name": "bad\ud800", "workspace": "acme", "role": "agent", "exp": 9999999999}),
        _bearer({"sub": "u\x00", "workspace": "acme", "role": "agent", "exp": 9999999999}),
    ],
    ids=[
        "missing",
        "empty",
        "basic",
        "garbage",
        "wrong-signature",
        "expired",
        "bad-role",
        "no-workspace",
        "bad-workspace",
        "wrong-algorithm",
        "surrogate-name",
        "nul-sub",
    ],
)
async def test_v1_requires_a_valid_token(start_gateway: GatewayStarter, header: str | None) -> None:
    gateway = await start_gateway()
    headers = {"Authorization": header} if header else {}
    response = await gateway.client.get("/v1/reference/languages", headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_token_stops_working_when_it_expires(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway()
    headers = auth(new_workspace(), ttl_seconds=2)
    assert (await gateway.client.get("/v1/reference/languages", headers=headers)).status_code == 200

    async def refused() -> bool:
        response = await gateway.client.get("/v1/reference/languages", headers=headers)
        return response.status_code == 401 and response.json()["detail"] == "token expired"

    # The gateway remembers verified tokens; it must still notice the expiry.
    await wait_for(refused, timeout=10, interval=0.2, what="expired token refused")


async def test_unknown_route_is_problem_json(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway()
    assert_problem(await gateway.client.get("/nope", headers=auth(new_workspace())), 404)


async def test_oversized_body_is_413(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway()
    body = b'{"text": "' + b"a" * (65 * 1024) + b'"}'
    response = await gateway.client.post(
        "/v1/tags",
        content=body,
        headers={**auth(new_workspace(), role="admin"), "content-type": "application/json"},
    )
    assert_problem(response, 413)
    just_under = await gateway.client.post(
        "/v1/tags",
        content=b"a" * (64 * 1024),
        headers={**auth(new_workspace(), role="admin"), "content-type": "application/json"},
    )
    assert just_under.status_code != 413


async def test_reference_lists(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway()
    languages = (await gateway.client.get("/v1/reference/languages", headers=auth("acme"))).json()["items"]
    countries = (await gateway.client.get("/v1/reference/countries", headers=auth("acme"))).json()["items"]
    assert {"code": "ar", "name": "Arabic"} in languages and {"code": "en", "name": "English"} in languages
    assert {"code": "AE", "name": "United Arab Emirates"} in countries
    assert len(countries) == 249 and all(len(c["code"]) == 2 for c in countries)


async def test_field_references_are_the_fields_and_limits_the_services_validate_with(
    start_gateway: GatewayStarter,
) -> None:
    gateway = await start_gateway()
    for path, fields in (("profile-fields", PROFILE_FIELDS), ("note-fields", NOTE_FIELDS)):
        response = await gateway.client.get(f"/v1/reference/{path}", headers=auth("acme"))
        assert response.status_code == 200, response.text
        assert response.json()["items"] == [asdict(field) for field in fields]
    profile = (await gateway.client.get("/v1/reference/profile-fields", headers=auth("acme"))).json()
    assert {f["field"]: f["max_length"] for f in profile["items"]}["agent_instructions"] == 2000
    assert (await gateway.client.get("/v1/reference/profile-fields")).status_code == 401


async def test_live_events_reference_names_each_event_with_its_section(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway()
    items = (await gateway.client.get("/v1/reference/live-events", headers=auth("acme"))).json()["items"]
    assert {"type": "notes.note.added", "section": "notes"} in items
    assert {"type": "profile.customer.updated", "section": "profile"} in items
    # The dashboard follows a merge and an erasure by these names (CONTRACT.md §7).
    assert {"type": "profile.customer.merged", "section": "profile"} in items
    assert {"type": "profile.erasure.requested", "section": "profile"} in items
    assert {"type": "notes.customer.merged", "section": "notes"} in items
    assert all(item["type"].startswith(f"{item['section']}.") for item in items)
    # Workspace-wide events reach no customer's stream.
    assert not [item for item in items if item["type"].startswith("profile.tag.")]


async def test_nul_in_query_is_422(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway()
    response = await gateway.client.get("/v1/customers?q=a%00b", headers=auth(new_workspace()))
    body = assert_problem(response, 422)
    assert body["errors"][0]["message"] == "must not contain U+0000"


async def test_request_id_is_echoed(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway()
    response = await gateway.client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "abc-123"
    generated = await gateway.client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert generated.headers["x-request-id"] != "bad id with spaces"


async def test_readyz_names_what_does_not_answer_then_turns_ready(
    start_gateway: GatewayStarter, start_service: Callable[..., Awaitable[Any]], js: JetStreamContext
) -> None:
    gateway = await start_gateway()
    assert (await gateway.client.get("/healthz")).status_code == 200
    body = assert_problem(await gateway.client.get("/readyz"), 503)
    assert {e["field"] for e in body["errors"]} == {"profile", "notes", "timeline", "insights"}

    # Profile binds the streams on which the other services confirm erasures.
    await declare_streams_bound_by(js, profile)
    await start_service(profile, ProfileSettings)
    body = assert_problem(await gateway.client.get("/readyz"), 503)
    assert {e["field"] for e in body["errors"]} == {"notes", "timeline", "insights"}

    # Timeline and insights bind each other's streams: they start together, as in production.
    await asyncio.gather(
        *(
            start_service(definition, settings)
            for definition, settings in (
                (notes, NotesSettings),
                (timeline, TimelineSettings),
                (insights, InsightsSettings),
            )
        )
    )
    response = await gateway.client.get("/readyz")
    assert response.status_code == 200, response.text


async def test_readyz_reports_redis_down(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway(redis_url="redis://127.0.0.1:1/0")
    body = assert_problem(await gateway.client.get("/readyz"), 503)
    assert "redis" in {e["field"] for e in body["errors"]}


async def test_body_that_is_not_utf8_is_422(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway()
    response = await gateway.client.post(
        "/v1/tags",
        content=b'{"name": "\xff"}',
        headers={**auth(new_workspace(), role="admin"), "content-type": "application/json"},
    )
    body = assert_problem(response, 422)
    assert body["errors"] == [{"field": "body", "message": "malformed JSON"}]
