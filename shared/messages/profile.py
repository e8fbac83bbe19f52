"""The profile service's events and operations."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel

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
OP_CUSTOMER_HISTORY = "customer.history"
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
