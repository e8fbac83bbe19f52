"""Calls from the gateway to the services over NATS request/reply, with deadlines."""

from typing import Any

from nats.aio.client import Client as NATS
from pydantic import BaseModel

from gateway.errors import Problem
from shared.rpc import RpcError, ServiceUnavailable, request
from shared.subjects import rpc_subject

_STATUS_OF_CODE = {
    "not_found": 404,
    "invalid": 422,
    "conflict": 409,
    "forbidden": 403,
    "precondition_failed": 412,
    "unavailable": 503,
}


def problem_from_rpc(exc: RpcError) -> Problem:
    """The HTTP answer for a failure a service reported."""
    status = _STATUS_OF_CODE.get(exc.code, 502)
    return Problem(status, exc.detail or exc.code, errors=exc.errors)


class ServiceClient:
    """One NATS connection shared by every request of a gateway process."""

    def __init__(self, nc: NATS, timeout: float) -> None:
        self.nc = nc
        self.timeout = timeout

    async def call(
        self,
        service: str,
        operation: str,
        payload: dict[str, Any] | BaseModel,
        *,
        request_id: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Call an operation; Problem(4xx) for what it reports, Problem(503) if it does not answer."""
        try:
            return await request(
                self.nc,
                rpc_subject(service, operation),
                payload,
                timeout=timeout or self.timeout,
                request_id=request_id,
            )
        except RpcError as exc:
            raise problem_from_rpc(exc) from None
        except ServiceUnavailable:
            raise Problem(503, f"the {service} service did not answer") from None

    async def try_call(
        self,
        service: str,
        operation: str,
        payload: dict[str, Any] | BaseModel,
        *,
        request_id: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Like call, but a silent service gives ServiceUnavailable to the caller to degrade on."""
        try:
            return await request(
                self.nc,
                rpc_subject(service, operation),
                payload,
                timeout=timeout or self.timeout,
                request_id=request_id,
            )
        except RpcError as exc:
            raise problem_from_rpc(exc) from None
