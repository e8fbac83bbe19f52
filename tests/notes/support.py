"""Helpers of the notes tests: the running stack, customers as the profile service announces them."""

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from services.notes import repository
from shared.jsonutil import dumps
from shared.messages import profile
from shared.messages.notes import COUNT_NOTES, Author, Note
from tests.conftest import ServiceStack
from tests.support import assert_problem, call_json, wait_for


class NotesStack(ServiceStack):
    """The notes service and a gateway on the test's servers."""

    @property
    def pool(self) -> asyncpg.Pool:
        """The notes service's own database."""
        assert self.runtime.pool is not None
        return self.runtime.pool

    async def announce_customer(self, workspace: str, data: dict[str, Any], event_id: str) -> None:
        """Publish a customer.created event as the profile service's outbox relay would."""
        envelope = {
            "event_id": event_id,
            "occurred_at": datetime.now(UTC).isoformat(),
            "workspace": workspace,
            "type": profile.CUSTOMER_CREATED.name,
            "data": data,
        }
        await self.js.publish(
            profile.CUSTOMER_CREATED.subject(workspace),
            dumps(envelope),
            headers={"Nats-Msg-Id": event_id},
        )

    async def add_customer(self, workspace: str) -> str:
        """A customer the notes service knows; returns its id."""
        customer_id = uuid.uuid4()
        created = profile.CustomerCreated(
            customer_id=str(customer_id),
            created_at=datetime.now(UTC),
            platform="web",
            platform_user_id=f"visitor-{customer_id.hex[:8]}",
        )
        await self.announce_customer(workspace, created.model_dump(mode="json"), uuid.uuid4().hex)
        await wait_for(lambda: self.knows(workspace, customer_id), what="customer known to notes")
        return str(customer_id)

    async def knows(self, workspace: str, customer_id: uuid.UUID) -> bool:
        """Whether the notes service has learnt the customer."""
        async with self.pool.acquire() as conn:
            return await repository.customer_known(conn, workspace, customer_id)

    async def insert_note(
        self, workspace: str, customer_id: str, created_at: datetime, text: str = "note"
    ) -> Note:
        """A note written at a chosen instant, through the service's own repository."""
        async with self.pool.acquire() as conn:
            note = await repository.insert_note(
                conn,
                workspace=workspace,
                customer_id=uuid.UUID(customer_id),
                note_id=uuid.uuid4(),
                text=text,
                author=Author(id="user-1", name="Test User"),
                created_at=created_at,
            )
        assert note is not None
        return note

    async def count(self, workspace: str, customer_id: str) -> Any:
        """The count operation the profile view calls."""
        return await call_json(self.nc, COUNT_NOTES, {"workspace": workspace, "customer_id": customer_id})


def notes_path(customer_id: str) -> str:
    """The notes collection of a customer."""
    return f"/v1/customers/{customer_id}/notes"


def error_fields(response: httpx.Response) -> set[str]:
    """The fields a 422 names."""
    return {e["field"] for e in assert_problem(response, 422)["errors"]}
