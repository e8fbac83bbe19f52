"""Where customer data and a platform identity's events belong after merges and erasures.

Every service that holds customer data keeps, in its own database, the same small tables of ids
and timestamps only (shared.migrations.create_identity_tables):

- `retired_customers`: a customer merged into another (`merged_into`, chains flattened to the
  final target) or erased (`erased_at`). Whatever names a retired id applies to its target, or,
  for an erased one, nowhere.
- `identity_routes`, where connector events are applied: an identity (its key, shared/ids.py)
  that was merged into another customer or erased, the customer its events go to now and the
  instant before which they are dropped. An identity without a route belongs to the customer
  its key names.

Both are written from the profile service's customer.merged and erasure.requested events, in any
order and any number of times, and read wherever events are applied. A merge or an erasure holds
its workspace's identity lock exclusively while it moves or deletes rows; whatever routes events
by these tables holds it shared, so nothing is written to a customer a merge or an erasure has
just retired.
"""

import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from shared.consumer import Delivery, Subscribing, event_consumer
from shared.db import Connection, columns
from shared.events import ConnectorEvent, Event, EventType
from shared.ids import customer_id_for
from shared.messages import ErasureApplied, MergeApplied
from shared.messages.profile import (
    CUSTOMER_MERGED,
    ERASURE_REQUESTED,
    CustomerMerged,
    ErasedIdentity,
    ErasureRequested,
    IdentityRef,
)
from shared.outbox import enqueue

E = TypeVar("E", bound=ConnectorEvent)

# First key of the two-key advisory locks of identity changes (hashtext(workspace) is the second).
_IDENTITY_LOCK = 7_231_016


async def lock_workspaces(conn: Connection, workspaces: Iterable[str], *, exclusive: bool = False) -> None:
    """Hold the identity lock of these workspaces until the transaction ends.

    Shared where events are routed and applied, exclusive where a merge or an erasure moves rows;
    taken in name order, before any row lock, so that transactions wait and never deadlock.
    """
    mode = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    await conn.execute(
        f"SELECT {mode}($1, hashtext(w)) FROM unnest($2::text[]) AS w",
        _IDENTITY_LOCK,
        sorted(set(workspaces)),
    )


# --- customers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    """Where the data of a customer id belongs: `customer_id` (itself or the final merge target),
    unless that customer was erased."""

    customer_id: uuid.UUID
    erased: bool

    @property
    def live_id(self) -> uuid.UUID | None:
        """The customer to apply what names this id to; None if it is to be dropped."""
        return None if self.erased else self.customer_id

    def merged_into(self, asked: uuid.UUID) -> uuid.UUID | None:
        """The live customer `asked` was merged into, if it was."""
        return self.live_id if self.customer_id != asked else None


async def resolve(
    conn: Connection, workspace: str, customer_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Resolved]:
    """Where each of these ids' data belongs now (every id asked is in the answer)."""
    rows = await conn.fetch(
        "SELECT r.customer_id, COALESCE(r.merged_into, r.customer_id) AS target, "
        "(r.erased_at IS NOT NULL OR t.erased_at IS NOT NULL) AS erased "
        "FROM retired_customers r LEFT JOIN retired_customers t "
        "ON t.workspace = r.workspace AND t.customer_id = r.merged_into "
        "WHERE r.workspace = $1 AND r.customer_id = ANY($2::uuid[])",
        workspace,
        list(customer_ids),
    )
    found = {row["customer_id"]: Resolved(row["target"], row["erased"]) for row in rows}
    return {customer_id: found.get(customer_id, Resolved(customer_id, False)) for customer_id in customer_ids}


async def resolve_one(conn: Connection, workspace: str, customer_id: uuid.UUID) -> Resolved:
    """Where one id's data belongs now."""
    return (await resolve(conn, workspace, [customer_id]))[customer_id]


async def retire_merged(
    conn: Connection, workspace: str, source: uuid.UUID, target: uuid.UUID, merged_at: datetime
) -> uuid.UUID | None:
    """Record that `source` was merged into `target`: the customer the source's data now belongs
    to, or None if it is to be deleted (the source or the target was erased meanwhile).

    The target may have been merged on since this merge happened (its event came late): the
    source then follows it to the final target. Customers merged into the source follow it too.
    """
    now = await resolve(conn, workspace, [source, target])
    if now[source].erased:
        return None
    final = now[target].customer_id
    await conn.execute(
        "INSERT INTO retired_customers (workspace, customer_id, merged_into, merged_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (workspace, customer_id) DO UPDATE "
        "SET merged_into = EXCLUDED.merged_into, merged_at = EXCLUDED.merged_at",
        workspace,
        source,
        final,
        merged_at,
    )
    await conn.execute(
        "UPDATE retired_customers SET merged_into = $3 WHERE workspace = $1 AND merged_into = $2",
        workspace,
        source,
        final,
    )
    return now[target].live_id


async def retire_erased(
    conn: Connection, workspace: str, customer_ids: Sequence[uuid.UUID], erased_at: datetime
) -> None:
    """Record that these customers were erased: whatever names them from now on is dropped."""
    await conn.execute(
        "INSERT INTO retired_customers (workspace, customer_id, erased_at) "
        "SELECT $1, unnest($2::uuid[]), $3 ON CONFLICT (workspace, customer_id) DO UPDATE "
        "SET erased_at = COALESCE(retired_customers.erased_at, EXCLUDED.erased_at)",
        workspace,
        list(customer_ids),
        erased_at,
    )


async def forget_events(conn: Connection, workspace: str, customer_ids: Sequence[uuid.UUID]) -> None:
    """Delete this service's outbox rows about these customers, published or not.

    Published rows are kept a day and carry what they announced (names, summaries); one not yet
    published would only tell others about a customer that no longer exists.
    """
    await conn.execute(
        "DELETE FROM outbox WHERE payload ->> 'workspace' = $1 "
        "AND payload -> 'data' ->> 'customer_id' = ANY($2::text[])",
        workspace,
        [str(customer_id) for customer_id in customer_ids],
    )


async def move_rows(
    conn: Connection, workspace: str, tables: Sequence[str], source: uuid.UUID, target: uuid.UUID
) -> None:
    """Give the source customer's rows in each table (its `customer_id`, uuid or text) to the target."""
    for table in tables:
        await conn.execute(
            f"UPDATE {table} SET customer_id = $3 WHERE workspace = $1 AND customer_id = $2",
            workspace,
            str(source),
            str(target),
        )


async def delete_rows(
    conn: Connection, workspace: str, tables: Sequence[str], customer_ids: Sequence[uuid.UUID]
) -> None:
    """Delete the rows of these customers from each table (its `customer_id`, uuid or text)."""
    # The parameter takes the column's type, so that its index serves either kind.
    ids = [str(customer_id) for customer_id in customer_ids]
    for table in tables:
        await conn.execute(
            f"DELETE FROM {table} WHERE workspace = $1 AND customer_id = ANY($2)", workspace, ids
        )


# --- identities ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """Where an identity's events go, and before when they are dropped."""

    customer_id: uuid.UUID
    erased_before: datetime | None


# (workspace, identity key)
IdentityKey = tuple[str, uuid.UUID]


def routed(key: uuid.UUID, occurred_at: datetime, route: Route | None) -> uuid.UUID | None:
    """The customer an identity's event applies to; None if it occurred before the identity's
    latest erasure was requested (the event is dropped)."""
    if route is None:
        return key
    if route.erased_before is not None and occurred_at < route.erased_before:
        return None
    return route.customer_id


def identity_of(workspace: str, event: ConnectorEvent) -> IdentityKey:
    """(workspace, key) of the identity an event is about."""
    return workspace, customer_id_for(workspace, event.platform, event.platform_user_id)


# An event with the customer it applies to: (workspace, customer id, event).
Routed = tuple[str, uuid.UUID, E]


def route_events(events: Iterable[tuple[str, E]], routes: Mapping[IdentityKey, Route]) -> list[Routed[E]]:
    """Each event with the customer it applies to, in order; those of erased identities that
    occurred before the erasure are left out."""
    out: list[Routed[E]] = []
    for workspace, event in events:
        key = identity_of(workspace, event)
        customer_id = routed(key[1], event.occurred_at, routes.get(key))
        if customer_id is not None:
            out.append((workspace, customer_id, event))
    return out


async def route(conn: Connection, events: Sequence[tuple[str, E]]) -> list[Routed[E]]:
    """Connector events with the customers they apply to (see route_events), under the shared
    identity lock of their workspaces, held until the transaction that applies them ends."""
    await lock_workspaces(conn, (workspace for workspace, _ in events))
    routes = await routes_of(conn, {identity_of(workspace, event) for workspace, event in events})
    return route_events(events, routes)


async def routes_of(conn: Connection, keys: Collection[IdentityKey]) -> dict[IdentityKey, Route]:
    """The routes of those of these identities that have one."""
    if not keys:
        return {}
    rows = await conn.fetch(
        "SELECT r.workspace, r.identity_key, r.customer_id, r.erased_before FROM identity_routes r "
        "JOIN unnest($1::text[], $2::uuid[]) AS k (workspace, identity_key) "
        "ON r.workspace = k.workspace AND r.identity_key = k.identity_key",
        [workspace for workspace, _ in keys],
        [key for _, key in keys],
    )
    return {
        (row["workspace"], row["identity_key"]): Route(row["customer_id"], row["erased_before"])
        for row in rows
    }


async def route_merged(
    conn: Connection,
    workspace: str,
    identities: Sequence[IdentityRef],
    source: uuid.UUID,
    target: uuid.UUID,
) -> None:
    """Send the events of a merged customer's identities to the target.

    An identity erased since (a greater epoch than the merge knew) keeps its newer route.
    """
    await conn.execute(
        "INSERT INTO identity_routes AS r (workspace, identity_key, epoch, customer_id) "
        "SELECT $1, k, e, $4 FROM unnest($2::uuid[], $3::integer[]) AS u (k, e) ORDER BY k "
        "ON CONFLICT (workspace, identity_key) DO UPDATE "
        "SET customer_id = EXCLUDED.customer_id, epoch = EXCLUDED.epoch WHERE r.epoch <= EXCLUDED.epoch",
        workspace,
        *columns(identities, "identity_key", "epoch"),
        target,
    )
    await conn.execute(
        "UPDATE identity_routes SET customer_id = $3 WHERE workspace = $1 AND customer_id = $2",
        workspace,
        source,
        target,
    )


async def route_erased(
    conn: Connection, workspace: str, identities: Sequence[ErasedIdentity], requested_at: datetime
) -> None:
    """Drop the erased identities' events from before `requested_at`; later ones start anew.

    The greater epoch wins, so erasures and merges of one identity recorded in any order leave
    the route of the newest.
    """
    await conn.execute(
        "INSERT INTO identity_routes AS r (workspace, identity_key, epoch, customer_id, erased_before) "
        "SELECT $1, k, e, c, $5 FROM unnest($2::uuid[], $3::integer[], $4::uuid[]) AS u (k, e, c) ORDER BY k "
        "ON CONFLICT (workspace, identity_key) DO UPDATE SET "
        "customer_id = CASE WHEN r.epoch < EXCLUDED.epoch THEN EXCLUDED.customer_id ELSE r.customer_id END, "
        "epoch = GREATEST(r.epoch, EXCLUDED.epoch), "
        "erased_before = GREATEST(r.erased_before, EXCLUDED.erased_before)",
        workspace,
        *columns(identities, "identity_key", "epoch", "customer_id"),
        requested_at,
    )


# --- a service that holds customer data ----------------------------------------------------------

# Give a merged customer's rows to the final target: (conn, workspace, the merge, final target).
MoveRows = Callable[[Connection, str, CustomerMerged, uuid.UUID], Awaitable[None]]
# Delete customers' rows: (conn, workspace, their ids, the erasure; None for a merge's source whose
# target was erased meanwhile).
DeleteRows = Callable[[Connection, str, Sequence[uuid.UUID], ErasureRequested | None], Awaitable[None]]


@dataclass(frozen=True)
class CustomerData:
    """How a service that holds customer data follows the profile service's merges and erasures.

    The steps every service takes (the workspace's identity lock, the retirement, the routes where
    it applies connector events, forgetting its outbox rows, confirming with its own event) around
    what only it knows: how to move its rows and how to delete them.
    """

    merged: EventType[MergeApplied]
    erased: EventType[ErasureApplied]
    move: MoveRows
    delete: DeleteRows
    routes: bool = False

    async def apply_merge(self, conn: Connection, workspace: str, merged: CustomerMerged) -> None:
        """Move the source's rows to the target (deleted if either was erased meanwhile), confirm."""
        await lock_workspaces(conn, [workspace], exclusive=True)
        source, target = uuid.UUID(merged.source_id), uuid.UUID(merged.customer_id)
        final = await retire_merged(conn, workspace, source, target, merged.merged_at)
        if final is None:
            await self.delete(conn, workspace, [source], None)
            return
        if self.routes:
            await route_merged(conn, workspace, merged.identities, source, final)
        await self.move(conn, workspace, merged, final)
        await enqueue(
            conn,
            self.merged,
            workspace,
            MergeApplied(customer_id=str(final), source_id=str(source)),
            event_id=f"{self.merged.name}:{source}",
        )

    async def apply_erasure(self, conn: Connection, workspace: str, erasure: ErasureRequested) -> None:
        """Delete the erased customers' rows and outbox rows, confirm (CONTRACT.md §7)."""
        await lock_workspaces(conn, [workspace], exclusive=True)
        await retire_erased(conn, workspace, erasure.customer_ids, erasure.requested_at)
        if self.routes:
            await route_erased(conn, workspace, erasure.identities, erasure.requested_at)
        await self.delete(conn, workspace, erasure.customer_ids, erasure)
        await forget_events(conn, workspace, erasure.customer_ids)
        await enqueue(
            conn,
            self.erased,
            workspace,
            ErasureApplied(customer_id=erasure.customer_id, erasure_id=erasure.erasure_id),
            event_id=f"{self.erased.name}:{erasure.erasure_id}",
        )

    def consumers(self) -> list[Subscribing[object]]:
        """The service's durable consumers of merges and erasures (`<service>-merges`, `-erasures`)."""

        async def on_merge(_ctx: object, conn: Connection, delivery: Delivery[Event[CustomerMerged]]) -> None:
            await self.apply_merge(conn, delivery.workspace, delivery.event.data)

        async def on_erasure(
            _ctx: object, conn: Connection, delivery: Delivery[Event[ErasureRequested]]
        ) -> None:
            await self.apply_erasure(conn, delivery.workspace, delivery.event.data)

        service = self.merged.service
        return [
            event_consumer(f"{service}-merges", CUSTOMER_MERGED, on_merge),
            event_consumer(f"{service}-erasures", ERASURE_REQUESTED, on_erasure),
        ]
