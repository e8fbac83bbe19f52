"""What staff can edit and within which limits: the profile fields (CONTRACT.md §4) and a note's text.

The services validate with these constants and the gateway publishes them
(`GET /v1/reference/profile-fields`, `/v1/reference/note-fields`), so that the dashboard learns each
field's kind and limit from the API instead of copying them.
"""

from dataclasses import dataclass
from typing import Literal

# What a field holds, which decides the control the dashboard edits it with.
FieldKind = Literal["text", "multiline", "phone", "email", "language", "country", "tags"]

NAME_MAX = 200
LOCATION_MAX = 500
AGENT_INSTRUCTIONS_MAX = 2000
TAGS_PER_CUSTOMER_MAX = 100
NOTE_TEXT_MAX = 2000
TAG_NAME_MAX = 50


@dataclass(frozen=True)
class EditableField:
    """One editable field: its name in requests, its kind, and its limits (lengths in characters)."""

    field: str
    kind: FieldKind
    required: bool = False
    max_length: int | None = None
    max_items: int | None = None


# In the order the profile lists them, errors are reported and changes recorded.
PROFILE_FIELDS = (
    EditableField("name", "text", required=True, max_length=NAME_MAX),
    EditableField("phone", "phone"),
    EditableField("email", "email"),
    EditableField("language", "language"),
    EditableField("country", "country"),
    EditableField("location", "text", max_length=LOCATION_MAX),
    EditableField("tag_ids", "tags", max_items=TAGS_PER_CUSTOMER_MAX),
    EditableField("agent_instructions", "multiline", max_length=AGENT_INSTRUCTIONS_MAX),
)
NOTE_FIELDS = (EditableField("text", "multiline", required=True, max_length=NOTE_TEXT_MAX),)
