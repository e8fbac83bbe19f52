"""Credentials of the local stack (`make run`), and new connector credentials for it.

    python -m deploy.credentials connector [--workspace W] [--run-dir .run]

prints a NATS URL with the credentials of a new connector user: it may publish connector events
(`chat.v1.>`, or only `chat.v1.W.>` with --workspace) and ask for the agent context, nothing else.
The running NATS server takes the new user at once (a configuration reload, not a restart).

Every password of the stack is generated on first start and kept under `.run/secrets/`, readable
by its owner only; the NATS server's configuration holds only bcrypt hashes of them.
"""

import argparse
import json
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import bcrypt

from deploy.embedded import EmbeddedNats, write_private
from deploy.nats_auth import CONNECTOR, Permissions, accounts_conf, connector_permissions, roles
from shared.runtime import Deployable
from shared.subjects import WORKSPACE_PATTERN

RUN_DIR = Path(".run")


def _hash(password: str) -> str:
    # Cost 10: the server checks it on every connect and reconnect of every process; a password
    # here is 48 random hex digits, which no cost factor would need to protect.
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()


def with_credentials(url: str, user: str, password: str) -> str:
    """`url` (nats://host:port) signing in as `user`."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, f"{user}:{password}@{parts.netloc}", parts.path, "", ""))


@dataclass
class LocalSecrets:
    """Passwords of the stack's servers and users, generated once, private to their owner."""

    folder: Path

    def _load(self, name: str) -> dict[str, dict[str, str]]:
        path = self.folder / name
        loaded: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
        return loaded

    def _save(self, name: str, values: dict[str, dict[str, str]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        write_private(self.folder / name, json.dumps(values, indent=2))

    def password(self, name: str) -> str:
        """The password called `name` (a server's, a role's), made on first use."""
        known = self._load("passwords.json")
        if name not in known:
            plain = secrets.token_hex(24)
            known[name] = {"password": plain, "hash": _hash(plain)}
            self._save("passwords.json", known)
        return known[name]["password"]

    def _hash_of(self, name: str) -> str:
        self.password(name)
        return self._load("passwords.json")[name]["hash"]

    def mint_connector(self, workspace: str | None) -> tuple[str, str]:
        """A new connector user (confined to `workspace` if given) and its password."""
        user = f"{CONNECTOR}-{secrets.token_hex(4)}"
        plain = secrets.token_hex(24)
        minted = self._load("connectors.json")
        minted[user] = {"hash": _hash(plain), "workspace": workspace or ""}
        self._save("connectors.json", minted)
        return user, plain

    def nats_users(self, services: Sequence[Deployable] | None = None) -> dict[str, tuple[str, Permissions]]:
        """Every NATS user with the hash of its password: the stack's roles and minted connectors."""
        users = {
            name: (json.dumps(self._hash_of(f"nats-{name}")), rules)
            for name, rules in roles(services).items()
        }
        for user, minted in self._load("connectors.json").items():
            users[user] = (
                json.dumps(minted["hash"]),
                connector_permissions(user, minted["workspace"] or None),
            )
        return users

    def nats_accounts(self, services: Sequence[Deployable] | None = None) -> str:
        """The accounts block of the embedded NATS server."""
        return accounts_conf(self.nats_users(services))


def _env(run_dir: Path) -> dict[str, str]:
    path = run_dir / "env"
    if not path.exists():
        raise SystemExit(f"{path} not found: start the stack first (make run)")
    pairs = (line.partition("=") for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, _, value in pairs}


def mint_connector_url(run_dir: Path, workspace: str | None) -> str:
    """A connector URL for the running stack: its user added to the embedded NATS server."""
    nats_dir = run_dir / "nats"
    server = EmbeddedNats(nats_dir, port=urlsplit(_env(run_dir)["NATS_URL"]).port or 0)
    if not server.pid_path.exists():
        raise SystemExit(
            "the stack does not run its own NATS server (NATS_URL was given): add a connector user "
            "to that server's configuration instead (see deploy/nats/accounts.conf)"
        )
    local = LocalSecrets(run_dir / "secrets")
    user, password = local.mint_connector(workspace)
    server.reload(local.nats_accounts())
    return with_credentials(server.url, user, password)


def _workspace(value: str) -> str:
    if not WORKSPACE_PATTERN.match(value):
        raise argparse.ArgumentTypeError("not a workspace id (letters, digits, _ and -, at most 64)")
    return value


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m deploy.credentials",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kind", choices=["connector"], help="what the credentials are for")
    parser.add_argument("--workspace", type=_workspace, help="confine the connector to this workspace")
    parser.add_argument("--run-dir", type=Path, default=RUN_DIR, help="the stack's run folder")
    args = parser.parse_args(argv)
    sys.stdout.write(mint_connector_url(args.run_dir, args.workspace) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
