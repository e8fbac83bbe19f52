"""NATS side of insights: analyse closed conversations, answer the customer's insights."""

from typing import Any

import asyncpg
from nats.aio.client import Client as NATS
from pydantic import BaseModel, ConfigDict, ValidationError

from services.insights import repository
from services.insights.analysers import Analyser, AnalysisRequest
from services.insights.config import Settings
from services.insights.repository import AnalysisRecord
from services.insights.service import average_sentiment, merge_profile, transcript_digest
from shared.consumer import DeadLetterError, Delivery
from shared.db import Connection
from shared.events import Id, InternalEvent, utcnow
from shared.logging import get_logger
from shared.messages import timeline
from shared.messages.insights import (
    CONVERSATION_ANALYSED,
    CUSTOMER_INSIGHTS_UPDATED,
    REANALYSIS_REQUESTED,
    SERVICE,
    ConversationAnalysed,
    CustomerInsights,
    CustomerInsightsUpdated,
    ReanalysisRequested,
)
from shared.outbox import enqueue
from shared.rpc import RpcError, request
from shared.subjects import rpc_subject

log = get_logger(__name__)


class CustomerInsightsQuery(BaseModel):
    """Request of OP_CUSTOMER_GET."""

    model_config = ConfigDict(extra="ignore")

    workspace: Id
    customer_id: Id


class InsightsHandlers:
    """The consumer steps and RPC handlers, sharing one analyser."""

    def __init__(self, pool: asyncpg.Pool, nc: NATS, analyser: Analyser, settings: Settings) -> None:
        self.pool = pool
        self.nc = nc
        self.analyser = analyser
        self.settings = settings

    async def prepare(self, delivery: Delivery) -> AnalysisRecord | None:
        """Outside the transaction (the message kept alive): fetch the transcript and analyse it.

        None for a close whose transcript is the one its stored analysis read: nothing new.
        """
        event: InternalEvent = delivery.event
        # Stamped before the transcript is read: of two analyses of one conversation, the one
        # that read the later transcript is the newer, whichever finishes first.
        analysed_at = utcnow()
        try:
            if event.type == timeline.CONVERSATION_CLOSED:
                closed = timeline.ConversationClosed.model_validate(event.data)
                conversation_id, customer_id = closed.conversation_id, closed.customer_id
                platform, closed_at = closed.platform, closed.closed_at
            elif event.type == REANALYSIS_REQUESTED:
                wanted = ReanalysisRequested.model_validate(event.data)
                conversation_id, customer_id = wanted.conversation_id, wanted.customer_id
                platform, closed_at = wanted.platform, None
            else:
                raise DeadLetterError(f"insights does not analyse {event.type!r} events")
        except ValidationError as exc:
            raise DeadLetterError(f"invalid {event.type} event: {exc}") from exc
        transcript = await self.transcript(delivery.workspace, conversation_id)
        if transcript.customer_id != customer_id:
            # Analysing it under this customer would put someone else's words in their profile.
            raise DeadLetterError(
                f"transcript of {conversation_id} belongs to another customer than the event says"
            )
        digest = transcript_digest(transcript)
        if event.type == timeline.CONVERSATION_CLOSED and digest == await repository.analysed_transcript(
            self.pool, delivery.workspace, conversation_id
        ):
            return None
        existing = await repository.stored_profile(self.pool, delivery.workspace, customer_id)
        analysis = await self.analyser.analyse(
            AnalysisRequest(
                conversation_id=conversation_id,
                customer_id=customer_id,
                platform=platform,
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
        return AnalysisRecord(
            workspace=delivery.workspace,
            conversation_id=conversation_id,
            customer_id=customer_id,
            platform=platform,
            analysis=analysis,
            source_event_id=delivery.event_id,
            analysed_at=analysed_at,
            closed_at=closed_at,
            transcript_truncated=transcript.truncated,
            transcript_digest=digest,
        )

    async def transcript(self, workspace: str, conversation_id: str) -> timeline.Transcript:
        """The conversation's most recent part from the timeline service."""
        try:
            result = await request(
                self.nc,
                rpc_subject(timeline.SERVICE, timeline.OP_TRANSCRIPT),
                {
                    "workspace": workspace,
                    "conversation_id": conversation_id,
                    "max_chars": self.settings.transcript_max_chars,
                },
                timeout=self.settings.transcript_timeout_seconds,
            )
        except RpcError as exc:
            if exc.code == "not_found":
                raise DeadLetterError(f"timeline has no conversation {conversation_id}") from exc
            raise
        return timeline.Transcript.model_validate(result)

    async def handle(self, conn: Connection, delivery: Delivery) -> None:
        """In the inbox transaction: store the analysis, merge the AI profile, announce both."""
        record: AnalysisRecord | None = delivery.prepared
        if record is None:
            log.info("transcript_unchanged", event_id=delivery.event_id)
            return
        workspace, customer_id = record.workspace, record.customer_id
        customer = await repository.lock_customer(conn, workspace, customer_id)
        if not await repository.store_analysis(conn, record):
            log.info("analysis_superseded", conversation_id=record.conversation_id)
            return
        profile = merge_profile(customer.profile, record.conversation_id, record.analysis.profile)
        sentiment = average_sentiment(await repository.sentiment_scores(conn, workspace, customer_id))
        await repository.save_customer(conn, workspace, customer_id, profile, record.analysed_at, sentiment)
        analysis = record.analysis
        analysed = ConversationAnalysed(
            conversation_id=record.conversation_id,
            customer_id=customer_id,
            summary=analysis.summary,
            sentiment=analysis.sentiment,
            sentiment_score=analysis.sentiment_score,
            topics=list(analysis.topics),
            analysed_at=record.analysed_at,
            analyser=analysis.analyser,
            degraded=analysis.degraded,
        )
        updated = CustomerInsightsUpdated(
            customer_id=customer_id,
            conversation_id=record.conversation_id,
            insights=CustomerInsights(ai_profile=profile.public(record.analysed_at), sentiment=sentiment),
        )
        # Event ids derive from the event analysed: one announcement per analysis, however retried.
        await enqueue(
            conn,
            service=SERVICE,
            workspace=workspace,
            event_type=CONVERSATION_ANALYSED,
            data=analysed.model_dump(mode="json"),
            event_id=f"{delivery.event_id}:analysed",
        )
        await enqueue(
            conn,
            service=SERVICE,
            workspace=workspace,
            event_type=CUSTOMER_INSIGHTS_UPDATED,
            data=updated.model_dump(mode="json"),
            event_id=f"{delivery.event_id}:customer",
        )

    async def customer_get(self, payload: dict[str, Any], _subject: str) -> CustomerInsights:
        """OP_CUSTOMER_GET: the AI profile and average sentiment (empty, never not_found)."""
        query = CustomerInsightsQuery.model_validate(payload)
        return await repository.customer_insights(self.pool, query.workspace, query.customer_id)
