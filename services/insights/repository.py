"""SQL of the insights service: conversation analyses and per-customer insights."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.insights.analysers.base import Analysis
from services.insights.service import PROFILE_SECTIONS, ProfileFacts, StoredProfile
from shared.db import Connection
from shared.identity import delete_rows
from shared.messages.insights import AverageSentiment, CustomerInsights

Executor = Connection | asyncpg.Pool


@dataclass(frozen=True)
class AnalysisRecord:
    """One conversation's analysis, ready to store."""

    workspace: str
    conversation_id: str
    customer_id: str
    platform: str
    analysis: Analysis
    source_event_id: str
    analysed_at: datetime
    closed_at: datetime | None = None
    transcript_truncated: bool = False
    transcript_digest: str | None = None


@dataclass(frozen=True)
class CustomerRow:
    """A customer's stored insights."""

    profile: StoredProfile | None
    profile_updated_at: datetime | None
    sentiment: AverageSentiment


@dataclass(frozen=True)
class AnalysedConversation:
    """A conversation insights has analysed (what the reanalyse command selects)."""

    conversation_id: str
    customer_id: str
    platform: str
    analysed_at: datetime
    degraded: bool


async def stored_profile(db: Executor, workspace: str, customer_id: str) -> StoredProfile | None:
    """The customer's AI profile as stored, None before any analysis."""
    raw = await db.fetchval(
        "SELECT ai_profile FROM customer_insights WHERE workspace = $1 AND customer_id = $2",
        workspace,
        customer_id,
    )
    return None if raw is None else StoredProfile.from_json(raw)


async def lock_customer(conn: Connection, workspace: str, customer_id: str) -> CustomerRow:
    """The customer's row, created if new, locked until the transaction ends.

    Analyses of one customer's conversations serialise here, so each merge starts from the
    profile the previous one left, whichever replica ran it.
    """
    await conn.execute(
        "INSERT INTO customer_insights (workspace, customer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        workspace,
        customer_id,
    )
    row = await conn.fetchrow(
        "SELECT ai_profile, ai_profile_updated_at, sentiment_average, sentiment_label, "
        "sentiment_conversations FROM customer_insights "
        "WHERE workspace = $1 AND customer_id = $2 FOR UPDATE",
        workspace,
        customer_id,
    )
    assert row is not None
    return _customer_row(row)


def _customer_row(row: asyncpg.Record) -> CustomerRow:
    return CustomerRow(
        profile=None if row["ai_profile"] is None else StoredProfile.from_json(row["ai_profile"]),
        profile_updated_at=row["ai_profile_updated_at"],
        sentiment=AverageSentiment(
            average=row["sentiment_average"],
            label=row["sentiment_label"],
            conversations=row["sentiment_conversations"],
        ),
    )


async def store_analysis(conn: Connection, record: AnalysisRecord) -> datetime | None:
    """Insert or replace the conversation's analysis; when the conversation happened (its close,
    else its first analysis), or None if a newer analysis is already stored."""
    analysis = record.analysis
    facts = {name: list(analysis.profile.section(name)) for name in PROFILE_SECTIONS}
    happened: datetime | None = await conn.fetchval(
        """
        INSERT INTO conversation_analyses (
            workspace, conversation_id, customer_id, platform, summary, sentiment, sentiment_score,
            language, topics, profile_facts, analyser, model, degraded, prompt_tokens,
            completion_tokens, latency_ms, attempts, transcript_truncated, source_event_id,
            closed_at, analysed_at, transcript_digest
        ) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                  $19, $20, $21, $22)
        ON CONFLICT (workspace, conversation_id) DO UPDATE SET
            customer_id = EXCLUDED.customer_id, platform = EXCLUDED.platform,
            summary = EXCLUDED.summary, sentiment = EXCLUDED.sentiment,
            sentiment_score = EXCLUDED.sentiment_score, language = EXCLUDED.language,
            topics = EXCLUDED.topics, profile_facts = EXCLUDED.profile_facts,
            analyser = EXCLUDED.analyser, model = EXCLUDED.model, degraded = EXCLUDED.degraded,
            prompt_tokens = EXCLUDED.prompt_tokens, completion_tokens = EXCLUDED.completion_tokens,
            latency_ms = EXCLUDED.latency_ms, attempts = EXCLUDED.attempts,
            transcript_truncated = EXCLUDED.transcript_truncated,
            source_event_id = EXCLUDED.source_event_id,
            closed_at = COALESCE(EXCLUDED.closed_at, conversation_analyses.closed_at),
            analysed_at = EXCLUDED.analysed_at, transcript_digest = EXCLUDED.transcript_digest
        WHERE conversation_analyses.analysed_at <= EXCLUDED.analysed_at
        RETURNING COALESCE(conversation_analyses.closed_at, conversation_analyses.analysed_at)
        """,
        record.workspace,
        record.conversation_id,
        record.customer_id,
        record.platform,
        analysis.summary,
        analysis.sentiment,
        analysis.sentiment_score,
        analysis.language,
        list(analysis.topics),
        facts,
        analysis.analyser,
        analysis.model,
        analysis.degraded,
        analysis.prompt_tokens,
        analysis.completion_tokens,
        analysis.latency_ms,
        analysis.attempts,
        record.transcript_truncated,
        record.source_event_id,
        record.closed_at,
        record.analysed_at,
        record.transcript_digest,
    )
    return happened


async def analysed_transcript(
    db: Executor, workspace: str, conversation_id: str, customer_id: str
) -> str | None:
    """The digest of the transcript the conversation's stored analysis read for this customer, if
    it was not degraded (an analysis stored under another customer is not this customer's)."""
    digest: str | None = await db.fetchval(
        "SELECT transcript_digest FROM conversation_analyses "
        "WHERE workspace = $1 AND conversation_id = $2 AND customer_id = $3 AND NOT degraded",
        workspace,
        conversation_id,
        customer_id,
    )
    return digest


async def sentiment_scores(conn: Connection, workspace: str, customer_id: str) -> list[float | None]:
    """The sentiment score of each analysed conversation of the customer (null where unjudged)."""
    rows = await conn.fetch(
        "SELECT sentiment_score FROM conversation_analyses WHERE workspace = $1 AND customer_id = $2",
        workspace,
        customer_id,
    )
    return [row["sentiment_score"] for row in rows]


async def save_customer(
    conn: Connection,
    workspace: str,
    customer_id: str,
    profile: StoredProfile,
    profile_updated_at: datetime,
    sentiment: AverageSentiment,
) -> None:
    """Write the customer's AI profile and average sentiment."""
    await conn.execute(
        """
        UPDATE customer_insights SET ai_profile = $3, ai_profile_updated_at = $4,
            sentiment_average = $5, sentiment_label = $6, sentiment_conversations = $7,
            updated_at = now()
        WHERE workspace = $1 AND customer_id = $2
        """,
        workspace,
        customer_id,
        profile.to_json(),
        profile_updated_at,
        sentiment.average,
        sentiment.label,
        sentiment.conversations,
    )


async def customer_insights(db: Executor, workspace: str, customer_id: str) -> CustomerInsights:
    """What the profile view shows; an unknown customer has no AI profile and no sentiment."""
    row = await db.fetchrow(
        "SELECT ai_profile, ai_profile_updated_at, sentiment_average, sentiment_label, "
        "sentiment_conversations FROM customer_insights WHERE workspace = $1 AND customer_id = $2",
        workspace,
        customer_id,
    )
    if row is None:
        return CustomerInsights(
            ai_profile=None, sentiment=AverageSentiment(average=None, label=None, conversations=0)
        )
    customer = _customer_row(row)
    ai_profile = (
        customer.profile.public(customer.profile_updated_at)
        if customer.profile is not None and customer.profile_updated_at is not None
        else None
    )
    return CustomerInsights(ai_profile=ai_profile, sentiment=customer.sentiment)


async def analysed_conversations(
    db: Executor, workspace: str, *, customer_id: str | None = None, degraded_only: bool = False
) -> list[AnalysedConversation]:
    """Conversations of a workspace (or one customer) insights has analysed, oldest close first."""
    rows = await db.fetch(
        """
        SELECT conversation_id, customer_id, platform, analysed_at, degraded
        FROM conversation_analyses
        WHERE workspace = $1 AND ($2::text IS NULL OR customer_id = $2) AND (NOT $3 OR degraded)
        ORDER BY closed_at NULLS FIRST, conversation_id
        """,
        workspace,
        customer_id,
        degraded_only,
    )
    return [
        AnalysedConversation(
            conversation_id=row["conversation_id"],
            customer_id=row["customer_id"],
            platform=row["platform"],
            analysed_at=row["analysed_at"],
            degraded=row["degraded"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class CustomerAnalyses:
    """What a customer's insights are computed from: each analysed conversation's facts and score."""

    facts: list[tuple[str, ProfileFacts, datetime]]
    scores: list[float | None]
    updated_at: datetime | None


async def analyses_of(conn: Connection, workspace: str, customer_id: str) -> CustomerAnalyses:
    """The analyses of a customer's conversations, each with when the conversation happened."""
    rows = await conn.fetch(
        "SELECT conversation_id, profile_facts, sentiment_score, analysed_at, "
        "COALESCE(closed_at, analysed_at) AS happened_at "
        "FROM conversation_analyses WHERE workspace = $1 AND customer_id = $2",
        workspace,
        customer_id,
    )
    return CustomerAnalyses(
        facts=[
            (
                row["conversation_id"],
                ProfileFacts(
                    **{name: tuple(row["profile_facts"].get(name, ())) for name in PROFILE_SECTIONS}
                ),
                row["happened_at"],
            )
            for row in rows
        ],
        scores=[row["sentiment_score"] for row in rows],
        updated_at=max((row["analysed_at"] for row in rows), default=None),
    )


async def delete_customers(conn: Connection, workspace: str, customer_ids: Sequence[uuid.UUID]) -> None:
    """Delete these customers' analyses and insights."""
    await delete_rows(conn, workspace, ("conversation_analyses", "customer_insights"), customer_ids)
