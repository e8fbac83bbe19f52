"""The fault suite runs only when asked for (`pytest -m faults`, `make test-faults`)."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: the fault suite (make test-faults), kills real processes")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Deselect it from any run whose -m expression does not name it, so a plain `pytest` or
    # `make test` never spends minutes here even before the Makefile deselects it itself.
    if "faults" in (config.getoption("markexpr") or ""):
        return
    deselected = [item for item in items if item.get_closest_marker("faults") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.get_closest_marker("faults") is None]
