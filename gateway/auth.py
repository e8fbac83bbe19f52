"""JWT authentication and roles (CONTRACT.md §2)."""

import time
from dataclasses import dataclass
from typing import Annotated, Literal

import jwt
from fastapi import Depends, Request

from gateway.errors import Problem
from shared.subjects import WORKSPACE_PATTERN

Role = Literal["agent", "admin"]


@dataclass(frozen=True)
class Principal:
    """The staff member a request acts for."""

    user_id: str
    name: str
    workspace: str
    role: Role

    @property
    def is_admin(self) -> bool:
        """Admins manage the tag catalog."""
        return self.role == "admin"


def issue_token(
    secret: str, *, sub: str, name: str, workspace: str, role: Role, ttl_seconds: int = 3600
) -> str:
    """A signed token (make run's DEV_TOKEN, tests, benchmarks)."""
    now = int(time.time())
    claims = {
        "sub": sub,
        "name": name,
        "workspace": workspace,
        "role": role,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def decode_token(secret: str, token: str) -> Principal:
    """The principal of a valid token; Problem(401) for anything else."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["sub", "workspace", "role", "exp"]}
        )
    except jwt.ExpiredSignatureError:
        raise Problem(401, "token expired", headers={"WWW-Authenticate": "Bearer"}) from None
    except jwt.InvalidTokenError:
        raise Problem(401, "invalid token", headers={"WWW-Authenticate": "Bearer"}) from None
    sub, workspace, role = claims.get("sub"), claims.get("workspace"), claims.get("role")
    name = claims.get("name") or sub
    if (
        not isinstance(sub, str)
        or not sub
        or not isinstance(name, str)
        or not isinstance(workspace, str)
        or not WORKSPACE_PATTERN.match(workspace)
        or role not in ("agent", "admin")
    ):
        raise Problem(401, "invalid token claims", headers={"WWW-Authenticate": "Bearer"})
    return Principal(user_id=sub, name=name, workspace=workspace, role=role)


def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the authenticated principal of this request."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    principal = decode_token(request.app.state.settings.jwt_secret, token.strip())
    request.state.principal = principal
    return principal


def require_admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """FastAPI dependency: an admin principal, else 403."""
    if not principal.is_admin:
        raise Problem(403, "admin role required")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
AdminPrincipal = Annotated[Principal, Depends(require_admin)]
