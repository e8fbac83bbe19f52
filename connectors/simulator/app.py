"""The two modes, wired: seed (customers' histories, as fast as acks come) and live (traffic at a rate)."""

import asyncio
import contextlib
import heapq
import itertools
import math
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from connectors.simulator.events import Event
from connectors.simulator.publisher import ConnectorError, Publisher
from connectors.simulator.stats import PublishStats, progress_line, summary_line
from connectors.simulator.traffic import LIVE_PACE, History, LiveTraffic, Script, Summary, summarise_history

Printer = Callable[[str], None]


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))


async def settle(tasks: set[asyncio.Task[None]], stop: asyncio.Event, grace: float) -> None:
    """Wait for `tasks`; once `stop` is set, give them `grace` seconds to finish, then cancel them.

    A publish retries until acknowledged: while NATS is away, only cancelling ends it.
    """
    remaining = set(tasks)
    stopped = asyncio.create_task(stop.wait())
    try:
        while remaining and not stop.is_set():
            done, _ = await asyncio.wait(remaining | {stopped}, return_when=asyncio.FIRST_COMPLETED)
            remaining -= done
    finally:
        stopped.cancel()
    if remaining:
        _, late = await asyncio.wait(remaining, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)


async def report_progress(stats: PublishStats, say: Printer, done: asyncio.Event, every: float = 1.0) -> None:
    """A progress line every `every` seconds until `done` is set."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    acked_before, at_before = 0, started
    while not done.is_set():
        await _sleep_unless(done, every)
        now = loop.time()
        rate = (stats.acked - acked_before) / max(now - at_before, 1e-9)
        say(progress_line(stats, now - started, rate))
        stats.new_window()
        acked_before, at_before = stats.acked, now


async def _with_progress(stats: PublishStats, say: Printer, work: Callable[[], Awaitable[None]]) -> None:
    done = asyncio.Event()
    reporter = asyncio.create_task(report_progress(stats, say, done))
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        await work()
    finally:
        done.set()
        await reporter
        say(summary_line(stats, loop.time() - started))


def describe(summary: Summary) -> str:
    """What a seed published, in one line."""
    platforms = ", ".join(f"{name} {count}" for name, count in sorted(summary.identities.items()))
    return (
        f"{summary.customers} customers ({platforms}; {summary.on_two_platforms} on two platforms), "
        f"{summary.conversations} conversations ({summary.closed_by['ai']} closed by the AI, "
        f"{summary.closed_by['human']} by staff, {summary.open} open), {summary.escalations} escalations, "
        f"{sum(summary.events.values())} events"
    )


async def publish_histories(
    publisher: Publisher,
    workspace: str,
    histories: Iterable[History],
    *,
    stop: asyncio.Event,
    concurrency: int = 16,
) -> Summary:
    """Publish every customer's events in the order they happened, `concurrency` customers at a time.

    Histories are made as they are needed, so publishing starts at once whatever their number.
    Returns the summary of the histories published in full.
    """
    pending = iter(histories)
    published = Summary()
    failures: list[ConnectorError] = []

    async def worker() -> None:
        nonlocal published
        for history in pending:
            for event in history.events:
                if stop.is_set():
                    return
                try:
                    await publisher.publish(workspace, event)
                except ConnectorError as exc:
                    failures.append(exc)
                    stop.set()
                    return
            published += summarise_history(history)
            if stop.is_set():
                return

    workers = {asyncio.create_task(worker()) for _ in range(max(1, concurrency))}
    await settle(workers, stop, grace=publisher.ack_timeout + 1)
    if failures:
        raise failures[0]
    return published


async def run_seed(
    publisher: Publisher,
    workspace: str,
    histories: Iterable[History],
    *,
    stop: asyncio.Event,
    say: Printer,
    concurrency: int = 16,
) -> Summary:
    """publish_histories with a progress line every second and what was published at the end."""
    published = Summary()

    async def work() -> None:
        nonlocal published
        published = await publish_histories(
            publisher, workspace, histories, stop=stop, concurrency=concurrency
        )

    await _with_progress(publisher.stats, say, work)
    say(f"published {describe(published)}")
    return published


@dataclass
class _Running:
    """A live conversation: its script and how far it has got."""

    script: Script
    rng: random.Random
    next_step: int = 0

    def take(self) -> Event:
        """The next event, happening now."""
        event = self.script.event(self.next_step, datetime.now(UTC))
        self.next_step += 1
        return event

    def pause(self) -> float | None:
        """Seconds until the next event, None when the script is done."""
        if self.next_step >= len(self.script.steps):
            return None
        return LIVE_PACE.seconds(self.script.steps[self.next_step].pause, self.rng)


@dataclass
class LiveRun:
    """Live traffic: `rate` events/s for `duration` seconds (0: until stopped)."""

    publisher: Publisher
    workspace: str
    traffic: LiveTraffic
    rate: float
    duration: float
    conversations: int = field(default=0, init=False)
    _ready: list[tuple[float, int, _Running]] = field(default_factory=list, init=False)
    _order: "itertools.count[int]" = field(default_factory=itertools.count, init=False)
    _failure: ConnectorError | None = field(default=None, init=False)

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until the duration is over or `stop` is set, then wait for the acks in flight."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        end = start + self.duration if self.duration > 0 else math.inf
        # Backpressure: while NATS is away, publishes pile up to this many, then the rate waits.
        limit = max(64, int(self.rate * 5))
        tasks: set[asyncio.Task[None]] = set()
        stopped = asyncio.create_task(stop.wait())
        emitted = 0
        while not stop.is_set() and loop.time() < end:
            if len(tasks) >= limit:
                await asyncio.wait({*tasks, stopped}, return_when=asyncio.FIRST_COMPLETED)
                continue
            slot = start + emitted / self.rate
            now = loop.time()
            if slot > now:
                await _sleep_unless(stop, min(slot, end) - now)
                continue
            if slot < now - 1.0:
                # Fell behind (an outage, backpressure): carry on at the rate, no burst to catch up.
                start += now - 1.0 - slot
            running = self._next_conversation(now)
            task = asyncio.create_task(self._publish(running, running.take(), stop))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            emitted += 1
        stopped.cancel()
        await settle(tasks, stop, grace=self.publisher.ack_timeout + 1)
        if self._failure is not None:
            raise self._failure

    def _next_conversation(self, now: float) -> _Running:
        """The conversation whose next event is due, else a new conversation."""
        if self._ready and self._ready[0][0] <= now:
            return heapq.heappop(self._ready)[2]
        script = self.traffic.script(self.conversations)
        self.conversations += 1
        return _Running(script, random.Random(f"{script.key}/pace"))

    async def _publish(self, running: _Running, event: Event, stop: asyncio.Event) -> None:
        # The conversation's next event is scheduled only once this one is acknowledged: its
        # events reach the stream in the order they happened.
        try:
            await self.publisher.publish(self.workspace, event)
        except ConnectorError as exc:
            self._failure = self._failure or exc
            stop.set()
            return
        pause = running.pause()
        if pause is not None:
            ready_at = asyncio.get_running_loop().time() + pause
            heapq.heappush(self._ready, (ready_at, next(self._order), running))


async def run_live(live: LiveRun, *, stop: asyncio.Event, say: Printer) -> None:
    """LiveRun.run with a progress line every second and a summary at the end."""
    await _with_progress(live.publisher.stats, say, lambda: live.run(stop))
    say(f"{live.conversations} conversations started")
