"""Folders in memory for files written on every request (the gateway workers' metric values)."""

import os
import tempfile
from pathlib import Path

# POSIX shared memory, a tmpfs on Linux. prometheus-client's multiprocess mode keeps each value in a
# memory-mapped file written on every request: on a disk filesystem, the first write to a page after
# each writeback faults through the filesystem. Compose and Kubernetes mount a tmpfs for it themselves.
SHARED_MEMORY = Path("/dev/shm")


def memory_parent() -> Path:
    """Where to make such folders: shared memory where the system has it, else the temporary folder."""
    if SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK | os.X_OK):
        return SHARED_MEMORY
    return Path(tempfile.gettempdir())
