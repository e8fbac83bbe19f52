"""AsyncAPI 3.0 documents of every service, generated from what its definition registers.

    python -m shared.asyncapi [docs/asyncapi]

One JSON document per service of the registry: the events it emits (in the envelope every outbox
event has), the events its consumers read, and the request/reply operations it answers, as
FastStream documents its subscribers. Every schema sits under `components/schemas`. `make docs`
writes them; tests keep the committed copies current and valid.
"""

import json
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.consumer import Channel
from shared.errors import FieldError
from shared.events import EventKind
from shared.registry import definitions
from shared.rpc import OperationInfo
from shared.runtime import Deployable

REF = "#/components/schemas/{model}"
Mode = Literal["validation", "serialization"]


class _Schemas:
    """Collects model schemas under components/schemas and hands out references to them."""

    def __init__(self) -> None:
        self.models: dict[tuple[type[BaseModel], Mode], None] = {}

    def ref(self, model: type[BaseModel], mode: Mode) -> dict[str, Any]:
        """A reference to `model`'s schema (requests are read, replies and events written)."""
        self.models[(model, mode)] = None
        return {"$ref": f"@{id(model)}@{mode}"}

    def resolve(self, document: dict[str, Any]) -> dict[str, Any]:
        """The document with its references pointing into components/schemas, and those schemas."""
        keys, defs = models_json_schema(list(self.models), ref_template=REF)
        refs = {f"@{id(model)}@{mode}": ref for (model, mode), ref in keys.items()}

        def fix(node: Any) -> Any:
            if isinstance(node, dict):
                if set(node) == {"$ref"} and node["$ref"] in refs:
                    return refs[node["$ref"]]
                return {key: fix(value) for key, value in node.items()}
            if isinstance(node, list):
                return [fix(item) for item in node]
            return node

        resolved: dict[str, Any] = fix(document)
        resolved.setdefault("components", {})["schemas"] = defs.get("$defs", {})
        return resolved


def _key(address: str) -> str:
    return address.replace(".", "_").replace("{workspace}", "ws").replace("*", "ws").replace(">", "all")


_WORKSPACE = {"workspace": {"description": "tenant id"}}


def _envelope(name: str, data: dict[str, Any]) -> dict[str, Any]:
    """The outbox envelope around an event's data."""
    return {
        "type": "object",
        "required": ["event_id", "occurred_at", "workspace", "type", "data"],
        "properties": {
            "event_id": {"type": "string"},
            "occurred_at": {"type": "string", "format": "date-time"},
            "workspace": {"type": "string"},
            "type": {"const": name},
            "data": data,
        },
    }


def _emitted(schemas: _Schemas, kind: EventKind) -> dict[str, Any]:
    return {
        "address": kind.subject("{workspace}"),
        "parameters": _WORKSPACE,
        "messages": {
            "event": {
                "name": kind.name,
                "summary": kind.summary,
                "payload": _envelope(kind.name, schemas.ref(kind.data, "serialization")),
                "headers": {"type": "object", "properties": {"Nats-Msg-Id": {"type": "string"}}},
            }
        },
    }


def _consumed(schemas: _Schemas, channel: Channel) -> dict[str, Any]:
    data = schemas.ref(channel.model, "validation")
    name = channel.address.rsplit("{workspace}.", 1)[-1]
    return {
        "address": channel.address,
        "parameters": _WORKSPACE,
        "messages": {"event": {"payload": _envelope(name, data) if channel.enveloped else data}},
    }


def _answered(schemas: _Schemas, operation: OperationInfo) -> dict[str, Any]:
    reply = schemas.ref(operation.reply, "serialization")
    failure = schemas.ref(FieldError, "serialization")
    error = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "detail": {"type": "string"},
            "errors": {"type": "array", "items": failure},
        },
    }
    request = schemas.ref(operation.request, "validation")
    channel: dict[str, Any] = {
        "address": operation.subject.replace("*", "{workspace}"),
        "messages": {
            "request": {"payload": request},
            "reply": {
                "payload": {"oneOf": [reply, error]}
                if operation.public
                else {"oneOf": [{"type": "object", "required": ["ok"], "properties": {"ok": reply}}, error]}
            },
        },
    }
    if operation.public:
        channel["parameters"] = _WORKSPACE
        channel["description"] = "The workspace is the subject's; a `workspace` in the body is ignored."
    return channel


def document(definition: Deployable) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of one service."""
    schemas = _Schemas()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    interface = definition.interface

    for kind in interface.emits:
        key = _key(kind.subject("{workspace}"))
        channels[key] = _emitted(schemas, kind)
        operations[f"publish_{_key(kind.name)}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"{kind.summary} (published through the outbox)",
        }
    for spec in definition.consumers:
        for channel in spec.channels:
            key = _key(channel.address)
            channels[key] = _consumed(schemas, channel)
            operations[f"consume_{_key(spec.durable)}_{key}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{key}"},
                "summary": f"durable consumer {spec.durable}: inbox dedup, retries with back-off, "
                "dead letters",
            }
    for served in definition.routes:
        operation = served.operation
        key = _key(operation.subject)
        channels[key] = _answered(schemas, operation)
        operations[f"rpc_{_key(operation.name)}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": operation.summary,
            "messages": [{"$ref": f"#/channels/{key}/messages/request"}],
            "reply": {
                "channel": {"$ref": f"#/channels/{key}"},
                "messages": [{"$ref": f"#/channels/{key}/messages/reply"}],
            },
        }
    return schemas.resolve(
        {
            "asyncapi": "3.0.0",
            "info": {
                "title": f"{interface.name} service",
                "version": "1",
                "description": interface.description,
            },
            "defaultContentType": "application/json",
            "channels": channels,
            "operations": operations,
        }
    )


def render(definition: Deployable) -> str:
    """The document as stable, pretty JSON."""
    return json.dumps(document(definition), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    """Write docs/asyncapi/<service>.json for every service."""
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/asyncapi")
    target.mkdir(parents=True, exist_ok=True)
    for definition in definitions():
        path = target / f"{definition.name}.json"
        path.write_text(render(definition))
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
