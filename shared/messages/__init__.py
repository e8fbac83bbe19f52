"""What services say to each other: event payloads (outbox → stream) and request/reply operations.

Each module belongs to the service that publishes or answers; callers and consumers import it.
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.events import EventType
from shared.subjects import WORKSPACE_PATTERN

Workspace = Annotated[str, Field(pattern=WORKSPACE_PATTERN.pattern)]


class WorkspaceRequest(BaseModel):
    """A request scoped to one workspace: every operation's request is one."""

    # Tolerant of fields a newer caller adds; the ones it names are checked strictly.
    model_config = ConfigDict(extra="ignore")

    workspace: Workspace


# What every service that holds customer data announces once it has applied the profile service's
# customer.merged or erasure.requested to its own data: the gateway lets go of cached views then,
# and the profile service counts erasures done.
class MergeApplied(BaseModel):
    """This service's data of `source_id` now belongs to `customer_id` (the merge target)."""

    customer_id: str
    source_id: str


class ErasureApplied(BaseModel):
    """This service deleted what it held of `customer_id` for erasure `erasure_id`."""

    customer_id: str
    erasure_id: str


def identity_events(service: str) -> tuple[EventType[MergeApplied], EventType[ErasureApplied]]:
    """customer.merged and customer.erased of a service that holds customers' data (CONTRACT.md §7)."""
    return (
        EventType(
            service, "customer.merged", MergeApplied, "a merged customer's data now belongs to the target"
        ),
        EventType(
            service,
            "customer.erased",
            ErasureApplied,
            "what this service held of an erased customer is deleted",
        ),
    )
