"""The profile view: every service's part fetched in parallel, a silent one marked unavailable."""

import asyncio
import uuid
from typing import Any

from gateway.clients import ServiceClient
from gateway.errors import Problem
from shared.messages import insights, notes, profile, timeline
from shared.rpc import ServiceUnavailable


def parse_customer_id(value: str) -> str:
    """The canonical customer id; 404 for anything that cannot be one (it exists nowhere)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise Problem(404, "customer not found") from None


async def _part(
    services: ServiceClient, service: str, operation: str, payload: dict[str, Any], request_id: str
) -> Any:
    """A service's part, or None if it did not answer (not_found counts as an answer: empty)."""
    try:
        return await services.try_call(service, operation, payload, request_id=request_id)
    except ServiceUnavailable:
        return None
    except Problem as problem:
        if problem.status == 404 and service != profile.SERVICE:
            return {}
        raise


async def assemble_view(
    services: ServiceClient, workspace: str, customer_id: str, request_id: str
) -> dict[str, Any]:
    """The profile view of CONTRACT.md §4; Problem(404) if the customer is not in the workspace."""
    payload = {"workspace": workspace, "customer_id": customer_id}
    profile_part, notes_part, timeline_part, insights_part = await asyncio.gather(
        _part(services, profile.SERVICE, profile.OP_CUSTOMER_GET, payload, request_id),
        _part(services, notes.SERVICE, notes.OP_NOTES_COUNT, payload, request_id),
        _part(services, timeline.SERVICE, timeline.OP_CUSTOMER_COUNTS, payload, request_id),
        _part(services, insights.SERVICE, insights.OP_CUSTOMER_GET, payload, request_id),
    )
    unavailable = [
        name
        for name, part in (
            ("profile", profile_part),
            ("notes", notes_part),
            ("timeline", timeline_part),
            ("insights", insights_part),
        )
        if part is None
    ]
    header = profile_part["header"] if profile_part else None
    if header is not None:
        header = {**header, "sentiment": (insights_part or {}).get("sentiment") if insights_part else None}
    return {
        "id": customer_id,
        "header": header,
        "profile": profile_part["profile"] if profile_part else None,
        "ai_profile": (insights_part or {}).get("ai_profile"),
        "counts": {
            "notes": (notes_part or {}).get("count", 0),
            "conversations": (timeline_part or {}).get("conversations", 0),
            "escalations": (timeline_part or {}).get("escalations", 0),
        },
        "unavailable": unavailable,
    }


def etag_of(view: dict[str, Any]) -> str | None:
    """`"<version>"` of the profile part, if it rendered."""
    if view["profile"] is None:
        return None
    return f'"{view["profile"]["version"]}"'
