"""Database roles as make run and the suite provision them: each service owns its database alone."""

import shutil
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from shared.db import database_name, database_url_for, migrate, provision
from tests.support import suite_password

PROBE_MIGRATIONS = Path(__file__).parent / "probe" / "migrations"

# The probe's next release, as far as its schema goes: one expand step.
NEXT_REVISION = """
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute("CREATE TABLE next_release (id integer)")
"""


@pytest.fixture
async def two_roles(fresh_database: Callable[[str], Awaitable[str]]) -> tuple[str, str]:
    """Two roles, each owning a database of its own name (as the suite gives every service)."""
    return await fresh_database("first"), await fresh_database("second")


async def test_a_role_owns_its_database_and_is_no_superuser(two_roles: tuple[str, str]) -> None:
    conn = await asyncpg.connect(two_roles[0])
    try:
        row = await conn.fetchrow(
            "SELECT pg_get_userbyid(datdba) = current_user, rolsuper FROM pg_database, pg_roles "
            "WHERE datname = current_database() AND rolname = current_user"
        )
    finally:
        await conn.close()
    assert row is not None and tuple(row) == (True, False)


async def test_a_role_cannot_connect_to_another_services_database(two_roles: tuple[str, str]) -> None:
    first, second = two_roles
    others = database_name(second)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied for database"):
        await asyncpg.connect(database_url_for(first, others))


async def test_a_wrong_password_is_refused(two_roles: tuple[str, str]) -> None:
    first, _ = two_roles
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(first.replace(f":{suite_password(database_name(first))}@", ":a-guess@"))


async def test_provisioning_again_changes_nothing_but_the_password(postgres_url: str) -> None:
    name = f"t_role_{uuid.uuid4().hex[:8]}"
    await provision(postgres_url, name, "first")
    url = await provision(postgres_url, name, "second")
    conn = await asyncpg.connect(url)
    await conn.close()
    admin = await asyncpg.connect(database_url_for(postgres_url, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.execute(f'DROP ROLE "{name}"')
    finally:
        await admin.close()


async def test_a_release_finding_its_database_migrated_by_the_next_starts_on_it_as_it_is(
    fresh_database: Callable[[str], Awaitable[str]], tmp_path: Path
) -> None:
    """A replica of the older release restarting during a rollout, or code rolled back."""
    url = await fresh_database("rollout")
    next_release = tmp_path / "migrations"
    shutil.copytree(PROBE_MIGRATIONS, next_release)
    (next_release / "versions" / "0003_next_release.py").write_text(NEXT_REVISION)
    await migrate(next_release, url)

    await migrate(PROBE_MIGRATIONS, url)

    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT version_num FROM alembic_version") == "0003"
        assert await conn.fetchval("SELECT to_regclass('next_release') IS NOT NULL")
    finally:
        await conn.close()
