"""The error answers each route declares in the OpenAPI: application/problem+json (CONTRACT.md §3).

FastAPI would otherwise document a 422 as `application/json` HTTPValidationError, which the gateway
never sends (gateway/errors.py answers every error as problem+json), and no other error at all.
"""

from http import HTTPStatus
from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"

# Inline (no $ref): the same body gateway.errors.problem_response writes.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail", "errors"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "merged_into": {
            "type": "string",
            "format": "uuid",
            "description": "On a 404 for a customer merged into another: that other one (CONTRACT.md §7)",
        },
    },
}

_DESCRIPTIONS = {
    401: "Missing, malformed, wrongly signed or expired bearer token",
    403: "The caller's role or identity may not do this",
    404: "Not found in the caller's workspace",
    409: "Conflicts with existing data",
    412: "If-Match names a version the customer is no longer at",
    413: "Request body over 64 KiB",
    422: "The request is not valid: `errors` names each field",
    429: "Rate limit of the workspace exceeded; see Retry-After",
    503: "A service did not answer in time",
}

# What any /v1 request may get: no valid token, input that is not valid (U+0000 in the query
# included, whatever the route's parameters), the workspace's rate limit.
_V1 = (401, 422, 429)


def problem_responses(*statuses: int, v1: bool = True) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route: each status (and, for /v1 routes, 401/422/429) as problem+json."""
    return {
        status: {
            "description": _DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}},
        }
        for status in sorted({*statuses, *(_V1 if v1 else ())})
    }
