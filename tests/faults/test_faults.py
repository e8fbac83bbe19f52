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

import os
from pathlib import Path

import pytest

from deploy.stack import LocalStack
from shared.nats import connect
from shared.registry import SERVICE_NAMES
from tests.faults.harness import Publisher, System
from tests.faults.model import generate
from tests.faults.suite import (
    Step,
    assert_nothing_lost_nothing_doubled,
    print_summary,
    run_under_faults,
    suite_environ,
    summary_rows,
)
from tests.support import new_workspace

pytestmark = pytest.mark.faults

TARGETS = (*SERVICE_NAMES, "gateway", "nats-server", "postgres", "redis")


async def _wipe_external_nats(url: str) -> None:
    # As tests/conftest.py does for an external NATS: start from no streams.
    nc = await connect(url, "faults-reset", os.environ.get("NATS_USER"), os.environ.get("NATS_PASSWORD"))
    js = nc.jetstream()
    for info in await js.streams_info():
        if info.config.name:
            await js.delete_stream(info.config.name)
    await nc.close()


def _schedule(system: System, publisher: Publisher) -> list[Step]:
    crashes = [lambda t=t: system.crash_and_recover(t) for t in TARGETS]
    return [
        *crashes[:2],
        # Staff merge duplicates and erase customers while events flow, between faults.
        lambda: system.reshape(publisher.scenario),
        *crashes[2:],
        lambda: system.lose_an_ack(lambda: publisher.retries),
        system.commit_then_crash,
    ]


async def test_nothing_lost_nothing_doubled_under_faults(tmp_path: Path) -> None:
    environ = suite_environ()
    if environ.get("NATS_URL"):
        await _wipe_external_nats(environ["NATS_URL"])
    stack = LocalStack(tmp_path / ".run", environ=environ)
    scenario = generate(new_workspace())
    print(
        f"\n[faults] {len(scenario.publications)} publications; logs in {stack.run_dir / 'logs'}", flush=True
    )

    result = await run_under_faults(stack, scenario, _schedule)

    system, log = result.system, result.system.log
    print_summary(
        "fault suite",
        summary_rows(
            scenario,
            result,
            TARGETS,
            [
                ("commits whose ack could not reach NATS", len(log.committed_unacked)),
                ("  held by JetStream after its restart (ack pending, pending)", log.unacked_after_restart),
                ("nats-server frozen (SIGSTOP) for a lost ack", log.stalls),
                ("merges / erasures", f"{len(scenario.merges)} / {len(scenario.erased)}"),
            ],
        ),
        result,
    )
    assert_nothing_lost_nothing_doubled(scenario, result)
    for target in TARGETS:
        if target in SERVICE_NAMES or target == "gateway" or target in system.server_names:
            assert log.kills[target] >= 1, f"{target} was never killed"
    if "nats-server" in system.server_names:
        assert result.publisher.retries_dropped > 0, (
            "no retry after a lost ack reached the stream to be dropped"
        )
        assert log.committed_unacked, "no commit was caught between its database write and its ack"
        redelivered = sum(n for name, n in result.redeliveries.items() if name.startswith("timeline-"))
        assert redelivered > 0, "JetStream never redelivered to the timeline"
