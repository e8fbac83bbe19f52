"""The final state, read straight from each service's own database, compared with the model.

Every difference is counted as `lost` (the model has it, the system does not, or has fewer),
`duplicated` (the system has it more often than the model, or has something the model does not)
or `wrong` (present once, with other values), and described for the failure message.
"""

import math
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
import httpx

from services.insights.analysers import AnalysisRequest, EmbeddedAnalyser
from tests.faults.model import Conversation, Scenario

Query = Callable[..., Awaitable[list[asyncpg.Record]]]
K = TypeVar("K")
G = TypeVar("G")
W = TypeVar("W")
SHOWN = 12
# Profile views read through the gateway at the end.
VIEWS = 20


@dataclass
class Differences:
    """What the system holds that the model says it should not, by kind."""

    lost: Counter[str] = field(default_factory=Counter)
    duplicated: Counter[str] = field(default_factory=Counter)
    wrong: Counter[str] = field(default_factory=Counter)
    details: list[str] = field(default_factory=list)

    def _add(self, counter: Counter[str], what: str, detail: str, n: int = 1) -> None:
        counter[what] += n
        if len(self.details) < 60:
            self.details.append(detail)

    def missing(self, what: str, key: object, n: int = 1) -> None:
        """The model has `n` of `what` at `key` that the system lacks."""
        self._add(self.lost, what, f"lost {n} {what}: {key}", n)

    def extra(self, what: str, key: object, n: int = 1) -> None:
        """The system has `n` more of `what` at `key` than the model."""
        self._add(self.duplicated, what, f"duplicated {n} {what}: {key}", n)

    def differs(self, what: str, key: object, got: object, want: object) -> None:
        """`what` at `key` is present but holds `got` instead of `want`."""
        self._add(self.wrong, what, f"wrong {what} of {key}: got {got!r}, want {want!r}")

    def compare_sets(self, what: str, got: set[Any], want: set[Any]) -> None:
        """Keys missing from `got` are lost, keys only in `got` are duplicated (never modelled)."""
        for key in sorted(want - got, key=str):
            self.missing(what, key)
        for key in sorted(got - want, key=str):
            self.extra(what, key)

    def compare_counts(self, what: str, got: Counter[Any], want: Counter[Any]) -> None:
        """Per-key counts: a shortfall is lost, a surplus duplicated."""
        for key in set(got) | set(want):
            if got[key] < want[key]:
                self.missing(what, key, want[key] - got[key])
            elif got[key] > want[key]:
                self.extra(what, key, got[key] - want[key])

    def field(self, what: str, key: object, got: object, want: object) -> None:
        """Compare one value."""
        if isinstance(got, float) and isinstance(want, float):
            if not math.isclose(got, want, abs_tol=1e-9):
                self.differs(what, key, got, want)
        elif got != want:
            self.differs(what, key, got, want)

    @property
    def total_lost(self) -> int:
        """Everything lost."""
        return sum(self.lost.values())

    @property
    def total_duplicated(self) -> int:
        """Everything doubled or extra."""
        return sum(self.duplicated.values())

    @property
    def total_wrong(self) -> int:
        """Everything present with other values."""
        return sum(self.wrong.values())

    def report(self) -> str:
        """A readable account of the differences."""
        lines = [
            f"lost {self.total_lost} {dict(self.lost)}",
            f"duplicated {self.total_duplicated} {dict(self.duplicated)}",
            f"wrong {self.total_wrong} {dict(self.wrong)}",
            *self.details[:SHOWN],
        ]
        return "\n".join(lines)


@dataclass
class Checked:
    """How much of the final state was compared."""

    customers: int = 0
    conversations: int = 0
    messages: int = 0
    escalations: int = 0
    analyses: int = 0


def both(got: Mapping[K, G], want: Mapping[K, W]) -> Iterator[tuple[K, G, W]]:
    """Each key the system and the model both hold, with what each holds there, in the model's order."""
    # The keys only one side holds are compare_sets' to count.
    for key, wanted in want.items():
        found = got.get(key)
        if found is not None:
            yield key, found, wanted


async def compare(
    scenario: Scenario, query: Query, diff: Differences, expected: dict[str, "ExpectedAnalysis"]
) -> Checked:
    """Compare every service's final state of the scenario's workspace with the model."""
    checked = Checked()
    await _profile(scenario, query, diff, checked)
    await _notes(scenario, query, diff)
    await _timeline(scenario, query, diff, checked)
    await _insights(scenario, query, diff, checked, expected)
    await _inboxes(scenario, query, diff)
    return checked


async def _profile(scenario: Scenario, query: Query, diff: Differences, checked: Checked) -> None:
    rows = await query(
        "profile",
        "SELECT id::text AS id, platform, platform_user_id, name, phone, avatar_url, instagram, created_at, "
        "a.last_contact_at FROM customers c JOIN customer_activity a ON a.customer_id = c.id "
        "WHERE c.workspace = $1",
        scenario.workspace,
    )
    by_id = {row["id"]: row for row in rows}
    diff.compare_sets("customer", set(by_id), {c.customer_id for c in scenario.remaining})
    identities = Counter((row["platform"], row["platform_user_id"]) for row in rows)
    diff.compare_counts("customer identity", identities, Counter({k: 1 for k in identities}))
    for customer in scenario.remaining:
        row = by_id.get(customer.customer_id)
        if row is None:
            continue
        checked.customers += 1
        key = f"{customer.platform}:{customer.platform_user_id}"
        absorbed = scenario.absorbed(customer)
        named = scenario.named(customer)
        diff.field(
            "customer platform id",
            key,
            (row["platform"], row["platform_user_id"]),
            (customer.platform, customer.platform_user_id),
        )
        diff.field("customer name (newest display_name)", key, row["name"], named.name)
        diff.field("customer avatar_url", key, row["avatar_url"], named.avatar_url)
        created = min(c.created_at for c in absorbed if c.created_at is not None)
        diff.field("customer created_at (earliest event)", key, row["created_at"], created)
        last = max(c.last_contact_at for c in absorbed if c.last_contact_at is not None)
        diff.field("customer last_contact_at", key, row["last_contact_at"], last)
        phones = [c.platform_user_id for c in absorbed if c.platform == "whatsapp"]
        diff.field("customer phone", key, row["phone"], phones[0] if phones else None)
        if customer.platform == "instagram":
            instagram = row["instagram"] or {}
            diff.field(
                "customer instagram",
                key,
                (instagram.get("username"), instagram.get("followers"), instagram.get("follow_status")),
                (customer.platform_user_id, customer.followers, customer.follow_status),
            )
    await _identities(scenario, query, diff)


async def _identities(scenario: Scenario, query: Query, diff: Differences) -> None:
    # Every identity belongs to the customer it merged into; an erased one to nobody.
    rows = await query(
        "profile",
        "SELECT customer_id::text AS customer_id, platform, platform_user_id FROM customer_identities "
        "WHERE workspace = $1",
        scenario.workspace,
    )
    diff.compare_sets(
        "identity of its customer",
        {(row["customer_id"], row["platform"], row["platform_user_id"]) for row in rows},
        {
            (owner.customer_id, c.platform, c.platform_user_id)
            for c in scenario.customers
            if (owner := scenario.owner(c)) is not None
        },
    )
    erasures = await query(
        "profile",
        "SELECT customer_id::text AS customer_id FROM erasures "
        "WHERE workspace = $1 AND completed_at IS NOT NULL",
        scenario.workspace,
    )
    diff.compare_sets(
        "erasure done", {row["customer_id"] for row in erasures}, {c.customer_id for c in scenario.erased}
    )


async def _notes(scenario: Scenario, query: Query, diff: Differences) -> None:
    # The notes service learns customers from profile's customer.created: each one exactly once.
    rows = await query(
        "notes", "SELECT customer_id::text AS id FROM customers WHERE workspace = $1", scenario.workspace
    )
    diff.compare_counts(
        "customer known to notes",
        Counter(row["id"] for row in rows),
        Counter(c.customer_id for c in scenario.remaining),
    )


async def _timeline(scenario: Scenario, query: Query, diff: Differences, checked: Checked) -> None:
    ws = scenario.workspace
    conversations = {
        row["conversation_id"]: row
        for row in await query(
            "timeline",
            "SELECT conversation_id, customer_id::text AS customer_id, platform, started_at, ended_at, "
            "resolved_type, resolved_name, summary, sentiment, analysed_at FROM conversations "
            "WHERE workspace = $1",
            ws,
        )
    }
    model = {c.conversation_id: c for c in scenario.conversations if scenario.owner(c.customer) is not None}
    diff.compare_sets("conversation", set(conversations), set(model))
    messages: dict[str, dict[str, asyncpg.Record]] = defaultdict(dict)
    message_rows = await query(
        "timeline",
        "SELECT conversation_id, message_id, sender, sender_name, text, sent_at FROM messages "
        "WHERE workspace = $1",
        ws,
    )
    for row in message_rows:
        messages[row["conversation_id"]][row["message_id"]] = row
    escalations = {
        row["escalation_id"]: row
        for row in await query(
            "timeline",
            "SELECT escalation_id, conversation_id, customer_id::text AS customer_id, escalated_at, reason, "
            "handled_by, handled_at FROM escalations WHERE workspace = $1",
            ws,
        )
    }
    want_escalations = {e.escalation_id: (conv, e) for conv in model.values() for e in conv.escalations}
    owners = {c.customer_id: (scenario.owner(c) or c).customer_id for c in scenario.customers}
    diff.compare_sets("escalation", set(escalations), set(want_escalations))
    for cid, found, conv in both(conversations, model):
        checked.conversations += 1
        diff.field(
            "conversation customer",
            cid,
            (found["customer_id"], found["platform"]),
            (owners[conv.customer.customer_id], conv.customer.platform),
        )
        diff.field("conversation started_at", cid, found["started_at"], conv.started_at)
        diff.field(
            "conversation status",
            cid,
            "closed" if found["ended_at"] else "active",
            "closed" if conv.closed else "active",
        )
        diff.field("conversation ended_at", cid, found["ended_at"], conv.ended_at)
        diff.field(
            "conversation resolved_by",
            cid,
            (found["resolved_type"], found["resolved_name"]),
            (conv.resolved_type, conv.resolved_name),
        )
        stored = messages.get(cid, {})
        for message in conv.messages:
            got = stored.get(message.message_id)
            if got is None:
                continue  # counted below
            checked.messages += 1
            diff.field(
                "message",
                f"{cid}/{message.message_id}",
                (got["sender"], got["sender_name"], got["text"], got["sent_at"]),
                (message.sender, message.sender_name, message.text, message.sent_at),
            )
        diff.compare_sets(
            "message", {f"{cid}/{m}" for m in stored}, {f"{cid}/{m.message_id}" for m in conv.messages}
        )
    for eid, got, (conv, escalation) in both(escalations, want_escalations):
        checked.escalations += 1
        diff.field(
            "escalation",
            eid,
            (
                got["conversation_id"],
                got["customer_id"],
                got["escalated_at"],
                got["reason"],
                got["handled_by"],
                got["handled_at"],
            ),
            (
                conv.conversation_id,
                owners[conv.customer.customer_id],
                escalation.escalated_at,
                escalation.reason,
                escalation.handled_by,
                escalation.handled_at,
            ),
        )


@dataclass(frozen=True)
class ExpectedAnalysis:
    """What the embedded analyser makes of a whole conversation."""

    summary: str | None
    sentiment: str | None
    sentiment_score: float | None
    topics: list[str]


def expected_analyses(scenario: Scenario) -> dict[str, ExpectedAnalysis]:
    """The analysis of every closed conversation's complete transcript (the embedded analyser is
    deterministic): the analysis that must end up stored, whichever order the messages came in."""
    analyser = EmbeddedAnalyser()
    expected = {}
    for conv in scenario.conversations:
        if not conv.closed:
            continue
        analysis = analyser.analyse_now(_request(conv))
        expected[conv.conversation_id] = ExpectedAnalysis(
            analysis.summary, analysis.sentiment, analysis.sentiment_score, list(analysis.topics)
        )
    return expected


def _request(conv: Conversation) -> AnalysisRequest:
    return AnalysisRequest(
        conversation_id=conv.conversation_id,
        customer_id=conv.customer.customer_id,
        platform=conv.customer.platform,
        messages=conv.transcript(),
    )


async def _insights(
    scenario: Scenario,
    query: Query,
    diff: Differences,
    checked: Checked,
    expected: dict[str, ExpectedAnalysis],
) -> None:
    ws = scenario.workspace
    rows = await query(
        "insights",
        "SELECT conversation_id, customer_id, summary, sentiment, sentiment_score, topics, analysed_at "
        "FROM conversation_analyses WHERE workspace = $1",
        ws,
    )
    analyses = {row["conversation_id"]: row for row in rows}
    closed = {
        c.conversation_id: c
        for c in scenario.conversations
        if c.closed and scenario.owner(c.customer) is not None
    }
    diff.compare_sets("analysis", set(analyses), set(closed))
    timeline_rows = {
        row["conversation_id"]: row
        for row in await query(
            "timeline",
            "SELECT conversation_id, summary, sentiment, analysed_at FROM conversations WHERE workspace = $1",
            ws,
        )
    }
    for cid, row, conv in both(analyses, closed):
        checked.analyses += 1
        want = expected[cid]
        owner = scenario.owner(conv.customer)
        assert owner is not None
        diff.field("analysis customer", cid, row["customer_id"], owner.customer_id)
        diff.field(
            "analysis of the whole transcript",
            cid,
            (row["summary"], row["sentiment"], row["topics"]),
            (want.summary, want.sentiment, want.topics),
        )
        on_timeline = timeline_rows.get(cid)
        if on_timeline is None:
            continue
        if on_timeline["summary"] is None:
            diff.missing("summary on the timeline conversation", cid)
            continue
        diff.field(
            "timeline copy of the newest analysis",
            cid,
            (on_timeline["summary"], on_timeline["sentiment"], on_timeline["analysed_at"]),
            (row["summary"], row["sentiment"], row["analysed_at"]),
        )
    for cid, row in timeline_rows.items():
        if cid not in closed and row["summary"] is not None:
            diff.extra("summary of an active conversation", cid)
    # The header's average sentiment counts each analysed conversation once.
    per_customer: dict[str, list[float]] = defaultdict(list)
    for cid, want in expected.items():
        owner = scenario.owner(closed[cid].customer) if cid in closed else None
        if want.sentiment_score is not None and owner is not None:
            per_customer[owner.customer_id].append(want.sentiment_score)
    insights_rows = {
        row["customer_id"]: row
        for row in await query(
            "insights",
            "SELECT customer_id, sentiment_conversations FROM customer_insights WHERE workspace = $1",
            ws,
        )
    }
    for customer in scenario.remaining:
        insights_row = insights_rows.get(customer.customer_id)
        got = insights_row["sentiment_conversations"] if insights_row is not None else 0
        want_n = len(per_customer.get(customer.customer_id, []))
        if got < want_n:
            diff.missing("conversation in the average sentiment", customer.customer_id, want_n - got)
        elif got > want_n:
            diff.extra("conversation in the average sentiment", customer.customer_id, got - want_n)


async def _inboxes(scenario: Scenario, query: Query, diff: Differences) -> None:
    # Connector events applied once each by each of their consumers (the inbox is the proof).
    ids = {e.event_id for e in scenario.events}
    timeline_ids = {e.event_id for e in scenario.events if e.type != "contact.seen"}
    for service, consumer, want in (
        ("profile", "profile-chat", ids),
        ("timeline", "timeline-chat", timeline_ids),
    ):
        rows = await query(
            service,
            "SELECT event_id FROM inbox WHERE consumer = $1 AND event_id = ANY($2::text[])",
            consumer,
            sorted(ids),
        )
        diff.compare_sets(f"event applied by {consumer}", {row["event_id"] for row in rows}, want)


async def compare_gateway(scenario: Scenario, client: httpx.AsyncClient, diff: Differences) -> int:
    """What the dashboard reads through the (restarted) gateway: the grid and some profile views."""
    names: dict[str, str] = {}
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/v1/customers", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        names.update({item["id"]: item["name"] for item in page["items"]})
        cursor = page["next_cursor"]
        if not cursor:
            break
    diff.compare_sets(
        "customer in the gateway's grid", set(names), {c.customer_id for c in scenario.remaining}
    )
    # Every merge and erasure, and a sample of the others.
    sample = scenario.customers[:: max(1, len(scenario.customers) // VIEWS)]
    viewed = 0
    looked_at = [*sample, *(c for pair in scenario.merges for c in pair), *scenario.erased]
    for customer in {c.customer_id: c for c in looked_at}.values():
        response = await client.get(f"/v1/customers/{customer.customer_id}")
        viewed += 1
        owner = scenario.owner(customer)
        if owner is not customer:
            # Merged away (naming where to) or erased (naming nothing): 404 either way.
            merged_into = owner.customer_id if owner is not None else None
            got = (response.status_code, response.json().get("merged_into"))
            diff.field("retired customer through the gateway", customer.customer_id, got, (404, merged_into))
            continue
        assert response.status_code == 200, response.text
        view = response.json()
        absorbed = scenario.absorbed(customer)
        diff.field(
            "profile view through the gateway",
            customer.customer_id,
            (
                view["profile"]["name"],
                view["counts"]["conversations"],
                view["counts"]["escalations"],
                view["unavailable"],
            ),
            (
                scenario.named(customer).name,
                sum(len(c.conversations) for c in absorbed),
                sum(len(conv.escalations) for c in absorbed for conv in c.conversations),
                [],
            ),
        )
    return viewed
