"""Use cases of the profile service: each orchestrates rules and SQL over a connection it is given.

The caller owns the transaction (a handler, or the consumer base with the inbox row in it); the
rules are in service.py, the SQL in repository.py.
"""

import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import asyncpg

from services.profile import repository
from services.profile.service import (
    Contact,
    agent_context,
    apply_contact_seen,
    bulk_tag_changes,
    customer_part,
    customers_of,
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
    search_document,
    search_terms,
    tag_name_key,
    tag_of,
    unknown,
    validate_edit,
    validate_tag,
    version_matches,
)
from shared.cursors import page_of
from shared.db import Connection
from shared.errors import Conflict, NotFound, PreconditionFailed, Rejected
from shared.events import ConnectorEvent, ContactSeen, utcnow
from shared.messages.insights import AiProfile
from shared.messages.profile import (
    CUSTOMER_CREATED,
    CUSTOMER_UPDATED,
    TAG_CREATED,
    TAG_DELETED,
    TAG_UPDATED,
    Actor,
    AgentContext,
    BulkTagCustomers,
    BulkTagResult,
    CreateTag,
    CustomerCreated,
    CustomerPart,
    CustomersPage,
    CustomerUpdated,
    DeleteTag,
    GetAgentContext,
    GetCustomer,
    HistoryPage,
    ListCustomers,
    ListHistory,
    ListTags,
    Tag,
    TagDeleted,
    TagList,
    UpdateCustomer,
    UpdateTag,
)
from shared.outbox import enqueue
from shared.rpc import Empty

# The AI profile of a customer from the insights service (None when it has none or is silent).
AiProfileSource = Callable[[str, uuid.UUID], Awaitable[AiProfile | None]]

CustomerKey = tuple[str, uuid.UUID]


def _not_found() -> NotFound:
    return NotFound("customer not found")


# --- connector events ----------------------------------------------------------------------------


async def apply_connector_events(conn: Connection, events: Sequence[tuple[str, ConnectorEvent]]) -> None:
    """Create the customers of unknown identities; keep their times and contact details current.

    One statement creates or widens every customer of the batch, and the contact.seen events
    refresh their customers with one read and one write (each register keeps its newest value,
    so the order they are applied in does not matter).
    """
    customers = customers_of(events)
    created = await repository.upsert_customers(conn, customers)
    for customer in customers:
        if customer.id in created:
            await enqueue(
                conn,
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
    seen = [
        ((workspace, uuid.UUID(event.customer_id(workspace))), event)
        for workspace, event in events
        if isinstance(event, ContactSeen)
    ]
    if seen:
        await _refresh_contacts(conn, seen)


async def _refresh_contacts(conn: Connection, seen: list[tuple[CustomerKey, ContactSeen]]) -> None:
    """Apply contact.seen events, in order, to their customers (which exist by now)."""
    rows = await repository.lock_contacts(conn, list(dict.fromkeys(key for key, _ in seen)))
    stored = {
        key: Contact(
            name=row["name"],
            name_edited=row["name_edited"],
            avatar_url=row["avatar_url"],
            instagram=row["instagram"],
            seen=row["seen"],
        )
        for key, row in rows.items()
    }
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
            search = search_document(contact.name, row["phone"], row["email"], row["platform_user_id"])
            changed.append((workspace, customer_id, contact, search))
    await repository.save_contacts(conn, changed)
    for (workspace, customer_id), event, changes in announcements:
        # Connector refreshes do not move the version: it counts staff edits only, so that the
        # same events in any order leave the same version. The event tells caches to let go.
        await enqueue(
            conn,
            CUSTOMER_UPDATED,
            workspace,
            CustomerUpdated(
                customer_id=str(customer_id),
                version=rows[(workspace, customer_id)]["version"],
                changes=changes,
            ),
            occurred_at=event.occurred_at,
        )


# --- customers -----------------------------------------------------------------------------------


async def get_customer(conn: Connection, request: GetCustomer) -> CustomerPart:
    """The customer's part of the profile view."""
    row = await repository.get_customer(conn, request.workspace, request.customer_id)
    if row is None:
        raise _not_found()
    return customer_part(row)


async def update_customer(conn: Connection, edit: UpdateCustomer) -> CustomerPart:
    """Apply a staff edit: validated, conditioned on the version, recorded and announced."""
    values = validate_edit(edit.edit.model_dump(include=edit.edit.model_fields_set))
    row = await repository.get_customer(conn, edit.workspace, edit.customer_id, lock=True)
    if row is None:
        raise _not_found()
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
        raise _not_found()
    rows = await repository.history(conn, query.workspace, query.customer_id, below, query.limit + 1)
    items, cursor = page_of(rows, query.limit, history_item, history_position)
    return HistoryPage(items=items, next_cursor=cursor)


async def agent_context_of(
    conn: Connection, query: GetAgentContext, ai_profile: AiProfileSource
) -> AgentContext:
    """AgentContext of a platform identity."""
    row = await repository.customer_by_identity(
        conn, query.workspace, query.platform, identity_key(query.platform, query.platform_user_id)
    )
    if row is None:
        raise _not_found()
    return agent_context(row, await ai_profile(query.workspace, row["id"]))


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
