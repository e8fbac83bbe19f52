"""Profile view through the gateway, cache warm and cold, beside the floor of reading its rows;
with metrics and tracing off and on.

python -m bench.view [--customers 2000] [--seconds 8] [--rounds 8] [--also MODE ...]

Runs the whole system as `make run` does (embedded servers, every service and the gateway as
their own processes) in a scratch directory, seeds one workspace through connector events, then
measures GET /v1/customers/{id}:

- throughput with a closed loop of 32 concurrent keep-alive connections, spread evenly over the
  gateway's workers as a load balancer would (see balanced_clients), after SETTLE_SECONDS of the
  same load unmeasured;
- latency at a fixed offered rate (open loop: requests are sent on schedule, late or not).

Warm: every part of every view is in Redis. Cold: every request misses the cache (the workspace's
cache generation is bumped before each pass and each customer is read once per pass). The floor
is the same rows read straight from each service's PostgreSQL database, in this one process,
through the services' own repository functions: what lies above it is NATS, HTTP, JSON, auth,
rate limiting and the gateway.

Telemetry: the gateway and the services are measured with metrics and traces off (TELEMETRY=false)
and on (one trace in ten, as production samples; `--also` adds the other modes of TELEMETRY: every
trace, one in a hundred, metrics without traces), on the same data; recorded spans are exported
over OTLP/HTTP to a local endpoint that drops them (bench/otlp_sink.py). Each of `--rounds` rounds
measures every mode, in reverse order every other round, and compares its modes (paired); the
verdict is the median of the rounds:

- cold: every process of ours is restarted in each mode in turn (the servers and the data are
  not); CPU per view is that of all of them, gateway workers and services;
- warm: a view reaches no service, so a gateway per mode runs at once (the stack's own and one
  started beside it) and they take turns of WINDOW_SECONDS under the same load. CPU per view is
  that of the serving gateway's processes. Taking turns matters: on a shared 2-core machine the
  same processes' CPU per view moves by ±15% from one 6-second stretch to the next, more than the
  10% in question, and each turn sees nearly the same machine.

Logs are at WARNING in every mode, so no access-log line is written: a line costs ~20 µs more per
request on its own.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as aioredis
import uvloop

from deploy.embedded import free_port
from deploy.stack import LocalStack, Process, wait_ready
from gateway.auth import issue_token
from gateway.cache import SECTIONS
from services.insights import repository as insights_repository
from services.notes import repository as notes_repository
from services.profile import repository as profile_repository
from services.timeline import repository as timeline_repository
from shared.db import create_pool, database_url_for
from shared.ids import customer_id_for
from shared.jsonutil import dumps
from shared.nats import connect
from shared.subjects import chat_subject

WORKSPACE = "bench"
CONNECTIONS = 32  # the closed loop's concurrent keep-alive connections
SETTLE_SECONDS = 2
WINDOW_SECONDS = 1  # the warm view's gateways take turns at this
# How the processes run, by name: the environment each is restarted with ({otlp} is the endpoint).
TELEMETRY: dict[str, dict[str, str]] = {
    "off": {"TELEMETRY": "false"},
    "on, 1 trace in 10": {
        "TELEMETRY": "true",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "{otlp}",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.1",
    },
    "on, 1 trace in 100": {
        "TELEMETRY": "true",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "{otlp}",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.01",
    },
    "on, every trace": {"TELEMETRY": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "{otlp}"},
    # Metrics and the access log, no OTLP endpoint: spans go to the API's no-op tracer.
    "metrics, no traces": {"TELEMETRY": "true"},
}
MEASURED_ALWAYS = ("off", "on, 1 trace in 10")
# --also's names for the other modes.
ALSO = {
    "every-trace": "on, every trace",
    "1-in-100": "on, 1 trace in 100",
    "metrics-only": "metrics, no traces",
}


def _event(user: str, **fields: object) -> dict[str, object]:
    return {
        "event_id": uuid.uuid4().hex,
        "occurred_at": datetime.now(UTC).isoformat(),
        "platform": "web",
        "platform_user_id": user,
        **fields,
    }


async def seed(env: dict[str, str], customers: int) -> list[str]:
    """Each customer: a contact, one closed conversation of three messages; returns their ids."""
    nc = await connect(env["NATS_URL"], "bench-seed", env["NATS_USER"], env["NATS_PASSWORD"])
    js = nc.jetstream()
    ids = []
    for n in range(customers):
        user = f"visitor-{n}"
        events = [
            ("contact.seen", _event(user, display_name=f"Customer {n}")),
            ("conversation.started", _event(user, conversation_id=f"c{n}")),
            *(
                (
                    "conversation.message",
                    _event(
                        user,
                        conversation_id=f"c{n}",
                        message_id=f"m{i}",
                        sender=sender,
                        text="Hello, where is my order? It is late again."
                        if sender == "customer"
                        else "Sorry! It ships tomorrow with express delivery.",
                    ),
                )
                for i, sender in enumerate(("customer", "ai", "customer"))
            ),
            ("conversation.closed", _event(user, conversation_id=f"c{n}", resolved_by={"type": "ai"})),
        ]
        await asyncio.gather(
            *(
                js.publish(
                    chat_subject(WORKSPACE, kind), dumps(body), headers={"Nats-Msg-Id": str(body["event_id"])}
                )
                for kind, body in events
            )
        )
        ids.append(str(customer_id_for(WORKSPACE, "web", user)))
    await nc.close()
    return ids


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 600) -> None:
    """Poll `check` until true."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.5)


class HttpClient:
    """A minimal keep-alive HTTP/1.1 client: the load generator must cost far less than the server."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.auth = f"Authorization: Bearer {token}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def local_port(self) -> int | None:
        """This connection's own port, once open."""
        return None if self.writer is None else int(self.writer.get_extra_info("sockname")[1])

    def close(self) -> None:
        """Close the connection, if open."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    async def get(self, path: str) -> int:
        """GET `path`; returns the status code."""
        try:
            return await self._get(path)
        except (asyncio.IncompleteReadError, ConnectionError):
            # The server closes keep-alive connections left idle between measurements.
            self.writer = None
            return await self._get(path)

    async def _get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: bench\r\n" + self.auth + b"\r\n")
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await self.reader.readexactly(length)
        return status


def _tcp_sockets() -> list[tuple[int, int, str, str]]:
    """IPv4 TCP sockets of this host: (local port, remote port, state, inode)."""
    sockets = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(address.split(":")[1], 16) for address in fields[1:3])
        sockets.append((local, remote, fields[3], fields[9]))
    return sockets


def _socket_inodes(pid: int) -> set[str]:
    """Inodes of the sockets process `pid` holds open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def gateway_workers(gateway: int, port: int) -> list[int]:
    """The processes accepting connections on `port` for the gateway whose pid is `gateway`: its
    workers, or the gateway itself when it runs one."""
    listening = {inode for local, _, state, inode in _tcp_sockets() if local == port and state == "0A"}
    group = [pid for pid, fields in _process_stats() if int(fields[2]) == gateway]
    holders = [pid for pid in group if _socket_inodes(pid) & listening]
    # uvicorn's supervisor binds the port and hands it to its workers; it accepts nothing itself.
    workers = [pid for pid in holders if pid != gateway]
    return sorted(workers or holders)


def _process_stats() -> Iterator[tuple[int, list[str]]]:
    """Each running process's pid and the fields of /proc/<pid>/stat after "(comm)": state ppid
    pgrp ... utime (12th) stime (13th). comm may hold spaces, so the split is after its ")"."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            yield int(stat.parent.name), stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue


async def balanced_clients(gateway: int, port: int, token: str, count: int, path: str) -> list[HttpClient]:
    """`count` open connections spread evenly over the workers of the gateway whose pid is
    `gateway` (each connection has served `path`).

    The workers share one listening socket and whichever wakes first accepts: a burst of
    connections falls to them unevenly and differently at every restart, and how many connections
    a saturated worker holds moves its CPU per request (it answers more of them per turn of its
    event loop). A load balancer spreads connections; so does this, by asking the kernel which
    worker holds each connection and reopening those that fell to a worker already full.
    """
    workers = gateway_workers(gateway, port)
    quota = {pid: count // len(workers) + (n < count % len(workers)) for n, pid in enumerate(workers)}
    kept: list[HttpClient] = []
    for _ in range(count * 50):
        if len(kept) == count:
            return kept
        client = HttpClient("127.0.0.1", port, token)
        status = await client.get(path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        client_port = client.local_port()
        inode = next(
            (inode for local, remote, _, inode in _tcp_sockets() if local == port and remote == client_port),
            None,
        )
        owner = next((pid for pid in workers if inode is not None and inode in _socket_inodes(pid)), None)
        if owner is not None and quota[owner] > 0:
            quota[owner] -= 1
            kept.append(client)
        else:
            client.close()
    raise RuntimeError(f"could not spread {count} connections over workers {workers}")


@dataclass(frozen=True)
class Reads:
    """What a load reads: `call` (the HTTP status) of each of `ids` in turn, `before_pass` each pass."""

    call: Callable[[str], Awaitable[int]]
    ids: list[str]
    before_pass: Callable[[], Awaitable[None]] | None = None


async def closed_loop(reads: Reads, seconds: float, concurrency: int) -> float:
    """Requests/s with `concurrency` callers reading customers round-robin for `seconds`."""
    call, ids, before_pass = reads.call, reads.ids, reads.before_pass
    done = 0
    position = 0
    passes: dict[int, asyncio.Future[None]] = {}  # each pass's before_pass, awaited by all its reads
    stop = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done, position
        while time.monotonic() < stop:
            turn = position
            position += 1
            if before_pass is not None:
                if turn // len(ids) not in passes:
                    passes[turn // len(ids)] = asyncio.ensure_future(before_pass())
                await passes[turn // len(ids)]
            status = await call(ids[turn % len(ids)])
            if status != 200:
                raise RuntimeError(f"status {status}")
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.monotonic() - started)


async def open_loop(reads: Reads, rate: float, seconds: float) -> tuple[float, float]:
    """(p50, p99) latency in ms at `rate` requests/s offered on schedule."""
    call, ids, before_pass = reads.call, reads.ids, reads.before_pass
    latencies: list[float] = []
    total = int(rate * seconds)
    if before_pass is not None:
        await before_pass()

    async def one(n: int, scheduled: float) -> None:
        status = await call(ids[n % len(ids)])
        if status != 200:
            raise RuntimeError(f"status {status}")
        latencies.append((time.monotonic() - scheduled) * 1000)

    # One scheduler starts each request at its time: creating every request up front would make
    # the first ones late by the time it takes to create the rest.
    requests = []
    start = time.monotonic()
    for n in range(total):
        scheduled = start + n / rate
        await asyncio.sleep(max(0.0, scheduled - time.monotonic()))
        requests.append(asyncio.create_task(one(n, scheduled)))
    await asyncio.gather(*requests)
    latencies.sort()
    return statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]


def with_telemetry(stack: LocalStack, mode: str, otlp_endpoint: str) -> None:
    """Restart every process with the environment of a TELEMETRY mode."""
    for process in stack.processes.values():
        process.stop()
    stack.environ = telemetry_environ(stack.environ, mode, otlp_endpoint)
    stack.start_processes()
    stack.wait_ready(90)


def telemetry_environ(environ: dict[str, str], mode: str, otlp_endpoint: str) -> dict[str, str]:
    """`environ` with the TELEMETRY and OTEL_* variables of a TELEMETRY mode instead of its own."""
    kept = {k: v for k, v in environ.items() if k != "TELEMETRY" and not k.startswith("OTEL_")}
    return kept | {key: value.format(otlp=otlp_endpoint) for key, value in TELEMETRY[mode].items()}


def start_gateway(stack: LocalStack, mode: str, otlp_endpoint: str) -> Process:
    """A second gateway beside the stack's, in a TELEMETRY mode of its own, on ports of its own."""
    name = "gateway-" + "".join(c if c.isalnum() else "-" for c in mode)
    env = telemetry_environ(stack.processes["gateway"].env, mode, otlp_endpoint)
    env.update(
        GATEWAY_PORT=str(free_port()),
        ADMIN_PORT=str(free_port()),
        PROMETHEUS_MULTIPROC_DIR=str(stack.metrics_dir(name)),
    )
    process = Process(name, "gateway", env, stack.run_dir / "logs" / f"{name}.log")
    process.start()
    wait_ready([process], [f"http://127.0.0.1:{env['GATEWAY_PORT']}"], 90)
    return process


@dataclass
class Gateway:
    """A gateway process the load reads through, with its connections."""

    process: Process
    token: str
    free: list[HttpClient] = field(default_factory=list)  # the connections not carrying a request

    @property
    def port(self) -> int:
        """Its public HTTP port."""
        return int(self.process.env["GATEWAY_PORT"])

    async def call(self, customer: str) -> int:
        """GET one customer's view; the HTTP status."""
        client = self.free.pop() if self.free else HttpClient("127.0.0.1", self.port, self.token)
        try:
            return await client.get(f"/v1/customers/{customer}")
        finally:
            self.free.append(client)

    async def connect(self, count: int, path: str) -> None:
        """Replace the connections with `count` spread evenly over the workers."""
        self.close()
        assert self.process.proc is not None
        self.free[:] = await balanced_clients(self.process.proc.pid, self.port, self.token, count, path)

    def close(self) -> None:
        """Close every connection."""
        for client in self.free:
            client.close()
        self.free.clear()


def groups_of(processes: Iterable[Process]) -> set[int]:
    """The process groups of these processes (each leads its own, its children in it)."""
    return {process.proc.pid for process in processes if process.proc is not None}


def cpu_seconds(groups: set[int]) -> float:
    """CPU time used so far by every process in these process groups (a gateway's workers too)."""
    ticks = sum(
        int(fields[11]) + int(fields[12]) for _, fields in _process_stats() if int(fields[2]) in groups
    )
    return ticks / os.sysconf("SC_CLK_TCK")


def table_row(widths: tuple[int, ...], *cells: str) -> str:
    """One Markdown table row: the first cell left-aligned, the others right-aligned."""
    first, *rest = cells
    return (
        "| "
        + " | ".join([first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))])
        + " |"
    )


Measure = tuple[float, float, float, float]  # views/s, p50 ms, p99 ms, CPU µs per view


def mean_row(measured: list[Measure]) -> Measure:
    """Each figure's mean over the rounds."""
    return (
        statistics.fmean(m[0] for m in measured),
        statistics.fmean(m[1] for m in measured),
        statistics.fmean(m[2] for m in measured),
        statistics.fmean(m[3] for m in measured),
    )


@dataclass(frozen=True)
class Seeded:
    """The running system with one workspace seeded: its environment, customer ids, an admin token."""

    stack: LocalStack
    env: dict[str, str]
    ids: list[str]
    token: str


@asynccontextmanager
async def seeded_system(customers: int) -> AsyncIterator[Seeded]:
    """The whole system in a scratch directory (logs at WARNING, no rate limit), `customers`
    seeded and every conversation analysed; stopped when the block ends."""
    run_dir = Path(tempfile.mkdtemp(prefix="bench-view-"))
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in {"GATEWAY_PORT", "JWT_SECRET"} and not k.startswith("OTEL_")
    }
    environ.update(GATEWAY_PORT=str(free_port()), RATE_LIMIT_PER_SECOND="1000000", LOG_LEVEL="WARNING")
    stack = LocalStack(run_dir / ".run", environ=environ)
    # The stack provisions its databases with asyncio.run: it starts outside this event loop.
    env = await asyncio.to_thread(stack.start)
    try:
        ids = await seed(env, customers)
        insights = await create_pool(database_url_for(env["DATABASE_URL"], "insights"), max_size=2)

        async def analysed() -> bool:
            count = await insights.fetchval("SELECT count(*) FROM conversation_analyses")
            return int(count) >= customers

        await wait_until(analysed, "every conversation analysed")
        await insights.close()
        token = issue_token(env["JWT_SECRET"], sub="bench", name="Bench", workspace=WORKSPACE, role="admin")
        yield Seeded(stack, env, ids, token)
    finally:
        stack.stop()


async def run(customers: int, seconds: float, rounds: int, modes: list[str], otlp_endpoint: str) -> None:
    """Start, seed, measure, print the table."""
    async with seeded_system(customers) as seeded:
        stack, env, ids, token = seeded.stack, seeded.env, seeded.ids, seeded.token
        pools = {
            name: await create_pool(database_url_for(env["DATABASE_URL"], name), max_size=20)
            for name in SECTIONS
        }

        async def floor(customer: str) -> int:
            uid = uuid.UUID(customer)
            async with (
                pools["profile"].acquire() as p,
                pools["notes"].acquire() as n,
                pools["timeline"].acquire() as t,
            ):
                await asyncio.gather(
                    profile_repository.get_customer(p, WORKSPACE, uid),
                    notes_repository.count_notes(n, WORKSPACE, uid),
                    timeline_repository.customer_counts(t, WORKSPACE, customer),
                    insights_repository.customer_insights(pools["insights"], WORKSPACE, customer),
                )
            return 200

        redis = aioredis.from_url(env["REDIS_URL"])

        async def chill() -> None:
            for section in SECTIONS:
                await redis.hincrby(f"gen:{WORKSPACE}", section, 1)

        floor_reads = Reads(floor, ids)
        floor_row = (await closed_loop(floor_reads, seconds, 16), *await open_loop(floor_reads, 200, seconds))
        first_view = f"/v1/customers/{ids[0]}"

        async def loaded(reads: Reads, duration: float, groups: set[int]) -> tuple[float, float]:
            """(views, CPU seconds of the process `groups`) over `duration` s of the closed loop."""
            used = cpu_seconds(groups)
            rate = await closed_loop(reads, duration, CONNECTIONS)
            return rate * duration, cpu_seconds(groups) - used

        async def measure_cold(gateway: Gateway) -> Measure:
            """The cold view through the stack's gateway: CPU of every process of the stack."""
            reads = Reads(gateway.call, ids, chill)
            await gateway.connect(CONNECTIONS, first_view)
            # Under the same load first, unmeasured: the processes' pools and buffers grow to it.
            await closed_loop(reads, SETTLE_SECONDS, CONNECTIONS)
            views, cpu = await loaded(reads, seconds, groups_of(stack.processes.values()))
            opened = await open_loop(Reads(gateway.call, ids[: int(100 * seconds)], chill), 100, seconds)
            gateway.close()
            return (views / seconds, *opened, cpu / views * 1e6)

        async def measure_warm(gateways: dict[str, Gateway]) -> dict[str, Measure]:
            """The warm view through each gateway (one per mode, all running), loaded in turn in
            short windows so that the machine's drift weighs on every mode alike: CPU of the
            gateway's own processes (a warm view reaches no service)."""
            for gateway in gateways.values():
                await gateway.connect(CONNECTIONS, first_view)
                await closed_loop(Reads(gateway.call, ids), SETTLE_SECONDS, CONNECTIONS)
            totals = dict.fromkeys(gateways, (0.0, 0.0))
            windows = max(1, round(seconds / WINDOW_SECONDS))
            for window in range(windows):
                for mode in list(gateways) if window % 2 == 0 else list(gateways)[::-1]:
                    gateway = gateways[mode]
                    views, cpu = await loaded(
                        Reads(gateway.call, ids), WINDOW_SECONDS, groups_of([gateway.process])
                    )
                    totals[mode] = (totals[mode][0] + views, totals[mode][1] + cpu)
            measured = {}
            for mode, gateway in gateways.items():
                views, cpu = totals[mode]
                opened = await open_loop(Reads(gateway.call, ids), 200, seconds)
                measured[mode] = (views / (windows * WINDOW_SECONDS), *opened, cpu / views * 1e6)
            return measured

        measured: dict[tuple[str, str], list[Measure]] = {}
        for round_number in range(rounds):
            # Every other round runs the modes in reverse, so a drift of the machine's speed over
            # the run weighs on each mode alike; each round compares its own modes (paired).
            order = modes if round_number % 2 == 0 else modes[::-1]
            for mode in order:
                await asyncio.to_thread(with_telemetry, stack, mode, otlp_endpoint)
                cold = await measure_cold(Gateway(stack.processes["gateway"], token))
                measured.setdefault((mode, "cold"), []).append(cold)
                print(
                    f"round {round_number + 1}, cache cold, telemetry {mode}: {cold[3]:.0f} µs CPU/view",
                    flush=True,
                )
            # Warm: the stack's gateway, in the round's last mode, beside a gateway for each other.
            extras: list[Process] = []
            gateways: dict[str, Gateway] = {}
            try:
                for mode in order[:-1]:
                    extras.append(await asyncio.to_thread(start_gateway, stack, mode, otlp_endpoint))
                gateways = {
                    mode: Gateway(process, token)
                    for mode, process in zip(order, [*extras, stack.processes["gateway"]], strict=True)
                }
                for customer in ids:  # warm every view
                    await gateways[order[-1]].call(customer)
                for mode, warm in (await measure_warm(gateways)).items():
                    measured.setdefault((mode, "warm"), []).append(warm)
                    print(
                        f"round {round_number + 1}, cache warm, telemetry {mode}: {warm[3]:.0f} µs CPU/view",
                        flush=True,
                    )
            finally:
                for gateway in gateways.values():
                    gateway.close()
                for process in extras:
                    process.stop()
        rows = [
            (f"gateway, cache {kind}, telemetry {mode}", mean_row(measured[(mode, kind)]))
            for kind in ("warm", "cold")
            for mode in modes
        ]
        floor_rate = floor_row[0]
        print(
            f"customers: {customers}; {seconds:.0f} s per figure; offered rate 200/s (warm, floor), "
            f"100/s (cold); {rounds} rounds, means shown; CPU per view in the closed loop: warm, the "
            "serving gateway's workers (the gateways of every mode running, loaded in turn); cold, all "
            "our processes (gateway workers and services, restarted per mode)"
        )
        widths = (max(len(name) for name, _ in rows), 8, 7, 7, 7, 11)
        print(table_row(widths, "what", "views/s", "× floor", "p50 ms", "p99 ms", "CPU µs/view"))
        print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
        floor_cells = (f"{floor_rate:.0f}", "1.00", f"{floor_row[1]:.1f}", f"{floor_row[2]:.1f}", "")
        print(table_row(widths, "floor: rows from PostgreSQL", *floor_cells))
        for name, (rate, p50, p99, cpu) in rows:
            cells = (f"{rate:.0f}", f"{rate / floor_rate:.2f}", f"{p50:.1f}", f"{p99:.1f}", f"{cpu:.0f}")
            print(table_row(widths, name, *cells))
        for kind in ("warm", "cold"):
            off = mean_row(measured[("off", kind)])
            for mode in modes[1:]:
                on = mean_row(measured[(mode, kind)])
                paired = [
                    b[3] / a[3] for a, b in zip(measured[("off", kind)], measured[(mode, kind)], strict=True)
                ]
                print(
                    f"telemetry {mode} vs off, cache {kind}: CPU per view, median of the rounds "
                    f"{(statistics.median(paired) - 1) * 100:+.1f}% (rounds: "
                    + ", ".join(f"{(ratio - 1) * 100:+.1f}%" for ratio in paired)
                    + f"); views/s {on[0] / off[0]:.3f}×, p99 {on[2] - off[2]:+.2f} ms"
                )
        await redis.aclose()
        for pool in pools.values():
            await pool.close()


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument(
        "--also", nargs="+", choices=sorted(ALSO), default=[], help="modes measured besides off and on"
    )
    args = parser.parse_args()
    sink_port = free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "bench.otlp_sink", str(sink_port)], stdout=subprocess.PIPE, text=True
    )
    try:
        # uvloop: the load generator must cost far less than the gateway it drives.
        also = {ALSO[name] for name in args.also}
        modes = [mode for mode in TELEMETRY if mode in MEASURED_ALWAYS or mode in also]
        uvloop.run(run(args.customers, args.seconds, args.rounds, modes, f"http://127.0.0.1:{sink_port}"))
    finally:
        sink.terminate()
        print(f"spans exported while telemetry was on: {sink.communicate(timeout=10)[0].strip()}")


if __name__ == "__main__":
    main()
