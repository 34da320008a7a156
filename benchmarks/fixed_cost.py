"""The fixed cost of one run inside a sweep, phase by phase, against the run's training: starting a Dask worker,
importing torch and sparselib, reading the dataset (the first time in a worker, and again: it is cached per worker
process), building the model and the trainer, the first training step against a steady one, one epoch's
checkpoint, the final save, one evaluation of the validation and test sets.

Each phase is timed in this process (one torch thread, as a sweep worker runs), in the order a worker meets them.
The last column puts each in proportion to the run's training time (the preset's epochs at the steady step time).

    .venv/bin/python benchmarks/fixed_cost.py --preset mini
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="mini", help="the preset whose setting is measured")
    ap.add_argument("--method", default="gmp")
    a = ap.parse_args()
    rows = []

    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, sparselib.runner"], check=True)
    rows.append(("a fresh process importing torch and sparselib", time.perf_counter() - t))

    t = time.perf_counter()
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        client.submit(lambda: 1).result()
        rows.append(("starting a one-worker Dask cluster (and a first task)", time.perf_counter() - t))

    import torch

    torch.set_num_threads(1)
    from sparselib.config import Runtime
    from sparselib.presets import get_preset
    from sparselib.resolve import resolve
    from sparselib.runner import _dataset, dataset_for, model_for
    from sparselib.storage import RunFolder
    from sparselib.train import Trainer

    cfg = get_preset(a.preset).config(a.method, 0.9 if a.method != "dense" else 0.0)
    runtime = Runtime(device="cpu", progress=False)
    _dataset.cache_clear()
    t = time.perf_counter()
    data = dataset_for(cfg, runtime)
    rows.append(("reading and splitting the dataset (first run in a worker)", time.perf_counter() - t))
    t = time.perf_counter()
    dataset_for(cfg, runtime)
    rows.append(("the same for every later run of the worker (cached)", time.perf_counter() - t))
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        r = resolve(cfg)
        model = model_for(cfg, data.info)
        trainer = Trainer(cfg, r.build(), model, data, tmp, torch.device("cpu"), progress=False)
        trainer.start()
        rows.append(("building the model, the method and the trainer", time.perf_counter() - t))
        s = trainer.state
        trainer.method.on_epoch_start(s)
        lrs = trainer.method.epoch_lrs(s)
        batches = iter(s.loaders["train"])
        t = time.perf_counter()
        trainer.step(*next(batches), lrs[0])
        first = time.perf_counter() - t
        steady = []
        for i in range(1, 8):
            t = time.perf_counter()
            trainer.step(*next(batches), lrs[i])
            steady.append(time.perf_counter() - t)
        step = statistics.median(steady)
        rows.append(("the first training step, beyond a steady one", first - step))
        t = time.perf_counter()
        trainer._checkpoint()
        rows.append(("one epoch's checkpoint (written atomically, the previous kept)", time.perf_counter() - t))
        t = time.perf_counter()
        s.evaluate("val")
        rows.append(("validation set, once (every epoch)", time.perf_counter() - t))
        t = time.perf_counter()
        s.evaluate("test")
        rows.append(("test set, once (at the end only)", time.perf_counter() - t))
        folder = RunFolder(f"{tmp}/final")
        t = time.perf_counter()
        folder.save_final({k: v.detach().cpu() for k, v in model.state_dict().items()},
                          {k: v.cpu() for k, v in s.masks.as_dict().items()})
        rows.append(("the final weights and masks", time.perf_counter() - t))
    training = step * s.iters_per_epoch * cfg.epochs
    print(f"preset {a.preset}, {a.method}: {s.iters_per_epoch} steps per epoch x {cfg.epochs} epochs at "
          f"{1000 * step:.0f} ms = {training:.0f} s of training per run (one torch thread)")
    print(f"{'phase':62s} {'seconds':>8s} {'of training':>12s}")
    for name, seconds in rows:
        print(f"{name:62s} {seconds:8.2f} {100 * seconds / training:11.2f}%")


if __name__ == "__main__":
    main()
