"""Where a connector connects: the one lookup of its NATS URL, and what that URL tells it."""

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

# Connector credentials (CONTRACT.md §8) win; a bus without authorization only has NATS_URL.
URL_VARIABLES = ("NATS_CONNECTOR_URL", "NATS_URL")
_SCHEMES = ("nats", "tls", "ws", "wss")


class ConfigError(ValueError):
    """A setting the connector cannot start with; the message says which and why."""


@dataclass(frozen=True)
class NatsTarget:
    """The servers of a NATS URL (comma-separated for a cluster) and the user it authenticates as."""

    servers: tuple[str, ...]
    user: str | None

    @property
    def inbox_prefix(self) -> str:
        """Reply subjects of this connection: _INBOX.<user>, the only inbox its credentials may use."""
        return f"_INBOX.{self.user}" if self.user else "_INBOX"

    @property
    def shown(self) -> str:
        """The URL with any password masked, for messages and logs."""
        return ",".join(redact(server) for server in self.servers)


def connector_url(environ: Mapping[str, str]) -> str | None:
    """NATS_CONNECTOR_URL, else NATS_URL, from `environ`; None if neither is set."""
    for variable in URL_VARIABLES:
        if environ.get(variable):
            return environ[variable]
    return None


def redact(url: str) -> str:
    """`url` with its password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


def parse_nats_url(url: str) -> NatsTarget:
    """The servers and user of a NATS URL; ConfigError naming what is wrong with it."""
    servers = tuple(part.strip() for part in url.split(",") if part.strip())
    if not servers:
        raise ConfigError("no NATS URL: pass --nats-url or set NATS_CONNECTOR_URL")
    users = set()
    for server in servers:
        shown = redact(server) if "://" in server else server
        parts = urlsplit(server)
        if parts.scheme not in _SCHEMES:
            raise ConfigError(f"not a NATS URL: {shown!r} (expected nats://user:password@host:port)")
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(f"invalid port in NATS URL {shown!r}") from None
        if not parts.hostname or port is None:
            raise ConfigError(f"NATS URL {shown!r} needs a host and a port (nats://host:4222)")
        users.add(unquote(parts.username) if parts.username else None)
    if len(users) > 1:
        raise ConfigError("every server of a NATS URL list must carry the same user")
    return NatsTarget(servers, users.pop())
