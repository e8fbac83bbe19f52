"""Messaging tables and the probe's own table.

Revision ID: 0001
Revises:
"""

from alembic import op

from shared.migrations import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables(op)
    op.execute("CREATE TABLE applied (event_id text NOT NULL, workspace text NOT NULL, name text)")
