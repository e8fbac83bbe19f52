"""Conversation analyses and customer insights.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per conversation: a re-analysis replaces it, so the average never counts one twice.
    op.execute(
        """
        CREATE TABLE conversation_analyses (
            workspace         text             NOT NULL,
            conversation_id   text             NOT NULL,
            customer_id       text             NOT NULL,
            platform          text             NOT NULL,
            summary           text,
            sentiment         text             CHECK (sentiment IN ('positive', 'neutral', 'negative')),
            sentiment_score   double precision CHECK (sentiment_score BETWEEN -1 AND 1),
            language          text,
            topics            jsonb            NOT NULL DEFAULT '[]'::jsonb,
            profile_facts     jsonb            NOT NULL DEFAULT '{}'::jsonb,
            analyser          text             NOT NULL,
            model             text,
            degraded          boolean          NOT NULL DEFAULT false,
            prompt_tokens     integer,
            completion_tokens integer,
            latency_ms        double precision NOT NULL,
            attempts          integer          NOT NULL DEFAULT 1,
            transcript_truncated boolean       NOT NULL DEFAULT false,
            source_event_id   text             NOT NULL,
            closed_at         timestamptz,
            analysed_at       timestamptz      NOT NULL,
            PRIMARY KEY (workspace, conversation_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX conversation_analyses_customer ON conversation_analyses (workspace, customer_id)"
    )
    op.execute(
        "CREATE INDEX conversation_analyses_degraded ON conversation_analyses (workspace) WHERE degraded"
    )
    op.execute(
        """
        CREATE TABLE customer_insights (
            workspace               text             NOT NULL,
            customer_id             text             NOT NULL,
            ai_profile              jsonb,
            ai_profile_updated_at   timestamptz,
            sentiment_average       double precision,
            sentiment_label         text,
            sentiment_conversations integer          NOT NULL DEFAULT 0,
            updated_at              timestamptz      NOT NULL DEFAULT now(),
            PRIMARY KEY (workspace, customer_id)
        )
        """
    )
