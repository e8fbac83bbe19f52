"""Publishing connector events to the system: the part of a connector worth copying.

    publisher = await Publisher.connect("nats://connector:secret@127.0.0.1:4222")
    try:
        await publisher.publish("demo", event)  # returns once JetStream has stored it
    finally:
        await publisher.close()

The rules it follows (docs/connectors.md explains them):
- Subject `chat.v1.<workspace>.<type>`, body the event as JSON, header `Nats-Msg-Id` = `event_id`.
- An event counts as delivered only when JetStream acknowledges it. Without an ack in time it is
  published again with the same `Nats-Msg-Id`, as often as needed: JetStream drops a repeat it
  already stored (within its duplicate window) and the services drop it after that, so a retry
  never doubles anything, and giving up would lose the event.
- The connection reconnects for ever; publishes made while it is down wait and are retried.
- Requests (JetStream's acks are replies to a request) use the inbox `_INBOX.<user>`: connector
  credentials may receive replies there and nowhere else.
- What retrying cannot fix ends the run with ConnectorError: credentials refused, a subject the
  credentials may not publish to, no stream capturing the subject, an event JetStream rejects.
"""

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS

from connectors.simulator.config import NatsTarget, parse_nats_url
from connectors.simulator.events import Event
from connectors.simulator.stats import PublishStats
from shared.subjects import chat_subject

# "No responders" right after a NATS restart can mean JetStream is still loading its streams;
# before the first ack of a run it almost always means no stream captures chat.v1.>.
NO_STREAM_GRACE_SECONDS = 5.0
RECONNECT_WAIT_SECONDS = 0.5


class ConnectorError(Exception):
    """A failure retrying cannot fix; the message says what happened and what to check."""


def _fatal(exc: BaseException, target: NatsTarget) -> ConnectorError | None:
    """The ConnectorError an error from NATS amounts to, or None if it is worth retrying."""
    text = str(exc).lower()
    if isinstance(exc, nats.errors.AuthorizationError) or "authorization violation" in text:
        who = f"user {target.user!r}" if target.user else "a connection without credentials"
        return ConnectorError(
            f"NATS at {target.shown} refused {who} (authorization violation): "
            "check the credentials in the URL (NATS_CONNECTOR_URL)"
        )
    if "permissions violation" in text:
        detail = text.removeprefix("nats: ")
        return ConnectorError(
            f"NATS refused it: {detail}. Connector credentials may publish to chat.v1.> (only to "
            f"chat.v1.<workspace>.> if issued for one workspace) and get replies on {target.inbox_prefix}.>"
        )
    return None


def _unreachable(target: NatsTarget, last_error: BaseException | None, seconds: float) -> ConnectorError:
    reason = "no answer"
    if isinstance(last_error, ConnectionRefusedError):
        reason = "connection refused"
    elif last_error is not None:
        reason = str(last_error) or type(last_error).__name__
    return ConnectorError(f"cannot reach NATS at {target.shown} within {seconds:g}s: {reason}")


class Publisher:
    """A NATS connection that publishes connector events at least once."""

    def __init__(self, nc: NATS, target: NatsTarget, *, ack_timeout: float, stats: PublishStats) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.target = target
        self.ack_timeout = ack_timeout
        self.stats = stats
        self.failure: ConnectorError | None = None
        self.connected = False
        self.closing = False
        self._acked_once = False

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        name: str = "connector-simulator",
        ack_timeout: float = 2.0,
        connect_timeout: float = 5.0,
        stats: PublishStats | None = None,
        notice: Callable[[str], None] = lambda _line: None,
    ) -> "Publisher":
        """Connect (ConnectorError if NATS is unreachable or refuses the credentials in time)."""
        target = parse_nats_url(url)
        nc = NATS()
        publisher = cls(nc, target, ack_timeout=ack_timeout, stats=stats or PublishStats())
        refused: asyncio.Future[ConnectorError] = asyncio.get_running_loop().create_future()
        last_error: list[BaseException] = []

        async def on_error(exc: Exception) -> None:
            problem = _fatal(exc, target)
            if problem is None:
                last_error[:] = [exc]
                return
            publisher.failure = publisher.failure or problem
            if not refused.done():
                refused.set_result(problem)

        async def on_disconnect() -> None:
            if publisher.connected and not publisher.closing:
                notice("NATS connection lost; publishes wait for it and are retried")

        async def on_reconnect() -> None:
            notice(f"NATS reconnected ({nc.connected_url.netloc if nc.connected_url else '?'})")

        connecting = asyncio.ensure_future(
            nc.connect(
                servers=list(target.servers),
                name=name,
                inbox_prefix=target.inbox_prefix,
                max_reconnect_attempts=-1,
                reconnect_time_wait=RECONNECT_WAIT_SECONDS,  # type: ignore[arg-type]  # annotated int, takes float
                connect_timeout=max(1, int(min(connect_timeout, 5))),
                error_cb=on_error,
                disconnected_cb=on_disconnect,
                reconnected_cb=on_reconnect,
            )
        )
        first: set[asyncio.Future[Any]] = {connecting, refused}
        done, _ = await asyncio.wait(first, timeout=connect_timeout, return_when=asyncio.FIRST_COMPLETED)
        if connecting in done and connecting.exception() is None:
            publisher.connected = True
            return publisher
        connecting.cancel()
        with contextlib.suppress(BaseException):
            await connecting
        with contextlib.suppress(Exception):
            await nc.close()
        if refused.done():
            raise refused.result()
        failure = connecting.exception() if connecting.done() and not connecting.cancelled() else None
        raise _unreachable(target, failure or (last_error[0] if last_error else None), connect_timeout)

    async def publish(self, workspace: str, event: Event) -> None:
        """Publish `event` to chat.v1.<workspace>.<type>; return once JetStream acknowledged it."""
        subject = chat_subject(workspace, event.type)
        data = json.dumps(event.body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Nats-Msg-Id": event.event_id}
        started = time.monotonic()
        self.stats.sent += 1
        attempt = 0
        while True:
            self._raise_failure()
            try:
                ack = await self.js.publish(subject, data, timeout=self.ack_timeout, headers=headers)
            except nats.js.errors.NoStreamResponseError:
                if not self._acked_once and time.monotonic() - started > NO_STREAM_GRACE_SECONDS:
                    raise ConnectorError(
                        f"no JetStream stream captures {subject} (no responders): is the system running? "
                        "It creates the stream for chat.v1.> when it starts (make run)"
                    ) from None
            except nats.js.errors.ServiceUnavailableError:
                pass  # JetStream is starting up or electing a leader
            except nats.js.errors.APIError as exc:
                raise ConnectorError(f"JetStream refused event {event.event_id} on {subject}: {exc}") from exc
            except nats.errors.ConnectionClosedError:
                self._raise_failure()
                raise ConnectorError(f"the connection to NATS at {self.target.shown} closed") from None
            except (TimeoutError, nats.errors.Error):
                pass  # no ack in time, or the connection is down: publish again under the same id
            else:
                self._acked_once = True
                self.stats.record_ack(event.type, time.monotonic() - started, bool(ack.duplicate))
                return
            attempt += 1
            self.stats.retried += 1
            # Back-off of a retrying publisher (the ack wait itself already took ack_timeout).
            await asyncio.sleep(min(0.05 * attempt, 1.0))

    def _raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure

    async def close(self) -> None:
        """Flush and close the connection."""
        self.closing = True
        with contextlib.suppress(Exception):
            await self.nc.drain()
