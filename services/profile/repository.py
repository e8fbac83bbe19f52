"""SQL of the profile service; every query is scoped by workspace."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from services.profile.service import Contact, EditPlan, GridOrder, NewCustomer, like_pattern, name_key
from shared.db import Connection, columns, transaction
from shared.messages.profile import Actor, Tag

_CUSTOMER_COLUMNS = (
    "c.id, c.platform, c.platform_user_id, c.name, c.phone, c.email, c.language, c.country, "
    "c.location, c.agent_instructions, c.avatar_url, c.instagram, c.created_at, c.last_contact_at, "
    "c.version"
)


def _tags_of(alias: str) -> str:
    """A jsonb list of the tags of customer `alias`.id, by name."""
    return (
        "COALESCE((SELECT jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'color', t.color) "
        "ORDER BY t.name_key, t.id) FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id "
        f"WHERE ct.customer_id = {alias}.id), '[]'::jsonb)"
    )


# --- connector events ----------------------------------------------------------------------------


async def upsert_customers(conn: Connection, customers: Sequence[NewCustomer]) -> set[uuid.UUID]:
    """Create the customers that do not exist, widen the times of those that do; the ids created.

    created_at keeps the earliest event's time and last_contact_at the latest, whatever order
    events arrive in. Rows go in id order, so that replicas wait for each other, not deadlock;
    each is locked until the transaction ends, updated or not.
    """
    rows = await conn.fetch(
        "INSERT INTO customers AS c (id, workspace, platform, platform_user_id, name, phone, "
        "instagram, search, created_at, last_contact_at, name_key) "
        "SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], "
        "$7::jsonb[], $8::text[], $9::timestamptz[], $10::timestamptz[], $11::text[]) ORDER BY 1 "
        "ON CONFLICT (id) DO UPDATE SET created_at = LEAST(c.created_at, EXCLUDED.created_at), "
        "last_contact_at = GREATEST(c.last_contact_at, EXCLUDED.last_contact_at) "
        "WHERE c.created_at > EXCLUDED.created_at OR c.last_contact_at < EXCLUDED.last_contact_at "
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
    return {row["id"] for row in rows if row["created"]}


async def lock_contacts(
    conn: Connection, keys: Sequence[tuple[str, uuid.UUID]]
) -> dict[tuple[str, uuid.UUID], asyncpg.Record]:
    """The connector-maintained state of customers by (workspace, id), locked until the transaction ends."""
    rows = await conn.fetch(
        "SELECT c.workspace, c.id, c.platform_user_id, c.name, c.name_edited, c.avatar_url, "
        "c.instagram, c.seen, c.phone, c.email, c.version "
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
        f"SELECT {_CUSTOMER_COLUMNS}, c.name_edited, "
        "ARRAY(SELECT ct.tag_id::text FROM customer_tags ct WHERE ct.customer_id = c.id "
        f"ORDER BY ct.tag_id) AS tag_ids, {_tags_of('c')} AS tags "
        "FROM customers c WHERE c.workspace = $1 AND c.id = $2" + (" FOR UPDATE OF c" if lock else ""),
        workspace,
        customer_id,
    )


async def customer_by_identity(
    conn: Connection, workspace: str, platform: str, platform_user_id: str
) -> asyncpg.Record | None:
    """The customer of a platform identity, with its tags, or None."""
    return await conn.fetchrow(
        f"SELECT {_CUSTOMER_COLUMNS}, {_tags_of('c')} AS tags FROM customers c "
        "WHERE c.workspace = $1 AND c.platform = $2 AND c.platform_user_id = $3",
        workspace,
        platform,
        platform_user_id,
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
        where.append(f"c.platform = {arg(platform)}")
    if tag is not None:
        where.append(f"c.id IN (SELECT customer_id FROM customer_tags WHERE tag_id = {arg(tag)})")
    # The column comes from GridOrder's fixed set, never from the request.
    direction, beyond = ("DESC", "<") if order.descending else ("ASC", ">")
    if after is not None:
        where.append(f"(c.{order.column}, c.id) {beyond} ({arg(after[0])}, {arg(after[1])})")
    # Tags are fetched for the page's rows only, after the limit.
    sql = (
        f"SELECT page.*, {_tags_of('page')} AS tags FROM ("
        "SELECT c.id, c.name, c.name_key, c.avatar_url, c.platform, c.created_at, c.last_contact_at "
        f"FROM customers c WHERE {' AND '.join(where)} "
        f"ORDER BY c.{order.column} {direction}, c.id {direction} LIMIT {arg(limit)}"
        f") page ORDER BY page.{order.column} {direction}, page.id {direction}"
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
