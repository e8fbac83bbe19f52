"""Fault suite: ~10,000 connector events while every process and server is SIGKILLed in turn.

The whole system runs as `make run` starts it (deploy.stack.LocalStack: embedded NATS, PostgreSQL
and Redis, each service and the gateway its own process). A connector-like publisher sends the
scenario of tests/faults/model.py — duplicated, shuffled — while a killer, paced on the
publisher's progress, SIGKILLs one target at a time (profile, notes, timeline, insights, the
gateway, nats-server, PostgreSQL, Redis) and waits until it is restarted and everything is healthy; then
it stages a consumer killed between its database commit and its ack. Between two faults, staff merge
duplicate customers and erase others (CONTRACT.md §7) while events keep flowing. Once every consumer has
caught up and every outbox is drained, the final state of every service's own database must
equal the model: nothing lost, nothing doubled.
"""

import asyncio
import os
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.embedded import free_port
from deploy.nats_auth import GATEWAY
from deploy.stack import LocalStack
from shared.config import ServiceSettings
from shared.deadletter import list_dead_letters
from shared.nats import connect
from shared.registry import SERVICE_NAMES
from shared.subjects import CHAT_STREAM
from tests.faults.harness import Publisher, System
from tests.faults.model import Scenario, generate
from tests.faults.state import Checked, Differences, compare, compare_gateway, expected_analyses
from tests.support import new_workspace, token

pytestmark = pytest.mark.faults

TARGETS = (*SERVICE_NAMES, "gateway", "nats-server", "postgres", "redis")
CATCH_UP_DEADLINE = 420.0


async def _wipe_external_nats(url: str) -> None:
    # As tests/conftest.py does for an external NATS: start from no streams.
    nc = await connect(url, "faults-reset", os.environ.get("NATS_USER"), os.environ.get("NATS_PASSWORD"))
    js = nc.jetstream()
    for info in await js.streams_info():
        if info.config.name:
            await js.delete_stream(info.config.name)
    await nc.close()


async def test_nothing_lost_nothing_doubled_under_faults(tmp_path: Path) -> None:
    began = time.monotonic()
    environ = {k: v for k, v in os.environ.items() if k not in ("JWT_SECRET", "GATEWAY_PORT")}
    environ["GATEWAY_PORT"] = str(free_port())
    if environ.get("NATS_URL"):
        await _wipe_external_nats(environ["NATS_URL"])
    stack = LocalStack(tmp_path / ".run", environ=environ)
    workspace = new_workspace()
    scenario = generate(workspace)
    running: asyncio.Task[None] | None = None
    try:
        print(
            f"\n[faults] {len(scenario.publications)} publications; logs in {stack.run_dir / 'logs'}",
            flush=True,
        )
        env = await asyncio.to_thread(stack.start)
        started = time.monotonic()
        nc = await connect(env["NATS_URL"], "fault-suite", env["NATS_USER"], env["NATS_PASSWORD"])
        rpc = await connect(env["NATS_URL"], "fault-suite-rpc", GATEWAY, stack.nats_password(GATEWAY))
        # The suite publishes as a platform connector does, with a connector's credentials.
        connector = await connect(env["NATS_CONNECTOR_URL"], "fault-suite-connector")
        try:
            system = System(stack, env, nc, rpc, workspace)
            publisher = Publisher(connector.jetstream(), scenario)

            crashes = [lambda t=t: system.crash_and_recover(t) for t in TARGETS]
            steps: list[Callable[[], Coroutine[Any, Any, None]]] = [
                *crashes[:2],
                # Staff merge duplicates and erase customers while events flow, between faults.
                lambda: system.reshape(scenario),
                *crashes[2:],
                lambda: system.lose_an_ack(lambda: publisher.retries),
                system.commit_then_crash,
            ]
            total = len(scenario.publications)

            def checkpoint(
                step: Callable[[], Coroutine[Any, Any, None]],
            ) -> Callable[[], Coroutine[Any, Any, None]]:
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
            failed, highest_attempt = system.failed_attempts()
            diff = Differences()
            checked = await compare(scenario, system.query, diff, await expecting)
            admin = token(workspace, role="admin", secret=env["JWT_SECRET"])
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

    same_id = scenario.count("same_id")
    stored_want = len(scenario.publications) - same_id
    stored = stream.state.messages
    if stored < stored_want:
        diff.missing("connector message in the CHAT stream", "CHAT", stored_want - stored)
    elif stored > stored_want:
        diff.extra("connector message in the CHAT stream", "CHAT", stored - stored_want)
    same_id_acks = [
        ack for pub, ack in zip(scenario.publications, publisher.acks, strict=True) if pub.kind == "same_id"
    ]
    letters = sum(len(v) for v in dead_letters.values())

    _print_summary(
        scenario,
        system,
        publisher,
        checked,
        diff,
        redeliveries=redeliveries,
        stored=stored,
        dropped=sum(1 for ack in same_id_acks if ack.duplicate),
        dead_letters=letters,
        views=views,
        failed=(failed, highest_attempt),
        timings={
            "start": started - began,
            "publish+faults": published - started,
            "last recovery": faults_over - published,
            "catch-up": caught_up - faults_over,
            "compare": compared - caught_up,
            "total": time.monotonic() - began,
        },
    )

    assert all(ack.duplicate for ack in same_id_acks), (
        "the stream stored a re-publish under the same Nats-Msg-Id"
    )
    assert letters == 0, f"dead letters: {dead_letters}"
    assert diff.total_lost == 0 and diff.total_duplicated == 0 and diff.total_wrong == 0, diff.report()
    for target in TARGETS:
        if target in SERVICE_NAMES or target == "gateway" or target in system.server_names:
            assert system.log.kills[target] >= 1, f"{target} was never killed"
    if "nats-server" in system.server_names:
        assert publisher.retries_dropped > 0, "no retry after a lost ack reached the stream to be dropped"
        assert system.log.committed_unacked, "no commit was caught between its database write and its ack"
        redelivered = sum(n for name, n in redeliveries.items() if name.startswith("timeline-"))
        assert redelivered > 0, "JetStream never redelivered to the timeline"


def _print_summary(
    scenario: Scenario,
    system: System,
    publisher: Publisher,
    checked: Checked,
    diff: Differences,
    *,
    redeliveries: dict[str, int],
    stored: int,
    dropped: int,
    dead_letters: int,
    views: int,
    failed: tuple[int, int],
    timings: dict[str, float],
) -> None:
    log = system.log
    rows = [
        ("events sent (publications)", len(scenario.publications)),
        ("  distinct events", len(scenario.events)),
        ("  duplicates, new Nats-Msg-Id", scenario.count("new_id")),
        ("  duplicates, same Nats-Msg-Id", scenario.count("same_id")),
        ("  same-id re-publishes dropped by the stream", dropped),
        ("  publisher retries (NATS down, ack timed out)", publisher.retries),
        ("  retries the stream dropped (first copy was stored)", publisher.retries_dropped),
        ("CHAT stream messages (want sent - same-id)", stored),
        (
            "customers / conversations / messages checked",
            f"{checked.customers} / {checked.conversations} / {checked.messages}",
        ),
        ("escalations / analyses checked", f"{checked.escalations} / {checked.analyses}"),
        ("merges / erasures", f"{len(scenario.merges)} / {len(scenario.erased)}"),
        ("profile views read through the gateway", views),
        *((f"kills: {t}", log.kills[t]) for t in TARGETS),
        ("kills inside a database transaction", dict(log.mid_transaction) or 0),
        ("restarts (supervisor / server start)", dict(log.restarts)),
        ("crashes besides the kills (restarted)", dict(log.crashes) or 0),
        ("commits whose ack could not reach NATS", len(log.committed_unacked)),
        ("  held by JetStream after its restart (ack pending, pending)", log.unacked_after_restart),
        *((f"redeliveries: {name}", n) for name, n in sorted(redeliveries.items())),
        ("nats-server frozen (SIGSTOP) for a lost ack", log.stalls),
        (
            "failed attempts retried (highest attempt / max_deliver)",
            f"{failed[0]} ({failed[1]} / {ServiceSettings().max_deliver})",
        ),
        ("dead letters", dead_letters),
        ("lost", diff.total_lost),
        ("duplicated", diff.total_duplicated),
        ("wrong", diff.total_wrong),
        *((f"seconds: {k}", f"{v:.1f}") for k, v in timings.items()),
    ]
    width = max(len(label) for label, _ in rows)
    print("\n=== fault suite ===")
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    for remark in log.notes:
        print(f"note: {remark}")
    if diff.details:
        print(diff.report())
    print("===================", flush=True)
