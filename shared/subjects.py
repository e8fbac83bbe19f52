"""Every NATS subject and stream name, in one place."""

import functools
import re

WORKSPACE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# Connector events (CONTRACT.md §5): chat.v1.<workspace>.<type>, type may hold a dot.
CHAT_STREAM = "CHAT"
CHAT_SUBJECTS = "chat.v1.>"
CHAT_TYPES = (
    "contact.seen",
    "conversation.started",
    "conversation.message",
    "conversation.escalated",
    "escalation.handled",
    "conversation.closed",
)


def chat_subject(workspace: str, event_type: str) -> str:
    """Subject a connector publishes one event type of one workspace to."""
    return f"chat.v1.{workspace}.{event_type}"


@functools.lru_cache(maxsize=4096)
def parse_chat_subject(subject: str) -> tuple[str, str]:
    """(workspace, event type) of a connector subject; ValueError if it is not one."""
    parts = subject.split(".")
    if len(parts) < 4 or parts[0] != "chat" or parts[1] != "v1":
        raise ValueError(f"not a connector subject: {subject!r}")
    workspace, event_type = parts[2], ".".join(parts[3:])
    if not WORKSPACE_PATTERN.match(workspace):
        raise ValueError(f"invalid workspace in subject: {workspace!r}")
    if event_type not in CHAT_TYPES:
        raise ValueError(f"unknown connector event type: {event_type!r}")
    return workspace, event_type


# Customer context for the AI chat agent (CONTRACT.md §6).
AGENT_CONTEXT_SUBSCRIPTION = "agent.v1.*.context"


def agent_context_subject(workspace: str) -> str:
    """Subject the chat agent asks for a customer's context on."""
    return f"agent.v1.{workspace}.context"


def workspace_of_agent_subject(subject: str) -> str:
    """The workspace token of an agent-context subject."""
    return subject.split(".")[2]


# Internal events, each service's own stream: <service>.v1.<workspace>.<type>.
def event_stream(service: str) -> str:
    """Name of the stream that holds a service's own events."""
    return service.upper()


def event_subjects(service: str) -> str:
    """Wildcard the service's event stream captures."""
    return f"{service}.v1.>"


def event_subject(service: str, workspace: str, event_type: str) -> str:
    """Subject of one internal event."""
    return f"{service}.v1.{workspace}.{event_type}"


# Request/reply: rpc.<service>.<operation>, served in queue group <service>.
def rpc_subject(service: str, operation: str) -> str:
    """Subject of one request/reply operation of a service."""
    return f"rpc.{service}.{operation}"


def rpc_queue(service: str) -> str:
    """Queue group the replicas of a service share requests in."""
    return service


# Dead letters: each service owns DLQ_<SERVICE>, subjects dlq.<service>.<consumer>.
def dead_letter_stream(service: str) -> str:
    """Name of the stream a service sets failed events aside in."""
    return f"DLQ_{service.upper()}"


def dead_letter_subjects(service: str) -> str:
    """Wildcard the service's dead-letter stream captures."""
    return f"dlq.{service}.>"


def dead_letter_subject(service: str, consumer: str) -> str:
    """Subject a consumer's failed events go to."""
    return f"dlq.{service}.{consumer}"
