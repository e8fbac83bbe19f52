"""A minimal service built on the shared runtime, to prove the consumer base and outbox relay."""

from pathlib import Path

from shared.consumer import ConsumerSpec, Delivery
from shared.db import Connection
from shared.nats import StreamSpec
from shared.outbox import enqueue
from shared.rpc import RpcError
from shared.runtime import Deps, RpcRoute, ServiceDefinition, Wiring
from shared.subjects import CHAT_STREAM, CHAT_SUBJECTS, rpc_subject

# Names that make the handler fail: a test flips `healed` to let a replay succeed.
POISON = {"poison"}
healed: set[str] = set()


async def apply_contact(conn: Connection, delivery: Delivery) -> None:
    """Record the event (and announce it through the outbox) unless it is poison."""
    name = delivery.event.display_name
    if name in POISON and name not in healed:
        raise RuntimeError("poison event")
    await conn.execute(
        "INSERT INTO applied (event_id, workspace, name) VALUES ($1, $2, $3)",
        delivery.event_id,
        delivery.workspace,
        name,
    )
    await enqueue(
        conn,
        service="probe",
        workspace=delivery.workspace,
        event_type="contact.applied",
        data={"source_event_id": delivery.event_id},
    )


def build(deps: Deps) -> Wiring:
    """One consumer of contact.seen events and one echo operation."""

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
                handle=apply_contact,
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
