"""GET /v1/customers/{id}/events: Server-Sent Events for an open profile."""

import asyncio
import time
from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from gateway.auth import CurrentPrincipal
from gateway.deps import CustomerId, Live, RequestId, Services
from shared import metrics
from shared.messages import profile

router = APIRouter(prefix="/v1/customers", tags=["live"])

KEEPALIVE_SECONDS = 15.0


@router.get(
    "/{customer_id:uuid}/events",
    response_class=StreamingResponse,
    responses={200: {"description": "Server-Sent Events", "content": {"text/event-stream": {}}}},
)
async def customer_events(
    customer_id: CustomerId,
    principal: CurrentPrincipal,
    services: Services,
    live: Live,
    request_id: RequestId,
    request: Request,
) -> StreamingResponse:
    """Changes to this customer as they happen: profile edits, notes, conversations, escalations.

    Each event is `event: <service>.<type>` with JSON data {type, customer_id, occurred_at, data}.
    When the customer is merged into another (`profile.customer.merged`, the target in
    `data.customer_id`) or erased (`profile.erasure.requested`), that event carries `"final": true`
    and the stream ends. Browsers' EventSource may pass the token as `?access_token=`. When the
    token expires the stream sends `event: token.expired` and ends.
    """
    await services.call(
        profile.GET_CUSTOMER,
        profile.GetCustomer(workspace=principal.workspace, customer_id=customer_id),
        request_id=request_id,
    )
    customer = str(customer_id)
    queue = live.listen(principal.workspace, customer)

    async def stream() -> AsyncIterator[bytes]:
        metrics.sse_streams(+1)
        try:
            yield b": connected\nretry: 2000\n\n"
            while not await request.is_disconnected():
                left = principal.expires_at - time.time()
                if left <= 0:
                    # The token ran out: say so (the page signs in again) and end the stream.
                    yield b"event: token.expired\ndata: {}\n\n"
                    return
                try:
                    update = await asyncio.wait_for(queue.get(), min(KEEPALIVE_SECONDS, left))
                except TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                yield b"event: " + update["type"].encode() + b"\ndata: " + orjson.dumps(update) + b"\n\n"
                if update.get("final"):
                    return
        finally:
            metrics.sse_streams(-1)
            live.unlisten(principal.workspace, customer, queue)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
