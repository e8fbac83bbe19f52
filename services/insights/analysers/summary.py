"""The embedded analyser's summaries: what a support lead would write, not quotes.

One or two sentences in the third person: what the customer wanted (its support topics, order
numbers, the products named), who answered and what they did (the AI assistant, a hand-over to a
person, a refund, a replacement...), and how the customer felt at the end. Customer text reaches a
summary only as an order number or a product's name of a few words: whatever a customer typed,
instructions included, never travels on into the profile or the AI agent's context.
"""

import re
from collections.abc import Callable, Sequence

from services.insights.analysers.rules import (
    ORDER_NUMBER,
    PROBLEM_CUES,
    PROBLEM_TOPICS,
    SUPPORT_ACTIONS,
    TOPIC_PHRASES,
)
from shared.messages.timeline import TranscriptMessage

MAX_SUMMARY_CHARS = 300
MAX_ACTIONS = 2
MAX_ORDER_NUMBERS = 2
MAX_NAME_CHARS = 40
# How clearly the last customer message must lean to say the customer ended (dis)satisfied.
ENDING_AT = 0.3
# How negative an opening message must be to read as a complaint without a problem word.
COMPLAINT_AT = -0.2
_NAME = re.compile(r"[^\W\d_][\w .'-]*")

Polarity = Callable[[str], float | None]


def summarise(
    messages: Sequence[TranscriptMessage],
    topics: Sequence[str],
    products: Sequence[str],
    polarity: Polarity,
) -> str | None:
    """The summary of a conversation, None when the customer wrote nothing.

    `topics` are its taxonomy topics, `products` the product names found in it, `polarity` the
    score in [-1, 1] of one message in the conversation's language (None where it has no model).
    """
    customer = [m.text for m in messages if m.sender == "customer"]
    if not customer:
        return None
    support = [m for m in messages if m.sender != "customer"]
    specifics = [*order_numbers(messages), *products]
    for kept in (len(specifics), len(specifics) - len(products), 0):
        for actions in (MAX_ACTIONS, 1):
            summary = " ".join(
                part
                for part in (
                    request_sentence(customer[0], topics, specifics[:kept], polarity),
                    support_sentence(support, actions),
                    ending_sentence(customer, polarity),
                )
                if part
            )
            if len(summary) <= MAX_SUMMARY_CHARS:
                return summary
    return summary[: MAX_SUMMARY_CHARS - 1].rstrip() + "…"


def request_sentence(
    opening: str, topics: Sequence[str], specifics: Sequence[str], polarity: Polarity
) -> str:
    """What the customer wanted: "The customer asked about a refund (order #4821, blender)."."""
    score = polarity(opening)
    problem = bool(PROBLEM_CUES.search(opening)) or (score is not None and score <= COMPLAINT_AT)
    named = [t for t in topics if t in TOPIC_PHRASES][:2]
    if named and named[0] in PROBLEM_TOPICS:
        sentence = f"The customer reported {TOPIC_PHRASES[named[0]]}"
    elif named:
        about = " and ".join(TOPIC_PHRASES[t] for t in named)
        sentence = f"The customer {'reported a problem with' if problem else 'asked about'} {about}"
    else:
        sentence = "The customer reported a problem" if problem else "The customer asked a question"
    if specifics:
        sentence += f" ({', '.join(specifics)})"
    return sentence + "."


def support_sentence(support: Sequence[TranscriptMessage], max_actions: int) -> str:
    """Who answered and what they did, hand-over included."""
    if not support:
        return "No one from support answered."
    text = "\n".join(m.text for m in support)
    done = [phrase for phrase, pattern in SUPPORT_ACTIONS if pattern.search(text)][:max_actions]
    what = " and ".join(done) if done else "answered"
    people = [m for m in support if m.sender == "human"]
    if not people:
        return f"The AI assistant {what}."
    person = agent_name(people[0].sender_name)
    if any(m.sender == "ai" for m in support[: support.index(people[0])]):
        return f"The AI assistant handed over to {person}, who {what}."
    return f"{person[:1].upper()}{person[1:]} {what}."


def agent_name(sender_name: str | None) -> str:
    """How a summary names a human agent: their first name, else "a human agent"."""
    match = _NAME.match((sender_name or "").strip())
    if match is None:
        return "a human agent"
    return "agent " + match.group(0).split()[0][:MAX_NAME_CHARS]


def ending_sentence(customer: Sequence[str], polarity: Polarity) -> str | None:
    """How the customer felt at the end, from their last message; None where it cannot be told."""
    if len(customer) < 2:
        return None
    score = polarity(customer[-1])
    if score is None:
        return None
    if score >= ENDING_AT:
        return "The customer ended satisfied."
    if score <= -ENDING_AT:
        return "The customer remained dissatisfied."
    return "The customer's last message was neutral."


def order_numbers(messages: Sequence[TranscriptMessage]) -> list[str]:
    """Order numbers named in the conversation, first mention first."""
    found: list[str] = []
    for message in messages:
        for match in ORDER_NUMBER.finditer(message.text):
            number = "order #" + (match.group(1) or match.group(2))
            if number not in found:
                found.append(number)
    return found[:MAX_ORDER_NUMBERS]
