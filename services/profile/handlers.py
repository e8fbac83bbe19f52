"""NATS side of the profile service: the connector-event consumer and the RPC operations."""

import uuid
from typing import Any

import asyncpg
from nats.aio.client import Client as NATS
from pydantic import ValidationError

from services.profile import repository
from services.profile.service import (
    Contact,
    Rejected,
    apply_contact_seen,
    customer_part,
    customers_of,
    diff,
    grid_cursor,
    grid_item,
    history_item,
    identity_key,
    parse_grid_cursor,
    parse_history_cursor,
    rejected,
    search_document,
    search_terms,
    tag_name_key,
    validate_edit,
    validate_tag,
    version_matches,
)
from shared.consumer import ConsumerSpec, Delivery
from shared.db import Connection
from shared.events import ContactSeen, utcnow
from shared.logging import get_logger
from shared.messages import insights
from shared.messages.insights import AiProfile, CustomerInsights
from shared.messages.profile import (
    CUSTOMER_CREATED,
    CUSTOMER_UPDATED,
    OP_AGENT_CONTEXT,
    OP_CUSTOMER_GET,
    OP_CUSTOMER_HISTORY,
    OP_CUSTOMER_UPDATE,
    OP_CUSTOMERS_LIST,
    OP_TAGS_CREATE,
    OP_TAGS_DELETE,
    OP_TAGS_LIST,
    OP_TAGS_UPDATE,
    SERVICE,
    TAG_CREATED,
    TAG_DELETED,
    TAG_UPDATED,
    AgentContext,
    AgentContextQuery,
    AgentContextRequest,
    CreateTag,
    CustomerCreated,
    CustomerHistory,
    CustomerRef,
    CustomerUpdated,
    ListCustomers,
    Tag,
    TagRef,
    UpdateCustomer,
    UpdateTag,
    WorkspaceRef,
)
from shared.outbox import enqueue
from shared.rpc import RpcError, ServiceUnavailable, request
from shared.runtime import RpcRoute
from shared.subjects import (
    AGENT_CONTEXT_SUBSCRIPTION,
    CHAT_STREAM,
    CHAT_SUBJECTS,
    WORKSPACE_PATTERN,
    rpc_subject,
    workspace_of_agent_subject,
)

log = get_logger(__name__)

CHAT_DURABLE = "profile-chat"


# --- connector events ----------------------------------------------------------------------------


async def apply_connector_events(conn: Connection, deliveries: list[Delivery]) -> None:
    """Create the customers of unknown identities; keep their times and contact details current.

    One statement creates or widens every customer of the batch, and the contact.seen events
    refresh their customers with one read and one write (each register keeps its newest value,
    so the order they are applied in does not matter).
    """
    customers = customers_of((delivery.workspace, delivery.event) for delivery in deliveries)
    created = await repository.upsert_customers(conn, customers)
    for customer in customers:
        if customer.id in created:
            await enqueue(
                conn,
                service=SERVICE,
                workspace=customer.workspace,
                event_type=CUSTOMER_CREATED,
                data=CustomerCreated(
                    customer_id=str(customer.id),
                    created_at=customer.created_at,
                    platform=customer.platform,
                    platform_user_id=customer.platform_user_id,
                ).model_dump(mode="json"),
                event_id=f"{CUSTOMER_CREATED}:{customer.id}",
                occurred_at=customer.created_at,
            )
    seen = [
        ((delivery.workspace, uuid.UUID(delivery.event.customer_id(delivery.workspace))), delivery.event)
        for delivery in deliveries
        if isinstance(delivery.event, ContactSeen)
    ]
    if seen:
        await _refresh_contacts(conn, seen)


async def apply_connector_event(conn: Connection, delivery: Delivery) -> None:
    """Apply one connector event: a batch of one, so both paths share every rule."""
    await apply_connector_events(conn, [delivery])


async def _refresh_contacts(conn: Connection, seen: list[tuple[tuple[str, uuid.UUID], ContactSeen]]) -> None:
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
    announcements: list[tuple[tuple[str, uuid.UUID], ContactSeen, dict[str, dict[str, Any]]]] = []
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
            service=SERVICE,
            workspace=workspace,
            event_type=CUSTOMER_UPDATED,
            data=CustomerUpdated(
                customer_id=str(customer_id),
                version=rows[(workspace, customer_id)]["version"],
                changes=changes,
            ).model_dump(mode="json"),
            occurred_at=event.occurred_at,
        )


def chat_consumer() -> ConsumerSpec:
    """One durable consumer of every connector event type."""
    return ConsumerSpec(
        durable=CHAT_DURABLE,
        stream=CHAT_STREAM,
        subjects=[CHAT_SUBJECTS],
        handle=apply_connector_event,
        handle_batch=apply_connector_events,
    )


# --- operations ----------------------------------------------------------------------------------


def _invalid(exc: Rejected) -> RpcError:
    return RpcError("invalid", str(exc), errors=exc.errors)


def _not_found() -> RpcError:
    return RpcError("not_found", "customer not found")


def _tag(row: asyncpg.Record) -> dict[str, Any]:
    return Tag(id=row["id"], name=row["name"], color=row["color"]).model_dump(mode="json")


class ProfileOperations:
    """The RPC operations, over the service's pool and NATS connection."""

    def __init__(self, pool: asyncpg.Pool, nc: NATS, insights_timeout: float) -> None:
        self.pool = pool
        self.nc = nc
        self.insights_timeout = insights_timeout

    def routes(self) -> list[RpcRoute]:
        """Every operation with its subject; the agent's context also on its public subject."""
        ops = {
            OP_CUSTOMER_GET: self.get_customer,
            OP_CUSTOMER_UPDATE: self.update_customer,
            OP_CUSTOMERS_LIST: self.list_customers,
            OP_CUSTOMER_HISTORY: self.customer_history,
            OP_TAGS_LIST: self.list_tags,
            OP_TAGS_CREATE: self.create_tag,
            OP_TAGS_UPDATE: self.update_tag,
            OP_TAGS_DELETE: self.delete_tag,
            OP_AGENT_CONTEXT: self.agent_context,
        }
        return [
            *(RpcRoute(rpc_subject(SERVICE, op), handler) for op, handler in ops.items()),
            RpcRoute(AGENT_CONTEXT_SUBSCRIPTION, self.agent_context_public, envelope=False, queue=SERVICE),
        ]

    async def get_customer(self, payload: dict[str, Any], _subject: str) -> dict[str, Any]:
        """The customer's part of the profile view."""
        ref = CustomerRef.model_validate(payload)
        async with self.pool.acquire() as conn:
            row = await repository.get_customer(conn, ref.workspace, ref.customer_id)
        if row is None:
            raise _not_found()
        return customer_part(row)

    async def update_customer(self, payload: dict[str, Any], _subject: str) -> dict[str, Any]:
        """Apply a staff edit: validated, conditioned on the version, recorded and announced."""
        edit = UpdateCustomer.model_validate(payload)
        try:
            values = validate_edit(edit.fields)
        except Rejected as exc:
            raise _invalid(exc) from None
        async with self.pool.acquire() as conn, conn.transaction():
            row = await repository.get_customer(conn, edit.workspace, edit.customer_id, lock=True)
            if row is None:
                raise _not_found()
            if not version_matches(row["version"], edit.if_match):
                raise RpcError("precondition_failed", f"the customer is at version {row['version']}")
            if values.get("tag_ids"):
                known = await repository.existing_tags(conn, edit.workspace, values["tag_ids"])
                unknown = [t for t in values["tag_ids"] if t not in known]
                if unknown:
                    raise _invalid(rejected("tag_ids", f"{unknown[0]} is not a tag of this workspace"))
            changes = diff(row, values)
            name_edited = row["name_edited"] or "name" in values
            if not changes and name_edited == row["name_edited"]:
                return customer_part(row)
            version = row["version"] + (1 if changes else 0)
            current = {**dict(row), **values}
            search = search_document(
                current["name"], current["phone"], current["email"], current["platform_user_id"]
            )
            await repository.update_customer(
                conn,
                edit.workspace,
                edit.customer_id,
                values,
                name_edited=name_edited,
                search=search,
                version=version,
            )
            if changes:
                await self._announce_edit(conn, edit, version, changes)
            updated = await repository.get_customer(conn, edit.workspace, edit.customer_id)
        assert updated is not None
        return customer_part(updated)

    async def _announce_edit(
        self, conn: Connection, edit: UpdateCustomer, version: int, changes: dict[str, Any]
    ) -> None:
        now = utcnow()
        actor = edit.actor.model_dump()
        await repository.record_change(conn, edit.workspace, edit.customer_id, version, actor, changes, now)
        event = CustomerUpdated(
            customer_id=str(edit.customer_id), version=version, actor=edit.actor, changes=changes
        )
        await enqueue(
            conn,
            service=SERVICE,
            workspace=edit.workspace,
            event_type=CUSTOMER_UPDATED,
            data=event.model_dump(mode="json"),
            event_id=f"{CUSTOMER_UPDATED}:{edit.customer_id}:{version}",
            occurred_at=now,
        )

    async def list_customers(self, payload: dict[str, Any], _subject: str) -> dict[str, Any]:
        """A page of the customer grid."""
        query = ListCustomers.model_validate(payload)
        try:
            after = parse_grid_cursor(query.cursor) if query.cursor else None
        except Rejected as exc:
            raise _invalid(exc) from None
        sql, args = repository.grid_query(
            query.workspace,
            terms=search_terms(query.q),
            tag=query.tag,
            platform=query.platform,
            after=after,
            limit=query.limit + 1,
        )
        async with self.pool.acquire() as conn:
            rows = await repository.grid_page(conn, sql, args)
        page = rows[: query.limit]
        more = len(rows) > query.limit
        return {
            "items": [grid_item(row) for row in page],
            "next_cursor": grid_cursor(page[-1]["created_at"], page[-1]["id"]) if more else None,
        }

    async def customer_history(self, payload: dict[str, Any], _subject: str) -> dict[str, Any]:
        """A page of a customer's edits, newest first."""
        query = CustomerHistory.model_validate(payload)
        try:
            below = parse_history_cursor(query.cursor) if query.cursor else None
        except Rejected as exc:
            raise _invalid(exc) from None
        async with self.pool.acquire() as conn:
            exists = await conn.fetchval(
                "SELECT true FROM customers WHERE workspace = $1 AND id = $2",
                query.workspace,
                query.customer_id,
            )
            if not exists:
                raise _not_found()
            rows = await repository.history(conn, query.workspace, query.customer_id, below, query.limit + 1)
        page = rows[: query.limit]
        more = len(rows) > query.limit
        return {
            "items": [history_item(row) for row in page],
            "next_cursor": str(page[-1]["version"]) if more else None,
        }

    async def list_tags(self, payload: dict[str, Any], _subject: str) -> dict[str, Any]:
        """The workspace's tag catalog."""
        ref = WorkspaceRef.model_validate(payload)
        async with self.pool.acquire() as conn:
            rows = await repository.list_tags(conn, ref.workspace)
        return {"items": [_tag(row) for row in rows]}

    async def create_tag(self, payload: dict[str, Any], _subject: str) -> dict[str, Any]:
        """Add a tag to the catalog; conflict if its name exists in any case."""
        command = CreateTag.model_validate(payload)
        try:
            name, color = validate_tag(command.name, command.color)
        except Rejected as exc:
            raise _invalid(exc) from None
        assert name is not None and color is not None
        tag_id = uuid.uuid4()
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                await repository.insert_tag(conn, command.workspace, tag_id, name, tag_name_key(name), color)
                tag = {"id": str(tag_id), "name": name, "color": color}
                await self._announce_tag(conn, command.workspace, TAG_CREATED, tag)
        except asyncpg.UniqueViolationError:
            raise RpcError("conflict", f"a tag named {name!r} exists") from None
        return tag

    async def update_tag(self, payload: dict[str, Any], _subject: str) -> dict[str, Any]:
        """Rename and/or recolour a tag."""
        command = UpdateTag.model_validate(payload)
        if "name" in command.model_fields_set and command.name is None:
            raise _invalid(rejected("name", "cannot be cleared"))
        if "color" in command.model_fields_set and command.color is None:
            raise _invalid(rejected("color", "cannot be cleared"))
        try:
            name, color = validate_tag(command.name, command.color)
        except Rejected as exc:
            raise _invalid(exc) from None
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                row = await repository.update_tag(
                    conn,
                    command.workspace,
                    command.tag_id,
                    name,
                    tag_name_key(name) if name is not None else None,
                    color,
                )
                if row is None:
                    raise RpcError("not_found", "tag not found")
                tag = _tag(row)
                await self._announce_tag(conn, command.workspace, TAG_UPDATED, tag)
        except asyncpg.UniqueViolationError:
            raise RpcError("conflict", f"a tag named {name!r} exists") from None
        return tag

    async def delete_tag(self, payload: dict[str, Any], _subject: str) -> dict[str, Any]:
        """Delete a tag; it comes off every customer that had it."""
        ref = TagRef.model_validate(payload)
        async with self.pool.acquire() as conn, conn.transaction():
            if not await repository.delete_tag(conn, ref.workspace, ref.tag_id):
                raise RpcError("not_found", "tag not found")
            await self._announce_tag(conn, ref.workspace, TAG_DELETED, {"id": str(ref.tag_id)})
        return {}

    async def _announce_tag(
        self, conn: Connection, workspace: str, event_type: str, tag: dict[str, Any]
    ) -> None:
        await enqueue(
            conn,
            service=SERVICE,
            workspace=workspace,
            event_type=event_type,
            data={"tag_id": tag["id"], "tag": tag},
        )

    async def agent_context(self, payload: dict[str, Any], _subject: str) -> dict[str, Any]:
        """AgentContext of a platform identity (the gateway's GET /v1/agent-context)."""
        query = AgentContextRequest.model_validate(payload)
        return await self._context(query.workspace, query)

    async def agent_context_public(self, payload: dict[str, Any], subject: str) -> dict[str, Any]:
        """AgentContext on agent.v1.<workspace>.context (CONTRACT.md §6)."""
        workspace = workspace_of_agent_subject(subject)
        if not WORKSPACE_PATTERN.match(workspace):
            raise RpcError("invalid", "invalid workspace")
        return await self._context(workspace, AgentContextQuery.model_validate(payload))

    async def _context(self, workspace: str, query: AgentContextQuery) -> dict[str, Any]:
        async with self.pool.acquire() as conn:
            row = await repository.customer_by_identity(
                conn, workspace, query.platform, identity_key(query.platform, query.platform_user_id)
            )
        if row is None:
            raise _not_found()
        context = AgentContext(
            customer_id=row["id"],
            name=row["name"],
            language=row["language"],
            agent_instructions=row["agent_instructions"],
            tags=[tag["name"] for tag in row["tags"]],
            ai_profile=await self._ai_profile(workspace, row["id"]),
        )
        return context.model_dump(mode="json")

    async def _ai_profile(self, workspace: str, customer_id: uuid.UUID) -> AiProfile | None:
        """The AI profile from insights, or None if it has none or does not answer in time."""
        try:
            answer = await request(
                self.nc,
                rpc_subject(insights.SERVICE, insights.OP_CUSTOMER_GET),
                {"workspace": workspace, "customer_id": str(customer_id)},
                timeout=self.insights_timeout,
            )
            return CustomerInsights.model_validate(answer).ai_profile
        except (ServiceUnavailable, RpcError, ValidationError) as exc:
            log.info("ai_profile_unavailable", customer_id=str(customer_id), error=repr(exc))
            return None
