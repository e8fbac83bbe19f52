"""Where customer data and identities' events go after merges and erasures (shared/identity.py).

The rules as plain functions, then the tables on real PostgreSQL: the merges and erasures of a
history recorded in every order leave the same answers.
"""

import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.timeline.app import definition as timeline
from shared import identity
from shared.db import Connection, create_pool, migrate
from shared.events import ConversationStarted
from shared.identity import Resolved, Route, route_events, routed
from shared.ids import customer_id_at, customer_id_for
from shared.messages.profile import ErasedIdentity, IdentityRef

T0 = datetime(2026, 2, 1, tzinfo=UTC)
WS = "ws-identity"


def test_epoch_zero_is_the_identity_key_and_every_later_epoch_a_new_id() -> None:
    key = customer_id_for(WS, "whatsapp", "+971500000001")
    ids = [customer_id_at(key, epoch) for epoch in range(4)]
    assert ids[0] == key
    assert len(set(ids)) == 4
    assert customer_id_at(key, 2) == ids[2]  # the same in every service


@pytest.mark.parametrize(
    ("route", "occurred_at", "expected"),
    [
        (None, T0, "key"),
        (Route(uuid.UUID(int=7), None), T0, "routed"),
        (Route(uuid.UUID(int=7), T0), T0 - timedelta(seconds=1), None),
        (Route(uuid.UUID(int=7), T0), T0, "routed"),
        (Route(uuid.UUID(int=7), T0), T0 + timedelta(days=1), "routed"),
    ],
    ids=["no route", "merged", "before the erasure", "at the erasure", "after the erasure"],
)
def test_an_event_goes_to_its_route_unless_it_occurred_before_the_erasure(
    route: Route | None, occurred_at: datetime, expected: str | None
) -> None:
    key = uuid.UUID(int=1)
    want = {"key": key, "routed": uuid.UUID(int=7), None: None}[expected]
    assert routed(key, occurred_at, route) == want


def test_route_events_keeps_order_and_drops_what_an_erasure_drops() -> None:
    def started(user: str, seconds: int) -> ConversationStarted:
        return ConversationStarted(
            event_id=f"{user}-{seconds}",
            occurred_at=T0 + timedelta(seconds=seconds),
            platform="web",
            platform_user_id=user,
            conversation_id="c",
        )

    erased, merged, plain = (customer_id_for(WS, "web", user) for user in ("erased", "merged", "plain"))
    fresh, target = customer_id_at(erased, 1), uuid.UUID(int=9)
    routes = {(WS, erased): Route(fresh, T0 + timedelta(seconds=10)), (WS, merged): Route(target, None)}
    events = [(WS, started("erased", 5)), (WS, started("merged", 1)), (WS, started("plain", 2))]
    events += [(WS, started("erased", 10))]
    assert [(customer, event.event_id) for _, customer, event in route_events(events, routes)] == [
        (target, "merged-1"),
        (plain, "plain-2"),
        (fresh, "erased-10"),
    ]


@pytest.mark.parametrize(
    ("resolved", "merged_into"),
    [
        (Resolved(uuid.UUID(int=1), False), None),
        (Resolved(uuid.UUID(int=2), False), uuid.UUID(int=2)),
        (Resolved(uuid.UUID(int=2), True), None),
        (Resolved(uuid.UUID(int=1), True), None),
    ],
    ids=["live", "merged", "merged into an erased one", "erased"],
)
def test_merged_into_names_only_a_live_target(resolved: Resolved, merged_into: uuid.UUID | None) -> None:
    assert resolved.merged_into(uuid.UUID(int=1)) == merged_into


# --- the tables, in every order ------------------------------------------------------------------

A, B, C, D = (uuid.UUID(int=n) for n in range(1, 5))
KEY_A, KEY_B, KEY_C = A, B, C  # each customer created from its own identity (epoch 0)


@dataclass(frozen=True)
class Step:
    """One merge or erasure as the profile service announces it."""

    name: str
    apply: Callable[[Connection], Awaitable[None]]


def _merge(source: uuid.UUID, target: uuid.UUID, keys: list[uuid.UUID], at: int) -> Step:
    async def apply(conn: Connection) -> None:
        # As the timeline applies a merge: rows and routes go to the target unless it is erased.
        when = T0 + timedelta(minutes=at)
        final = await identity.retire_merged(conn, WS, source, target, when)
        if final is not None:
            refs = [IdentityRef(identity_key=k, epoch=0) for k in keys]
            await identity.route_merged(conn, WS, refs, source, final)

    return Step(f"merge {source.int}->{target.int}", apply)


def _erase(customer_ids: list[uuid.UUID], keys: list[uuid.UUID], at: int) -> Step:
    async def apply(conn: Connection) -> None:
        when = T0 + timedelta(minutes=at)
        await identity.retire_erased(conn, WS, customer_ids, when)
        erased = [ErasedIdentity(identity_key=k, epoch=1, customer_id=customer_id_at(k, 1)) for k in keys]
        await identity.route_erased(conn, WS, erased, when)

    return Step(f"erase {[c.int for c in customer_ids]}", apply)


# A into B, then B (with A's identity) into C, then C (with both) erased.
HISTORY = [
    _merge(A, B, [KEY_A], 1),
    _merge(B, C, [KEY_A, KEY_B], 2),
    _erase([C, B, A], [KEY_A, KEY_B, KEY_C], 3),
]


@pytest.fixture
async def tables(fresh_database: Callable[[str], Awaitable[str]]) -> AsyncIterator[asyncpg.Pool]:
    """A database with the timeline's tables (it keeps both identity tables)."""
    url = await fresh_database("identity")
    await migrate(timeline.migrations, url)
    pool = await create_pool(url)
    yield pool
    await pool.close()


@dataclass(frozen=True)
class Answers:
    """Where each customer's data goes (None: dropped) and where each identity's events go."""

    live: dict[uuid.UUID, uuid.UUID | None]
    routes: dict[identity.IdentityKey, Route]


async def _answers(conn: Connection) -> Answers:
    resolved = await identity.resolve(conn, WS, [A, B, C, D])
    routes = await identity.routes_of(conn, {(WS, key) for key in (KEY_A, KEY_B, KEY_C)})
    return Answers({c: r.live_id for c, r in resolved.items()}, routes)


@pytest.mark.parametrize("prefix", [1, 2, 3], ids=["after one merge", "after the chain", "after the erasure"])
async def test_any_order_of_merges_and_erasures_leaves_the_same_answers(
    tables: asyncpg.Pool, prefix: int
) -> None:
    in_order: Answers | None = None
    for order in itertools.permutations(HISTORY[:prefix]):
        async with tables.acquire() as conn, conn.transaction():
            for step in order:
                await step.apply(conn)
            answers = await _answers(conn)
            # Each order starts from empty tables.
            await conn.execute("DELETE FROM retired_customers; DELETE FROM identity_routes")
        in_order = in_order or answers
        assert answers == in_order, [step.name for step in order]
    assert in_order is not None
    live, routes = in_order.live, in_order.routes
    assert live[D] == D
    if prefix == 1:
        assert (live[A], live[B]) == (B, B)
        assert routes[(WS, KEY_A)] == Route(B, None)
    elif prefix == 2:
        assert (live[A], live[B], live[C]) == (C, C, C)
        assert routes[(WS, KEY_A)] == routes[(WS, KEY_B)] == Route(C, None)
    else:
        assert (live[A], live[B], live[C]) == (None, None, None)
        erased_at = T0 + timedelta(minutes=3)
        assert routes == {
            (WS, key): Route(customer_id_at(key, 1), erased_at) for key in (KEY_A, KEY_B, KEY_C)
        }
