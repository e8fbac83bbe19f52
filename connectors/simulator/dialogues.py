"""What simulated customers, the AI and staff say, loaded from dialogues.toml (content, not code)."""

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from connectors.simulator.events import Sender
from connectors.simulator.people import LANGUAGES, Language

Topic = Literal["purchase", "delivery", "refund", "question"]
TOPICS: tuple[Topic, ...] = ("purchase", "delivery", "refund", "question")
Turn = tuple[Sender, str]

AI_NAME = "AI Assistant"
_SOURCE = Path(__file__).with_name("dialogues.toml")
_SENDERS = ("customer", "ai", "human")


@dataclass(frozen=True)
class Dialogue:
    """A conversation on one topic, resolved by the AI or handed over to a person."""

    openings: tuple[str, ...]
    resolved: tuple[Turn, ...]
    handover: tuple[Turn, ...]
    human: tuple[Turn, ...]
    # Staff cannot fix it and the customer leaves unhappy (empty: every handover ends well).
    unhappy_human: tuple[Turn, ...] = ()


@dataclass(frozen=True)
class Product:
    """A catalogue item: its name in each language (with its article, used mid-sentence), its price."""

    names: dict[Language, str]
    price_usd: int


@dataclass(frozen=True)
class Content:
    """Everything dialogues.toml holds."""

    dialogues: dict[tuple[Language, Topic], Dialogue]
    reasons: dict[Topic, tuple[str, ...]]
    staff: dict[Language, tuple[str, ...]]
    products: tuple[Product, ...]


def _turns(raw: list[list[str]]) -> tuple[Turn, ...]:
    for sender, _text in raw:
        if sender not in _SENDERS:
            raise ValueError(f"{_SOURCE.name}: unknown sender {sender!r}")
    return tuple((cast(Sender, sender), text) for sender, text in raw)


def _dialogue(raw: dict[str, Any]) -> Dialogue:
    return Dialogue(
        openings=tuple(raw["openings"]),
        resolved=_turns(raw["resolved"]),
        handover=_turns(raw["handover"]),
        human=_turns(raw["human"]),
        unhappy_human=_turns(raw.get("unhappy_human", [])),
    )


@functools.cache
def content() -> Content:
    """The dialogues, handover reasons, staff and products; KeyError if a language or topic lacks one."""
    raw = tomllib.loads(_SOURCE.read_text(encoding="utf-8"))
    return Content(
        dialogues={
            (lang, topic): _dialogue(raw["dialogues"][lang][topic]) for lang in LANGUAGES for topic in TOPICS
        },
        reasons={topic: tuple(raw["reasons"][topic]) for topic in TOPICS},
        staff={lang: tuple(raw["staff"][lang]) for lang in LANGUAGES},
        products=tuple(
            Product({lang: item[lang] for lang in LANGUAGES}, int(item["price_usd"]))
            for item in raw["products"]
        ),
    )


def price(language: Language, usd: int) -> str:
    """A price as a customer writing in that language reads it."""
    if language == "en":
        return f"${usd}"
    if language == "ar":
        return f"{round(usd * 3.67)} درهم"
    return f"{round(usd * 0.92)} €"
