"""The study's throughput, before and after: a fixed sample of runs made the way the ``mini`` study was made (the
code at ``--baseline``, fp32 with the contiguous layout) and the way this checkout makes them (``--new-set``,
default bf16 + channels_last: what benchmarks/cpu_speed.py found fastest on this project's 2-core CPU machines, and
what the fmnist preset uses), in one invocation, at the same protocol (the same model, data, epochs and methods).
``--split`` adds a third way, this checkout in fp32 with the contiguous layout: what the code alone changed (how a
sweep hands out runs, what a run evaluates), apart from the training step's precision and layout.

The sample is dense, IMP (one-shot, LLR), GMP and CS at 90 % (CS: its penalty), seed 0, ``--epochs`` epochs, made by
a 2-worker local Dask sweep (one torch thread per worker, the default on 2 cores) into a fresh results folder, so
every run trains and every fixed cost counts: cluster and worker start, dataset load, model build, evaluation,
checkpoints.  The baseline code runs from a temporary git worktree of ``--baseline`` with the same virtual
environment.  The configurations alternate ``--rounds`` times; the figure is runs per hour over all rounds.

    .venv/bin/python benchmarks/study_throughput.py [--baseline 289d9d3] [--epochs 4] [--rounds 2] [--split]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Runs inside the tree under test (its own sparselib on PYTHONPATH); only APIs both trees have.
DRIVER = '''
import glob, json, sys, time
from sparselib.config import RunConfig, Runtime
from sparselib.resolve import resolve
from sparselib.sweep import sweep

if __name__ == "__main__":
    results, epochs, overrides = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
    # the mini study's setting (ResNet-20 width 8 on 12k Fashion-MNIST images), spelled out: a preset's name may
    # not exist in both trees
    setting = dict(setting="throughput", dataset="fashion_mnist", model="resnet20", model_width=8,
                   train_subset=12000, augment=False, epochs=epochs, batch_size=128, lr=0.1,
                   lr_milestones=(epochs // 2, (3 * epochs) // 4), weight_decay=1e-4, **overrides)
    sample = [("dense", 0.0, {}), ("imp", 0.9, {"n_phases": 1, "epochs_per_phase": 1, "schedule": "llr"}),
              ("gmp", 0.9, {"pruning_interval": 1}), ("cs", 0.0, {"penalty": 6e-5, "beta_final": 2000})]
    configs = [resolve(RunConfig(method=m, goal_sparsity=s, seed=0, method_args=args, **setting)).cfg
               for m, s, args in sample]
    t = time.perf_counter()
    report = sweep(configs, Runtime(results=results, device="cpu", progress=False), workers=2, progress=False)
    seconds = time.perf_counter() - t
    assert report.ok, report.summary()
    # the runs' own training + evaluation time as each recorded it (wall clock): the rest of the sweep's worker time
    # is fixed cost (cluster and worker start, data, model build, files) and idle workers
    own = 0.0
    for f in glob.glob(f"{results}/**/metrics.json", recursive=True):
        with open(f) as fh:
            m = json.load(fh)
        own += m.get("wall_time_s", 0.0) + (m.get("eval_time_s") or 0.0)
    print(json.dumps({"runs": len(report.outcomes), "seconds": seconds, "run_seconds": own}))
'''


def timed_sample(tree: Path, epochs: int, overrides: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        driver = Path(tmp) / "driver.py"
        driver.write_text(DRIVER)
        env = {**os.environ, "PYTHONPATH": str(tree)}
        out = subprocess.run([sys.executable, str(driver), f"{tmp}/results", str(epochs), json.dumps(overrides)],
                             cwd=tmp, env=env, capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(f"error: the sample failed in {tree}:\n{out.stderr[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", default="289d9d3", help="git revision of the code as the mini study was made")
    ap.add_argument("--new-set", default='{"channels_last": true, "precision": "bf16"}',
                    help="setting fields of the new configuration, as JSON")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--split", action="store_true", help="also this checkout in fp32, contiguous")
    a = ap.parse_args()
    new = json.loads(a.new_set)
    with tempfile.TemporaryDirectory() as tmp:
        old_tree = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(old_tree), a.baseline],
                       check=True, capture_output=True)
        try:
            ways = [("before", old_tree, {})] + ([("code", REPO, {})] if a.split else []) + [("after", REPO, new)]
            totals = {name: [0, 0.0] for name, _, _ in ways}
            for r in range(a.rounds):
                for name, tree, overrides in ways:
                    res = timed_sample(tree, a.epochs, overrides)
                    totals[name][0] += res["runs"]
                    totals[name][1] += res["seconds"]
                    print(f"round {r + 1} {name:6s}: {res['runs']} runs in {res['seconds']:.1f} s "
                          f"({3600 * res['runs'] / res['seconds']:.1f} runs/h); the runs' own training + evaluation "
                          f"{res['run_seconds']:.1f} s = {100 * res['run_seconds'] / (2 * res['seconds']):.0f} % of "
                          f"the 2 workers' time", flush=True)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(old_tree)],
                           capture_output=True)
    rate = {k: 3600 * n / s for k, (n, s) in totals.items()}
    if "code" in rate:
        print(f"code alone (this checkout, fp32, contiguous): {rate['code']:.1f} runs/h; ratio "
              f"{rate['code'] / rate['before']:.2f}x")
    print(f"before ({a.baseline}, fp32, contiguous): {rate['before']:.1f} runs/h; after (this checkout, "
          f"{new}): {rate['after']:.1f} runs/h; ratio {rate['after'] / rate['before']:.2f}x "
          f"(sample of {a.epochs}-epoch runs, 2 workers x 1 thread, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
