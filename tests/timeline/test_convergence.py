"""Property: any arrival order, with duplicates, converges to the state of in-order, exactly-once delivery.

Each example publishes one generated history twice against the real service: in order, once
each, to one workspace; shuffled and with duplicates to another. The stored state of the two
workspaces must be the same (customer ids and event ids compared modulo their workspace).
Half the examples are published while the consumer is held, so that both copies, duplicates
included, are applied together as one batch.
"""

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nats.js import JetStreamContext

from services.timeline import repository, service
from services.timeline.app import definition
from services.timeline.config import Settings
from shared.cursors import END_OF_TIME
from shared.runtime import ServiceRuntime
from tests.conftest import ServiceStarter
from tests.shared.holding import consumer_held, transactions_applying
from tests.support import connector_event, customer_id, new_workspace, publish_event, wait_for
from tests.timeline.conftest import declare_bound_streams
from tests.timeline.support import Connector, at, consumer_settled

USERS = [("whatsapp", "+971500000001"), ("web", "visitor-1"), ("instagram", "dana.k")]


@pytest.fixture
async def wide_timeline(start_service: ServiceStarter, js: JetStreamContext) -> ServiceRuntime:
    """A timeline replica that fetches both copies of any generated history in one batch."""
    await declare_bound_streams(js)
    return await start_service(definition, Settings, retry_backoff=(0.05,), max_deliver=3, consumer_batch=500)


@dataclass(frozen=True)
class Step:
    """One connector event of a history, before it is given a workspace and an event id."""

    event_type: str
    platform: str
    user: str
    occurred_at: datetime
    fields: dict[str, Any]


def conversation_events(draw: st.DrawFn, conversation: str) -> list[tuple[str, dict[str, Any]]]:
    """One conversation's events in the order they happened (types and fields only)."""
    events: list[tuple[str, dict[str, Any]]] = []
    if draw(st.booleans()):
        events.append(("conversation.started", {}))
    for action in draw(st.lists(st.sampled_from(["message", "message", "escalate", "close"]), max_size=8)):
        n = len(events)
        if action == "message":
            sender = draw(st.sampled_from(["customer", "ai", "human"]))
            text = draw(st.text(max_size=20)).replace("\x00", "")
            events.append(("conversation.message", {"message_id": f"m{n}", "sender": sender, "text": text}))
        elif action == "escalate":
            escalation = f"{conversation}-e{n}"
            events.append(("conversation.escalated", {"escalation_id": escalation, "reason": f"reason {n}"}))
            # Handled by nobody yet, once, or (a hand-over) twice.
            for _ in range(draw(st.integers(0, 2))):
                by = draw(st.sampled_from(["Sara", "Omar", "Lina"]))
                events.append(("escalation.handled", {"escalation_id": escalation, "handled_by": by}))
        else:
            by = draw(st.sampled_from(["ai", "human"]))
            events.append(("conversation.closed", {"resolved_by": {"type": by, "name": f"{by} {n}"}}))
    return events or [("conversation.started", {})]


@st.composite
def histories(draw: st.DrawFn) -> list[Step]:
    """Conversations as connectors report them, in the order things happened."""
    steps: list[Step] = []
    clock = 0
    for c in range(draw(st.integers(1, 3))):
        platform, user = draw(st.sampled_from(USERS))
        for event_type, fields in conversation_events(draw, f"c{c}"):
            # Steps may share an instant: ties must resolve the same way in any order too.
            clock += draw(st.integers(0, 2))
            steps.append(Step(event_type, platform, user, at(clock), {"conversation_id": f"c{c}", **fields}))
    return steps


@dataclass(frozen=True)
class Arrival:
    """How the shuffled copy is delivered: stream order and copies (index, resent under a new event id)."""

    order: list[tuple[int, bool]]


@st.composite
def arrivals(draw: st.DrawFn, count: int) -> Arrival:
    """Every step at least once, some again (same event id, or a message resent under a new one)."""
    copies = [(i, False) for i in range(count)]
    copies += [(i, draw(st.booleans())) for i in draw(st.lists(st.integers(0, count - 1), max_size=count))]
    return Arrival(order=draw(st.permutations(copies)))


async def publish_steps(
    js: JetStreamContext, ws: str, steps: list[Step], order: list[tuple[int, bool]]
) -> None:
    """Publish steps of a history in this order, as (index, resent under a new event id)."""
    for copy, (index, resent) in enumerate(order):
        step = steps[index]
        event_id = f"{ws}:{index:03d}"
        if resent and step.event_type == "conversation.message":
            event_id = f"{ws}:{index:03d}:resent"
        body = connector_event(
            step.platform,
            step.user,
            event_id=event_id,
            occurred_at=step.occurred_at.isoformat(),
            **step.fields,
        )
        # A fresh Nats-Msg-Id per copy: JetStream's dedup window must not hide duplicates from the inbox.
        await publish_event(js, ws, step.event_type, body, msg_id=f"{event_id}#{copy}")


async def _state(pool: asyncpg.Pool, ws: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the workspace holds, with workspace-specific ids made comparable."""
    owners = {customer_id(ws, platform, user): (platform, user) for platform, user in USERS}

    def plain(row: asyncpg.Record) -> tuple[Any, ...]:
        values: list[Any] = []
        for key, value in row.items():
            if key == "customer_id":
                values.append(owners[str(value)])
            elif key.endswith("event_id") and value is not None:
                values.append(value.removeprefix(f"{ws}:").removesuffix(":resent"))
            else:
                values.append(value)
        return tuple(values)

    tables = {
        "conversations": "conversation_id",
        "messages": "conversation_id, message_id",
        "escalations": "escalation_id",
    }
    state: dict[str, list[tuple[Any, ...]]] = {}
    for table, key in tables.items():
        rows = await pool.fetch(f"SELECT * FROM {table} WHERE workspace = $1 ORDER BY {key}", ws)
        state[table] = [plain(row)[1:] for row in rows]
    return state


async def _escalations_served(pool: asyncpg.Pool, ws: str) -> dict[str, tuple[Any, ...]]:
    """Each escalation as the Escalations tab serves it (the close-derived handling included)."""
    served: dict[str, tuple[Any, ...]] = {}
    async with pool.acquire() as conn:
        for platform, user in USERS:
            query = repository.PageQuery(ws, customer_id(ws, platform, user), (END_OF_TIME, ""), 100)
            for row in await repository.escalations_page(conn, query):
                item = service.escalation_item(row)
                served[item.id] = (item.handled_by, item.handled_at, item.resolution)
    return served


def _expected_handling(steps: list[Step]) -> dict[str, tuple[str | None, datetime | None]]:
    """The rule, from the history itself: the earliest handling, else the human who made the last close."""
    expected: dict[str, tuple[str | None, datetime | None]] = {}
    for step in steps:
        if step.event_type != "conversation.escalated":
            continue
        escalation, conversation = step.fields["escalation_id"], step.fields["conversation_id"]
        handlings = [
            s
            for s in steps
            if s.event_type == "escalation.handled" and s.fields["escalation_id"] == escalation
        ]
        closes = [
            s
            for s in steps
            if s.event_type == "conversation.closed" and s.fields["conversation_id"] == conversation
        ]
        if handlings:
            first = handlings[0]
            expected[escalation] = (first.fields["handled_by"], first.occurred_at)
        elif closes and closes[-1].fields["resolved_by"]["type"] == "human":
            expected[escalation] = (closes[-1].fields["resolved_by"]["name"], closes[-1].occurred_at)
        else:
            expected[escalation] = (None, None)
    return expected


# Examples on real servers: no deadline, fixtures shared by the examples of one test.
PROPERTY_ON_SERVERS = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY_ON_SERVERS
@given(data=st.data())
async def test_any_order_with_duplicates_converges_to_in_order_state(
    wide_timeline: ServiceRuntime, js: JetStreamContext, data: st.DataObject
) -> None:
    steps = data.draw(histories(), label="history")
    arrival = data.draw(arrivals(len(steps)), label="arrival")
    held = data.draw(st.booleans(), label="applied as one batch")
    in_order, shuffled = new_workspace(), new_workspace()
    pool = wide_timeline.pool
    assert pool is not None
    elsewhere = Connector(js, new_workspace())
    holding = consumer_held(pool, lambda: elsewhere.started("c", at(0))) if held else contextlib.nullcontext()
    async with holding:
        await publish_steps(js, in_order, steps, [(i, False) for i in range(len(steps))])
        await publish_steps(js, shuffled, steps, arrival.order)
    await wait_for(lambda: consumer_settled(js), what="both copies applied")
    if held:
        # One transaction: the batch path applied it all, without falling back event by event.
        event_ids = [
            f"{ws}:{i:03d}{suffix}"
            for ws in (in_order, shuffled)
            for i in range(len(steps))
            for suffix in ("", ":resent")
        ]
        assert await transactions_applying(pool, event_ids) == 1

    expected = await _state(pool, in_order)
    assert await _state(pool, shuffled) == expected
    # As served: an escalation without a handling is handled by the human who closed its
    # conversation, whichever came first; the same in both workspaces, and as the rule says.
    served = await _escalations_served(pool, in_order)
    assert await _escalations_served(pool, shuffled) == served
    assert {e: handled[:2] for e, handled in served.items()} == _expected_handling(steps)
    # The reference itself is right: one conversation each, every message once, started_at as specified.
    conversations = {step.fields["conversation_id"] for step in steps}
    assert [row[0] for row in expected["conversations"]] == sorted(conversations)
    assert len(expected["messages"]) == sum(step.event_type == "conversation.message" for step in steps)
    for row in await pool.fetch(
        "SELECT conversation_id, started_at FROM conversations WHERE workspace = $1", in_order
    ):
        own = [step for step in steps if step.fields["conversation_id"] == row["conversation_id"]]
        announced = [step.occurred_at for step in own if step.event_type == "conversation.started"]
        assert row["started_at"] == (announced[0] if announced else min(step.occurred_at for step in own))
