"""python -m deploy.token: tokens the gateway accepts, and clear refusals."""

import argparse
import time

import jwt
import pytest

from deploy.token import main, parse_ttl
from gateway.auth import TokenCache, TokenRules
from tests.support import JWT_SECRET


@pytest.mark.parametrize(
    ("text", "seconds"), [("3600", 3600), ("45s", 45), ("90m", 5400), ("8h", 28800), ("30d", 2592000)]
)
def test_lifetimes_read_in_seconds_minutes_hours_or_days(text: str, seconds: int) -> None:
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["0", "-5", "8w", "1.5h", "h", ""])
def test_a_lifetime_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not a lifetime"):
        parse_ttl(text)


def test_the_minted_token_is_one_the_gateway_accepts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JWT_SECRET", JWT_SECRET)
    assert main(["--workspace", "acme", "--role", "admin", "--name", " Dana Ops ", "--ttl", "2h"]) == 0
    token = capsys.readouterr().out.strip()
    principal = TokenCache(TokenRules(JWT_SECRET)).principal(token)
    assert (principal.workspace, principal.role, principal.name, principal.user_id) == (
        "acme",
        "admin",
        "Dana Ops",
        "Dana Ops",
    )
    expires = jwt.decode(token, JWT_SECRET, algorithms=["HS256"])["exp"]
    assert abs(expires - (time.time() + 7200)) < 60


@pytest.mark.parametrize(
    "arguments",
    [
        ["--workspace", "no spaces", "--role", "admin", "--name", "N"],
        ["--workspace", "acme", "--role", "owner", "--name", "N"],
        ["--workspace", "acme", "--role", "agent", "--name", "   "],
        ["--workspace", "acme", "--role", "agent", "--name", "N" * 201],
        ["--workspace", "acme", "--role", "agent", "--name", "N", "--ttl", "soon"],
    ],
)
def test_bad_arguments_are_refused_before_anything_is_signed(
    arguments: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JWT_SECRET", JWT_SECRET)
    with pytest.raises(SystemExit) as exited:
        main(arguments)
    assert exited.value.code == 2
    assert capsys.readouterr().out == ""


def test_without_a_jwt_secret_it_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("JWT_SECRET", raising=False)
    assert main(["--workspace", "acme", "--role", "agent", "--name", "Sam"]) == 2
    output = capsys.readouterr()
    assert output.out == ""
    assert "JWT_SECRET is not set" in output.err
