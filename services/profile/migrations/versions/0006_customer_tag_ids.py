"""Tag ids on the customer row as an array with a GIN index, for the grid's tag filter.

The grid filtered by tag with `c.id IN (SELECT customer_id FROM customer_tags WHERE tag_id = …)`:
for a tag of about 1% of a workspace the planner walked the newest-first index and probed
customer_tags for each customer it passed (p99 25 ms on 100k customers). `customers.tag_ids`
holds the same ids, sorted; `tag_ids <> '{}' AND tag_ids @> ARRAY[tag]` is answered by the (partial) GIN
index or checked on the row itself while an order's index is walked.

`customer_tags` stays the table every write goes to (and its foreign keys still cascade from
deleted tags and customers). Triggers on it rewrite the array of every customer a statement
touched, inside that statement, so the two agree in every transaction whichever code path
(edit, bulk tagging, merge, tag deletion) wrote the links. Every such path locks the customer
row before touching its links, so the array is recomputed after any concurrent writer committed.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SYNC = """
CREATE FUNCTION customer_tag_ids_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE customers c SET tag_ids = ARRAY(
        SELECT ct.tag_id FROM customer_tags ct WHERE ct.customer_id = c.id ORDER BY ct.tag_id
    )
    WHERE c.id IN (SELECT customer_id FROM changed);
    RETURN NULL;
END
$$
"""

_SYNC_BOTH = """
CREATE FUNCTION customer_tag_ids_sync_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE customers c SET tag_ids = ARRAY(
        SELECT ct.tag_id FROM customer_tags ct WHERE ct.customer_id = c.id ORDER BY ct.tag_id
    )
    WHERE c.id IN (SELECT customer_id FROM changed UNION SELECT customer_id FROM changed_before);
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute("ALTER TABLE customers ADD COLUMN tag_ids uuid[] NOT NULL DEFAULT '{}'")
    op.execute(
        "UPDATE customers c SET tag_ids = t.ids FROM (SELECT customer_id, array_agg(tag_id ORDER BY tag_id) "
        "AS ids FROM customer_tags GROUP BY customer_id) t WHERE t.customer_id = c.id"
    )
    # Partial: GIN indexes an empty array too, and every connector event rewrites its customer's
    # row (last contact, not a HOT update since 0004) — untagged customers, nearly all of those
    # ingestion touches, then cost no GIN insertion.
    op.execute("CREATE INDEX customers_by_tag ON customers USING gin (tag_ids) WHERE tag_ids <> '{}'")
    op.execute(_SYNC)
    op.execute(_SYNC_BOTH)
    op.execute(
        "CREATE TRIGGER customer_tags_inserted AFTER INSERT ON customer_tags "
        "REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION customer_tag_ids_sync()"
    )
    op.execute(
        "CREATE TRIGGER customer_tags_deleted AFTER DELETE ON customer_tags "
        "REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION customer_tag_ids_sync()"
    )
    op.execute(
        "CREATE TRIGGER customer_tags_updated AFTER UPDATE ON customer_tags "
        "REFERENCING NEW TABLE AS changed OLD TABLE AS changed_before "
        "FOR EACH STATEMENT EXECUTE FUNCTION customer_tag_ids_sync_update()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER customer_tags_updated ON customer_tags")
    op.execute("DROP TRIGGER customer_tags_deleted ON customer_tags")
    op.execute("DROP TRIGGER customer_tags_inserted ON customer_tags")
    op.execute("DROP FUNCTION customer_tag_ids_sync_update()")
    op.execute("DROP FUNCTION customer_tag_ids_sync()")
    op.execute("DROP INDEX customers_by_tag")
    op.execute("ALTER TABLE customers DROP COLUMN tag_ids")
