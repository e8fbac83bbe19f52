"""What the insights tests share: the labelled conversations, the timeline's transcript operation
served over real NATS, closed events as the timeline publishes them, and a Chat Completions server.

The timeline service is built separately; its transcript operation is stood in for here by a
responder on the real subject, answering the real `Transcript` model.
"""

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from nats.aio.client import Client as NATS
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from deploy.embedded import free_port
from services.insights.analysers.base import AnalysisRequest
from services.insights.app import definition
from shared.errors import NotFound
from shared.jsonutil import dumps, loads
from shared.messages import timeline
from shared.messages.insights import SentimentLabel
from shared.rpc import serve
from tests.support import declare_streams_bound_by, wait_for

DATA = Path(__file__).parent / "data"


class LabelledConversation(BaseModel):
    """One conversation of the labelled set and what a human annotator said about it."""

    id: str
    kind: str
    label: SentimentLabel | None
    language: str
    platform: str
    topics: list[str]
    messages: list[tuple[str, str]]

    def transcript_messages(self) -> list[timeline.TranscriptMessage]:
        """The messages as the timeline returns them, a minute apart."""
        start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        return [
            timeline.TranscriptMessage(sender=sender, text=text, sent_at=start + timedelta(minutes=i))
            for i, (sender, text) in enumerate(self.messages)
        ]

    def request(self, conversation_id: str | None = None) -> AnalysisRequest:
        """An analysis request for this conversation."""
        return AnalysisRequest(
            conversation_id=conversation_id or self.id,
            customer_id="customer-1",
            platform=self.platform,
            messages=self.transcript_messages(),
        )


def request_of(*messages: tuple[str, str], names: tuple[str | None, ...] = ()) -> AnalysisRequest:
    """An analysis request of (sender, text) messages a minute apart, senders named by `names`."""
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    return AnalysisRequest(
        conversation_id="c",
        customer_id="u",
        platform="web",
        messages=[
            timeline.TranscriptMessage(
                sender=sender,
                sender_name=names[i] if i < len(names) else None,
                text=text,
                sent_at=start + timedelta(minutes=i),
            )
            for i, (sender, text) in enumerate(messages)
        ],
    )


def labelled_conversations() -> list[LabelledConversation]:
    """The labelled sets of tests/insights/data/ (conversations.json, then one file per language)."""
    return [
        LabelledConversation.model_validate(item)
        for path in sorted(DATA.glob("conversations*.json"))
        for item in json.loads(path.read_text(encoding="utf-8"))["conversations"]
    ]


def labelled(conversation_id: str) -> LabelledConversation:
    """One conversation of the labelled set by id."""
    return next(c for c in labelled_conversations() if c.id == conversation_id)


async def declare_timeline_stream(js: JetStreamContext) -> None:
    """The TIMELINE and PROFILE streams, declared as those services will (they are not running here)."""
    await declare_streams_bound_by(js, definition)


@dataclass
class TimelineStandIn:
    """Answers rpc.timeline.conversation.transcript from the transcripts added to it."""

    transcripts: dict[tuple[str, str], timeline.Transcript] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        workspace: str,
        conversation_id: str,
        customer_id: str,
        conversation: LabelledConversation,
    ) -> timeline.Transcript:
        """Make a conversation's transcript available."""
        transcript = timeline.Transcript(
            conversation_id=conversation_id,
            customer_id=customer_id,
            platform=conversation.platform,
            messages=conversation.transcript_messages(),
            truncated=False,
        )
        self.transcripts[(workspace, conversation_id)] = transcript
        return transcript

    async def answer(self, request: timeline.GetTranscript) -> timeline.Transcript:
        """The transcript operation: the transcript, or not_found."""
        self.requests.append(request.model_dump())
        key = (request.workspace, request.conversation_id)
        if key not in self.transcripts:
            raise NotFound("no such conversation")
        return self.transcripts[key]

    async def serve(self, nc: NATS) -> Subscription:
        """Serve the operation on the subject the real timeline serves it on."""
        return await serve(nc, timeline.GET_TRANSCRIPT, self.answer)


def closed_event(
    workspace: str, conversation_id: str, customer_id: str, platform: str = "whatsapp"
) -> dict[str, Any]:
    """A conversation.closed envelope as the timeline's outbox publishes it."""
    data = timeline.ConversationClosed(
        conversation_id=conversation_id,
        customer_id=customer_id,
        platform=platform,
        closed_at=datetime.now(UTC),
    )
    return {
        "event_id": uuid.uuid4().hex,
        "occurred_at": datetime.now(UTC).isoformat(),
        "workspace": workspace,
        "type": timeline.CONVERSATION_CLOSED.name,
        "data": data.model_dump(mode="json"),
    }


async def publish_closed(
    js: JetStreamContext, envelope: dict[str, Any], *, msg_id: str | None = None
) -> None:
    """Publish a close on timeline.v1.<workspace>.conversation.closed."""
    await js.publish(
        timeline.CONVERSATION_CLOSED.subject(envelope["workspace"]),
        dumps(envelope),
        headers={"Nats-Msg-Id": msg_id or envelope["event_id"]},
    )


async def stream_events(js: JetStreamContext, stream: str, subject: str) -> list[dict[str, Any]]:
    """Every message body stored in `stream` under exactly `subject`, oldest first."""
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        return []
    found: list[dict[str, Any]] = []
    if not info.state.messages:
        return found
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        with contextlib.suppress(NotFoundError):
            msg = await js.get_msg(stream, seq)
            if msg.subject == subject:
                found.append(loads(msg.data or b"{}"))
    return found


@dataclass
class Reply:
    """What the Chat Completions stand-in answers to one request."""

    content: str | None = None
    status: int = 200
    delay_seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


def analysis_answer(
    *,
    summary: str = "The customer asked where their order was; support shared the tracking number.",
    score: float | None = 0.6,
    language: str | None = "en",
    topics: list[str] | None = None,
    profile: dict[str, list[str]] | None = None,
) -> str:
    """A well-formed answer of the model."""
    sections = {
        "communication_preferences": ["Prefers WhatsApp"],
        "topics_of_interest": ["Home goods"],
        "purchase_behavior": ["Orders online"],
        "key_characteristics": ["Polite"],
    }
    return json.dumps(
        {
            "summary": summary,
            "sentiment_score": score,
            "language": language,
            "topics": topics if topics is not None else ["orders", "shipping"],
            "profile": profile if profile is not None else sections,
        }
    )


class ChatCompletionsServer:
    """A real HTTP server speaking the Chat Completions API, answering from a script.

    Each request takes the next Reply; the last one repeats. Requests are recorded.
    """

    def __init__(self) -> None:
        self.script: list[Reply] = [Reply(analysis_answer())]
        self.requests: list[dict[str, Any]] = []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._release = asyncio.Event()
        app = Starlette(routes=[Route("/v1/chat/completions", self._completions, methods=["POST"])])
        self._server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_config=None, access_log=False, lifespan="off"
            )
        )
        self._task: asyncio.Task[None] | None = None

    def answer(self, *replies: Reply) -> None:
        """Answer the next requests with these replies (the last one repeating)."""
        self.script = list(replies)

    async def _completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        reply = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if reply.delay_seconds:
            # A slow endpoint: the client gives up first; teardown releases the handler early.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), reply.delay_seconds)
        if reply.status != 200:
            return JSONResponse(
                {"error": {"message": "stand-in failure", "type": "server_error"}},
                status_code=reply.status,
                headers=reply.headers,
            )
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:8]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 321, "completion_tokens": 54, "total_tokens": 375},
            }
        )

    async def start(self) -> "ChatCompletionsServer":
        """Serve on a free local port."""
        self._task = asyncio.create_task(self._server.serve())

        async def started() -> bool:
            if self._task is not None and self._task.done():
                self._task.result()
            return bool(self._server.started)

        await wait_for(started, what="chat completions stand-in started")
        return self

    async def stop(self) -> None:
        """Release delayed requests and shut down."""
        self._release.set()
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 10)
