"""The embedded servers as the fault suites use them: a SIGKILLed server restarts at once."""

import contextlib
import os
import signal
from pathlib import Path

import asyncpg

from deploy.embedded import EmbeddedPostgres, process_running
from shared.db import database_url_for


async def test_a_killed_postgresql_leaves_no_backend_behind_and_restarts(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "postgres", password="embedded-test-password")
    server.start()
    frozen: list[int] = []
    try:
        url = database_url_for(server.url, "postgres")
        connections = [await asyncpg.connect(url) for _ in range(3)]
        await connections[0].execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
        backends = [await conn.fetchval("SELECT pg_backend_pid()") for conn in connections]
        # A backend that has not yet noticed its postmaster died (each leads a session of its
        # own, outside the postmaster's process group): it holds the shared memory a restart needs.
        os.kill(backends[0], signal.SIGSTOP)
        frozen.append(backends[0])

        server.kill()

        assert [pid for pid in backends if process_running(pid)] == []
        server.start()
        conn = await asyncpg.connect(url)
        assert await conn.fetchval("SELECT n FROM kept") == 7
        await conn.close()
        for stale in connections:
            stale.terminate()
    finally:
        server.stop()
        for pid in frozen:  # should the kill have missed it
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
