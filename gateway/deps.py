"""FastAPI dependencies for route handlers: the service client and the request id."""

from typing import Annotated

from fastapi import Depends, Request

from gateway.clients import ServiceClient


def services(request: Request) -> ServiceClient:
    """The gateway's NATS client to the services."""
    client: ServiceClient = request.app.state.services
    return client


def request_id(request: Request) -> str:
    """The id of this request, carried to the services in a NATS header."""
    return str(request.state.request_id)


Services = Annotated[ServiceClient, Depends(services)]
RequestId = Annotated[str, Depends(request_id)]
