"""The error answers of every route in the OpenAPI, as application/problem+json (CONTRACT.md §3).

Most are derived from what a route is made of, so that every route of the app has them without
saying so: any request may be refused for U+0000 in its query string (422, gateway/middleware.py;
declared for the whole app in gateway/app.py), a body for its size (413), a path id for naming
nothing (404), and each dependency adds what it raises (a token: 401, 429; the admin role: 403; a
service call: 503). A route declares only the answers its own logic adds, with
`problem_responses(...)`: a 409, a 412, a 404 for something that is not in its path.
"""

from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from gateway.auth import current_principal, require_admin
from gateway.deps import services
from gateway.errors import ProblemDetails
from shared.errors import PROBLEM_JSON

PROBLEM_REF = "#/components/schemas/Problem"

_DESCRIPTIONS = {
    401: "Missing, malformed, wrongly signed or expired bearer token",
    403: "The caller's role or identity may not do this",
    404: "Not found in the caller's workspace",
    409: "Conflicts with existing data",
    412: "If-Match names a version the customer is no longer at",
    413: "Request body over 64 KiB",
    422: "The request is not valid (U+0000 in its query string included): `errors` names each field",
    429: "Rate limit of the workspace exceeded; see Retry-After",
    503: "A service did not answer in time",
}

_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    429: {
        "Retry-After": {
            "description": "Seconds until the workspace may send again",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}

# What a dependency answers instead of the route.
_RAISED_BY: dict[Callable[..., Any], tuple[int, ...]] = {
    current_principal: (401, 429),
    require_admin: (403,),
    services: (503,),
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route: each status as problem+json."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in sorted(statuses):
        response: dict[str, Any] = {
            "description": _DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
        }
        if status in _HEADERS:
            response["headers"] = _HEADERS[status]
        responses[status] = response
    return responses


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def derived_statuses(route: RouteContext) -> set[int]:
    """The error statuses a route may answer whatever its own logic does (422: app-wide)."""
    statuses: set[int] = set()
    if route.dependant.path_params:
        statuses.add(404)
    if route.body_field is not None:
        statuses.add(413)
    for call in _calls(route.dependant):
        statuses.update(_RAISED_BY.get(call, ()))
    return statuses


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI, each operation with its derived error answers and the problem schema."""
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for route in iter_route_contexts(app.routes):
        if not (isinstance(route.original_route, APIRoute) and route.include_in_schema):
            continue
        for method in route.methods or ():
            responses = document["paths"][route.path_format][method.lower()]["responses"]
            for status, response in problem_responses(*derived_statuses(route)).items():
                responses.setdefault(str(status), response)
            document["paths"][route.path_format][method.lower()]["responses"] = dict(
                sorted(responses.items())
            )
    schema = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = document["components"]["schemas"]
    definitions.update(schema.pop("$defs", {}))
    definitions["Problem"] = schema
    return document


def document_problems(app: FastAPI) -> None:
    """Serve `openapi_document` as the app's OpenAPI."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
