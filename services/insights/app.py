"""Wiring of the insights service: what it consumes, what it answers."""

from pathlib import Path

from services.insights.analysers import build_analyser
from services.insights.config import Settings
from services.insights.handlers import InsightsHandlers
from shared.consumer import ConsumerSpec, parse_internal
from shared.messages import timeline
from shared.messages.insights import OP_CUSTOMER_GET, REANALYSIS_REQUESTED, SERVICE
from shared.runtime import Deps, RpcRoute, ServiceDefinition, Wiring
from shared.subjects import event_stream, event_subject, rpc_subject

CLOSED_CONSUMER = "insights-conversation-closed"
REANALYSIS_CONSUMER = "insights-reanalysis"


def build(deps: Deps) -> Wiring:
    """Consumers and request handlers of the insights service."""
    settings: Settings = deps.settings
    handlers = InsightsHandlers(deps.pool, deps.nc, build_analyser(settings), settings)

    def analysis_consumer(durable: str, stream: str, subject: str) -> ConsumerSpec:
        return ConsumerSpec(
            durable=durable,
            stream=stream,
            subjects=[subject],
            handle=handlers.handle,
            parse=parse_internal,
            prepare=handlers.prepare,
            # Analyses of a batch run concurrently (LLM calls wait on the network, not the CPU).
            batch=settings.analysis_concurrency,
            ack_wait_seconds=settings.analysis_ack_wait_seconds,
        )

    return Wiring(
        consumers=[
            analysis_consumer(
                CLOSED_CONSUMER,
                event_stream(timeline.SERVICE),
                event_subject(timeline.SERVICE, "*", timeline.CONVERSATION_CLOSED),
            ),
            analysis_consumer(
                REANALYSIS_CONSUMER,
                event_stream(SERVICE),
                event_subject(SERVICE, "*", REANALYSIS_REQUESTED),
            ),
        ],
        routes=[RpcRoute(rpc_subject(SERVICE, OP_CUSTOMER_GET), handlers.customer_get)],
    )


definition = ServiceDefinition(
    name=SERVICE,
    migrations=Path(__file__).parent / "migrations",
    build=build,
    binds=(event_stream(timeline.SERVICE),),
)
