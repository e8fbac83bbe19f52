"""A minimal service built on the shared runtime, to prove the consumer base and outbox relay."""

from collections import Counter
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from shared.config import ServiceSettings
from shared.consumer import Delivery, connector_consumer
from shared.db import Connection
from shared.errors import NotFound
from shared.events import ConnectorEvent, ContactSeen, EventType, ServiceInterface
from shared.messages import WorkspaceRequest
from shared.nats import StreamSpec
from shared.outbox import enqueue
from shared.rpc import Empty, Operation, call
from shared.runtime import Deps, ServiceDefinition, plain_context, route
from shared.subjects import CHAT_STREAM, CHAT_SUBJECTS

Context = Deps[ServiceSettings]

# Names that make the handler fail: a test flips `healed` to let a replay succeed.
POISON = {"poison"}
healed: set[str] = set()
# A name "needs:<operation>" makes the handler call that operation of a "helper" service first,
# as a handler that depends on another service would; attempts are counted by name.
attempts: Counter[str] = Counter()


class ContactApplied(BaseModel):
    """The probe applied a connector event."""

    source_event_id: str


CONTACT_APPLIED = EventType("probe", "contact.applied", ContactApplied, "a contact.seen was applied")


class Echo(WorkspaceRequest):
    """Say something back; `fail` names a failure to report instead."""

    model_config = ConfigDict(extra="allow")

    fail: str | None = None


class Echoed(BaseModel):
    """What the probe heard."""

    echo: dict[str, object]


ECHO = Operation("probe", "echo", Echo, Echoed, "say it back")
# Whatever operation of the "helper" service a contact's name asks for (its NATS permission).
HELPER = Operation("helper", "*", Empty, Empty, "any operation of a helper service")


def _name(delivery: Delivery[ConnectorEvent]) -> str:
    assert isinstance(delivery.event, ContactSeen)
    return delivery.event.display_name or ""


def _check(delivery: Delivery[ConnectorEvent]) -> None:
    name = _name(delivery)
    if name in POISON and name not in healed:
        raise RuntimeError("poison event")


async def _announce(conn: Connection, delivery: Delivery[ConnectorEvent]) -> None:
    await enqueue(
        conn, CONTACT_APPLIED, delivery.workspace, ContactApplied(source_event_id=delivery.event_id)
    )


async def apply_contact(conn: Connection, delivery: Delivery[ConnectorEvent]) -> None:
    """Record the event (and announce it through the outbox) unless it is poison."""
    _check(delivery)
    await conn.execute(
        "INSERT INTO applied (event_id, workspace, name) VALUES ($1, $2, $3)",
        delivery.event_id,
        delivery.workspace,
        _name(delivery),
    )
    await _announce(conn, delivery)


async def apply_contacts(conn: Connection, deliveries: list[Delivery[ConnectorEvent]]) -> None:
    """Record a batch with one statement, noting its size; a poison event fails the whole batch."""
    for delivery in deliveries:
        _check(delivery)
    await conn.execute(
        "INSERT INTO applied (event_id, workspace, name, batch_size) "
        "SELECT unnest($1::text[]), unnest($2::text[]), unnest($3::text[]), $4",
        [d.event_id for d in deliveries],
        [d.workspace for d in deliveries],
        [_name(d) for d in deliveries],
        len(deliveries),
    )
    for delivery in deliveries:
        await _announce(conn, delivery)


async def _call_needed(ctx: Context, deliveries: list[Delivery[ConnectorEvent]]) -> None:
    for delivery in deliveries:
        name = _name(delivery)
        if name.startswith("needs:"):
            attempts[name] += 1
            helper = Operation("helper", name.removeprefix("needs:"), Empty, Empty, "a dependency")
            await call(ctx.nc, helper, Empty(), timeout=1.0)


async def handle(ctx: Context, conn: Connection, delivery: Delivery[ConnectorEvent]) -> None:
    """Apply one contact.seen, after the helper call its name asks for."""
    await _call_needed(ctx, [delivery])
    await apply_contact(conn, delivery)


async def handle_batch(ctx: Context, conn: Connection, deliveries: list[Delivery[ConnectorEvent]]) -> None:
    """Apply a batch of contact.seen events."""
    await _call_needed(ctx, deliveries)
    await apply_contacts(conn, deliveries)


async def echo(_ctx: Context, request: Echo) -> Echoed:
    """Say the request back, or report the failure it asks for."""
    if request.fail == "not_found":
        raise NotFound("no such thing")
    return Echoed(echo=request.model_dump(exclude={"fail"}))


definition: ServiceDefinition[ServiceSettings, Context] = ServiceDefinition(
    interface=ServiceInterface("probe", "Proves the shared runtime.", emits=(CONTACT_APPLIED,)),
    settings=ServiceSettings,
    migrations_folder=Path(__file__).parent / "migrations",
    context=plain_context,
    routes=[route(ECHO, echo)],
    consumers=[connector_consumer("probe-contacts", ["contact.seen"], handle, handle_batch=handle_batch)],
    declares=(StreamSpec(CHAT_STREAM, [CHAT_SUBJECTS]),),
    calls=(HELPER,),
)
