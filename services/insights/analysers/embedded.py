"""The embedded analyser: no network, only models that PyPI packages ship with them.

- sentiment: VADER for English, the lexicons of `sentiment.py` for Spanish, French and Arabic;
  customer messages weighted over the agent's and later ones over earlier ones, since how a
  conversation ends says most about how the customer feels; any other language, or a conversation
  whose words the lexicon does not know, gives null, not a guess;
- language: langdetect (seeded, so the same text always gives the same answer), and no answer for
  a text too short to tell;
- topics: the support taxonomy of `rules.py`, "complaints" when the customer was clearly unhappy,
  then the products the customer named (YAKE keywords that pass the rules of `product_names`);
- summary: written, not quoted (`summary.py`);
- AI-profile facts: channel, language and style, plus the phrase rules of `rules.py`.
"""

import asyncio
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import cache

import yake
from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from services.insights.analysers.base import Analysis, AnalysisRequest
from services.insights.analysers.rules import (
    COURTESY,
    GENERIC_WORDS,
    INTERESTS,
    PLATFORM_NAMES,
    PROFILE_RULES,
    TAXONOMY,
    filler_topic,
    word_set,
)
from services.insights.analysers.sentiment import LANGUAGES as LEXICON_LANGUAGES
from services.insights.analysers.sentiment import lexicon, normalise
from services.insights.analysers.sentiment import polarity as lexicon_polarity
from services.insights.analysers.summary import summarise
from services.insights.service import ProfileFacts, clamp_score, dedupe
from shared.messages.timeline import TranscriptMessage
from shared.reference import languages

MAX_TOPICS = 6
MAX_TAXONOMY_TOPICS = 4
MAX_KEYWORDS = 3
MAX_PRODUCTS = 2
# Weight of a support message's sentiment against a customer's (which weighs 1 to 2).
SUPPORT_WEIGHT = 0.25
# "ok thanks" closes a conversation more than it judges it.
COURTESY_FACTOR = 0.25
SENTIMENT_LANGUAGES = frozenset({"en", *LEXICON_LANGUAGES})
# A conversation this negative is a complaint, whatever its topics.
COMPLAINT_SCORE = -0.3
# Below this many letters langdetect answers at random ("Vale." is Estonian to it, "ok" Slovak).
MIN_DETECTABLE_LETTERS = 12

# Function words frequent in English and rare elsewhere: langdetect misreads short English
# ("ok got it") as Somali or Afrikaans, and these words tell English apart with more certainty.
_ENGLISH_FUNCTION_WORDS = word_set(
    """
    the i my me you your is are was were it its this that to of and for with on in at be been
    have has had not don't can't it's i'm i've i'll what when where why how will would could
    should do does did there their they we our us just got any
    """
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff]+")
_NOT_ARABIC_LETTERS = re.compile("[\u067e\u0686\u0698\u06a9\u06af\u06cc\u0679\u0688\u0691\u06ba\u06be\u06d2]")
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")


class EmbeddedAnalyser:
    """Analyses in-process; sync `analyse_now` does the work, `analyse` runs it off the event loop."""

    name = "embedded"

    def __init__(self) -> None:
        self._vader = SentimentIntensityAnalyzer()
        DetectorFactory.seed = 0
        # langdetect loads its profiles on first use: do it now, not in racing worker threads.
        detect_langs("warm up the language profiles")

    async def analyse(self, request: AnalysisRequest) -> Analysis:
        """Analyse one conversation in a worker thread (CPU-bound: keep the event loop free)."""
        return await asyncio.to_thread(self.analyse_now, request)

    async def aclose(self) -> None:
        """Nothing to release."""

    def analyse_now(self, request: AnalysisRequest) -> Analysis:
        """Analyse one conversation in the calling thread."""
        started = time.perf_counter()
        messages = [m for m in request.messages if m.text.strip()]
        customer_texts = [m.text for m in messages if m.sender == "customer"]
        all_texts = [m.text for m in messages]
        language = detect_language("\n".join(customer_texts) or "\n".join(all_texts))
        score = self.sentiment(messages, language)
        support_topics = taxonomy_topics(customer_texts, all_texts)
        if score is not None and score <= COMPLAINT_SCORE:
            support_topics.append("complaints")
        keywords = extract_keywords("\n".join(customer_texts), language, self._vader.lexicon)
        products = product_names(keywords, messages, language)
        topics = dedupe([*support_topics, *products], MAX_TOPICS)
        summary = summarise(messages, support_topics, products, lambda text: self.polarity(text, language))
        profile = profile_facts(request.platform, customer_texts, language, score, support_topics, products)
        return Analysis(
            summary=summary,
            sentiment_score=score,
            language=language,
            topics=topics,
            profile=profile,
            analyser=self.name,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def polarity(self, text: str, language: str | None) -> float | None:
        """Score of one message in [-1, 1]; None where the language has no model or no known word."""
        if language == "en":
            return float(self._vader.polarity_scores(text)["compound"])
        if language in LEXICON_LANGUAGES:
            found = lexicon_polarity(text, lexicon(language))
            return found.score if found.evidence else None
        return None

    def sentiment(self, messages: Sequence[TranscriptMessage], language: str | None) -> float | None:
        """Weighted mean polarity: customer over support, later over earlier, courtesy damped.

        English weighs every message (VADER knows most words); elsewhere only the customer's
        messages that hold a word the lexicon knows count, and none of them means no score.
        """
        if language not in SENTIMENT_LANGUAGES:
            return None
        customer_count = sum(1 for m in messages if m.sender == "customer")
        if customer_count == 0:
            return None
        total = weight_sum = 0.0
        seen = 0
        for message in messages:
            if message.sender != "customer":
                if language == "en":
                    total += SUPPORT_WEIGHT * (self.polarity(message.text, language) or 0.0)
                    weight_sum += SUPPORT_WEIGHT
                continue
            weight = 1.0 + seen / max(1, customer_count - 1)
            seen += 1
            polarity = self.polarity(message.text, language)
            if polarity is None:
                continue
            if self.courtesy_only(message.text, language):
                polarity *= COURTESY_FACTOR
            total += weight * polarity
            weight_sum += weight
        return clamp_score(total / weight_sum) if weight_sum else None

    @staticmethod
    def courtesy_only(text: str, language: str) -> bool:
        """Whether a message is only courtesy ("ok thanks", "vale, gracias", "تمام شكرا")."""
        if language in LEXICON_LANGUAGES:
            return lexicon_polarity(text, lexicon(language)).courtesy_only
        return bool(COURTESY.match(text))


def detect_language(text: str) -> str | None:
    """BCP 47 primary code of the text's language, or None when it cannot be told."""
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return None
    if sum(len(w) for w in words) < MIN_DETECTABLE_LETTERS:
        return short_text_language(words)
    english_share = sum(1 for w in words if w in _ENGLISH_FUNCTION_WORDS) / len(words)
    try:
        candidates = detect_langs(text)
    except LangDetectException:
        candidates = []
    best = candidates[0] if candidates else None
    if best is not None and best.lang.split("-")[0] == "en":
        return "en"
    if english_share >= 0.2 and text.isascii():
        return "en"
    if best is None or best.prob < 0.5:
        return None
    return str(best.lang.split("-")[0])


def short_text_language(words: Sequence[str]) -> str | None:
    """The language of a few words ("ok thanks", "vale", "تمام"), from the words each language knows.

    Arabic script without the letters Persian and Urdu write instead (ی ک پ چ ژ گ ...) is Arabic.
    """
    if all(_ARABIC_SCRIPT.fullmatch(w) for w in words):
        return None if any(_NOT_ARABIC_LETTERS.search(w) for w in words) else "ar"
    votes = {"en": sum(1 for w in words if w in _ENGLISH_FUNCTION_WORDS or COURTESY.match(w))}
    for language in ("es", "fr"):
        known = lexicon(language)
        votes[language] = sum(
            1
            for w in words
            if normalise(w, language) in known.courtesy or normalise(w, language) in known.words
        )
    best = max(votes.values())
    winners = [language for language, count in votes.items() if count == best]
    return winners[0] if best and len(winners) == 1 else None


def taxonomy_topics(customer_texts: Sequence[str], all_texts: Sequence[str]) -> list[str]:
    """Support topics the customer raised, or that support and customer came back to, by weight."""
    customer = "\n".join(customer_texts)
    everything = "\n".join(all_texts)
    weights: dict[str, int] = {}
    for topic, pattern in TAXONOMY.items():
        by_customer = len(pattern.findall(customer))
        overall = len(pattern.findall(everything))
        if by_customer or overall >= 2:
            weights[topic] = 2 * by_customer + overall
    ranked = sorted(weights, key=lambda topic: -weights[topic])
    return ranked[:MAX_TAXONOMY_TOPICS]


@cache
def _stopwords(language: str) -> frozenset[str]:
    return frozenset(yake.KeywordExtractor(lan=language).stopword_set)


def _is_content_word(token: str, stopwords: frozenset[str], sentiment_words: Mapping[str, float]) -> bool:
    return (
        len(token) >= 3
        and token not in GENERIC_WORDS
        and token not in stopwords
        and abs(sentiment_words.get(token, 0.0)) < 1.0
        and not (token.isascii() and len(token) > 4 and token.endswith("ly"))
    )


def extract_keywords(text: str, language: str | None, sentiment_words: Mapping[str, float]) -> list[str]:
    """What the customer's own words are about beyond the taxonomy: YAKE's best few phrases.

    A phrase holds no stopword or feeling and starts and ends with a content word (not a
    greeting, weekday or word every support chat has); a lone word must not look like a verb
    form; phrases sharing a word with a better one are dropped.
    """
    if not text.strip():
        return []
    lang = language or "en"
    stopwords = _stopwords(lang)
    extractor = yake.KeywordExtractor(lan=lang, n=3, top=20, dedup_lim=0.7, stopwords=set(stopwords))
    found: list[str] = []
    used: set[str] = set()
    for phrase, _score in extractor.extract_keywords(text):
        tokens = [t.lower() for t in _WORD.findall(phrase)]
        if not tokens or any(ch.isdigit() for ch in phrase) or used.intersection(tokens):
            continue
        if not (
            _is_content_word(tokens[0], stopwords, sentiment_words)
            and _is_content_word(tokens[-1], stopwords, sentiment_words)
        ):
            continue
        if any(t in stopwords or abs(sentiment_words.get(t, 0.0)) >= 1.0 for t in tokens):
            continue
        if len(tokens) == 1 and lang == "en" and tokens[0].endswith(("ed", "ing")):
            continue
        if any(pattern.fullmatch(phrase) for pattern in TAXONOMY.values()):
            continue
        found.append(" ".join(tokens))
        used.update(tokens)
        if len(found) == MAX_KEYWORDS:
            break
    return found


def product_names(
    keywords: Sequence[str], messages: Sequence[TranscriptMessage], language: str | None
) -> list[str]:
    """The keywords that name what the customer is talking about, not how they feel or a filler.

    A keyword of several English words stands on its own ("bamboo cutting boards"); any other
    keyword counts only if its words come back in the conversation, said by support or again by
    the customer ("the blender", "la Belgique"), which fillers, adjectives and a customer's own
    turns of phrase seldom do. Agents' names are not topics, nor is an elided French word ("j'ai").
    """
    lang = language or "en"
    support = [m for m in messages if m.sender != "customer"]
    customer_words = Counter(
        normalise(w, lang) for m in messages if m.sender == "customer" for w in _WORD.findall(m.text)
    )
    said = {normalise(w, lang) for m in support for w in _WORD.findall(m.text)}
    said.update(w for w, count in customer_words.items() if count >= 2)
    agents = {normalise(w, lang) for m in support for w in _WORD.findall(m.sender_name or "")}
    found: list[str] = []
    for keyword in keywords:
        words = [normalise(w, lang) for w in keyword.split()]
        if filler_topic(" ".join(words)):
            continue
        if agents.intersection(words) or any("'" in w for w in words):
            continue
        if lang in LEXICON_LANGUAGES and lexicon_polarity(keyword, lexicon(lang)).evidence:
            continue
        if lang == "en":
            keep = len(words) >= 2 or words[0] in said
        else:
            keep = len(words) <= 2 and all(w in said for w in words)
        if keep:
            found.append(keyword)
    return found[:MAX_PRODUCTS]


def profile_facts(
    platform: str,
    customer_texts: Sequence[str],
    language: str | None,
    score: float | None,
    support_topics: Sequence[str],
    keywords: Sequence[str],
) -> ProfileFacts:
    """What this conversation says about the customer, section by section."""
    sections: dict[str, list[str]] = {
        "communication_preferences": [f"Contacts support via {PLATFORM_NAMES.get(platform, platform)}"],
        "topics_of_interest": [INTERESTS[t] for t in support_topics if t in INTERESTS],
        "purchase_behavior": [],
        "key_characteristics": [],
    }
    if not customer_texts:
        return ProfileFacts(**{name: tuple(values) for name, values in sections.items()})
    text = "\n".join(customer_texts)
    if language:
        sections["communication_preferences"].append(f"Writes in {languages().get(language, language)}")
    words_per_message = sum(len(_WORD.findall(t)) for t in customer_texts) / len(customer_texts)
    if words_per_message <= 7:
        sections["communication_preferences"].append("Writes short, to-the-point messages")
    elif words_per_message >= 25:
        sections["communication_preferences"].append("Writes long, detailed messages")
    if _EMOJI.search(text):
        sections["communication_preferences"].append("Uses emoji")
    sections["topics_of_interest"].extend(k[:1].upper() + k[1:] for k in keywords[:2])
    for rule in PROFILE_RULES:
        if rule.pattern.search(text):
            sections[rule.section].append(rule.text)
    if score is not None and score <= -0.25:
        sections["key_characteristics"].insert(0, "Expresses frustration openly")
    elif score is not None and score >= 0.35:
        sections["key_characteristics"].insert(0, "Friendly and appreciative")
    return ProfileFacts(**{name: dedupe(values, 6) for name, values in sections.items()})
