"""A NATS server that requires credentials: a connector confined to one workspace, and an admin."""

import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.embedded import EmbeddedNats
from shared.nats import StreamSpec, connect, declare_stream
from shared.subjects import CHAT_STREAM, CHAT_SUBJECTS

CONNECTOR = ("connector", "connector-secret")
ADMIN = ("admin", "admin-secret")
# What CONTRACT.md §8 gives a connector of workspace demo: publish its chat subjects, receive
# replies on its own inbox prefix, nothing else.
_AUTHORIZATION = f"""
authorization {{
  users = [
    {{user: {CONNECTOR[0]}, password: {CONNECTOR[1]},
      permissions: {{publish: ["chat.v1.demo.>"], subscribe: ["_INBOX.{CONNECTOR[0]}.>"]}}}}
    {{user: {ADMIN[0]}, password: {ADMIN[1]}}}
  ]
}}
"""


@dataclass
class SecuredNats(EmbeddedNats):
    """nats-server with JetStream that refuses connections without the users above."""

    @property
    def config(self) -> Path:
        """Its configuration file."""
        return self.data_dir.parent / f"{self.data_dir.name}.conf"

    def prepare(self) -> None:
        super().prepare()
        self.config.write_text(_AUTHORIZATION)

    def command(self) -> list[str]:
        return [*super().command(), "-c", str(self.config)]

    def url_as(self, user: str, password: str) -> str:
        """Its URL with credentials."""
        return f"nats://{user}:{password}@127.0.0.1:{self.port}"


@pytest.fixture
def secured_nats_server(tmp_root: Path) -> Iterator[SecuredNats]:
    """A fresh secured NATS server."""
    server = SecuredNats(tmp_root / f"secured-nats-{uuid.uuid4().hex[:8]}")
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.data_dir, ignore_errors=True)


@pytest.fixture
async def secured_nats(secured_nats_server: SecuredNats) -> AsyncIterator[SecuredNats]:
    """The secured server with the CHAT stream the system would declare."""
    admin = await connect(secured_nats_server.url_as(*ADMIN), "test-admin")
    await declare_stream(admin.jetstream(), StreamSpec(CHAT_STREAM, [CHAT_SUBJECTS]))
    await admin.close()
    yield secured_nats_server
