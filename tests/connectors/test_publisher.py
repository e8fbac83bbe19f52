"""The reference publisher against real NATS: ids, acks, credentials and what cannot be retried."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext

from connectors.simulator import events
from connectors.simulator.events import Identity
from connectors.simulator.publisher import ConnectorError, Publisher
from deploy.embedded import EmbeddedNats, free_port
from shared.nats import StreamSpec, declare_stream
from shared.subjects import CHAT_STREAM, CHAT_SUBJECTS
from tests.connectors.conftest import ADMIN, CONNECTOR, SecuredNats
from tests.support import frozen, wait_for

SEEN = events.contact_seen(
    "evt-0001",
    datetime(2026, 1, 5, 10, tzinfo=UTC),
    Identity("web", "visitor-00aa11bb22cc"),
    display_name="Ana",
)


async def test_an_event_is_published_under_its_id_and_a_republish_changes_nothing(
    connector_url: str, js: JetStreamContext
) -> None:
    await declare_stream(js, StreamSpec(CHAT_STREAM, [CHAT_SUBJECTS]))
    publisher = await Publisher.connect(connector_url)
    try:
        await publisher.publish("demo", SEEN)
        await publisher.publish("demo", SEEN)
    finally:
        await publisher.close()
    stored = await js.get_last_msg(CHAT_STREAM, "chat.v1.demo.contact.seen")
    assert stored.headers is not None and stored.headers["Nats-Msg-Id"] == "evt-0001"
    assert (await js.stream_info(CHAT_STREAM)).state.messages == 1
    assert (publisher.stats.acked, publisher.stats.duplicates) == (2, 1)


async def test_an_ack_that_does_not_come_is_waited_out_under_the_same_id(
    nats_server: EmbeddedNats | None, connector_url: str, js: JetStreamContext
) -> None:
    if nats_server is None or nats_server.proc is None:
        pytest.skip("needs the embedded NATS server, to freeze it")
    await declare_stream(js, StreamSpec(CHAT_STREAM, [CHAT_SUBJECTS]))
    publisher = await Publisher.connect(connector_url, ack_timeout=0.2)
    # Frozen, the server still receives the first copy into its socket but answers nothing.
    async with frozen(nats_server.proc.pid):
        publishing = asyncio.create_task(publisher.publish("demo", SEEN))
        await wait_for(lambda: _at_least(publisher.stats.retried, 2), what="the publisher retrying")
    await publishing
    await publisher.close()
    assert (await js.stream_info(CHAT_STREAM)).state.messages == 1
    assert (publisher.stats.sent, publisher.stats.acked) == (1, 1)


async def _at_least(value: int, floor: int) -> bool:
    return value >= floor


async def _publish_as_connector(server: SecuredNats, workspace: str, *, ack_timeout: float) -> Publisher:
    """Publish SEEN once in `workspace` with the connector's credentials; the closed publisher."""
    publisher = await Publisher.connect(server.url_as(*CONNECTOR), ack_timeout=ack_timeout)
    try:
        await publisher.publish(workspace, SEEN)
    finally:
        await publisher.close()
    return publisher


async def test_connector_credentials_publish_with_their_own_inbox(secured_nats: SecuredNats) -> None:
    # The connector may receive replies on _INBOX.connector.> only: the ack arrives because the
    # publisher's requests use that prefix.
    publisher = await _publish_as_connector(secured_nats, "demo", ack_timeout=1.0)
    assert (publisher.target.inbox_prefix, publisher.stats.acked, publisher.stats.retried) == (
        "_INBOX.connector",
        1,
        0,
    )


async def _refused_password(server: SecuredNats) -> None:
    await Publisher.connect(server.url_as(CONNECTOR[0], "wrong"))


async def _anonymous(server: SecuredNats) -> None:
    await Publisher.connect(f"nats://127.0.0.1:{server.port}")


async def _other_workspace(server: SecuredNats) -> None:
    await _publish_as_connector(server, "other", ack_timeout=0.5)


@pytest.mark.parametrize(
    ("attempt", "message"),
    [
        (_refused_password, r"refused user 'connector' \(authorization violation\)"),
        (_anonymous, r"refused a connection without credentials \(authorization violation\)"),
        (_other_workspace, r"permissions violation for publish to \"chat\.v1\.other\.contact\.seen\""),
    ],
    ids=["wrong password", "no credentials", "another workspace"],
)
async def test_what_the_credentials_do_not_allow_ends_with_a_clear_error(
    secured_nats: SecuredNats, attempt: Callable[[SecuredNats], Awaitable[None]], message: str
) -> None:
    with pytest.raises(ConnectorError, match=message) as failed:
        await attempt(secured_nats)
    assert CONNECTOR[1] not in str(failed.value) and ADMIN[1] not in str(failed.value)


async def test_an_unreachable_server_is_reported_after_the_connect_timeout() -> None:
    with pytest.raises(ConnectorError, match=r"cannot reach NATS at nats://127\.0\.0\.1:\d+ within 1s"):
        await Publisher.connect(f"nats://127.0.0.1:{free_port()}", connect_timeout=1.0)


async def test_no_stream_for_the_subject_is_reported(connector_url: str) -> None:
    publisher = await Publisher.connect(connector_url)
    try:
        with pytest.raises(
            ConnectorError, match=r"no JetStream stream captures chat\.v1\.demo\.contact\.seen"
        ):
            await publisher.publish("demo", SEEN)
    finally:
        await publisher.close()
