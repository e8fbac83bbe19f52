"""FastAPI dependencies for route handlers: service client, cache, live hub, request id; path ids.

All are `async def`: FastAPI runs a plain `def` dependency in a worker thread, a thread hop per
request for what is an attribute lookup.
"""

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request

from gateway.cache import ViewCache
from gateway.clients import ServiceClient
from gateway.live import LiveHub


async def services(request: Request) -> ServiceClient:
    """The gateway's NATS client to the services."""
    client: ServiceClient = request.app.state.services
    return client


async def view_cache(request: Request) -> ViewCache:
    """The profile-view cache."""
    cache: ViewCache = request.app.state.view_cache
    return cache


async def live_hub(request: Request) -> LiveHub:
    """This process's live-update hub."""
    hub: LiveHub = request.app.state.live
    return hub


async def request_id(request: Request) -> str:
    """The id of this request, carried to the services in a NATS header."""
    return str(request.state.request_id)


Services = Annotated[ServiceClient, Depends(services)]
Cache = Annotated[ViewCache, Depends(view_cache)]
Live = Annotated[LiveHub, Depends(live_hub)]
RequestId = Annotated[str, Depends(request_id)]

# Routes write their ids `{customer_id:uuid}`: a path segment that is no UUID is not one of them (so
# /v1/customers/bulk-tags is never taken for a customer); it names nothing, 404. Typed, an id is a
# `format: uuid` in the OpenAPI, and a route written `{customer_id}` still answers 404 for a non-UUID
# (gateway/errors.py).
CustomerId = Annotated[uuid.UUID, Path(description="A customer's id")]
TagId = Annotated[uuid.UUID, Path(description="A tag's id")]
NoteId = Annotated[uuid.UUID, Path(description="A note's id")]
ErasureId = Annotated[uuid.UUID, Path(description="An erasure's id")]
