"""The AsyncAPI documents: current with the code, valid for the AsyncAPI parser, true to the traffic."""

import json
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from services.insights.reanalyse import request_reanalysis
from shared.asyncapi import document, render
from shared.registry import SERVICES, definitions
from shared.runtime import ServiceRuntime
from tests.conftest import RunningGateway
from tests.gateway.support import seed_customer, view_when
from tests.support import auth, new_workspace, wait_for

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "asyncapi"
NODE_MODULES = ROOT / ".tools" / "node" / "node_modules"


@pytest.mark.parametrize("definition", definitions(), ids=lambda d: d.name)
def test_committed_document_is_current(definition: Any) -> None:
    assert (DOCS / f"{definition.name}.json").read_text() == render(definition), (
        f"docs/asyncapi/{definition.name}.json is stale: run `make docs`"
    )


def test_every_document_parses_with_the_asyncapi_parser() -> None:
    assert shutil.which("node"), "node is needed to run the AsyncAPI parser"
    assert (NODE_MODULES / "@asyncapi" / "parser").is_dir(), "run `make install` for the AsyncAPI parser"
    files = sorted(str(path) for path in DOCS.glob("*.json"))
    assert len(files) == len(SERVICES)
    run = subprocess.run(
        ["node", str(Path(__file__).with_name("validate_asyncapi.cjs")), str(NODE_MODULES), *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(run.stdout) == {file: [] for file in files}


def test_the_agent_context_subject_of_the_contract_is_documented() -> None:
    profile = document(next(d for d in definitions() if d.name == "profile"))
    addresses = {channel["address"] for channel in profile["channels"].values()}
    assert "agent.v1.{workspace}.context" in addresses


def _validators() -> dict[str, Draft202012Validator]:
    """Subject pattern of every emitted event → a validator of its documented payload."""
    validators: dict[str, Draft202012Validator] = {}
    for definition in definitions():
        doc = document(definition)
        for kind in definition.interface.emits:
            channel = next(c for c in doc["channels"].values() if c["address"] == kind.subject("{workspace}"))
            payload = channel["messages"]["event"]["payload"]
            validators[kind.subject("*")] = Draft202012Validator({**payload, "components": doc["components"]})
    return validators


def _pattern_of(subject: str) -> str:
    service, _, rest = subject.partition(".v1.")
    return f"{service}.v1.*.{rest.partition('.')[2]}"


async def test_every_published_event_matches_its_document(
    start_all_services: Callable[..., Awaitable[dict[str, ServiceRuntime]]],
    start_gateway: Callable[..., Awaitable[RunningGateway]],
    nc: NATS,
    js: JetStreamContext,
) -> None:
    seen: list[Msg] = []

    async def record(msg: Msg) -> None:
        seen.append(msg)

    for interface in SERVICES:
        await nc.subscribe(f"{interface.name}.v1.>", cb=record)
    runtimes = await start_all_services()
    gateway = await start_gateway()
    ws = new_workspace()
    headers = auth(ws, role="admin")
    customer = await seed_customer(js, ws)
    await view_when(gateway.client, ws, customer, lambda v: v["ai_profile"] is not None, "analysed")
    edited = await gateway.client.patch(
        f"/v1/customers/{customer}", json={"location": "Dubai"}, headers=headers
    )
    assert edited.status_code == 200, edited.text
    tag = (
        await gateway.client.post("/v1/tags", json={"name": "VIP", "color": "#112233"}, headers=headers)
    ).json()
    await gateway.client.patch(f"/v1/tags/{tag['id']}", json={"color": "#445566"}, headers=headers)
    await gateway.client.delete(f"/v1/tags/{tag['id']}", headers=headers)
    note = (
        await gateway.client.post(f"/v1/customers/{customer}/notes", json={"text": "hi"}, headers=headers)
    ).json()
    await gateway.client.delete(f"/v1/customers/{customer}/notes/{note['id']}", headers=headers)
    insights_pool = runtimes["insights"].pool
    assert insights_pool is not None
    await request_reanalysis(insights_pool, js, workspace=ws, rate=100)
    # A duplicate merged in, then the customer erased: every service's merge and erasure events.
    duplicate = await seed_customer(js, ws, phone="+971509999999")
    await view_when(gateway.client, ws, duplicate, lambda v: v["header"] is not None, "the duplicate")
    merged = await gateway.client.post(
        f"/v1/customers/{customer}/merge", json={"source_id": duplicate}, headers=headers
    )
    assert merged.status_code == 200, merged.text
    erased = await gateway.client.delete(f"/v1/customers/{customer}", headers=headers)
    assert erased.status_code == 202, erased.text

    validators = _validators()

    async def every_type_seen() -> bool:
        return {_pattern_of(msg.subject) for msg in seen} >= set(validators)

    await wait_for(every_type_seen, timeout=30, what="every event type published")
    for msg in list(seen):
        errors = [e.message for e in validators[_pattern_of(msg.subject)].iter_errors(json.loads(msg.data))]
        assert errors == [], f"{msg.subject}: {errors}"
