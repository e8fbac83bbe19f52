"""Helpers tests share: waiting on conditions, freezing a server, publishing connector events, tokens."""

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel

from gateway.auth import Role, issue_token
from shared.events import EventKind, EventType
from shared.ids import customer_id_for
from shared.jsonutil import dumps, loads
from shared.messages.profile import CustomerMerged, IdentityRef
from shared.nats import connect, declare_stream
from shared.outbox import publish_now
from shared.registry import definitions
from shared.rpc import OperationInfo, reply_data
from shared.runtime import Deployable, own_streams
from shared.subjects import chat_subject, event_stream

T = TypeVar("T")

JWT_SECRET = "test-secret-for-the-suite-only-0123456789"

# The suite's own NATS user: may publish and subscribe anything (it stands in for connectors,
# operators and other services); every process the suite starts signs in as its own role.
SUITE_USER = "suite"


def suite_password(user: str) -> str:
    """The password a NATS user or database role has on the suite's servers."""
    return f"{user}-password-for-the-suite-only"


async def connect_suite(url: str, name: str) -> NATS:
    """A connection as the suite's own NATS user."""
    return await connect(url, name, SUITE_USER, suite_password(SUITE_USER))


async def wait_for(
    condition: Callable[[], Awaitable[T | None]],
    *,
    timeout: float = 15.0,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        value = await condition()
        if value:
            return value
        last = value
        await asyncio.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout}s (last value: {last!r})")


@contextlib.asynccontextmanager
async def frozen(pid: int) -> AsyncIterator[None]:
    """Stop process `pid` (SIGSTOP) for the block, entered once every thread of it has stopped.

    kill() returns before the stop takes: the thread picked to take the signal must run first, and
    until it does the others go on serving. Up to 4 ms was measured on an idle machine, time
    enough for a server to answer the request a test sends next (and the test to wait in vain).
    """

    async def stopped() -> bool:
        return _all_threads_stopped(pid)

    os.kill(pid, signal.SIGSTOP)
    try:
        await wait_for(stopped, interval=0.001, what=f"process {pid} stopped")
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def _all_threads_stopped(pid: int) -> bool:
    tasks = Path(f"/proc/{pid}/task")
    if not tasks.is_dir():
        return True  # no /proc to ask (not Linux): the stop is taken on trust
    states = []
    for task in tasks.iterdir():
        with contextlib.suppress(FileNotFoundError):  # a thread that ended meanwhile
            states.append((task / "stat").read_text().rsplit(")", 1)[1].split()[0])
    return all(state == "T" for state in states)


def customer_id(workspace: str, platform: str, platform_user_id: str) -> str:
    """The id the services give the customer of a platform identity."""
    return str(customer_id_for(workspace, platform, platform_user_id))


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem+json body of a response that must have `status`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def new_workspace() -> str:
    """A workspace id no other test uses."""
    return f"ws-{uuid.uuid4().hex[:10]}"


def connector_event(platform: str, platform_user_id: str, **fields: Any) -> dict[str, Any]:
    """A connector event body with a fresh event id and the current time."""
    return {
        "event_id": fields.pop("event_id", None) or uuid.uuid4().hex,
        "occurred_at": fields.pop("occurred_at", None) or datetime.now(UTC).isoformat(),
        "platform": platform,
        "platform_user_id": platform_user_id,
        **fields,
    }


async def publish_event(
    js: JetStreamContext,
    workspace: str,
    event_type: str,
    body: dict[str, Any] | bytes,
    *,
    msg_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Publish as a connector would: chat.v1.<workspace>.<type> with Nats-Msg-Id = event id."""
    data = body if isinstance(body, bytes) else dumps(body)
    event_id = msg_id or (body.get("event_id") if isinstance(body, dict) else None) or uuid.uuid4().hex
    await js.publish(
        chat_subject(workspace, event_type), data, headers={**(headers or {}), "Nats-Msg-Id": str(event_id)}
    )


def token(
    workspace: str,
    *,
    role: Role = "agent",
    sub: str = "user-1",
    name: str = "Test User",
    ttl_seconds: int = 3600,
    secret: str = JWT_SECRET,
) -> str:
    """A bearer token for the gateway under test."""
    return issue_token(secret, sub=sub, name=name, workspace=workspace, role=role, ttl_seconds=ttl_seconds)


def auth(workspace: str, **kwargs: Any) -> dict[str, str]:
    """Authorization header for `token(...)`."""
    return {"Authorization": f"Bearer {token(workspace, **kwargs)}"}


async def call_json(nc: NATS, operation: OperationInfo, payload: dict[str, Any]) -> Any:
    """Call an operation with a JSON body as any client could; its JSON result, or its ServiceError."""
    msg = await nc.request(operation.subject, dumps(payload), timeout=5)
    return reply_data(msg.data)


D = TypeVar("D", bound=BaseModel)


async def publish_internal(
    js: JetStreamContext, event_type: EventType[D], workspace: str, data: D, *, event_id: str | None = None
) -> str:
    """Publish an internal event as its service's outbox relay would; its event id."""
    event_id = event_id or uuid.uuid4().hex
    await publish_now(js, event_type, workspace, data, event_id=event_id)
    return event_id


async def try_both_workspaces(
    url: str, mine: str, theirs: str, count: Callable[[str], Awaitable[int]]
) -> None:
    """Publish a contact into `theirs`, then one into `mine`, with connector credentials `url`;
    assert that only `mine` got a customer (`count` counts a workspace's customers)."""
    connector = await connect(url, "confined-connector")
    try:
        # A refused publish (a permissions violation) never reaches the CHAT stream.
        await connector.publish(
            chat_subject(theirs, "contact.seen"), dumps(connector_event("web", "intruder"))
        )
        await publish_event(connector.jetstream(), mine, "contact.seen", connector_event("web", "welcome"))
    finally:
        await connector.close()

    async def arrived() -> bool:
        return bool(await count(mine))

    await wait_for(arrived, what="the customer of its own workspace")
    assert await count(theirs) == 0


# Prometheus samples by name and labels, as one scrape of a /metrics endpoint found them.
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def new_traceparent() -> tuple[str, str]:
    """(trace id, W3C traceparent) of a new sampled trace, as a caller would send it."""
    trace_id = secrets.token_hex(16)
    return trace_id, f"00-{trace_id}-{secrets.token_hex(8)}-01"


async def scrape(admin_url: str) -> Samples:
    """Every sample a process's admin port serves on /metrics."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(admin_url + "/metrics")
    response.raise_for_status()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 if the process has not recorded it."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def growth(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How much a sample grew from one scrape to a later one."""
    return sample(after, name, **labels) - sample(before, name, **labels)


async def declare_streams_bound_by(js: JetStreamContext, *services: Deployable) -> None:
    """The streams these services bind to, declared as their owners declare them: for a test that
    runs services without the ones that own those streams."""
    owned = [(*own_streams(owner.name), *owner.declares) for owner in definitions()]
    specs = {spec.name: spec for streams in owned for spec in streams}
    for stream in sorted({stream for service in services for stream in service.binds}):
        await declare_stream(js, specs[stream])


async def published(js: JetStreamContext, event_type: EventKind, workspace: str) -> list[dict[str, Any]]:
    """Envelopes of one type in one workspace that its service published (through its outbox), in order."""
    stream = event_stream(event_type.service)
    info = await js.stream_info(stream)
    wanted = event_type.subject(workspace)
    found: list[dict[str, Any]] = []
    if info.state.messages == 0:
        return found
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        stored = await js.get_msg(stream, seq)
        if stored.subject == wanted:
            found.append(loads(stored.data or b""))
    return found


def customer_merged(target: str, source: str, at: datetime) -> CustomerMerged:
    """customer.merged as the profile service announces merging `source` (one identity, its key
    the source's id) into `target`."""
    return CustomerMerged(
        customer_id=target,
        source_id=source,
        identities=[IdentityRef(identity_key=uuid.UUID(source), epoch=0)],
        created_at=at,
        merged_at=at,
    )


def run_python(code: str, **environ: str) -> str:
    """What a fresh interpreter running `code` prints (this checkout on its path)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": ".", **environ},
        check=True,
    )
    return done.stdout.strip()
