"""Freezing a process's startup heap: run in child processes, the test process's own heap stays as it is."""

from tests.support import JWT_SECRET, run_python


def test_garbage_is_collected_before_the_heap_is_frozen() -> None:
    printed = run_python(
        """
        import gc, weakref
        from shared.heap import freeze_startup_heap

        class Node:
            pass

        cycle = Node()
        cycle.self = cycle
        gone = weakref.ref(cycle)
        del cycle
        kept = [Node() for _ in range(1000)]
        freeze_startup_heap()
        print(gone() is None, gc.get_freeze_count() >= len(kept))
        """
    )
    assert printed == "True True"


def test_the_gateway_worker_freezes_its_heap_once_the_app_is_built() -> None:
    printed = run_python(
        """
        import gc
        from gateway.app import app_from_environment

        app_from_environment()
        print(gc.get_freeze_count())
        """,
        JWT_SECRET=JWT_SECRET,
        NATS_URL="nats://127.0.0.1:1",
        REDIS_URL="redis://127.0.0.1:1",
    )
    # The app's routes, models and the modules they import: tens of thousands of objects.
    assert int(printed) > 10_000
