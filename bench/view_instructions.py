"""Instructions the running gateway executes per warm profile view, by telemetry mode (cachegrind).

python -m bench.view_instructions [--customers 200] [--views 2000 8000] [--mode MODE ...]

Needs valgrind (`apt-get install valgrind`); not part of `make bench`. CPU time on a shared VM
moves by ±15% from one minute to the next, more than the 10% telemetry may cost (bench.view);
an instruction count repeats to within ~0.3%. What it cannot price is what the instructions cost
in time (cache misses, system calls), so it complements bench.view and does not replace it.

For each mode, a gateway as `make run` starts it (uvicorn, one worker, real sockets, metrics in
prometheus-client's multiprocess mode) runs under `valgrind --tool=cachegrind` beside the running
system, every view cached in Redis beforehand. Two such gateways serve --views warm views each over
four keep-alive connections; a view's count is the difference of their totals over the difference
of views, so start-up and shutdown cancel out. Recorded spans go to bench/otlp_sink.py in batches
of 300, as a worker of the running gateway exports them (~300 per 5 s) where valgrind's slowdown
would otherwise let the 5 s timer export a few at a time.
"""

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import uvloop

from bench.view import TELEMETRY, HttpClient, Seeded, seeded_system, wait_until
from deploy.embedded import free_port
from shared.memory import memory_parent

CONNECTIONS = 4
# Instruction counts only: simulating the caches would slow the gateway further and price nothing
# bench.view does not already time.
CACHEGRIND = ("valgrind", "--tool=cachegrind", "--cache-sim=no")
# The environment of each mode ({otlp}: the sink's address): bench.view's two, and between them
# metrics alone and the SDK installed but sampling nothing. "1 trace in 10" is production's.
PRODUCTION = "on, 1 trace in 10"
MODES: dict[str, dict[str, str]] = {
    "off": TELEMETRY["off"],
    "metrics, no trace exporter": {"TELEMETRY": "true"},
    "metrics, SDK sampling nothing": TELEMETRY[PRODUCTION] | {"OTEL_TRACES_SAMPLER_ARG": "0"},
    PRODUCTION: TELEMETRY[PRODUCTION],
}
EXPORT_BATCH = {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "300", "OTEL_BSP_SCHEDULE_DELAY": "100000000"}


def gateway_environ(base: dict[str, str], mode: str, otlp: str, metrics_dir: Path) -> dict[str, str]:
    """The stack's gateway environment in a telemetry mode, one worker, on ports of its own."""
    env = {k: v for k, v in base.items() if k != "TELEMETRY" and not k.startswith("OTEL_")}
    env |= {key: value.format(otlp=otlp) for key, value in MODES[mode].items()} | EXPORT_BATCH
    env.update(
        GATEWAY_PORT=str(free_port()),
        ADMIN_PORT=str(free_port()),
        GATEWAY_WORKERS="1",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        PYTHONHASHSEED="0",
    )
    return env


def under_cachegrind(env: dict[str, str], out: Path) -> subprocess.Popen[bytes]:
    """`python -m gateway` under cachegrind, its counts to `out`, its output to `out`.log."""
    with (out.parent / f"{out.name}.log").open("wb") as log:
        return subprocess.Popen(
            [*CACHEGRIND, f"--cachegrind-out-file={out}", sys.executable, "-m", "gateway"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def total_instructions(out: Path) -> int:
    """The instructions a cachegrind run counted (its `summary:` line)."""
    summary = next(line for line in out.read_text().splitlines() if line.startswith("summary:"))
    return int(summary.split()[1])


async def instructions(seeded: Seeded, env: dict[str, str], views: int, out: Path) -> int:
    """Instructions a gateway run under cachegrind executed, start to exit, serving `views` warm views."""
    port = int(env["GATEWAY_PORT"])
    proc = await asyncio.to_thread(under_cachegrind, env, out)

    async def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"the gateway under valgrind exited; see {out}.log")
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                return (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    await wait_until(ready, "the gateway under valgrind ready", timeout=900)
    left = views

    async def read(client: HttpClient) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            status = await client.get(f"/v1/customers/{seeded.ids[left % len(seeded.ids)]}")
            if status != 200:
                raise RuntimeError(f"a warm view answered {status}")

    clients = [HttpClient("127.0.0.1", port, seeded.token) for _ in range(CONNECTIONS)]
    await asyncio.gather(*(read(client) for client in clients))
    for client in clients:
        client.close()
    proc.terminate()
    await asyncio.to_thread(proc.wait, 600)
    return await asyncio.to_thread(total_instructions, out)


async def run(customers: int, views: tuple[int, int], modes: list[str], otlp: str) -> None:
    """Seed, warm every view, count each mode, print the table."""
    out_dir = Path(tempfile.mkdtemp(prefix="bench-instructions-"))
    # The gateways' metric files, in memory as the running gateway keeps them.
    memory_dir = Path(tempfile.mkdtemp(prefix="bench-instructions-", dir=memory_parent()))
    async with seeded_system(customers) as seeded:
        warm = HttpClient("127.0.0.1", int(seeded.env["GATEWAY_URL"].rsplit(":", 1)[1]), seeded.token)
        for customer in seeded.ids:
            if await warm.get(f"/v1/customers/{customer}") != 200:
                raise RuntimeError(f"customer {customer}'s view did not answer 200")
        warm.close()
        per_view: dict[str, float] = {}
        for number, mode in enumerate(modes):
            # The two runs of a mode at once: one core each.
            runs = []
            for count in views:
                metrics_dir = memory_dir / f"{number}.{count}"
                env = gateway_environ(seeded.stack.processes["gateway"].env, mode, otlp, metrics_dir)
                runs.append(instructions(seeded, env, count, out_dir / f"cachegrind.{number}.{count}"))
            counts = await asyncio.gather(*runs)
            per_view[mode] = (counts[1] - counts[0]) / (views[1] - views[0])
            print(f"{mode}: {per_view[mode]:,.0f} instructions per warm view", flush=True)
    for scratch in (out_dir, memory_dir):
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"\ncustomers: {customers}; views per run: {views[0]} and {views[1]}; one gateway worker\n")
    print("| telemetry | instructions per warm view | against off |")
    print("|---|---|---|")
    off = per_view.get("off")
    for mode, measured in per_view.items():
        against = f"{(measured / off - 1) * 100:+.1f}%" if off else ""
        print(f"| {mode} | {measured:,.0f} | {against} |")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--views", type=int, nargs=2, default=(2000, 8000), metavar=("FEWER", "MORE"))
    parser.add_argument("--mode", action="append", choices=list(MODES), help="default: every mode")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("bench.view_instructions needs valgrind: apt-get install valgrind")
    fewer, more = args.views
    if not 0 < fewer < more:
        sys.exit("--views: two counts, the first smaller and above 0")
    sink_port = free_port()
    sink = subprocess.Popen([sys.executable, "-m", "bench.otlp_sink", str(sink_port)])
    try:
        uvloop.run(
            run(args.customers, (fewer, more), args.mode or list(MODES), f"http://127.0.0.1:{sink_port}")
        )
    finally:
        sink.terminate()
        sink.wait(10)


if __name__ == "__main__":
    main()
