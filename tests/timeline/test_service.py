"""The timeline's domain rules as pure functions: message limits, transcripts, rates."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.timeline import service
from shared.messages.timeline import TranscriptMessage


def test_a_message_is_cut_only_beyond_the_limit() -> None:
    assert service.clip_message("a" * 10_000) == ("a" * 10_000, False)
    assert service.clip_message("ü" * 10_001) == ("ü" * 10_000, True)
    assert service.clip_message("") == ("", False)


def _messages(texts: list[str]) -> list[TranscriptMessage]:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    # Newest first, as the repository hands them over.
    return [
        TranscriptMessage(sender="customer", text=text, sent_at=start - timedelta(seconds=n))
        for n, text in enumerate(texts)
    ]


@given(texts=st.lists(st.text(max_size=30), max_size=12), max_chars=st.integers(1, 120))
def test_a_transcript_is_the_longest_recent_run_that_fits(texts: list[str], max_chars: int) -> None:
    newest_first = _messages(texts)
    kept, truncated = service.fit_transcript(newest_first, max_chars)
    fitting = 0
    while fitting < len(texts) and sum(len(t) for t in texts[: fitting + 1]) <= max_chars:
        fitting += 1
    if fitting == 0 and texts:
        # Nothing fits whole: the newest message's beginning stands in.
        assert [(m.text, m.text_truncated) for m in kept] == [(texts[0][:max_chars], True)]
    else:
        assert kept == list(reversed(newest_first[:fitting]))
        assert sum(len(m.text) for m in kept) <= max_chars
    assert truncated == (fitting < len(texts))
    assert [m.sent_at for m in kept] == sorted(m.sent_at for m in kept)


def test_escalation_rate_is_a_share_of_conversations() -> None:
    assert service.escalation_rate(0, 0) == 0.0
    assert service.escalation_rate(3, 1) == 0.3333
    assert service.escalation_rate(4, 4) == 1.0


_ESCALATED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
_CLOSED = _ESCALATED + timedelta(minutes=30)


def _escalation(**fields: Any) -> service.EscalationRow:
    row = service.EscalationRow(
        escalation_id="e1",
        conversation_id="c1",
        platform="web",
        escalated_at=_ESCALATED,
        reason="asked for a person",
        handled_by=None,
        handled_at=None,
    )
    return replace(row, **fields)


@pytest.mark.parametrize(
    ("row", "handled"),
    [
        (_escalation(), (None, None)),
        (
            _escalation(ended_at=_CLOSED, resolved_type="human", resolved_name="Sara"),
            ("Sara", _CLOSED),
        ),
        (_escalation(ended_at=_CLOSED, resolved_type="human"), (service.UNNAMED_HUMAN, _CLOSED)),
        (_escalation(ended_at=_CLOSED, resolved_type="ai", resolved_name="Bot"), (None, None)),
        (
            _escalation(
                handled_by="Omar",
                handled_at=_ESCALATED + timedelta(minutes=5),
                ended_at=_CLOSED,
                resolved_type="human",
                resolved_name="Sara",
            ),
            ("Omar", _ESCALATED + timedelta(minutes=5)),
        ),
    ],
    ids=[
        "open",
        "closed-by-a-human",
        "closed-by-an-unnamed-human",
        "closed-by-the-ai",
        "handled-then-closed",
    ],
)
def test_an_escalation_is_handled_by_its_handling_else_by_the_human_who_closed_it(
    row: service.EscalationRow, handled: tuple[str | None, datetime | None]
) -> None:
    item = service.escalation_item(row)
    assert (item.handled_by, item.handled_at) == handled


def test_an_escalation_closed_by_the_ai_says_so_in_its_resolution() -> None:
    item = service.escalation_item(_escalation(ended_at=_CLOSED, resolved_type="ai", resolved_name="Bot"))
    assert item.resolution is not None
    assert (item.resolution.resolved_by.type, item.resolution.resolved_at) == ("ai", _CLOSED)
