"""One way to reach a service's PostgreSQL database: create it, migrate it, pool it."""

import asyncio
import contextlib
import operator
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import orjson
from alembic import command
from alembic.config import Config

from shared.logging import get_logger
from shared.tracing import SpanKind, span

log = get_logger(__name__)

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    # What handlers receive: a plain connection or one borrowed from a pool.
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:
    Connection = asyncpg.Connection


@asynccontextmanager
async def transaction(conn: "Connection") -> AsyncIterator[None]:
    """A transaction on `conn`, traced as one span from BEGIN to COMMIT."""
    with span("transaction", SpanKind.CLIENT, attributes={"db.system.name": "postgresql"}):
        async with conn.transaction():
            yield


def columns(rows: Sequence[object], *paths: str) -> list[list[object]]:
    """One array per attribute path of `rows`: the arguments of a statement that writes them all.

    `INSERT ... SELECT * FROM unnest($1::text[], $2::uuid[], ...)` writes a batch in one round
    trip. A dotted path reads through an attribute that may be None ("close.ended_at").
    """

    return [list(map(_reader(path), rows)) for path in paths]


def _reader(path: str) -> Callable[[object], object]:
    if "." not in path:
        # attrgetter reads in C: this runs for every column of every row of a batch.
        return operator.attrgetter(path)
    owner, _, rest = path.partition(".")
    get_owner, get_rest = operator.attrgetter(owner), _reader(rest)

    def read(row: object) -> object:
        value = get_owner(row)
        return None if value is None else get_rest(value)

    return read


def database_url_for(server_url: str, database: str) -> str:
    """The URL of another database on the same server."""
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def database_name(url: str) -> str:
    """The database a URL points at."""
    return urlsplit(url).path.lstrip("/") or "postgres"


async def ensure_database(url: str) -> None:
    """Create the database of `url` if it does not exist yet (safe when replicas race)."""
    name = database_name(url)
    admin = await asyncpg.connect(database_url_for(url, "postgres"))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            try:
                await admin.execute(f'CREATE DATABASE "{name}"')
                log.info("database_created", database=name)
            except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                pass
    finally:
        await admin.close()


async def provision(admin_url: str, name: str, password: str) -> str:
    """A role `name` that owns database `name` and nothing else; the URL it connects with.

    Run with the server's administrator (make run, the tests; a deployment's init script does the
    same). Idempotent: the role's password is set again, and a database created before roles
    existed (owned by the administrator) is handed over with everything in it.
    """
    admin = await asyncpg.connect(database_url_for(admin_url, "postgres"))
    try:
        # Identifiers cannot be parameters: quote_ident and quote_literal do the escaping.
        role = await admin.fetchval("SELECT quote_ident($1)", name)
        secret = await admin.fetchval("SELECT quote_literal($1)", password)
        if await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name):
            await admin.execute(f"ALTER ROLE {role} WITH LOGIN NOSUPERUSER PASSWORD {secret}")
        else:
            with contextlib.suppress(asyncpg.DuplicateObjectError):
                await admin.execute(f"CREATE ROLE {role} WITH LOGIN NOSUPERUSER PASSWORD {secret}")
        owner = await admin.fetchval(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", name
        )
        if owner is None:
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await admin.execute(f"CREATE DATABASE {role} OWNER {role}")
        elif owner != name:
            await admin.execute(f"ALTER DATABASE {role} OWNER TO {role}")
            await _hand_over_objects(database_url_for(admin_url, name), role)
        await admin.execute(f"REVOKE ALL ON DATABASE {role} FROM PUBLIC")
    finally:
        await admin.close()
    parts = urlsplit(admin_url)
    netloc = f"{quote(name, safe='')}:{quote(password, safe='')}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, f"/{name}", parts.query, parts.fragment))


async def _hand_over_objects(url: str, role: str) -> None:
    """Give `role` the schema and every table, sequence and view another role made in it."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"ALTER SCHEMA public OWNER TO {role}")
        rows = await conn.fetch(
            "SELECT format('ALTER %s %I.%I OWNER TO %s', CASE c.relkind WHEN 'S' THEN 'SEQUENCE' "
            "WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, n.nspname, "
            "c.relname, $1::text) AS statement FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v', 'm') "
            "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))",
            role,
        )
        for row in rows:
            await conn.execute(row["statement"])
    finally:
        await conn.close()


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: orjson.dumps(v).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )


async def _keep_session(conn: Connection) -> None:
    """Pool reset beyond asyncpg's own (roll back, drop listeners): none.

    Our connections keep no session state (settings are SET LOCAL, advisory locks are
    transaction-scoped, whoever LISTENs unlistens), so asyncpg's default reset query would only
    cost a database round trip on every release.
    """


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections read and write jsonb as Python data."""
    pool = await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        command_timeout=30,
    )
    assert pool is not None
    return pool


def alembic_config(migrations: Path, url: str) -> Config:
    """An Alembic config for a service's migrations folder against `url`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations))
    cfg.attributes["url"] = url
    return cfg


# Alembic keeps its migration context in module globals: one migration at a time per process
# (several services share a process in tests).
_migration_lock = threading.Lock()


def _upgrade(migrations: Path, url: str) -> None:
    with _migration_lock:
        command.upgrade(alembic_config(migrations, url), "head")


async def migrate(migrations: Path, url: str) -> None:
    """Bring the database to the newest revision of the service's migrations.

    A database a newer release has migrated is left as it is (shared/migrations.py).
    """
    # Alembic is synchronous and its env.py runs its own event loop: keep it off ours.
    await asyncio.to_thread(_upgrade, migrations, url)
