"""KEDA and the NATS accounts know every durable consumer the services create, and nothing else."""

import re
from collections.abc import Awaitable, Callable

from nats.js import JetStreamContext

from deploy.check import K8S, NATS_ACCOUNTS, kustomize_build
from shared.runtime import ServiceRuntime

Durable = tuple[str, str]  # (stream, durable consumer)


async def _durables_on_the_server(js: JetStreamContext) -> set[Durable]:
    return {
        (stream.config.name, str(consumer.name))
        for stream in await js.streams_info()
        if stream.config.name
        for consumer in await js.consumers_info(stream.config.name)
    }


def _keda_triggers() -> dict[str, set[Durable]]:
    """(stream, durable) pairs each ScaledObject scales its service on, by service."""
    triggers: dict[str, set[Durable]] = {}
    for obj in kustomize_build(K8S / "overlays" / "production"):
        if obj["kind"] != "ScaledObject":
            continue
        service = obj["spec"]["scaleTargetRef"]["name"]
        triggers[service] = {
            (trigger["metadata"]["stream"], trigger["metadata"]["consumer"])
            for trigger in obj["spec"]["triggers"]
            if trigger["type"] == "nats-jetstream"
        }
    return triggers


def _user_block(accounts: str, user: str) -> str:
    """The part of accounts.conf that configures one user."""
    start = accounts.index(f"user: {user}\n")
    following = re.compile(r"\n\s*user: ").search(accounts, start + 1)
    return accounts[start : following.start() if following else len(accounts)]


async def test_each_service_scales_on_exactly_the_durables_it_creates(
    start_all_services: Callable[..., Awaitable[dict[str, ServiceRuntime]]], js: JetStreamContext
) -> None:
    runtimes = await start_all_services()
    created = await _durables_on_the_server(js)
    # Durables are named <service>-<what>, which says whose they are.
    by_service: dict[str, set[Durable]] = {name: set() for name in runtimes}
    for stream, durable in created:
        by_service[durable.split("-", 1)[0]].add((stream, durable))
    assert _keda_triggers() == by_service


async def test_each_service_may_fetch_and_acknowledge_its_durables(
    start_all_services: Callable[..., Awaitable[dict[str, ServiceRuntime]]], js: JetStreamContext
) -> None:
    await start_all_services()
    accounts = NATS_ACCOUNTS.read_text()
    missing: list[Durable] = []
    for stream, durable in await _durables_on_the_server(js):
        block = _user_block(accounts, durable.split("-", 1)[0])
        for subject in (
            f'"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.{durable}"',
            f'"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"',
            f'"$JS.ACK.{stream}.{durable}.>"',
            f'"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.{durable}"',
        ):
            if subject not in block:
                missing.append((durable, subject))
    assert missing == []
