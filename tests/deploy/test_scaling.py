"""KEDA and the NATS accounts know every durable consumer the services create, and nothing else."""

from collections.abc import Awaitable, Callable

from nats.js import JetStreamContext

from deploy.check import K8S, kustomize_build
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
