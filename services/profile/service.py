"""Domain rules of the profile service: plain functions over plain data, no I/O."""

import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from shared.cursors import decode_cursor, decode_ordered_cursor, encode_ordered_cursor, parse_time
from shared.errors import FieldError, Rejected, rejecting
from shared.events import ConnectorEvent, ContactSeen
from shared.fields import (
    AGENT_INSTRUCTIONS_MAX,
    LOCATION_MAX,
    NAME_MAX,
    PROFILE_FIELDS,
    TAG_NAME_MAX,
    TAGS_PER_CUSTOMER_MAX,
)
from shared.identity import Routed
from shared.ids import customer_id_at, customer_id_for
from shared.links import chat_url
from shared.messages.insights import AiProfile
from shared.messages.profile import (
    SERVICE,
    AgentContext,
    Change,
    CustomerHeader,
    CustomerPart,
    CustomerProfile,
    ErasedIdentity,
    GridItem,
    IdentityRef,
    PlatformLink,
    Tag,
    at_most,
    clearing,
    country_code,
    email_address,
    hex_color,
    language_code,
    phone_number,
    tag_ids,
)
from shared.registry import SERVICE_NAMES
from shared.validation import no_nul, trimmed

# The PATCH fields of CONTRACT.md §4, in the order errors and changes are reported.
EDITABLE = tuple(spec.field for spec in PROFILE_FIELDS)

_PHONE_LIKE = re.compile(r"^[0-9+()./\s-]+$")


class Row(Protocol):
    """A stored row, read by column name (an asyncpg Record, a dict)."""

    def keys(self) -> Iterable[str]: ...

    def __getitem__(self, key: str, /) -> Any: ...


# --- customers from connector events -------------------------------------------------------------


@dataclass(frozen=True)
class NewCustomer:
    """The row the first event of an unknown identity creates, spanning the times of its events."""

    id: uuid.UUID
    workspace: str
    identity_key: uuid.UUID
    platform: str
    platform_user_id: str
    name: str
    phone: str | None
    instagram: dict[str, Any] | None
    created_at: datetime
    last_contact_at: datetime
    search: str


def new_customer(workspace: str, event: ConnectorEvent, customer_id: uuid.UUID | None = None) -> NewCustomer:
    """The customer an event of an identity nobody has seen yet creates (contact.seen details come after).

    Its id is the identity's own unless an erasure of the identity gave its next contact another.
    """
    pid = event.platform_user_id
    key = customer_id_for(workspace, event.platform, pid)
    phone = pid if event.platform == "whatsapp" else None
    instagram = (
        {"username": pid, "followers": None, "follow_status": "unknown"}
        if event.platform == "instagram"
        else None
    )
    return NewCustomer(
        id=customer_id or key,
        workspace=workspace,
        identity_key=key,
        platform=event.platform,
        platform_user_id=pid,
        name=pid,
        phone=phone,
        instagram=instagram,
        created_at=event.occurred_at,
        last_contact_at=event.occurred_at,
        search=search_document(pid, phone, None, pid),
    )


def customers_of(events: Iterable[Routed[ConnectorEvent]]) -> list[NewCustomer]:
    """One customer per id of routed events, in order of first appearance, as its first event
    would create it; created at its earliest event's time and last contacted at its latest."""
    spans: dict[tuple[str, uuid.UUID], tuple[ConnectorEvent, datetime, datetime]] = {}
    for workspace, customer_id, event in events:
        known = spans.get((workspace, customer_id))
        if known is None:
            spans[(workspace, customer_id)] = (event, event.occurred_at, event.occurred_at)
        else:
            first, last = min(known[1], event.occurred_at), max(known[2], event.occurred_at)
            spans[(workspace, customer_id)] = (known[0], first, last)
    return [
        replace(new_customer(workspace, event, customer_id), created_at=first, last_contact_at=last)
        for (workspace, customer_id), (event, first, last) in spans.items()
    ]


@dataclass(frozen=True)
class Contact:
    """What contact.seen keeps up to date, and when each of its values was last set.

    `seen` maps a register (display_name, avatar_url, instagram.<field>) to the [occurred_at,
    event_id] of the event that set it: the newest event wins each register on its own, so any
    arrival order of the same events ends in the same state.
    """

    name: str
    name_edited: bool
    avatar_url: str | None
    instagram: dict[str, Any] | None
    seen: dict[str, list[str]]


def _is_newer(stamp: tuple[datetime, str], seen: list[str] | None) -> bool:
    if seen is None:
        return True
    return stamp > (datetime.fromisoformat(seen[0]), seen[1])


def apply_contact_seen(contact: Contact, event: ContactSeen) -> tuple[Contact, dict[str, dict[str, Any]]]:
    """The contact after `event`, and its changes (field → {"old", "new"}) for the view."""
    offered: dict[str, Any] = {}
    display_name = (event.display_name or "").strip()[:NAME_MAX].strip()
    if display_name:
        offered["display_name"] = display_name
    if event.avatar_url:
        offered["avatar_url"] = event.avatar_url
    # Instagram details only mean something from an Instagram identity, the one kind created with them.
    if contact.instagram is not None and event.instagram is not None and event.platform == "instagram":
        for key, value in event.instagram.model_dump().items():
            if value is not None:
                offered[f"instagram.{key}"] = value
    stamp = (event.occurred_at, event.event_id)
    seen = dict(contact.seen)
    updated = contact
    instagram = dict(contact.instagram) if contact.instagram is not None else None
    for register, value in offered.items():
        if not _is_newer(stamp, seen.get(register)):
            continue
        seen[register] = [event.occurred_at.isoformat(), event.event_id]
        if register == "display_name":
            if not contact.name_edited:
                updated = replace(updated, name=value)
        elif register == "avatar_url":
            updated = replace(updated, avatar_url=value)
        elif instagram is not None:
            instagram[register.removeprefix("instagram.")] = value
    updated = replace(updated, instagram=instagram, seen=seen)
    changes = {
        field: {"old": getattr(contact, field), "new": getattr(updated, field)}
        for field in ("name", "avatar_url", "instagram")
        if getattr(contact, field) != getattr(updated, field)
    }
    return updated, changes


def identity_key(platform: str, platform_user_id: str) -> str:
    """A platform user id as connectors' events store it (Instagram usernames: lower case, no @)."""
    value = platform_user_id.strip()
    if platform == "instagram":
        value = value.lower().lstrip("@")
    return value


# --- search --------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def search_document(name: str, phone: str | None, email: str | None, *platform_user_ids: str) -> str:
    """What the grid's `q` is matched against: name, phone, email and platform ids, case-folded."""
    return "\n".join(_fold(v) for v in (name, phone, email, *platform_user_ids) if v)


def search_terms(q: str | None) -> list[str]:
    """Substrings any of which a matching customer's search document holds."""
    folded = _fold(q or "")
    if not folded:
        return []
    terms = [folded]
    # Phone numbers are stored compact (E.164): "+971 50 123" should find "+971501234567".
    if _PHONE_LIKE.match(folded):
        compact = re.sub(r"[^0-9+]", "", folded)
        if sum(c.isdigit() for c in compact) >= 3 and compact != folded:
            terms.append(compact)
    return terms


def like_pattern(term: str) -> str:
    """A LIKE pattern matching `term` anywhere, wildcards in it taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# --- editing -------------------------------------------------------------------------------------


def _text(value: Any, *, clearable: bool = True) -> str | None:
    if value is None:
        if not clearable:
            raise ValueError("cannot be cleared")
        return None
    if not isinstance(value, str):
        raise ValueError("must be a string")
    return no_nul(value)


def _name(value: Any) -> str:
    return trimmed(_text(value, clearable=False) or "", NAME_MAX)


def _clearable(rule: Callable[[str], str]) -> Callable[[Any], str | None]:
    check = clearing(rule)

    def apply(value: Any) -> str | None:
        text = _text(value)
        return None if text is None else check(text)

    return apply


def _tag_ids(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of tag ids")
    return tag_ids(value)


_RULES: dict[str, Callable[[Any], Any]] = {
    "name": _name,
    "phone": _clearable(phone_number),
    "email": _clearable(email_address),
    "language": _clearable(language_code),
    "country": _clearable(country_code),
    "location": _clearable(at_most(LOCATION_MAX)),
    "tag_ids": _tag_ids,
    "agent_instructions": _clearable(at_most(AGENT_INSTRUCTIONS_MAX)),
}


def validate_edit(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised values of an edit; Rejected naming every field that breaks its rule."""
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    for field in sorted(fields, key=lambda f: (EDITABLE.index(f) if f in EDITABLE else len(EDITABLE), f)):
        rule = _RULES.get(field)
        if rule is None:
            errors.append(FieldError(field=field, message="is not editable"))
            continue
        try:
            values[field] = rule(fields[field])
        except ValueError as exc:
            errors.append(FieldError(field=field, message=str(exc)))
    if errors:
        raise Rejected(errors)
    return values


def diff(current: Row, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """field → {"old", "new"} for each value that differs from the current one."""
    return {
        field: {"old": current[field], "new": value}
        for field, value in values.items()
        if current[field] != value
    }


def version_matches(current: int, if_match: list[int] | None) -> bool:
    """Whether a write conditioned on `if_match` (None: unconditional) may go ahead."""
    return if_match is None or current in if_match


@dataclass(frozen=True)
class EditPlan:
    """What a staff edit writes: the changed fields, the new version and search document."""

    values: dict[str, Any]
    changes: dict[str, dict[str, Any]]
    version: int
    name_edited: bool
    search: str
    # Whether this edit is the first to name the customer (even to the name it had).
    pins_name: bool

    @property
    def writes(self) -> bool:
        """Whether anything is stored."""
        return bool(self.changes) or self.pins_name


def plan_edit(current: Row, values: Mapping[str, Any]) -> EditPlan:
    """The effect of validated `values` on the stored customer `current`.

    The version counts edits that change something; naming the customer, even to the name a
    connector gave, pins the name against later connector refreshes.
    """
    changes = diff(current, values)
    name_edited = bool(current["name_edited"]) or "name" in values
    merged = {**{k: current[k] for k in ("name", "phone", "email")}, **values}
    return EditPlan(
        values=dict(values),
        changes=changes,
        version=current["version"] + (1 if changes else 0),
        name_edited=name_edited,
        search=search_document(merged["name"], merged["phone"], merged["email"], *platform_user_ids(current)),
        pins_name=name_edited != bool(current["name_edited"]),
    )


def platform_user_ids(row: Row) -> list[str]:
    """The platform ids of every identity of a stored customer (its `identities`)."""
    return [identity["platform_user_id"] for identity in row["identities"]]


# --- merging -------------------------------------------------------------------------------------

# Fields that keep the target's value and take the source's where the target's is empty.
_FILLED_FROM_SOURCE = ("phone", "email", "language", "country", "location", "agent_instructions")


def _wins(source: list[str] | None, target: list[str] | None) -> bool:
    """Whether the source's stamp of a register is newer than the target's."""
    return source is not None and _is_newer((datetime.fromisoformat(source[0]), source[1]), target)


def merge_contacts(target: Contact, source: Contact) -> Contact:
    """What connectors keep up to date, of both customers in one.

    Each register keeps the newer of its two values, as if every event of both had been applied
    to one customer, so a merge gives the same state whether events come before or after it. A
    name staff gave wins over any display name, the target's over the source's.
    """
    seen = dict(target.seen)
    for register, stamp in source.seen.items():
        if _wins(stamp, seen.get(register)):
            seen[register] = stamp

    def newer(register: str, target_value: Any, source_value: Any) -> Any:
        return source_value if _wins(source.seen.get(register), target.seen.get(register)) else target_value

    if target.name_edited:
        name = target.name
    elif source.name_edited:
        name = source.name
    else:
        name = newer("display_name", target.name, source.name)
    instagram = target.instagram if source.instagram is None else source.instagram
    if target.instagram is not None and source.instagram is not None:
        keys = dict.fromkeys([*target.instagram, *source.instagram])
        instagram = {
            key: newer(f"instagram.{key}", target.instagram.get(key), source.instagram.get(key))
            for key in keys
        }
    return Contact(
        name=name,
        name_edited=target.name_edited or source.name_edited,
        avatar_url=newer("avatar_url", target.avatar_url, source.avatar_url),
        instagram=instagram,
        seen=seen,
    )


def contact_of(row: Row) -> Contact:
    """The connector-maintained state of a stored customer."""
    return Contact(
        name=row["name"],
        name_edited=row["name_edited"],
        avatar_url=row["avatar_url"],
        instagram=row["instagram"],
        seen=row["seen"],
    )


@dataclass(frozen=True)
class MergePlan:
    """What merging a source customer into a target writes to the target."""

    contact: Contact
    values: dict[str, Any]
    tag_ids: list[str]
    created_at: datetime
    last_contact_at: datetime
    version: int
    search: str
    changes: dict[str, dict[str, Any]]


def plan_merge(target: Row, source: Row) -> MergePlan:
    """The target after absorbing the source (CONTRACT.md §7): each editable field keeps the
    target's value and takes the source's where the target's is empty, tags are the union,
    `created_at` the earlier; the merge is one recorded change, naming the source."""
    if len(set(target["tag_ids"]) | set(source["tag_ids"])) > TAGS_PER_CUSTOMER_MAX:
        raise Rejected.field(
            "source_id", f"together the two customers hold more than {TAGS_PER_CUSTOMER_MAX} tags"
        )
    contact = merge_contacts(contact_of(target), contact_of(source))
    values = {
        field: target[field] if target[field] is not None else source[field] for field in _FILLED_FROM_SOURCE
    }
    tag_ids = sorted(set(target["tag_ids"]) | set(source["tag_ids"]))
    changes = diff(target, {"name": contact.name, **values, "tag_ids": tag_ids})
    changes["merged_from"] = {"old": None, "new": str(source["id"])}
    ids = [*platform_user_ids(target), *platform_user_ids(source)]
    return MergePlan(
        contact=contact,
        values=values,
        tag_ids=tag_ids,
        created_at=min(target["created_at"], source["created_at"]),
        last_contact_at=max(target["last_contact_at"], source["last_contact_at"]),
        version=target["version"] + 1,
        search=search_document(contact.name, values["phone"], values["email"], *ids),
        changes=changes,
    )


# --- erasing -------------------------------------------------------------------------------------

# The services that hold customer data besides this one: an erasure is done once each confirms.
ERASING_SERVICES = tuple(name for name in SERVICE_NAMES if name != SERVICE)


def erased_identity(identity: IdentityRef) -> ErasedIdentity:
    """An identity as one more erasure leaves it: its next contact starts a customer of a new id."""
    key, epoch = identity.identity_key, identity.epoch + 1
    return ErasedIdentity(identity_key=key, epoch=epoch, customer_id=customer_id_at(key, epoch))


# --- tags ----------------------------------------------------------------------------------------


def tag_name(value: str) -> str:
    """A tag name: trimmed, 1–50 characters."""
    with rejecting("name"):
        return trimmed(value, TAG_NAME_MAX)


def tag_name_key(name: str) -> str:
    """What two tag names that count as the same share (case-insensitive)."""
    return name.casefold()


def tag_color(value: str) -> str:
    """A colour as #RRGGBB in upper case."""
    with rejecting("color"):
        return hex_color(value)


def validate_tag(name: str | None, color: str | None) -> tuple[str | None, str | None]:
    """Normalised name and colour of a tag (None stays None); Rejected naming every bad one."""
    errors: list[FieldError] = []
    checked: list[str | None] = []
    for value, rule in ((name, tag_name), (color, tag_color)):
        try:
            checked.append(rule(value) if value is not None else None)
        except Rejected as exc:
            errors += exc.errors
            checked.append(None)
    if errors:
        raise Rejected(errors)
    return checked[0], checked[1]


# --- bulk tags -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkTagPlan:
    """A checked bulk tag edit: each customer once, in the order asked; tag ids to add and take off."""

    customer_ids: list[uuid.UUID]
    add: list[str]
    remove: list[str]


def plan_bulk_tags(
    customer_ids: Sequence[uuid.UUID], add: Sequence[uuid.UUID], remove: Sequence[uuid.UUID]
) -> BulkTagPlan:
    """The edit with repeats dropped; Rejected if it changes nothing or adds and removes one tag."""
    if not add and not remove:
        raise Rejected.field("add", "name at least one tag to add or to remove")
    both = sorted(str(tag) for tag in set(add) & set(remove))
    if both:
        raise Rejected.field("remove", f"{both[0]} cannot be both added and removed")
    return BulkTagPlan(
        customer_ids=list(dict.fromkeys(customer_ids)),
        add=sorted({str(tag) for tag in add}),
        remove=sorted({str(tag) for tag in remove}),
    )


def unknown(field: str, asked: Sequence[object], known: set[str], what: str) -> list[FieldError]:
    """An error naming `field.<index>` for each id asked that is not known (nor, so, of the workspace).

    The message does not repeat the id: an id of another workspace and one that exists nowhere
    get the very same answer.
    """
    return [
        FieldError(field=f"{field}.{i}", message=f"is not {what} of this workspace")
        for i, value in enumerate(asked)
        if str(value) not in known
    ]


def bulk_tag_changes(
    plan: BulkTagPlan, current: Mapping[uuid.UUID, Sequence[str]]
) -> dict[uuid.UUID, dict[str, Any]]:
    """customer → its change ({"tag_ids": {"old", "new"}}, as an edit records it) for each customer
    whose tags the edit changes; Rejected if one would hold more tags than a customer may."""
    changes: dict[uuid.UUID, dict[str, Any]] = {}
    for customer_id in plan.customer_ids:
        old = sorted(current[customer_id])
        new = sorted((set(old) | set(plan.add)) - set(plan.remove))
        if len(new) > TAGS_PER_CUSTOMER_MAX:
            raise Rejected.field(
                "add", f"customer {customer_id} would hold more than {TAGS_PER_CUSTOMER_MAX} tags"
            )
        if new != old:
            changes[customer_id] = {"tag_ids": {"old": old, "new": new}}
    return changes


# --- grid orders and cursors ---------------------------------------------------------------------


def name_key(name: str) -> str:
    """What names sort by: case-folded, without accents and other marks (É → e, أ → ا), spaces collapsed.

    Stored beside the name and compared byte by byte, so that the order is the same on every
    server whatever its locale, and a keyset cursor means the same place everywhere.
    """
    bare = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return " ".join(bare.split()).casefold()


# The grid's sort parameter (shared.messages.profile.GridSort) → the column it orders by.
_GRID_COLUMNS = {"created_at": "created_at", "name": "name_key", "last_contact_at": "last_contact_at"}


@dataclass(frozen=True)
class GridOrder:
    """One order of the grid: by `column`, ties broken by customer id in the same direction."""

    sort: str
    column: str
    descending: bool

    @property
    def is_time(self) -> bool:
        """Whether the column holds instants (else the text of name_key)."""
        return self.column != "name_key"


def grid_order(sort: str) -> GridOrder:
    """The order a sort parameter names (`name`, `-created_at`, ...); Rejected for any other."""
    column = _GRID_COLUMNS.get(sort.removeprefix("-"))
    if column is None or sort.startswith("--"):
        raise Rejected.field("sort", "is not an order of the grid")
    return GridOrder(sort=sort, column=column, descending=sort.startswith("-"))


def grid_cursor(order: GridOrder, row: Row) -> str:
    """Where the next page of this order starts: after `row`."""
    return encode_ordered_cursor(order.sort, row[order.column], str(row["id"]))


def parse_grid_cursor(raw: str, order: GridOrder) -> tuple[datetime | str, uuid.UUID]:
    """(sort value, id) of a cursor of `order`; Rejected if it is malformed or of another order."""
    value, key = decode_ordered_cursor(raw, order.sort)
    try:
        customer_id = uuid.UUID(key)
    except ValueError:
        raise Rejected.field("cursor", "malformed") from None
    return (parse_time(value) if order.is_time else value), customer_id


# --- history cursors -----------------------------------------------------------------------------


def history_position(row: Row) -> tuple[datetime, str]:
    """Where the next history page starts: below this version."""
    return row["changed_at"], str(row["version"])


def parse_history_cursor(raw: str) -> int:
    """The version a history page starts below; Rejected if it is not one."""
    _, key = decode_cursor(raw)
    if not key.isascii() or not key.isdigit() or not 0 < int(key) < 2**31:
        raise Rejected.field("cursor", "malformed")
    return int(key)


# --- answers -------------------------------------------------------------------------------------


def customer_part(row: Row) -> CustomerPart:
    """The profile service's part of the profile view (gateway/view.py adds the rest)."""
    values = dict(row)
    links = [
        PlatformLink(
            platform=identity["platform"],
            platform_user_id=identity["platform_user_id"],
            chat_url=chat_url(identity["platform"], identity["platform_user_id"]),
        )
        for identity in row["identities"]
    ]
    return CustomerPart(
        id=row["id"],
        header=CustomerHeader.model_validate({**values, "platforms": links}),
        profile=CustomerProfile.model_validate(values),
    )


def grid_item(row: Row) -> GridItem:
    """One row of the customer grid: the platforms of its identities, each once."""
    return GridItem.model_validate({**dict(row), "platforms": list(dict.fromkeys(row["platforms"]))})


def history_item(row: Row) -> Change:
    """One entry of a customer's change history."""
    return Change.model_validate(dict(row))


def tag_of(row: Row) -> Tag:
    """A tag of the catalog."""
    return Tag(id=row["id"], name=row["name"], color=row["color"])


def agent_context(row: Row, ai_profile: AiProfile | None) -> AgentContext:
    """What the AI chat agent reads about the customer of `row`."""
    return AgentContext(
        customer_id=row["id"],
        name=row["name"],
        language=row["language"],
        agent_instructions=row["agent_instructions"],
        tags=[tag["name"] for tag in row["tags"]],
        ai_profile=ai_profile,
    )
