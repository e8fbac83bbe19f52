"""docker-compose.yml as written starts a working system (run as local processes: tests/deploy/compose.py).

Part of `make deploy-check` (marker `compose`), beside the schema checks of the same file.
"""

import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from deploy.secrets import compose_credentials, env_file
from deploy.stack import wait_ready
from shared.nats import connect
from tests.deploy.compose import ComposeError, ComposeRun, interpolate
from tests.support import connector_event, new_workspace, publish_event, wait_for

pytestmark = pytest.mark.compose

READY_DEADLINE = 90.0


def _dot_env(text: str) -> dict[str, str]:
    """KEY=VALUE lines of a .env file, as compose reads them."""
    lines = (line for line in text.splitlines() if line and not line.startswith("#"))
    return dict(line.split("=", 1) for line in lines)


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeRun]:
    """The file's servers and application services, with a .env from `python3 -m deploy.secrets env`."""
    run = ComposeRun(tmp_path_factory.mktemp("compose"), _dot_env(env_file(compose_credentials())))
    try:
        run.start_servers()
        run.start_applications()
        wait_ready(run.processes.values(), [run.gateway_url], READY_DEADLINE)
        yield run
    finally:
        run.stop()


Minter = Callable[[str], str]


@pytest.fixture(scope="module")
def mint(compose: ComposeRun) -> Minter:
    """Mints an admin token of a workspace as the file documents it:
    `docker compose run --rm gateway python -m deploy.token ...`."""

    def token(workspace: str) -> str:
        command = [
            "python",
            "-m",
            "deploy.token",
            "--workspace",
            workspace,
            "--role",
            "admin",
            "--name",
            "Ops",
        ]
        minted = compose.run("gateway", command)
        assert minted.returncode == 0, minted.stderr
        return minted.stdout.strip()

    return token


@pytest.fixture
async def gateway(compose: ComposeRun, mint: Minter) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    """A workspace of its own, and an HTTP client of the gateway signed in to it."""
    workspace = new_workspace()
    headers = {"Authorization": f"Bearer {mint(workspace)}"}
    async with httpx.AsyncClient(base_url=compose.gateway_url, headers=headers, timeout=10) as client:
        yield workspace, client


def test_every_application_service_runs_and_the_gateway_is_ready(compose: ComposeRun) -> None:
    assert sorted(compose.processes) == ["gateway", "insights", "notes", "profile", "timeline"]
    assert [name for name, process in compose.processes.items() if not process.alive()] == []
    assert httpx.get(compose.gateway_url + "/readyz", timeout=5).status_code == 200


async def test_a_token_minted_as_documented_is_accepted(gateway: tuple[str, httpx.AsyncClient]) -> None:
    response = await gateway[1].get("/v1/customers", params={"limit": 1})
    assert (response.status_code, response.json()["items"]) == (200, [])


async def test_a_connector_event_with_the_connector_credentials_makes_a_customer(
    compose: ComposeRun, gateway: tuple[str, httpx.AsyncClient]
) -> None:
    workspace, client = gateway
    # As docs/operations.md tells connectors: nats://connector:<CONNECTOR_NATS_PASSWORD>@<host>:4222.
    password = compose.variables["CONNECTOR_NATS_PASSWORD"]
    nc = await connect(f"nats://connector:{password}@{compose.nats_address}", "compose-connector")
    visitor = f"visitor-{uuid.uuid4().hex[:8]}"
    try:
        await publish_event(
            nc.jetstream(), workspace, "contact.seen", connector_event("web", visitor, display_name="Dana")
        )
    finally:
        await nc.close()

    async def customers() -> list[dict[str, object]]:
        items: list[dict[str, object]] = (await client.get("/v1/customers")).json()["items"]
        return items

    found = await wait_for(customers, timeout=30, what="the customer in the gateway's grid")
    assert [item["name"] for item in found] == ["Dana"]


def test_the_operator_tool_runs_its_command(compose: ComposeRun) -> None:
    listed = compose.run("operator")
    # Nothing set aside; stdout is for dead letters alone (its logs go to stderr).
    assert (listed.returncode, listed.stdout) == (0, ""), listed.stderr


@pytest.mark.parametrize(
    ("text", "variables", "result"),
    [
        ("${A}", {"A": "1"}, "1"),
        ("$A-$$", {"A": "1"}, "1-$"),
        ("${A:-d}", {"A": ""}, "d"),
        ("${A-d}", {"A": ""}, ""),
        ("${A:?set it}", {"A": "x"}, "x"),
    ],
)
def test_interpolation_follows_compose(text: str, variables: Mapping[str, str], result: str) -> None:
    assert interpolate(text, variables) == result


@pytest.mark.parametrize(
    ("text", "variables"), [("${A:?set it}", {}), ("${A:?set it}", {"A": ""}), ("${A?set it}", {})]
)
def test_a_required_variable_without_a_value_is_an_error(text: str, variables: Mapping[str, str]) -> None:
    with pytest.raises(ComposeError, match="required variable A is missing a value: set it"):
        interpolate(text, variables)


def test_an_address_no_server_of_the_file_listens_on_is_an_error(tmp_path: Path) -> None:
    run = ComposeRun(tmp_path, _dot_env(env_file(compose_credentials())))
    profile = run.services["profile"]
    profile.spec["environment"]["NATS_URL"] = "nats://nats:4223"
    with pytest.raises(ComposeError, match="profile: NATS_URL names nats:4223"):
        run.environment_of(profile)
