"""One run of a fault suite: start the stack, publish the scenario while faults strike one at a
time, wait until everything caught up, read the final state and compare it with the model."""

import asyncio
import os
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from nats.js.api import PubAck

from deploy.embedded import free_port
from deploy.nats_auth import GATEWAY
from deploy.stack import LocalStack
from shared.config import ServiceSettings
from shared.deadletter import DeadLetter, list_dead_letters
from shared.nats import connect
from shared.registry import SERVICE_NAMES
from shared.subjects import CHAT_STREAM
from tests.faults.harness import Publisher, System
from tests.faults.model import Scenario
from tests.faults.state import Checked, Differences, compare, compare_gateway, expected_analyses
from tests.support import token

CATCH_UP_DEADLINE = 420.0

Step = Callable[[], Coroutine[Any, Any, None]]
Row = tuple[str, object]


def suite_environ(drop: Sequence[str] = ()) -> dict[str, str]:
    """This environment for the suite's stack: a fresh JWT secret, a free gateway port, without `drop`."""
    environ = {k: v for k, v in os.environ.items() if k not in ("JWT_SECRET", "GATEWAY_PORT", *drop)}
    environ["GATEWAY_PORT"] = str(free_port())
    return environ


@dataclass
class Result:
    """What a run found once everything had caught up."""

    system: System
    publisher: Publisher
    stored: int
    redeliveries: dict[str, int]
    dead_letters: dict[str, list[DeadLetter]]
    failed: tuple[int, int]
    checked: Checked
    diff: Differences
    views: int
    timings: dict[str, float]

    @property
    def letters(self) -> int:
        """Dead letters over every service."""
        return sum(len(letters) for letters in self.dead_letters.values())

    def same_id_acks(self, scenario: Scenario) -> list[PubAck]:
        """The acks of re-publishes under an id the stream already had."""
        pairs = zip(scenario.publications, self.publisher.acks, strict=True)
        return [ack for publication, ack in pairs if publication.kind == "same_id"]


async def run_under_faults(
    stack: LocalStack,
    scenario: Scenario,
    schedule: Callable[[System, Publisher], list[Step]],
    system_type: type[System] = System,
) -> Result:
    """Publish `scenario` to the running `stack` while the steps of `schedule` run one at a time,
    spread evenly over the publications; then catch up, compare, and stop the stack."""
    began = time.monotonic()
    running: asyncio.Task[None] | None = None
    try:
        env = await asyncio.to_thread(stack.start)
        started = time.monotonic()
        nc = await connect(env["NATS_URL"], "fault-suite", env["NATS_USER"], env["NATS_PASSWORD"])
        rpc = await connect(env["NATS_URL"], "fault-suite-rpc", GATEWAY, stack.nats_password(GATEWAY))
        # The suite publishes as a platform connector does, with a connector's credentials.
        connector = await connect(env["NATS_CONNECTOR_URL"], "fault-suite-connector")
        try:
            system = system_type(stack, env, nc, rpc, scenario.workspace)
            publisher = Publisher(connector.jetstream(), scenario)
            steps = schedule(system, publisher)
            total = len(scenario.publications)

            def checkpoint(step: Step) -> Step:
                async def run() -> None:
                    # One fault at a time: the previous one has recovered before the next starts,
                    # and events keep flowing while the new one is down.
                    nonlocal running
                    if running is not None:
                        await running
                    running = asyncio.create_task(step())

                return run

            checkpoints = {
                round(total * (i + 1) / (len(steps) + 1)): checkpoint(s) for i, s in enumerate(steps)
            }
            await publisher.run(checkpoints)
            published = time.monotonic()
            # CPU-bound, in a thread: the stack mostly waits on insights while it catches up.
            expecting = asyncio.create_task(asyncio.to_thread(expected_analyses, scenario))
            if running is not None:
                await running
                running = None
            await system.wait_healthy(what="after the last fault, the system")
            faults_over = time.monotonic()
            await system.wait_quiet(CATCH_UP_DEADLINE)
            caught_up = time.monotonic()

            stream = await system.js.stream_info(CHAT_STREAM)
            redeliveries = await system.redeliveries()
            dead_letters = {s: await list_dead_letters(system.js, s) for s in SERVICE_NAMES}
            failed = system.failed_attempts()
            diff = Differences()
            checked = await compare(scenario, system.query, diff, await expecting)
            admin = token(scenario.workspace, role="admin", secret=env["JWT_SECRET"])
            async with httpx.AsyncClient(
                base_url=env["GATEWAY_URL"], headers={"Authorization": f"Bearer {admin}"}, timeout=15
            ) as client:
                views = await compare_gateway(scenario, client, diff)
            compared = time.monotonic()
        finally:
            for connection in (nc, rpc, connector):
                await connection.close()
    finally:
        if running is not None:
            running.cancel()
        await asyncio.to_thread(stack.stop)

    stored_want = len(scenario.publications) - scenario.count("same_id")
    stored = stream.state.messages
    if stored < stored_want:
        diff.missing("connector message in the CHAT stream", "CHAT", stored_want - stored)
    elif stored > stored_want:
        diff.extra("connector message in the CHAT stream", "CHAT", stored - stored_want)
    return Result(
        system,
        publisher,
        stored,
        redeliveries,
        dead_letters,
        failed,
        checked,
        diff,
        views,
        timings={
            "start": started - began,
            "publish+faults": published - started,
            "last recovery": faults_over - published,
            "catch-up": caught_up - faults_over,
            "compare": compared - caught_up,
            "total": time.monotonic() - began,
        },
    )


def assert_nothing_lost_nothing_doubled(scenario: Scenario, result: Result) -> None:
    """The stream kept each event once, nothing was set aside, the final state is the model's."""
    assert all(ack.duplicate for ack in result.same_id_acks(scenario)), (
        "the stream stored a re-publish under the same Nats-Msg-Id"
    )
    assert result.letters == 0, f"dead letters: {result.dead_letters}"
    diff = result.diff
    assert diff.total_lost == 0 and diff.total_duplicated == 0 and diff.total_wrong == 0, diff.report()


def summary_rows(
    scenario: Scenario, result: Result, targets: Sequence[str], fault_rows: Sequence[Row]
) -> list[Row]:
    """The summary's lines: what was sent, the faults (common ones and `fault_rows`), the outcome."""
    log, publisher, checked, diff = result.system.log, result.publisher, result.checked, result.diff
    failed, highest = result.failed
    return [
        ("events sent (publications)", len(scenario.publications)),
        ("  distinct events", len(scenario.events)),
        ("  duplicates, new Nats-Msg-Id", scenario.count("new_id")),
        ("  duplicates, same Nats-Msg-Id", scenario.count("same_id")),
        (
            "  same-id re-publishes dropped by the stream",
            sum(bool(ack.duplicate) for ack in result.same_id_acks(scenario)),
        ),
        ("  publisher retries (NATS down, ack timed out)", publisher.retries),
        ("  retries the stream dropped (first copy was stored)", publisher.retries_dropped),
        ("CHAT stream messages (want sent - same-id)", result.stored),
        (
            "customers / conversations / messages checked",
            f"{checked.customers} / {checked.conversations} / {checked.messages}",
        ),
        ("escalations / analyses checked", f"{checked.escalations} / {checked.analyses}"),
        ("profile views read through the gateway", result.views),
        *((f"kills: {t}", log.kills[t]) for t in targets),
        ("kills while its service was inside a database transaction", dict(log.mid_transaction) or 0),
        ("restarts (supervisor / server start)", dict(log.restarts)),
        ("crashes besides the kills (restarted)", dict(log.crashes) or 0),
        *fault_rows,
        *(
            (f"recovery seconds: {t}", ", ".join(f"{s:.1f}" for s in v))
            for t, v in log.recovery_seconds.items()
        ),
        *((f"redeliveries: {name}", n) for name, n in sorted(result.redeliveries.items())),
        (
            "failed attempts retried (highest attempt / max_deliver)",
            f"{failed} ({highest} / {ServiceSettings().max_deliver})",
        ),
        ("dead letters", result.letters),
        ("lost", diff.total_lost),
        ("duplicated", diff.total_duplicated),
        ("wrong", diff.total_wrong),
        *((f"seconds: {k}", f"{v:.1f}") for k, v in result.timings.items()),
    ]


def print_summary(title: str, rows: Sequence[Row], result: Result) -> None:
    """The summary table, the run's remarks and any differences."""
    width = max(len(label) for label, _ in rows)
    print(f"\n=== {title} ===")
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    for remark in result.system.log.notes:
        print(f"note: {remark}")
    if result.diff.details:
        print(result.diff.report())
    print("=" * (len(title) + 8), flush=True)
