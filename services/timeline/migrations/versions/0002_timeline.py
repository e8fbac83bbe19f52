"""Conversations, their messages and escalations.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # started_at: conversation.started's time once known, else the earliest event seen, so
    # events arriving in any order converge. Closing fields come from the latest close event.
    op.execute(
        """
        CREATE TABLE conversations (
            workspace        text        NOT NULL,
            conversation_id  text        NOT NULL,
            customer_id      uuid        NOT NULL,
            platform         text        NOT NULL,
            platform_user_id text        NOT NULL,
            first_seen_at    timestamptz NOT NULL,
            announced_at     timestamptz,
            started_at       timestamptz NOT NULL
                             GENERATED ALWAYS AS (COALESCE(announced_at, first_seen_at)) STORED,
            ended_at         timestamptz,
            resolved_type    text,
            resolved_name    text,
            close_event_id   text,
            summary          text,
            sentiment        text,
            sentiment_score  double precision,
            topics           text[]      NOT NULL DEFAULT '{}',
            analysed_at      timestamptz,
            PRIMARY KEY (workspace, conversation_id)
        ) WITH (fillfactor = 80)
        """
    )
    op.execute(
        "CREATE INDEX conversations_of_customer "
        "ON conversations (workspace, customer_id, started_at DESC, conversation_id DESC)"
    )
    op.execute(
        """
        CREATE TABLE messages (
            workspace       text        NOT NULL,
            conversation_id text        NOT NULL,
            message_id      text        NOT NULL,
            sender          text        NOT NULL,
            sender_name     text,
            text            text        NOT NULL,
            text_chars      integer     NOT NULL,
            text_truncated  boolean     NOT NULL,
            sent_at         timestamptz NOT NULL,
            PRIMARY KEY (workspace, conversation_id, message_id)
        )
        """
    )
    # The transcript reads a conversation newest first, summing lengths without touching texts.
    op.execute(
        "CREATE INDEX messages_newest_first "
        "ON messages (workspace, conversation_id, sent_at DESC, message_id DESC) INCLUDE (text_chars)"
    )
    # escalated_at and reason stay null while only escalation.handled has arrived: such a row
    # is kept (its handler survives) but not listed or counted until conversation.escalated.
    op.execute(
        """
        CREATE TABLE escalations (
            workspace          text        NOT NULL,
            escalation_id      text        NOT NULL,
            conversation_id    text        NOT NULL,
            customer_id        uuid        NOT NULL,
            platform           text        NOT NULL,
            escalated_at       timestamptz,
            reason             text,
            escalated_event_id text,
            handled_by         text,
            handled_at         timestamptz,
            handled_event_id   text,
            PRIMARY KEY (workspace, escalation_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX escalations_of_customer "
        "ON escalations (workspace, customer_id, escalated_at DESC, escalation_id DESC) "
        "WHERE escalated_at IS NOT NULL"
    )
