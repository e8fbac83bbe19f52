"""JWT authentication and roles (CONTRACT.md §2)."""

import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway.errors import Problem
from gateway.ratelimit import RateLimiter
from shared import metrics
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
    # When the token stops being valid (seconds since the epoch): a live stream ends then.
    expires_at: float

    @property
    def is_admin(self) -> bool:
        """Admins manage the tag catalog."""
        return self.role == "admin"


def issue_token(
    secret: str,
    *,
    sub: str,
    name: str,
    workspace: str,
    role: Role,
    ttl_seconds: int = 3600,
    issuer: str | None = None,
    audience: str | None = None,
) -> str:
    """A signed token (make run's DEV_TOKEN, python -m deploy.token, tests, benchmarks)."""
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": sub,
        "name": name,
        "workspace": workspace,
        "role": role,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if issuer is not None:
        claims["iss"] = issuer
    if audience is not None:
        claims["aud"] = audience
    return jwt.encode(claims, secret, algorithm="HS256")


def _clean_text(value: object) -> str | None:
    """The claim if it is usable text (1–200 characters, no U+0000, valid Unicode), else None."""
    if not isinstance(value, str) or not value or len(value) > 200:
        return None
    try:
        return no_nul(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class TokenRules:
    """What a token must satisfy besides its signature and expiry."""

    secret: str
    max_lifetime_seconds: int = 31 * 24 * 3600
    issuer: str | None = None
    audience: str | None = None


def _unauthorized(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": "Bearer"})


def _verified_claims(rules: TokenRules, token: str) -> dict[str, Any]:
    required = [
        "sub",
        "workspace",
        "role",
        "exp",
        *(["iss"] if rules.issuer else []),
        *(["aud"] if rules.audience else []),
    ]
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            rules.secret,
            algorithms=["HS256"],
            issuer=rules.issuer,
            audience=rules.audience,
            options={"require": required, "verify_aud": rules.audience is not None},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("token expired") from None
    except jwt.InvalidTokenError:
        raise _unauthorized("invalid token") from None
    if float(claims["exp"]) > time.time() + rules.max_lifetime_seconds:
        raise _unauthorized("token lifetime over the maximum")
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
        raise _unauthorized("invalid token claims")
    return Principal(user_id=sub, name=name, workspace=workspace, role=role, expires_at=float(claims["exp"]))


class TokenCache:
    """Principals of recently seen tokens, so a token's signature is checked once, not per request.

    A token is immutable, so its verified claims stay valid until it expires; expiry is checked
    on every use. Bounded: the oldest entries go first.
    """

    def __init__(self, rules: TokenRules, size: int = 4096) -> None:
        self.rules = rules
        self.size = size
        self._principals: dict[str, Principal] = {}

    def principal(self, token: str) -> Principal:
        """The token's principal; Problem(401) if it is invalid or expired."""
        known = self._principals.get(token)
        if known is not None:
            if time.time() < known.expires_at:
                return known
            del self._principals[token]
        principal = _principal_of(_verified_claims(self.rules, token))
        if len(self._principals) >= self.size:
            del self._principals[next(iter(self._principals))]
        self._principals[token] = principal
        return principal


# Declares the bearer scheme in the OpenAPI of every route that depends on it; the token is checked here.
_BEARER = HTTPBearer(auto_error=False, description="A JWT (CONTRACT.md §2), HS256")


def _bearer_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is not None:
        return credentials.credentials
    # EventSource cannot send headers: the live-updates stream may carry the token in the query.
    if request.url.path.endswith("/events") and request.query_params.get("access_token"):
        return request.query_params["access_token"]
    raise _unauthorized("missing bearer token")


async def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]
) -> Principal:
    """FastAPI dependency: the authenticated principal of this request, within its rate limit."""
    tokens: TokenCache = request.app.state.tokens
    principal = tokens.principal(_bearer_token(request, credentials))
    request.state.principal = principal
    limiter: RateLimiter = request.app.state.rate_limiter
    wait = await limiter.seconds_until_allowed(principal.workspace)
    if wait:
        metrics.rate_limited()
        raise Problem(429, "rate limit exceeded for this workspace", headers={"Retry-After": str(wait)})
    return principal


async def require_admin(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """FastAPI dependency: an admin principal, else 403."""
    if not principal.is_admin:
        raise Problem(403, "admin role required")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
AdminPrincipal = Annotated[Principal, Depends(require_admin)]
