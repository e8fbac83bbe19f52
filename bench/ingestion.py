"""Event ingestion: connector events/s from JetStream publish to committed rows, beside the floor.

    python -m bench.ingestion [--duration 60 | --quick] [--batches 100,500]
                              [--conversations 2000] [--per-conversation 20] [--long-conversation 10000]

Starts its own embedded NATS and PostgreSQL. Both services that read every connector event run,
each in its own process as deployed (`python -m services.profile`, `python -m services.timeline`),
on fresh databases. A publisher in this process sends connector traffic (many conversations side
by side: contact.seen, conversation.started, messages, conversation.closed) as fast as a window of
unacknowledged publishes allows, for `--duration` seconds; the time runs from the first publish
until both durable consumers have acknowledged every event, which they do only after its
transaction commits. Afterwards each consumer's inbox must hold every event it reads, and the
rows (messages, conversations, customers) must all be there.

The floor is measured in the same run, once per consumer batch size: the same publisher and
traffic, read by two bare pull consumers with the same subject filters, each in its own process,
acknowledging each fetched batch without parsing or storing anything.

A second table shows where the CPU went (both cores are shared by everything); a third times the
operations on one conversation of `--long-conversation` messages.
"""

import argparse
import asyncio
import contextlib
import functools
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from nats.aio.client import Client as NATS
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError

from deploy.embedded import EmbeddedNats, EmbeddedPostgres, EmbeddedServer
from services.profile.handlers import CHAT_DURABLE as PROFILE_DURABLE
from services.timeline.app import definition as timeline_definition
from services.timeline.config import Settings as TimelineSettings
from shared.db import database_url_for, ensure_database, migrate
from shared.events import utcnow
from shared.ids import customer_id_for
from shared.jsonutil import dumps
from shared.logging import configure_logging
from shared.messages import insights, notes, profile, timeline
from shared.nats import StreamSpec, connect, declare_stream
from shared.rpc import OperationInfo, reply_data
from shared.runtime import ServiceRuntime
from shared.subjects import (
    CHAT_STREAM,
    CHAT_SUBJECTS,
    chat_subject,
    event_stream,
    event_subjects,
)

WORKSPACE = "bench"
TIMELINE_DURABLE = "timeline-chat"
TIMELINE_FILTERS = ["chat.v1.*.conversation.>", "chat.v1.*.escalation.>"]
# Publishes awaiting their JetStream ack, as a busy connector fleet keeps in flight.
PUBLISH_WINDOW = 1_000
FLOOR_STREAM = "FLOOR"
FLOOR_PREFIX = "floor."
# Distinct customers: a conversation's user is its number modulo this, so customers come back.
CUSTOMERS = 5_000
TARGET_EVENTS_PER_SECOND = 5_000
# The target machine: everything (servers, services, publisher) shares two cores.
CORES = 2
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Event:
    """One connector event ready to publish."""

    event_type: str
    subject: str
    data: bytes
    event_id: str


def _event(event_type: str, user: str, **fields: Any) -> Event:
    event_id = uuid.uuid4().hex
    body = {
        "event_id": event_id,
        "occurred_at": utcnow().isoformat(),
        "platform": "whatsapp",
        "platform_user_id": user,
        **fields,
    }
    return Event(event_type, chat_subject(WORKSPACE, event_type), dumps(body), event_id)


@dataclass
class Traffic:
    """Endless connector traffic: `concurrent` conversations side by side, each replaced when it closes.

    A conversation is contact.seen, conversation.started, messages, conversation.closed:
    `per_conversation` events in all. Events are taken round robin across the conversations, as
    concurrent chats interleave. Counts what it produced, for checking what was stored.
    """

    concurrent: int
    per_conversation: int
    produced: Counter[str] = field(default_factory=Counter)
    users: set[str] = field(default_factory=set)
    _next_conversation: int = 0
    _slots: list[tuple[int, int]] = field(default_factory=list)  # (conversation, step)
    _turn: int = 0

    def __post_init__(self) -> None:
        self._slots = [self._open() for _ in range(self.concurrent)]

    def _open(self) -> tuple[int, int]:
        self._next_conversation += 1
        return self._next_conversation, 0

    def _step(self, conversation: int, step: int) -> Event:
        user = f"+9715{conversation % CUSTOMERS:08d}"
        conversation_id = f"conv-{conversation}"
        if step == 0:
            self.users.add(user)
            return _event("contact.seen", user, display_name=f"Customer {conversation % CUSTOMERS}")
        if step == 1:
            return _event("conversation.started", user, conversation_id=conversation_id)
        if step == self.per_conversation - 1:
            return _event(
                "conversation.closed", user, conversation_id=conversation_id, resolved_by={"type": "ai"}
            )
        return _event(
            "conversation.message",
            user,
            conversation_id=conversation_id,
            message_id=f"m{step}",
            sender="customer" if step % 2 == 0 else "ai",
            text=f"message {step} of conversation {conversation}: where is my order, when will it arrive?",
        )

    def next(self) -> Event:
        """The next event of the interleaved traffic."""
        slot = self._turn % self.concurrent
        self._turn += 1
        conversation, step = self._slots[slot]
        event = self._step(conversation, step)
        self.produced[event.event_type] += 1
        step += 1
        self._slots[slot] = self._open() if step == self.per_conversation else (conversation, step)
        return event

    @property
    def total(self) -> int:
        """Events produced so far."""
        return sum(self.produced.values())

    @property
    def timeline_events(self) -> int:
        """Events produced so far that the timeline reads (all but contact.seen)."""
        return self.total - self.produced["contact.seen"]


async def publish_for(js: JetStreamContext, traffic: Traffic, seconds: float, prefix: str = "") -> float:
    """Publish traffic for `seconds`, at most PUBLISH_WINDOW unacknowledged; seconds until all were acked."""
    failures: list[BaseException] = []

    def check(future: asyncio.Future[Any]) -> None:
        error = None if future.cancelled() else future.exception()
        if error is not None:
            failures.append(error)

    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(100):
            event = traffic.next()
            future = await js.publish_async(
                prefix + event.subject, event.data, headers={"Nats-Msg-Id": event.event_id}
            )
            future.add_done_callback(check)
    await js.publish_async_completed()
    if failures:
        raise RuntimeError(f"{len(failures)} publishes failed, the first: {failures[0]!r}")
    return time.perf_counter() - started


# --- processes and their CPU time ----------------------------------------------------------------


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user and system) of a process and every process under it, finished ones included."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # After "(command)": state, ppid, ... and utime, stime, cutime, cstime as fields 14-17.
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = sum(int(f) for f in fields[11:15])
    # PostgreSQL's backends each start a session of their own: follow parents, not process groups.
    tree = {pid}
    grew = True
    while grew:
        below = {child for child, parent in parents.items() if parent in tree}
        grew = not below <= tree
        tree |= below
    return sum(ticks.get(p, 0) for p in tree) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process so far."""
    times = os.times()
    return times.user + times.system


@dataclass
class Process:
    """A Python process this benchmark starts, in a process group of its own."""

    name: str
    proc: subprocess.Popen[bytes]

    @classmethod
    def start(cls, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> "Process":
        """Run `python <args>` from the project root."""
        log = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        return cls(name, proc)

    def cpu_seconds(self) -> float:
        """CPU seconds of the process so far."""
        return tree_cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        """SIGTERM (a service then stops consuming and closes cleanly); SIGKILL if it lingers."""
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class CpuMeter:
    """CPU seconds used by each component between start() and stop()."""

    components: dict[str, Callable[[], float]]
    used: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        """Take the starting readings."""
        self.used = {name: -read() for name, read in self.components.items()}

    def stop(self) -> None:
        """Turn the readings into CPU seconds used."""
        self.used = {name: self.used[name] + read() for name, read in self.components.items()}


# --- the floor: bare pull consumers --------------------------------------------------------------


async def floor_consumer(nats_url: str, durable: str, filters: list[str], batch: int) -> None:
    """A bare pull consumer (its own process): fetch, acknowledge every message, until killed."""
    nc = await connect(nats_url, durable)
    js = nc.jetstream()
    await js.add_consumer(
        FLOOR_STREAM,
        ConsumerConfig(
            durable_name=durable,
            filter_subjects=filters,
            ack_policy=AckPolicy.EXPLICIT,
            max_ack_pending=10_000,
        ),
    )
    sub = await js.pull_subscribe_bind(durable=durable, stream=FLOOR_STREAM)
    while True:
        try:
            msgs = await sub.fetch(batch, timeout=1.0)
        except (NatsTimeoutError, TimeoutError):
            continue
        # Acknowledged in turn, as the services' consumer base does.
        for msg in msgs:
            await msg.ack()


# --- measuring -----------------------------------------------------------------------------------


@dataclass
class Measurement:
    """One timed run: what was published and how long until every consumer had committed it."""

    label: str
    events: int
    publish_seconds: float
    commit_seconds: float
    done_after: dict[str, float]
    max_backlog: int
    cpu: dict[str, float]

    @property
    def rate(self) -> float:
        """Events per second from the first publish to the last commit."""
        return self.events / self.commit_seconds


async def _backlog(js: JetStreamContext, stream: str, durable: str) -> int:
    info = await js.consumer_info(stream, durable)
    return int(info.num_pending + info.num_ack_pending)


async def _until(condition: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f}s")
        await asyncio.sleep(0.05)


async def _consumers_exist(js: JetStreamContext, stream: str, durables: list[str]) -> bool:
    try:
        for durable in durables:
            await js.consumer_info(stream, durable)
    except NotFoundError:
        return False
    return True


async def timed_run(
    label: str,
    js: JetStreamContext,
    traffic: Traffic,
    seconds: float,
    *,
    stream: str,
    durables: list[str],
    prefix: str,
    meter: CpuMeter,
) -> Measurement:
    """Publish for `seconds`; time until every durable has acknowledged everything published."""
    await _until(lambda: _consumers_exist(js, stream, durables), 120, f"{label}: consumers ready")
    max_backlog = 0
    done_after: dict[str, float] = {}
    meter.start()
    started = time.perf_counter()
    publisher = asyncio.create_task(publish_for(js, traffic, seconds, prefix))
    while True:
        backlogs = {durable: await _backlog(js, stream, durable) for durable in durables}
        max_backlog = max(max_backlog, *backlogs.values())
        now = time.perf_counter() - started
        if publisher.done():
            for durable, backlog in backlogs.items():
                if backlog == 0:
                    done_after.setdefault(durable, now)
            if len(done_after) == len(durables):
                break
        if now > seconds * 20 + 120:
            raise TimeoutError(f"{label}: backlog {backlogs} left after {now:.0f}s")
        await asyncio.sleep(0.02 if publisher.done() else 0.5)
    commit_seconds = max(done_after.values())
    meter.stop()
    return Measurement(
        label=label,
        events=traffic.total,
        publish_seconds=await publisher,
        commit_seconds=commit_seconds,
        done_after=done_after,
        max_backlog=max_backlog,
        cpu=meter.used,
    )


async def _delete_streams(js: JetStreamContext) -> None:
    for info in await js.streams_info():
        if info.config.name:
            await js.delete_stream(info.config.name)


def _meter(servers: dict[str, EmbeddedServer], processes: list[Process]) -> CpuMeter:
    components: dict[str, Callable[[], float]] = {"publisher": own_cpu_seconds}
    for process in processes:
        components[process.name] = process.cpu_seconds
    for name, server in servers.items():
        assert server.proc is not None
        components[name] = functools.partial(tree_cpu_seconds, server.proc.pid)
    return CpuMeter(components)


@dataclass(frozen=True)
class Setup:
    """What one measurement runs on (servers, logs) and drives them with (traffic, seconds, batch)."""

    js: JetStreamContext
    servers: dict[str, EmbeddedServer]
    log_dir: Path
    make_traffic: Callable[[], Traffic]
    seconds: float
    batch: int


async def measure_floor(setup: Setup) -> Measurement:
    """Two bare pull consumers (the profile's and the timeline's filters), each in its own process."""
    await declare_stream(setup.js, StreamSpec(FLOOR_STREAM, [FLOOR_PREFIX + ">"]))
    nats = setup.servers["nats-server"]
    consumers = {
        "floor-profile": [FLOOR_PREFIX + CHAT_SUBJECTS],
        "floor-timeline": [FLOOR_PREFIX + f for f in TIMELINE_FILTERS],
    }
    processes = [
        Process.start(
            durable,
            ["-m", "bench.ingestion", "--floor-consumer", durable, "--nats-url", nats.url]
            + [a for f in filters for a in ("--filter", f)]
            + ["--fetch", str(setup.batch)],
            {},
            setup.log_dir,
        )
        for durable, filters in consumers.items()
    ]
    try:
        return await timed_run(
            f"floor: 2 bare pull consumers, fetch {setup.batch}",
            setup.js,
            setup.make_traffic(),
            setup.seconds,
            stream=FLOOR_STREAM,
            durables=list(consumers),
            prefix=FLOOR_PREFIX,
            meter=_meter(setup.servers, processes),
        )
    finally:
        for process in processes:
            process.stop()
        await _delete_streams(setup.js)


async def _count(url: str, sql: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def measure_services(setup: Setup) -> Measurement:
    """The profile and timeline services as deployed, on fresh databases; then checks every commit."""
    nats, postgres = setup.servers["nats-server"], setup.servers["postgres"]
    # INSIGHTS and NOTES are declared by services that are not part of ingestion; profile and
    # timeline bind them (erasure confirmations, analyses).
    for absent in (insights.SERVICE, notes.SERVICE):
        await declare_stream(setup.js, StreamSpec(event_stream(absent), [event_subjects(absent)]))
    suffix = uuid.uuid4().hex[:8]
    urls = {
        name: database_url_for(postgres.url, f"bench_{name}_{suffix}") for name in ("profile", "timeline")
    }
    # A service given its own database URL expects it to exist (a deployment provisions it).
    for url in urls.values():
        await ensure_database(url)
    common = {
        "NATS_URL": nats.url,
        "DATABASE_URL": postgres.url,
        "CONSUMER_BATCH": str(setup.batch),
        "LOG_LEVEL": "WARNING",
        # Any free port: another stack on this machine may hold the default.
        "ADMIN_PORT": "0",
    }
    processes = [
        Process.start(
            name,
            ["-m", f"services.{name}"],
            {**common, f"{name.upper()}_DATABASE_URL": urls[name]},
            setup.log_dir,
        )
        for name in ("profile", "timeline")
    ]
    traffic = setup.make_traffic()
    try:
        measurement = await timed_run(
            f"profile + timeline services, consumer_batch {setup.batch}",
            setup.js,
            traffic,
            setup.seconds,
            stream=CHAT_STREAM,
            durables=[PROFILE_DURABLE, TIMELINE_DURABLE],
            prefix="",
            meter=_meter(setup.servers, processes),
        )
    finally:
        for process in processes:
            process.stop()
        await _delete_streams(setup.js)
    expected = {
        "profile inbox": (
            urls["profile"],
            f"SELECT count(*) FROM inbox WHERE consumer = '{PROFILE_DURABLE}'",
            traffic.total,
        ),
        "customers": (urls["profile"], "SELECT count(*) FROM customers", len(traffic.users)),
        "timeline inbox": (
            urls["timeline"],
            f"SELECT count(*) FROM inbox WHERE consumer = '{TIMELINE_DURABLE}'",
            traffic.timeline_events,
        ),
        "conversations": (
            urls["timeline"],
            "SELECT count(*) FROM conversations",
            traffic.produced["conversation.started"],
        ),
        "messages": (
            urls["timeline"],
            "SELECT count(*) FROM messages",
            traffic.produced["conversation.message"],
        ),
    }
    for what, (url, sql, want) in expected.items():
        got = await _count(url, sql)
        if got != want:
            raise AssertionError(f"{what}: {got} stored, {want} expected")
    return measurement


async def timeline_runtime(
    js: JetStreamContext, nats_url: str, postgres_url: str, batch: int
) -> ServiceRuntime:
    """A timeline replica in this process (not started) on a fresh, migrated database."""
    await declare_stream(js, StreamSpec(CHAT_STREAM, [CHAT_SUBJECTS]))
    for absent in (profile.SERVICE, insights.SERVICE):
        await declare_stream(js, StreamSpec(event_stream(absent), [event_subjects(absent)]))
    database_url = database_url_for(postgres_url, f"bench_timeline_{uuid.uuid4().hex[:8]}")
    await ensure_database(database_url)
    await migrate(timeline_definition.migrations, database_url)
    settings = TimelineSettings(
        nats_url=nats_url,
        database_url=postgres_url,
        service_database_url=database_url,
        consumer_batch=batch,
        admin_port=0,
    )
    return ServiceRuntime(timeline_definition, settings)


async def _publish_all(js: JetStreamContext, events: list[Event]) -> None:
    for event in events:
        await js.publish_async(event.subject, event.data, headers={"Nats-Msg-Id": event.event_id})
    await js.publish_async_completed()


async def _timeline_settled(js: JetStreamContext) -> bool:
    return await _backlog(js, CHAT_STREAM, TIMELINE_DURABLE) == 0


async def measure_long_conversation(
    js: JetStreamContext, nats_url: str, postgres_url: str, messages: int
) -> list[tuple[str, float]]:
    """Milliseconds of each operation on one conversation holding `messages` messages."""
    runtime = await timeline_runtime(js, nats_url, postgres_url, 500)
    await runtime.start()
    user = "+971599999999"
    customer_id = str(customer_id_for(WORKSPACE, "whatsapp", user))
    pool = runtime.pool
    assert pool is not None and runtime.nc is not None
    nc: NATS = runtime.nc
    try:
        history = [_event("conversation.started", user, conversation_id="long")]
        history += [
            _event(
                "conversation.message",
                user,
                conversation_id="long",
                message_id=f"m{m}",
                sender="customer",
                text=f"message {m} " + "x" * 80,
            )
            for m in range(messages)
        ]
        await _publish_all(js, history)
        await _until(lambda: _timeline_settled(js), 900, "long conversation stored")
        await pool.execute("VACUUM ANALYZE messages")
        timings: list[tuple[str, float]] = []

        async def closed() -> bool:
            return bool(
                await pool.fetchval(
                    "SELECT ended_at IS NOT NULL FROM conversations WHERE conversation_id = 'long'"
                )
            )

        started = time.perf_counter()
        await _publish_all(
            js, [_event("conversation.closed", user, conversation_id="long", resolved_by={"type": "ai"})]
        )
        await _until(closed, 60, "close applied")
        timings.append(("close (publish → committed)", (time.perf_counter() - started) * 1000))
        customer: dict[str, object] = {"workspace": WORKSPACE, "customer_id": customer_id}
        operations: list[tuple[str, OperationInfo, dict[str, object]]] = [
            ("list conversations", timeline.LIST_CONVERSATIONS, customer),
            ("counts", timeline.COUNT_TIMELINE, customer),
            (
                "transcript, 60,000 chars",
                timeline.GET_TRANSCRIPT,
                {"workspace": WORKSPACE, "conversation_id": "long", "max_chars": 60_000},
            ),
        ]
        for label, operation, payload in operations:
            rounds = 20
            for round_ in range(rounds + 1):
                if round_ == 1:  # the first call warms up, the rest are timed
                    started = time.perf_counter()
                reply_data((await nc.request(operation.subject, dumps(payload), timeout=10)).data)
            timings.append((label, (time.perf_counter() - started) * 1000 / rounds))
    finally:
        await runtime.stop()
        await _delete_streams(js)
    return timings


# --- output --------------------------------------------------------------------------------------


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """A plain-text table, columns right-aligned but the first."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def print_results(
    pairs: list[tuple[Measurement, Measurement]], seconds: float, per_conversation: int
) -> None:
    """The throughput table, the CPU table and the verdict."""
    rows: list[list[str]] = []
    for floor, system in pairs:
        for m in (floor, system):
            rows.append(
                [
                    m.label,
                    f"{m.events:,}",
                    f"{m.events / m.publish_seconds:,.0f}",
                    f"{m.commit_seconds:.1f}",
                    f"{m.max_backlog:,}",
                    f"{m.rate:,.0f}",
                    f"{m.rate / floor.rate:.2f}",
                ]
            )
    print(
        f"\nEvent ingestion, {seconds:.0f} s of publishing (target {TARGET_EVENTS_PER_SECOND:,} events/s; "
        f"{per_conversation} events per conversation)"
    )
    print_table(
        [
            "measurement",
            "events",
            "published/s",
            "to last commit s",
            "max backlog",
            "events/s",
            "ratio to floor",
        ],
        rows,
    )
    print(
        "events/s: events / seconds from the first publish to the last commit (services) or acknowledgement"
        " (floor), every consumer included; max backlog: the largest unacknowledged count of one consumer."
    )
    print(
        "\nCPU per event: µs of CPU each component used per event published (robust to other load);"
        " ceiling: events/s if the 2 cores did nothing else"
    )
    names = list(dict.fromkeys(name for pair in pairs for m in pair for name in m.cpu))
    cpu_rows = []
    for pair in pairs:
        for m in pair:
            per_event = {name: seconds * 1e6 / m.events for name, seconds in m.cpu.items()}
            total = sum(per_event.values())
            cpu_rows.append(
                [
                    m.label,
                    *(f"{per_event[n]:.0f}" if n in per_event else "-" for n in names),
                    f"{total:.0f}",
                    f"{sum(m.cpu.values()) / m.commit_seconds:.2f}",
                    f"{CORES * 1e6 / total:,.0f}",
                ]
            )
    print_table(["measurement", *names, "total", "cores busy", "ceiling events/s"], cpu_rows)
    best = max(system.rate for _, system in pairs)
    verdict = "met" if best >= TARGET_EVENTS_PER_SECOND else "NOT met"
    print(f"\nTarget {TARGET_EVENTS_PER_SECOND:,} events/s: {verdict} (best {best:,.0f} events/s)")
    for _, system in pairs:
        finished = ", ".join(f"{durable} {after:.1f} s" for durable, after in system.done_after.items())
        print(f"  {system.label}: last commit of {finished}")


async def run(
    seconds: float, batches: list[int], concurrent: int, per_conversation: int, long_messages: int
) -> None:
    """Start the servers, measure, print the tables."""
    root = Path(tempfile.mkdtemp(prefix="bench-ingestion-"))
    servers: dict[str, EmbeddedServer] = {
        "nats-server": EmbeddedNats(root / "nats"),
        "postgres": EmbeddedPostgres(root / "postgres", password=secrets.token_urlsafe(16)),
    }
    for server in servers.values():
        server.start()
    try:
        nc = await connect(servers["nats-server"].url, "bench")
        js = nc.jetstream(publish_async_max_pending=PUBLISH_WINDOW)

        def make_traffic() -> Traffic:
            return Traffic(concurrent, per_conversation)

        pairs: list[tuple[Measurement, Measurement]] = []
        for batch in batches:
            setup = Setup(js, servers, root, make_traffic, seconds, batch)
            pairs.append((await measure_floor(setup), await measure_services(setup)))
        print_results(pairs, seconds, per_conversation)
        if long_messages:
            nats_url, postgres_url = servers["nats-server"].url, servers["postgres"].url
            timings = await measure_long_conversation(js, nats_url, postgres_url, long_messages)
            print(f"\nOne conversation of {long_messages:,} messages")
            print_table(["operation", "ms"], [[label, f"{ms:.1f}"] for label, ms in timings])
        await nc.close()
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.ingestion", description=__doc__)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of publishing per measurement")
    parser.add_argument(
        "--quick", action="store_true", help="10 s of publishing, a shorter long conversation"
    )
    parser.add_argument("--batches", default="100,500", help="consumer_batch values to try, comma-separated")
    parser.add_argument("--conversations", type=int, default=2_000, help="conversations running side by side")
    parser.add_argument(
        "--per-conversation", type=int, default=20, help="events per conversation, at least 4"
    )
    parser.add_argument("--long-conversation", type=int, default=10_000, help="messages; 0 to skip")
    # A bare consumer of the floor, started by this benchmark in a process of its own.
    parser.add_argument("--floor-consumer", help=argparse.SUPPRESS)
    parser.add_argument("--nats-url", help=argparse.SUPPRESS)
    parser.add_argument("--filter", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--fetch", type=int, default=100, help=argparse.SUPPRESS)
    # Under `python -m bench`, sys.argv holds the benchmark names chosen, not these options.
    args, _ = parser.parse_known_args()
    if args.floor_consumer:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(floor_consumer(args.nats_url, args.floor_consumer, args.filter, args.fetch))
        return
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    configure_logging("bench", "WARNING")
    seconds = 10.0 if args.quick else args.duration
    long_messages = min(args.long_conversation, 2_000) if args.quick else args.long_conversation
    asyncio.run(run(seconds, batches, args.conversations, max(4, args.per_conversation), long_messages))


if __name__ == "__main__":
    main()
