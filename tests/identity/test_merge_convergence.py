"""Property: a merge interleaved with shuffled, duplicated histories of both identities converges.

Each example writes a history of two identities of one person (contact details and conversations)
and plays it twice against the real profile and timeline services: in one workspace in order,
once each, then the merge; in another shuffled, with duplicates (some messages resent under a new
event id), and the merge requested somewhere in the middle, as soon as both customers exist.
Everything either service stores of the workspace must then be the same in both (ids compared
modulo their workspace): events that came before the merge, after it, or late from before it
all end up with the target.
"""

from dataclasses import dataclass
from functools import partial
from typing import Any

import asyncpg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from services.profile.app import definition as profile_service
from services.profile.config import Settings as ProfileSettings
from services.timeline.app import definition as timeline_service
from services.timeline.config import Settings as TimelineSettings
from shared.ids import customer_id_for
from shared.messages import profile, timeline
from shared.runtime import ServiceRuntime
from tests.conftest import ServiceStarter
from tests.support import (
    call_json,
    declare_streams_bound_by,
    new_workspace,
    published,
    wait_for,
)
from tests.timeline.support import at, consumer_settled
from tests.timeline.test_convergence import (
    PROPERTY_ON_SERVERS,
    Step,
    arrivals,
    conversation_events,
    publish_steps,
)

TARGET = ("whatsapp", "+971500000001")
SOURCE = ("instagram", "dana.k")


@dataclass(frozen=True)
class Services:
    """The profile and timeline replicas of the test."""

    profile: ServiceRuntime
    timeline: ServiceRuntime

    def pool(self, service: str) -> asyncpg.Pool:
        """The database of one of them."""
        runtime: ServiceRuntime = getattr(self, service)
        assert runtime.pool is not None
        return runtime.pool


@pytest.fixture
async def services(start_service: ServiceStarter, js: JetStreamContext) -> Services:
    """Profile and timeline, each fetching a whole example at once when it can."""
    await declare_streams_bound_by(js, profile_service, timeline_service)
    tuning: dict[str, Any] = {"retry_backoff": (0.05,), "max_deliver": 3, "consumer_batch": 500}
    return Services(
        profile=await start_service(profile_service, ProfileSettings, **tuning),
        timeline=await start_service(timeline_service, TimelineSettings, **tuning),
    )


@st.composite
def sightings(draw: st.DrawFn, clock: int, n: int) -> tuple[int, list[Step]]:
    """contact.seen events of either identity: names, avatars, Instagram details."""
    steps = []
    for k in range(draw(st.integers(0, 2))):
        platform, user = draw(st.sampled_from([TARGET, SOURCE]))
        clock += draw(st.integers(0, 2))
        fields: dict[str, Any] = {"display_name": draw(st.sampled_from(["Dana", "Dana K", "D. K.", None]))}
        if draw(st.booleans()):
            fields["avatar_url"] = f"https://cdn.example.com/{n}-{k}.png"
        if platform == "instagram" and draw(st.booleans()):
            fields["instagram"] = {"followers": draw(st.integers(0, 50)), "follow_status": "following"}
        steps.append(Step("contact.seen", platform, user, at(clock), fields))
    return clock, steps


@st.composite
def histories(draw: st.DrawFn) -> list[Step]:
    """Both identities' contact details and conversations, in the order things happened."""
    steps: list[Step] = []
    clock = 0
    for c in range(draw(st.integers(1, 4))):
        clock, seen = draw(sightings(clock, c))
        steps += seen
        platform, user = draw(st.sampled_from([TARGET, SOURCE]))
        for event_type, fields in conversation_events(draw, f"c{c}"):
            clock += draw(st.integers(0, 2))
            steps.append(Step(event_type, platform, user, at(clock), {"conversation_id": f"c{c}", **fields}))
    clock, seen = draw(sightings(clock, 99))
    steps += seen
    # Both customers exist before anyone can merge them.
    for platform, user in (TARGET, SOURCE):
        if not any((s.platform, s.user) == (platform, user) for s in steps):
            steps.append(Step("contact.seen", platform, user, at(clock + 1), {}))
    return steps


async def _settled(js: JetStreamContext) -> bool:
    return await consumer_settled(js, "profile-chat") and await consumer_settled(js, "timeline-chat")


def _ids(ws: str) -> tuple[str, str]:
    return str(customer_id_for(ws, *TARGET)), str(customer_id_for(ws, *SOURCE))


async def _merge(nc: NATS, services: Services, js: JetStreamContext, ws: str) -> None:
    target, source = _ids(ws)

    async def both_exist() -> bool:
        count = await services.pool("profile").fetchval(
            "SELECT count(*) FROM customers WHERE workspace = $1 AND id = ANY($2::uuid[])",
            ws,
            [target, source],
        )
        return bool(count == 2)

    await wait_for(both_exist, what="both customers created")
    actor = {"id": "user-1", "name": "Test User"}
    merge = {"workspace": ws, "customer_id": target, "source_id": source, "actor": actor}
    await call_json(nc, profile.MERGE_CUSTOMERS, merge)


def _plain(ws: str, value: Any) -> Any:
    """A stored value with the workspace's own ids (customers, event ids) made comparable."""
    target, source = _ids(ws)
    if isinstance(value, dict):
        return {key: _plain(ws, item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(ws, item) for item in value]
    text = str(value) if value is not None else None
    if text in (target, source):
        return "target" if text == target else "source"
    if isinstance(value, str) and value.startswith(f"{ws}:"):
        return value.removeprefix(f"{ws}:").removesuffix(":resent")
    return value


async def _state(services: Services, ws: str) -> dict[str, list[Any]]:
    """Every row either service holds of the workspace, ids made comparable."""
    queries = {
        ("profile", "customers"): "SELECT c.*, a.last_contact_at AS last_contact FROM customers c "
        "JOIN customer_activity a ON a.customer_id = c.id WHERE c.workspace = $1 ORDER BY c.id",
        ("profile", "customer_identities"): "SELECT * FROM customer_identities WHERE workspace = $1 "
        "ORDER BY platform, platform_user_id",
        ("profile", "retired_customers"): "SELECT customer_id, merged_into, erased_at FROM retired_customers "
        "WHERE workspace = $1",
        (
            "profile",
            "identity_routes",
        ): "SELECT * FROM identity_routes WHERE workspace = $1 ORDER BY identity_key",
        (
            "timeline",
            "conversations",
        ): "SELECT * FROM conversations WHERE workspace = $1 ORDER BY conversation_id",
        (
            "timeline",
            "messages",
        ): "SELECT * FROM messages WHERE workspace = $1 ORDER BY conversation_id, message_id",
        ("timeline", "escalations"): "SELECT * FROM escalations WHERE workspace = $1 ORDER BY escalation_id",
        ("timeline", "routes"): "SELECT * FROM identity_routes WHERE workspace = $1 ORDER BY identity_key",
    }
    # customers.last_contact_at is the creation's, kept for the release before profile's 0007;
    # the last contact is customer_activity's (last_contact).
    skipped = {"workspace", "added_at", "last_contact_at"}
    state: dict[str, list[Any]] = {}
    for (service, name), sql in queries.items():
        rows = await services.pool(service).fetch(sql, ws)
        state[name] = [{k: _plain(ws, v) for k, v in row.items() if k not in skipped} for row in rows]
    return state


@settings(PROPERTY_ON_SERVERS, max_examples=30)
@given(data=st.data())
async def test_a_merge_in_any_interleaving_converges_to_the_state_in_order(
    services: Services, js: JetStreamContext, nc: NATS, data: st.DataObject
) -> None:
    steps = data.draw(histories(), label="history")
    arrival = data.draw(arrivals(len(steps)), label="arrival")
    identity = [(steps[i].platform, steps[i].user) for i, _ in arrival.order]
    both_seen = max(identity.index(TARGET), identity.index(SOURCE)) + 1
    split = data.draw(st.integers(both_seen, len(arrival.order)), label="merge after this many")
    in_order, shuffled = new_workspace(), new_workspace()

    await publish_steps(js, in_order, steps, [(i, False) for i in range(len(steps))])
    await wait_for(lambda: _settled(js), what="the history applied in order")
    await _merge(nc, services, js, in_order)
    await publish_steps(js, shuffled, steps, arrival.order[:split])
    await _merge(nc, services, js, shuffled)
    await publish_steps(js, shuffled, steps, arrival.order[split:])

    for ws in (in_order, shuffled):
        await wait_for(
            partial(published, js, timeline.CUSTOMER_MERGED, ws), what="the timeline applied the merge"
        )
    await wait_for(lambda: _settled(js), what="every copy applied")

    expected = await _state(services, in_order)
    got = await _state(services, shuffled)
    for table, rows in expected.items():
        assert got[table] == rows, table
    # The reference itself: one customer left, the target, with both identities and every conversation.
    [customer] = expected["customers"]
    assert customer["id"] == "target"
    assert [(i["platform"], i["platform_user_id"]) for i in expected["customer_identities"]] == sorted(
        [TARGET, SOURCE]
    )
    assert expected["retired_customers"] == [
        {"customer_id": "source", "merged_into": "target", "erased_at": None}
    ]
    assert {row["customer_id"] for row in expected["conversations"]} == {"target"}
    assert customer["created_at"] == min(step.occurred_at for step in steps)
