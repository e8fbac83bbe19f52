"""python -m gateway"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from gateway.config import GatewaySettings
from shared.logging import configure_logging
from shared.memory import memory_parent

# Not imported from shared.metrics: importing prometheus-client's metrics here, before the folder is
# ready, would have this supervising process write files into it.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir(path: Path) -> None:
    """Empty the workers' metric files of an earlier run (the folder itself may be a mount point)."""
    path.mkdir(parents=True, exist_ok=True)
    for entry in path.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


@contextmanager
def worker_metrics(workers: int) -> Iterator[None]:
    """Several workers write their metrics to one folder, emptied first (prometheus-client's
    multiprocess mode): PROMETHEUS_MULTIPROC_DIR, else a folder in memory removed at exit."""
    given = os.environ.get(MULTIPROCESS_DIR)
    if given:
        prepare_multiprocess_dir(Path(given))
        yield
        return
    if workers == 1:
        yield
        return
    # Set before the workers start: they read it when they import prometheus-client.
    os.environ[MULTIPROCESS_DIR] = tempfile.mkdtemp(prefix="gateway-metrics-", dir=memory_parent())
    try:
        yield
    finally:
        shutil.rmtree(os.environ.pop(MULTIPROCESS_DIR), ignore_errors=True)


if __name__ == "__main__":
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    with worker_metrics(settings.gateway_workers):
        uvicorn.run(
            "gateway.app:app_from_environment",
            factory=True,
            host=settings.gateway_host,
            port=settings.gateway_port,
            # More than one worker shares the port; each is an independent, stateless gateway.
            workers=settings.gateway_workers,
            log_config=None,
            access_log=False,
            proxy_headers=False,
        )
