"""Language detection on support messages: langdetect against lingua, by the numbers.

python -m bench.language_detection

lingua is not a dependency of the project (this measurement is why): install it beside to run
the comparison, `.venv/bin/pip install lingua-language-detector==2.1.1`; without it only
langdetect and the analyser's own detection are measured.

Texts: every message of the labelled insights conversations (tests/insights/data, language =
the conversation's), a set of one-to-three-word replies customers send ("ok thanks", "vale",
"تمام"), and each conversation's customer text joined (what the analyser detects on). Each
detector runs in a process of its own, so its memory is its own.
"""

import importlib
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable

from tests.insights.support import labelled_conversations

SHORT_REPLIES = {
    "en": [
        "ok thanks",
        "got it",
        "no",
        "perfect!",
        "still nothing",
        "where is it?",
        "thx",
        "great job",
        "not yet",
    ],
    "es": [
        "vale gracias",
        "ok perfecto",
        "todavía nada",
        "sí, por favor",
        "¿dónde está?",
        "gracias!",
        "de acuerdo",
    ],
    "fr": [
        "ok merci",
        "d'accord",
        "toujours rien",
        "oui svp",
        "c'est où ?",
        "merci !",
        "parfait",
        "pas encore",
    ],
    "ar": ["تمام شكرا", "اوكي", "لسه ما وصل", "نعم من فضلك", "وين الطلب؟", "شكرا", "ممتاز", "طيب"],
}
SHORT_WORDS = 4
DETECTORS = ("langdetect", "analyser", "lingua", "lingua-low-accuracy")

Detect = Callable[[str], tuple[str | None, float]]


def texts() -> dict[str, list[tuple[str, str]]]:
    """(language, text) pairs: short messages, longer messages, whole conversations."""
    conversations = labelled_conversations()
    messages = [(c.language, text) for c in conversations for _, text in c.messages]
    messages += [(language, text) for language, replies in SHORT_REPLIES.items() for text in replies]
    return {
        "short message": [(lang, text) for lang, text in messages if len(text.split()) <= SHORT_WORDS],
        "longer message": [(lang, text) for lang, text in messages if len(text.split()) > SHORT_WORDS],
        "conversation": [
            (c.language, "\n".join(text for sender, text in c.messages if sender == "customer"))
            for c in conversations
        ],
    }


def detector(name: str) -> Detect:
    """The detector called `name`: its best language and its confidence in it."""
    if name == "analyser":
        from services.insights.analysers.embedded import EmbeddedAnalyser, detect_language

        EmbeddedAnalyser()  # seeds langdetect and loads its profiles, as the service does
        return lambda text: (detect_language(text), 1.0)
    if name == "langdetect":
        from langdetect import DetectorFactory, detect_langs
        from langdetect.lang_detect_exception import LangDetectException

        DetectorFactory.seed = 0

        def with_langdetect(text: str) -> tuple[str | None, float]:
            try:
                best = detect_langs(text)[0]
            except (LangDetectException, IndexError):
                return None, 0.0
            return best.lang.split("-")[0], float(best.prob)

        return with_langdetect
    # Imported by name: lingua is installed only to run this comparison.
    builder = importlib.import_module("lingua").LanguageDetectorBuilder.from_all_languages()
    if name == "lingua-low-accuracy":
        builder = builder.with_low_accuracy_mode()
    lingua = builder.build()

    def with_lingua(text: str) -> tuple[str | None, float]:
        found = lingua.compute_language_confidence_values(text)
        if not found:
            return None, 0.0
        return found[0].language.iso_code_639_1.name.lower(), float(found[0].value)

    return with_lingua


def measure(name: str) -> None:
    """Print one JSON line of figures for one detector (run in a process of its own)."""
    detect = detector(name)
    figures: dict[str, object] = {"detector": name}
    every = texts()
    for _, text in every["conversation"]:
        detect(text)  # models load on first use: time the calls, not the loading
    for kind, items in every.items():
        started = time.perf_counter()
        answers = [(language, *detect(text)) for language, text in items]
        per_call_us = (time.perf_counter() - started) / len(items) * 1e6
        for threshold in (0.0, 0.5, 0.9):
            right = sum(1 for lang, got, p in answers if got == lang and p >= threshold)
            wrong = sum(1 for lang, got, p in answers if got is not None and got != lang and p >= threshold)
            figures[f"{kind} @{threshold}"] = (right / len(items), wrong / len(items), len(items))
        figures[f"{kind} us/call"] = round(per_call_us)
    figures["max RSS MiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps(figures))


def main() -> None:
    """Each detector in its own process, then one table."""
    print("detector             texts            min conf  right  wrong  (n)     us/call  RSS MiB")
    for name in DETECTORS:
        run = subprocess.run(
            [sys.executable, "-m", "bench.language_detection", "--one", name],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            print(f"{name:20s} not measured: {run.stderr.strip().splitlines()[-1]}")
            continue
        figures = json.loads(run.stdout.strip().splitlines()[-1])
        for kind in ("short message", "longer message", "conversation"):
            for threshold in (0.0, 0.5, 0.9):
                right, wrong, count = figures[f"{kind} @{threshold}"]
                print(
                    f"{name:20s} {kind:16s} {threshold:8.1f}  {right:5.2f}  {wrong:5.2f}  ({count:3d})"
                    f"  {figures[f'{kind} us/call']:7d}  {figures['max RSS MiB']:7d}"
                )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        measure(sys.argv[2])
    else:
        main()
