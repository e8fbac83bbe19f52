"""The embedded analyser: no network, only models that PyPI packages ship with them.

- sentiment: VADER (English only), customer messages weighted over the agent's and later ones over
  earlier ones, since how a conversation ends says most about how the customer feels; any other
  language gives null, not a guess;
- language: langdetect (seeded, so the same text always gives the same answer);
- topics: the support taxonomy of `rules.py`, then YAKE keywords of what the customer wrote;
- summary: extractive, the customer's key sentence(s), what support did, and how it ended;
- AI-profile facts: channel, language and style, plus the phrase rules of `rules.py`.
"""

import asyncio
import re
import time
from collections.abc import Mapping, Sequence
from functools import cache

import yake
from langdetect import DetectorFactory, detect_langs
from langdetect.lang_detect_exception import LangDetectException
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from services.insights.analysers.base import Analysis, AnalysisRequest
from services.insights.analysers.rules import (
    COURTESY,
    FILLER_MAX_WORDS,
    GENERIC_WORDS,
    INTERESTS,
    PLATFORM_NAMES,
    PROFILE_RULES,
    REQUEST_CUES,
    RESOLUTION_CUES,
    SUPPORT_FILLER,
    TAXONOMY,
    word_set,
)
from services.insights.service import ProfileFacts, clamp_score, dedupe
from shared.messages.timeline import TranscriptMessage
from shared.reference import languages

MAX_TOPICS = 6
MAX_TAXONOMY_TOPICS = 4
MAX_KEYWORDS = 3
MAX_SENTENCE_CHARS = 220
MAX_SUMMARY_CHARS = 600
# Weight of a support message's sentiment against a customer's (which weighs 1 to 2).
SUPPORT_WEIGHT = 0.25
# "ok thanks" closes a conversation more than it judges it.
COURTESY_FACTOR = 0.25
# Only English has a sentiment model here.
SENTIMENT_LANGUAGES = frozenset({"en"})

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
_SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+|\n+")
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
        score = self.sentiment(messages) if language in SENTIMENT_LANGUAGES else None
        support_topics = taxonomy_topics(customer_texts, all_texts)
        keywords = extract_keywords("\n".join(customer_texts), language, self._vader.lexicon)
        topics = dedupe([*support_topics, *keywords], MAX_TOPICS)
        summary = self.summary(messages, language)
        profile = profile_facts(request.platform, customer_texts, language, score, support_topics, keywords)
        return Analysis(
            summary=summary,
            sentiment_score=score,
            language=language,
            topics=topics,
            profile=profile,
            analyser=self.name,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def polarity(self, text: str) -> float:
        """VADER's compound score of one text, in [-1, 1]."""
        return float(self._vader.polarity_scores(text)["compound"])

    def sentiment(self, messages: Sequence[TranscriptMessage]) -> float | None:
        """Weighted mean polarity: customer over support, later over earlier, courtesy damped."""
        customer_count = sum(1 for m in messages if m.sender == "customer")
        if customer_count == 0:
            return None
        total = weight_sum = 0.0
        seen = 0
        for message in messages:
            polarity = self.polarity(message.text)
            if message.sender == "customer":
                weight = 1.0 + seen / max(1, customer_count - 1)
                seen += 1
                if COURTESY.match(message.text):
                    polarity *= COURTESY_FACTOR
            else:
                weight = SUPPORT_WEIGHT
            total += weight * polarity
            weight_sum += weight
        return clamp_score(total / weight_sum)

    def summary(self, messages: Sequence[TranscriptMessage], language: str | None) -> str | None:
        """The customer's key sentence(s), what support did, and how the customer took it."""
        customer = [
            (index, position, sentence)
            for index, message in enumerate(messages)
            if message.sender == "customer"
            for position, sentence in enumerate(split_sentences(message.text))
        ]
        if not customer:
            return None
        first_index = customer[0][0]
        weighted = sorted(
            ((self._sentence_weight(item[2], item[0] == first_index, language), item) for item in customer),
            key=lambda pair: -pair[0],
        )
        chosen = [weighted[0][1]]
        if len(weighted) > 1:
            weight, item = weighted[1]
            # A second sentence only if it adds substance (a topic or a request) and room remains.
            if weight >= 2.0 and len(chosen[0][2]) + len(item[2]) <= MAX_SENTENCE_CHARS:
                chosen.append(item)
        chosen.sort()
        parts = ["Customer: " + " ".join(clip(sentence) for _, _, sentence in chosen)]
        resolution = support_resolution(messages)
        if resolution:
            parts.append("Support: " + clip(resolution))
        last_customer = next(m.text for m in reversed(messages) if m.sender == "customer")
        if language in SENTIMENT_LANGUAGES and len(customer) > 1:
            ending = self.polarity(last_customer)
            if ending >= 0.3:
                parts.append("The customer ended satisfied.")
            elif ending <= -0.3:
                parts.append("The customer remained dissatisfied.")
        return " ".join(parts)[:MAX_SUMMARY_CHARS]

    def _sentence_weight(self, sentence: str, opening: bool, language: str | None) -> float:
        words = _WORD.findall(sentence)
        if len(words) < 3 or COURTESY.match(sentence):
            return -5.0
        weight = 1.5 if opening else 0.0
        weight += 2.0 * sum(1 for pattern in TAXONOMY.values() if pattern.search(sentence))
        weight += 1.0 if REQUEST_CUES.search(sentence) else 0.0
        if language in SENTIMENT_LANGUAGES:
            weight += abs(self.polarity(sentence))
        return weight


def detect_language(text: str) -> str | None:
    """BCP 47 primary code of the text's language, or None when it cannot be told."""
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return None
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


def split_sentences(text: str) -> list[str]:
    """The sentences of one message."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def clip(sentence: str) -> str:
    """A sentence cut to a readable length."""
    return sentence if len(sentence) <= MAX_SENTENCE_CHARS else sentence[: MAX_SENTENCE_CHARS - 1] + "…"


def support_resolution(messages: Sequence[TranscriptMessage]) -> str | None:
    """Support's sentence that best says what was done or decided: cues, then recency."""
    support = [m.text for m in messages if m.sender != "customer"]
    best: tuple[float, str] | None = None
    for age, text in enumerate(reversed(support)):
        for sentence in split_sentences(text):
            words = len(_WORD.findall(sentence))
            if words < 4 or (SUPPORT_FILLER.match(sentence) and words <= FILLER_MAX_WORDS):
                continue
            weight = (2.0 if RESOLUTION_CUES.search(sentence) else 0.0) - 0.5 * age
            if best is None or weight > best[0]:
                best = (weight, sentence)
    return best[1] if best else None


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
