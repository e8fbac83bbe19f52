"""Cluster fault suite: ~10,000 connector events on a 3-node NATS cluster with two replicas of
every process, while a NATS node, one replica of each service and of the gateway, and PostgreSQL
are SIGKILLed in turn.

The stack is deploy.stack.LocalStack with `nats_nodes=3` (JetStream on each node, loopback
routes, the accounts of deploy.nats_auth), STREAM_REPLICAS=3 and `replicas=2`; every process
gets the three nodes in NATS_URL. The NATS node killed is the one leading the CHAT stream, and it
stays down until the stream has taken events and the services consuming CHAT have applied events
without it. Afterwards the final state must equal the model (nothing lost, nothing doubled, no
dead letters) and every stream must again hold three current copies.
"""

from pathlib import Path

import pytest

from deploy.stack import LocalStack
from shared.registry import SERVICE_NAMES
from tests.faults import suite
from tests.faults.cluster import (
    APPLIED_DURING_OUTAGE,
    CHAT_CONSUMERS,
    PUBLISHED_DURING_OUTAGE,
    ClusterSystem,
)
from tests.faults.harness import Publisher, System
from tests.faults.model import generate
from tests.support import new_workspace

pytestmark = pytest.mark.faults_cluster

NODES = 3
REPLICAS = 2
# The first replica of each service, the second gateway (the first serves the final reads).
PROCESSES = (*(f"{service}-1" for service in SERVICE_NAMES), "gateway-2")
TARGETS = ("nats-node", *PROCESSES, "postgres")


def _schedule(system: System, publisher: Publisher) -> list[suite.Step]:
    assert isinstance(system, ClusterSystem)
    return [
        lambda: system.kill_nats_node(lambda: publisher.published),
        # Staff merge duplicates and erase customers while events flow, as in the one-node suite.
        lambda: system.reshape(publisher.scenario),
        *(lambda t=t: system.crash_and_recover(t) for t in (*PROCESSES, "postgres")),
    ]


async def test_nothing_lost_nothing_doubled_on_a_cluster_under_faults(tmp_path: Path) -> None:
    # Servers of its own: a cluster to lose a node of, a PostgreSQL to kill.
    environ = suite.suite_environ(drop=("NATS_URL", "DATABASE_URL", "REDIS_URL"))
    # One worker per gateway: two gateways already, on two cores shared with everything else.
    environ.update(STREAM_REPLICAS=str(NODES), GATEWAY_WORKERS="1")
    stack = LocalStack(tmp_path / ".run", environ=environ, replicas=REPLICAS, nats_nodes=NODES)
    scenario = generate(new_workspace())
    print(
        f"\n[faults-cluster] {len(scenario.publications)} publications, {NODES} NATS nodes, "
        f"{REPLICAS} replicas; logs in {stack.run_dir / 'logs'}",
        flush=True,
    )

    result = await suite.run_under_faults(stack, scenario, _schedule, ClusterSystem)

    system = result.system
    assert isinstance(system, ClusterSystem)
    outage = system.outage
    suite.print_summary(
        "cluster fault suite",
        suite.summary_rows(
            scenario,
            result,
            TARGETS,
            [
                ("NATS node killed (the CHAT stream's leader)", outage.node if outage else None),
                ("  seconds down", f"{outage.seconds:.1f}" if outage else None),
                ("  events published while down", outage.published if outage else None),
                ("  events applied while down, per service", outage.applied if outage else None),
                ("  CHAT leader while down", outage.leader_after if outage else None),
                ("streams (replicas, current copies) at the end", system.replication),
            ],
        ),
        result,
    )
    suite.assert_nothing_lost_nothing_doubled(scenario, result)
    for target in TARGETS:
        assert system.log.kills[target] >= 1, f"{target} was never killed"
    assert outage is not None
    assert outage.published >= PUBLISHED_DURING_OUTAGE, (
        f"the stream took {outage.published} events while a node was down"
    )
    assert all(outage.applied[service] >= APPLIED_DURING_OUTAGE for service in CHAT_CONSUMERS), (
        f"consumers did not keep applying events while {outage.node} was down: {outage.applied}"
    )
    assert outage.leader_after not in (None, outage.node), "the CHAT stream found no other leader"
    assert system.replication and set(system.replication.values()) == {(NODES, NODES)}, system.replication
