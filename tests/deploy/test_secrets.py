"""python3 -m deploy.secrets: every credential a deployment reads, fresh and URL-safe."""

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from deploy.check import nats_password_variables
from deploy.secrets import compose_credentials, env_file, kubernetes_secret, shared_credentials

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def test_the_env_file_holds_every_variable_docker_compose_requires() -> None:
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", COMPOSE_FILE.read_text()))
    lines = env_file(compose_credentials()).splitlines()
    written = {line.split("=", 1)[0] for line in lines if not line.startswith("#")}
    assert required <= written


def test_the_kubernetes_secret_holds_every_nats_password_and_the_gateways_secrets() -> None:
    manifest = json.loads(kubernetes_secret(shared_credentials()))
    assert (manifest["apiVersion"], manifest["kind"]) == ("v1", "Secret")
    assert set(manifest["stringData"]) == nats_password_variables() | {"JWT_SECRET", "REDIS_PASSWORD"}


@pytest.mark.parametrize("generate", [compose_credentials, shared_credentials])
def test_values_are_long_unique_hex_and_new_each_time(generate: Callable[[], dict[str, str]]) -> None:
    first, second = generate(), generate()
    values = list(first.values())
    assert all(re.fullmatch(r"[0-9a-f]{64}", value) for value in values)
    assert len(set(values)) == len(values)
    assert set(values).isdisjoint(second.values())
