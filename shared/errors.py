"""Failures a service reports to its caller: one kind per outcome, one field list for bad input.

Domain rules raise these; the request/reply runtime sends them as `{"error": code, "detail",
"errors", "extra"}` and the caller gets the same class back, which the gateway answers as
problem+json with the members of `extra` beside the standard ones (e.g. `merged_into`).
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

PROBLEM_JSON = "application/problem+json"


class FieldError(BaseModel):
    """What is wrong with one field of the input."""

    model_config = ConfigDict(frozen=True)

    field: str
    message: str


class ServiceError(Exception):
    """A failure reported to the caller; `code` names the kind on the wire."""

    code: ClassVar[str] = "internal"

    def __init__(
        self, detail: str = "", errors: Sequence[FieldError] = (), extra: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{self.code}: {detail}")
        self.detail = detail
        self.errors = list(errors)
        # What else the caller should know, as JSON members (a merged customer's `merged_into`).
        self.extra = dict(extra or {})


class Rejected(ServiceError):
    """Input that breaks a rule; `errors` names each field and what is wrong with it."""

    code = "invalid"

    def __init__(self, errors: Sequence[FieldError], detail: str = "") -> None:
        super().__init__(detail or "; ".join(f"{e.field}: {e.message}" for e in errors), errors)

    @classmethod
    def field(cls, name: str, message: str) -> "Rejected":
        """A rejection naming one field."""
        return cls([FieldError(field=name, message=message)])


@contextmanager
def rejecting(field: str) -> Iterator[None]:
    """A ValueError a value rule raises inside becomes Rejected naming `field`, with the rule's message."""
    try:
        yield
    except ValueError as exc:
        raise Rejected.field(field, str(exc)) from None


class NotFound(ServiceError):
    """The thing asked about does not exist in the caller's workspace."""

    code = "not_found"


class Conflict(ServiceError):
    """The change conflicts with existing data (a taken name)."""

    code = "conflict"


class Forbidden(ServiceError):
    """The caller may not do this."""

    code = "forbidden"


class PreconditionFailed(ServiceError):
    """The write was conditioned on a version the data is no longer at."""

    code = "precondition_failed"


class Unavailable(ServiceError):
    """A service this one depends on did not answer."""

    code = "unavailable"


_BY_CODE: dict[str, type[ServiceError]] = {
    kind.code: kind for kind in (NotFound, Conflict, Forbidden, PreconditionFailed, Unavailable)
}


def error_from_wire(
    code: str, detail: str, errors: Sequence[FieldError], extra: Mapping[str, str] | None = None
) -> ServiceError:
    """The failure a reply reports, as the class the service raised."""
    if code == Rejected.code:
        return Rejected(errors, detail)
    kind = _BY_CODE.get(code, ServiceError)
    return kind(detail, errors, extra)


def problem(status: int, detail: str = "", errors: Sequence[FieldError] = ()) -> dict[str, Any]:
    """The application/problem+json body of an HTTP error (CONTRACT.md §3)."""
    title = HTTPStatus(status).phrase
    return {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail or title,
        "errors": [error.model_dump() for error in errors],
    }
