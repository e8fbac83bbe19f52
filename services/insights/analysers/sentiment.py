"""Sentiment of customer messages in Spanish, French and Arabic: lexicons, no model, no network.

No PyPI package ships a sentiment model or lexicon for Spanish and Arabic that installs beside
this project (the candidates need spaCy 3.4 and numpy 1.21, translate through a web API, or
download their data at run time), so the words are curated here (`lexicons/<language>.tsv`), in
the style of VADER: valences on its -4..4 scale, phrases before words, negation, boosters, and
exclamation marks. textblob-fr's French adjective lexicon was measured beside it and left out: it
lowered French accuracy on the labelled sets (docs/benchmarks.md).

A message whose words the lexicon does not know gives no evidence: a conversation without any
evidence has no score (null), never a guess.
"""

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

LANGUAGES = ("es", "fr", "ar")
# VADER's normalisation of a sum of valences into [-1, 1].
_ALPHA = 15.0
# VADER's damping of a negated word, and what an exclamation mark adds (up to three of them).
_NEGATION = -0.74
_EXCLAMATION = 0.292
_NEGATION_WINDOW = 3
_ARABIC_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال", "و", "ف", "ب", "ل", "ك")
_ARABIC_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u0640]")
_ARABIC_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي"})
_CLAUSE_END = re.compile(r"[.,;:!?¿¡؟،\n]+")
_TOKEN = re.compile(r"[^\W\d_]+|[\U0001f300-\U0001faff\u2600-\u27bf]")
# Emoji say the same in every language.
EMOJI_VALENCE: Mapping[str, float] = {
    "😍": 2.8,
    "🥰": 2.8,
    "❤": 2.8,
    "😊": 2.2,
    "🙂": 1.5,
    "😀": 2.2,
    "😃": 2.2,
    "😁": 2.2,
    "👍": 2.0,
    "🙏": 1.8,
    "🌹": 2.0,
    "👌": 2.0,
    "🎉": 2.5,
    "😡": -3.0,
    "😠": -2.8,
    "🤬": -3.5,
    "👎": -2.5,
    "😤": -2.5,
    "😞": -2.2,
    "😢": -2.2,
    "😭": -2.5,
    "💔": -2.5,
    "🙄": -1.8,
}


@dataclass(frozen=True)
class Lexicon:
    """What one language's words are worth."""

    language: str
    words: Mapping[str, float]
    prefixes: Mapping[str, float]
    phrases: Mapping[tuple[str, ...], float]
    negators: frozenset[str]
    boosters: Mapping[str, float]
    courtesy: frozenset[str]
    longest_phrase: int


@dataclass(frozen=True)
class Polarity:
    """A message's score in [-1, 1] and how many known words and emoji it rests on."""

    score: float
    evidence: int
    courtesy_only: bool


def normalise(text: str, language: str) -> str:
    """Lower case without accents (Latin) or diacritics and letter variants (Arabic)."""
    text = text.lower()
    if language == "ar":
        return _ARABIC_DIACRITICS.sub("", text).translate(_ARABIC_LETTERS)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def tokens(text: str, language: str) -> list[str]:
    """The words and emoji of a text, normalised (elisions split: "n'est" → "n", "est")."""
    return _TOKEN.findall(normalise(text, language))


@cache
def lexicon(language: str) -> Lexicon:
    """The lexicon of one of LANGUAGES, read once."""
    words: dict[str, float] = {}
    prefixes: dict[str, float] = {}
    phrases: dict[tuple[str, ...], float] = {}
    negators: set[str] = set()
    boosters: dict[str, float] = {}
    courtesy: set[str] = set()
    source = resources.files(__package__).joinpath("lexicons", f"{language}.tsv")
    for line in source.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, term, *value = line.split("\t")
        parts = tuple(tokens(term.rstrip("*"), language))
        if kind == "negator":
            negators.update(parts)
        elif kind == "booster":
            boosters[parts[0]] = float(value[0])
        elif kind == "courtesy":
            courtesy.update(parts)
        elif len(parts) > 1:
            phrases[(*parts[:-1], parts[-1] + "*") if term.endswith("*") else parts] = float(value[0])
        elif term.endswith("*"):
            prefixes[parts[0]] = float(value[0])
        else:
            words[parts[0]] = float(value[0])
    return Lexicon(
        language=language,
        words=words,
        prefixes=prefixes,
        phrases=phrases,
        negators=frozenset(negators),
        boosters=boosters,
        courtesy=frozenset(courtesy),
        longest_phrase=max((len(p) for p in phrases), default=1),
    )


def _word_valence(token: str, lex: Lexicon) -> float | None:
    for candidate in _candidates(token, lex.language):
        if candidate in EMOJI_VALENCE:
            return EMOJI_VALENCE[candidate]
        if candidate in lex.words:
            return lex.words[candidate]
        for length in range(len(candidate), 2, -1):
            if candidate[:length] in lex.prefixes:
                return lex.prefixes[candidate[:length]]
    return None


def _candidates(token: str, language: str) -> list[str]:
    if language != "ar":
        return [token]
    # Arabic attaches conjunctions, prepositions and the article to the word.
    return [
        token,
        *(token[len(p) :] for p in _ARABIC_PREFIXES if token.startswith(p) and len(token) - len(p) >= 2),
    ]


def _phrase_at(words: Sequence[str], start: int, lex: Lexicon) -> tuple[int, float] | None:
    for length in range(min(lex.longest_phrase, len(words) - start), 1, -1):
        window = words[start : start + length]
        exact = tuple(window)
        if exact in lex.phrases:
            return length, lex.phrases[exact]
        for key, value in lex.phrases.items():
            if len(key) == length and key[-1].endswith("*") and _matches_prefixed(window, key):
                return length, value
    return None


def _matches_prefixed(window: Sequence[str], key: tuple[str, ...]) -> bool:
    return tuple(window[:-1]) == key[:-1] and window[-1].startswith(key[-1][:-1])


def polarity(text: str, lex: Lexicon) -> Polarity:
    """VADER-style score of one message: phrases, then words; negation, boosters, exclamations.

    Negation and boosters reach no further than the clause (punctuation ends one).
    """
    valences: list[float] = []
    words: list[str] = []
    for clause in _CLAUSE_END.split(text):
        clause_words = tokens(clause, lex.language)
        valences.extend(_clause_valences(clause_words, lex))
        words.extend(clause_words)
    total = sum(valences)
    if total:
        total += math.copysign(min(text.count("!"), 3) * _EXCLAMATION, total)
    score = total / math.sqrt(total * total + _ALPHA) if total else 0.0
    courtesy_only = bool(words) and all(w in lex.courtesy for w in words)
    return Polarity(score=score, evidence=len(valences), courtesy_only=courtesy_only)


def _clause_valences(words: Sequence[str], lex: Lexicon) -> list[float]:
    valences: list[float] = []
    position = 0
    while position < len(words):
        phrase = _phrase_at(words, position, lex)
        if phrase is not None:
            valences.append(phrase[1])
            position += phrase[0]
            continue
        value = _word_valence(words[position], lex)
        if value is not None and not (value == 0 and _negated(words, position, lex)):
            valences.append(_in_context(words, position, value, lex))
        position += 1
    return valences


def _in_context(words: Sequence[str], position: int, value: float, lex: Lexicon) -> float:
    # Boosters stand before the word in Spanish and French and often after it in Arabic.
    for neighbour in (position - 1, position + 1):
        if 0 <= neighbour < len(words) and words[neighbour] in lex.boosters:
            value += math.copysign(lex.boosters[words[neighbour]] * abs(value), value)
    if _negated(words, position, lex):
        value *= _NEGATION
    return value


def _negated(words: Sequence[str], position: int, lex: Lexicon) -> bool:
    return any(w in lex.negators for w in words[max(0, position - _NEGATION_WINDOW) : position])
