"""Calls from the gateway to the services over NATS request/reply, with deadlines.

A failure a service reports arrives as its ServiceError, a silent service as ServiceUnavailable;
gateway/errors.py answers both as problem+json, and the profile view degrades on the second.
"""

from typing import TypeVar

from nats.aio.client import Client as NATS
from pydantic import BaseModel

from shared.rpc import Operation, call, request_headers

Req = TypeVar("Req", bound=BaseModel)
Rep = TypeVar("Rep", bound=BaseModel)


class ServiceClient:
    """One NATS connection shared by every request of a gateway process."""

    def __init__(self, nc: NATS, timeout: float) -> None:
        self.nc = nc
        self.timeout = timeout

    async def call(
        self,
        operation: Operation[Req, Rep],
        request: Req,
        *,
        request_id: str | None = None,
        timeout: float | None = None,
    ) -> Rep:
        """Call an operation within the deadline; its reply."""
        return await call(
            self.nc,
            operation,
            request,
            timeout=timeout or self.timeout,
            headers=request_headers(request_id),
        )
