"""Customers merged into others or erased, and where their identities' events go now
(shared/identity.py).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from shared.migrations import create_identity_tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_identity_tables(op, routes=True)


def downgrade() -> None:
    op.execute("DROP TABLE identity_routes, retired_customers")
