"""Relative time that a busy machine cannot distort: the ratio of a method's training time to dense training's,
on wall-clock time and on the process's own CPU time, with and without a competing process.

Each measurement is a fresh process, pinned to core 0 with one torch thread, that times ``--steps`` training steps
(``Trainer.step``, after a warm-up) of the preset's setting on synthetic data of its shape.  The method and dense
are measured in every pairing of these conditions: *quiet* (nothing else running), *other core busy* (a competitor
— the same training loop, endlessly — pinned to the other core) and *same core shared* (the competitor pinned to core
0 too, as when a machine runs more processes than it has cores).  Every (run, condition) is measured ``--rounds``
times, the rounds interleaved (round 1 of everything, then round 2, ...) so that a slow spell of the machine spreads
over all of them, and each figure is the median over rounds; the spread over rounds ((max - min) / median) is
printed as the measurement's own noise.  For each pairing it prints method / dense on both clocks, and how far each
ratio moves from the quiet/quiet one.  sparselib's relative-time column uses CPU time for runs on one CPU thread
(sparselib.timing.time_basis).

    .venv/bin/python benchmarks/relative_time.py --preset fmnist --method cs [--steps 60] [--rounds 3]
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch
from _common import synthetic_like

from sparselib.data import dataset_info
from sparselib.methods import get_method
from sparselib.models import build_model
from sparselib.presets import get_preset
from sparselib.resolve import resolve
from sparselib.train import Trainer

CONDITIONS = ("quiet", "other core busy", "same core shared")


def child(a) -> None:
    torch.set_num_threads(1)
    preset = get_preset(a.preset)
    explicit = get_method(a.child).explicit and a.child != "dense"
    cfg = preset.config(a.child, a.sparsity if explicit else 0.0)  # implicit methods have no goal
    r = resolve(cfg)
    info = dataset_info(cfg.dataset)
    data = synthetic_like(info, cfg.batch_size * 8)
    model = build_model(cfg.model, info.in_channels, info.num_classes, width=cfg.model_width, dropout=cfg.dropout)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(r.cfg, r.build(), model, data, tmp, torch.device("cpu"), progress=False)
        s = trainer.state
        trainer.start()
        trainer.method.on_epoch_start(s)
        batches = list(s.loaders["train"])
        step = lambda i: trainer.step(*batches[i % len(batches)], cfg.lr)  # noqa: E731
        for i in range(a.warmup):
            step(i)
        if a.forever:
            for i in itertools.count():
                step(i)
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(a.steps):
            step(i)
        print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}))


def timed(a, method: str, condition: str) -> dict[str, float]:
    me = [sys.executable, __file__, "--preset", a.preset, "--sparsity", str(a.sparsity), "--steps", str(a.steps),
          "--warmup", str(a.warmup)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    rival = None
    if condition != "quiet":
        core = "0" if condition == "same core shared" else "1"
        rival = subprocess.Popen(["taskset", "-c", core] + me + ["--child", method, "--forever"], env=env,
                                 stdout=subprocess.DEVNULL)
        time.sleep(a.rival_start)  # let the competitor reach its training loop
    try:
        out = subprocess.run(["taskset", "-c", "0"] + me + ["--child", method], env=env, capture_output=True,
                             text=True, check=True).stdout
    finally:
        if rival is not None:
            rival.kill()
            rival.wait()
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="fmnist")
    ap.add_argument("--method", default="cs")
    ap.add_argument("--sparsity", type=float, default=0.9, help="goal sparsity of an explicit method")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3, help="measurements per run and condition (median taken)")
    ap.add_argument("--rival-start", type=float, default=8.0, help=argparse.SUPPRESS)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--forever", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a)
        return
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("error: needs two cores (the competitor runs on the other one)")
    if a.rounds < 1:
        raise SystemExit(f"error: --rounds {a.rounds}: must be at least 1")
    keys = [(m, c) for m in (a.method, "dense") for c in CONDITIONS]
    samples: dict[tuple[str, str], list[dict[str, float]]] = {k: [] for k in keys}
    for _ in range(a.rounds):
        for k in keys:
            samples[k].append(timed(a, *k))
    t = {k: {c: statistics.median(x[c] for x in v) for c in ("wall", "cpu")} for k, v in samples.items()}
    noise = {c: max((max(x[c] for x in v) - min(x[c] for x in v)) / t[k][c] for k, v in samples.items())
             for c in ("wall", "cpu")}
    print(f"preset {a.preset}: {a.method} vs dense, {a.steps} steps each, one torch thread, pinned to core 0, "
          f"median of {a.rounds} interleaved rounds")
    print(f"{'method measured':18s} {'dense measured':18s} {'wall ratio':>11s} {'moved':>7s} {'CPU ratio':>10s} "
          f"{'moved':>7s}")
    base = {k: t[(a.method, 'quiet')][k] / t[('dense', 'quiet')][k] for k in ("wall", "cpu")}
    worst = {"wall": 0.0, "cpu": 0.0}
    other = {"wall": 0.0, "cpu": 0.0}  # pairings with no shared core: quiet or the other core busy on either side
    for cm, cd in itertools.product(CONDITIONS, CONDITIONS):
        r = {k: t[(a.method, cm)][k] / t[("dense", cd)][k] for k in ("wall", "cpu")}
        moved = {k: r[k] / base[k] - 1 for k in r}
        for k in worst:
            worst[k] = max(worst[k], abs(moved[k]))
            if "same core shared" not in (cm, cd):
                other[k] = max(other[k], abs(moved[k]))
        print(f"{cm:18s} {cd:18s} {r['wall']:11.3f} {100 * moved['wall']:+6.1f}% {r['cpu']:10.3f} "
              f"{100 * moved['cpu']:+6.1f}%")
    print(f"largest move from quiet/quiet: wall {100 * worst['wall']:.1f} %, CPU {100 * worst['cpu']:.1f} %")
    print(f"  with at most the other core busy: wall {100 * other['wall']:.1f} %, CPU {100 * other['cpu']:.1f} %")
    print(f"spread of one measurement over the rounds (largest (max - min) / median): wall "
          f"{100 * noise['wall']:.1f} %, CPU {100 * noise['cpu']:.1f} %")
    for c in CONDITIONS:
        print(f"  dense, {c:18s}: wall {t[('dense', c)]['wall']:.2f} s, CPU {t[('dense', c)]['cpu']:.2f} s")


if __name__ == "__main__":
    main()
