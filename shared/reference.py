"""Reference lists: BCP 47 primary language codes, ISO 3166-1 alpha-2 countries, IANA time zones."""

from functools import cache
from importlib import resources

import pycountry


@cache
def languages() -> dict[str, str]:
    """Code → English name of every language with an ISO 639-1 (BCP 47 primary) code, by name."""
    pairs = {lang.alpha_2: lang.name for lang in pycountry.languages if hasattr(lang, "alpha_2")}
    return dict(sorted(pairs.items(), key=lambda kv: kv[1]))


@cache
def countries() -> dict[str, str]:
    """Code → common name of every ISO 3166-1 country, by name."""
    pairs = {c.alpha_2: getattr(c, "common_name", c.name) for c in pycountry.countries}
    return dict(sorted(pairs.items(), key=lambda kv: kv[1]))


@cache
def time_zones() -> tuple[str, ...]:
    """Every IANA time zone name, sorted, from the pinned tzdata package (the same on every machine)."""
    return tuple(sorted(resources.files("tzdata").joinpath("zones").read_text().split()))
