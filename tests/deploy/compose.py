"""docker-compose.yml run as local processes, for want of a Docker engine on these machines.

Every application service (those running our image) starts as a process with exactly the
`command` and `environment` the file gives it, on top of the image's own `ENV` (the Dockerfile's
last stage), after compose's `${VAR}` interpolation from a generated `.env`. The servers are
the embedded ones, run with the file's configuration: nats-server with the mounted `nats.conf`
and `accounts.conf` and the passwords from its environment, PostgreSQL initialised by the
mounted init scripts as the postgres image does on its first start, redis-server with the file's
options. What a container sees differently is translated, and nothing else:

- host names of the file's servers (`nats:4222`, `postgres:5432`, `redis:6379`) become their
  local address; a host and port no server of the file listens on is an error;
- each container has a network of its own: a process's own ports (`*_PORT`) become free local
  ports, and its bind address `0.0.0.0` becomes 127.0.0.1;
- a `tmpfs` mount named in a variable becomes a folder of its own, a named volume's path in a
  server's configuration a folder under the run directory;
- `python` is this virtualenv's interpreter; nothing of this machine's environment but `PATH`
  reaches a process, so a setting the file forgets is missing here as it would be there.
"""

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from deploy.embedded import (
    EmbeddedNats,
    EmbeddedPostgres,
    EmbeddedRedis,
    EmbeddedServer,
    free_port,
    start_together,
)
from deploy.stack import Process

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
OUR_IMAGE = "customer-profile:"
# Where the servers' images listen inside the compose network (nats.conf sets 4222; the postgres
# and redis images' defaults).
SERVER_PORTS = {"nats": 4222, "postgres": 5432, "redis": 6379}
INIT_SCRIPTS = "/docker-entrypoint-initdb.d/"

_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class ComposeError(ValueError):
    """The compose file cannot run as written: the message says where and why."""


def interpolate(text: str, variables: Mapping[str, str]) -> str:
    """Compose's interpolation: `${VAR}`, `$VAR`, `${VAR:-default}`, `${VAR-default}`,
    `${VAR:?error}`, `${VAR?error}` and `$$` for a literal `$`."""

    def value(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2), match.group(3) or ""
        found = variables.get(name)
        missing = found is None or (found == "" and operator is not None and operator.startswith(":"))
        if not missing:
            return found or ""
        if operator is not None and operator.endswith("?"):
            raise ComposeError(f"required variable {name} is missing a value: {argument}")
        if operator is not None and operator.endswith("-"):
            return argument
        return ""

    return _VARIABLE.sub(value, text)


def _interpolated(node: Any, variables: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, variables)
    if isinstance(node, list):
        return [_interpolated(item, variables) for item in node]
    if isinstance(node, dict):
        return {key: _interpolated(item, variables) for key, item in node.items()}
    return node


def image_environment(dockerfile: Path = DOCKERFILE) -> dict[str, str]:
    """`ENV` of the Dockerfile's last stage: what every container of the image starts with."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    stages = re.split(r"(?m)^FROM\s", text)
    found: dict[str, str] = {}
    for line in stages[-1].splitlines():
        if line.startswith("ENV "):
            found.update(pair.split("=", 1) for pair in line[4:].split())  # type: ignore[misc]
    return found


@dataclass(frozen=True)
class Service:
    """One service of the compose file, interpolated."""

    name: str
    spec: dict[str, Any]

    @property
    def environment(self) -> dict[str, str]:
        """Its environment as compose hands it over (an entry without a value is left out)."""
        return {
            key: str(value)
            for key, value in (self.spec.get("environment") or {}).items()
            if value is not None
        }

    @property
    def ours(self) -> bool:
        """Whether it runs our image (an application service) rather than a server's."""
        return str(self.spec.get("image", "")).startswith(OUR_IMAGE)

    @property
    def command(self) -> list[str]:
        """Its command line."""
        return [str(part) for part in self.spec["command"]]

    def volumes(self) -> dict[str, str]:
        """Its mounts: path in the container → source (a path under the repository, or a volume name)."""
        mounts = {}
        for volume in self.spec.get("volumes", []):
            source, target = str(volume).split(":")[:2]
            mounts[target] = str(ROOT / source) if source.startswith(".") else source
        return mounts


def load(variables: Mapping[str, str], path: Path = COMPOSE_FILE) -> dict[str, Service]:
    """Every service of the compose file, interpolated from `variables` (the `.env`)."""
    document = yaml.safe_load(path.read_text())
    return {
        name: Service(name, _interpolated(spec, variables)) for name, spec in document["services"].items()
    }


@dataclass
class ComposeRun:
    """docker-compose.yml's servers and application services, up on this machine."""

    run_dir: Path
    variables: Mapping[str, str]
    services: dict[str, Service] = field(init=False)
    servers: dict[str, EmbeddedServer] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.services = load(self.variables)

    @property
    def applications(self) -> list[Service]:
        """The services running our image that `docker compose up` starts (not the `tools` ones)."""
        return [s for s in self.services.values() if s.ours and not s.spec.get("profiles")]

    @property
    def gateway_url(self) -> str:
        """Where the gateway's process listens (the file publishes its port 8080)."""
        return f"http://127.0.0.1:{self.processes['gateway'].env['GATEWAY_PORT']}"

    @property
    def nats_address(self) -> str:
        """host:port of NATS, which the file publishes to connectors (its port 4222)."""
        return f"127.0.0.1:{self.servers['nats'].port}"

    # --- servers --------------------------------------------------------------------------------

    def start_servers(self) -> None:
        """NATS, PostgreSQL and Redis with the file's configuration, then the init scripts."""
        self.servers = {"nats": self._nats(), "postgres": self._postgres(), "redis": self._redis()}
        start_together(self.servers.values())
        self._run_init_scripts()

    def _nats(self) -> EmbeddedNats:
        service = self.services["nats"]
        command = service.command
        if command[:2] != ["nats-server", "--config"] or len(command) != 3:
            raise ComposeError(f"nats: only `nats-server --config <file>` runs here, not {command}")
        mounts = service.volumes()
        config_dir, config_name = command[2].rsplit("/", 1)
        local = self.run_dir / "nats-config"
        shutil.copytree(mounts[config_dir], local)
        # The named volumes, mounted: their paths in the configuration become local folders.
        for target, source in mounts.items():
            if not source.startswith("/"):
                folder = self.run_dir / f"volume-{source}"
                folder.mkdir(parents=True)
                pattern = re.compile(rf"(?<![\w/.]){re.escape(target)}(?![\w.-])")
                for conf in local.glob("*.conf"):
                    conf.write_text(pattern.sub(str(folder), conf.read_text()))
        return EmbeddedNats(
            self.run_dir / "nats",
            config_file=local / config_name,
            environ=service.environment,
            http_port=free_port(),
        )

    def _postgres(self) -> EmbeddedPostgres:
        password = self.services["postgres"].environment["POSTGRES_PASSWORD"]
        return EmbeddedPostgres(self.run_dir / "postgres", password=password)

    def _redis(self) -> EmbeddedRedis:
        command = self.services["redis"].command
        if command[0] != "redis-server":
            raise ComposeError(f"redis: only redis-server runs here, not {command[0]}")
        options = tuple(command[1:])
        password = options[options.index("--requirepass") + 1] if "--requirepass" in options else None
        return EmbeddedRedis(self.run_dir / "redis", password=password, options=options)

    def _run_init_scripts(self) -> None:
        """The mounted /docker-entrypoint-initdb.d/*.sql in name order, with the server's environment."""
        service = self.services["postgres"]
        postgres = self.servers["postgres"]
        assert isinstance(postgres, EmbeddedPostgres)
        for target, source in sorted(service.volumes().items()):
            if target.startswith(INIT_SCRIPTS) and target.endswith(".sql"):
                ran = postgres.psql("--file", source, environ=service.environment)
                if ran.returncode != 0:
                    raise ComposeError(f"postgres: {target} failed: {ran.stderr.strip()}")

    # --- application services -------------------------------------------------------------------

    def _address(self, match: re.Match[str], where: str) -> str:
        host, port = match.group(1), int(match.group(2))
        if SERVER_PORTS.get(host) != port:
            raise ComposeError(f"{where} names {host}:{port}, where no server of the file listens")
        return f"127.0.0.1:{self.servers[host].port}"

    def environment_of(self, service: Service) -> dict[str, str]:
        """What the process of `service` gets: the image's ENV and the file's, translated."""
        hosts = re.compile(rf"(?<=[/@])({'|'.join(map(re.escape, SERVER_PORTS))}):(\d+)")
        tmpfs = set(service.spec.get("tmpfs", []))
        env = {"PATH": os.environ.get("PATH", "")}
        for key, value in {**image_environment(), **service.environment}.items():
            if key == "PATH":
                continue  # the image's virtualenv; here, this machine's
            if key.endswith("_PORT"):
                value = str(free_port())
            elif value == "0.0.0.0":
                value = "127.0.0.1"
            elif value in tmpfs:
                folder = self.run_dir / "tmpfs" / service.name / value.strip("/").replace("/", "-")
                folder.mkdir(parents=True, exist_ok=True)
                value = str(folder)
            env[key] = hosts.sub(lambda m, k=key: self._address(m, f"{service.name}: {k}"), value)  # type: ignore[misc]
        return env

    def process(self, service: Service, command: list[str] | None = None, name: str | None = None) -> Process:
        """A process running `service`'s command (or `command` instead) with its environment."""
        command = command or service.command
        if command[:2] != ["python", "-m"]:
            raise ComposeError(f"{service.name}: only `python -m <module>` runs here, not {command}")
        logs = self.run_dir / "logs"
        logs.mkdir(exist_ok=True)
        label = name or service.name
        return Process(
            label, command[2], self.environment_of(service), logs / f"{label}.log", tuple(command[3:])
        )

    def start_applications(self) -> None:
        """Start every application service as `docker compose up` would (all at once here)."""
        for service in self.applications:
            self.processes[service.name] = self.process(service)
        for process in self.processes.values():
            process.start()

    def run(self, service: str, command: list[str] | None = None) -> subprocess.CompletedProcess[str]:
        """`docker compose run --rm <service> [command]`: once, to its end; its output."""
        process = self.process(self.services[service], command, name=f"{service}-run")
        return subprocess.run(
            [sys.executable, "-m", process.module, *process.args],
            env=process.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def stop(self) -> None:
        """Stop every process, then the servers."""
        for process in self.processes.values():
            process.stop()
        for server in self.servers.values():
            server.stop()
