"""Customers, the tag catalog, customers' tags and their change history.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # One row per platform identity: the customer id is derived from it (shared/ids.py).
    op.execute(
        """
        CREATE TABLE customers (
            id                 uuid        PRIMARY KEY,
            workspace          text        NOT NULL,
            platform           text        NOT NULL,
            platform_user_id   text        NOT NULL,
            name               text        NOT NULL,
            name_edited        boolean     NOT NULL DEFAULT false,
            phone              text,
            email              text,
            language           text,
            country            text,
            location           text,
            agent_instructions text,
            avatar_url         text,
            instagram          jsonb,
            seen               jsonb       NOT NULL DEFAULT '{}'::jsonb,
            search             text        NOT NULL,
            created_at         timestamptz NOT NULL,
            last_contact_at    timestamptz NOT NULL,
            version            integer     NOT NULL DEFAULT 1,
            UNIQUE (workspace, platform, platform_user_id)
        )
        """
    )
    op.execute("CREATE INDEX customers_newest ON customers (workspace, created_at DESC, id DESC)")
    op.execute(
        "CREATE INDEX customers_platform_newest ON customers (workspace, platform, created_at DESC, id DESC)"
    )
    op.execute("CREATE INDEX customers_search ON customers USING gin (search gin_trgm_ops)")
    # Finer statistics let the planner tell a rare search term (use the trigram index, then sort)
    # from a common one (walk the newest-first index until the page is full).
    op.execute("ALTER TABLE customers ALTER COLUMN search SET STATISTICS 1000")
    op.execute(
        """
        CREATE TABLE tags (
            id         uuid        PRIMARY KEY,
            workspace  text        NOT NULL,
            name       text        NOT NULL,
            name_key   text        NOT NULL,
            color      text        NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (workspace, name_key)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE customer_tags (
            customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            tag_id      uuid NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
            PRIMARY KEY (customer_id, tag_id)
        )
        """
    )
    op.execute("CREATE INDEX customer_tags_by_tag ON customer_tags (tag_id, customer_id)")
    op.execute(
        """
        CREATE TABLE customer_changes (
            customer_id uuid        NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            version     integer     NOT NULL,
            workspace   text        NOT NULL,
            actor       jsonb,
            changes     jsonb       NOT NULL,
            changed_at  timestamptz NOT NULL,
            PRIMARY KEY (customer_id, version)
        )
        """
    )
