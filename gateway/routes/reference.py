"""Reference lists the dashboard reads instead of copying: codes, editable fields, live events."""

from dataclasses import asdict

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from gateway.auth import current_principal
from gateway.live import live_event_types
from shared.fields import NOTE_FIELDS, PROFILE_FIELDS, EditableField, FieldKind
from shared.reference import countries, languages

router = APIRouter(
    prefix="/v1/reference",
    tags=["reference"],
    dependencies=[Depends(current_principal)],
)


class ReferenceItem(BaseModel):
    """One code and its name."""

    code: str
    name: str


class ReferenceList(BaseModel):
    """A reference list."""

    items: list[ReferenceItem]


class FieldSpec(BaseModel):
    """An editable field: its name in request bodies, what it holds, and its limits."""

    field: str = Field(description="The field's name in the request body.")
    kind: FieldKind = Field(
        description="text or multiline: free text; phone: international, stored E.164; email: an address; "
        "language, country: a code of /v1/reference/languages or /countries; tags: tag ids of the workspace."
    )
    required: bool = Field(description="Whether the field can be cleared (null) or must keep a value.")
    max_length: int | None = Field(description="At most this many characters (Unicode code points).")
    max_items: int | None = Field(description="At most this many items in the list.")


class FieldList(BaseModel):
    """Editable fields, in the order the dashboard shows them."""

    items: list[FieldSpec]


class LiveEvent(BaseModel):
    """An event of a customer's stream (GET /v1/customers/{id}/events)."""

    type: str = Field(description="The SSE event name, `<service>.<event type>`.")
    section: str = Field(description="The profile view section (service) whose data it changes.")


class LiveEventList(BaseModel):
    """Every event a customer's stream can send."""

    items: list[LiveEvent]


def _fields(fields: tuple[EditableField, ...]) -> FieldList:
    return FieldList(items=[FieldSpec(**asdict(f)) for f in fields])


@router.get("/languages")
async def list_languages() -> ReferenceList:
    """BCP 47 primary language codes."""
    return ReferenceList(items=[ReferenceItem(code=c, name=n) for c, n in languages().items()])


@router.get("/countries")
async def list_countries() -> ReferenceList:
    """ISO 3166-1 alpha-2 country codes."""
    return ReferenceList(items=[ReferenceItem(code=c, name=n) for c, n in countries().items()])


@router.get("/profile-fields")
async def list_profile_fields() -> FieldList:
    """The fields PATCH /v1/customers/{id} edits, with the limits the profile service applies."""
    return _fields(PROFILE_FIELDS)


@router.get("/note-fields")
async def list_note_fields() -> FieldList:
    """The fields POST /v1/customers/{id}/notes takes, with the limits the notes service applies."""
    return _fields(NOTE_FIELDS)


@router.get("/live-events")
async def list_live_events() -> LiveEventList:
    """The events GET /v1/customers/{id}/events sends, each with the view section it changes."""
    return LiveEventList(items=[LiveEvent(type=t, section=s) for t, s in live_event_types()])
