"""Run every benchmark, print each figure with its context, and exit 1 when any goal is missed.

    python -m benchmarks.run                       # all of them (what `make bench` runs)
    python -m benchmarks.run cold_import overhead_cost   # some of them

Every figure is a ratio against a baseline measured in the same run (see benchmarks/README.md); all are
printed before the exit status says whether each met its goal.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time
import traceback

from benchmarks.common import Figure

BENCHMARKS = (
    "batch_concurrency",
    "bytes_through_function",
    "cold_import",
    "throttled_throughput",
    "overhead_cost",
    "report_scale",
    "reference_quality",
    "reference_speed",
)


def machine() -> str:
    return (
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()} "
        f"({sys.executable}), load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}",
            file=sys.stderr,
        )
        return 2
    print(machine(), flush=True)
    started = time.perf_counter()
    figures: list[Figure] = []
    errors: list[str] = []
    for name in names:
        began = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            results: list[Figure] = module.main()
        except Exception:  # noqa: BLE001 - report it with the others, and fail the run at the end
            errors.append(name)
            print(f"error: {name} failed:\n{traceback.format_exc()}", flush=True)
            continue
        for figure in results:
            print(figure.line())
            print(f"  {figure.context}")
        print(f"  ({name}: {time.perf_counter() - began:.1f} s)", flush=True)
        figures.extend(results)
    missed = [figure.name for figure in figures if not figure.met]
    print(
        f"summary: {len(figures)} figures, {len(figures) - len(missed)} met their goal"
        + (f"; missed: {', '.join(missed)}" if missed else "")
        + (f"; failed to run: {', '.join(errors)}" if errors else "")
        + f"; {time.perf_counter() - started:.0f} s; {machine()}"
    )
    return 1 if missed or errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
