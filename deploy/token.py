"""Mint a gateway token (CONTRACT.md §2) for a staff member, signed with this deployment's JWT_SECRET.

    python -m deploy.token --workspace acme --role admin --name "Dana Ops" --ttl 8h
    docker compose run --rm gateway python -m deploy.token --workspace acme --role agent --name Sam
    kubectl exec deploy/gateway -- python -m deploy.token --workspace acme --role agent --name Sam

Prints the token alone on stdout (its expiry goes to stderr), so that it can be captured.
"""

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import get_args

from pydantic import ValidationError

from gateway.auth import Role, issue_token
from gateway.config import GatewaySettings
from shared.subjects import WORKSPACE_PATTERN

_DURATION = re.compile(r"^([1-9][0-9]*)([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# The gateway reads at most 200 characters of `name` and `sub` (gateway/auth.py).
_MAX_TEXT = 200


def parse_ttl(text: str) -> int:
    """Seconds in a lifetime written as 3600, 90m, 8h or 30d."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a lifetime: {text!r} (examples: 3600, 90m, 8h, 30d)")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _workspace(text: str) -> str:
    if not WORKSPACE_PATTERN.match(text):
        raise argparse.ArgumentTypeError(f"not a workspace id: {text!r} (1-64 of A-Z a-z 0-9 _ -)")
    return text


def _text(text: str) -> str:
    value = text.strip()
    if not value or len(value) > _MAX_TEXT or "\x00" in value:
        raise argparse.ArgumentTypeError(f"must be 1-{_MAX_TEXT} characters: {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m deploy.token", description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", required=True, type=_workspace, help="tenant the token is for")
    parser.add_argument("--role", required=True, choices=get_args(Role))
    parser.add_argument("--name", required=True, type=_text, help="display name, shown as note author")
    parser.add_argument("--sub", type=_text, help="user id (default: the name)")
    parser.add_argument("--ttl", type=parse_ttl, default=parse_ttl("8h"), help="lifetime (default 8h)")
    args = parser.parse_args(argv)
    try:
        secret = GatewaySettings().jwt_secret
    except ValidationError:
        sys.stderr.write("JWT_SECRET is not set: run this where the gateway runs, with its environment\n")
        return 2
    token = issue_token(
        secret,
        sub=args.sub or args.name,
        name=args.name,
        workspace=args.workspace,
        role=args.role,
        ttl_seconds=args.ttl,
    )
    expires = datetime.now(UTC) + timedelta(seconds=args.ttl)
    sys.stderr.write(f"expires {expires:%Y-%m-%d %H:%M:%S} UTC\n")
    sys.stdout.write(token + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
