"""A NATS server that requires credentials: a connector confined to one workspace, and an admin."""

import json
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import pytest

from deploy.embedded import EmbeddedNats
from deploy.nats_auth import Permissions, accounts_conf, connector_permissions
from shared.nats import StreamSpec, connect, declare_stream
from shared.subjects import CHAT_STREAM, CHAT_SUBJECTS

CONNECTOR = ("connector", "connector-secret")
ADMIN = ("admin", "admin-secret")


def _accounts() -> str:
    """What CONTRACT.md §8 gives a connector of workspace demo, and an admin who may do anything."""
    hashed = {
        user: json.dumps(bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode())
        for user, password in (CONNECTOR, ADMIN)
    }
    return accounts_conf(
        {
            CONNECTOR[0]: (hashed[CONNECTOR[0]], connector_permissions(CONNECTOR[0], "demo")),
            ADMIN[0]: (hashed[ADMIN[0]], Permissions((">",), (">",), replies=True)),
        }
    )


@dataclass
class SecuredNats(EmbeddedNats):
    """nats-server with JetStream that refuses connections without the users above."""

    def url_as(self, user: str, password: str) -> str:
        """Its URL with credentials."""
        return f"nats://{user}:{password}@127.0.0.1:{self.port}"


@pytest.fixture
def secured_nats_server(tmp_root: Path) -> Iterator[SecuredNats]:
    """A fresh secured NATS server."""
    server = SecuredNats(tmp_root / f"secured-nats-{uuid.uuid4().hex[:8]}", accounts=_accounts())
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
