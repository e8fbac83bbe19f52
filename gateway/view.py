"""The profile view: every service's part fetched in parallel, a silent one marked unavailable."""

import asyncio
import uuid
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel

from gateway.cache import ViewCache
from gateway.clients import ServiceClient
from shared.errors import NotFound
from shared.jsonutil import dumps
from shared.messages import insights, notes, profile, timeline
from shared.rpc import Operation, ServiceUnavailable

# Section name (the service answering it) → the operation whose reply is that section's part.
PARTS: dict[str, Operation[Any, Any]] = {
    profile.SERVICE: profile.GET_CUSTOMER,
    notes.SERVICE: notes.COUNT_NOTES,
    timeline.SERVICE: timeline.COUNT_TIMELINE,
    insights.SERVICE: insights.GET_INSIGHTS,
}


async def _part(
    services: ServiceClient,
    section: str,
    workspace: str,
    customer_id: uuid.UUID,
    request_id: str,
    timeout: float | None,
) -> dict[str, Any] | None:
    """A service's part as JSON data, or None if it did not answer (not_found counts: empty)."""
    operation = PARTS[section]
    request: BaseModel = operation.request.model_validate(
        {"workspace": workspace, "customer_id": str(customer_id)}
    )
    try:
        reply: BaseModel = await services.call(operation, request, request_id=request_id, timeout=timeout)
    except ServiceUnavailable:
        return None
    except NotFound:
        if section == profile.SERVICE:
            raise
        return {}
    return reply.model_dump(mode="json")


async def assemble_view(
    services: ServiceClient,
    workspace: str,
    customer_id: uuid.UUID,
    request_id: str,
    *,
    cache: ViewCache | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """The profile view of CONTRACT.md §4; NotFound if the customer is not in the workspace."""
    customer = str(customer_id)
    parts, keys = await cache.read(workspace, customer) if cache else ({}, {})
    missing = [section for section in PARTS if section not in parts]
    fetched = await asyncio.gather(
        *(_part(services, section, workspace, customer_id, request_id, timeout) for section in missing)
    )
    fresh = {section: part for section, part in zip(missing, fetched, strict=True) if part is not None}
    if cache:
        await cache.store(keys, fresh)
    parts.update(fresh)
    return render_view(customer, parts)


def render_view(customer_id: str, parts: dict[str, Any]) -> dict[str, Any]:
    """The view's JSON from the parts that answered; absent parts are null/zero and `unavailable`."""
    profile_part = parts.get(profile.SERVICE)
    insights_part = parts.get(insights.SERVICE)
    counts_notes = parts.get(notes.SERVICE) or {}
    counts_timeline = parts.get(timeline.SERVICE) or {}
    header = None
    if profile_part is not None:
        sentiment = insights_part.get("sentiment") if insights_part is not None else None
        header = {**profile_part["header"], "sentiment": sentiment}
    return {
        "id": customer_id,
        "header": header,
        "profile": profile_part["profile"] if profile_part is not None else None,
        "ai_profile": insights_part.get("ai_profile") if insights_part is not None else None,
        "counts": {
            "notes": counts_notes.get("count", 0),
            "conversations": counts_timeline.get("conversations", 0),
            "escalations": counts_timeline.get("escalations", 0),
        },
        "unavailable": [section for section in PARTS if section not in parts],
    }


async def ensure_customer(
    services: ServiceClient, workspace: str, customer_id: uuid.UUID, request_id: str
) -> None:
    """NotFound unless the profile service knows the customer; a silent profile service passes.

    For lists served by services that cannot tell an unknown customer from one with nothing yet.
    """
    try:
        await services.call(
            profile.GET_CUSTOMER,
            profile.GetCustomer(workspace=workspace, customer_id=customer_id),
            request_id=request_id,
        )
    except ServiceUnavailable:
        return


def etag_of(view: dict[str, Any]) -> str | None:
    """`"<version>"` of the profile part, if it rendered."""
    if view["profile"] is None:
        return None
    return f'"{view["profile"]["version"]}"'


def view_response(view: dict[str, Any]) -> Response:
    """The view as JSON with its ETag.

    Serialised here with orjson: the view is plain JSON data already, and FastAPI's generic
    encoder walking it costs more than everything else a cached view needs.
    """
    etag = etag_of(view)
    return Response(dumps(view), media_type="application/json", headers={"ETag": etag} if etag else None)


async def view_answer(
    request: Request,
    services: ServiceClient,
    cache: ViewCache,
    workspace: str,
    customer_id: uuid.UUID,
    request_id: str,
) -> Response:
    """The profile view as a route's answer: parts through the cache, within the view's deadline."""
    timeout = request.app.state.settings.view_timeout
    view = await assemble_view(services, workspace, customer_id, request_id, cache=cache, timeout=timeout)
    return view_response(view)
