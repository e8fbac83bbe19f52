"""Profile view through the gateway, cache warm and cold, beside the floor of reading its rows;
with metrics and tracing off and on.

python -m bench.view [--customers 2000] [--seconds 8] [--rounds 4]

Runs the whole system as `make run` does (embedded servers, every service and the gateway as
their own processes) in a scratch directory, seeds one workspace through connector events, then
measures GET /v1/customers/{id}:

- throughput with a closed loop of concurrent keep-alive connections;
- latency at a fixed offered rate (open loop: requests are sent on schedule, late or not).

Warm: every part of every view is in Redis. Cold: every request misses the cache (the workspace's
cache generation is bumped before each pass and each customer is read once per pass). The floor
is the same rows read straight from each service's PostgreSQL database, in this one process,
through the services' own repository functions: what lies above it is NATS, HTTP, JSON, auth,
rate limiting and the gateway.

Telemetry: the gateway and the services are measured with metrics and traces off (TELEMETRY=false)
and on (every span, or one trace in ten, recorded and exported over OTLP/HTTP to a local endpoint
that drops them, bench/otlp_sink.py), in turn, `--rounds` times each, on the same data: the
processes are restarted between modes, the servers and the caches are not. Logs are at WARNING in
every mode, so no access-log line is written: a line costs ~20 µs more per request on its own.
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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio as aioredis
import uvloop

from deploy.embedded import free_port
from deploy.stack import LocalStack
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
# How the processes run, by name: the environment each is restarted with ({otlp} is the endpoint).
TELEMETRY: dict[str, dict[str, str]] = {
    "off": {"TELEMETRY": "false"},
    "on": {"TELEMETRY": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "{otlp}"},
    "on, 1 trace in 10": {
        "TELEMETRY": "true",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "{otlp}",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.1",
    },
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
    stop = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done, position
        while time.monotonic() < stop:
            if position % len(ids) == 0 and before_pass is not None and position:
                await before_pass()
            customer = ids[position % len(ids)]
            position += 1
            status = await call(customer)
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
    for key in [key for key in stack.environ if key == "TELEMETRY" or key.startswith("OTEL_")]:
        del stack.environ[key]
    stack.environ.update({key: value.format(otlp=otlp_endpoint) for key, value in TELEMETRY[mode].items()})
    stack.start_processes()
    stack.wait_ready(90)


def cpu_seconds(stack: LocalStack) -> float:
    """CPU time used so far by every process of the stack, the gateway's workers included."""
    groups = {process.proc.pid for process in stack.processes.values() if process.proc is not None}
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # After "(comm)": state ppid pgrp ... utime (12th) stime (13th).
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in groups:
            ticks += int(fields[11]) + int(fields[12])
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


async def run(customers: int, seconds: float, rounds: int, otlp_endpoint: str) -> None:
    """Start, seed, measure, print the table."""
    run_dir = Path(tempfile.mkdtemp(prefix="bench-view-"))
    port = free_port()
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in {"GATEWAY_PORT", "JWT_SECRET"} and not k.startswith("OTEL_")
    }
    environ.update(GATEWAY_PORT=str(port), RATE_LIMIT_PER_SECOND="1000000", LOG_LEVEL="WARNING")
    stack = LocalStack(run_dir / ".run", environ=environ)
    # The stack provisions its databases with asyncio.run: it starts outside this event loop.
    env = await asyncio.to_thread(stack.start)
    try:
        ids = await seed(env, customers)
        pools = {
            name: await create_pool(database_url_for(env["DATABASE_URL"], name), max_size=20)
            for name in SECTIONS
        }

        async def analysed() -> bool:
            count = await pools["insights"].fetchval("SELECT count(*) FROM conversation_analyses")
            return int(count) >= customers

        await wait_until(analysed, "every conversation analysed")
        token = issue_token(env["JWT_SECRET"], sub="bench", name="Bench", workspace=WORKSPACE, role="admin")

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

        clients: list[HttpClient] = []

        def gateway_call() -> Callable[[str], Awaitable[int]]:
            free: list[HttpClient] = []

            async def call(customer: str) -> int:
                client = free.pop() if free else HttpClient("127.0.0.1", port, token)
                if client not in clients:
                    clients.append(client)
                try:
                    return await client.get(f"/v1/customers/{customer}")
                finally:
                    free.append(client)

            return call

        redis = aioredis.from_url(env["REDIS_URL"])

        async def chill() -> None:
            for section in SECTIONS:
                await redis.hincrby(f"gen:{WORKSPACE}", section, 1)

        call = gateway_call()
        floor_reads = Reads(floor, ids)
        floor_row = (await closed_loop(floor_reads, seconds, 16), *await open_loop(floor_reads, 200, seconds))

        async def measure(
            before_pass: Callable[[], Awaitable[None]] | None, rate: float, count: int
        ) -> Measure:
            used = cpu_seconds(stack)
            views = await closed_loop(Reads(call, ids, before_pass), seconds, 32)
            cpu_per_view = (cpu_seconds(stack) - used) / (views * seconds) * 1e6
            opened = await open_loop(Reads(call, ids[:count], before_pass), rate, seconds)
            return (views, *opened, cpu_per_view)

        measured: dict[tuple[str, str], list[Measure]] = {}
        for round_number in range(rounds):
            # Every other round runs the modes in reverse, so a drift of the machine's speed over
            # the run weighs on each mode alike; each round compares its own modes (paired).
            order = list(TELEMETRY) if round_number % 2 == 0 else list(reversed(TELEMETRY))
            for mode in order:
                await asyncio.to_thread(with_telemetry, stack, mode, otlp_endpoint)
                for customer in ids:  # warm every view (and every new connection)
                    await call(customer)
                measured.setdefault((mode, "warm"), []).append(await measure(None, 200, len(ids)))
                measured.setdefault((mode, "cold"), []).append(await measure(chill, 100, int(100 * seconds)))
        rows = [
            (f"gateway, cache {kind}, telemetry {mode}", mean_row(measured[(mode, kind)]))
            for kind in ("warm", "cold")
            for mode in TELEMETRY
        ]
        floor_rate = floor_row[0]
        print(
            f"customers: {customers}; {seconds:.0f} s per figure; offered rate 200/s (warm, floor), "
            f"100/s (cold); telemetry modes in turn, {rounds} rounds, means shown; CPU: all our "
            "processes (gateway workers and services) per view, in the closed loop"
        )
        widths = (46, 8, 7, 7, 7, 11)
        print(table_row(widths, "what", "views/s", "× floor", "p50 ms", "p99 ms", "CPU µs/view"))
        print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
        floor_cells = (f"{floor_rate:.0f}", "1.00", f"{floor_row[1]:.1f}", f"{floor_row[2]:.1f}", "")
        print(table_row(widths, "floor: rows from PostgreSQL", *floor_cells))
        for name, (rate, p50, p99, cpu) in rows:
            cells = (f"{rate:.0f}", f"{rate / floor_rate:.2f}", f"{p50:.1f}", f"{p99:.1f}", f"{cpu:.0f}")
            print(table_row(widths, name, *cells))
        for kind in ("warm", "cold"):
            off = mean_row(measured[("off", kind)])
            for mode in list(TELEMETRY)[1:]:
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
        for client in clients:
            if client.writer is not None:
                client.writer.close()
        await redis.aclose()
        for pool in pools.values():
            await pool.close()
    finally:
        stack.stop()


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    sink_port = free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "bench.otlp_sink", str(sink_port)], stdout=subprocess.PIPE, text=True
    )
    try:
        # uvloop: the load generator must cost far less than the gateway it drives.
        uvloop.run(run(args.customers, args.seconds, args.rounds, f"http://127.0.0.1:{sink_port}"))
    finally:
        sink.terminate()
        print(f"spans exported while telemetry was on: {sink.communicate(timeout=10)[0].strip()}")


if __name__ == "__main__":
    main()
