"""A customer's last contact in a narrow table of its own, with the index the grid walks.

Every connector event moves its customer's last contact. On the customers row, indexed since
0004, each move wrote a new version of the whole row into every index of customers — the
trigram index of the search document among them: 70% of the profile database's time under
ingestion and ~1.4 kB of WAL per event (bench.ingestion with pg_stat_statements). Here a move
rewrites a row of three columns and its two index entries; the customers row stays as it is
unless the customer itself changes.

An expand step (docs/operations.md, "Expand, then contract"): replicas of the release before
run beside this one during a rollout, reading and writing customers.last_contact_at. So the
column and its index stay, this release still sets the column when it creates a customer, and a
trigger carries every last contact the older release writes over to customer_activity. Once no
replica of that release runs, a later release drops the trigger and the index and stops
writing the column; the one after it drops the column.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE customer_activity (
            customer_id     uuid        PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
            workspace       text        NOT NULL,
            last_contact_at timestamptz NOT NULL
        )
        """
    )
    op.execute(
        "INSERT INTO customer_activity (customer_id, workspace, last_contact_at) "
        "SELECT id, workspace, last_contact_at FROM customers"
    )
    op.execute(
        "CREATE INDEX customer_activity_by_last_contact "
        "ON customer_activity (workspace, last_contact_at DESC, customer_id DESC)"
    )
    op.execute(
        """
        CREATE FUNCTION customer_activity_from_customers() RETURNS trigger AS $$
        BEGIN
            INSERT INTO customer_activity AS a (customer_id, workspace, last_contact_at)
            VALUES (NEW.id, NEW.workspace, NEW.last_contact_at)
            ON CONFLICT (customer_id) DO UPDATE SET last_contact_at = EXCLUDED.last_contact_at
            WHERE a.last_contact_at < EXCLUDED.last_contact_at;
            RETURN NULL;
        END $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        "CREATE TRIGGER customers_last_contact AFTER INSERT OR UPDATE OF last_contact_at ON customers "
        "FOR EACH ROW EXECUTE FUNCTION customer_activity_from_customers()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER customers_last_contact ON customers")
    op.execute("DROP FUNCTION customer_activity_from_customers()")
    # The release before reads customers.last_contact_at, which this one set only on creation.
    op.execute(
        "UPDATE customers c SET last_contact_at = a.last_contact_at FROM customer_activity a "
        "WHERE a.customer_id = c.id AND a.last_contact_at > c.last_contact_at"
    )
    op.execute("DROP TABLE customer_activity")
