"""Simulated customers: names, WhatsApp numbers, Instagram accounts and widget visitors per language."""

import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from connectors.simulator.events import FollowStatus, Identity, Platform

Language = Literal["en", "ar", "es", "fr"]
LANGUAGES: tuple[Language, ...] = ("en", "ar", "es", "fr")
PLATFORMS: tuple[Platform, ...] = ("whatsapp", "instagram", "web")

_LANGUAGE_WEIGHTS = (35, 25, 20, 20)
_PLATFORM_WEIGHTS = (45, 30, 25)
# Share of customers who write on WhatsApp and on Instagram under the same name: merge candidates.
_TWO_PLATFORMS = 0.12


def _names(text: str) -> tuple[tuple[str, str], ...]:
    """Pairs (Latin spelling, own script) from "Layla/ليلى, Emma": the own script defaults to Latin."""
    pairs = (item.strip().split("/") for item in text.split(","))
    return tuple((pair[0], pair[-1]) for pair in pairs)


_FIRST_NAMES: dict[Language, tuple[tuple[str, str], ...]] = {
    "en": _names(
        "Emma, Olivia, James, Liam, Sophia, Noah, Ava, Ethan, Grace, Lucas, Chloe, Henry, Mia, Jack, "
        "Ella, Ryan, Amelia, Oscar"
    ),
    "ar": _names(
        "Layla/ليلى, Omar/عمر, Fatima/فاطمة, Youssef/يوسف, Mariam/مريم, Khalid/خالد, Noor/نور, "
        "Ahmed/أحمد, Huda/هدى, Tariq/طارق, Salma/سلمى, Hassan/حسن, Rania/رانيا, Karim/كريم"
    ),
    "es": _names(
        "Lucía, Sofía, Mateo, Alejandro, Valentina, Diego, Camila, Javier, Elena, Pablo, Isabel, "
        "Andrés, Carmen, Martín"
    ),
    "fr": _names(
        "Camille, Léa, Louis, Hugo, Chloé, Manon, Jules, Inès, Théo, Zoé, Antoine, Juliette, Mathis, Élodie"
    ),
}
_LAST_NAMES: dict[Language, tuple[tuple[str, str], ...]] = {
    "en": _names(
        "Thompson, Carter, Walker, Bennett, Hughes, Foster, Reed, Brooks, Hayes, Morgan, Collins, Price, "
        "Turner, Ellis"
    ),
    "ar": _names(
        "Haddad/حداد, Khalil/خليل, Al Mansouri/المنصوري, Nasser/ناصر, Saleh/صالح, Farouk/فاروق, "
        "Aziz/عزيز, Hamdan/حمدان, Qasim/قاسم"
    ),
    "es": _names(
        "García, Rodríguez, Martínez, López, Sánchez, Pérez, Gómez, Fernández, Torres, Ruiz, Navarro, Ortega"
    ),
    "fr": _names(
        "Dubois, Martin, Bernard, Lefèvre, Moreau, Laurent, Girard, Fontaine, Rousseau, Garnier, Mercier, "
        "Chevalier"
    ),
}
# Mobile numbers people of each language plausibly have: N a digit 2-9, X any digit.
_PHONE_PATTERNS: dict[Language, tuple[str, ...]] = {
    "en": ("+44771XXXXXXX", "+44750XXXXXXX", "+1415NXXXXXX", "+1646NXXXXXX", "+6141XXXXXXX"),
    "ar": ("+97150XXXXXXX", "+97155XXXXXXX", "+96655XXXXXXX", "+2010XXXXXXXX"),
    "es": ("+346XXXXXXXX", "+5255XXXXXXXX"),
    "fr": ("+3361XXXXXXX", "+3366XXXXXXX", "+3376XXXXXXX", "+3247XXXXXXX"),
}
# Reserved example domain: demo avatars never reach a third party; the dashboard shows initials.
_AVATAR_HOST = "https://avatars.example.net"


@dataclass(frozen=True)
class InstagramAccount:
    """The customer's Instagram account as the connector sees it."""

    username: str
    followers: int
    follow_status: FollowStatus


@dataclass(frozen=True)
class Customer:
    """One person, on one platform or two."""

    key: str
    language: Language
    display_name: str
    first_name: str
    identities: tuple[Identity, ...]
    avatars: dict[Platform, str] = field(default_factory=dict)
    instagram: InstagramAccount | None = None


def _fold(text: str) -> str:
    """Lower-case ASCII of a Latin name: what people type into a username."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


def _phone(rng: random.Random, language: Language) -> str:
    pattern = rng.choice(_PHONE_PATTERNS[language])
    return "".join(
        str(rng.randint(2, 9)) if c == "N" else str(rng.randint(0, 9)) if c == "X" else c for c in pattern
    )


def _username(rng: random.Random, first: str, last: str) -> str:
    f, s = _fold(first), _fold(last)
    shape = rng.randrange(5)
    name = (
        f"{f}.{s}",
        f"{f}_{s}",
        f"{f}{s}{rng.randint(1, 99)}",
        f"{f}.{s[0]}.{rng.randint(80, 99)}",
        f"_{f}{s[:3]}",
    )[shape]
    return name[:30]


def _followers(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.8:
        return rng.randint(40, 2_000)
    if roll < 0.95:
        return rng.randint(2_000, 50_000)
    return rng.randint(50_000, 600_000)


def _platforms(rng: random.Random, index: int) -> tuple[Platform, ...]:
    # The first customers cover every platform and a two-platform pair, so small runs show them all.
    firsts: tuple[tuple[Platform, ...], ...] = (
        ("whatsapp",),
        ("instagram",),
        ("web",),
        ("whatsapp", "instagram"),
    )
    if index < len(firsts):
        return firsts[index]
    if rng.random() < _TWO_PLATFORMS:
        return ("whatsapp", "instagram")
    return (rng.choices(PLATFORMS, weights=_PLATFORM_WEIGHTS)[0],)


def make_customer(seed: str, index: int, attempt: int = 0) -> Customer:
    """Customer number `index` of population `seed`: the same for the same arguments, always."""
    rng = random.Random(f"{seed}/customer/{index}/{attempt}")
    language = LANGUAGES[index] if index < len(LANGUAGES) else rng.choices(LANGUAGES, _LANGUAGE_WEIGHTS)[0]
    (first_latin, first_own), (last_latin, last_own) = (
        rng.choice(_FIRST_NAMES[language]),
        rng.choice(_LAST_NAMES[language]),
    )
    first, last = (
        (first_own, last_own) if language == "ar" and rng.random() < 0.5 else (first_latin, last_latin)
    )
    display_name = f"{first} {last}" if rng.random() < 0.8 else f"{first} {last[0]}."
    identities: list[Identity] = []
    avatars: dict[Platform, str] = {}
    instagram = None
    for platform in _platforms(rng, index):
        if platform == "whatsapp":
            identities.append(Identity("whatsapp", _phone(rng, language)))
        elif platform == "instagram":
            username = _username(rng, first_latin, last_latin)
            status: FollowStatus = rng.choices(("following", "not_following", "unknown"), (55, 35, 10))[0]
            instagram = InstagramAccount(username, _followers(rng), status)
            identities.append(Identity("instagram", username))
        else:
            identities.append(Identity("web", f"visitor-{rng.getrandbits(48):012x}"))
        # Most WhatsApp and Instagram users have a profile picture; the widget knows none.
        if platform != "web" and rng.random() < (0.7 if platform == "whatsapp" else 0.95):
            avatars[platform] = f"{_AVATAR_HOST}/{platform}/{rng.getrandbits(64):016x}.jpg"
    return Customer(
        key=f"{seed}/{index}",
        language=language,
        display_name=display_name,
        first_name=first,
        identities=tuple(identities),
        avatars=avatars,
        instagram=instagram,
    )


def iter_population(seed: str, count: int) -> Iterator[Customer]:
    """The first `count` customers of `seed`, one at a time, no two sharing an identity.

    Customer i is the same whatever `count` is, so seeding 50 and then 100 adds 50.
    """
    taken: set[Identity] = set()
    for index in range(count):
        attempt = 0
        customer = make_customer(seed, index)
        while taken.intersection(customer.identities):
            attempt += 1
            customer = make_customer(seed, index, attempt)
        taken.update(customer.identities)
        yield customer


def population(seed: str, count: int) -> list[Customer]:
    """iter_population as a list."""
    return list(iter_population(seed, count))
