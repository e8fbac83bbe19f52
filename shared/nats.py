"""One way to connect to NATS and to declare or bind JetStream streams."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import nats
import nats.errors
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamInfo
from nats.js.errors import APIError, NotFoundError, ServiceUnavailableError

from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class StreamSpec:
    """A JetStream stream; exactly one service declares it, everyone else binds to it."""

    name: str
    subjects: list[str]
    max_age_seconds: float = 30 * 24 * 3600
    duplicate_window_seconds: float = 120
    max_msg_size: int = 1024 * 1024
    extra: dict[str, object] = field(default_factory=dict)

    def config(self, replicas: int = 1) -> StreamConfig:
        """The StreamConfig this spec declares, kept on `replicas` servers."""
        return StreamConfig(
            name=self.name,
            subjects=self.subjects,
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=self.max_age_seconds,
            duplicate_window=self.duplicate_window_seconds,
            max_msg_size=self.max_msg_size,
            num_replicas=replicas,
        )


def inbox_prefix(user: str) -> str:
    """The reply inbox prefix of a NATS user: only that user may subscribe below it."""
    return f"_INBOX.{user}"


async def connect(url: str, name: str, user: str | None = None, password: str | None = None) -> NATS:
    """Connect with endless reconnects, so a NATS restart is ridden out, not fatal.

    `user`/`password` sign in (or the URL's own `nats://user:password@host`); replies then come
    to the user's own inbox prefix, which its permissions let no other user read. Credentials
    from the URL are passed on as the connection's own, so that they also reach the servers a
    cluster announces (nats-py adds those to its list without the URL's credentials).
    """
    servers = url.split(",")
    first = urlsplit(servers[0])
    username = user or (unquote(first.username) if first.username else None)
    if password is None and user is None and first.password is not None:
        password = unquote(first.password)

    async def on_error(exc: Exception) -> None:
        log.warning("nats_error", error=str(exc))

    async def on_disconnect() -> None:
        log.warning("nats_disconnected")

    async def on_reconnect() -> None:
        log.info("nats_reconnected")

    return await nats.connect(
        servers=servers,
        name=name,
        user=username,
        password=password,
        inbox_prefix=inbox_prefix(username) if username else "_INBOX",
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        error_cb=on_error,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
    )


# JetStream busy or between leaders (a cluster electing one, a node restarting): asked again.
_UNSETTLED = (nats.errors.TimeoutError, nats.errors.NoRespondersError, ServiceUnavailableError)
_RETRY_SECONDS = 0.5


async def declare_stream(
    js: JetStreamContext, spec: StreamSpec, replicas: int = 1, timeout: float = 60.0
) -> None:
    """Create the stream, or bring an existing one to this spec (only its declarer calls this).

    An existing stream with fewer than `replicas` copies is raised to `replicas` (JetStream copies
    it to the new peers while it keeps serving). One with more keeps them: a replica started with
    a lower setting, say during a rolling update, must not take away copies the others rely on,
    nor make the stream flap between sizes as old and new replicas start. Lowering is for an
    operator (`nats stream edit <name> --replicas 1`). While JetStream does not answer (a cluster
    electing leaders as replicas start together), it is asked again for up to `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            await _declare(js, spec, replicas)
            return
        except _UNSETTLED as exc:
            if time.monotonic() > deadline:
                raise StreamDeclarationError(
                    f"JetStream did not declare stream {spec.name} within {timeout}s: {exc!r}"
                ) from exc
            log.warning("stream_declaration_retried", stream=spec.name, error=repr(exc))
            await asyncio.sleep(_RETRY_SECONDS)


async def _declare(js: JetStreamContext, spec: StreamSpec, replicas: int) -> None:
    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        await _apply(js.add_stream, spec.config(replicas))
        log.info("stream_created", stream=spec.name, replicas=replicas)
        return
    current = info.config.num_replicas or 1
    if current > replicas:
        log.warning("stream_replicas_kept", stream=spec.name, replicas=current, setting=replicas)
    elif current < replicas:
        log.info("stream_replicas_raised", stream=spec.name, replicas=replicas, before=current)
    await _apply(js.update_stream, spec.config(max(current, replicas)))


async def _apply(
    request: Callable[[StreamConfig], Awaitable[StreamInfo]], config: StreamConfig
) -> StreamInfo:
    """Create or update a stream; a refusal names the stream and its replicas (e.g. R3 on one server)."""
    try:
        return await request(config)
    except ServiceUnavailableError:
        raise
    except APIError as exc:
        raise StreamDeclarationError(
            f"JetStream refused stream {config.name} with {config.num_replicas} replica(s) "
            f"(STREAM_REPLICAS): {exc.description}"
        ) from exc


class StreamDeclarationError(RuntimeError):
    """JetStream refused a stream as declared: the message says which and why."""


async def wait_for_stream(js: JetStreamContext, name: str, timeout: float) -> None:
    """Bind to a stream another service declares: wait until it exists, never create it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await js.stream_info(name)
            return
        except (NotFoundError, *_UNSETTLED):
            if time.monotonic() > deadline:
                raise TimeoutError(f"stream {name} was not declared within {timeout}s") from None
            await asyncio.sleep(0.2)
