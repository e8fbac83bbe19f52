"""One way to connect to NATS and to declare or bind JetStream streams."""

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

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

    def config(self) -> StreamConfig:
        """The StreamConfig this spec declares."""
        return StreamConfig(
            name=self.name,
            subjects=self.subjects,
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=self.max_age_seconds,
            duplicate_window=self.duplicate_window_seconds,
            max_msg_size=self.max_msg_size,
        )


def inbox_prefix(user: str) -> str:
    """The reply inbox prefix of a NATS user: only that user may subscribe below it."""
    return f"_INBOX.{user}"


async def connect(url: str, name: str, user: str | None = None, password: str | None = None) -> NATS:
    """Connect with endless reconnects, so a NATS restart is ridden out, not fatal.

    `user`/`password` sign in (or the URL's own `nats://user:password@host`); replies then come
    to the user's own inbox prefix, which its permissions let no other user read.
    """
    servers = url.split(",")
    username = user or urlsplit(servers[0]).username

    async def on_error(exc: Exception) -> None:
        log.warning("nats_error", error=str(exc))

    async def on_disconnect() -> None:
        log.warning("nats_disconnected")

    async def on_reconnect() -> None:
        log.info("nats_reconnected")

    return await nats.connect(
        servers=servers,
        name=name,
        user=user,
        password=password,
        inbox_prefix=inbox_prefix(username) if username else "_INBOX",
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        error_cb=on_error,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
    )


async def declare_stream(js: JetStreamContext, spec: StreamSpec) -> None:
    """Create the stream, or bring an existing one to this spec (only its declarer calls this)."""
    try:
        await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(spec.config())
        log.info("stream_created", stream=spec.name)
        return
    await js.update_stream(spec.config())


async def wait_for_stream(js: JetStreamContext, name: str, timeout: float) -> None:
    """Bind to a stream another service declares: wait until it exists, never create it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await js.stream_info(name)
            return
        except NotFoundError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"stream {name} was not declared within {timeout}s") from None
            await asyncio.sleep(0.2)
