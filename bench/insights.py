"""Insights benchmark: embedded-analyser throughput and insight lag, beside the bare analyser.

python -m bench.insights [--lag-closes 60] [--rate 20 --rate-seconds 30] [--burst-closes 200]

Runs on real servers: embedded NATS and PostgreSQL (or NATS_URL / DATABASE_URL), one insights
replica in this process with the embedded analyser. The timeline's transcript operation is
answered by a responder on its real subject, from the labelled conversations of the insights
tests (the timeline service itself is not part of this measurement).

- floor: the bare analyser call in this process (EmbeddedAnalyser.analyse_now), per call;
- insight lag: `conversation.closed` published → `conversation.analysed` received, one close at a
  time (the analysis is stored in the same transaction that queues that event);
- insight lag under load: closes offered at `--rate` per second for `--rate-seconds`, each on
  schedule whether or not earlier ones are done; lag of each from its own publish;
- throughput: a burst of closes, first publish → last `conversation.analysed` received.
"""

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from deploy.embedded import EmbeddedNats, EmbeddedPostgres, EmbeddedServer
from services.insights.analysers import EmbeddedAnalyser
from services.insights.analysers.base import AnalysisRequest
from services.insights.app import definition
from services.insights.config import Settings
from shared.db import database_url_for
from shared.errors import NotFound
from shared.jsonutil import loads
from shared.logging import configure_logging
from shared.messages import profile, timeline
from shared.messages.insights import CONVERSATION_ANALYSED
from shared.nats import StreamSpec, connect, declare_stream
from shared.outbox import publish_now
from shared.rpc import serve
from shared.runtime import ServiceRuntime
from shared.subjects import event_stream, event_subjects

DATA = Path(__file__).resolve().parent.parent / "tests" / "insights" / "data" / "conversations.json"
CUSTOMERS = 20


def load_conversations() -> list[tuple[str, list[timeline.TranscriptMessage]]]:
    """(platform, messages) of each labelled conversation."""
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    raw = json.loads(DATA.read_text(encoding="utf-8"))["conversations"]
    return [
        (
            item["platform"],
            [
                timeline.TranscriptMessage(sender=sender, text=text, sent_at=start + timedelta(minutes=i))
                for i, (sender, text) in enumerate(item["messages"])
            ],
        )
        for item in raw
    ]


def percentile(values: Sequence[float], share: float) -> float:
    """The `share` quantile (0..1) of the values, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def measure_floor(
    conversations: list[tuple[str, list[timeline.TranscriptMessage]]], count: int
) -> list[float]:
    """Seconds per bare analyser call, in this process."""
    analyser = EmbeddedAnalyser()
    requests = [
        AnalysisRequest(conversation_id=f"floor-{i}", customer_id="c", platform=platform, messages=messages)
        for i, (platform, messages) in enumerate(conversations)
    ]
    for request in requests:
        analyser.analyse_now(request)
    timings = []
    for i in range(count):
        started = time.perf_counter()
        analyser.analyse_now(requests[i % len(requests)])
        timings.append(time.perf_counter() - started)
    return timings


@contextlib.asynccontextmanager
async def servers() -> AsyncIterator[tuple[str, str]]:
    """NATS and PostgreSQL URLs: from the environment, or embedded servers for this run."""
    root = Path(tempfile.mkdtemp(prefix="bench-insights-"))
    started: list[EmbeddedServer] = []
    urls: list[str] = []
    try:
        for variable, kind in (("NATS_URL", EmbeddedNats), ("DATABASE_URL", EmbeddedPostgres)):
            if not os.environ.get(variable):
                started.append(kind(root / variable.lower()).start())
            urls.append(os.environ.get(variable) or started[-1].url)
        yield urls[0], urls[1]
    finally:
        for server in reversed(started):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


class Bench:
    """One insights replica, a transcript responder, and a listener for analyses."""

    def __init__(self, nc: NATS, workspace: str) -> None:
        self.nc = nc
        self.workspace = workspace
        self.transcripts: dict[str, timeline.Transcript] = {}
        self.waiting: dict[str, asyncio.Future[float]] = {}

    async def transcript(self, request: timeline.GetTranscript) -> timeline.Transcript:
        """The timeline's transcript operation, answered from memory."""
        found = self.transcripts.get(request.conversation_id)
        if found is None:
            raise NotFound("no such conversation")
        return found

    async def on_analysed(self, msg: Msg) -> None:
        """Note when a conversation's analysis was announced."""
        received = time.perf_counter()
        conversation_id = loads(msg.data)["data"]["conversation_id"]
        waiter = self.waiting.pop(conversation_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(received)

    async def close(self, conversation_id: str, customer_id: str, platform: str) -> asyncio.Future[float]:
        """Publish a close as the timeline would; the future resolves when it is analysed."""
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[conversation_id] = waiter
        event_id = uuid.uuid4().hex
        closed = timeline.ConversationClosed(
            conversation_id=conversation_id,
            customer_id=customer_id,
            platform=platform,
            closed_at=datetime.now(UTC),
        )
        await publish_now(
            self.nc.jetstream(), timeline.CONVERSATION_CLOSED, self.workspace, closed, event_id=event_id
        )
        return waiter

    def add(self, conversation_id: str, customer_id: str, platform: str, messages: list[Any]) -> None:
        """Make a transcript available."""
        self.transcripts[conversation_id] = timeline.Transcript(
            conversation_id=conversation_id,
            customer_id=customer_id,
            platform=platform,
            messages=messages,
            truncated=False,
        )


async def lags_at_rate(
    bench: Bench, conversation: Callable[[int], tuple[str, str, str]], first: int, rate: float, seconds: float
) -> list[float]:
    """Lag of each close offered at `rate` per second (open loop: on schedule, late or not)."""

    async def one(n: int) -> float:
        sent = time.perf_counter()
        return await asyncio.wait_for(await bench.close(*conversation(first + n)), 60) - sent

    started = time.perf_counter()
    pending = []
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
        pending.append(asyncio.create_task(one(n)))
    return list(await asyncio.gather(*pending))


async def run(
    lag_closes: int, rate: float, rate_seconds: float, burst_closes: int
) -> list[tuple[str, float, float, str]]:
    """Measure; rows of (measure, value, floor, unit)."""
    conversations = load_conversations()
    floor = measure_floor(conversations, max(lag_closes, burst_closes))
    async with servers() as (nats_url, postgres_url):
        database = f"insights_bench_{uuid.uuid4().hex[:8]}"
        settings = Settings(
            nats_url=nats_url,
            database_url=postgres_url,
            service_database_url=database_url_for(postgres_url, database),
            openai_api_key=None,
            openai_base_url=None,
            log_level="WARNING",
            admin_port=0,
        )
        nc = await connect(nats_url, "bench-insights")
        runtime = ServiceRuntime(definition, settings)
        try:
            # Declared by the timeline and profile services, which do not run here.
            for absent in (timeline.SERVICE, profile.SERVICE):
                await declare_stream(
                    nc.jetstream(), StreamSpec(event_stream(absent), [event_subjects(absent)])
                )
            workspace = f"bench-{uuid.uuid4().hex[:8]}"
            bench = Bench(nc, workspace)
            await serve(nc, timeline.GET_TRANSCRIPT, bench.transcript)
            await nc.subscribe(CONVERSATION_ANALYSED.subject(workspace), cb=bench.on_analysed)
            await runtime.start()

            def conversation(n: int) -> tuple[str, str, str]:
                platform, messages = conversations[n % len(conversations)]
                conversation_id, customer_id = f"conv-{n}", f"customer-{n % CUSTOMERS}"
                bench.add(conversation_id, customer_id, platform, messages)
                return conversation_id, customer_id, platform

            lags = []
            for n in range(lag_closes):
                sent = time.perf_counter()
                lags.append(await asyncio.wait_for(await bench.close(*conversation(n)), 60) - sent)

            loaded = await lags_at_rate(bench, conversation, lag_closes, rate, rate_seconds)
            offset = lag_closes + len(loaded)

            first = time.perf_counter()
            waiters = [await bench.close(*conversation(offset + n)) for n in range(burst_closes)]
            last = max(await asyncio.wait_for(asyncio.gather(*waiters), 600))
            burst_seconds = last - first
        finally:
            await runtime.stop()
            await nc.drain()
            admin = await asyncpg.connect(database_url_for(postgres_url, "postgres"))
            with contextlib.suppress(Exception):
                await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await admin.close()
    floor_rate = len(floor) / sum(floor)
    return [
        (f"analyses/s, burst of {burst_closes} closes", burst_closes / burst_seconds, floor_rate, "/s"),
        (
            f"insight lag p50, {lag_closes} closes one by one",
            1000 * percentile(lags, 0.5),
            1000 * percentile(floor, 0.5),
            "ms",
        ),
        ("insight lag p95", 1000 * percentile(lags, 0.95), 1000 * percentile(floor, 0.95), "ms"),
        ("insight lag mean", 1000 * statistics.fmean(lags), 1000 * statistics.fmean(floor), "ms"),
        (
            f"insight lag p50, {rate:g} closes/s for {rate_seconds:g} s",
            1000 * percentile(loaded, 0.5),
            1000 * percentile(floor, 0.5),
            "ms",
        ),
        ("insight lag p95, same", 1000 * percentile(loaded, 0.95), 1000 * percentile(floor, 0.95), "ms"),
        ("insight lag max, same", 1000 * max(loaded), 1000 * max(floor), "ms"),
    ]


def render(rows: list[tuple[str, float, float, str]]) -> str:
    """The result table."""
    lines = [
        "insights: embedded analyser through the service vs the bare analyser call (floor)",
        f"{'measure':<44} {'value':>9}    {'floor':>9}    {'ratio':>7}",
    ]
    for name, value, floor, unit in rows:
        lines.append(f"{name:<44} {value:>9.1f} {unit:<3}{floor:>9.1f} {unit:<3}{value / floor:>7.2f}")
    return "\n".join(lines)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.insights", description=__doc__)
    parser.add_argument("--lag-closes", type=int, default=60)
    parser.add_argument("--rate", type=float, default=20.0, help="closes per second offered")
    parser.add_argument("--rate-seconds", type=float, default=30.0)
    parser.add_argument("--burst-closes", type=int, default=200)
    args = parser.parse_args()
    configure_logging("bench-insights", "WARNING")
    print(render(asyncio.run(run(args.lag_closes, args.rate, args.rate_seconds, args.burst_closes))))


if __name__ == "__main__":
    main()
