"""The fault suites run only when asked for (`pytest -m faults`, `make test-faults`;
`pytest -m faults_cluster`, `make test-faults-cluster`)."""

import re

import pytest

SUITES = ("faults", "faults_cluster")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Deselect a suite from any run whose -m expression does not name it, so a plain `pytest` or
    # `make test` never spends minutes here even before the Makefile deselects it itself.
    expression = config.getoption("markexpr") or ""
    for suite in SUITES:
        if re.search(rf"\b{suite}\b", expression):
            continue
        deselected = [item for item in items if item.get_closest_marker(suite) is not None]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if item.get_closest_marker(suite) is None]
