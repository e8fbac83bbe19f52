"""Declaring streams: STREAM_REPLICAS copies on a cluster; asked again while JetStream does not answer."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig
from pydantic import ValidationError

from deploy.embedded import EmbeddedNats, nats_cluster, start_together
from services.profile.app import definition as profile
from services.profile.config import Settings as ProfileSettings
from shared.config import ServiceSettings
from shared.nats import StreamDeclarationError, StreamSpec, declare_stream
from shared.runtime import ServiceRuntime, own_streams
from shared.subjects import CHAT_STREAM, CHAT_SUBJECTS
from tests.conftest import NatsAccounts
from tests.support import (
    connect_suite,
    connector_event,
    declare_streams_bound_by,
    frozen,
    new_workspace,
    publish_event,
    suite_password,
    wait_for,
)

STREAM = StreamSpec("REPLICATED", ["replicated.>"])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, nats_accounts: NatsAccounts) -> Iterator[str]:
    """A 3-node JetStream cluster admitting the suite's users; its comma-separated URL."""
    nodes: list[EmbeddedNats] = nats_cluster(tmp_path_factory.mktemp("cluster"), nats_accounts.render())
    try:
        start_together(nodes)
        yield ",".join(node.url for node in nodes)
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture
async def cluster_js(cluster: str) -> AsyncIterator[JetStreamContext]:
    """JetStream of the cluster as the suite's user, every stream deleted afterwards."""
    nc: NATS = await connect_suite(cluster, "replicas-test")
    js = nc.jetstream()
    yield js
    for info in await js.streams_info():
        await js.delete_stream(info.config.name or "")
    await nc.close()


async def _peers(js: JetStreamContext, stream: str) -> int:
    """Servers holding the stream: its leader and its replicas."""
    info = await js.stream_info(stream)
    return 1 + len(info.cluster.replicas or []) if info.cluster and info.cluster.leader else 0


async def _consumer_peers(js: JetStreamContext, stream: str, durable: str) -> int:
    info = await js.consumer_info(stream, durable)
    return 1 + len(info.cluster.replicas or []) if info.cluster and info.cluster.leader else 0


@pytest.mark.parametrize(("value", "replicas"), [(None, 1), ("3", 3), ("5", 5)])
def test_stream_replicas_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, replicas: int
) -> None:
    if value is not None:
        monkeypatch.setenv("STREAM_REPLICAS", value)
    assert ServiceSettings().stream_replicas == replicas


@pytest.mark.parametrize("value", ["0", "6", "three"])
def test_an_impossible_stream_replicas_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("STREAM_REPLICAS", value)
    with pytest.raises(ValidationError, match="stream_replicas"):
        ServiceSettings()


async def test_more_replicas_than_one_server_has_is_a_clear_error(js: JetStreamContext) -> None:
    with pytest.raises(
        StreamDeclarationError, match=r"stream REPLICATED with 3 replica\(s\) \(STREAM_REPLICAS\)"
    ):
        await declare_stream(js, STREAM, 3)


async def test_a_service_declares_every_stream_with_stream_replicas(
    cluster: str, cluster_js: JetStreamContext, fresh_database: Callable[[str], Awaitable[str]]
) -> None:
    settings = ProfileSettings(
        nats_url=cluster,
        nats_user=profile.name,
        nats_password=suite_password(profile.name),
        service_database_url=await fresh_database(profile.name),
        stream_replicas=3,
    )
    # The notes', timeline's and insights' streams profile binds, as their owners declare them.
    await declare_streams_bound_by(cluster_js, profile)
    runtime = ServiceRuntime(profile, settings)
    await runtime.start()
    try:
        streams = [spec.name for spec in [*own_streams(profile.name), *profile.declares]]
        assert {
            name: (await cluster_js.stream_info(name)).config.num_replicas for name in streams
        } == dict.fromkeys(streams, 3)
        for name in streams:
            await wait_for(lambda n=name: _peers(cluster_js, n), what=f"{name} on three servers")  # type: ignore[misc]
        assert await _consumer_peers(cluster_js, CHAT_STREAM, "profile-chat") == 3
    finally:
        await runtime.stop()


async def test_a_stream_with_fewer_replicas_is_raised_keeping_its_messages_and_consumers(
    cluster_js: JetStreamContext,
) -> None:
    chat = StreamSpec(CHAT_STREAM, [CHAT_SUBJECTS])
    await declare_stream(cluster_js, chat, 1)
    await cluster_js.add_consumer(CHAT_STREAM, ConsumerConfig(durable_name="reader"))
    workspace = new_workspace()
    for index in range(5):
        await publish_event(cluster_js, workspace, "contact.seen", connector_event("web", f"visitor-{index}"))

    await declare_stream(cluster_js, chat, 3)

    info = await cluster_js.stream_info(CHAT_STREAM)
    assert (info.config.num_replicas, info.state.messages) == (3, 5)

    async def everywhere() -> bool:
        peers = (
            await _peers(cluster_js, CHAT_STREAM),
            await _consumer_peers(cluster_js, CHAT_STREAM, "reader"),
        )
        return peers == (3, 3)

    # The durable inherits the stream's replicas: it survives losing a server too.
    await wait_for(everywhere, timeout=30, what="the stream and its durable on three servers")


async def test_a_stream_with_more_replicas_keeps_them(cluster_js: JetStreamContext) -> None:
    await declare_stream(cluster_js, STREAM, 3)
    await declare_stream(cluster_js, STREAM, 1)
    assert (await cluster_js.stream_info(STREAM.name)).config.num_replicas == 3


async def test_a_declaration_is_asked_again_until_jetstream_answers(
    nats_server: EmbeddedNats | None, nc: NATS
) -> None:
    if nats_server is None or nats_server.proc is None:
        pytest.skip("an external NATS server: the suite cannot freeze it")
    js = nc.jetstream(timeout=0.5)
    server = nats_server.proc
    sent = nc.stats["out_msgs"]
    async with frozen(server.pid):
        declaring = asyncio.create_task(declare_stream(js, STREAM, 1, timeout=60))

        async def asked_again() -> bool:
            # A JetStream API request is one message: a first one, then one more after a timeout.
            return nc.stats["out_msgs"] >= sent + 2

        await wait_for(asked_again, timeout=30, what="the declaration sent again while NATS is frozen")
    await declaring
    assert (await js.stream_info(STREAM.name)).config.subjects == STREAM.subjects
