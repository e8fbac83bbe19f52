"""Driving the running system under faults: publish like a connector, kill and restart, wait, observe.

Everything here talks to the real processes that deploy.stack.LocalStack starts: SIGKILL through
Process.kill() / EmbeddedServer.kill(), restarts through LocalStack.supervise_once() /
EmbeddedServer.start(), health through the services' own NATS operations and the gateway's
/readyz. Waits are conditions with deadlines (tests.support.wait_for), never fixed sleeps.
"""

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import orjson
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import PubAck

from deploy.stack import LocalStack
from shared.db import database_url_for
from shared.errors import NotFound
from shared.jsonutil import dumps
from shared.messages import insights, notes, profile, timeline
from shared.registry import SERVICE_NAMES
from shared.rpc import Empty, OperationInfo, call, ping_operation
from shared.subjects import CHAT_STREAM, chat_subject, event_stream
from tests.faults.model import Customer, Publication, Scenario
from tests.support import call_json, frozen, wait_for

# Streams whose durable consumers must have caught up before the final state is read.
CONSUMED_STREAMS = (CHAT_STREAM, *(event_stream(s) for s in SERVICE_NAMES))
PUBLISH_DEADLINE = 120.0
# A connector gives up waiting for an ack after this and publishes again under the same id.
ACK_TIMEOUT = 0.5
RECOVERY_DEADLINE = 120.0
PROGRESS_EVERY = 20.0
SETTLE_DEADLINE = 60.0


@dataclass
class FaultLog:
    """What the fault schedule did, for the summary."""

    kills: Counter[str] = field(default_factory=Counter)
    restarts: Counter[str] = field(default_factory=Counter)
    # Processes found dead that the schedule had not just killed (crashed during an outage).
    crashes: Counter[str] = field(default_factory=Counter)
    recovery_seconds: dict[str, list[float]] = field(default_factory=dict)
    mid_transaction: Counter[str] = field(default_factory=Counter)
    # (consumer, event id) committed after NATS was gone, so that their acks could never arrive.
    committed_unacked: set[tuple[str, str]] = field(default_factory=set)
    # Deliveries JetStream still awaited acks for (or had yet to deliver) once NATS was back.
    unacked_after_restart: dict[str, tuple[int, int]] = field(default_factory=dict)
    commit_ack_attempts: int = 0
    stalls: int = 0
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        """Keep a remark for the summary and show it now."""
        self.notes.append(text)
        print(f"[faults] {text}", flush=True)


class System:
    """The running stack as the fault suite sees it: processes, servers, NATS, databases."""

    def __init__(self, stack: LocalStack, env: dict[str, str], nc: NATS, rpc: NATS, workspace: str) -> None:
        self.stack = stack
        self.env = env
        # As the operator: streams, consumers, dead letters. As the gateway: the services' operations.
        self.nc = nc
        self.rpc = rpc
        self.js: JetStreamContext = nc.jetstream()
        self.workspace = workspace
        self.log = FaultLog()
        self._probe_customer = str(uuid.uuid4())

    # --- databases ------------------------------------------------------------------------------

    def database_url(self, service: str) -> str:
        """A service's own database."""
        return database_url_for(self.env["DATABASE_URL"], service)

    async def query(self, service: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        """One query on a service's database over a short-lived connection (survives restarts)."""
        conn = await asyncpg.connect(self.database_url(service), timeout=5)
        try:
            await conn.set_type_codec(
                "jsonb", encoder=lambda v: orjson.dumps(v).decode(), decoder=orjson.loads, schema="pg_catalog"
            )
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    async def inbox(self, service: str) -> set[tuple[str, str]]:
        """(consumer, event id) of every event a service's consumers have committed."""
        rows = await self.query(service, "SELECT consumer, event_id FROM inbox")
        return {(row["consumer"], row["event_id"]) for row in rows}

    async def writing_transactions(self, conn: asyncpg.Connection, service: str) -> int:
        """Transactions applying events in a service's database that have written and not yet ended."""
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND backend_xid IS NOT NULL "
                "AND pid <> pg_backend_pid() AND query NOT LIKE $2 AND query NOT LIKE $3",
                service,
                # Not the outbox relay: it holds row locks while it publishes, no inbox rows.
                "%ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED%",
                "%SET published_at%",
            )
        )

    # --- health ---------------------------------------------------------------------------------

    async def _answers(self, service: str) -> bool:
        """The service answers on NATS with a query that reads its database."""
        probe: dict[str, Any] = {"workspace": self.workspace, "customer_id": self._probe_customer}
        operations: dict[str, tuple[OperationInfo, dict[str, Any]]] = {
            "profile": (profile.LIST_CUSTOMERS, {"workspace": self.workspace, "limit": 1}),
            "notes": (notes.COUNT_NOTES, probe),
            "timeline": (timeline.COUNT_TIMELINE, probe),
            "insights": (insights.GET_INSIGHTS, probe),
        }
        operation, payload = operations[service]
        try:
            await call(self.rpc, ping_operation(service), Empty(), timeout=1.0)
            await call_json(self.rpc, operation, payload)
        except Exception:
            return False
        return True

    async def _gateways_ready(self) -> bool:
        try:
            async with httpx.AsyncClient(timeout=3) as client:
                for url in self.stack.gateway_urls:
                    if (await client.get(url + "/readyz")).status_code != 200:
                        return False
        except httpx.HTTPError:
            return False
        return True

    def starts(self, name: str) -> int:
        """How often a service process has finished starting (its log's `service_started` lines)."""
        path = self.stack.processes[name].log_path
        return path.read_text(errors="replace").count('"service_started"') if path.exists() else 0

    def restart_dead(self, expected: str | None = None) -> list[str]:
        """Restart every dead process as `make run`'s supervisor does; count unexpected crashes."""
        restarted = self.stack.supervise_once()
        for name in restarted:
            self.log.restarts[name] += 1
            if name != expected:
                self.log.crashes[name] += 1
                self.log.note(f"{name} had exited on its own; supervise_once restarted it")
        return restarted

    async def healthy(self, expected: str | None = None) -> bool:
        """Every process runs, every service answers from its database, every gateway is ready."""
        self.restart_dead(expected)
        if not (self.nc.is_connected and self.rpc.is_connected):
            return False
        answers = await asyncio.gather(*(self._answers(s) for s in SERVICE_NAMES), self._gateways_ready())
        return all(answers)

    async def wait_healthy(self, expected: str | None = None, what: str = "the system") -> None:
        """Wait (with a deadline) until healthy()."""
        await wait_for(
            lambda: self.healthy(expected),
            timeout=RECOVERY_DEADLINE,
            interval=0.25,
            what=f"{what} healthy again",
        )

    # --- faults ---------------------------------------------------------------------------------

    @property
    def server_names(self) -> dict[str, str]:
        """Fault target → embedded server key, for the servers this stack started itself."""
        return {
            target: key
            for target, key in (("nats-server", "nats"), ("postgres", "postgres"), ("redis", "redis"))
            if key in self.stack.servers
        }

    async def kill_process(self, name: str, *, mid_transaction: bool = True) -> None:
        """SIGKILL a service or gateway process, preferably while its service is inside a database
        transaction (with replicas: any replica's)."""
        service = self.stack.processes[name].service
        if mid_transaction and service in SERVICE_NAMES:
            caught = await self._await_writing_transaction(service, timeout=3.0)
            if caught:
                self.log.mid_transaction[name] += 1
        self.stack.processes[name].kill()
        self.log.kills[name] += 1

    async def _await_writing_transaction(self, service: str, *, timeout: float) -> bool:
        conn = await asyncpg.connect(database_url_for(self.env["DATABASE_URL"], "postgres"), timeout=5)
        try:
            await wait_for(
                lambda: self.writing_transactions(conn, service),
                timeout=timeout,
                interval=0.002,
                what=f"{service} inside a writing transaction",
            )
            return True
        except AssertionError:
            return False  # killed outside a transaction, then: still a crash worth having
        finally:
            await conn.close()

    async def kill_server(self, target: str) -> None:
        """SIGKILL an embedded server (and everything it started)."""
        server = self.stack.servers[self.server_names[target]]
        await asyncio.to_thread(server.kill)
        self.log.kills[target] += 1

    async def start_server(self, target: str) -> None:
        """Start a killed server again on its port and data directory."""
        server = self.stack.servers[self.server_names[target]]
        await asyncio.to_thread(server.start)
        self.log.restarts[target] += 1

    async def crash_and_recover(self, target: str) -> None:
        """One fault: SIGKILL `target`, restart it, wait until everything is healthy again."""
        started = time.monotonic()
        if target in self.stack.processes:
            starts = self.starts(target)
            await self.kill_process(target)
            self.restart_dead(expected=target)
            if self.stack.processes[target].service in SERVICE_NAMES:
                # This very process is back, not merely its service (another replica answers too).
                await wait_for(
                    lambda: _true_if(self.starts(target) > starts),
                    timeout=RECOVERY_DEADLINE,
                    interval=0.25,
                    what=f"{target} started again",
                )
        elif target in self.server_names:
            await self.kill_server(target)
            await self.start_server(target)
        else:
            self.log.note(f"{target} is an external server (its *_URL is set): not killed")
            return
        await self.wait_healthy(expected=target, what=f"after killing {target}, the system")
        await self.wait_retries_settled(target)
        elapsed = time.monotonic() - started
        self.log.recovery_seconds.setdefault(target, []).append(elapsed)
        print(f"[faults] killed {target}; recovered in {elapsed:.1f}s", flush=True)

    async def redelivered_now(self) -> dict[str, int]:
        """Per durable, messages JetStream is redelivering that are not yet acked."""
        counts: dict[str, int] = {}
        for stream in CONSUMED_STREAMS:
            for consumer in await self.js.consumers_info(stream):
                if consumer.num_redelivered:
                    counts[consumer.name] = consumer.num_redelivered
        return counts

    async def wait_retries_settled(self, target: str) -> None:
        """One fault at a time: let the retries a fault caused succeed before the next one.

        Events that failed while `target` was down are redelivered with back-off; a second
        fault hitting them again would make two faults count against one delivery budget.
        """

        async def settled() -> bool:
            try:
                return not await self.redelivered_now()
            except Exception:
                return False

        try:
            await wait_for(settled, timeout=SETTLE_DEADLINE, interval=0.25, what="retries settled")
        except AssertionError:
            self.log.note(f"after killing {target}: still redelivering {await self.redelivered_now()}")

    async def commit_then_crash(self, service: str = "timeline") -> None:
        """A consumer killed between its database commit and its ack, made certain.

        With a backlog to chew on, wait until `service` holds a transaction that has written,
        then kill nats-server: whatever commits from now on can never have its ack reach the
        server. Wait until the inbox shows such commits, SIGKILL the service, and only then bring
        NATS back: JetStream must redeliver those events and the inbox must absorb them.
        """
        if "nats-server" not in self.server_names:
            self.log.note("NATS is external: the commit-then-ack crash is not staged")
            return
        started = time.monotonic()
        # A backlog: the service down while events keep coming.
        await self.kill_process(service, mid_transaction=False)
        await wait_for(
            lambda: self._pending(CHAT_STREAM, f"{service}-chat", at_least=400),
            timeout=60,
            interval=0.1,
            what=f"a backlog for {service}",
        )
        self.restart_dead(expected=service)
        for attempt in range(1, 6):
            self.log.commit_ack_attempts = attempt
            await self._await_writing_transaction(service, timeout=60.0)
            await self.kill_server("nats-server")
            before = await self.inbox(service)
            with contextlib.suppress(AssertionError):
                await wait_for(
                    lambda n=len(before): self._inbox_grew(service, n),  # type: ignore[misc]
                    timeout=10,
                    interval=0.01,
                    what="a commit after NATS went down",
                )
            await self.kill_process(service, mid_transaction=False)
            self.log.committed_unacked |= await self.inbox(service) - before
            await self.start_server("nats-server")
            # Before the service is back: what JetStream still has to (re)deliver to it.
            await wait_for(
                lambda: self._record_held(service), timeout=30, interval=0.1, what="JetStream answering"
            )
            self.restart_dead(expected=service)
            await self.wait_healthy(expected=service, what="after the commit-then-crash, the system")
            if self.log.committed_unacked:
                break
        elapsed = time.monotonic() - started
        self.log.recovery_seconds.setdefault("commit-then-crash", []).append(elapsed)
        print(
            f"[faults] {service} killed after committing {len(self.log.committed_unacked)} events whose "
            f"acks could not reach NATS ({self.log.commit_ack_attempts} attempt(s), {elapsed:.1f}s)",
            flush=True,
        )

    async def _record_held(self, service: str) -> bool:
        try:
            consumers = await self.js.consumers_info(CHAT_STREAM)
        except Exception:
            return False
        for consumer in consumers:
            if consumer.name.startswith(f"{service}-"):
                held = (consumer.num_ack_pending or 0, consumer.num_pending or 0)
                self.log.unacked_after_restart[consumer.name] = held
        return True

    async def lose_an_ack(self, retries: Callable[[], int]) -> None:
        """Freeze nats-server (SIGSTOP) while the publisher is mid-flight, thaw it after a retry.

        The frozen server still receives the first copy into its socket; the publisher's ack
        times out and it publishes again under the same Nats-Msg-Id. Thawed, the server stores
        the first copy and must drop the retry (its ack says duplicate).
        """
        if "nats-server" not in self.server_names:
            self.log.note("NATS is external: the lost-ack retry is not staged")
            return
        proc = self.stack.servers["nats"].proc
        assert proc is not None
        before = retries()
        async with frozen(proc.pid):
            await wait_for(
                lambda: _true_if(retries() >= before + 2),
                timeout=30,
                interval=0.05,
                what="the publisher retrying while NATS is frozen",
            )
        self.log.stalls += 1
        await self.wait_healthy(what="after NATS was frozen, the system")
        print(
            f"[faults] nats-server frozen until the publisher retried ({retries() - before} retries)",
            flush=True,
        )

    async def _pending(self, stream: str, durable: str, *, at_least: int) -> bool:
        try:
            info = await self.js.consumer_info(stream, durable, timeout=2)
        except Exception:
            return False
        return (info.num_pending or 0) >= at_least

    async def _inbox_grew(self, service: str, before: int) -> bool:
        rows = await self.query(service, "SELECT count(*) AS n FROM inbox")
        return int(rows[0]["n"]) > before

    # --- staff: merges and erasures ----------------------------------------------------------------

    async def reshape(self, scenario: Scenario) -> None:
        """Merge the scenario's duplicates and erase its erased customers as staff would, while
        events flow: each once the profile service has its customers."""
        actor = {"id": "fault-suite", "name": "Fault Suite"}
        for target, source in scenario.merges:
            await self._exist(target, source)
            merge = {"customer_id": target.customer_id, "source_id": source.customer_id, "actor": actor}
            await self._staff(profile.MERGE_CUSTOMERS, merge)
        for customer in scenario.erased:
            await self._exist(customer)
            await self._staff(profile.ERASE_CUSTOMER, {"customer_id": customer.customer_id, "actor": actor})
        self.log.note(f"merged {len(scenario.merges)} pairs, erased {len(scenario.erased)} customers")

    async def _exist(self, *customers: Customer) -> None:
        ids = [c.customer_id for c in customers]

        async def created() -> bool:
            rows = await self.query(
                "profile",
                "SELECT count(*) AS n FROM customers WHERE workspace = $1 AND id = ANY($2::uuid[])",
                self.workspace,
                ids,
            )
            return bool(rows[0]["n"] == len(ids))

        await wait_for(created, timeout=RECOVERY_DEADLINE, interval=0.2, what=f"customers {ids} created")

    async def _staff(self, operation: OperationInfo, request: dict[str, Any]) -> None:
        """Call until answered. A merge asked again answers as the first did; an erasure asked
        again after its answer was lost answers not found: it happened."""

        async def answered() -> bool:
            try:
                await call_json(self.rpc, operation, {"workspace": self.workspace, **request})
            except NotFound:
                return True
            except Exception as exc:
                self.log.note(f"{operation.name} not answered ({exc!r}), asking again")
                return False
            return True

        await wait_for(answered, timeout=RECOVERY_DEADLINE, interval=0.5, what=f"{operation.name} answered")

    # --- quiescence -----------------------------------------------------------------------------

    async def activity(self) -> tuple[bool, tuple[Any, ...]]:
        """(nothing left to do, a fingerprint of everything that moves while work remains)."""
        idle = True
        marks: list[Any] = []
        for stream in CONSUMED_STREAMS:
            info = await self.js.stream_info(stream)
            marks.append((stream, info.state.last_seq))
            for consumer in await self.js.consumers_info(stream):
                pending, ack_pending = consumer.num_pending or 0, consumer.num_ack_pending or 0
                idle = idle and pending == 0 and ack_pending == 0
                delivered = consumer.delivered.consumer_seq if consumer.delivered else 0
                marks.append((consumer.name, delivered, pending, ack_pending))
        for service in SERVICE_NAMES:
            rows = await self.query(
                service,
                "SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL) AS unpublished, "
                "(SELECT count(*) FROM outbox) AS outbox, (SELECT count(*) FROM inbox) AS inbox",
            )
            unpublished, outbox, inbox = rows[0]["unpublished"], rows[0]["outbox"], rows[0]["inbox"]
            idle = idle and unpublished == 0
            marks.append((service, unpublished, outbox, inbox))
        return idle, tuple(marks)

    async def wait_quiet(self, timeout: float) -> float:
        """Wait until every consumer caught up and every outbox drained, twice in a row, unchanged."""
        started = time.monotonic()
        previous: tuple[Any, ...] | None = None
        shown = started

        async def settled() -> bool:
            nonlocal previous, shown
            self.restart_dead()
            try:
                idle, marks = await self.activity()
            except Exception:
                previous = None
                return False
            if time.monotonic() - shown > PROGRESS_EVERY:
                shown = time.monotonic()
                busy = {
                    m[0]: m[2:] for m in marks if len(m) == 4 and m[0] not in SERVICE_NAMES and any(m[2:])
                }
                print(
                    f"[faults] catching up, {shown - started:.0f}s: (pending, ack pending) {busy}", flush=True
                )
            done = idle and marks == previous
            previous = marks if idle else None
            return done

        try:
            await wait_for(settled, timeout=timeout, interval=1.0, what="every consumer caught up")
        except AssertionError:
            _, marks = await self.activity()
            raise AssertionError(
                f"not caught up within {timeout}s: (consumer, delivered, pending, ack pending) and "
                f"(service, unpublished, outbox, inbox): {marks}; redelivering {await self.redelivered_now()}"
            ) from None
        return time.monotonic() - started

    def failed_attempts(self) -> tuple[int, int]:
        """(events that failed an attempt, the highest attempt number that failed) from the logs."""
        failed = highest = 0
        for process in self.stack.processes.values():
            path = process.log_path
            if process.service not in SERVICE_NAMES or not path.exists():
                continue
            for line in path.read_text(errors="replace").splitlines():
                if '"event_failed"' not in line:
                    continue
                with contextlib.suppress(ValueError):
                    attempt = int(json.loads(line).get("attempt", 0))
                    failed += 1
                    highest = max(highest, attempt)
        return failed, highest

    async def redeliveries(self) -> dict[str, int]:
        """Deliveries beyond the first, per durable: delivered consumer seq minus matching messages."""
        counts: dict[str, int] = {}
        for stream in CONSUMED_STREAMS:
            subjects = (await self.js.stream_info(stream, subjects_filter=">")).state.subjects or {}
            for consumer in await self.js.consumers_info(stream):
                filters = consumer.config.filter_subjects or [consumer.config.filter_subject or ">"]
                matching = sum(n for s, n in subjects.items() if any(_matches(f, s) for f in filters))
                delivered = consumer.delivered.consumer_seq if consumer.delivered else 0
                counts[consumer.name] = delivered - matching
        return counts


async def _true_if(value: bool) -> bool:
    return value


def _matches(pattern: str, subject: str) -> bool:
    """NATS subject wildcard match (`*` one token, `>` the rest)."""
    want, have = pattern.split("."), subject.split(".")
    for index, token in enumerate(want):
        if token == ">":
            return len(have) > index
        if index >= len(have) or (token != "*" and token != have[index]):
            return False
    return len(want) == len(have)


@dataclass
class Publisher:
    """Publishes as a connector does: Nats-Msg-Id on every message, retried until JetStream acks."""

    js: JetStreamContext
    scenario: Scenario
    published: int = 0
    retries: int = 0
    retries_dropped: int = 0
    acks: list[PubAck] = field(default_factory=list)

    async def publish(self, publication: Publication) -> PubAck:
        """One message, retried under the same Nats-Msg-Id until acked (NATS may be down)."""
        event = publication.event
        subject = chat_subject(self.scenario.workspace, event.type)
        data = dumps(event.body)
        deadline = time.monotonic() + PUBLISH_DEADLINE
        attempt = 0
        while True:
            try:
                ack = await self.js.publish(
                    subject, data, timeout=ACK_TIMEOUT, headers={"Nats-Msg-Id": publication.msg_id}
                )
                if attempt and ack.duplicate:
                    # An earlier attempt was stored but its ack never came: the stream dropped this one.
                    self.retries_dropped += 1
                return ack
            except Exception as exc:
                attempt += 1
                self.retries += 1
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{publication.msg_id} not acked within {PUBLISH_DEADLINE}s"
                    ) from exc
                # Back-off of a retrying publisher, not a wait for some state.
                await asyncio.sleep(min(0.05 * attempt, 0.5))

    async def run(self, checkpoints: Mapping[int, Callable[[], Awaitable[None]]]) -> None:
        """Publish every publication in order, calling the checkpoint of a position before it."""
        for position, publication in enumerate(self.scenario.publications):
            if position in checkpoints:
                await checkpoints[position]()
            self.acks.append(await self.publish(publication))
            self.published += 1
