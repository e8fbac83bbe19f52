"""Known customers and notes.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Customer ids learnt from the profile service's customer.created events: the service
    # answers "does this customer exist" without reading another service's tables.
    op.execute(
        """
        CREATE TABLE customers (
            workspace   text        NOT NULL,
            customer_id uuid        NOT NULL,
            created_at  timestamptz NOT NULL,
            PRIMARY KEY (workspace, customer_id)
        )
        """
    )
    # Deleted notes stay for audit (deleted_at, deleted_by); every read skips them.
    op.execute(
        """
        CREATE TABLE notes (
            id          uuid        PRIMARY KEY,
            workspace   text        NOT NULL,
            customer_id uuid        NOT NULL,
            text        text        NOT NULL,
            author_id   text        NOT NULL,
            author_name text        NOT NULL,
            created_at  timestamptz NOT NULL,
            deleted_at  timestamptz,
            deleted_by  text,
            FOREIGN KEY (workspace, customer_id) REFERENCES customers (workspace, customer_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX notes_by_customer ON notes (workspace, customer_id, created_at DESC, id DESC) "
        "WHERE deleted_at IS NULL"
    )
