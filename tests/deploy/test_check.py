"""deploy.check refuses what a cluster would refuse: unknown fields, bad values, kinds it cannot check."""

import copy
from collections.abc import Callable
from typing import Any

import pytest

from deploy.check import K8S, kustomize_build, object_problems

Object = dict[str, Any]


@pytest.fixture(scope="module")
def base() -> list[Object]:
    """The objects of deploy/k8s/base, as kubectl's kustomize renders them."""
    return kustomize_build(K8S / "base")


def _first(objects: list[Object], kind: str) -> Object:
    return copy.deepcopy(next(obj for obj in objects if obj["kind"] == kind))


@pytest.mark.parametrize("kind", ["Deployment", "Service", "ScaledObject", "Cluster", "NetworkPolicy"])
def test_the_rendered_objects_pass(base: list[Object], kind: str) -> None:
    assert object_problems(_first(base, kind)) == []


def _misspelt_probe(obj: Object) -> None:
    obj["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}


def _unknown_trigger_key(obj: Object) -> None:
    obj["spec"]["triggers"][0]["metadata"]["consumerName"] = "profile-chat"


def _no_durable(obj: Object) -> None:
    del obj["spec"]["triggers"][0]["metadata"]["consumer"]


def _zero_instances(obj: Object) -> None:
    obj["spec"]["instances"] = 0


def _unknown_cluster_field(obj: Object) -> None:
    obj["spec"]["storage"]["sizeGi"] = 10


@pytest.mark.parametrize(
    ("kind", "break_it", "expected"),
    [
        ("Deployment", _misspelt_probe, "readinessProbes"),
        ("ScaledObject", _unknown_trigger_key, "consumerName"),
        ("ScaledObject", _no_durable, "'consumer' is a required property"),
        ("Cluster", _zero_instances, "instances"),
        ("Cluster", _unknown_cluster_field, "sizeGi"),
    ],
)
def test_a_broken_object_is_reported_with_what_is_wrong(
    base: list[Object], kind: str, break_it: Callable[[Object], None], expected: str
) -> None:
    obj = _first(base, kind)
    break_it(obj)
    problems = object_problems(obj)
    assert problems
    assert expected in " ".join(problems)


def test_a_kind_without_any_schema_is_an_error_not_a_warning() -> None:
    monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor", "metadata": {"name": "m"}}
    assert object_problems(monitor) == [
        "no schema for monitoring.coreos.com/v1 PodMonitor: add one to deploy/k8s/schemas"
    ]
