"""What the profile tests share: the running stack and ways to drive and observe it."""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from services.profile.handlers import CHAT_DURABLE
from shared.jsonutil import loads
from shared.subjects import CHAT_STREAM
from tests.conftest import ServiceStack
from tests.support import auth, connector_event, publish_event, wait_for

T = TypeVar("T")

# Fields each connector event type needs besides the common ones (CONTRACT.md §5).
EXTRA_FIELDS: dict[str, dict[str, Any]] = {
    "contact.seen": {"display_name": "Seen Person"},
    "conversation.started": {"conversation_id": "c-1"},
    "conversation.message": {
        "conversation_id": "c-1",
        "message_id": "m-1",
        "sender": "customer",
        "text": "hello",
    },
    "conversation.escalated": {
        "conversation_id": "c-1",
        "escalation_id": "e-1",
        "reason": "asked for a human",
    },
    "escalation.handled": {"conversation_id": "c-1", "escalation_id": "e-1", "handled_by": "Sam"},
    "conversation.closed": {"conversation_id": "c-1", "resolved_by": {"type": "ai"}},
}


async def eventually(condition: Callable[[], Awaitable[T | None]], *, what: str) -> T:
    """wait_for, for a condition that answers None until it holds."""
    value = await wait_for(condition, what=what)
    assert value is not None
    return value


class ProfileStack(ServiceStack):
    """The profile service and a gateway on the test's own servers."""

    @property
    def http(self) -> httpx.AsyncClient:
        """A client pointed at the gateway."""
        return self.gateway.client

    async def publish(
        self, workspace: str, event_type: str, platform: str, pid: str, **fields: Any
    ) -> dict[str, Any]:
        """Publish one connector event; its body."""
        body = connector_event(platform, pid, **fields)
        await publish_event(self.js, workspace, event_type, body)
        return body

    async def view(self, workspace: str, cid: str) -> dict[str, Any] | None:
        """The profile view, or None while the customer does not exist."""
        response = await self.http.get(f"/v1/customers/{cid}", headers=auth(workspace))
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def wait_view(self, workspace: str, cid: str) -> dict[str, Any]:
        """The profile view once the customer exists."""
        return await eventually(lambda: self.view(workspace, cid), what=f"customer {cid}")

    async def drained(self) -> bool:
        """Whether the profile service has applied every connector event published so far."""
        info = await self.js.consumer_info(CHAT_STREAM, CHAT_DURABLE)
        return bool(info.num_pending == 0 and info.num_ack_pending == 0)

    async def wait_drained(self) -> None:
        """Wait until every connector event published so far is applied."""
        await wait_for(self.drained, what="connector events applied")

    async def profile_events(self, event_type: str) -> list[dict[str, Any]]:
        """Every event of a type the profile service has published, oldest first."""
        info = await self.js.stream_info("PROFILE")
        events = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await self.js.get_msg("PROFILE", seq)
            body = loads(msg.data or b"")
            if body["type"] == event_type:
                events.append(body)
        return events

    async def grid_pages(self, workspace: str, limit: int, **params: Any) -> list[dict[str, Any]]:
        """Every item of every grid page, following next_cursor; asserts the page sizes on the way."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
            response = await self.http.get("/v1/customers", params=query, headers=auth(workspace))
            assert response.status_code == 200, response.text
            page = response.json()
            cursor = page["next_cursor"]
            assert len(page["items"]) == limit or cursor is None
            items += page["items"]
            if cursor is None:
                return items
