"""Schemathesis against the gateway's own OpenAPI, over real HTTP, with valid tokens.

Every operation (but the never-ending event stream) is fuzzed twice per generation mode: once with
generated path parameters (mostly ids that exist nowhere) and once pinned to the ids of a seeded
customer, its note and a tag, so that success answers are checked against their schemas too.
Checks: no 5xx, and every answer conforms to the schema the OpenAPI declares for its status.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from nats.js import JetStreamContext
from schemathesis.checks import not_a_server_error
from schemathesis.config import CacheConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.runtime import ServiceRuntime
from tests.conftest import RunningGateway
from tests.gateway.test_view import seed_customer, view_when
from tests.support import auth, new_workspace, wait_for

GatewayStarter = Callable[..., Awaitable[RunningGateway]]
AllStarter = Callable[..., Awaitable[dict[str, ServiceRuntime]]]

# Examples per operation, generation mode and parameter source (generated or pinned): about 1,000
# requests in all. A run of 250 (about 10,000 requests, 5 minutes) found nothing more.
MAX_EXAMPLES = 25
# The live-updates stream never ends; the dashboard's routes are not in the schema.
EXCLUDED_PATH = r"/events$"
SEED = 20240609


@dataclass
class Outcome:
    """What the run did: requests per status, and the failures it found."""

    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)


def fuzz(
    base_url: str,
    headers: dict[str, str],
    pinned: dict[str, str],
    query: dict[str, dict[str, str]],
    pinned_for: dict[str, dict[str, str]],
) -> Outcome:
    """Run every operation of the schema served at base_url; blocking (runs in a worker thread).

    `pinned_for` pins other ids for some operations (by label), such as a customer of its own
    for the erasure, which leaves the others' pinned customer alone.
    """
    schema = schemathesis.openapi.from_url(
        f"{base_url}/openapi.json",
        config=schemathesis.Config(seed=SEED, cache=CacheConfig(enabled=False)),
        timeout=10,
    ).exclude(path_regex=EXCLUDED_PATH)
    outcome = Outcome()
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            outcome.failures.append(f"the OpenAPI does not parse: {result.err()}")
            continue
        operation = result.ok()
        outcome.operations.append(operation.label)
        path_parameters = {k: v for k, v in pinned.items() if "{" + k + "}" in operation.path}
        path_parameters |= pinned_for.get(operation.label, {})
        fixed_query = query.get(operation.path)
        sources: list[dict[str, Any]] = [{}]
        if path_parameters or fixed_query:
            sources.append({"path_parameters": path_parameters or None, "query": fixed_query})
        free_query = [p.name for p in operation.query if p.name not in (fixed_query or {})]
        # Negative data needs something to break: a body or a query parameter (paths are any string).
        modes = [schemathesis.GenerationMode.POSITIVE]
        if free_query or len(operation.body):
            modes.append(schemathesis.GenerationMode.NEGATIVE)
        for mode in modes:
            for source in sources:
                strategy = operation.as_strategy(generation_mode=mode, **source)

                @settings(
                    max_examples=MAX_EXAMPLES,
                    derandomize=True,
                    database=None,
                    deadline=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=strategy)
                def run(case: schemathesis.Case[Any]) -> None:
                    response = case.call_and_validate(base_url=base_url, headers=headers, checks=checks)
                    outcome.statuses[response.status_code] = outcome.statuses.get(response.status_code, 0) + 1

                # A failed check (FailureGroup is a BaseExceptionGroup) or an impossible strategy:
                # record it and go on, so that one run reports every operation that fails.
                try:
                    run()
                except (Exception, FailureGroup) as exc:
                    label = f"{operation.label} [{mode.value}{', pinned ids' if source else ''}]"
                    outcome.failures.append(f"{label}: {exc}")
    return outcome


async def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(
    start_all_services: AllStarter, start_gateway: GatewayStarter, js: JetStreamContext
) -> None:
    await start_all_services()
    gateway = await start_gateway(rate_limit_per_second=1_000_000)
    ws = new_workspace()
    admin = auth(ws, role="admin")
    customer_id = await seed_customer(js, ws)

    async def note_added() -> dict[str, Any] | None:
        # 404 until the notes service has heard of the customer; a refused write creates nothing.
        response = await gateway.client.post(
            f"/v1/customers/{customer_id}/notes", json={"text": "VIP"}, headers=admin
        )
        return response.json() if response.status_code == 201 else None

    note = await wait_for(note_added, timeout=30, what="a note on the seeded customer")
    tag = await gateway.client.post("/v1/tags", json={"name": "Gold", "color": "#FFD700"}, headers=admin)
    assert tag.status_code == 201, tag.text
    # Two more customers: one erased before the run (its erasure is pinned), one for the run to erase.
    erased, doomed = (
        await seed_customer(js, ws, "+971505550001"),
        await seed_customer(js, ws, "+971505550002"),
    )
    for other in (erased, doomed):
        await view_when(gateway.client, ws, other, lambda v: v["header"] is not None, "another customer")
    erasure = await gateway.client.delete(f"/v1/customers/{erased}", headers=admin)
    assert erasure.status_code == 202, erasure.text

    outcome = await asyncio.to_thread(
        fuzz,
        gateway.url,
        admin,
        {
            "customer_id": customer_id,
            "note_id": note["id"],
            "tag_id": tag.json()["id"],
            "erasure_id": erasure.json()["erasure_id"],
        },
        {"/v1/agent-context": {"platform": "whatsapp", "platform_user_id": "+971501234567"}},
        {"DELETE /v1/customers/{customer_id}": {"customer_id": doomed}},
    )

    assert not outcome.failures, "\n\n".join(outcome.failures)
    documented = set((await gateway.client.get("/openapi.json")).json()["paths"])
    assert {label.split(" ", 1)[1] for label in outcome.operations} == documented - {
        "/v1/customers/{customer_id}/events"
    }
    # The pinned ids reached real data: success answers were checked, not only errors.
    assert {200, 201, 202, 204, 404, 422} <= set(outcome.statuses), outcome.statuses
    assert sum(outcome.statuses.values()) >= len(outcome.operations) * MAX_EXAMPLES, outcome.statuses
    assert not [status for status in outcome.statuses if status >= 500], outcome.statuses
