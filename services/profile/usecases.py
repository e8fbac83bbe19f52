"""Use cases of the profile service: each orchestrates rules and SQL over a connection it is given.

The caller owns the transaction (a handler, or the consumer base with the inbox row in it); the
rules are in service.py, the SQL in repository.py.
"""

import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import asyncpg
from asyncpg import Record

from services.profile import repository
from services.profile.service import (
    ERASING_SERVICES,
    Contact,
    agent_context,
    apply_contact_seen,
    bulk_tag_changes,
    contact_of,
    customer_part,
    customers_of,
    erased_identity,
    grid_cursor,
    grid_item,
    grid_order,
    history_item,
    history_position,
    identity_key,
    parse_grid_cursor,
    parse_history_cursor,
    plan_bulk_tags,
    plan_edit,
    plan_merge,
    platform_user_ids,
    search_document,
    search_terms,
    tag_name_key,
    tag_of,
    unknown,
    validate_edit,
    validate_tag,
    version_matches,
)
from shared import identity
from shared.cursors import page_of
from shared.db import Connection
from shared.errors import Conflict, NotFound, PreconditionFailed, Rejected
from shared.events import ConnectorEvent, ContactSeen, Event, utcnow
from shared.ids import customer_id_for
from shared.messages import ErasureApplied
from shared.messages.insights import AiProfile
from shared.messages.profile import (
    CUSTOMER_CREATED,
    CUSTOMER_MERGED,
    CUSTOMER_UPDATED,
    ERASURE_REQUESTED,
    TAG_CREATED,
    TAG_DELETED,
    TAG_UPDATED,
    Actor,
    AgentContext,
    BulkTagCustomers,
    BulkTagResult,
    CreateTag,
    CustomerCreated,
    CustomerMerged,
    CustomerPart,
    CustomersPage,
    CustomerUpdated,
    DeleteTag,
    EraseCustomer,
    Erasure,
    ErasureRequested,
    GetAgentContext,
    GetCustomer,
    GetErasure,
    HistoryPage,
    ListCustomers,
    ListHistory,
    ListTags,
    MergeCustomers,
    Tag,
    TagDeleted,
    TagList,
    UpdateCustomer,
    UpdateTag,
)
from shared.outbox import enqueue, enqueue_all, outgoing
from shared.rpc import Empty

# The AI profile of a customer from the insights service (None when it has none or is silent).
AiProfileSource = Callable[[str, uuid.UUID], Awaitable[AiProfile | None]]

CustomerKey = tuple[str, uuid.UUID]


async def _not_found(conn: Connection, workspace: str, customer_id: uuid.UUID) -> NotFound:
    """NotFound for a customer the workspace does not have; naming where it went if it was merged."""
    merged_into = (await identity.resolve_one(conn, workspace, customer_id)).merged_into(customer_id)
    if merged_into is None:
        return NotFound("customer not found")
    return NotFound("customer merged into another", extra={"merged_into": str(merged_into)})


async def _customer(
    conn: Connection, workspace: str, customer_id: uuid.UUID, *, lock: bool = False
) -> Record:
    """A stored customer; NotFound (with `merged_into` for a merged one) if the workspace has none."""
    row = await repository.get_customer(conn, workspace, customer_id, lock=lock)
    if row is None:
        raise await _not_found(conn, workspace, customer_id)
    return row


# --- connector events ----------------------------------------------------------------------------


async def apply_connector_events(conn: Connection, events: Sequence[tuple[str, ConnectorEvent]]) -> None:
    """Create the customers of unknown identities; keep their times and contact details current.

    Each event applies to the customer its identity belongs to (a merge target, the new customer
    after an erasure), or is dropped if it occurred before its identity was erased. One statement
    creates or widens every customer of the batch, and the contact.seen events refresh their
    customers with one read and one write (each register keeps its newest value, so the order
    they are applied in does not matter).
    """
    applied = await identity.route(conn, events)
    customers = customers_of(applied)
    created = await repository.upsert_customers(conn, customers)
    await repository.add_identities(conn, [customer for customer in customers if customer.id in created])
    await enqueue_all(
        conn,
        [
            outgoing(
                CUSTOMER_CREATED,
                customer.workspace,
                CustomerCreated(
                    customer_id=str(customer.id),
                    created_at=customer.created_at,
                    platform=customer.platform,
                    platform_user_id=customer.platform_user_id,
                ),
                event_id=f"{CUSTOMER_CREATED.name}:{customer.id}",
                occurred_at=customer.created_at,
            )
            for customer in customers
            if customer.id in created
        ],
    )
    seen = [
        ((workspace, customer_id), event)
        for workspace, customer_id, event in applied
        if isinstance(event, ContactSeen)
    ]
    if seen:
        await _refresh_contacts(conn, seen)


async def _refresh_contacts(conn: Connection, seen: list[tuple[CustomerKey, ContactSeen]]) -> None:
    """Apply contact.seen events, in order, to their customers (which exist by now)."""
    rows = await repository.lock_contacts(conn, list(dict.fromkeys(key for key, _ in seen)))
    stored = {key: contact_of(row) for key, row in rows.items()}
    contacts = dict(stored)
    announcements: list[tuple[CustomerKey, ContactSeen, dict[str, dict[str, Any]]]] = []
    for key, event in seen:
        contacts[key], changes = apply_contact_seen(contacts[key], event)
        if changes:
            announcements.append((key, event, changes))
    changed: list[tuple[str, uuid.UUID, Contact, str]] = []
    for (workspace, customer_id), contact in contacts.items():
        if contact != stored[(workspace, customer_id)]:
            row = rows[(workspace, customer_id)]
            search = search_document(contact.name, row["phone"], row["email"], *platform_user_ids(row))
            changed.append((workspace, customer_id, contact, search))
    await repository.save_contacts(conn, changed)
    # Connector refreshes do not move the version: it counts staff edits only, so that the same
    # events in any order leave the same version. The event tells caches to let go.
    await enqueue_all(
        conn,
        [
            outgoing(
                CUSTOMER_UPDATED,
                workspace,
                CustomerUpdated(
                    customer_id=str(customer_id),
                    version=rows[(workspace, customer_id)]["version"],
                    changes=changes,
                ),
                occurred_at=event.occurred_at,
            )
            for (workspace, customer_id), event, changes in announcements
        ],
    )


# --- customers -----------------------------------------------------------------------------------


async def get_customer(conn: Connection, request: GetCustomer) -> CustomerPart:
    """The customer's part of the profile view."""
    return customer_part(await _customer(conn, request.workspace, request.customer_id))


async def update_customer(conn: Connection, edit: UpdateCustomer) -> CustomerPart:
    """Apply a staff edit: validated, conditioned on the version, recorded and announced."""
    values = validate_edit(edit.edit.model_dump(include=edit.edit.model_fields_set))
    row = await _customer(conn, edit.workspace, edit.customer_id, lock=True)
    if not version_matches(row["version"], edit.if_match):
        raise PreconditionFailed(f"the customer is at version {row['version']}")
    if values.get("tag_ids"):
        known = await repository.existing_tags(conn, edit.workspace, values["tag_ids"])
        unknown = [t for t in values["tag_ids"] if t not in known]
        if unknown:
            raise Rejected.field("tag_ids", f"{unknown[0]} is not a tag of this workspace")
    plan = plan_edit(row, values)
    if not plan.writes:
        return customer_part(row)
    await repository.update_customer(conn, edit.workspace, edit.customer_id, plan)
    if plan.changes:
        await _record_edit(conn, edit.workspace, edit.customer_id, edit.actor, plan.version, plan.changes)
    return await get_customer(conn, edit)


async def _record_edit(
    conn: Connection,
    workspace: str,
    customer_id: uuid.UUID,
    actor: Actor,
    version: int,
    changes: dict[str, Any],
) -> None:
    """Keep a staff edit in the customer's history and announce it (caches let go on it)."""
    now = utcnow()
    await repository.record_change(conn, workspace, customer_id, version, actor, changes, now)
    await enqueue(
        conn,
        CUSTOMER_UPDATED,
        workspace,
        CustomerUpdated(customer_id=str(customer_id), version=version, actor=actor, changes=changes),
        event_id=f"{CUSTOMER_UPDATED.name}:{customer_id}:{version}",
        occurred_at=now,
    )


async def bulk_tag_customers(conn: Connection, command: BulkTagCustomers) -> BulkTagResult:
    """Add tags to and take tags off many customers: all or nothing, one history entry and one
    event per customer whose tags change. Ids not of the workspace are refused as unknown."""
    edit = command.edit
    plan = plan_bulk_tags(edit.customer_ids, edit.add, edit.remove)
    rows = await repository.lock_customer_tags(conn, command.workspace, plan.customer_ids)
    tags = await repository.existing_tags(conn, command.workspace, plan.add + plan.remove)
    errors = [
        *unknown("customer_ids", edit.customer_ids, {str(c) for c in rows}, "a customer"),
        *unknown("add", edit.add, tags, "a tag"),
        *unknown("remove", edit.remove, tags, "a tag"),
    ]
    if errors:
        raise Rejected(errors)
    changes = bulk_tag_changes(plan, {c: row["tag_ids"] for c, row in rows.items()})
    versions = {c: rows[c]["version"] + 1 for c in changes}
    retag = {c: (change["tag_ids"]["old"], change["tag_ids"]["new"]) for c, change in changes.items()}
    await repository.retag_customers(conn, command.workspace, retag, versions)
    for customer_id, change in changes.items():
        await _record_edit(conn, command.workspace, customer_id, command.actor, versions[customer_id], change)
    return BulkTagResult(
        changed=[c for c in plan.customer_ids if c in changes],
        unchanged=[c for c in plan.customer_ids if c not in changes],
    )


async def list_customers(conn: Connection, query: ListCustomers) -> CustomersPage:
    """A page of the customer grid in the order asked."""
    order = grid_order(query.sort)
    after = parse_grid_cursor(query.cursor, order) if query.cursor else None
    sql, args = repository.grid_query(
        query.workspace,
        terms=search_terms(query.q),
        tag=query.tag,
        platform=query.platform,
        order=order,
        after=after,
        limit=query.limit + 1,
    )
    rows = await repository.grid_page(conn, sql, args)
    more = len(rows) > query.limit
    return CustomersPage(
        items=[grid_item(row) for row in rows[: query.limit]],
        next_cursor=grid_cursor(order, rows[query.limit - 1]) if more else None,
    )


async def customer_history(conn: Connection, query: ListHistory) -> HistoryPage:
    """A page of a customer's edits, newest first."""
    below = parse_history_cursor(query.cursor) if query.cursor else None
    if not await repository.customer_exists(conn, query.workspace, query.customer_id):
        raise await _not_found(conn, query.workspace, query.customer_id)
    rows = await repository.history(conn, query.workspace, query.customer_id, below, query.limit + 1)
    items, cursor = page_of(rows, query.limit, history_item, history_position)
    return HistoryPage(items=items, next_cursor=cursor)


async def agent_context_of(
    conn: Connection, query: GetAgentContext, ai_profile: AiProfileSource
) -> AgentContext:
    """AgentContext of a platform identity."""
    platform_user_id = identity_key(query.platform, query.platform_user_id)
    key = customer_id_for(query.workspace, query.platform, platform_user_id)
    row = await repository.customer_by_identity(conn, query.workspace, key)
    if row is None:
        raise NotFound("customer not found")
    return agent_context(row, await ai_profile(query.workspace, row["id"]))


# --- merges and erasures -------------------------------------------------------------------------


async def merge_customers(conn: Connection, command: MergeCustomers) -> CustomerPart:
    """Merge the source customer into the target (CONTRACT.md §7); the target's part afterwards.

    The source's identities, tags and empty-in-the-target fields go to the target, the merge is
    one change of the target's history, the source is retired (its id answers NotFound naming the
    target) and customer.merged tells every other service to move its data. Repeating a merge that
    happened changes nothing.
    """
    workspace, target_id, source_id = command.workspace, command.customer_id, command.source_id
    if source_id == target_id:
        raise Rejected.field("source_id", "is the customer itself: a customer cannot be merged into itself")
    await identity.lock_workspaces(conn, [workspace], exclusive=True)
    target = await _customer(conn, workspace, target_id, lock=True)
    source = await repository.get_customer(conn, workspace, source_id, lock=True)
    if source is None:
        if (await identity.resolve_one(conn, workspace, source_id)).merged_into(source_id) == target_id:
            return customer_part(target)
        raise await _not_found(conn, workspace, source_id)
    plan = plan_merge(target, source)
    now = utcnow()
    identities = await repository.identities_with_epochs(conn, workspace, source_id)
    await repository.write_merge(conn, workspace, target_id, plan)
    await repository.move_identities(conn, workspace, source_id, target_id, now)
    await repository.delete_customer(conn, workspace, source_id)
    await identity.retire_merged(conn, workspace, source_id, target_id, now)
    await identity.route_merged(conn, workspace, identities, source_id, target_id)
    await repository.record_change(conn, workspace, target_id, plan.version, command.actor, plan.changes, now)
    await enqueue(
        conn,
        CUSTOMER_MERGED,
        workspace,
        CustomerMerged(
            customer_id=str(target_id),
            source_id=str(source_id),
            identities=identities,
            created_at=plan.created_at,
            merged_at=now,
        ),
        event_id=f"{CUSTOMER_MERGED.name}:{source_id}",
        occurred_at=now,
    )
    return await get_customer(conn, command)


def _erasure(row: Record) -> Erasure:
    return Erasure(
        erasure_id=row["erasure_id"],
        customer_id=row["customer_id"],
        status="pending" if row["completed_at"] is None else "done",
        requested_at=row["requested_at"],
        completed_at=row["completed_at"],
    )


async def erase_customer(conn: Connection, command: EraseCustomer) -> Erasure:
    """Erase a customer (CONTRACT.md §7): its row, identities, tags and history go now, and
    erasure.requested has every other service delete what it holds and confirm.

    The customers merged into it and every identity it has are erased with it: events of those
    identities from before now are dropped, and a later contact starts a new customer.
    """
    workspace, customer_id = command.workspace, command.customer_id
    await identity.lock_workspaces(conn, [workspace], exclusive=True)
    await _customer(conn, workspace, customer_id, lock=True)
    requested_at = utcnow()
    erasure_id = uuid.uuid4()
    customer_ids = [customer_id, *await repository.merged_into(conn, workspace, customer_id)]
    erased = [
        erased_identity(identity_ref)
        for identity_ref in await repository.identities_with_epochs(conn, workspace, customer_id)
    ]
    await repository.delete_customer(conn, workspace, customer_id)
    await identity.retire_erased(conn, workspace, customer_ids, requested_at)
    await identity.route_erased(conn, workspace, erased, requested_at)
    await identity.forget_events(conn, workspace, customer_ids)
    await repository.insert_erasure(
        conn,
        erasure_id=erasure_id,
        workspace=workspace,
        customer_id=customer_id,
        requested_by=command.actor.id,
        requested_at=requested_at,
    )
    requested = ErasureRequested(
        erasure_id=str(erasure_id),
        customer_id=str(customer_id),
        customer_ids=customer_ids,
        identities=erased,
        requested_at=requested_at,
    )
    event_id = f"{ERASURE_REQUESTED.name}:{erasure_id}"
    await enqueue(conn, ERASURE_REQUESTED, workspace, requested, event_id=event_id, occurred_at=requested_at)
    return Erasure(
        erasure_id=erasure_id,
        customer_id=customer_id,
        status="pending",
        requested_at=requested_at,
        completed_at=None,
    )


async def get_erasure(conn: Connection, query: GetErasure) -> Erasure:
    """Where an erasure of the workspace stands."""
    row = await repository.get_erasure(conn, query.workspace, query.erasure_id)
    if row is None:
        raise NotFound("erasure not found")
    return _erasure(row)


async def confirm_erasure(conn: Connection, service: str, event: Event[ErasureApplied]) -> None:
    """A service erased its part of an erasure; the erasure is done when every one has."""
    await repository.confirm_erasure(
        conn, uuid.UUID(event.data.erasure_id), service, event.occurred_at, ERASING_SERVICES
    )


# --- tags ----------------------------------------------------------------------------------------


async def list_tags(conn: Connection, request: ListTags) -> TagList:
    """The workspace's tag catalog."""
    return TagList(items=[tag_of(row) for row in await repository.list_tags(conn, request.workspace)])


@contextlib.contextmanager
def _unique_name(name: str | None) -> Iterator[None]:
    """Conflict when the block stores a tag name the catalog has in any case."""
    try:
        yield
    except asyncpg.UniqueViolationError:
        raise Conflict(f"a tag named {name!r} exists") from None


async def create_tag(conn: Connection, command: CreateTag) -> Tag:
    """Add a tag to the catalog; Conflict if its name exists in any case."""
    name, color = validate_tag(command.tag.name, command.tag.color)
    assert name is not None and color is not None
    tag = Tag(id=uuid.uuid4(), name=name, color=color)
    with _unique_name(name):
        await repository.insert_tag(conn, command.workspace, tag, tag_name_key(name))
    await enqueue(conn, TAG_CREATED, command.workspace, tag)
    return tag


async def update_tag(conn: Connection, command: UpdateTag) -> Tag:
    """Rename and/or recolour a tag (a field sent as null cannot be cleared)."""
    for field in ("name", "color"):
        if field in command.edit.model_fields_set and getattr(command.edit, field) is None:
            raise Rejected.field(field, "cannot be cleared")
    name, color = validate_tag(command.edit.name, command.edit.color)
    with _unique_name(name):
        row = await repository.update_tag(
            conn,
            command.workspace,
            command.tag_id,
            name,
            tag_name_key(name) if name is not None else None,
            color,
        )
    if row is None:
        raise NotFound("tag not found")
    tag = tag_of(row)
    await enqueue(conn, TAG_UPDATED, command.workspace, tag)
    return tag


async def delete_tag(conn: Connection, command: DeleteTag) -> Empty:
    """Delete a tag; it comes off every customer that had it."""
    if not await repository.delete_tag(conn, command.workspace, command.tag_id):
        raise NotFound("tag not found")
    await enqueue(conn, TAG_DELETED, command.workspace, TagDeleted(id=command.tag_id))
    return Empty()
