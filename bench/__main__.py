"""`make bench`: every benchmark in turn, each printing its table beside the floor of the same run."""

import runpy
import sys

BENCHMARKS = ("bench.grid_search", "bench.ingestion", "bench.insights", "bench.view")

if __name__ == "__main__":
    chosen = sys.argv[1:] or list(BENCHMARKS)
    for module in chosen:
        print(f"\n## {module}\n", flush=True)
        runpy.run_module(module, run_name="__main__")
