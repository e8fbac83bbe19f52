"""The fault harness on a NATS cluster: a node lost while events flow, and replication afterwards."""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import ServiceUnavailableError

from deploy.stack import LocalStack
from shared.registry import SERVICE_NAMES
from shared.subjects import CHAT_STREAM
from tests.faults.harness import System
from tests.support import wait_for

# The services consuming the connector stream straight from the node that is lost.
CHAT_CONSUMERS = ("profile", "timeline")
# Events each of them must apply, and events the stream must take, while the node is down before
# it comes back. Both: the consumers may apply 300 events from their backlog before the publisher,
# retrying while the stream elects a new leader, has another event acknowledged.
APPLIED_DURING_OUTAGE = 300
PUBLISHED_DURING_OUTAGE = 50
OUTAGE_DEADLINE = 90.0
# JetStream elects a new stream leader (and, if the lost node led it, a new meta leader) within
# seconds; until then the stream info request goes unanswered.
ELECTION_DEADLINE = 30.0
REPLICATION_DEADLINE = 60.0


@dataclass
class NodeOutage:
    """What happened while a NATS node was down."""

    node: str
    seconds: float = 0.0
    # Publications the stream acknowledged while the node was down.
    published: int = 0
    # Rows each service's inbox gained (events applied) while the node was down.
    applied: dict[str, int] = field(default_factory=dict)
    leader_after: str | None = None


class ClusterSystem(System):
    """The running stack with three NATS nodes and two processes of each service and gateway."""

    def __init__(self, stack: LocalStack, env: dict[str, str], nc: NATS, rpc: NATS, workspace: str) -> None:
        super().__init__(stack, env, nc, rpc, workspace)
        self.outage: NodeOutage | None = None
        # Per stream once caught up: (replicas configured, servers holding a current copy).
        self.replication: dict[str, tuple[int, int]] = {}

    async def inbox_counts(self) -> dict[str, int]:
        """Events applied so far by each service (rows of its inbox)."""
        counts = {}
        for service in SERVICE_NAMES:
            rows = await self.query(service, "SELECT count(*) AS n FROM inbox")
            counts[service] = int(rows[0]["n"])
        return counts

    async def stream_leader(self, stream: str) -> str | None:
        """The NATS node leading a stream (None while it has no leader, or none answers)."""
        try:
            info = await self.js.stream_info(stream)
        except (NatsTimeout, NoRespondersError, ServiceUnavailableError):
            return None
        return info.cluster.leader if info.cluster else None

    async def new_leader(self, stream: str, lost: str) -> str | None:
        """The node leading a stream after `lost` went down, once one is elected (None if none was
        within the deadline)."""

        async def elected() -> str | None:
            leader = await self.stream_leader(stream)
            return leader if leader != lost else None

        try:
            return await wait_for(elected, timeout=ELECTION_DEADLINE, interval=0.25, what="a new leader")
        except AssertionError:
            self.log.note(f"with {lost} down, {stream} elected no other leader within {ELECTION_DEADLINE}s")
            return None

    async def kill_nats_node(self, published: Callable[[], int]) -> None:
        """SIGKILL the node leading the CHAT stream while events flow and keep it down until the
        stream has taken events and the CHAT consumers have applied events without it (or a
        deadline passed); then restart it and wait until it caught up and the system is healthy."""
        started = time.monotonic()
        leader = await self.stream_leader(CHAT_STREAM)
        assert leader is not None, "the CHAT stream has no leader"
        node = self.stack.servers[leader]
        outage = self.outage = NodeOutage(leader)
        before, sent = await self.inbox_counts(), published()
        await asyncio.to_thread(node.kill)
        self.log.kills["nats-node"] += 1
        down = time.monotonic()

        async def flowing_without_it() -> bool:
            now = await self.inbox_counts()
            outage.applied = {service: now[service] - before[service] for service in SERVICE_NAMES}
            outage.published = published() - sent
            return outage.published >= PUBLISHED_DURING_OUTAGE and all(
                outage.applied[service] >= APPLIED_DURING_OUTAGE for service in CHAT_CONSUMERS
            )

        try:
            await wait_for(flowing_without_it, timeout=OUTAGE_DEADLINE, interval=0.25, what="events flowing")
        except AssertionError:
            self.log.note(
                f"with {leader} down, the stream took {outage.published} events and the CHAT consumers "
                f"applied only {outage.applied}"
            )
        outage.leader_after = await self.new_leader(CHAT_STREAM, leader)
        outage.seconds = time.monotonic() - down
        print(
            f"[faults] {leader} (CHAT leader) down {outage.seconds:.1f}s: {outage.published} published, "
            f"applied {outage.applied}; CHAT now led by {outage.leader_after}",
            flush=True,
        )
        await asyncio.to_thread(node.start)
        self.log.restarts["nats-node"] += 1
        await self.wait_healthy(expected="nats-node", what=f"after killing {leader}, the system")
        await self.wait_retries_settled("nats-node")
        elapsed = time.monotonic() - started
        self.log.recovery_seconds.setdefault("nats-node", []).append(elapsed)
        print(f"[faults] killed {leader}; recovered in {elapsed:.1f}s", flush=True)

    async def current_copies(self) -> dict[str, tuple[int, int]]:
        """Per stream: (replicas configured, servers holding a current copy: leader and replicas)."""
        found = {}
        for info in await self.js.streams_info():
            cluster = info.cluster
            leaders = 1 if cluster is not None and cluster.leader else 0
            current = (
                sum(1 for peer in (cluster.replicas or []) if peer.current) if cluster is not None else 0
            )
            found[info.config.name or ""] = (info.config.num_replicas or 1, leaders + current)
        return found

    async def wait_quiet(self, timeout: float) -> float:
        """Caught up, and every stream's copies current again on its servers."""
        started = time.monotonic()
        await super().wait_quiet(timeout)

        async def replicated() -> bool:
            self.replication = await self.current_copies()
            return all(configured == copies for configured, copies in self.replication.values())

        try:
            await wait_for(replicated, timeout=REPLICATION_DEADLINE, interval=0.5, what="every copy current")
        except AssertionError:
            self.log.note(f"streams not fully replicated: {self.replication}")
        return time.monotonic() - started
