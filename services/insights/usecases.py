"""Use cases of insights: analyse a closed conversation, store it and the AI profile it changes."""

from datetime import datetime

import asyncpg

from services.insights import repository
from services.insights.analysers import Analyser, AnalysisRequest
from services.insights.repository import AnalysisRecord
from services.insights.service import average_sentiment, merge_profile, transcript_digest
from shared import metrics
from shared.db import Connection
from shared.logging import get_logger
from shared.messages.insights import (
    CONVERSATION_ANALYSED,
    CUSTOMER_INSIGHTS_UPDATED,
    ConversationAnalysed,
    CustomerInsights,
    CustomerInsightsUpdated,
    GetInsights,
)
from shared.messages.timeline import Transcript
from shared.outbox import enqueue

log = get_logger(__name__)


async def analyse(
    pool: asyncpg.Pool,
    analyser: Analyser,
    transcript: Transcript,
    *,
    workspace: str,
    source_event_id: str,
    analysed_at: datetime,
    closed_at: datetime | None,
    again: bool,
) -> AnalysisRecord | None:
    """Analyse a conversation's transcript, outside any transaction (it may wait on an LLM).

    None for a close whose transcript is the one its stored analysis read: nothing new. `again`
    (an operator's reanalysis) analyses even then.
    """
    digest = transcript_digest(transcript)
    conversation_id, customer_id = transcript.conversation_id, transcript.customer_id
    if not again and digest == await repository.analysed_transcript(pool, workspace, conversation_id):
        return None
    existing = await repository.stored_profile(pool, workspace, customer_id)
    analysis = await analyser.analyse(
        AnalysisRequest(
            conversation_id=conversation_id,
            customer_id=customer_id,
            platform=transcript.platform,
            messages=transcript.messages,
            truncated=transcript.truncated,
            existing_profile=existing.facts() if existing is not None else None,
        )
    )
    log.info(
        "conversation_analysed",
        conversation_id=conversation_id,
        analyser=analysis.analyser,
        model=analysis.model,
        degraded=analysis.degraded,
        prompt_tokens=analysis.prompt_tokens,
        completion_tokens=analysis.completion_tokens,
        latency_ms=round(analysis.latency_ms, 1),
        attempts=analysis.attempts,
    )
    metrics.analysed(analysis.analyser, analysis.latency_ms / 1000, degraded=analysis.degraded)
    return AnalysisRecord(
        workspace=workspace,
        conversation_id=conversation_id,
        customer_id=customer_id,
        platform=transcript.platform,
        analysis=analysis,
        source_event_id=source_event_id,
        analysed_at=analysed_at,
        closed_at=closed_at,
        transcript_truncated=transcript.truncated,
        transcript_digest=digest,
    )


async def store(conn: Connection, record: AnalysisRecord) -> None:
    """In the inbox transaction: store the analysis, merge the AI profile, announce both."""
    workspace, customer_id = record.workspace, record.customer_id
    customer = await repository.lock_customer(conn, workspace, customer_id)
    happened_at = await repository.store_analysis(conn, record)
    if happened_at is None:
        log.info("analysis_superseded", conversation_id=record.conversation_id)
        return
    profile = merge_profile(customer.profile, record.conversation_id, record.analysis.profile, happened_at)
    sentiment = average_sentiment(await repository.sentiment_scores(conn, workspace, customer_id))
    await repository.save_customer(conn, workspace, customer_id, profile, record.analysed_at, sentiment)
    analysis = record.analysis
    # Event ids derive from the event analysed: one announcement per analysis, however retried.
    await enqueue(
        conn,
        CONVERSATION_ANALYSED,
        workspace,
        ConversationAnalysed(
            conversation_id=record.conversation_id,
            customer_id=customer_id,
            summary=analysis.summary,
            sentiment=analysis.sentiment,
            sentiment_score=analysis.sentiment_score,
            topics=list(analysis.topics),
            analysed_at=record.analysed_at,
            analyser=analysis.analyser,
            degraded=analysis.degraded,
        ),
        event_id=f"{record.source_event_id}:analysed",
    )
    await enqueue(
        conn,
        CUSTOMER_INSIGHTS_UPDATED,
        workspace,
        CustomerInsightsUpdated(
            customer_id=customer_id,
            conversation_id=record.conversation_id,
            insights=CustomerInsights(ai_profile=profile.public(record.analysed_at), sentiment=sentiment),
        ),
        event_id=f"{record.source_event_id}:customer",
    )


async def customer_insights(conn: Connection, request: GetInsights) -> CustomerInsights:
    """The AI profile and average sentiment of a customer (empty, never NotFound)."""
    return await repository.customer_insights(conn, request.workspace, request.customer_id)
