"""JWT authentication and roles (CONTRACT.md §2)."""

import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import jwt
from fastapi import Depends, Request

from gateway.errors import Problem
from gateway.ratelimit import RateLimiter
from shared.subjects import WORKSPACE_PATTERN
from shared.validation import no_nul

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


def _clean_text(value: object) -> str | None:
    """The claim if it is usable text (1–200 characters, no U+0000, valid Unicode), else None."""
    if not isinstance(value, str) or not value or len(value) > 200:
        return None
    try:
        return no_nul(value)
    except ValueError:
        return None


def decode_token(secret: str, token: str) -> Principal:
    """The principal of a valid token; Problem(401) for anything else."""
    return _principal_of(_verified_claims(secret, token))


def _verified_claims(secret: str, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["sub", "workspace", "role", "exp"]}
        )
    except jwt.ExpiredSignatureError:
        raise Problem(401, "token expired", headers={"WWW-Authenticate": "Bearer"}) from None
    except jwt.InvalidTokenError:
        raise Problem(401, "invalid token", headers={"WWW-Authenticate": "Bearer"}) from None
    return claims


def _principal_of(claims: dict[str, Any]) -> Principal:
    workspace, role = claims.get("workspace"), claims.get("role")
    sub = _clean_text(claims.get("sub"))
    name = _clean_text(claims.get("name") or sub)
    if (
        sub is None
        or name is None
        or not isinstance(workspace, str)
        or not WORKSPACE_PATTERN.match(workspace)
        or role not in ("agent", "admin")
    ):
        raise Problem(401, "invalid token claims", headers={"WWW-Authenticate": "Bearer"})
    return Principal(user_id=sub, name=name, workspace=workspace, role=role)


class TokenCache:
    """Principals of recently seen tokens, so a token's signature is checked once, not per request.

    A token is immutable, so its verified claims stay valid until it expires; expiry is checked
    on every use. Bounded: the oldest entries go first.
    """

    def __init__(self, secret: str, size: int = 4096) -> None:
        self.secret = secret
        self.size = size
        self._principals: dict[str, tuple[Principal, float]] = {}

    def principal(self, token: str) -> Principal:
        """The token's principal; Problem(401) if it is invalid or expired."""
        known = self._principals.get(token)
        if known is not None:
            principal, expires_at = known
            if time.time() < expires_at:
                return principal
            del self._principals[token]
        claims = _verified_claims(self.secret, token)
        principal = _principal_of(claims)
        if len(self._principals) >= self.size:
            del self._principals[next(iter(self._principals))]
        self._principals[token] = (principal, float(claims["exp"]))
        return principal


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    # EventSource cannot send headers: the live-updates stream may carry the token in the query.
    if request.url.path.endswith("/events") and request.query_params.get("access_token"):
        return request.query_params["access_token"]
    raise Problem(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the authenticated principal of this request, within its rate limit."""
    tokens: TokenCache = request.app.state.tokens
    principal = tokens.principal(_bearer_token(request))
    request.state.principal = principal
    limiter: RateLimiter = request.app.state.rate_limiter
    wait = await limiter.seconds_until_allowed(principal.workspace)
    if wait:
        raise Problem(429, "rate limit exceeded for this workspace", headers={"Retry-After": str(wait)})
    return principal


async def require_admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """FastAPI dependency: an admin principal, else 403."""
    if not principal.is_admin:
        raise Problem(403, "admin role required")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
AdminPrincipal = Annotated[Principal, Depends(require_admin)]
