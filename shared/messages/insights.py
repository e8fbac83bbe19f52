"""The insights service's events and operations."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from shared.events import EventType, Id, ServiceInterface
from shared.messages import WorkspaceRequest, identity_events
from shared.rpc import Operation

SERVICE = "insights"

SentimentLabel = Literal["positive", "neutral", "negative"]


class AiProfile(BaseModel):
    """The AI profile card (CONTRACT.md §4)."""

    communication_preferences: list[str]
    topics_of_interest: list[str]
    purchase_behavior: list[str]
    key_characteristics: list[str]
    updated_at: datetime


class AverageSentiment(BaseModel):
    """The header's average sentiment (CONTRACT.md §4)."""

    average: float | None
    label: SentimentLabel | None
    conversations: int


class CustomerInsights(BaseModel):
    """What the profile view and the agent context take from insights."""

    ai_profile: AiProfile | None
    sentiment: AverageSentiment


class GetInsights(WorkspaceRequest):
    """A customer's AI profile and average sentiment (empty, never not_found)."""

    customer_id: Id


GET_INSIGHTS = Operation(
    SERVICE, "customer.get", GetInsights, CustomerInsights, "AI profile and average sentiment"
)


class ConversationAnalysed(BaseModel):
    """The analysis of one closed conversation; the newest `analysed_at` wins."""

    conversation_id: str
    customer_id: str
    summary: str | None
    sentiment: SentimentLabel | None
    sentiment_score: float | None
    topics: list[str]
    analysed_at: datetime
    analyser: str
    degraded: bool = False


class CustomerInsightsUpdated(BaseModel):
    """A customer's AI profile or average sentiment changed, after analysing `conversation_id`."""

    customer_id: str
    conversation_id: str
    insights: CustomerInsights


class ReanalysisRequested(BaseModel):
    """Analyse an already analysed conversation again (python -m services.insights.reanalyse)."""

    conversation_id: str
    customer_id: str
    platform: str
    requested_at: datetime


# timeline stores it on the conversation
CONVERSATION_ANALYSED = EventType(
    SERVICE, "conversation.analysed", ConversationAnalysed, "a closed conversation was analysed"
)
CUSTOMER_INSIGHTS_UPDATED = EventType(
    SERVICE, "customer.updated", CustomerInsightsUpdated, "AI profile or average sentiment changed"
)
REANALYSIS_REQUESTED = EventType(
    SERVICE, "reanalysis.requested", ReanalysisRequested, "the operator asked to analyse a conversation again"
)

CUSTOMER_MERGED, CUSTOMER_ERASED = identity_events(SERVICE)

INTERFACE = ServiceInterface(
    SERVICE,
    "Summaries, sentiment, topics, AI profile and average sentiment of closed conversations.",
    emits=(
        CONVERSATION_ANALYSED,
        CUSTOMER_INSIGHTS_UPDATED,
        REANALYSIS_REQUESTED,
        CUSTOMER_MERGED,
        CUSTOMER_ERASED,
    ),
)
