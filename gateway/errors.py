"""Every error as application/problem+json (CONTRACT.md §3); bad input never becomes a 500."""

import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from shared.errors import PROBLEM_JSON, FieldError, ServiceError, problem
from shared.logging import get_logger
from shared.rpc import ServiceUnavailable

log = get_logger(__name__)

# What a service's reported failure means over HTTP.
_STATUS_OF_CODE = {
    "not_found": 404,
    "invalid": 422,
    "conflict": 409,
    "forbidden": 403,
    "precondition_failed": 412,
    "unavailable": 503,
}


class ProblemDetails(BaseModel):
    """An error answer (RFC 9457 problem details); `errors` names each field that is not valid."""

    # Some problems say more, e.g. where a merged customer went.
    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(description="Always `about:blank`: the status says what kind of problem it is.")
    title: str = Field(description="The status's reason phrase.")
    status: int
    detail: str = Field(description="What went wrong, for people.")
    errors: list[FieldError] = Field(description="Each field that is not valid, for a 422; else empty.")
    merged_into: uuid.UUID | None = Field(
        default=None,
        description="On a 404 for a customer merged into another: that other one (CONTRACT.md §7).",
    )


class Problem(Exception):
    """An error answered as problem+json."""

    def __init__(
        self,
        status: int,
        detail: str = "",
        *,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers or {}
        self.extra = extra or {}

    def response(self) -> Response:
        """The problem+json response."""
        # Extension members never replace the standard ones.
        body = {**self.extra, **problem(self.status, self.detail, self.errors)}
        return JSONResponse(body, status_code=self.status, media_type=PROBLEM_JSON, headers=self.headers)


def field_error(field: str, message: str) -> list[FieldError]:
    """The error list of a problem with one field."""
    return [FieldError(field=field, message=message)]


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def allowed_methods(scope: Scope) -> str:
    """The `Allow` of the resource a request names: the methods of every route of its path, and OPTIONS."""
    methods = {"OPTIONS"}
    for route in iter_route_contexts(scope["app"].routes):
        match, _ = route.matches(scope)
        if match != Match.NONE:
            methods |= route.methods or set()
    return ", ".join(sorted(methods))


def validation_errors(errors: Any) -> list[FieldError]:
    """The field list of pydantic/FastAPI validation errors."""
    out = []
    for err in errors:
        message = str(err.get("msg", "invalid"))
        if err.get("type") == "json_invalid":
            out.append(FieldError(field="body", message="malformed JSON"))
            continue
        if err.get("type") == "extra_forbidden":
            message = "is not editable" if err["loc"][0] == "body" else "is not allowed"
        out.append(FieldError(field=_field(err.get("loc", ())), message=message))
    return out


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception to a problem+json answer."""

    @app.exception_handler(Problem)
    async def on_problem(_request: Request, exc: Problem) -> Response:
        return exc.response()

    @app.exception_handler(ServiceError)
    async def on_service_error(_request: Request, exc: ServiceError) -> Response:
        return Problem(
            _STATUS_OF_CODE.get(exc.code, 502), exc.detail or exc.code, errors=exc.errors, extra=exc.extra
        ).response()

    @app.exception_handler(ServiceUnavailable)
    async def on_silent_service(_request: Request, exc: ServiceUnavailable) -> Response:
        return Problem(503, str(exc)).response()

    @app.exception_handler(RequestValidationError)
    async def on_validation(_request: Request, exc: RequestValidationError) -> Response:
        # A path id that cannot be one names nothing that exists (CONTRACT.md §2: 404).
        for error in exc.errors():
            if error["loc"][0] == "path":
                return Problem(404, f"{str(error['loc'][-1]).removesuffix('_id')} not found").response()
        return Problem(422, "the request is not valid", errors=validation_errors(exc.errors())).response()

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400:
            # FastAPI's only 400: a body it could not decode (e.g. not UTF-8). Bad input is a 422 here.
            return Problem(
                422, "the request is not valid", errors=field_error("body", "malformed JSON")
            ).response()
        if exc.status_code == 405:
            # The route that raised knows only its own methods; the resource may have more (RFC 9110).
            allow = {"Allow": allowed_methods(request.scope)}
            if request.method == "OPTIONS":
                return Response(status_code=204, headers=allow)
            return Problem(405, f"{request.method} is not allowed here", headers=allow).response()
        return Problem(exc.status_code, str(exc.detail or ""), headers=dict(exc.headers or {})).response()

    @app.exception_handler(Exception)
    async def on_unexpected(_request: Request, exc: Exception) -> Response:
        log.exception("unhandled_error", error=repr(exc))
        return Problem(500, "internal error").response()
