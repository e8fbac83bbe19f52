"""A Python client generated from /openapi.json (openapi-python-client, offline) drives one customer.

Proves the document is usable as it is: it generates without warnings, and the typed client lists,
views, edits with If-Match, adds a note and reads conversations, each answer parsed into its model.
"""

import asyncio
import importlib
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nats.js import JetStreamContext

from tests.conftest import RunningGateway
from tests.gateway.support import seed_customer
from tests.support import auth, new_workspace, wait_for

PACKAGE = "customer_profile_client"
CONFIG = f"""\
project_name_override: customer-profile-client
package_name_override: {PACKAGE}
post_hooks: []
"""


@pytest.fixture
def on_path(tmp_path: Path) -> Iterator[Path]:
    """A folder importable for the test; its modules are forgotten afterwards."""
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


async def generate(document: bytes, folder: Path) -> None:
    """The client package of `document` in `folder`, failing on any generator warning."""
    (folder / "openapi.json").write_bytes(document)
    (folder / "config.yaml").write_text(CONFIG)
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("openapi-python-client")),
        "generate",
        "--path",
        "openapi.json",
        "--config",
        "config.yaml",
        "--meta",
        "none",
        "--output-path",
        PACKAGE,
        "--fail-on-warning",
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode()


def operation(name: str) -> Any:
    """A generated operation module, e.g. `customers.list_customers`."""
    return importlib.import_module(f"{PACKAGE}.api.{name}")


async def test_a_generated_client_drives_a_customer(
    gateway: RunningGateway,
    js: JetStreamContext,
    on_path: Path,
) -> None:
    ws = new_workspace()
    customer = uuid.UUID(await seed_customer(js, ws))
    await generate((await gateway.client.get("/openapi.json")).content, on_path)

    client_module = importlib.import_module(f"{PACKAGE}.client")
    models = importlib.import_module(f"{PACKAGE}.models")
    token = auth(ws)["Authorization"].split()[1]
    async with client_module.AuthenticatedClient(base_url=gateway.url, token=token) as client:

        async def conversations() -> Any:
            page = await operation("timeline.list_conversations").asyncio(customer, client=client)
            return page if isinstance(page, models.ConversationPage) and page.items else None

        grid = await operation("customers.list_customers").asyncio(client=client, q="Layla")
        assert isinstance(grid, models.CustomersPage), grid
        assert [item.id for item in grid.items] == [customer]

        view = await operation("customers.get_customer_view").asyncio_detailed(customer, client=client)
        assert isinstance(view.parsed, models.ProfileView), view.content
        assert view.parsed.header.name == "Layla Haddad"

        edit = operation("customers.edit_customer")
        stale = await edit.asyncio_detailed(
            customer, client=client, body=models.ProfileEdit(name="Old"), if_match='"999"'
        )
        assert stale.status_code == 412 and isinstance(stale.parsed, models.Problem)
        edited = await edit.asyncio_detailed(
            customer,
            client=client,
            body=models.ProfileEdit(name="Layla H.", country="ae", tag_ids=None),
            if_match=view.headers["etag"],
        )
        assert isinstance(edited.parsed, models.ProfileView), edited.content
        assert (edited.parsed.profile.name, edited.parsed.profile.country) == ("Layla H.", "AE")
        assert edited.headers["etag"] == f'"{edited.parsed.profile.version}"'

        refused = await edit.asyncio(customer, client=client, body=models.ProfileEdit(country="ZZ"))
        assert isinstance(refused, models.Problem)
        assert [error.field for error in refused.errors] == ["country"]

        note = await wait_for(
            lambda: _note(operation("notes.add_note"), models, client, customer),
            timeout=30,
            what="a note added through the generated client",
        )
        assert note.text == "Prefers WhatsApp"
        assert (await wait_for(conversations, timeout=30, what="the seeded conversation")).items[0].id == "c1"


async def _note(add_note: Any, models: Any, client: Any, customer: uuid.UUID) -> Any:
    # 404 until the notes service has heard of the customer.
    note = await add_note.asyncio(customer, client=client, body=models.NewNote(text="  Prefers WhatsApp "))
    return note if isinstance(note, models.Note) else None
