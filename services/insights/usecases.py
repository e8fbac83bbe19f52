"""Use cases of insights: analyse a closed conversation, store it and the AI profile it changes."""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime

import asyncpg

from services.insights import repository
from services.insights.analysers import Analyser, AnalysisRequest
from services.insights.repository import AnalysisRecord
from services.insights.service import average_sentiment, merge_profile, rebuild_profile, transcript_digest
from shared import identity, metrics
from shared.db import Connection
from shared.identity import Resolved
from shared.logging import get_logger
from shared.messages.insights import (
    CONVERSATION_ANALYSED,
    CUSTOMER_ERASED,
    CUSTOMER_INSIGHTS_UPDATED,
    CUSTOMER_MERGED,
    ConversationAnalysed,
    CustomerInsights,
    CustomerInsightsUpdated,
    GetInsights,
)
from shared.messages.profile import CustomerMerged, ErasureRequested
from shared.messages.timeline import Transcript
from shared.outbox import enqueue

log = get_logger(__name__)

# What the profile service says of a customer id: None while it has that customer, where it went
# if it was merged (Resolved), or Resolved(erased=True) if it has none.
ProfileFate = Callable[[str, str], Awaitable[Resolved | None]]


class ForeignTranscript(Exception):
    """The timeline says a conversation is another customer's than its event did, for no reason
    a merge or an erasure explains: analysing it would put one customer's words in another's
    profile."""


async def _resolved(conn: Connection, workspace: str, customer_id: str) -> str | None:
    """Whom a customer id's insights belong to now (itself, its merge target), None if erased."""
    try:
        key = uuid.UUID(customer_id)
    except ValueError:
        # Not an id the profile service hands out, so never merged or erased.
        return customer_id
    live = (await identity.resolve_one(conn, workspace, key)).live_id
    return None if live is None else str(live)


async def erased(pool: asyncpg.Pool, workspace: str, customer_id: str, profile_fate: ProfileFate) -> bool:
    """Whether a customer was erased: as this service knows, else as the profile service says."""
    async with pool.acquire() as conn:
        if await _resolved(conn, workspace, customer_id) is None:
            return True
    fate = await profile_fate(workspace, customer_id)
    return fate is not None and fate.erased


async def owner(
    pool: asyncpg.Pool, workspace: str, announced: str, transcript: Transcript, profile_fate: ProfileFate
) -> str | None:
    """The customer to analyse a conversation under: the one the timeline says it belongs to, as
    merges known here resolve it; None to drop it (that customer, or the one the event named,
    was erased: the timeline announces it again under the customer it belongs to now).

    The event may name the customer before a merge the timeline has applied and this service
    not yet: the profile service says where that customer went. ForeignTranscript otherwise.
    """
    async with pool.acquire() as conn:
        current = await _resolved(conn, workspace, transcript.customer_id)
        named = await _resolved(conn, workspace, announced)
    if current is None or named is None:
        return None
    if current == named:
        return current
    fate = await profile_fate(workspace, announced)
    if fate is not None and fate.erased:
        return None
    if fate is not None and str(fate.customer_id) == current:
        return current
    raise ForeignTranscript(
        f"transcript of {transcript.conversation_id} belongs to another customer than the event says"
    )


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
    if not again and digest == await repository.analysed_transcript(
        pool, workspace, conversation_id, customer_id
    ):
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
    """In the inbox transaction: store the analysis, merge the AI profile, announce both.

    Under the customer the analysis was made for as it is now: a merge that happened meanwhile
    sends it to the target, an erasure drops it.
    """
    await identity.lock_workspaces(conn, [record.workspace])
    resolved = await _resolved(conn, record.workspace, record.customer_id)
    if resolved is None:
        log.info("analysis_of_erased_customer_dropped", conversation_id=record.conversation_id)
        return
    record = replace(record, customer_id=resolved)
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


async def _recompute(conn: Connection, workspace: str, customer_id: str) -> None:
    """A customer's AI profile and average sentiment anew from all its analyses."""
    analyses = await repository.analyses_of(conn, workspace, customer_id)
    if analyses.updated_at is None:
        return
    await repository.lock_customer(conn, workspace, customer_id)
    await repository.save_customer(
        conn,
        workspace,
        customer_id,
        rebuild_profile(analyses.facts),
        analyses.updated_at,
        average_sentiment(analyses.scores),
    )


async def _move_analyses(conn: Connection, workspace: str, merged: CustomerMerged, target: uuid.UUID) -> None:
    """The source's analyses go to the target, whose AI profile and average sentiment are computed
    anew over both customers' conversations (CONTRACT.md §7)."""
    source = uuid.UUID(merged.source_id)
    await identity.move_rows(conn, workspace, ("conversation_analyses",), source, target)
    await repository.delete_customers(conn, workspace, [source])
    await _recompute(conn, workspace, str(target))


async def _delete_analyses(
    conn: Connection, workspace: str, customer_ids: Sequence[uuid.UUID], _erasure: ErasureRequested | None
) -> None:
    await repository.delete_customers(conn, workspace, customer_ids)


# Merges move a customer's analyses and recompute the target's insights; erasures delete them all
# (summaries, topics, facts, AI profiles).
CUSTOMER_DATA = identity.CustomerData(CUSTOMER_MERGED, CUSTOMER_ERASED, _move_analyses, _delete_analyses)
