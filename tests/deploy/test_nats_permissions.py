"""The closed bus (CONTRACT.md §8) on a real NATS server: who may connect, and what each user may do.

The table is built from the permission lists deploy/nats_auth.py derives from the code, so every
subject a role is granted is tried, and a sample of what it is not granted is refused.
"""

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.errors import NoServersError
from nats.js import JetStreamContext

from deploy.nats_auth import Permissions, connector_permissions, deployment_accounts, roles
from shared.registry import definitions
from shared.runtime import ServiceRuntime
from tests.shared import probe
from tests.support import (
    declare_streams_bound_by,
    new_workspace,
    suite_password,
    try_both_workspaces,
    wait_for,
)

ROLES = roles([*definitions(), probe.definition])
# Subjects of every kind the system uses: each role is refused the ones it was not granted.
SAMPLES = (
    "chat.v1.ws-x.contact.seen",
    "agent.v1.ws-x.context",
    "profile.v1.ws-x.customer.updated",
    "notes.v1.ws-x.note.added",
    "rpc.profile.customer.update",
    "rpc.timeline.conversation.transcript",
    "$JS.API.STREAM.DELETE.CHAT",
    "$JS.API.STREAM.CREATE.NOTES",
    "_INBOX.gateway.stolen",
    "dlq.profile.profile-chat",
)


def concrete(subject: str) -> str:
    """One subject a permission pattern admits."""
    return ".".join(
        "ws-x" if token == "*" else "any" if token == ">" else token for token in subject.split(".")
    )


def admits(patterns: tuple[str, ...], subject: str) -> bool:
    """Whether NATS subject `subject` matches one of `patterns` (`*` one token, `>` the rest)."""
    tokens = subject.split(".")
    for pattern in patterns:
        wanted = pattern.split(".")
        if (
            wanted[-1] == ">"
            and len(tokens) >= len(wanted)
            and all(w in ("*", t) for w, t in zip(wanted[:-1], tokens, strict=False))
        ):
            return True
        if len(wanted) == len(tokens) and all(w in ("*", t) for w, t in zip(wanted, tokens, strict=True)):
            return True
    return False


class Recorder:
    """A connection as one user, with the permission violations the server reported.

    The server reports a violation asynchronously, after the request that caused it, in order:
    once the violation of a subject nobody may use has arrived, every earlier one has too.
    """

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.nc: NATS | None = None

    async def open(self, url: str, user: str) -> "Recorder":
        async def on_error(exc: Exception) -> None:
            self.violations.append(str(exc).lower())

        self.nc = await nats.connect(
            url,
            user=user,
            password=suite_password(user),
            inbox_prefix=f"_INBOX.{user}",
            error_cb=on_error,
            max_reconnect_attempts=0,
        )
        return self

    async def use(self, subject: str, *, subscribe: bool) -> None:
        """Publish to, or subscribe to, `subject`."""
        assert self.nc is not None
        if subscribe:
            await self.nc.subscribe(subject)
        else:
            await self.nc.publish(subject, b"{}")

    def reported(self, subject: str) -> bool:
        """Whether the server reported a violation on `subject`."""
        return any(f'"{subject.lower()}"' in violation for violation in self.violations)

    async def settle(self) -> None:
        """Wait until every violation of what this connection did so far has arrived."""
        sentinel = f"sentinel.{uuid.uuid4().hex}"
        await self.use(sentinel, subscribe=False)

        async def arrived() -> bool:
            return self.reported(sentinel)

        await wait_for(arrived, what="the sentinel's violation")


async def test_a_connection_without_credentials_is_refused(nats_url: str, nats_server: object) -> None:
    if nats_server is None:
        pytest.skip("an external NATS server: its authorization is its operator's")
    with pytest.raises((nats.errors.Error, NoServersError)):
        await nats.connect(nats_url, max_reconnect_attempts=0, connect_timeout=2, allow_reconnect=False)


async def test_a_wrong_password_is_refused(nats_url: str, nats_server: object) -> None:
    if nats_server is None:
        pytest.skip("an external NATS server: its authorization is its operator's")
    with pytest.raises((nats.errors.Error, NoServersError)):
        await nats.connect(
            nats_url, user="gateway", password="guess", max_reconnect_attempts=0, allow_reconnect=False
        )


@pytest.mark.parametrize("role", sorted(ROLES))
async def test_each_role_may_use_every_subject_it_is_granted(nats_url: str, role: str) -> None:
    rules = ROLES[role]
    user = await Recorder().open(nats_url, role)
    tried = [(concrete(s), False) for s in rules.publish] + [(concrete(s), True) for s in rules.subscribe]
    for subject, subscribe in tried:
        await user.use(subject, subscribe=subscribe)
    await user.settle()
    assert [subject for subject, _ in tried if user.reported(subject)] == []


@pytest.mark.parametrize("role", sorted(ROLES))
async def test_each_role_is_refused_what_it_is_not_granted(nats_url: str, role: str) -> None:
    rules = ROLES[role]
    user = await Recorder().open(nats_url, role)
    tried = [(s, False) for s in SAMPLES if not admits(rules.publish, s)]
    tried += [(s, True) for s in SAMPLES if not admits(rules.subscribe, s)]
    for subject, subscribe in tried:
        await user.use(subject, subscribe=subscribe)
    await user.settle()
    assert [subject for subject, _ in tried if not user.reported(subject)] == []


def test_a_connector_may_publish_events_and_ask_for_context_only() -> None:
    assert ROLES["connector"] == Permissions(("chat.v1.>", "agent.v1.*.context"), ("_INBOX.connector.>",))


def test_a_workspace_connector_is_confined_to_its_workspace() -> None:
    confined = connector_permissions("connector-1", "acme")
    assert confined.publish == ("chat.v1.acme.>", "agent.v1.acme.context")
    assert not admits(confined.publish, "chat.v1.other.contact.seen")


async def test_a_workspace_connector_cannot_create_customers_in_another_workspace(
    start_service: Callable[..., Awaitable[ServiceRuntime]],
    add_nats_user: Callable[[str, Permissions], str],
    js: JetStreamContext,
) -> None:
    from services.profile.app import definition
    from services.profile.config import Settings

    await declare_streams_bound_by(js, definition)
    runtime = await start_service(definition, Settings)
    mine, theirs = new_workspace(), new_workspace()
    user = f"connector-{uuid.uuid4().hex[:6]}"
    url = add_nats_user(user, connector_permissions(user, mine))
    assert runtime.pool is not None
    pool = runtime.pool

    async def customers(workspace: str) -> int:
        return int(await pool.fetchval("SELECT count(*) FROM customers WHERE workspace = $1", workspace))

    await try_both_workspaces(url, mine, theirs, customers)


def test_the_deployment_accounts_file_is_generated_from_the_code() -> None:
    committed = Path(__file__).resolve().parents[2] / "deploy" / "nats" / "accounts.conf"
    assert committed.read_text() == deployment_accounts(), (
        "deploy/nats/accounts.conf is stale: run `make docs`"
    )
