"""A minimal service built on the shared runtime, to prove the consumer base and outbox relay."""

from collections import Counter
from pathlib import Path

from nats.aio.client import Client as NATS

from shared.consumer import ConsumerSpec, Delivery
from shared.db import Connection
from shared.nats import StreamSpec
from shared.outbox import enqueue
from shared.rpc import RpcError, request
from shared.runtime import Deps, RpcRoute, ServiceDefinition, Wiring
from shared.subjects import CHAT_STREAM, CHAT_SUBJECTS, rpc_subject

# Names that make the handler fail: a test flips `healed` to let a replay succeed.
POISON = {"poison"}
healed: set[str] = set()
# A name "needs:<operation>" makes the handler call that operation of a "helper" service first,
# as a handler that depends on another service would; attempts are counted by name.
attempts: Counter[str] = Counter()


def _check(delivery: Delivery) -> None:
    name = delivery.event.display_name
    if name in POISON and name not in healed:
        raise RuntimeError("poison event")


async def _announce(conn: Connection, delivery: Delivery) -> None:
    await enqueue(
        conn,
        service="probe",
        workspace=delivery.workspace,
        event_type="contact.applied",
        data={"source_event_id": delivery.event_id},
    )


async def apply_contact(conn: Connection, delivery: Delivery) -> None:
    """Record the event (and announce it through the outbox) unless it is poison."""
    _check(delivery)
    await conn.execute(
        "INSERT INTO applied (event_id, workspace, name) VALUES ($1, $2, $3)",
        delivery.event_id,
        delivery.workspace,
        delivery.event.display_name,
    )
    await _announce(conn, delivery)


async def apply_contacts(conn: Connection, deliveries: list[Delivery]) -> None:
    """Record a batch with one statement, noting its size; a poison event fails the whole batch."""
    for delivery in deliveries:
        _check(delivery)
    await conn.execute(
        "INSERT INTO applied (event_id, workspace, name, batch_size) "
        "SELECT unnest($1::text[]), unnest($2::text[]), unnest($3::text[]), $4",
        [d.event_id for d in deliveries],
        [d.workspace for d in deliveries],
        [d.event.display_name for d in deliveries],
        len(deliveries),
    )
    for delivery in deliveries:
        await _announce(conn, delivery)


async def _call_needed(nc: NATS, deliveries: list[Delivery]) -> None:
    for delivery in deliveries:
        name = delivery.event.display_name
        if name.startswith("needs:"):
            attempts[name] += 1
            await request(nc, rpc_subject("helper", name.removeprefix("needs:")), {}, timeout=1.0)


def build(deps: Deps) -> Wiring:
    """One consumer of contact.seen events and one echo operation."""

    async def handle(conn: Connection, delivery: Delivery) -> None:
        await _call_needed(deps.nc, [delivery])
        await apply_contact(conn, delivery)

    async def handle_batch(conn: Connection, deliveries: list[Delivery]) -> None:
        await _call_needed(deps.nc, deliveries)
        await apply_contacts(conn, deliveries)

    async def echo(payload: dict[str, object], subject: str) -> dict[str, object]:
        if payload.get("fail") == "not_found":
            raise RpcError("not_found", "no such thing")
        return {"echo": payload, "subject": subject}

    return Wiring(
        consumers=[
            ConsumerSpec(
                durable="probe-contacts",
                stream=CHAT_STREAM,
                subjects=["chat.v1.*.contact.seen"],
                handle=handle,
                handle_batch=handle_batch,
            )
        ],
        routes=[RpcRoute(rpc_subject("probe", "echo"), echo)],
    )


definition = ServiceDefinition(
    name="probe",
    migrations=Path(__file__).parent / "migrations",
    build=build,
    declares=(StreamSpec(CHAT_STREAM, [CHAT_SUBJECTS]),),
)
