"""Run the benchmarks and print their tables: `make bench` (BENCH_ARGS="--only latency" to pick)."""

from __future__ import annotations

import argparse
import os
import platform

from . import cold_start, counting, latency, overlap, pipeline, write_units
from .common import default_model

SUITES = {
    "cold-start": cold_start.run,
    "latency": latency.run,
    "overlap": overlap.run,
    "write-units": write_units.run,
    "counting": counting.run,
    "sync": pipeline.run_sync,
    "load": pipeline.run_load,
}
DEFAULT = [
    "cold-start",
    "latency",
    "overlap",
    "write-units",
    "counting",
    "sync",
]  # "load" (5,000 images, minutes) on request


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--only", choices=sorted(SUITES), action="append", help="run only these suites")
    parser.add_argument("--model", help="a .tflite model (default: the demo model)")
    args = parser.parse_args()
    model, what = (args.model, args.model) if args.model else default_model()
    print(f"# Spotter benchmarks\nmodel: {model} ({what}); {os.cpu_count()} CPUs; Python {platform.python_version()}\n")
    for name in args.only or DEFAULT:
        print(f"## {name}\n")
        print(SUITES[name](model))
        print(flush=True)


if __name__ == "__main__":
    main()
