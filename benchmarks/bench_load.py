"""Benchmark: load and validate the whole data package.

Goal: under 0.5 s. The baseline, in the same process, is reading the same CSV files with
plain ``pandas.read_csv`` (no typing, no validation), so the ratio shows what the codebook's
checks cost. Run: ``make bench`` or ``.venv/bin/python benchmarks/bench_load.py``.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pandas as pd

import research as rs

DATA = Path(__file__).resolve().parents[1] / "data"
REPEAT = 7


def best(fn) -> float:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def baseline() -> None:
    for path in sorted(DATA.glob("*.csv")):
        pd.read_csv(path, dtype=str, keep_default_na=False)


def main() -> None:
    rs.load(DATA)  # warm: imports and first-use caches are not what is measured
    base_best, base_median = best(baseline)
    load_best, load_median = best(lambda: rs.load(DATA))
    print(
        f"baseline (pandas.read_csv of every table): best {base_best:.3f} s, "
        f"median {base_median:.3f} s"
    )
    print(
        f"research.load (typed + every rule checked): best {load_best:.3f} s, "
        f"median {load_median:.3f} s"
    )
    print(
        f"ratio load / baseline: {load_median / base_median:.2f}x; goal: under 0.5 s -> "
        f"{'met' if load_median < 0.5 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
