"""Which failures the consumer waits out as outages instead of counting against the event."""

import asyncpg
import pytest

from shared.consumer import is_outage
from shared.rpc import ServiceUnavailable


def _raised_while_handling(cause: BaseException, exc: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException:
            raise exc  # noqa: B904 - the implicit __context__ is what is under test
    except BaseException as raised:
        return raised


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        ServiceUnavailable("timeline.v1.transcript"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.InterfaceError("cannot call Transaction.__aexit__(): the underlying connection is closed"),
        _raised_while_handling(ConnectionResetError(), RuntimeError("while cleaning up")),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_a_dependency_outage_is_recognised(exc: BaseException) -> None:
    assert is_outage(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad event"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        TimeoutError(),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_a_failure_of_the_event_is_not_an_outage(exc: BaseException) -> None:
    assert not is_outage(exc)
