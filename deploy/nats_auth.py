"""Who may connect to NATS and what each may do (CONTRACT.md §8), derived from the code.

Every service's permissions come from its definition: the streams it declares and binds, its
durable consumers, the operations it answers and calls, the events it emits. The gateway may
call every operation not marked internal and follow every service's events. Nothing here is
written by hand, so permissions cannot drift from what the processes do: a process that uses a
subject its definition does not declare gets a permissions violation, and the suites fail.

    python -m deploy.nats_auth deploy/nats/accounts.conf     # the deployment's accounts file

The embedded server of `make run` and of the tests runs the same accounts with bcrypt hashes of
generated passwords (deploy/stack.py); a deployment runs them with `$<USER>_NATS_PASSWORD`
variables (docker-compose.yml, the NATS Helm values).
"""

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.nats import inbox_prefix
from shared.registry import SERVICE_NAMES, definitions
from shared.rpc import ping_operation
from shared.runtime import Deployable, own_streams
from shared.subjects import (
    AGENT_CONTEXT_SUBSCRIPTION,
    CHAT_SUBJECTS,
    agent_context_subject,
    chat_subject,
    dead_letter_subjects,
    event_subjects,
)

ACCOUNT = "APP"
GATEWAY = "gateway"
OPERATOR = "operator"
CONNECTOR = "connector"


@dataclass(frozen=True)
class Permissions:
    """Subjects a user may publish to and subscribe to; `replies`: may answer requests it receives."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    replies: bool = False


def _unique(subjects: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(subjects))


def _stream_api(stream: str, *, declares: bool) -> list[str]:
    verbs = ("INFO", "CREATE", "UPDATE") if declares else ("INFO",)
    return [f"$JS.API.STREAM.{verb}.{stream}" for verb in verbs]


def _consumer_api(stream: str, durable: str) -> list[str]:
    return [
        f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.{durable}",
        f"$JS.API.CONSUMER.INFO.{stream}.{durable}",
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}",
        f"$JS.ACK.{stream}.{durable}.>",
        # A delivery JetStream gave up on is read back by sequence to be set aside.
        f"$JS.API.STREAM.MSG.GET.{stream}",
    ]


def service_permissions(definition: Deployable) -> Permissions:
    """What one service's processes need, from its definition."""
    name = definition.name
    publish: list[str] = []
    subscribe = [f"{inbox_prefix(name)}.>"]
    for stream in [*own_streams(name), *definition.declares]:
        publish += _stream_api(stream.name, declares=True)
    for bound in definition.binds:
        publish += _stream_api(bound, declares=False)
    for spec in definition.consumers:
        publish += _consumer_api(spec.stream, spec.durable)
        subscribe.append(f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{spec.stream}.{spec.durable}")
    publish += [event_subjects(name), dead_letter_subjects(name)]
    publish += [operation.subject for operation in definition.calls]
    subscribe.append(ping_operation(name).subject)
    subscribe += [served.operation.subject for served in definition.routes]
    return Permissions(_unique(publish), _unique(subscribe), replies=True)


def gateway_permissions(services: Sequence[Deployable]) -> Permissions:
    """Every operation not marked internal, the services' pings and every service's events."""
    publish = [ping_operation(definition.name).subject for definition in services]
    publish += [
        served.operation.subject
        for definition in services
        for served in definition.routes
        if not served.operation.internal and not served.operation.public
    ]
    # Services' events: the gateway invalidates its cache and feeds Server-Sent Events from them.
    subscribe = [f"{inbox_prefix(GATEWAY)}.>", *(event_subjects(d.name) for d in services)]
    return Permissions(_unique(publish), _unique(subscribe))


def operator_permissions() -> Permissions:
    """Operator tools: dead letters (list, replay, delete), reanalysis requests, stream backups."""
    replayable = [CHAT_SUBJECTS, *(event_subjects(name) for name in SERVICE_NAMES)]
    return Permissions(("$JS.API.>", "$JS.SNAPSHOT.>", *replayable), (f"{inbox_prefix(OPERATOR)}.>",))


def connector_permissions(user: str, workspace: str | None = None) -> Permissions:
    """A platform connector: publish events, ask for the agent context (of one workspace, if given)."""
    if workspace is None:
        publish = (CHAT_SUBJECTS, AGENT_CONTEXT_SUBSCRIPTION)
    else:
        publish = (chat_subject(workspace, ">"), agent_context_subject(workspace))
    return Permissions(publish, (f"{inbox_prefix(user)}.>",))


def roles(services: Sequence[Deployable] | None = None) -> dict[str, Permissions]:
    """Every user of the system but minted connectors: one per service, gateway, operator, connector."""
    services = list(definitions()) if services is None else list(services)
    found = {definition.name: service_permissions(definition) for definition in services}
    found[GATEWAY] = gateway_permissions(services)
    found[OPERATOR] = operator_permissions()
    found[CONNECTOR] = connector_permissions(CONNECTOR)
    return found


def _user(name: str, password: str, permissions: Permissions) -> str:
    rules: dict[str, object] = {
        "publish": {"allow": list(permissions.publish)},
        "subscribe": {"allow": list(permissions.subscribe)},
    }
    if permissions.replies:
        rules["allow_responses"] = True
    return (
        f"      {{\n        user: {json.dumps(name)}\n        password: {password}\n"
        f"        permissions: {json.dumps(rules, indent=2).replace(chr(10), chr(10) + '        ')}\n      }}"
    )


def accounts_conf(users: Mapping[str, tuple[str, Permissions]], *, system_password: str | None = None) -> str:
    """The `accounts` block of a server configuration: users by name → (password, permissions).

    A password is written as given: a quoted bcrypt hash, or a `$VARIABLE` the server reads from
    its environment. With `system_password`, a SYS account for server monitoring is added.
    """
    lines = [
        "# Generated by deploy/nats_auth.py from the services' definitions: do not edit by hand.",
        "accounts {",
        f"  {ACCOUNT} {{",
        "    jetstream: enabled",
        "    users: [",
        "\n".join(_user(name, password, rules) for name, (password, rules) in users.items()),
        "    ]",
        "  }",
    ]
    if system_password is not None:
        lines += ["  SYS {", f"    users: [{{ user: system, password: {system_password} }}]", "  }"]
    lines.append("}")
    if system_password is not None:
        lines.append("system_account: SYS")
    return "\n".join(lines) + "\n"


def variable(user: str) -> str:
    """The environment variable a deployment keeps a user's password in."""
    return f"${user.upper()}_NATS_PASSWORD"


def deployment_accounts() -> str:
    """The accounts file of docker-compose.yml and the Kubernetes cluster."""
    users = {name: (variable(name), rules) for name, rules in roles().items()}
    return accounts_conf(users, system_password=variable("system"))


def main() -> None:
    """Write the deployment's accounts file (default deploy/nats/accounts.conf)."""
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "deploy/nats/accounts.conf")
    target.write_text(deployment_accounts())
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
