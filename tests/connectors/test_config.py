"""The connector's URL: which variable it comes from, what it must look like, what it reveals."""

import pytest

from connectors.simulator.config import ConfigError, connector_url, parse_nats_url, redact


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"NATS_CONNECTOR_URL": "nats://c:p@h:1", "NATS_URL": "nats://h:1"}, "nats://c:p@h:1"),
        ({"NATS_URL": "nats://h:1"}, "nats://h:1"),
        ({"NATS_CONNECTOR_URL": "", "NATS_URL": "nats://h:1"}, "nats://h:1"),
        ({}, None),
    ],
)
def test_connector_credentials_win_over_the_bare_bus_url(
    environ: dict[str, str], expected: str | None
) -> None:
    assert connector_url(environ) == expected


@pytest.mark.parametrize(
    ("url", "servers", "user", "inbox"),
    [
        (
            "nats://connector:secret@127.0.0.1:4222",
            ("nats://connector:secret@127.0.0.1:4222",),
            "connector",
            "_INBOX.connector",
        ),
        ("nats://127.0.0.1:4222", ("nats://127.0.0.1:4222",), None, "_INBOX"),
        (
            "nats://a:b@h1:4222, nats://a:b@h2:4222",
            ("nats://a:b@h1:4222", "nats://a:b@h2:4222"),
            "a",
            "_INBOX.a",
        ),
        ("tls://conn%2Dtor:p@h:4443", ("tls://conn%2Dtor:p@h:4443",), "conn-tor", "_INBOX.conn-tor"),
    ],
)
def test_a_nats_url_gives_servers_user_and_inbox(
    url: str, servers: tuple[str, ...], user: str | None, inbox: str
) -> None:
    target = parse_nats_url(url)
    assert (target.servers, target.user, target.inbox_prefix) == (servers, user, inbox)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "no NATS URL"),
        ("http://user:secret@host:4222", "not a NATS URL"),
        ("127.0.0.1:4222", "not a NATS URL"),
        ("nats://host", "needs a host and a port"),
        ("nats://host:port", "invalid port"),
        ("nats://a:b@h1:1,nats://c:d@h2:1", "same user"),
    ],
)
def test_a_wrong_url_is_refused_without_showing_its_password(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        parse_nats_url(url)
    assert "secret" not in str(refused.value)


def test_a_shown_url_masks_the_password() -> None:
    assert redact("nats://connector:s3cret@h:4222") == "nats://connector:***@h:4222"
    assert (
        parse_nats_url("nats://u:s3cret@h:1,nats://u:s3cret@g:1").shown == "nats://u:***@h:1,nats://u:***@g:1"
    )
