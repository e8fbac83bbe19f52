"""Every resource answers OPTIONS, and a method it lacks with 405, with its whole `Allow` (RFC 9110).

Built from the app's route table, so that a route added later is held to it too.
"""

import re
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from tests.conftest import RunningGateway
from tests.support import auth, new_workspace

GatewayStarter = Callable[..., Awaitable[RunningGateway]]

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# Routing decides 405s from the path alone: any value stands for every parameter.
SOME_ID = str(uuid.uuid4())


def resources(app: FastAPI) -> dict[str, set[str]]:
    """Each path of the app, its parameters filled in, and the methods its routes serve."""
    served: dict[str, set[str]] = defaultdict(set)
    for route in iter_route_contexts(app.routes):
        if route.methods and route.path_format:
            served[re.sub(r"\{[^}]+\}", SOME_ID, route.path_format)] |= route.methods
    return served


def allow(methods: set[str]) -> set[str]:
    return methods | {"OPTIONS"}


def header_methods(value: str) -> set[str]:
    return {method.strip() for method in value.split(",")}


async def test_options_answers_the_allow_of_every_resource(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway()
    served = resources(gateway.app)
    assert "/v1/tags" in served and len(served) >= 15, served
    wrong = {}
    for path, methods in served.items():
        response = await gateway.client.options(path)
        if response.status_code != 204 or header_methods(response.headers["allow"]) != allow(methods):
            wrong[path] = (response.status_code, response.headers.get("allow"), sorted(allow(methods)))
    assert not wrong, "\n".join(f"{k}: {v}" for k, v in wrong.items())


async def test_a_method_a_resource_lacks_is_405_with_its_allow(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway()
    wrong = {}
    for path, methods in resources(gateway.app).items():
        for method in sorted(set(METHODS) - methods):
            response = await gateway.client.request(method, path, headers=auth(new_workspace()))
            if (
                response.status_code != 405
                or header_methods(response.headers["allow"]) != allow(methods)
                or not response.headers["content-type"].startswith("application/problem+json")
            ):
                wrong[f"{method} {path}"] = (response.status_code, response.headers.get("allow"))
    assert not wrong, "\n".join(f"{k}: {v}" for k, v in wrong.items())


async def test_options_on_a_path_nothing_serves_is_404(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway()
    response = await gateway.client.options("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
