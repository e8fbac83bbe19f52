"""Several identities per customer, merges and erasures (CONTRACT.md §7).

`customer_identities` lists every platform identity of a customer: one, the one it was created
from, until a merge brings the other customer's. `retired_customers` and `identity_routes` are
shared/identity.py's. `erasures` and `erasure_confirmations` keep ids and timestamps only.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from shared.migrations import create_identity_tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # identity_key is shared.ids.customer_id_for of the identity: the id of the customer it
    # created, before any erasure of it.
    op.execute(
        """
        CREATE TABLE customer_identities (
            workspace        text        NOT NULL,
            identity_key     uuid        NOT NULL,
            customer_id      uuid        NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
            platform         text        NOT NULL,
            platform_user_id text        NOT NULL,
            added_at         timestamptz NOT NULL,
            PRIMARY KEY (workspace, identity_key)
        )
        """
    )
    op.execute("CREATE INDEX customer_identities_of_customer ON customer_identities (customer_id)")
    op.execute(
        "INSERT INTO customer_identities (workspace, identity_key, customer_id, platform, platform_user_id, "
        "added_at) SELECT workspace, id, id, platform, platform_user_id, created_at FROM customers"
    )
    create_identity_tables(op, routes=True)
    op.execute(
        """
        CREATE TABLE erasures (
            erasure_id   uuid        PRIMARY KEY,
            workspace    text        NOT NULL,
            customer_id  uuid        NOT NULL,
            requested_by text        NOT NULL,
            requested_at timestamptz NOT NULL,
            completed_at timestamptz
        )
        """
    )
    op.execute(
        """
        CREATE TABLE erasure_confirmations (
            erasure_id   uuid        NOT NULL REFERENCES erasures (erasure_id) ON DELETE CASCADE,
            service      text        NOT NULL,
            confirmed_at timestamptz NOT NULL,
            PRIMARY KEY (erasure_id, service)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE erasure_confirmations, erasures, identity_routes, retired_customers")
    op.execute("DROP TABLE customer_identities")
