"""The whole system on one machine: servers (embedded or given), every service and the gateway."""

import asyncio
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from deploy.credentials import LocalSecrets, with_credentials
from deploy.embedded import (
    EmbeddedNats,
    EmbeddedPostgres,
    EmbeddedRedis,
    EmbeddedServer,
    free_port,
    kill_process_group,
    nats_cluster,
    open_private_log,
    start_together,
    write_private,
)
from deploy.nats_auth import CONNECTOR, OPERATOR
from gateway.auth import issue_token
from shared.db import provision
from shared.memory import memory_parent
from shared.registry import SERVICE_NAMES

DEV_TOKEN_TTL = 30 * 24 * 3600
DEMO_WORKSPACE = "demo"
DEMO_CUSTOMERS = 50


def admin_url_key(process: str) -> str:
    """The .run/env key of a process's admin URL (CONTRACT.md §9)."""
    return f"{process.upper()}_ADMIN_URL"


ADMIN_URL_KEYS = tuple(admin_url_key(name) for name in (*SERVICE_NAMES, "gateway"))


def _port_is_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Process:
    """One service or gateway process the stack supervises."""

    name: str
    module: str
    env: dict[str, str]
    log_path: Path
    args: tuple[str, ...] = ()
    proc: subprocess.Popen[bytes] | None = None
    # What it runs (a service's name, `gateway`), shared by its replicas; by default its name.
    service: str = ""

    def __post_init__(self) -> None:
        self.service = self.service or self.name

    def start(self) -> None:
        """Start the process, appending its output to its log file (private: it holds customer text)."""
        with open_private_log(self.log_path) as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def tail(self, lines: int = 10) -> str:
        """The last lines of its log (why it exited, usually)."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def alive(self) -> bool:
        """Whether the process is running."""
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit."""
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL, as a crash would: to the process and every process it started.

        The process leads its own process group (start_new_session). Killing the leader alone
        would orphan its children, e.g. the gateway's uvicorn workers (GATEWAY_WORKERS > 1),
        which keep the port and make every restart fail with "address already in use".
        """
        if self.alive():
            assert self.proc is not None
            kill_process_group(self.proc)


def replica_names(name: str, replicas: int) -> list[str]:
    """Process names of a service's replicas: its name alone, or `<name>-1`, `<name>-2`, ..."""
    return [name] if replicas == 1 else [f"{name}-{index}" for index in range(1, replicas + 1)]


def wait_ready(processes: Iterable[Process], gateway_urls: Sequence[str], timeout: float) -> None:
    """Wait until every gateway's /readyz answers 200; fail at once if a process exits."""
    deadline = time.monotonic() + timeout
    waiting = list(gateway_urls)
    last = ""
    while time.monotonic() < deadline:
        for process in processes:
            if not process.alive():
                raise RuntimeError(f"{process.name} exited; see {process.log_path}:\n{process.tail()}")
        try:
            while waiting:
                response = httpx.get(waiting[0] + "/readyz", timeout=2)
                if response.status_code != 200:
                    last = response.text
                    break
                waiting.pop(0)
        except httpx.HTTPError as exc:
            last = repr(exc)
        if not waiting:
            return
        time.sleep(0.2)
    raise TimeoutError(f"the stack was not ready within {timeout}s: {last}")


@dataclass
class LocalStack:
    """Starts and supervises the system under `run_dir`.

    `make run` runs one process of each service and one gateway on one NATS server. With
    `replicas`, each service and the gateway run that many processes (services share their work
    through NATS; each gateway has a port of its own); with `nats_nodes`, the embedded NATS is a
    JetStream cluster of that many nodes on loopback routes (the cluster fault suite).
    """

    run_dir: Path
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    replicas: int = 1
    nats_nodes: int = 1
    servers: dict[str, EmbeddedServer] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    gateway_urls: list[str] = field(default_factory=list)
    # The reference connector seeding the demo workspace: runs once, never restarted.
    demo: Process | None = None
    _demo_reported: bool = False

    @property
    def local_secrets(self) -> LocalSecrets:
        """The stack's passwords, private under the run folder."""
        return LocalSecrets(self.run_dir / "secrets")

    def start_servers(self) -> None:
        """Use NATS_URL/DATABASE_URL/REDIS_URL if given, else start embedded servers (together).

        Embedded servers require passwords: NATS admits only the users of deploy.nats_auth,
        PostgreSQL and Redis only with the passwords kept in `.run/secrets/`.
        """
        self.run_dir.mkdir(parents=True, exist_ok=True)
        embedded: dict[str, list[EmbeddedServer]] = {}
        if not self.environ.get("NATS_URL"):
            accounts = self.local_secrets.nats_accounts()
            nodes = (
                [EmbeddedNats(self.run_dir / "nats", accounts=accounts)]
                if self.nats_nodes == 1
                else nats_cluster(self.run_dir, accounts, self.nats_nodes)
            )
            embedded["NATS_URL"] = list(nodes)
        if not self.environ.get("DATABASE_URL"):
            password = self.local_secrets.password("postgres")
            embedded["DATABASE_URL"] = [EmbeddedPostgres(self.run_dir / "postgres", password=password)]
        if not self.environ.get("REDIS_URL"):
            password = self.local_secrets.password("redis")
            embedded["REDIS_URL"] = [EmbeddedRedis(self.run_dir / "redis", password=password)]
        for servers in embedded.values():
            self.servers.update({server.data_dir.name: server for server in servers})
        start_together(self.servers.values())
        for key in ("NATS_URL", "DATABASE_URL", "REDIS_URL"):
            given = self.environ.get(key)
            self.urls[key] = given or ",".join(server.url for server in embedded[key])
        # Nobody else lists or reads the run folder; as root, PostgreSQL's own user must still pass
        # through it to its data folder.
        self.run_dir.chmod(0o711 if os.geteuid() == 0 else 0o700)

    def nats_password(self, user: str) -> str:
        """A NATS user's password: `<USER>_NATS_PASSWORD` for a server of one's own, else the kept one."""
        return self.environ.get(f"{user.upper()}_NATS_PASSWORD") or self.local_secrets.password(
            f"nats-{user}"
        )

    def service_databases(self) -> dict[str, str]:
        """`<SERVICE>_DATABASE_URL` of every service: a role of its own owning its own database."""
        return {
            f"{name.upper()}_DATABASE_URL": asyncio.run(
                provision(self.urls["DATABASE_URL"], name, self.local_secrets.password(f"db-{name}"))
            )
            for name in SERVICE_NAMES
        }

    def jwt_secret(self) -> str:
        """JWT_SECRET from the environment, else one kept under the run dir across restarts."""
        if self.environ.get("JWT_SECRET"):
            return self.environ["JWT_SECRET"]
        path = self.run_dir / "jwt_secret"
        if not path.exists():
            write_private(path, secrets.token_urlsafe(32))
        return path.read_text().strip()

    @property
    def memory_dir(self) -> Path:
        """This stack's folder in memory, one per run folder: kept across restarts, removed by stop."""
        digest = hashlib.sha256(str(self.run_dir.resolve()).encode()).hexdigest()[:16]
        return memory_parent() / f"customer-profile-{digest}"

    def metrics_dir(self, replica: str) -> Path:
        """Where a gateway replica's workers write their metric values (emptied at its start)."""
        return self.memory_dir / f"{replica}-metrics"

    def gateway_port(self) -> int:
        """GATEWAY_PORT, default 8080; a free port if 8080 is taken and none was asked for."""
        if self.environ.get("GATEWAY_PORT"):
            return int(self.environ["GATEWAY_PORT"])
        return 8080 if _port_is_free(8080) else free_port()

    def start_processes(self) -> None:
        """Start every service, then the gateway: each with its own NATS user and database role."""
        env = {
            **self.environ,
            "NATS_URL": self.urls["NATS_URL"],
            "REDIS_URL": self.urls["REDIS_URL"],
            "JWT_SECRET": self.urls["JWT_SECRET"],
            "GATEWAY_PORT": self.urls["GATEWAY_PORT"],
            "PYTHONUNBUFFERED": "1",
        }
        # The administrator's URL stays with the stack: no process connects as superuser.
        env.pop("DATABASE_URL", None)
        databases = self.service_databases()
        logs = self.run_dir / "logs"
        logs.mkdir(exist_ok=True)
        logs.chmod(0o700)
        for name in (*SERVICE_NAMES, "gateway"):
            own = {"NATS_USER": name, "NATS_PASSWORD": self.nats_password(name), **self.admin_env(name)}
            if name in SERVICE_NAMES:
                key = f"{name.upper()}_DATABASE_URL"
                own[key] = self.environ.get(key) or databases[key]
            else:
                # The gateway's workers share their metrics through files here.
                self.memory_dir.mkdir(mode=0o700, exist_ok=True)
                own["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir(name))
            module = "gateway" if name == "gateway" else f"services.{name}"
            for index, replica in enumerate(replica_names(name, self.replicas)):
                mine = own
                if index:
                    # .run/env names the first replica's ports; the others need ports of their own.
                    mine = {**own, "ADMIN_PORT": str(free_port())}
                    if name == "gateway":
                        mine["GATEWAY_PORT"] = str(free_port())
                        mine["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir(replica))
                log = logs / f"{replica}.log"
                self.processes[replica] = Process(replica, module, {**env, **mine}, log, service=name)
        self.gateway_urls = [
            f"http://127.0.0.1:{process.env['GATEWAY_PORT']}" for process in self.replicas_of("gateway")
        ]
        for process in self.processes.values():
            process.start()

    def replicas_of(self, service: str) -> list[Process]:
        """The processes running `service` (or `gateway`)."""
        return [process for process in self.processes.values() if process.service == service]

    def assign_admin_ports(self) -> None:
        """A free admin port for each process, kept across its restarts: <NAME>_ADMIN_URL."""
        for name in (*SERVICE_NAMES, "gateway"):
            self.urls[admin_url_key(name)] = f"http://127.0.0.1:{free_port()}"

    def admin_env(self, name: str) -> dict[str, str]:
        """ADMIN_HOST and ADMIN_PORT of one process, from its admin URL."""
        host, _, port = self.urls[admin_url_key(name)].removeprefix("http://").partition(":")
        return {"ADMIN_HOST": host, "ADMIN_PORT": port}

    def start(self, ready_timeout: float = 90.0) -> dict[str, str]:
        """Bring everything up and wait for /readyz; returns the values written to .run/env."""
        self.start_servers()
        self.urls["JWT_SECRET"] = self.jwt_secret()
        port = self.gateway_port()
        self.urls["GATEWAY_PORT"] = str(port)
        self.urls["GATEWAY_URL"] = f"http://127.0.0.1:{port}"
        self.assign_admin_ports()
        self.start_processes()
        self.wait_ready(ready_timeout)
        env = {
            "GATEWAY_URL": self.urls["GATEWAY_URL"],
            "NATS_URL": self.urls["NATS_URL"],
            # A platform connector's credentials (CONTRACT.md §8); more: python -m deploy.credentials.
            "NATS_CONNECTOR_URL": ",".join(
                with_credentials(url, CONNECTOR, self.nats_password(CONNECTOR))
                for url in self.urls["NATS_URL"].split(",")
            ),
            # The operator tools' NATS user (shared.deadletter, services.insights.reanalyse).
            "NATS_USER": OPERATOR,
            "NATS_PASSWORD": self.nats_password(OPERATOR),
            "DATABASE_URL": self.urls["DATABASE_URL"],
            "REDIS_URL": self.urls["REDIS_URL"],
            "JWT_SECRET": self.urls["JWT_SECRET"],
            "DEV_TOKEN": issue_token(
                self.urls["JWT_SECRET"],
                sub="dev",
                name="Developer",
                workspace="demo",
                role="admin",
                ttl_seconds=DEV_TOKEN_TTL,
            ),
            **{key: self.urls[key] for key in ADMIN_URL_KEYS},
        }
        write_private(self.run_dir / "env", "".join(f"{k}={v}\n" for k, v in env.items()))
        return env

    def wait_ready(self, timeout: float) -> None:
        """Wait until every gateway's /readyz answers 200."""
        wait_ready(self.processes.values(), self.gateway_urls, timeout)

    def demo_workspace_is_empty(self, env: dict[str, str]) -> bool:
        """Whether the gateway lists no customer in the demo workspace (asked as DEV_TOKEN's admin)."""
        response = httpx.get(
            env["GATEWAY_URL"] + "/v1/customers",
            params={"limit": 1},
            headers={"Authorization": f"Bearer {env['DEV_TOKEN']}"},
            timeout=10,
        )
        response.raise_for_status()
        return not response.json()["items"]

    def start_demo(self, env: dict[str, str], customers: int = DEMO_CUSTOMERS) -> str:
        """Seed the demo workspace in the background if it is empty, unless DEMO=0; says what it did.

        The reference connector publishes as any connector would; it picks its NATS URL from the
        environment it is given (connectors.simulator.config.connector_url: NATS_CONNECTOR_URL,
        else NATS_URL), so it gets connector credentials as soon as the stack writes them.
        """
        if self.environ.get("DEMO") == "0":
            return "off (DEMO=0)"
        try:
            empty = self.demo_workspace_is_empty(env)
        except httpx.HTTPError as exc:
            return f"not seeded: could not tell whether workspace {DEMO_WORKSPACE} is empty ({exc})"
        if not empty:
            return f"workspace {DEMO_WORKSPACE} already has customers; not seeding it"
        log = self.run_dir / "logs" / "simulator.log"
        args = ("seed", "--workspace", DEMO_WORKSPACE, "--customers", str(customers))
        self.demo = Process(
            "simulator", "connectors.simulator", {**self.environ, **env, "PYTHONUNBUFFERED": "1"}, log, args
        )
        self.demo.start()
        return (
            f"seeding workspace {DEMO_WORKSPACE} with {customers} customers in the background "
            f"(log: {log.relative_to(self.run_dir.parent)}; DEMO=0 turns it off)"
        )

    def demo_outcome(self) -> str | None:
        """Once, after the demo seeding ended: how it went; None while it runs or once reported."""
        if self.demo is None or self.demo.alive() or self._demo_reported:
            return None
        self._demo_reported = True
        assert self.demo.proc is not None
        if self.demo.proc.returncode == 0:
            return "published; the services analyse its conversations in the background"
        return f"the simulator exited with code {self.demo.proc.returncode}; see {self.demo.log_path}"

    def supervise_once(self) -> list[str]:
        """Restart any process that died; returns the names restarted."""
        restarted = []
        for process in self.processes.values():
            if not process.alive():
                if process.proc is not None:
                    # Children a dead process left behind (uvicorn workers) would hold its port.
                    kill_process_group(process.proc)
                process.start()
                restarted.append(process.name)
        return restarted

    def stop(self) -> None:
        """Stop the demo seeding, the gateway, then the services, then the servers we started."""
        if self.demo is not None:
            self.demo.stop()
        for name in ("gateway", *SERVICE_NAMES):
            for process in self.replicas_of(name):
                process.stop()
        for server in reversed(list(self.servers.values())):
            server.stop()
        shutil.rmtree(self.memory_dir, ignore_errors=True)
