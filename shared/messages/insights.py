"""The insights service's events and operations."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

SERVICE = "insights"

CONVERSATION_ANALYSED = "conversation.analysed"  # timeline stores it on the conversation
CUSTOMER_INSIGHTS_UPDATED = "customer.updated"  # AI profile or average sentiment changed

OP_CUSTOMER_GET = "customer.get"  # {customer_id} → CustomerInsights

SentimentLabel = Literal["positive", "neutral", "negative"]


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


REANALYSIS_REQUESTED = "reanalysis.requested"  # the operator asked to analyse a conversation again


class ReanalysisRequested(BaseModel):
    """Analyse an already analysed conversation again (python -m services.insights.reanalyse)."""

    conversation_id: str
    customer_id: str
    platform: str
    requested_at: datetime


class CustomerInsightsUpdated(BaseModel):
    """A customer's AI profile or average sentiment changed, after analysing `conversation_id`."""

    customer_id: str
    conversation_id: str
    insights: CustomerInsights
