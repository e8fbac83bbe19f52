"""Connector events for the fault suite, generated deterministically, and the state they must leave.

The generator first writes every customer's history in its "true" order, giving each event a
distinct, increasing `occurred_at`, so the final state is well defined. It then adds connector
retries and shuffles everything: what the system receives is duplicated and out of order, what it
must converge to is computed here from the true history alone.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.simulator.events import Event
from shared.ids import customer_id_for
from shared.messages.timeline import TranscriptMessage

SEED = 20_260_509
BASE_TIME = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
STEP = timedelta(seconds=7)
PLATFORMS = ("whatsapp", "instagram", "web")

_FIRST = ("Layla", "Omar", "Sara", "Yusuf", "Mariam", "Hassan", "Noor", "Karim", "Aisha", "Ziad")
_LAST = ("Haddad", "Khan", "Saleh", "Farouk", "Nasser", "Aziz", "Rahman", "Qasim", "Mansour", "Idris")
_STAFF = ("Sara Ali", "Tom Becker", "Priya Nair", "Jonas Weber")
_REASONS = ("Customer asked to speak to a person", "Refund above the AI's limit", "Angry customer")
_CUSTOMER_LINES = (
    "Hi, my order #{n} has not arrived yet and I am worried about it.",
    "Can you tell me when the parcel for order #{n} will be delivered?",
    "I was charged twice for order #{n}, please refund one of the payments.",
    "The shoes from order #{n} are too small, how do returns work?",
    "Thank you so much, that is really helpful!",
    "This is the third time I ask and nobody answers, I am very disappointed.",
    "Do you have the blue jacket in size M in the Dubai Mall store?",
    "Great, express delivery works perfectly for me.",
    "I love the new collection, when is the next sale?",
    "The app keeps crashing when I try to pay with my card.",
)
_AI_LINES = (
    "Let me check the status of order #{n} for you.",
    "I am sorry for the trouble. I have opened a ticket about order #{n}.",
    "Returns are free within 30 days; I can send you a return label now.",
    "Your refund for order #{n} will reach your card within 5 working days.",
    "Is there anything else I can help you with today?",
)
_HUMAN_LINES = (
    "Hi, this is {staff} from the support team, I am taking over now.",
    "I have upgraded your order #{n} to express delivery at no cost.",
    "The duplicate payment for order #{n} has been refunded.",
)


@dataclass(frozen=True)
class Publication:
    """One publish: an event under a Nats-Msg-Id (the event id, or a new one for a connector retry)."""

    event: Event
    msg_id: str
    kind: str  # "original", "new_id" (retry past the dedup window) or "same_id" (retry after a lost ack)


@dataclass
class Message:
    """A message as the timeline must store it."""

    message_id: str
    sender: str
    sender_name: str
    text: str
    sent_at: datetime


@dataclass
class Escalation:
    """An escalation as the timeline must store it."""

    escalation_id: str
    reason: str
    escalated_at: datetime
    handled_by: str | None = None
    handled_at: datetime | None = None


@dataclass
class Conversation:
    """A conversation as the timeline must store it."""

    conversation_id: str
    customer: "Customer"
    started_at: datetime
    messages: list[Message] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)
    ended_at: datetime | None = None
    resolved_type: str | None = None
    resolved_name: str | None = None

    @property
    def closed(self) -> bool:
        """Whether a conversation.closed was sent."""
        return self.ended_at is not None

    def transcript(self) -> list[TranscriptMessage]:
        """The whole conversation oldest first, as the timeline hands it to insights."""
        return [
            TranscriptMessage(sender=m.sender, sender_name=m.sender_name, text=m.text, sent_at=m.sent_at)
            for m in sorted(self.messages, key=lambda m: m.sent_at)
        ]


@dataclass
class Customer:
    """A customer as the profile service must store it."""

    platform: str
    platform_user_id: str
    customer_id: str
    name: str = ""
    avatar_url: str | None = None
    followers: int | None = None
    follow_status: str | None = None
    created_at: datetime | None = None
    last_contact_at: datetime | None = None
    # When its latest contact.seen (name and avatar) happened.
    named_at: datetime | None = None
    conversations: list[Conversation] = field(default_factory=list)


@dataclass
class Scenario:
    """Everything the suite publishes, and the state it must end in.

    While events flow, staff merge each pair of `merges` (the source, second, into the target)
    and erase each customer of `erased` (CONTRACT.md §7).
    """

    workspace: str
    customers: list[Customer]
    events: list[Event]
    publications: list[Publication]
    merges: list[tuple[Customer, Customer]] = field(default_factory=list)
    erased: list[Customer] = field(default_factory=list)

    def owner(self, customer: Customer) -> Customer | None:
        """The customer whose data this one's is in the end: itself, its merge target, or None
        (erased)."""
        if any(customer is erased for erased in self.erased):
            return None
        return next((target for target, source in self.merges if source is customer), customer)

    @property
    def remaining(self) -> list[Customer]:
        """The customers that exist in the end."""
        return [c for c in self.customers if self.owner(c) is c]

    def absorbed(self, customer: Customer) -> list[Customer]:
        """A remaining customer and every customer merged into it."""
        return [customer, *(source for target, source in self.merges if target is customer)]

    def named(self, customer: Customer) -> Customer:
        """Of a remaining customer and those merged into it, the one seen last: its display name
        and avatar are the merged customer's (the newest contact.seen wins)."""
        return max(self.absorbed(customer), key=lambda c: c.named_at or BASE_TIME)

    @property
    def conversations(self) -> Iterator[Conversation]:
        """Every conversation of every customer."""
        for customer in self.customers:
            yield from customer.conversations

    def count(self, kind: str) -> int:
        """How many publications are of `kind`."""
        return sum(1 for p in self.publications if p.kind == kind)


class _Clock:
    """Distinct, increasing times in the order events truly happened."""

    def __init__(self) -> None:
        self.now = BASE_TIME

    def tick(self) -> datetime:
        self.now += STEP
        return self.now


def _platform_user_id(rng: random.Random, platform: str, index: int) -> str:
    if platform == "whatsapp":
        return f"+9715{rng.randrange(10**7, 10**8)}"
    if platform == "instagram":
        return f"{rng.choice(_FIRST).lower()}.{rng.choice(_LAST).lower()}_{index}"
    return f"visitor-{rng.getrandbits(48):012x}"


class _Writer:
    """Builds one customer's history: the events, and the model state they imply."""

    def __init__(self, rng: random.Random, clock: _Clock, workspace: str, customer: Customer) -> None:
        self.rng = rng
        self.clock = clock
        self.workspace = workspace
        self.customer = customer
        self.events: list[Event] = []
        self._ids = 0

    def emit(self, event_type: str, **fields: Any) -> datetime:
        at = self.clock.tick()
        self._ids += 1
        c = self.customer
        body = {
            "event_id": f"ev-{c.customer_id[:8]}-{self._ids:03}-{self.rng.getrandbits(32):08x}",
            "occurred_at": at.isoformat(),
            "platform": c.platform,
            "platform_user_id": c.platform_user_id,
            **fields,
        }
        self.events.append(Event(event_type, body))
        c.created_at = c.created_at or at
        c.last_contact_at = at
        return at

    def contact_seen(self, version: int) -> None:
        c, rng = self.customer, self.rng
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)} v{version}"
        avatar = f"https://cdn.example.com/avatars/{c.customer_id[:8]}-{version}.png"
        fields: dict[str, Any] = {"display_name": name, "avatar_url": avatar}
        if c.platform == "instagram":
            followers, status = rng.randrange(0, 50_000), rng.choice(["following", "not_following"])
            fields["instagram"] = {
                "username": c.platform_user_id,
                "followers": followers,
                "follow_status": status,
            }
            c.followers, c.follow_status = followers, status
        c.named_at = self.emit("contact.seen", **fields)
        c.name, c.avatar_url = name, avatar

    def conversation(self, number: int) -> None:
        c, rng = self.customer, self.rng
        cid = f"conv-{c.customer_id[:8]}-{number}"
        order = rng.randrange(1000, 9999)
        started = self.emit("conversation.started", conversation_id=cid)
        conv = Conversation(cid, c, started)
        c.conversations.append(conv)
        count = rng.randint(15, 26)
        escalate_at = rng.randrange(3, count - 3) if rng.random() < 0.35 else None
        escalation: Escalation | None = None
        staff = rng.choice(_STAFF)
        for n in range(count):
            if n == escalate_at:
                eid = f"esc-{c.customer_id[:8]}-{number}"
                reason = rng.choice(_REASONS)
                at = self.emit(
                    "conversation.escalated", conversation_id=cid, escalation_id=eid, reason=reason
                )
                escalation = Escalation(eid, reason, at)
                conv.escalations.append(escalation)
                if rng.random() < 0.8:
                    at = self.emit(
                        "escalation.handled", conversation_id=cid, escalation_id=eid, handled_by=staff
                    )
                    escalation.handled_by, escalation.handled_at = staff, at
            if n % 2 == 0:
                sender, sender_name, line = (
                    "customer",
                    c.name or c.platform_user_id,
                    rng.choice(_CUSTOMER_LINES),
                )
            elif escalation is not None and escalation.handled_by is not None:
                sender, sender_name, line = "human", staff, rng.choice(_HUMAN_LINES)
            else:
                sender, sender_name, line = "ai", "Assistant", rng.choice(_AI_LINES)
            text = line.format(n=order, staff=staff)
            mid = f"{cid}-m{n:02}"
            at = self.emit(
                "conversation.message",
                conversation_id=cid,
                message_id=mid,
                sender=sender,
                sender_name=sender_name,
                text=text,
            )
            conv.messages.append(Message(mid, sender, sender_name, text, at))
        if rng.random() < 0.9:
            human = escalation is not None and escalation.handled_by is not None
            resolved = {"type": "human", "name": staff} if human else {"type": "ai", "name": "Assistant"}
            conv.ended_at = self.emit("conversation.closed", conversation_id=cid, resolved_by=resolved)
            conv.resolved_type, conv.resolved_name = resolved["type"], resolved["name"]


def generate(
    workspace: str,
    *,
    customers: int = 200,
    new_id_share: float = 0.05,
    same_id_count: int = 25,
    merges: int = 6,
    erasures: int = 4,
    seed: int = SEED,
) -> Scenario:
    """~10,000 publications for `customers` customers: duplicated, shuffled, deterministic; some
    WhatsApp customers absorb a web duplicate, some Instagram customers are erased."""
    rng = random.Random(seed)
    clock = _Clock()
    people: list[Customer] = []
    events: list[Event] = []
    for index in range(customers):
        platform = PLATFORMS[index % len(PLATFORMS)]
        puid = _platform_user_id(rng, platform, index)
        customer = Customer(platform, puid, str(customer_id_for(workspace, platform, puid)))
        people.append(customer)
        writer = _Writer(rng, clock, workspace, customer)
        seen = rng.choice((2, 3))
        conversations = rng.choice((1, 2, 2, 3))
        # contact.seen before, between and after the conversations: the newest one must win.
        slots = sorted(rng.sample(range(conversations + 1), k=min(seen, conversations + 1)))
        version = 0
        for slot in range(conversations + 1):
            while slots and slots[0] == slot:
                slots.pop(0)
                version += 1
                writer.contact_seen(version)
            if slot < conversations:
                writer.conversation(slot + 1)
        events.extend(writer.events)

    publications = [Publication(e, e.event_id, "original") for e in events]
    for event in rng.sample(events, k=round(len(events) * new_id_share)):
        publications.append(Publication(event, f"{event.event_id}:retry", "new_id"))
    rng.shuffle(publications)
    # A publisher retrying after a lost ack re-sends the same Nats-Msg-Id moments later, well
    # inside the stream's duplicate window: the stream must drop it.
    for position in sorted(rng.sample(range(len(publications)), k=same_id_count), reverse=True):
        original = publications[position]
        if original.kind != "original":
            continue
        again = Publication(original.event, original.msg_id, "same_id")
        publications.insert(min(position + 1 + rng.randrange(3), len(publications)), again)
    # Customers cycle through the platforms: 3k is on WhatsApp, 3k + 1 on Instagram, 3k + 2 on the web.
    pairs = [(people[3 * k], people[3 * k + 2]) for k in range(merges)]
    erased = [people[3 * (merges + k) + 1] for k in range(erasures)]
    return Scenario(
        workspace=workspace,
        customers=people,
        events=events,
        publications=publications,
        merges=pairs,
        erased=erased,
    )
