"""The collector and a long-running server process's heap."""

import gc


def freeze_startup_heap() -> None:
    """Put what starting the process built out of the cyclic collector's reach (gc.freeze).

    Modules, the app, its routes and models, the OpenTelemetry SDK live as long as the process, yet
    every full collection walked them all. With dozens of requests in flight, short-lived objects
    outlive the young generations and full collections come often: in a gateway worker, one took
    ~100 ms, and a cached view cost a fifth more CPU than with the startup heap frozen
    (docs/benchmarks.md). Frozen, a full collection walks only what came after.

    Entry points only: a test process that starts many apps would keep each one's cycles forever.
    """
    # Collect first: garbage frozen now would never be freed.
    gc.collect()
    gc.freeze()
