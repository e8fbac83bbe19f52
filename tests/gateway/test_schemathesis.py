"""Schemathesis against the gateway's own OpenAPI, run as an outside client would run it.

The CLI (`st run`) with every check and every phase, over real HTTP, with an admin token and a fresh
random seed (printed on failure; SCHEMATHESIS_SEED=<seed> replays it). Customers come from connector
events, so they are seeded through NATS first, with notes and tags through the API; schemathesis gets
their ids as dictionaries for the path ids, the agent-context identity and a profile edit's tag ids,
so that every operation reaches real data as well as ids that exist nowhere. The one answer the
contract keeps although the document admits the request is dropped by tests/gateway/
schemathesis_hooks.py: 422 for a well-formed cursor this server never issued (CONTRACT.md §3).
"""

import asyncio
import json
import os
import re
import secrets
import sys
from functools import partial
from pathlib import Path
from typing import Any

from nats.js import JetStreamContext
from schemathesis.core.warnings import SchemathesisWarning

from shared.ids import customer_id_for
from tests.conftest import RunningGateway
from tests.gateway.support import seed_customer
from tests.support import auth, connector_event, new_workspace, publish_event, wait_for

ROOT = Path(__file__).resolve().parents[2]
# Cases per operation and phase: with the coverage phase's own, about 1,000 requests in all, a minute
# to a minute and a half on a busy two-core machine.
MAX_EXAMPLES = 20
# The live-updates stream never ends: tests/gateway/test_view.py and the e2e tests cover it.
ENDLESS = "/events$"
# Every warning fails the run but two heuristics the test checks more strictly itself: "missing test
# data" (an operation mostly 404: a deletion is, once its few targets are gone) and "validation
# mismatch" (see the [warnings] comment of the configuration). The test asserts that every operation
# accepted valid data at least once, from the report.
FAIL_ON = [
    w.value
    for w in SchemathesisWarning
    if w not in (SchemathesisWarning.VALIDATION_MISMATCH, SchemathesisWarning.MISSING_TEST_DATA)
]
IDENTITIES = {"whatsapp": "+971501234567", "instagram": "layla.h", "web": "visitor-42"}


# Lists whose cursors are given to schemathesis: operation id → path under a customer. (A grid cursor
# holds to the order it was issued for, which a drawn `sort` would not keep.)
LISTS = {
    "customer_history": "/v1/customers/{id}/history",
    "list_notes": "/v1/customers/{id}/notes",
    "list_conversations": "/v1/customers/{id}/conversations",
    "list_escalations": "/v1/customers/{id}/escalations",
}


async def seed(gateway: RunningGateway, js: JetStreamContext, ws: str) -> dict[str, list[str]]:
    """Customers on every platform, with conversations, escalations, edits, notes and tags; their
    ids and a cursor of each list, by dictionary name."""
    admin = auth(ws, role="admin")
    whatsapp = await seed_customer(js, ws, IDENTITIES["whatsapp"])
    phone = IDENTITIES["whatsapp"]
    await publish_event(
        js, ws, "conversation.started", connector_event("whatsapp", phone, conversation_id="c2")
    )
    escalated = connector_event("whatsapp", phone, conversation_id="c2", escalation_id="e2", reason="asked")
    await publish_event(js, ws, "conversation.escalated", escalated)
    customers = [whatsapp]
    for platform in ("instagram", "web"):
        pid = IDENTITIES[platform]
        await publish_event(js, ws, "contact.seen", connector_event(platform, pid, display_name=pid))
        customers.append(str(customer_id_for(ws, platform, pid)))

    async def note_on(customer: str) -> str | None:
        # 404 until the notes service has heard of the customer; a refused write creates nothing.
        response = await gateway.client.post(
            f"/v1/customers/{customer}/notes", json={"text": "VIP"}, headers=admin
        )
        return str(response.json()["id"]) if response.status_code == 201 else None

    notes = []
    for customer in customers:
        for _ in range(2):
            notes.append(await wait_for(partial(note_on, customer), timeout=30, what=f"a note on {customer}"))
    # Notes of one customer for the deletions: the path's two ids drawn apart from the shared
    # dictionaries rarely name a note and its own customer, and each note goes at its first 204.
    deletable = [
        await wait_for(partial(note_on, whatsapp), timeout=30, what="a note to delete") for _ in range(8)
    ]
    for name in ("Layla H.", "Layla Haddad"):
        edited = await gateway.client.patch(f"/v1/customers/{whatsapp}", json={"name": name}, headers=admin)
        assert edited.status_code == 200, edited.text
    tags = []
    for i in range(7):
        tag = await gateway.client.post(
            "/v1/tags", json={"name": f"Seeded {i}", "color": "#FFD700"}, headers=admin
        )
        assert tag.status_code == 201, tag.text
        tags.append(str(tag.json()["id"]))

    # Customers of their own for the operations that retire one (CONTRACT.md §7): erasing or merging
    # away the seeded ones would leave the other operations only 404s.
    doomed, sources = (
        await contacts(gateway, js, ws, "doomed", 3),
        await contacts(gateway, js, ws, "source", 3),
    )
    erased = (await contacts(gateway, js, ws, "erased", 1))[0]
    erasure = await gateway.client.delete(f"/v1/customers/{erased}", headers=admin)
    assert erasure.status_code == 202, erasure.text

    async def cursor_of(path: str) -> str | None:
        response = await gateway.client.get(path, params={"limit": 1}, headers=admin)
        return response.json()["next_cursor"] if response.status_code == 200 else None

    cursors = {
        name: [
            await wait_for(partial(cursor_of, path.format(id=whatsapp)), timeout=30, what=f"a page of {name}")
        ]
        for name, path in LISTS.items()
    }
    # Tags for edits stay out of the path dictionary: a run that deletes one would make an edit
    # naming it a 422 (not a tag of the workspace), which the document cannot say.
    return {
        "customers": customers,
        "notes": notes,
        "note_owner": [whatsapp],
        "deletable_notes": deletable,
        "path_tags": tags[:3],
        "edit_tags": tags[3:5],
        "removed_tags": tags[5:],
        "identities": list(IDENTITIES.values()),
        "doomed": doomed,
        "merge_sources": sources,
        "erasures": [str(erasure.json()["erasure_id"])],
        **{f"{name}_cursors": values for name, values in cursors.items()},
    }


async def contacts(
    gateway: RunningGateway, js: JetStreamContext, ws: str, label: str, count: int
) -> list[str]:
    """`count` web customers of their own, once the gateway shows each."""
    admin = auth(ws, role="admin")
    found = []
    for i in range(count):
        pid = f"{label}-{i}"
        await publish_event(js, ws, "contact.seen", connector_event("web", pid, display_name=pid))
        customer = str(customer_id_for(ws, "web", pid))

        async def shown(customer: str = customer) -> bool:
            response = await gateway.client.get(f"/v1/customers/{customer}", headers=admin)
            return response.status_code == 200

        await wait_for(shown, timeout=30, what=f"customer {pid}")
        found.append(customer)
    return found


def config(gateway_url: str, token: str, seed_value: int, data: dict[str, list[str]]) -> str:
    """schemathesis.toml of the run."""
    dictionaries = "".join(
        f"[dictionaries.{name}]\nvalues = {json.dumps(values)}\n\n" for name, values in data.items()
    )
    cursors = "".join(
        f'[[operations]]\ninclude-operation-id = "{name}"\n'
        f'parameters = {{ "query.cursor" = {{ dictionary = "{name}_cursors", probability = 0.5 }} }}\n\n'
        for name in LISTS
    )
    return f"""
base-url = "{gateway_url}"
seed = {seed_value}
hooks = "tests.gateway.schemathesis_hooks"
request-timeout = 15
headers = {{ Authorization = "Bearer {token}" }}

[generation]
max-examples = {MAX_EXAMPLES}
database = "none"

# Every warning fails the run but validation mismatch, a scenario whose valid cases all came back 4xx
# with some 422s, which the dropped cursor refusals make of the coverage phase's few cases (its path
# ids are drawn, so the rest are 404s), and missing test data (see FAIL_ON). Any other 422 to valid
# data fails the run as ST202 anyway.
[warnings]
fail-on = {json.dumps(FAIL_ON)}

# A stale If-Match answers 412 whatever the body: the state decides, as for a 409.
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "412", "429", "5xx"]

[parameters]
"path.customer_id" = {{ dictionary = "customers", probability = 0.7 }}
"path.note_id" = {{ dictionary = "notes", probability = 0.7 }}
"path.tag_id" = {{ dictionary = "path_tags", probability = 0.7 }}
"path.erasure_id" = {{ dictionary = "erasures", probability = 0.7 }}
"body.source_id" = {{ dictionary = "merge_sources", probability = 0.7 }}
"query.platform_user_id" = {{ dictionary = "identities", probability = 0.7 }}
"body.tag_ids[*]" = {{ dictionary = "edit_tags" }}
"body.customer_ids[*]" = {{ dictionary = "customers" }}
# A bulk edit adding and taking off one tag is refused, which no schema can say: the two draw apart.
"body.add[*]" = {{ dictionary = "edit_tags" }}
"body.remove[*]" = {{ dictionary = "removed_tags" }}

# The coverage phase draws a body's ids itself, out of every dictionary's reach: a bulk edit's boundary
# cases would only name customers and tags that exist nowhere (a 422 by contract). Fuzzing and the
# stateful phase edit the seeded ones.
[[operations]]
include-operation-id = "bulk_tags"
phases.coverage.enabled = false

# Deleting a note names a note and its customer together.
[[operations]]
include-operation-id = "delete_note"
parameters."path.customer_id" = {{ dictionary = "note_owner", probability = 0.8 }}
parameters."path.note_id" = {{ dictionary = "deletable_notes", probability = 0.8 }}

# Erasing takes customers of its own, so that the others stay for every other operation.
[[operations]]
include-operation-id = "erase_customer"
parameters = {{ "path.customer_id" = {{ dictionary = "doomed", probability = 0.7 }} }}

{dictionaries}{cursors}"""


async def test_schemathesis_with_every_check_finds_nothing(
    unlimited_gateway: RunningGateway,
    js: JetStreamContext,
    tmp_path: Path,
) -> None:
    gateway = unlimited_gateway
    ws = new_workspace()
    data = await seed(gateway, js, ws)
    seed_value = int(os.environ.get("SCHEMATHESIS_SEED") or secrets.randbelow(2**31))
    (tmp_path / "schemathesis.toml").write_text(
        config(gateway.url, auth(ws, role="admin")["Authorization"].split()[1], seed_value, data)
    )
    report = tmp_path / "report.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(tmp_path / "schemathesis.toml"),
        "run",
        f"{gateway.url}/openapi.json",
        "--checks",
        "all",
        "--exclude-path-regex",
        ENDLESS,
        "--report",
        "json",
        "--report-json-path",
        str(report),
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SCHEMATHESIS_KEEP": ",".join(data["customers"]),
            "SCHEMATHESIS_DOOMED": ",".join(data["doomed"]),
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    assert process.returncode == 0, f"schemathesis failed with seed {seed_value}:\n{text}"
    print(text)

    results: dict[str, Any] = json.loads(report.read_text())
    documented = {
        f"{method.upper()} {path}"
        for path, operations in (await gateway.client.get("/openapi.json")).json()["paths"].items()
        for method in operations
        if not re.search(ENDLESS, path)
    }
    accepted = {
        operation: sum(phase["accepted"] for phase in phases.values())
        for operation, phases in results["valid_rates"].items()
    }
    # Every operation was tested, and each reached real data at least once, not only 404s and 422s.
    assert results["operations"]["tested"] == len(documented), (seed_value, results["operations"])
    assert set(accepted) == documented, seed_value
    assert all(accepted.values()), (seed_value, accepted)
