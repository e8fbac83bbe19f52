"""NATS side of the notes service: decode, call the use case, encode (the runtime validates)."""

import datetime as dt
import uuid

from services.notes import usecases
from services.notes.config import Settings
from shared.consumer import Delivery, Subscribing, event_consumer
from shared.db import Connection
from shared.errors import Unavailable
from shared.events import Event
from shared.messages import notes, profile
from shared.rpc import ServiceUnavailable, call
from shared.runtime import Deps, Route, reading, route, writing

Context = Deps[Settings]

CUSTOMERS_DURABLE = "notes-customers"


async def record_customer(
    _ctx: Context, conn: Connection, delivery: Delivery[Event[profile.CustomerCreated]]
) -> None:
    """Learn a customer id from the profile service's customer.created event."""
    created = delivery.event.data
    await usecases.record_customer(conn, delivery.workspace, created.customer_id, created.created_at)


CONSUMERS: list[Subscribing[Context]] = [
    event_consumer(CUSTOMERS_DURABLE, profile.CUSTOMER_CREATED, record_customer),
    *usecases.CUSTOMER_DATA.consumers(),
]


def _profile_of(ctx: Context) -> usecases.CustomerSource:
    async def created_at(workspace: str, customer_id: uuid.UUID) -> dt.datetime:
        try:
            found = await call(
                ctx.nc,
                profile.GET_CUSTOMER,
                profile.GetCustomer(workspace=workspace, customer_id=customer_id),
                timeout=ctx.settings.profile_timeout_seconds,
            )
        except ServiceUnavailable:
            raise Unavailable("the profile service did not answer") from None
        return found.header.created_at

    return created_at


async def add_note(ctx: Context, request: notes.AddNote) -> notes.Note:
    """Store a note and announce it; NotFound for a customer unknown in the workspace."""
    async with ctx.pool.acquire() as conn:
        return await usecases.add_note(conn, request, _profile_of(ctx))


async def list_notes(ctx: Context, request: notes.ListNotes) -> notes.NotesPage:
    """A page of notes grouped by day."""
    async with ctx.pool.acquire() as conn:
        return await usecases.list_notes(conn, request, _profile_of(ctx))


ROUTES: list[Route[Context]] = [
    route(notes.ADD_NOTE, add_note),
    route(notes.LIST_NOTES, list_notes),
    writing(notes.DELETE_NOTE, usecases.delete_note),
    reading(notes.COUNT_NOTES, usecases.count_notes),
]
