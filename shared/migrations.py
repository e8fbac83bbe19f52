"""What every service's Alembic env.py and first migration share."""

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.logging import get_logger

log = get_logger(__name__)

# Taken inside the migration transaction, so replicas starting together migrate one at a time.
_MIGRATION_LOCK = 7_231_004


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+asyncpg://", 1).replace(
        "postgres://", "postgresql+asyncpg://", 1
    )


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=False)
    with context.begin_transaction():
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})"))
        known = {script.revision for script in context.script.walk_revisions()}
        newer = set(context.get_context().get_current_heads()) - known
        if newer:
            # A newer release migrated this database: a replica of this one restarting during
            # its rollout, or code rolled back. Migrations only expand (docs/operations.md), so
            # this release runs on the schema as it is; Alembic would refuse to start.
            log.warning("schema_newer_than_release", revisions=sorted(newer), known=len(known))
            return
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(_sqlalchemy_url(url))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run_env() -> None:
    """Body of every service's migrations/env.py (online mode only)."""
    url: str = context.config.attributes["url"]
    asyncio.run(_run_async(url))


def create_messaging_tables(op: Any) -> None:
    """Inbox (processed event ids) and outbox (events to publish): every service's first migration."""
    op.execute(
        """
        CREATE TABLE inbox (
            consumer     text        NOT NULL,
            event_id     text        NOT NULL,
            processed_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, event_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE outbox (
            id           bigserial   PRIMARY KEY,
            event_id     text        NOT NULL UNIQUE,
            subject      text        NOT NULL,
            payload      jsonb       NOT NULL,
            headers      jsonb       NOT NULL DEFAULT '{}'::jsonb,
            created_at   timestamptz NOT NULL DEFAULT now(),
            published_at timestamptz
        )
        """
    )
    op.execute("CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL")
    op.execute(
        """
        CREATE FUNCTION outbox_notify() RETURNS trigger AS $$
        BEGIN PERFORM pg_notify('outbox', ''); RETURN NULL; END $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
        "FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()"
    )


def create_identity_tables(op: Any, *, routes: bool) -> None:
    """Retired customers, and with `routes` the routes of identities (shared/identity.py).

    Ids and timestamps only: what a merge or an erasure leaves behind must not be personal data.
    """
    op.execute(
        """
        CREATE TABLE retired_customers (
            workspace   text        NOT NULL,
            customer_id uuid        NOT NULL,
            merged_into uuid,
            merged_at   timestamptz,
            erased_at   timestamptz,
            PRIMARY KEY (workspace, customer_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX retired_customers_by_target ON retired_customers (workspace, merged_into) "
        "WHERE merged_into IS NOT NULL"
    )
    if not routes:
        return
    op.execute(
        """
        CREATE TABLE identity_routes (
            workspace     text        NOT NULL,
            identity_key  uuid        NOT NULL,
            epoch         integer     NOT NULL,
            customer_id   uuid        NOT NULL,
            erased_before timestamptz,
            PRIMARY KEY (workspace, identity_key)
        )
        """
    )
    op.execute("CREATE INDEX identity_routes_by_customer ON identity_routes (workspace, customer_id)")
