"""deploy/postgres/init.sql, as docker-compose.yml's postgres runs it on its first start."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from deploy.embedded import EmbeddedPostgres

INIT_SQL = Path(__file__).resolve().parents[2] / "deploy" / "postgres" / "init.sql"
SERVICES = ("profile", "notes", "timeline", "insights")
PASSWORDS = {f"{service.upper()}_DB_PASSWORD": f"pw-{service}" for service in SERVICES}
SUPERUSER_PASSWORD = "postgres-password-for-the-suite"


def _server(root: Path) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of its own: the script creates databases named like the services'."""
    postgres = EmbeddedPostgres(root / "data", password=SUPERUSER_PASSWORD)
    postgres.start()
    yield postgres
    postgres.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """One server for the tests that read what a complete run created."""
    yield from _server(tmp_path_factory.mktemp("init-sql"))


@pytest.fixture
def empty_server(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """A server nothing ran on yet."""
    yield from _server(tmp_path)


def _psql(server: EmbeddedPostgres, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The script through psql, as the postgres image's entrypoint runs /docker-entrypoint-initdb.d."""
    return server.psql("--file", str(INIT_SQL), environ=env)


@pytest.fixture(scope="module")
def initialised(server: EmbeddedPostgres) -> EmbeddedPostgres:
    """The server after the script ran once with every password set."""
    ran = _psql(server, PASSWORDS)
    assert ran.returncode == 0, ran.stderr
    return server


@pytest.mark.parametrize("service", SERVICES)
async def test_each_service_gets_a_database_its_own_role_owns(
    initialised: EmbeddedPostgres, service: str
) -> None:
    admin = await asyncpg.connect(initialised.url)
    try:
        row = await admin.fetchrow(
            "SELECT r.rolname, r.rolsuper, r.rolcreatedb, r.rolcreaterole,"
            " r.rolpassword LIKE 'SCRAM-SHA-256$%' AS scram"
            " FROM pg_database d JOIN pg_authid r ON r.oid = d.datdba WHERE d.datname = $1",
            service,
        )
    finally:
        await admin.close()
    assert row is not None
    assert dict(row) == {
        "rolname": service,
        "rolsuper": False,
        "rolcreatedb": False,
        "rolcreaterole": False,
        "scram": True,
    }


@pytest.mark.parametrize(
    ("role", "database"), [("profile", "notes"), ("notes", "timeline"), ("insights", "profile")]
)
async def test_a_role_cannot_connect_to_another_services_database(
    initialised: EmbeddedPostgres, role: str, database: str
) -> None:
    url = f"postgresql://{role}:pw-{role}@127.0.0.1:{initialised.port}/{database}"
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied for database"):
        await asyncpg.connect(url)


async def test_a_missing_password_stops_the_script_before_anything_is_created(
    empty_server: EmbeddedPostgres,
) -> None:
    ran = _psql(empty_server, {k: v for k, v in PASSWORDS.items() if k != "NOTES_DB_PASSWORD"})
    assert ran.returncode != 0
    assert "NOTES_DB_PASSWORD not set" in ran.stderr
    admin = await asyncpg.connect(empty_server.url)
    try:
        roles = await admin.fetchval(
            "SELECT count(*) FROM pg_roles WHERE rolname = ANY($1::text[])", SERVICES
        )
    finally:
        await admin.close()
    assert roles == 0
