"""FastAPI dependencies for route handlers: service client, cache, live hub, request id.

All are `async def`: FastAPI runs a plain `def` dependency in a worker thread, a thread hop per
request for what is an attribute lookup.
"""

from typing import Annotated

from fastapi import Depends, Request

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
