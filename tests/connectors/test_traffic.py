"""The simulator's traffic as data: valid connector events, every kind of them, deterministic."""

import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import phonenumbers
import pytest

from connectors.simulator.dialogues import TOPICS, content
from connectors.simulator.events import Event
from connectors.simulator.people import LANGUAGES, PLATFORMS, population
from connectors.simulator.traffic import (
    LIVE_PACE,
    LiveTraffic,
    Outcome,
    conversation_script,
    seed_histories,
)
from shared.events import EVENT_MODELS, ConnectorEvent
from shared.subjects import CHAT_TYPES

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _seeded(workspace: str = "demo", seed: int = 1, customers: int = 50, weeks: int = 6) -> list[Event]:
    return [e for h in seed_histories(workspace, seed, customers, weeks, NOW) for e in h.events]


def _live(run: str = "r1", conversations: int = 60) -> list[Event]:
    traffic = LiveTraffic("demo", 1, run, 50)
    return [e for n in range(conversations) for e in traffic.script(n).timed(NOW, LIVE_PACE)]


def _validated(events: list[Event]) -> list[ConnectorEvent]:
    return [EVENT_MODELS[event.type].model_validate(event.body) for event in events]


@pytest.mark.parametrize("source", [_seeded, _live], ids=["seed", "live"])
def test_every_event_is_a_valid_connector_event(source: object) -> None:
    events = source()  # type: ignore[operator]
    models = _validated(events)
    assert len(models) == len(events) > 500
    # Validation must not have had to normalise anything: the simulator sends canonical ids.
    assert all(m.platform_user_id == e.body["platform_user_id"] for m, e in zip(models, events, strict=True))


def test_the_demo_seed_has_every_type_platform_and_language() -> None:
    histories = seed_histories("demo", 1, 50, 6, NOW)
    events = [e for h in histories for e in h.events]
    assert {e.type for e in events} == set(CHAT_TYPES)
    assert {e.body["platform"] for e in events} == set(PLATFORMS)
    assert {h.customer.language for h in histories} == set(LANGUAGES)
    assert {s.topic for h in histories for s in h.scripts} == set(TOPICS)
    assert {e.body["resolved_by"]["type"] for e in events if e.type == "conversation.closed"} == {
        "ai",
        "human",
    }
    assert {e.body["sender"] for e in events if e.type == "conversation.message"} == {
        "customer",
        "ai",
        "human",
    }


def test_the_first_four_customers_cover_every_platform_and_language() -> None:
    people = population("7", 4)
    assert {p.language for p in people} == set(LANGUAGES)
    assert {i.platform for p in people for i in p.identities} == set(PLATFORMS)
    assert any(len(p.identities) == 2 for p in people)


def test_the_same_seed_gives_the_same_events() -> None:
    assert [e.body for e in _seeded()] == [e.body for e in _seeded()]


def test_event_ids_are_unique_and_differ_between_workspaces_and_seeds() -> None:
    runs = [_seeded("demo", 1, 20), _seeded("other", 1, 20), _seeded("demo", 2, 20)]
    ids = [[e.event_id for e in events] for events in runs]
    assert all(len(set(batch)) == len(batch) for batch in ids)
    assert not set(ids[0]) & set(ids[1]) and not set(ids[0]) & set(ids[2])


def test_more_customers_keep_the_first_ones_unchanged() -> None:
    fewer, more = _seeded(customers=10), _seeded(customers=25)
    first_ten = {e.body["platform_user_id"] for e in fewer}
    assert [e.body for e in fewer] == [e.body for e in more if e.body["platform_user_id"] in first_ten]
    assert len(more) > len(fewer)


def test_histories_are_in_the_past_window_and_in_order() -> None:
    for history in seed_histories("demo", 3, 30, 2, NOW):
        times = [datetime.fromisoformat(e.body["occurred_at"]) for e in history.events]
        assert times == sorted(times)
        assert all(NOW - timedelta(weeks=2) <= t <= NOW for t in times)


def test_two_platform_customers_appear_on_both_under_one_name() -> None:
    histories = [h for h in seed_histories("demo", 1, 50, 6, NOW) if len(h.customer.identities) == 2]
    assert len(histories) >= 2
    for history in histories:
        seen = {
            (e.body["platform"], e.body["display_name"]) for e in history.events if e.type == "contact.seen"
        }
        assert seen == {
            ("whatsapp", history.customer.display_name),
            ("instagram", history.customer.display_name),
        }


def test_platform_ids_have_the_shape_of_their_platform() -> None:
    events = _seeded(customers=200)
    for event in events:
        pid = event.body["platform_user_id"]
        if event.body["platform"] == "whatsapp":
            assert phonenumbers.is_valid_number(phonenumbers.parse(pid)), pid
        elif event.body["platform"] == "instagram":
            assert re.fullmatch(r"[a-z0-9._]{1,30}", pid), pid
        else:
            assert re.fullmatch(r"visitor-[0-9a-f]{12}", pid), pid


def test_contacts_carry_names_http_avatars_and_instagram_details() -> None:
    seen = [e.body for e in _seeded() if e.type == "contact.seen"]
    assert all(body["display_name"] for body in seen)
    avatars = [body["avatar_url"] for body in seen if "avatar_url" in body]
    assert avatars and all(url.startswith(("https://", "http://")) for url in avatars)
    instagram = [body["instagram"] for body in seen if body["platform"] == "instagram"]
    assert instagram and all(i["username"] and i["followers"] >= 0 for i in instagram)
    assert {i["follow_status"] for i in instagram} >= {"following", "not_following"}


def test_messages_are_filled_in_and_signed() -> None:
    messages = [e.body for e in _seeded() if e.type == "conversation.message"]
    assert not [m["text"] for m in messages if "{" in m["text"] or "}" in m["text"]]
    assert all(m["sender_name"] for m in messages)


@pytest.mark.parametrize(
    ("outcome", "escalated", "handled", "closed_by"),
    [
        ("ai", 0, 0, "ai"),
        ("human", 1, 1, "human"),
        ("human_unannounced", 1, 0, "human"),
        ("waiting", 1, 0, None),
        ("open", 0, 0, None),
    ],
)
def test_a_conversation_ends_as_its_outcome_says(
    outcome: Outcome, escalated: int, handled: int, closed_by: str | None
) -> None:
    customer = population("1", 1)[0]
    script = conversation_script("k", customer, customer.identities[0], "delivery", outcome, random.Random(4))
    events = script.timed(NOW, LIVE_PACE)
    types = Counter(e.type for e in events)
    assert (types["conversation.escalated"], types["escalation.handled"]) == (escalated, handled)
    closes = [e.body["resolved_by"]["type"] for e in events if e.type == "conversation.closed"]
    assert closes == ([closed_by] if closed_by else [])
    assert [e.type for e in events[:3]] == ["contact.seen", "conversation.started", "conversation.message"]


def test_live_runs_share_the_words_but_not_the_ids() -> None:
    first, second = _live("run-a", 10), _live("run-b", 10)
    assert [e.body.get("text") for e in first] == [e.body.get("text") for e in second]
    assert not {e.event_id for e in first} & {e.event_id for e in second}
    assert not {e.body["conversation_id"] for e in first if "conversation_id" in e.body} & {
        e.body["conversation_id"] for e in second if "conversation_id" in e.body
    }


def test_some_delivery_handovers_end_with_an_unhappy_customer() -> None:
    library = content()
    endings = {("human", library.dialogues[(lang, "delivery")].human[-1][1]) for lang in LANGUAGES} | {
        ("unhappy_human", library.dialogues[(lang, "delivery")].unhappy_human[-1][1]) for lang in LANGUAGES
    }
    last_words = Counter(e.body["text"] for e in _seeded(customers=100) if e.type == "conversation.message")
    seen = {ending for ending, text in endings if last_words[text]}
    assert seen == {"human", "unhappy_human"}
