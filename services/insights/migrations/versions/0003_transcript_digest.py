"""Remember which transcript each analysis read, so an unchanged one is not analysed again.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE conversation_analyses ADD COLUMN transcript_digest text")


def downgrade() -> None:
    op.execute("ALTER TABLE conversation_analyses DROP COLUMN transcript_digest")
