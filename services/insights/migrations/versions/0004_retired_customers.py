"""Customers merged into others or erased (shared/identity.py).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from shared.migrations import create_identity_tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_identity_tables(op, routes=False)


def downgrade() -> None:
    op.execute("DROP TABLE retired_customers")
