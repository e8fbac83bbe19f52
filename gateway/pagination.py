"""Opaque, signed page cursors and the `limit` rule (CONTRACT.md §3)."""

import base64
import hashlib
import hmac
import re
from typing import Annotated, Any, Protocol, Self, TypeVar

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


class Page(Protocol):
    """A service's page: whatever it holds, and the raw cursor of the next one."""

    next_cursor: str | None

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False) -> Self: ...


P = TypeVar("P", bound=Page)


class Paging:
    """A list route's `limit` and `cursor` query parameters, with the gateway's cursor sealer."""

    def __init__(self, cursors: Cursors, limit: int, cursor: str | None) -> None:
        self.limit = limit
        self._cursors = cursors
        self._cursor = cursor

    def cursor(self) -> str | None:
        """The service's raw cursor; 422 for a cursor this server did not issue."""
        return self._cursors.open(self._cursor)

    def sealed(self, page: P) -> P:
        """The page as the client gets it: its next cursor sealed."""
        return page.model_copy(update={"next_cursor": self._cursors.seal(page.next_cursor)})


async def paging(request: Request, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Paging:
    """FastAPI dependency: `limit` and `cursor` of a list route that takes no other query parameters."""
    return Paging(Cursors(request), limit, cursor)


# A route with query parameters of its own keeps `limit` and `cursor` in its signature instead:
# FastAPI validates a dependency's parameters first, which would reorder the fields of its 422.
PageQuery = Annotated[Paging, Depends(paging)]
