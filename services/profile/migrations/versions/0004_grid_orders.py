"""Orders of the customer grid: by name and by last contact, each with the index it walks.

Names sort by a key kept beside them (services.profile.service.name_key: case-folded, without
accents), in byte order, so that every server orders them alike whatever its locale. Existing
rows get their key here.

The last-contact index has a cost: every connector event moves a customer's last contact, which
0003 kept a HOT update (no index covered the column). With this index each such update also
writes an index entry; that is what sorting by last contact without a full sort costs.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
from sqlalchemy import text

from services.profile.service import name_key

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    op.execute('ALTER TABLE customers ADD COLUMN name_key text COLLATE "C"')
    conn = op.get_bind()
    after = "00000000-0000-0000-0000-000000000000"
    while True:
        rows = conn.execute(
            text("SELECT id, name FROM customers WHERE id > CAST(:after AS uuid) ORDER BY id LIMIT :batch"),
            {"after": after, "batch": _BATCH},
        ).all()
        if not rows:
            break
        conn.execute(
            text("UPDATE customers SET name_key = :key WHERE id = :id"),
            [{"id": row.id, "key": name_key(row.name)} for row in rows],
        )
        after = str(rows[-1].id)
    op.execute("ALTER TABLE customers ALTER COLUMN name_key SET NOT NULL")
    op.execute("CREATE INDEX customers_by_name ON customers (workspace, name_key, id)")
    op.execute(
        "CREATE INDEX customers_by_last_contact ON customers (workspace, last_contact_at DESC, id DESC)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX customers_by_last_contact")
    op.execute("DROP INDEX customers_by_name")
    op.execute("ALTER TABLE customers DROP COLUMN name_key")
