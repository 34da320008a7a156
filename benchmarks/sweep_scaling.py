"""Benchmark 5: a `smoke` sweep on a local Dask cluster with 1 vs 2 workers (runs per minute, and the ratio).

Each worker runs one run at a time with cores / workers torch threads (sparselib's default).  Fresh results
folders, so every run trains.

    .venv/bin/python benchmarks/sweep_scaling.py [--workers 1 2]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

from sparselib.config import Runtime
from sparselib.presets import get_preset
from sparselib.sweep import sweep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    a = ap.parse_args()
    configs = get_preset("smoke").configs()
    rates = {}
    for n in a.workers:
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            report = sweep(configs, Runtime(results=tmp, device="cpu", progress=False), workers=n, progress=False)
            seconds = time.perf_counter() - t
        assert report.ok, report.summary()
        rates[n] = len(report.outcomes) / seconds * 60
        print(f"{n} worker(s), {max(1, (os.cpu_count() or 1) // n)} torch thread(s) each: {len(report.outcomes)} "
              f"runs in {seconds:.1f} s = {rates[n]:.1f} runs/min (cluster start-up included)")
    base = rates[a.workers[0]]
    for n in a.workers[1:]:
        print(f"throughput {n} vs {a.workers[0]} worker(s): {rates[n] / base:.2f}x on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
