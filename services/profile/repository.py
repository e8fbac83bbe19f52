"""SQL of the profile service; every query is scoped by workspace."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from services.profile.service import (
    Contact,
    EditPlan,
    GridOrder,
    MergePlan,
    NewCustomer,
    like_pattern,
    name_key,
)
from shared.db import Connection, columns, transaction
from shared.messages.profile import Actor, IdentityRef, Tag

_CUSTOMER_COLUMNS = (
    "c.id, c.platform, c.platform_user_id, c.name, c.phone, c.email, c.language, c.country, "
    "c.location, c.agent_instructions, c.avatar_url, c.instagram, c.created_at, a.last_contact_at, "
    "c.version"
)


def _activity_of(alias: str) -> str:
    """The join that gives the customer `alias` its last contact as `a` (migration 0007)."""
    return f"JOIN customer_activity a ON a.customer_id = {alias}.id AND a.workspace = {alias}.workspace"


def _tags_of(alias: str) -> str:
    """A jsonb list of the tags of customer `alias`.id, by name."""
    return (
        "COALESCE((SELECT jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'color', t.color) "
        "ORDER BY t.name_key, t.id) FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id "
        f"WHERE ct.customer_id = {alias}.id), '[]'::jsonb)"
    )


def _identity_order(alias: str) -> str:
    """Identities of customer `alias` in the order shown: the one it was created from, then the
    others in the order they joined."""
    return (
        f"(i.platform, i.platform_user_id) <> ({alias}.platform, {alias}.platform_user_id), "
        "i.added_at, i.identity_key"
    )


def _identities_of(alias: str) -> str:
    """A jsonb list of the identities ({platform, platform_user_id}) of customer `alias`.id."""
    return (
        "COALESCE((SELECT jsonb_agg(jsonb_build_object('platform', i.platform, 'platform_user_id', "
        f"i.platform_user_id) ORDER BY {_identity_order(alias)}) FROM customer_identities i "
        f"WHERE i.customer_id = {alias}.id), '[]'::jsonb)"
    )


# --- connector events ----------------------------------------------------------------------------


async def upsert_customers(conn: Connection, customers: Sequence[NewCustomer]) -> set[uuid.UUID]:
    """Create the customers that do not exist, widen the times of those that do; the ids created.

    created_at keeps the earliest event's time and last_contact_at the latest, whatever order
    events arrive in. Rows go in id order, so that replicas wait for each other, not deadlock;
    each customer is locked until the transaction ends, updated or not. The last contact, which
    nearly every event moves, lives in customer_activity so that moving it leaves the wide,
    many-indexed customers row alone (customers.last_contact_at is set on creation only, for the
    release before migration 0007).
    """
    rows = await conn.fetch(
        "INSERT INTO customers AS c (id, workspace, platform, platform_user_id, name, phone, "
        "instagram, search, created_at, last_contact_at, name_key) "
        "SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
        "$7::jsonb[], $8::text[], $9::timestamptz[], $10::timestamptz[], $11::text[]) ORDER BY 1 "
        "ON CONFLICT (id) DO UPDATE SET created_at = EXCLUDED.created_at "
        "WHERE c.created_at > EXCLUDED.created_at "
        "RETURNING c.id, (xmax = 0) AS created",
        *columns(
            customers,
            "id",
            "workspace",
            "platform",
            "platform_user_id",
            "name",
            "phone",
            "instagram",
            "search",
            "created_at",
            "last_contact_at",
        ),
        [name_key(c.name) for c in customers],
    )
    await conn.execute(
        "INSERT INTO customer_activity AS a (customer_id, workspace, last_contact_at) "
        "SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) ORDER BY 1 "
        "ON CONFLICT (customer_id) DO UPDATE SET last_contact_at = EXCLUDED.last_contact_at "
        "WHERE a.last_contact_at < EXCLUDED.last_contact_at",
        *columns(customers, "id", "workspace", "last_contact_at"),
    )
    return {row["id"] for row in rows if row["created"]}


async def add_identities(conn: Connection, customers: Sequence[NewCustomer]) -> None:
    """Record the identity each of these newly created customers was created from."""
    await conn.execute(
        "INSERT INTO customer_identities (workspace, identity_key, customer_id, platform, platform_user_id, "
        "added_at) SELECT * FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], "
        "$6::timestamptz[]) ORDER BY 1, 2 ON CONFLICT DO NOTHING",
        *columns(customers, "workspace", "identity_key", "id", "platform", "platform_user_id", "created_at"),
    )


async def lock_contacts(
    conn: Connection, keys: Sequence[tuple[str, uuid.UUID]]
) -> dict[tuple[str, uuid.UUID], asyncpg.Record]:
    """The connector-maintained state of customers by (workspace, id), locked until the transaction ends."""
    rows = await conn.fetch(
        "SELECT c.workspace, c.id, c.name, c.name_edited, c.avatar_url, "
        f"c.instagram, c.seen, c.phone, c.email, c.version, {_identities_of('c')} AS identities "
        "FROM customers c JOIN unnest($1::text[], $2::uuid[]) AS k (workspace, id) "
        "ON c.workspace = k.workspace AND c.id = k.id ORDER BY c.id FOR UPDATE OF c",
        [workspace for workspace, _ in keys],
        [customer_id for _, customer_id in keys],
    )
    return {(row["workspace"], row["id"]): row for row in rows}


async def save_contacts(conn: Connection, contacts: Sequence[tuple[str, uuid.UUID, Contact, str]]) -> None:
    """Store what contact.seen refreshed: (workspace, id, contact, search document) per customer."""
    if not contacts:
        return
    await conn.execute(
        "UPDATE customers c SET name = u.name, name_key = u.name_key, avatar_url = u.avatar_url, "
        "instagram = u.instagram, seen = u.seen, search = u.search "
        "FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[], $7::text[], "
        "$8::text[]) AS u (workspace, id, name, avatar_url, instagram, seen, search, name_key) "
        "WHERE c.workspace = u.workspace AND c.id = u.id",
        [workspace for workspace, _, _, _ in contacts],
        [customer_id for _, customer_id, _, _ in contacts],
        [contact.name for _, _, contact, _ in contacts],
        [contact.avatar_url for _, _, contact, _ in contacts],
        [contact.instagram for _, _, contact, _ in contacts],
        [contact.seen for _, _, contact, _ in contacts],
        [search for _, _, _, search in contacts],
        [name_key(contact.name) for _, _, contact, _ in contacts],
    )


# --- customers -----------------------------------------------------------------------------------


async def get_customer(
    conn: Connection, workspace: str, customer_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    """A customer with its tags (list of {id, name, color}), or None if not in the workspace."""
    return await conn.fetchrow(
        f"SELECT {_CUSTOMER_COLUMNS}, c.name_edited, c.seen, "
        "ARRAY(SELECT ct.tag_id::text FROM customer_tags ct WHERE ct.customer_id = c.id "
        f"ORDER BY ct.tag_id) AS tag_ids, {_tags_of('c')} AS tags, {_identities_of('c')} AS identities "
        f"FROM customers c {_activity_of('c')} WHERE c.workspace = $1 AND c.id = $2"
        + (" FOR UPDATE OF c" if lock else ""),
        workspace,
        customer_id,
    )


async def customer_by_identity(
    conn: Connection, workspace: str, identity_key: uuid.UUID
) -> asyncpg.Record | None:
    """The customer a platform identity (by its key) belongs to, with its tags, or None."""
    return await conn.fetchrow(
        f"SELECT {_CUSTOMER_COLUMNS}, {_tags_of('c')} AS tags FROM customer_identities i "
        f"JOIN customers c ON c.id = i.customer_id {_activity_of('c')} "
        "WHERE i.workspace = $1 AND i.identity_key = $2",
        workspace,
        identity_key,
    )


async def existing_tags(conn: Connection, workspace: str, tag_ids: list[str]) -> set[str]:
    """Which of these tag ids are tags of the workspace; they cannot be deleted until commit."""
    rows = await conn.fetch(
        "SELECT id::text FROM tags WHERE workspace = $1 AND id = ANY($2::uuid[]) FOR KEY SHARE",
        workspace,
        tag_ids,
    )
    return {row["id"] for row in rows}


# Columns an edit may write: PATCH field → column (tag_ids lives in customer_tags).
_EDIT_COLUMNS = ("name", "phone", "email", "language", "country", "location", "agent_instructions")


async def customer_exists(conn: Connection, workspace: str, customer_id: uuid.UUID) -> bool:
    """Whether the workspace has this customer."""
    return bool(
        await conn.fetchval(
            "SELECT true FROM customers WHERE workspace = $1 AND id = $2", workspace, customer_id
        )
    )


async def update_customer(conn: Connection, workspace: str, customer_id: uuid.UUID, plan: EditPlan) -> None:
    """Write an edit's fields, the search document and the new version."""
    values = plan.values
    written = {c: values[c] for c in _EDIT_COLUMNS if c in values}
    if "name" in written:
        written["name_key"] = name_key(written["name"])
    written |= {"name_edited": plan.name_edited, "search": plan.search, "version": plan.version}
    assignments = [f"{column} = ${i}" for i, column in enumerate(written, start=3)]
    await conn.execute(
        f"UPDATE customers SET {', '.join(assignments)} WHERE workspace = $1 AND id = $2",
        workspace,
        customer_id,
        *written.values(),
    )
    if "tag_ids" in values:
        await conn.execute(
            "DELETE FROM customer_tags WHERE customer_id = $1 AND NOT (tag_id = ANY($2::uuid[]))",
            customer_id,
            values["tag_ids"],
        )
        await conn.execute(
            "INSERT INTO customer_tags (customer_id, tag_id) SELECT $1, unnest($2::uuid[]) "
            "ON CONFLICT DO NOTHING",
            customer_id,
            values["tag_ids"],
        )


async def record_change(
    conn: Connection,
    workspace: str,
    customer_id: uuid.UUID,
    version: int,
    actor: Actor | None,
    changes: dict[str, Any],
    changed_at: datetime,
) -> None:
    """Keep one edit in the customer's history."""
    await conn.execute(
        "INSERT INTO customer_changes (customer_id, version, workspace, actor, changes, changed_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        customer_id,
        version,
        workspace,
        actor.model_dump() if actor is not None else None,
        changes,
        changed_at,
    )


async def history(
    conn: Connection, workspace: str, customer_id: uuid.UUID, below_version: int | None, limit: int
) -> list[asyncpg.Record]:
    """Edits of a customer, newest first, below a version (None: from the newest)."""
    return await conn.fetch(
        "SELECT version, actor, changes, changed_at FROM customer_changes "
        "WHERE workspace = $1 AND customer_id = $2 AND ($3::integer IS NULL OR version < $3) "
        "ORDER BY version DESC LIMIT $4",
        workspace,
        customer_id,
        below_version,
        limit,
    )


def grid_query(
    workspace: str,
    *,
    terms: list[str],
    tag: uuid.UUID | None,
    platform: str | None,
    order: GridOrder,
    after: tuple[datetime | str, uuid.UUID] | None,
    limit: int,
) -> tuple[str, list[Any]]:
    """SQL and arguments of one grid page (at most `limit` rows in `order`, after a row's key)."""
    args: list[Any] = [workspace]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where = ["c.workspace = $1"]
    if terms:
        where.append("(" + " OR ".join(f"c.search LIKE {arg(like_pattern(t))}" for t in terms) + ")")
    if platform is not None:
        # The platform a customer was created on, or one a merge brought.
        wanted = arg(platform)
        where.append(
            f"(c.platform = {wanted} OR EXISTS (SELECT 1 FROM customer_identities i "
            f"WHERE i.customer_id = c.id AND i.platform = {wanted}))"
        )
    if tag is not None:
        # customers.tag_ids mirrors customer_tags (migration 0006): the GIN index, or a check on
        # the row while an order's index is walked, instead of a probe per customer.
        # (The first condition says the partial index applies: it leaves out untagged customers.)
        where.append(f"c.tag_ids <> '{{}}' AND c.tag_ids @> ARRAY[{arg(tag)}::uuid]")
    # The column comes from GridOrder's fixed set, never from the request. The last contact is
    # customer_activity's (migration 0007): ordered by it, the page walks that table's index, key
    # and all, and probes customers; any other order leaves the join until after the limit, so that
    # its plan is the one customers alone would get.
    by_contact = order.column == "last_contact_at"
    if by_contact:
        source, key = f"customers c {_activity_of('c')}", ("a.last_contact_at", "a.customer_id")
    else:
        source, key = "customers c", (f"c.{order.column}", "c.id")
    direction, beyond = ("DESC", "<") if order.descending else ("ASC", ">")
    if after is not None:
        where.append(f"({', '.join(key)}) {beyond} ({arg(after[0])}, {arg(after[1])})")
    # Tags are fetched for the page's rows only, after the limit.
    sql = (
        f"SELECT page.*, a.last_contact_at, {_tags_of('page')} AS tags, "
        "ARRAY(SELECT i.platform FROM customer_identities i "
        f"WHERE i.customer_id = page.id ORDER BY {_identity_order('page')}) AS platforms FROM ("
        "SELECT c.id, c.workspace, c.name, c.name_key, c.avatar_url, c.platform, c.platform_user_id, "
        f"c.created_at FROM {source} WHERE {' AND '.join(where)} "
        f"ORDER BY {key[0]} {direction}, {key[1]} {direction} LIMIT {arg(limit)}"
        f") page {_activity_of('page')} "
        f"ORDER BY {'a' if by_contact else 'page'}.{order.column} {direction}, page.id {direction}"
    )
    return sql, args


async def grid_page(conn: Connection, sql: str, args: list[Any]) -> list[asyncpg.Record]:
    """Run a grid_query, planned for its own arguments."""
    async with transaction(conn):
        # A generic plan cannot know how selective a search pattern is; plan every call afresh.
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        return await conn.fetch(sql, *args)


async def lock_customer_tags(
    conn: Connection, workspace: str, customer_ids: list[uuid.UUID]
) -> dict[uuid.UUID, asyncpg.Record]:
    """Version and tag ids (`tag_ids`) of the customers of the workspace among these, locked in id order."""
    rows = await conn.fetch(
        "SELECT c.id, c.version, ARRAY(SELECT ct.tag_id::text FROM customer_tags ct "
        "WHERE ct.customer_id = c.id ORDER BY ct.tag_id) AS tag_ids "
        "FROM customers c WHERE c.workspace = $1 AND c.id = ANY($2::uuid[]) ORDER BY c.id FOR UPDATE OF c",
        workspace,
        customer_ids,
    )
    return {row["id"]: row for row in rows}


async def retag_customers(
    conn: Connection,
    workspace: str,
    tags: dict[uuid.UUID, tuple[list[str], list[str]]],
    versions: dict[uuid.UUID, int],
) -> None:
    """Set each customer's tags from old to new ((old, new) tag ids) and its version, in three statements."""
    gone = [(customer, tag) for customer, (old, new) in tags.items() for tag in set(old) - set(new)]
    added = [(customer, tag) for customer, (old, new) in tags.items() for tag in set(new) - set(old)]
    await conn.execute(
        "DELETE FROM customer_tags ct USING unnest($1::uuid[], $2::uuid[]) AS g (customer_id, tag_id) "
        "WHERE ct.customer_id = g.customer_id AND ct.tag_id = g.tag_id",
        [customer for customer, _ in gone],
        [tag for _, tag in gone],
    )
    await conn.execute(
        "INSERT INTO customer_tags (customer_id, tag_id) SELECT * FROM unnest($1::uuid[], $2::uuid[]) "
        "ON CONFLICT DO NOTHING",
        [customer for customer, _ in added],
        [tag for _, tag in added],
    )
    await conn.execute(
        "UPDATE customers c SET version = u.version "
        "FROM unnest($2::uuid[], $3::integer[]) AS u (id, version) WHERE c.workspace = $1 AND c.id = u.id",
        workspace,
        list(versions),
        list(versions.values()),
    )


# --- merges and erasures -------------------------------------------------------------------------


async def write_merge(conn: Connection, workspace: str, target: uuid.UUID, plan: MergePlan) -> None:
    """Store the target of a merge as the plan leaves it, with the union of both customers' tags."""
    contact, values = plan.contact, plan.values
    await conn.execute(
        "UPDATE customers SET name = $3, name_edited = $4, avatar_url = $5, instagram = $6, seen = $7, "
        "phone = $8, email = $9, language = $10, country = $11, location = $12, agent_instructions = $13, "
        "created_at = $14, version = $15, search = $16, name_key = $17 "
        "WHERE workspace = $1 AND id = $2",
        workspace,
        target,
        contact.name,
        contact.name_edited,
        contact.avatar_url,
        contact.instagram,
        contact.seen,
        values["phone"],
        values["email"],
        values["language"],
        values["country"],
        values["location"],
        values["agent_instructions"],
        plan.created_at,
        plan.version,
        plan.search,
        name_key(contact.name),
    )
    await conn.execute(
        "UPDATE customer_activity SET last_contact_at = $3 WHERE workspace = $1 AND customer_id = $2",
        workspace,
        target,
        plan.last_contact_at,
    )
    await conn.execute(
        "INSERT INTO customer_tags (customer_id, tag_id) SELECT $1, unnest($2::uuid[]) "
        "ON CONFLICT DO NOTHING",
        target,
        plan.tag_ids,
    )


async def identities_with_epochs(
    conn: Connection, workspace: str, customer_id: uuid.UUID
) -> list[IdentityRef]:
    """The identities of a customer by key, each with how many times it has been erased."""
    rows = await conn.fetch(
        "SELECT i.identity_key, COALESCE(r.epoch, 0) AS epoch FROM customer_identities i "
        "LEFT JOIN identity_routes r ON r.workspace = i.workspace AND r.identity_key = i.identity_key "
        "WHERE i.workspace = $1 AND i.customer_id = $2 ORDER BY i.identity_key",
        workspace,
        customer_id,
    )
    return [IdentityRef(identity_key=row["identity_key"], epoch=row["epoch"]) for row in rows]


async def move_identities(
    conn: Connection, workspace: str, source: uuid.UUID, target: uuid.UUID, at: datetime
) -> None:
    """Give the source customer's identities to the target (they joined it `at`)."""
    await conn.execute(
        "UPDATE customer_identities SET customer_id = $3, added_at = $4 "
        "WHERE workspace = $1 AND customer_id = $2",
        workspace,
        source,
        target,
        at,
    )


async def delete_customer(conn: Connection, workspace: str, customer_id: uuid.UUID) -> None:
    """Delete a customer with its identities, tags, last contact and change history."""
    await conn.execute("DELETE FROM customers WHERE workspace = $1 AND id = $2", workspace, customer_id)


async def merged_into(conn: Connection, workspace: str, customer_id: uuid.UUID) -> list[uuid.UUID]:
    """The customers merged into this one (directly or along a chain of merges)."""
    rows = await conn.fetch(
        "SELECT customer_id FROM retired_customers WHERE workspace = $1 AND merged_into = $2 "
        "AND erased_at IS NULL ORDER BY customer_id",
        workspace,
        customer_id,
    )
    return [row["customer_id"] for row in rows]


async def insert_erasure(
    conn: Connection,
    *,
    erasure_id: uuid.UUID,
    workspace: str,
    customer_id: uuid.UUID,
    requested_by: str,
    requested_at: datetime,
) -> None:
    """Record an erasure request (ids and times only)."""
    await conn.execute(
        "INSERT INTO erasures (erasure_id, workspace, customer_id, requested_by, requested_at) "
        "VALUES ($1, $2, $3, $4, $5)",
        erasure_id,
        workspace,
        customer_id,
        requested_by,
        requested_at,
    )


async def get_erasure(conn: Connection, workspace: str, erasure_id: uuid.UUID) -> asyncpg.Record | None:
    """An erasure of the workspace, or None."""
    return await conn.fetchrow(
        "SELECT erasure_id, customer_id, requested_at, completed_at FROM erasures "
        "WHERE workspace = $1 AND erasure_id = $2",
        workspace,
        erasure_id,
    )


async def confirm_erasure(
    conn: Connection, erasure_id: uuid.UUID, service: str, confirmed_at: datetime, services: Sequence[str]
) -> None:
    """Record that `service` erased its part; the erasure is complete once all of `services` have,
    at the latest of their confirmations."""
    # Confirmations of one erasure arrive on several consumers at once: one at a time counts them.
    await conn.execute("SELECT 1 FROM erasures WHERE erasure_id = $1 FOR UPDATE", erasure_id)
    await conn.execute(
        "INSERT INTO erasure_confirmations (erasure_id, service, confirmed_at) "
        "SELECT erasure_id, $2, $3 FROM erasures WHERE erasure_id = $1 ON CONFLICT DO NOTHING",
        erasure_id,
        service,
        confirmed_at,
    )
    await conn.execute(
        "UPDATE erasures e SET completed_at = c.last FROM ("
        "SELECT max(confirmed_at) AS last, count(*) AS done FROM erasure_confirmations "
        "WHERE erasure_id = $1 AND service = ANY($2::text[])) c "
        "WHERE e.erasure_id = $1 AND e.completed_at IS NULL AND c.done = cardinality($2::text[])",
        erasure_id,
        list(services),
    )


# --- tags ----------------------------------------------------------------------------------------


async def list_tags(conn: Connection, workspace: str) -> list[asyncpg.Record]:
    """The workspace's tag catalog, by name."""
    return await conn.fetch(
        "SELECT id, name, color FROM tags WHERE workspace = $1 ORDER BY name_key, id", workspace
    )


async def insert_tag(conn: Connection, workspace: str, tag: Tag, name_key: str) -> None:
    """Add a tag; asyncpg.UniqueViolationError if the name is taken."""
    await conn.execute(
        "INSERT INTO tags (id, workspace, name, name_key, color) VALUES ($1, $2, $3, $4, $5)",
        tag.id,
        workspace,
        tag.name,
        name_key,
        tag.color,
    )


async def update_tag(
    conn: Connection,
    workspace: str,
    tag_id: uuid.UUID,
    name: str | None,
    name_key: str | None,
    color: str | None,
) -> asyncpg.Record | None:
    """Rename and/or recolour; the tag, None if not in the workspace; UniqueViolationError if taken."""
    return await conn.fetchrow(
        "UPDATE tags SET name = COALESCE($3, name), name_key = COALESCE($4, name_key), "
        "color = COALESCE($5, color) WHERE workspace = $1 AND id = $2 RETURNING id, name, color",
        workspace,
        tag_id,
        name,
        name_key,
        color,
    )


async def delete_tag(conn: Connection, workspace: str, tag_id: uuid.UUID) -> bool:
    """Delete a tag (customer_tags cascades); whether it existed."""
    deleted = await conn.fetchval(
        "DELETE FROM tags WHERE workspace = $1 AND id = $2 RETURNING true", workspace, tag_id
    )
    return bool(deleted)
