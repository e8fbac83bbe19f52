"""GET /v1/customers/{id}/export: everything the system holds about one customer (CONTRACT.md §7)."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from gateway.auth import AdminPrincipal
from gateway.clients import ServiceClient
from gateway.deps import CustomerId, RequestId, Services
from gateway.errors import Problem
from gateway.routes.customer_view import ProfileView
from gateway.view import assemble_view
from shared.events import utcnow
from shared.messages import notes, timeline

router = APIRouter(tags=["identity"])

# Items asked per page of each list, and conversations whose messages are read at once.
PAGE = 100
MESSAGE_READS = 8

T = TypeVar("T")


class ExportedConversation(timeline.ConversationItem):
    """A conversation with every one of its messages, oldest first."""

    messages: list[timeline.MessageItem]


class CustomerExport(BaseModel):
    """Everything held about a customer: the profile view, every note, every conversation with its
    messages, every escalation; no paging."""

    exported_at: datetime
    customer: ProfileView
    notes: list[notes.Note]
    conversations: list[ExportedConversation]
    escalations: list[timeline.EscalationItem]


async def every(page: Callable[[str | None], Awaitable[tuple[list[T], str | None]]]) -> list[T]:
    """Every item of a paged list: `page(cursor)` answers (items, next cursor)."""
    items: list[T] = []
    cursor: str | None = None
    while True:
        found, cursor = await page(cursor)
        items += found
        if cursor is None:
            return items


class _Reader:
    """Reads one customer's lists from the services, page by page."""

    def __init__(
        self, services: ServiceClient, workspace: str, customer_id: uuid.UUID, request_id: str
    ) -> None:
        self.services = services
        self.workspace = workspace
        self.customer_id = customer_id
        self.request_id = request_id
        self._reads = asyncio.Semaphore(MESSAGE_READS)

    async def notes(self) -> list[notes.Note]:
        async def page(cursor: str | None) -> tuple[list[notes.Note], str | None]:
            request = notes.ListNotes(
                workspace=self.workspace, customer_id=self.customer_id, limit=PAGE, cursor=cursor
            )
            found = await self.services.call(notes.LIST_NOTES, request, request_id=self.request_id)
            return [note for day in found.days for note in day.notes], found.next_cursor

        return await every(page)

    async def conversations(self) -> list[ExportedConversation]:
        async def page(cursor: str | None) -> tuple[list[timeline.ConversationItem], str | None]:
            request = timeline.ListConversations(
                workspace=self.workspace, customer_id=self.customer_id, limit=PAGE, cursor=cursor
            )
            found = await self.services.call(timeline.LIST_CONVERSATIONS, request, request_id=self.request_id)
            return found.items, found.next_cursor

        listed = await every(page)
        return list(await asyncio.gather(*(self._with_messages(item) for item in listed)))

    async def _with_messages(self, conversation: timeline.ConversationItem) -> ExportedConversation:
        async def page(cursor: str | None) -> tuple[list[timeline.MessageItem], str | None]:
            request = timeline.ListMessages(
                workspace=self.workspace, conversation_id=conversation.id, cursor=cursor
            )
            found = await self.services.call(timeline.LIST_MESSAGES, request, request_id=self.request_id)
            return found.items, found.next_cursor

        async with self._reads:
            messages = await every(page)
        return ExportedConversation(**conversation.model_dump(), messages=messages)

    async def escalations(self) -> list[timeline.EscalationItem]:
        async def page(cursor: str | None) -> tuple[list[timeline.EscalationItem], str | None]:
            request = timeline.ListEscalations(
                workspace=self.workspace, customer_id=self.customer_id, limit=PAGE, cursor=cursor
            )
            found = await self.services.call(timeline.LIST_ESCALATIONS, request, request_id=self.request_id)
            return found.items, found.next_cursor

        return await every(page)


@router.get("/v1/customers/{customer_id:uuid}/export")
async def export_customer(
    customer_id: CustomerId,
    principal: AdminPrincipal,
    services: Services,
    request_id: RequestId,
    request: Request,
    response: Response,
) -> CustomerExport:
    """Everything held about the customer, as one JSON document (admins only).

    A service that does not answer makes the export fail (503) rather than leave part out.
    """
    exported_at = utcnow()
    view = await assemble_view(
        services,
        principal.workspace,
        customer_id,
        request_id,
        timeout=request.app.state.settings.service_timeout,
    )
    if view["unavailable"]:
        raise Problem(503, f"not every service answered ({', '.join(view['unavailable'])}): nothing exported")
    reader = _Reader(services, principal.workspace, customer_id, request_id)
    held_notes, conversations, escalations = await asyncio.gather(
        reader.notes(), reader.conversations(), reader.escalations()
    )
    response.headers["Content-Disposition"] = f'attachment; filename="customer-{customer_id}.json"'
    return CustomerExport(
        exported_at=exported_at,
        customer=ProfileView.model_validate(view),
        notes=held_notes,
        conversations=conversations,
        escalations=escalations,
    )
