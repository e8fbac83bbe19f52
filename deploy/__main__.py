"""`make run`: the whole system on this machine until Ctrl+C."""

import signal
import sys
import time
from pathlib import Path
from types import FrameType

from deploy.stack import ADMIN_URL_KEYS, LocalStack

RUN_DIR = Path(".run")


def main() -> None:
    """Start the stack, print where it is, supervise it, stop it cleanly on Ctrl+C or SIGTERM."""
    stack = LocalStack(RUN_DIR.resolve())
    stopping = False

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        env = stack.start()
        print(f"Dashboard:  {env['GATEWAY_URL']}/", flush=True)
        print(f"API docs:   {env['GATEWAY_URL']}/docs", flush=True)
        print(f"Settings:   {RUN_DIR / 'env'} (DEV_TOKEN signs you in)", flush=True)
        print(f"Logs:       {RUN_DIR / 'logs'}/", flush=True)
        print("Admin:      /healthz, /readyz and /metrics of each process", flush=True)
        for key in ADMIN_URL_KEYS:
            print(f"            {key}={env[key]}", flush=True)
        print(f"Demo data:  {stack.start_demo(env)}", flush=True)
        print("Press Ctrl+C to stop.", flush=True)
        while not stopping:
            for name in stack.supervise_once():
                print(f"{name} exited; restarted it", file=sys.stderr, flush=True)
            outcome = stack.demo_outcome()
            if outcome:
                print(f"Demo data:  {outcome}", flush=True)
            time.sleep(0.5)
    except Exception as exc:
        print(f"make run failed: {exc}", file=sys.stderr, flush=True)
        stack.stop()
        sys.exit(1)
    print("Stopping…", flush=True)
    stack.stop()
    print("Stopped.", flush=True)


if __name__ == "__main__":
    main()
