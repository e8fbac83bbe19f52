"""Tenant isolation (CONTRACT.md §2), generated from the gateway's route table.

Every /v1 route is called by an admin of workspace B with the ids of workspace A's data: a route
keyed by an id of A answers 404, exactly as for an id that exists nowhere (a body listing A's ids,
422 naming them, again exactly as for ids that exist nowhere); a route keyed by nothing answers
B's data only. A route the matrix cannot fill (an unknown path or required query parameter,
a body it has no example for) fails the suite, so a new route cannot be forgotten.
"""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from nats.js import JetStreamContext

from gateway.app import create_app
from gateway.config import GatewaySettings
from shared.ids import customer_id_for
from tests.conftest import RunningGateway
from tests.support import JWT_SECRET, auth, connector_event, new_workspace, publish_event, wait_for

A_PHONE = "+971501234567"
B_PHONE = "+971509876543"
# A's agent, who writes A's note.
AUTHOR: dict[str, Any] = {"sub": "agent-a", "name": "Agent A"}


@dataclass(frozen=True)
class Seeded:
    """Workspace A's data, each piece with a value found nowhere else (a marker)."""

    workspace: str
    customer_id: str
    customer_name: str
    note_id: str
    note_text: str
    tag_id: str
    tag_name: str
    conversation_id: str
    escalation_id: str
    erasure_id: str

    def markers(self) -> list[str]:
        """Strings that appear in an answer only if it shows A's data."""
        return [
            self.customer_id,
            self.customer_name,
            self.note_id,
            self.note_text,
            self.tag_id,
            self.tag_name,
            self.conversation_id,
            self.escalation_id,
            self.erasure_id,
        ]


# How to fill each parameter a /v1 route may take: from A's data, and from ids that exist nowhere.
PATH_VALUES: dict[str, Callable[[Seeded], str]] = {
    "customer_id": lambda a: a.customer_id,
    "note_id": lambda a: a.note_id,
    "tag_id": lambda a: a.tag_id,
    "erasure_id": lambda a: a.erasure_id,
}
# Required query parameters; those naming A's data make the route keyed like a path id does.
QUERY_VALUES: dict[str, Callable[[Seeded], str]] = {
    "platform": lambda _a: "whatsapp",
    "platform_user_id": lambda _a: A_PHONE,
}
IDENTIFYING_QUERY = {"platform_user_id"}
NOWHERE: dict[str, str] = {"platform": "whatsapp", "platform_user_id": "+971500000001"}
# A valid body for each route that takes one: the write B attempts on A's data.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/v1/customers/{customer_id}"): {"name": "Taken over", "agent_instructions": "leak"},
    ("POST", "/v1/customers/{customer_id}/notes"): {"text": "planted by B"},
    ("POST", "/v1/tags"): {"name": "B's own tag", "color": "#00AA00"},
    ("PATCH", "/v1/tags/{tag_id}"): {"name": "Taken over", "color": "#000000"},
    ("POST", "/v1/customers/{customer_id}/merge"): {"source_id": "5d0c8c43-0000-4000-8000-000000000001"},
}
# Bodies that list A's ids: the route is keyed by them, and ids in a body that are not the
# caller's are a 422, the same answer as for ids that exist nowhere.
BODY_KEYED: dict[tuple[str, str], Callable[[Seeded], dict[str, Any]]] = {
    ("POST", "/v1/customers/bulk-tags"): lambda a: {"customer_ids": [a.customer_id], "add": [a.tag_id]},
}
TIMELINE_LISTS = {
    ("GET", "/v1/customers/{customer_id}/conversations"),
    ("GET", "/v1/customers/{customer_id}/escalations"),
}


@dataclass(frozen=True)
class Case:
    """One route, filled with A's values (`target`) and with values that exist nowhere (`nowhere`)."""

    method: str
    path: str
    target: str
    nowhere: str
    query: dict[str, str]
    query_nowhere: dict[str, str]
    body: dict[str, Any] | None
    body_nowhere: dict[str, Any] | None
    keyed: bool
    expected: int  # what B gets for A's ids


def v1_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every /v1 route the app serves, whether or not the OpenAPI shows it."""
    routes: set[tuple[str, str]] = set()
    for route in iter_route_contexts(app.routes):
        path = route.path_format or ""
        if path == "/v1" or path.startswith("/v1/"):
            routes |= {(method, path) for method in route.methods or () if method != "HEAD"}
    return routes


def build_cases(app: FastAPI, a: Seeded) -> tuple[list[Case], list[str]]:
    """The matrix, and what it cannot fill (each a reason the suite must fail)."""
    openapi = app.openapi()
    documented = {
        (method.upper(), path): operation
        for path, operations in openapi["paths"].items()
        for method, operation in operations.items()
    }
    cases: list[Case] = []
    unknown: list[str] = []
    for method, path in sorted(v1_routes(app)):
        operation = documented.get((method, path))
        if operation is None:
            unknown.append(f"{method} {path}: not in the OpenAPI, its parameters are unknown")
            continue
        target, nowhere, keyed = path, path, False
        query: dict[str, str] = {}
        query_nowhere: dict[str, str] = {}
        for parameter in operation.get("parameters", []):
            name, where = parameter["name"], parameter["in"]
            if where == "path":
                if name not in PATH_VALUES:
                    unknown.append(f"{method} {path}: no value for path parameter {name!r}")
                    continue
                target = target.replace("{" + name + "}", PATH_VALUES[name](a))
                nowhere = nowhere.replace("{" + name + "}", str(uuid.uuid4()))
                keyed = True
            elif where == "query" and parameter.get("required"):
                if name not in QUERY_VALUES:
                    unknown.append(f"{method} {path}: no value for required query parameter {name!r}")
                    continue
                query[name] = QUERY_VALUES[name](a)
                query_nowhere[name] = NOWHERE.get(name, query[name])
                keyed = keyed or name in IDENTIFYING_QUERY
        body = BODIES.get((method, path))
        body_nowhere, expected = body, 404
        listing = BODY_KEYED.get((method, path))
        if listing is not None:
            ids_nowhere = Seeded(**{name: str(uuid.uuid4()) for name in Seeded.__dataclass_fields__})
            body, body_nowhere, keyed, expected = listing(a), listing(ids_nowhere), True, 422
        if "requestBody" in operation and body is None:
            unknown.append(f"{method} {path}: no example body")
        cases.append(
            Case(method, path, target, nowhere, query, query_nowhere, body, body_nowhere, keyed, expected)
        )
    return cases, unknown


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    headers: Mapping[str, str],
    *,
    query: Mapping[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> tuple[int, str, bytes]:
    """Status, content type and body; an event stream is left unread (it never ends)."""
    async with client.stream(method, url, headers=headers, params=query, json=body) as response:
        content_type = response.headers.get("content-type", "")
        content = b"" if content_type.startswith("text/event-stream") else await response.aread()
        return response.status_code, content_type, content


async def seed_workspace_a(gateway: RunningGateway, js: JetStreamContext) -> Seeded:
    """A customer with a conversation, an escalation, a note and a tag, all with unique markers."""
    ws = new_workspace()
    marker = uuid.uuid4().hex[:8]
    conversation, escalation = f"conv-{marker}", f"esc-{marker}"

    def ev(**fields: Any) -> dict[str, Any]:
        return connector_event("whatsapp", A_PHONE, **fields)

    await publish_event(js, ws, "contact.seen", ev(display_name=f"Alpha {marker}"))
    await publish_event(js, ws, "conversation.started", ev(conversation_id=conversation))
    await publish_event(
        js,
        ws,
        "conversation.escalated",
        ev(conversation_id=conversation, escalation_id=escalation, reason="asked for a human"),
    )
    customer_id = str(customer_id_for(ws, "whatsapp", A_PHONE))
    client, agent, admin = gateway.client, auth(ws, **AUTHOR), auth(ws, role="admin", sub="admin-a")

    async def escalated() -> bool:
        response = await client.get(f"/v1/customers/{customer_id}/escalations", headers=agent)
        return response.status_code == 200 and bool(response.json()["items"])

    await wait_for(escalated, timeout=30, what="A's escalation in the timeline")

    note_text = f"alpha note {marker}"

    async def note_added() -> dict[str, Any] | None:
        # 404 until the notes service has heard of the customer; a refused write creates nothing.
        response = await client.post(
            f"/v1/customers/{customer_id}/notes", json={"text": note_text}, headers=agent
        )
        return response.json() if response.status_code == 201 else None

    note = await wait_for(note_added, timeout=30, what="A's note")
    tag_name = f"alpha-tag-{marker}"
    tag = await client.post("/v1/tags", json={"name": tag_name, "color": "#123456"}, headers=admin)
    assert tag.status_code == 201, tag.text
    name = f"Alpha Customer {marker}"
    edited = await client.patch(
        f"/v1/customers/{customer_id}",
        json={"name": name, "tag_ids": [tag.json()["id"]]},
        headers=agent,
    )
    assert edited.status_code == 200, edited.text
    # Another customer of A, erased: the erasure is A's to follow.
    gone = await publish_customer(gateway, js, ws, "+971505550000")
    erasure = await client.delete(f"/v1/customers/{gone}", headers=admin)
    assert erasure.status_code == 202, erasure.text
    return Seeded(
        workspace=ws,
        customer_id=customer_id,
        customer_name=name,
        note_id=note["id"],
        note_text=note_text,
        tag_id=tag.json()["id"],
        tag_name=tag_name,
        conversation_id=conversation,
        escalation_id=escalation,
        erasure_id=erasure.json()["erasure_id"],
    )


async def publish_customer(gateway: RunningGateway, js: JetStreamContext, ws: str, phone: str) -> str:
    """A WhatsApp customer of the workspace, once the profile service has it; its id."""
    await publish_event(js, ws, "contact.seen", connector_event("whatsapp", phone, display_name="Beta"))
    customer_id = str(customer_id_for(ws, "whatsapp", phone))
    admin = auth(ws, role="admin", sub="admin-b")

    async def created() -> bool:
        response = await gateway.client.get(f"/v1/customers/{customer_id}", headers=admin)
        return response.status_code == 200

    await wait_for(created, timeout=30, what="the customer created")
    return customer_id


async def seed_workspace_b(gateway: RunningGateway, js: JetStreamContext) -> tuple[str, str, str]:
    """Workspace B with a customer and a tag of its own: (workspace, customer id, tag id)."""
    ws = new_workspace()
    customer_id = await publish_customer(gateway, js, ws, B_PHONE)
    admin = auth(ws, role="admin", sub="admin-b")
    tag = await gateway.client.post("/v1/tags", json={"name": "beta", "color": "#654321"}, headers=admin)
    assert tag.status_code == 201, tag.text
    return ws, customer_id, tag.json()["id"]


def test_every_v1_route_is_in_the_matrix() -> None:
    """Without servers: every /v1 route can be filled, and the matrix covers all of them."""
    app = create_app(GatewaySettings(jwt_secret=JWT_SECRET))
    a = Seeded(**{name: "x" for name in Seeded.__dataclass_fields__})
    cases, unknown = build_cases(app, a)
    assert not unknown, "routes the isolation matrix cannot fill:\n" + "\n".join(unknown)
    assert {(c.method, c.path) for c in cases} == v1_routes(app)
    assert set(BODIES) | set(BODY_KEYED) <= v1_routes(app), "example bodies for routes that no longer exist"
    assert v1_routes(app) >= TIMELINE_LISTS


async def test_another_workspace_sees_none_of_a_workspaces_data(
    unlimited_gateway: RunningGateway, js: JetStreamContext
) -> None:
    gateway = unlimited_gateway
    client = gateway.client
    a = await seed_workspace_a(gateway, js)
    b_ws, b_customer, b_tag = await seed_workspace_b(gateway, js)
    a_agent, b_admin = auth(a.workspace, **AUTHOR), auth(b_ws, role="admin", sub="admin-b")
    a_admin = auth(a.workspace, role="admin", sub="admin-a")

    cases, unknown = build_cases(gateway.app, a)
    assert not unknown, "routes the isolation matrix cannot fill:\n" + "\n".join(unknown)
    problems: list[str] = []
    for case in cases:
        label = f"{case.method} {case.path}"
        if case.keyed and case.method == "GET":
            # Control: the ids are A's and A reads them, so a 404 for B is isolation, not a typo.
            status, _, content = await send(client, "GET", case.target, a_admin, query=case.query)
            if status != 200:
                problems.append(f"{label}: A itself gets {status} {content[:200]!r}")
        status, content_type, content = await send(
            client, case.method, case.target, b_admin, query=case.query, body=case.body
        )
        leaked = [marker for marker in a.markers() if marker in content.decode(errors="replace")]
        if leaked:
            problems.append(f"{label}: B's answer ({status}) shows A's {leaked}")
        if not case.keyed:
            if not 200 <= status < 300:
                problems.append(f"{label}: B gets {status} {content[:200]!r} for its own workspace")
            continue
        same = await send(
            client, case.method, case.nowhere, b_admin, query=case.query_nowhere, body=case.body_nowhere
        )
        if (status, content_type, content) != same:
            problems.append(
                f"{label}: A's ids answer {status} {content[:200]!r}, ids that exist nowhere "
                f"{same[0]} {same[2][:200]!r}"
            )
        if status != case.expected or not content_type.startswith("application/problem+json"):
            problems.append(f"{label}: B gets {status} ({content_type}), expected {case.expected}")
    assert not problems, "\n".join(problems)

    # B's own lists hold exactly B's data, however B filters them by A's data.
    grid = (await client.get("/v1/customers", headers=b_admin)).json()["items"]
    assert [item["id"] for item in grid] == [b_customer]
    tags = (await client.get("/v1/tags", headers=b_admin)).json()["items"]
    assert sorted(t["name"] for t in tags) == ["B's own tag", "beta"] and b_tag in {t["id"] for t in tags}
    for query in ({"tag": a.tag_id}, {"q": a.customer_name}, {"q": A_PHONE}):
        response = await client.get("/v1/customers", params=query, headers=b_admin)
        assert response.status_code == 200 and response.json()["items"] == [], (query, response.text)
    # Tag names are unique per workspace, not across workspaces.
    same_name = await client.post("/v1/tags", json={"name": a.tag_name, "color": "#111111"}, headers=b_admin)
    assert same_name.status_code == 201, same_name.text
    assert same_name.json()["id"] != a.tag_id

    # None of B's writes reached A.
    view = (await client.get(f"/v1/customers/{a.customer_id}", headers=a_agent)).json()
    assert view["profile"]["name"] == a.customer_name
    assert view["profile"]["agent_instructions"] is None
    assert [(t["id"], t["name"]) for t in view["profile"]["tags"]] == [(a.tag_id, a.tag_name)]
    assert view["counts"] == {"notes": 1, "conversations": 1, "escalations": 1}
    notes = (await client.get(f"/v1/customers/{a.customer_id}/notes", headers=a_agent)).json()
    assert [n["id"] for day in notes["days"] for n in day["notes"]] == [a.note_id]
    a_tags = (await client.get("/v1/tags", headers=a_agent)).json()["items"]
    assert [(t["id"], t["name"]) for t in a_tags] == [(a.tag_id, a.tag_name)]
    history = (await client.get(f"/v1/customers/{a.customer_id}/history", headers=a_agent)).json()
    assert {change["actor"]["id"] for change in history["items"] if change["actor"]} == {"agent-a"}


async def test_only_a_notes_author_deletes_it(gateway: RunningGateway, js: JetStreamContext) -> None:
    a = await seed_workspace_a(gateway, js)
    url = f"/v1/customers/{a.customer_id}/notes/{a.note_id}"

    for headers in (
        auth(a.workspace, role="admin", sub="admin-a"),  # admins included
        auth(a.workspace, role="agent", sub="agent-a2"),
        auth(a.workspace, role="agent", sub="agent-a3", name=AUTHOR["name"]),  # same name, other user
    ):
        response = await gateway.client.delete(url, headers=headers)
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    # The author's user id in another workspace is another user.
    elsewhere = await gateway.client.delete(url, headers=auth(new_workspace(), **AUTHOR))
    assert elsewhere.status_code == 404, elsewhere.text

    author = auth(a.workspace, **AUTHOR)
    notes_url = f"/v1/customers/{a.customer_id}/notes"
    kept = (await gateway.client.get(notes_url, headers=author)).json()
    assert [n["id"] for day in kept["days"] for n in day["notes"]] == [a.note_id]

    assert (await gateway.client.delete(url, headers=author)).status_code == 204
    assert (await gateway.client.get(notes_url, headers=author)).json()["days"] == []
    assert (await gateway.client.delete(url, headers=author)).status_code == 404


async def test_timeline_lists_answer_404_for_a_customer_that_exists_nowhere(gateway: RunningGateway) -> None:
    headers = auth(new_workspace())
    statuses = {}
    for method, path in sorted(TIMELINE_LISTS):
        response = await gateway.client.request(
            method, path.replace("{customer_id}", str(uuid.uuid4())), headers=headers
        )
        statuses[path] = response.status_code
    assert set(statuses.values()) == {404}, statuses
