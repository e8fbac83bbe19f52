"""Simulated traffic as plain data: conversation scripts, customers' histories, live conversations.

Everything is derived from the workspace, the seed and (live) the run id: the same arguments
give the same customers, the same words and the same event ids, so publishing them again
changes nothing. Times are the only input from outside (`now`, or the clock in live mode).
"""

import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from connectors.simulator import events
from connectors.simulator.dialogues import AI_NAME, TOPICS, Topic, content, price
from connectors.simulator.events import Event, Identity, Sender
from connectors.simulator.people import Customer, Language, iter_population, make_customer, population

# What happens to a conversation: the AI resolves it; it is escalated and a person takes it
# (escalation.handled) and closes it; a person answers and closes it without announcing they
# took it; it waits for a person; or it is still open with the AI.
Outcome = Literal["ai", "human", "human_unannounced", "waiting", "open"]
# What the time before a step is spent on.
Pause = Literal["none", "reply", "typing", "handover", "staff", "close"]

_NAMESPACE = uuid.UUID("3c1b5c8e-6a0e-4f55-8a3e-5b7f0d0c9e21")
_TOPIC_WEIGHTS = (30, 25, 15, 30)
_SETTLED: tuple[Outcome, ...] = ("ai", "human", "human_unannounced")
# Problems with an order reach a person more often than sales and questions do.
_SETTLED_WEIGHTS: dict[Topic, tuple[int, int, int]] = {
    "purchase": (70, 20, 10),
    "delivery": (40, 45, 15),
    "refund": (45, 40, 15),
    "question": (70, 20, 10),
}
_CONVERSATIONS_PER_CUSTOMER = ((1, 2, 3, 4), (35, 35, 20, 10))
# A customer's last conversation, if it started this recently, may still be going on.
_RECENT = timedelta(days=2)
_GAP_BETWEEN_CONVERSATIONS = timedelta(hours=1)
# Share of handovers, where the dialogue has an unhappy ending, that end that way.
_UNHAPPY = 0.4
_PAUSE_BEFORE: dict[Sender, Pause] = {"customer": "typing", "ai": "reply", "human": "staff"}


@dataclass(frozen=True)
class Pacing:
    """Seconds (low, high) spent before each kind of step."""

    reply: tuple[float, float]
    typing: tuple[float, float]
    handover: tuple[float, float]
    staff: tuple[float, float]
    close: tuple[float, float]

    def seconds(self, pause: Pause, rng: random.Random) -> float:
        """How long a pause of this kind lasts this time."""
        if pause == "none":
            return 0.0
        low, high = getattr(self, pause)
        return rng.uniform(low, high)


# Histories: people take minutes to answer and staff up to an hour and a half to pick up.
HISTORY_PACE = Pacing(
    reply=(2, 12), typing=(30, 300), handover=(120, 5400), staff=(30, 240), close=(120, 1800)
)
# Live traffic: the same conversations, compressed into seconds.
LIVE_PACE = Pacing(reply=(0.5, 2), typing=(2, 10), handover=(5, 30), staff=(2, 8), close=(3, 10))


@dataclass(frozen=True)
class Step:
    """One event of a script: what the time before it is spent on, and how to make it."""

    pause: Pause
    build: Callable[[str, datetime], Event]


@dataclass(frozen=True)
class Script:
    """One conversation, from contact.seen to its close (or as far as it has got)."""

    key: str
    customer: Customer
    identity: Identity
    conversation_id: str
    topic: Topic
    outcome: Outcome
    steps: tuple[Step, ...]

    def event(self, index: int, occurred_at: datetime) -> Event:
        """Step `index` as an event; its id depends on the script and the index only."""
        return self.steps[index].build(stable_id(self.key, str(index)), occurred_at)

    def timed(self, start: datetime, pace: Pacing) -> list[Event]:
        """Every event, the first at `start`, the others after their pauses."""
        rng = random.Random(f"{self.key}/pace")
        at, timed = start, []
        for index, step in enumerate(self.steps):
            at += timedelta(seconds=pace.seconds(step.pause, rng))
            timed.append(self.event(index, at))
        return timed


def stable_id(*parts: str) -> str:
    """A UUID that only depends on `parts`: the same event always gets the same id."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def _short_id(prefix: str, *parts: str) -> str:
    return f"{prefix}_{uuid.uuid5(_NAMESPACE, '/'.join((prefix, *parts))).hex[:20]}"


def _contact_seen(customer: Customer, who: Identity, followers_gained: int) -> Step:
    account = customer.instagram if who.platform == "instagram" else None
    instagram = (
        events.instagram_info(account.username, account.followers + followers_gained, account.follow_status)
        if account
        else None
    )

    def build(event_id: str, at: datetime) -> Event:
        return events.contact_seen(
            event_id,
            at,
            who,
            display_name=customer.display_name,
            avatar_url=customer.avatars.get(who.platform),
            instagram=instagram,
        )

    return Step("none", build)


def _message(
    who: Identity, conversation_id: str, message_id: str, sender: Sender, name: str, text: str
) -> Step:
    def build(event_id: str, at: datetime) -> Event:
        return events.conversation_message(
            event_id,
            at,
            who,
            conversation_id,
            message_id=message_id,
            sender=sender,
            sender_name=name,
            text=text,
        )

    return Step(_PAUSE_BEFORE[sender], build)


def conversation_script(
    key: str, customer: Customer, who: Identity, topic: Topic, outcome: Outcome, rng: random.Random
) -> Script:
    """The events of one conversation of `customer` on identity `who`, about `topic`, ending as `outcome`."""
    library = content()
    language: Language = customer.language
    dialogue = library.dialogues[(language, topic)]
    staff = rng.choice(library.staff[language])
    product = rng.choice(library.products)
    words = {
        "name": customer.first_name,
        "agent": staff.split()[0],
        "order": f"#{rng.randint(10_000, 99_999)}",
        "product": product.names[language],
        "amount": price(language, product.price_usd),
    }
    conversation_id = _short_id("conv", key)
    names = {"customer": customer.display_name, "ai": AI_NAME, "human": staff}
    turns: list[tuple[Sender, str]] = [("customer", rng.choice(dialogue.openings))]
    if outcome in ("ai", "open"):
        turns += dialogue.resolved
    else:
        turns += dialogue.handover
    if outcome == "open":
        turns = turns[: rng.randint(2, len(turns) - 1)]

    steps = [
        _contact_seen(customer, who, rng.randint(0, 60)),
        Step("none", lambda event_id, at: events.conversation_started(event_id, at, who, conversation_id)),
    ]
    for number, (sender, text) in enumerate(turns):
        message_id = _short_id("msg", key, str(number))
        step = _message(who, conversation_id, message_id, sender, names[sender], text.format(**words))
        # The opening message is what starts the conversation.
        steps.append(Step("none", step.build) if number == 0 else step)
    if outcome not in ("ai", "open"):
        escalation_id = _short_id("esc", key)
        reason = rng.choice(library.reasons[topic])
        steps.append(
            Step(
                "reply",
                lambda event_id, at: events.conversation_escalated(
                    event_id, at, who, conversation_id, escalation_id=escalation_id, reason=reason
                ),
            )
        )
        if outcome == "human":
            steps.append(
                Step(
                    "handover",
                    lambda event_id, at: events.escalation_handled(
                        event_id, at, who, conversation_id, escalation_id=escalation_id, handled_by=staff
                    ),
                )
            )
        if outcome in ("human", "human_unannounced"):
            unhappy = dialogue.unhappy_human and rng.random() < _UNHAPPY
            for number, (sender, text) in enumerate(
                dialogue.unhappy_human if unhappy else dialogue.human, start=len(turns)
            ):
                message_id = _short_id("msg", key, str(number))
                step = _message(who, conversation_id, message_id, sender, names[sender], text.format(**words))
                # Without escalation.handled, the wait for a person comes before their first message.
                first_reply = outcome == "human_unannounced" and number == len(turns)
                steps.append(Step("handover", step.build) if first_reply else step)
    if outcome in ("ai", "human", "human_unannounced"):
        closer: Literal["ai", "human"] = "ai" if outcome == "ai" else "human"
        closer_name = AI_NAME if closer == "ai" else staff
        steps.append(
            Step(
                "close",
                lambda event_id, at: events.conversation_closed(
                    event_id, at, who, conversation_id, resolved_by=closer, resolver_name=closer_name
                ),
            )
        )
    return Script(key, customer, who, conversation_id, topic, outcome, tuple(steps))


def _topic(rng: random.Random) -> Topic:
    return rng.choices(TOPICS, _TOPIC_WEIGHTS)[0]


def _settled(rng: random.Random, topic: Topic) -> Outcome:
    return rng.choices(_SETTLED, _SETTLED_WEIGHTS[topic])[0]


@dataclass(frozen=True)
class History:
    """One customer's past conversations and their events, oldest first."""

    customer: Customer
    scripts: tuple[Script, ...]
    events: tuple[Event, ...]


def customer_history(
    workspace: str, seed: int, customer: Customer, index: int, weeks: int, now: datetime
) -> History:
    """Customer `index`'s conversations over the past `weeks`; none of its events after `now`."""
    rng = random.Random(f"{seed}/history/{index}")
    count = rng.choices(*_CONVERSATIONS_PER_CUSTOMER)[0]
    if len(customer.identities) > 1:
        count = max(count, len(customer.identities))
    earliest = now - timedelta(weeks=weeks)
    span = (now - earliest).total_seconds()
    starts = sorted(earliest + timedelta(seconds=rng.uniform(0, span * 0.97)) for _ in range(count))
    scripts: list[Script] = []
    timed: list[Event] = []
    not_before = earliest
    for number, start in enumerate(starts):
        start = max(start, not_before)
        if start >= now:
            break
        # Two-platform customers write on each platform at least once: merge candidates.
        who = (
            customer.identities[number]
            if number < len(customer.identities)
            else rng.choice(customer.identities)
        )
        last = number == count - 1
        topic = _topic(rng)
        outcome = _settled(rng, topic)
        if last and now - start < _RECENT and rng.random() < 0.5:
            outcome = rng.choice(("open", "waiting"))
        script = conversation_script(
            f"{workspace}/{seed}/history/{index}/{number}", customer, who, topic, outcome, rng
        )
        happened = [event for event in script.timed(start, HISTORY_PACE) if event_time(event) <= now]
        scripts.append(script)
        timed += happened
        not_before = event_time(happened[-1]) + _GAP_BETWEEN_CONVERSATIONS
    return History(customer, tuple(scripts), tuple(timed))


def event_time(event: Event) -> datetime:
    """When an event happened."""
    return datetime.fromisoformat(str(event.body["occurred_at"]))


def iter_histories(workspace: str, seed: int, customers: int, weeks: int, now: datetime) -> Iterator[History]:
    """The histories of the first `customers` customers of `seed`, over the past `weeks`, one at a time."""
    for index, person in enumerate(iter_population(str(seed), customers)):
        yield customer_history(workspace, seed, person, index, weeks, now)


def seed_histories(workspace: str, seed: int, customers: int, weeks: int, now: datetime) -> list[History]:
    """iter_histories as a list."""
    return list(iter_histories(workspace, seed, customers, weeks, now))


class LiveTraffic:
    """Live conversations one after another: returning customers of the seed's population and new ones."""

    def __init__(self, workspace: str, seed: int, run: str, returning: int) -> None:
        self.workspace = workspace
        self.seed = seed
        self.run = run
        self.returning = population(str(seed), returning)

    def script(self, number: int) -> Script:
        """Conversation `number` of the run: the same content for the same seed, ids scoped by the run."""
        rng = random.Random(f"{self.seed}/live/{number}")
        if self.returning and rng.random() < 0.5:
            customer = rng.choice(self.returning)
        else:
            customer = make_customer(str(self.seed), len(self.returning) + number)
        who = rng.choice(customer.identities)
        topic = _topic(rng)
        roll = rng.random()
        outcome: Outcome = "open" if roll < 0.05 else "waiting" if roll < 0.08 else _settled(rng, topic)
        key = f"{self.workspace}/{self.seed}/live/{self.run}/{number}"
        return conversation_script(key, customer, who, topic, outcome, rng)


@dataclass(frozen=True)
class Summary:
    """What a batch of events amounts to, counted from the events themselves."""

    identities: Counter[str] = field(default_factory=Counter)
    conversations: int = 0
    closed_by: Counter[str] = field(default_factory=Counter)
    escalations: int = 0
    handled: int = 0
    messages: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    customers: int = 0
    on_two_platforms: int = 0

    @property
    def open(self) -> int:
        """Conversations not closed."""
        return self.conversations - sum(self.closed_by.values())

    def __add__(self, other: "Summary") -> "Summary":
        """Both batches together (their customers are different people)."""
        return Summary(
            identities=self.identities + other.identities,
            conversations=self.conversations + other.conversations,
            closed_by=self.closed_by + other.closed_by,
            escalations=self.escalations + other.escalations,
            handled=self.handled + other.handled,
            messages=self.messages + other.messages,
            events=self.events + other.events,
            customers=self.customers + other.customers,
            on_two_platforms=self.on_two_platforms + other.on_two_platforms,
        )


def summarise(batch: Iterable[Event]) -> Summary:
    """Count identities, conversations, closes, escalations and messages in `batch`."""
    identities: set[tuple[str, str]] = set()
    closed_by: Counter[str] = Counter()
    messages: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for event in batch:
        identities.add((event.body["platform"], event.body["platform_user_id"]))
        counts[event.type] += 1
        if event.type == "conversation.closed":
            closed_by[event.body["resolved_by"]["type"]] += 1
        elif event.type == "conversation.message":
            messages[event.body["sender"]] += 1
    return Summary(
        identities=Counter(platform for platform, _ in identities),
        conversations=counts["conversation.started"],
        closed_by=closed_by,
        escalations=counts["conversation.escalated"],
        handled=counts["escalation.handled"],
        messages=messages,
        events=counts,
    )


def summarise_history(history: History) -> Summary:
    """summarise() of one customer's history, counting the customer."""
    two = len(history.customer.identities) > 1
    return summarise(history.events) + Summary(customers=1, on_two_platforms=int(two))
