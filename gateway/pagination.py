"""Opaque, signed page cursors and the `limit` rule (CONTRACT.md §3)."""

import base64
import hashlib
import hmac
import re
from typing import Annotated

from fastapi import Depends, Query, Request

from gateway.errors import Problem, field_error
from shared.validation import Checked, adding

Limit = Annotated[int, Query(ge=1, le=100, description="Items per page")]
DEFAULT_LIMIT = 25

# What seal_cursor makes: the raw cursor in unpadded URL-safe base64, a dot, 24 hex digits of its HMAC.
_SEALED = r"[A-Za-z0-9_-]*\.[0-9a-f]{24}"
NOT_ISSUED = "not a cursor this server issued"


def _issued_shape(cursor: str) -> str:
    if cursor and not re.fullmatch(_SEALED, cursor):
        raise ValueError(NOT_ISSUED)
    return cursor


Cursor = Annotated[
    Annotated[str, Checked(_issued_shape, adding(lambda: {"pattern": f"^(?:{_SEALED})?$"}))] | None,
    Query(
        max_length=4096,
        description="The `next_cursor` of the previous page (none or empty: the first page). "
        "Only cursors this server issued are accepted (else 422).",
    ),
]


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"cursor:" + secret.encode()).digest()


def seal_cursor(secret: str, raw: str | None) -> str | None:
    """Wrap a service's raw cursor so that only cursors we issued come back."""
    if raw is None:
        return None
    body = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    tag = hmac.new(_key(secret), body.encode(), hashlib.sha256).hexdigest()[:24]
    return f"{body}.{tag}"


def open_cursor(secret: str, cursor: str | None) -> str | None:
    """The raw cursor inside a sealed one; 422 for a cursor the server did not issue."""
    if cursor is None or cursor == "":
        return None
    body, _, tag = cursor.partition(".")
    expected = hmac.new(_key(secret), body.encode(), hashlib.sha256).hexdigest()[:24]
    if not tag or not hmac.compare_digest(tag, expected):
        raise Problem(422, "invalid cursor", errors=field_error("cursor", NOT_ISSUED))
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except ValueError:
        raise Problem(422, "invalid cursor", errors=field_error("cursor", "malformed")) from None


class Cursors:
    """Seals and opens cursors with the gateway's secret."""

    def __init__(self, request: Request) -> None:
        self._secret: str = request.app.state.settings.jwt_secret

    def seal(self, raw: str | None) -> str | None:
        """Outgoing cursor."""
        return seal_cursor(self._secret, raw)

    def open(self, cursor: str | None) -> str | None:
        """Incoming cursor."""
        return open_cursor(self._secret, cursor)


async def page_cursors(request: Request) -> Cursors:
    """FastAPI dependency: the request's cursor sealer (async: no worker-thread hop)."""
    return Cursors(request)


PageCursors = Annotated[Cursors, Depends(page_cursors)]
