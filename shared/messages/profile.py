"""The profile service's events and operations."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Platform
from shared.messages.insights import AiProfile
from shared.subjects import WORKSPACE_PATTERN
from shared.validation import Text

SERVICE = "profile"

# Events on profile.v1.<workspace>.<type>
CUSTOMER_CREATED = "customer.created"
CUSTOMER_UPDATED = "customer.updated"
TAG_CREATED = "tag.created"
TAG_UPDATED = "tag.updated"
TAG_DELETED = "tag.deleted"

# Operations on rpc.profile.<op>; every request carries "workspace".
OP_CUSTOMER_GET = "customer.get"  # {customer_id} → CustomerView parts (see service)
OP_CUSTOMER_UPDATE = "customer.update"
OP_CUSTOMERS_LIST = "customers.list"
OP_CUSTOMER_HISTORY = "customer.history"  # CustomerHistory → {"items": [change], "next_cursor"}
OP_TAGS_LIST = "tags.list"
OP_TAGS_CREATE = "tags.create"
OP_TAGS_UPDATE = "tags.update"
OP_TAGS_DELETE = "tags.delete"
OP_AGENT_CONTEXT = "agent.context"


class CustomerCreated(BaseModel):
    """A platform identity was seen for the first time."""

    customer_id: str
    created_at: datetime
    platform: str
    platform_user_id: str


class Actor(BaseModel):
    """Who made a change."""

    id: str
    name: str


class CustomerUpdated(BaseModel):
    """Staff (or a connector) changed profile fields: field → {"old", "new"}."""

    customer_id: str
    version: int
    actor: Actor | None = None
    changes: dict[str, dict[str, Any]]


# Requests of the operations above (the gateway sends them, the service validates them again).

Workspace = Annotated[str, Field(pattern=WORKSPACE_PATTERN.pattern)]
MAX_PAGE = 100


class _Request(BaseModel):
    # Tolerant of fields a newer caller adds; the ones it names are checked strictly.
    model_config = ConfigDict(extra="ignore")

    workspace: Workspace


class WorkspaceRef(_Request):
    """OP_TAGS_LIST: a request about the workspace as a whole."""


class CustomerRef(_Request):
    """OP_CUSTOMER_GET: one customer of the workspace."""

    customer_id: uuid.UUID


class UpdateCustomer(CustomerRef):
    """OP_CUSTOMER_UPDATE: editable field → new value (null clears); `if_match` lists accepted versions."""

    fields: dict[str, Any]
    if_match: list[int] | None = None
    actor: Actor


class ListCustomers(_Request):
    """OP_CUSTOMERS_LIST: a page of the customer grid, newest first."""

    q: Annotated[Text, Field(max_length=200)] | None = None
    tag: uuid.UUID | None = None
    platform: Platform | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 25
    cursor: Text | None = None


class CustomerHistory(CustomerRef):
    """OP_CUSTOMER_HISTORY: a page of a customer's change history, newest first."""

    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 25
    cursor: Text | None = None


class CreateTag(_Request):
    """OP_TAGS_CREATE: a new tag of the catalog; name and colour are checked by the service."""

    name: Text
    color: Text


class TagRef(_Request):
    """OP_TAGS_DELETE: one tag of the workspace."""

    tag_id: uuid.UUID


class UpdateTag(TagRef):
    """OP_TAGS_UPDATE: rename and/or recolour (absent fields stay)."""

    name: Text | None = None
    color: Text | None = None


class AgentContextQuery(BaseModel):
    """The AI chat agent's question (CONTRACT.md §6)."""

    model_config = ConfigDict(extra="ignore")

    platform: Platform
    platform_user_id: Annotated[Text, Field(min_length=1, max_length=256)]


class AgentContextRequest(AgentContextQuery):
    """OP_AGENT_CONTEXT: the agent's question asked through the gateway."""

    workspace: Workspace


class Tag(BaseModel):
    """A tag of the workspace's catalog (CONTRACT.md §4)."""

    id: uuid.UUID
    name: str
    color: str


class AgentContext(BaseModel):
    """What the AI chat agent reads about a customer (CONTRACT.md §4, §6)."""

    customer_id: uuid.UUID
    name: str
    language: str | None
    agent_instructions: str | None
    tags: list[str]
    ai_profile: AiProfile | None
