"""AsyncAPI 3.0 documents of every service, generated from the message models.

    python -m shared.asyncapi [docs/asyncapi]

One JSON document per service: the events it publishes (with the envelope every outbox event
has), the events it consumes, and the request/reply operations it answers. `make docs` writes
them; a test keeps the committed copies in step with the code.
"""

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from shared.events import EVENT_MODELS, InternalEvent
from shared.messages import insights, notes, profile, timeline
from shared.subjects import AGENT_CONTEXT_SUBSCRIPTION

Schema = type[BaseModel] | None


@dataclass(frozen=True)
class Operation:
    """A request/reply operation on rpc.<service>.<name>."""

    name: str
    request: Schema
    reply: Schema
    summary: str


@dataclass(frozen=True)
class Service:
    """What one service says and hears on NATS."""

    name: str
    description: str
    publishes: dict[str, Schema] = field(default_factory=dict)
    consumes: dict[str, Schema] = field(default_factory=dict)
    operations: list[Operation] = field(default_factory=list)


_CONNECTOR: dict[str, Schema] = {
    f"chat.v1.{{workspace}}.{kind}": model for kind, model in EVENT_MODELS.items()
}

SERVICES = [
    Service(
        "profile",
        "Who the customer is: customers, platform identities, editable profile, tags, agent context. "
        "Declares the connector stream CHAT.",
        publishes={
            profile.CUSTOMER_CREATED: profile.CustomerCreated,
            profile.CUSTOMER_UPDATED: profile.CustomerUpdated,
            profile.TAG_CREATED: profile.Tag,
            profile.TAG_UPDATED: profile.Tag,
            profile.TAG_DELETED: None,
        },
        consumes=_CONNECTOR,
        operations=[
            Operation(
                profile.OP_CUSTOMER_GET, profile.CustomerRef, None, "header and profile parts of the view"
            ),
            Operation(profile.OP_CUSTOMER_UPDATE, profile.UpdateCustomer, None, "edit profile fields"),
            Operation(profile.OP_CUSTOMERS_LIST, profile.ListCustomers, None, "the customer grid"),
            Operation(profile.OP_CUSTOMER_HISTORY, profile.CustomerHistory, None, "change history"),
            Operation(profile.OP_TAGS_LIST, profile.WorkspaceRef, None, "the tag catalog"),
            Operation(profile.OP_TAGS_CREATE, profile.CreateTag, profile.Tag, "create a tag"),
            Operation(profile.OP_TAGS_UPDATE, profile.UpdateTag, profile.Tag, "rename or recolour a tag"),
            Operation(profile.OP_TAGS_DELETE, profile.TagRef, None, "delete a tag everywhere"),
            Operation(
                profile.OP_AGENT_CONTEXT,
                profile.AgentContextRequest,
                profile.AgentContext,
                "agent context through the gateway",
            ),
        ],
    ),
    Service(
        "notes",
        "Internal notes of the team on a customer.",
        publishes={notes.NOTE_ADDED: notes.NoteChanged, notes.NOTE_DELETED: notes.NoteChanged},
        consumes={f"profile.v1.{{workspace}}.{profile.CUSTOMER_CREATED}": profile.CustomerCreated},
        operations=[
            Operation(notes.OP_NOTES_LIST, notes.ListNotes, notes.NotesPage, "notes grouped by day"),
            Operation(notes.OP_NOTES_ADD, notes.AddNote, notes.Note, "add a note"),
            Operation(notes.OP_NOTES_DELETE, notes.DeleteNote, None, "author-only soft delete"),
            Operation(notes.OP_NOTES_COUNT, notes.CountNotes, None, "note count for the view"),
        ],
    ),
    Service(
        "timeline",
        "Conversations, messages and escalations from connector events; stores analyses.",
        publishes={
            timeline.CONVERSATION_STARTED: timeline.ConversationStarted,
            timeline.CONVERSATION_CLOSED: timeline.ConversationClosed,
            timeline.CONVERSATION_UPDATED: timeline.ConversationUpdated,
            timeline.ESCALATION_CHANGED: timeline.EscalationChanged,
        },
        consumes={
            **{k: v for k, v in _CONNECTOR.items() if ".contact." not in k},
            f"insights.v1.{{workspace}}.{insights.CONVERSATION_ANALYSED}": insights.ConversationAnalysed,
        },
        operations=[
            Operation(
                timeline.OP_CONVERSATIONS_LIST,
                timeline.CustomerPageRequest,
                timeline.ConversationPage,
                "conversations tab",
            ),
            Operation(
                timeline.OP_ESCALATIONS_LIST,
                timeline.CustomerPageRequest,
                timeline.EscalationPage,
                "escalations tab",
            ),
            Operation(
                timeline.OP_CUSTOMER_COUNTS,
                timeline.CustomerCountsRequest,
                timeline.CustomerCounts,
                "counts for the view",
            ),
            Operation(
                timeline.OP_TRANSCRIPT,
                timeline.TranscriptRequest,
                timeline.Transcript,
                "most recent part of a transcript, for insights",
            ),
        ],
    ),
    Service(
        "insights",
        "Summaries, sentiment, topics, AI profile and average sentiment of closed conversations.",
        publishes={
            insights.CONVERSATION_ANALYSED: insights.ConversationAnalysed,
            insights.CUSTOMER_INSIGHTS_UPDATED: insights.CustomerInsightsUpdated,
            insights.REANALYSIS_REQUESTED: insights.ReanalysisRequested,
        },
        consumes={
            f"timeline.v1.{{workspace}}.{timeline.CONVERSATION_CLOSED}": timeline.ConversationClosed,
            f"insights.v1.{{workspace}}.{insights.REANALYSIS_REQUESTED}": insights.ReanalysisRequested,
        },
        operations=[
            Operation(
                insights.OP_CUSTOMER_GET, None, insights.CustomerInsights, "AI profile and average sentiment"
            ),
        ],
    ),
]


def _schema(model: Schema) -> dict[str, Any]:
    if model is None:
        return {"type": "object"}
    return TypeAdapter(model).json_schema(mode="serialization")


def _key(address: str) -> str:
    return address.replace(".", "_").replace("{workspace}", "ws")


def document(service: Service) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of one service."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    envelope = _schema(InternalEvent)
    workspace = {"workspace": {"description": "tenant id"}}

    for kind, model in service.publishes.items():
        address = f"{service.name}.v1.{{workspace}}.{kind}"
        payload = json.loads(json.dumps(envelope))
        payload["properties"]["data"] = _schema(model)
        channels[_key(address)] = {
            "address": address,
            "parameters": workspace,
            "messages": {
                "event": {
                    "name": kind,
                    "payload": payload,
                    "headers": {"type": "object", "properties": {"Nats-Msg-Id": {"type": "string"}}},
                }
            },
        }
        operations[f"publish_{_key(kind)}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{_key(address)}"},
            "summary": "published through the outbox",
        }
    for address, model in service.consumes.items():
        payload = _schema(model)
        if not address.startswith("chat."):
            wrapped = json.loads(json.dumps(envelope))
            wrapped["properties"]["data"] = payload
            payload = wrapped
        channels[_key(address)] = {
            "address": address,
            "parameters": workspace,
            "messages": {"event": {"payload": payload}},
        }
        operations[f"consume_{_key(address)}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{_key(address)}"},
            "summary": "durable pull consumer: inbox dedup, retries with back-off, dead letters",
        }
    for op in service.operations:
        address = f"rpc.{service.name}.{op.name}"
        key = _key(address)
        channels[key] = {
            "address": address,
            "messages": {
                "request": {"payload": _schema(op.request)},
                "reply": {
                    "payload": {
                        "oneOf": [
                            {"type": "object", "properties": {"ok": _schema(op.reply)}, "required": ["ok"]},
                            {
                                "type": "object",
                                "properties": {
                                    "error": {"type": "string"},
                                    "detail": {"type": "string"},
                                    "errors": {"type": "array"},
                                },
                                "required": ["error"],
                            },
                        ]
                    }
                },
            },
        }
        operations[f"rpc_{_key(op.name)}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": op.summary,
            "messages": [{"$ref": f"#/channels/{key}/messages/request"}],
            "reply": {
                "channel": {"$ref": f"#/channels/{key}"},
                "messages": [{"$ref": f"#/channels/{key}/messages/reply"}],
            },
        }
    if service.name == "profile":
        channels["agent_context"] = {
            "address": AGENT_CONTEXT_SUBSCRIPTION.replace("*", "{workspace}"),
            "parameters": workspace,
            "messages": {
                "request": {"payload": _schema(profile.AgentContextQuery)},
                "reply": {
                    "payload": {
                        "oneOf": [
                            _schema(profile.AgentContext),
                            {"type": "object", "properties": {"error": {"const": "not_found"}}},
                        ]
                    }
                },
            },
        }
        operations["agent_context"] = {
            "action": "receive",
            "channel": {"$ref": "#/channels/agent_context"},
            "summary": "customer context for the AI chat agent (CONTRACT.md §6)",
            "reply": {"channel": {"$ref": "#/channels/agent_context"}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": f"{service.name} service", "version": "1", "description": service.description},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
    }


def render(service: Service) -> str:
    """The document as stable, pretty JSON."""
    return json.dumps(document(service), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    """Write docs/asyncapi/<service>.json for every service."""
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/asyncapi")
    target.mkdir(parents=True, exist_ok=True)
    for service in SERVICES:
        (target / f"{service.name}.json").write_text(render(service))
        print(f"wrote {target / f'{service.name}.json'}")


if __name__ == "__main__":
    main()
