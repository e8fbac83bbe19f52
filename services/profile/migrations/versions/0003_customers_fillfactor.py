"""Leave room in customers' pages for updates in place.

Every connector event refreshes a customer's last contact, a column no index covers. With free
space on the row's page PostgreSQL updates it in place (a HOT update) instead of writing a new
row version into all five indexes.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE customers SET (fillfactor = 80)")


def downgrade() -> None:
    op.execute("ALTER TABLE customers RESET (fillfactor)")
