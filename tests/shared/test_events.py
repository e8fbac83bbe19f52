"""Connector events as the system reads them: what it keeps of untrusted display names and avatars."""

from typing import Any

import pytest

from shared.events import ContactSeen


def _seen(**fields: Any) -> ContactSeen:
    body = {
        "event_id": "e-1",
        "occurred_at": "2026-01-01T00:00:00Z",
        "platform": "web",
        "platform_user_id": "v",
    }
    return ContactSeen.model_validate({**body, **fields})


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "data:image/png;base64,AAAA", "//evil.example/x.png", "ftp://x/y", "https:///x"],
)
def test_an_avatar_that_is_not_an_http_url_is_dropped_and_the_event_kept(url: str) -> None:
    event = _seen(display_name="Dana", avatar_url=url)
    assert (event.display_name, event.avatar_url) == ("Dana", None)


@pytest.mark.parametrize(
    "url", ["https://cdn.example/a.png", "http://cdn.example/a.png", "HTTPS://CDN.example/a"]
)
def test_an_http_avatar_is_kept(url: str) -> None:
    assert _seen(avatar_url=url).avatar_url == url


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("Da\x1bna\x07", "Dana"),
        ("Dana\nSmith", "Dana Smith"),
        ("ليلى\u200f حداد", "ليلى\u200f حداد"),  # a right-to-left mark is not a control character
    ],
)
def test_control_characters_leave_display_names(raw: str, kept: str) -> None:
    assert _seen(display_name=raw).display_name == kept
