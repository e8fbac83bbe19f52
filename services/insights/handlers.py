"""NATS side of insights: analyse closed conversations, answer the customer's insights."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import asyncpg
from pydantic import BaseModel

from services.insights import usecases
from services.insights.analysers import Analyser, build_analyser
from services.insights.config import Settings
from services.insights.repository import AnalysisRecord
from shared.consumer import DeadLetterError, Delivery, Subscribing, Tuning, event_consumer
from shared.db import Connection
from shared.errors import NotFound
from shared.events import Event, utcnow
from shared.identity import Resolved
from shared.logging import get_logger
from shared.messages import insights, profile, timeline
from shared.rpc import call
from shared.runtime import Deps, Route, reading

log = get_logger(__name__)

D = TypeVar("D", bound=BaseModel)

CLOSED_CONSUMER = "insights-conversation-closed"
REANALYSIS_CONSUMER = "insights-reanalysis"


@dataclass(frozen=True)
class Context:
    """What insights' handlers work with: the replica's dependencies and its analyser."""

    deps: Deps[Settings]
    analyser: Analyser

    @property
    def pool(self) -> asyncpg.Pool:
        """The service's database."""
        return self.deps.pool


def context(deps: Deps[Settings]) -> Context:
    """The analyser the settings choose (an LLM with the embedded one standing in, or embedded)."""
    return Context(deps, build_analyser(deps.settings))


async def _transcript(
    ctx: Context, workspace: str, conversation_id: str, customer_id: str
) -> timeline.Transcript | None:
    """The conversation's transcript; None if the timeline has none because its customer was
    erased (the close was announced before); DeadLetterError if it has none for no such reason."""
    settings = ctx.deps.settings
    try:
        return await call(
            ctx.deps.nc,
            timeline.GET_TRANSCRIPT,
            timeline.GetTranscript(
                workspace=workspace, conversation_id=conversation_id, max_chars=settings.transcript_max_chars
            ),
            timeout=settings.transcript_timeout_seconds,
        )
    except NotFound as exc:
        if await usecases.erased(ctx.deps.pool, workspace, customer_id, _profile_fate(ctx)):
            return None
        raise DeadLetterError(f"timeline has no conversation {conversation_id}") from exc


def _profile_fate(ctx: Context) -> usecases.ProfileFate:
    async def fate(workspace: str, customer_id: str) -> Resolved | None:
        try:
            asked = uuid.UUID(customer_id)
        except ValueError:
            return None
        try:
            await call(
                ctx.deps.nc,
                profile.GET_CUSTOMER,
                profile.GetCustomer(workspace=workspace, customer_id=asked),
                timeout=ctx.deps.settings.profile_timeout_seconds,
            )
        except NotFound as exc:
            merged_into = exc.extra.get("merged_into")
            return Resolved(uuid.UUID(merged_into), False) if merged_into else Resolved(asked, True)
        return None

    return fate


async def _prepare(
    ctx: Context,
    event: Event[BaseModel],
    conversation_id: str,
    customer_id: str,
    closed_at: datetime | None,
) -> AnalysisRecord | None:
    # Stamped before the transcript is read: of two analyses of one conversation, the one
    # that read the later transcript is the newer, whichever finishes first.
    analysed_at = utcnow()
    transcript = await _transcript(ctx, event.workspace, conversation_id, customer_id)
    if transcript is None:
        log.info("conversation_of_erased_customer_skipped", conversation_id=conversation_id)
        return None
    try:
        owner = await usecases.owner(
            ctx.deps.pool, event.workspace, customer_id, transcript, _profile_fate(ctx)
        )
    except usecases.ForeignTranscript as exc:
        raise DeadLetterError(str(exc)) from exc
    if owner is None:
        log.info("conversation_of_erased_customer_skipped", conversation_id=conversation_id)
        return None
    return await usecases.analyse(
        ctx.deps.pool,
        ctx.analyser,
        transcript.model_copy(update={"customer_id": owner}),
        workspace=event.workspace,
        source_event_id=event.event_id,
        analysed_at=analysed_at,
        closed_at=closed_at,
        again=closed_at is None,
    )


async def prepare_close(
    ctx: Context, delivery: Delivery[Event[timeline.ConversationClosed]]
) -> AnalysisRecord | None:
    """Outside the transaction (the message kept alive): fetch the transcript and analyse it."""
    closed = delivery.event.data
    return await _prepare(ctx, delivery.event, closed.conversation_id, closed.customer_id, closed.closed_at)


async def prepare_reanalysis(
    ctx: Context, delivery: Delivery[Event[insights.ReanalysisRequested]]
) -> AnalysisRecord | None:
    """Like a close, but analysed even when the transcript has not changed."""
    wanted = delivery.event.data
    return await _prepare(ctx, delivery.event, wanted.conversation_id, wanted.customer_id, None)


async def store(_ctx: Context, conn: Connection, delivery: Delivery[Event[D]]) -> None:
    """In the inbox transaction: keep what `prepare` produced."""
    if not isinstance(delivery.prepared, AnalysisRecord):
        log.info("transcript_unchanged", event_id=delivery.event_id)
        return
    await usecases.store(conn, delivery.prepared)


def _tuning(ctx: Context) -> Tuning:
    settings = ctx.deps.settings
    # A batch's analyses run side by side (LLM calls wait on the network, not the CPU).
    return Tuning(batch=settings.analysis_concurrency, ack_wait_seconds=settings.analysis_ack_wait_seconds)


CONSUMERS: list[Subscribing[Context]] = [
    event_consumer(
        CLOSED_CONSUMER, timeline.CONVERSATION_CLOSED, store, prepare=prepare_close, tuning=_tuning
    ),
    event_consumer(
        REANALYSIS_CONSUMER, insights.REANALYSIS_REQUESTED, store, prepare=prepare_reanalysis, tuning=_tuning
    ),
    *usecases.CUSTOMER_DATA.consumers(),
]


ROUTES: list[Route[Context]] = [reading(insights.GET_INSIGHTS, usecases.customer_insights)]
