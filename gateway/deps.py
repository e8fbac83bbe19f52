"""FastAPI dependencies for route handlers: service client, cache, live hub, request id."""

from typing import Annotated

from fastapi import Depends, Request

from gateway.cache import ViewCache
from gateway.clients import ServiceClient
from gateway.live import LiveHub


def services(request: Request) -> ServiceClient:
    """The gateway's NATS client to the services."""
    client: ServiceClient = request.app.state.services
    return client


def view_cache(request: Request) -> ViewCache:
    """The profile-view cache."""
    cache: ViewCache = request.app.state.view_cache
    return cache


def live_hub(request: Request) -> LiveHub:
    """This process's live-update hub."""
    hub: LiveHub = request.app.state.live
    return hub


def request_id(request: Request) -> str:
    """The id of this request, carried to the services in a NATS header."""
    return str(request.state.request_id)


Services = Annotated[ServiceClient, Depends(services)]
Cache = Annotated[ViewCache, Depends(view_cache)]
Live = Annotated[LiveHub, Depends(live_hub)]
RequestId = Annotated[str, Depends(request_id)]
