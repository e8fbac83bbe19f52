"""What services say to each other: event payloads (outbox → stream) and request/reply operations.

Each module belongs to the service that publishes or answers; callers and consumers import it.
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.subjects import WORKSPACE_PATTERN

Workspace = Annotated[str, Field(pattern=WORKSPACE_PATTERN.pattern)]


class WorkspaceRequest(BaseModel):
    """A request scoped to one workspace: every operation's request is one."""

    # Tolerant of fields a newer caller adds; the ones it names are checked strictly.
    model_config = ConfigDict(extra="ignore")

    workspace: Workspace
