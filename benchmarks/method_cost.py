"""Benchmark 2: cost of every method relative to dense training, through the real runner.

Each method's run (its dense run first, for IMP/IMP+) trains on CIFAR-shaped synthetic data (512 images, so the
numbers are about the step, not the data) for --epochs epochs; printed per method: seconds per training step
(training time / iterations, evaluation excluded) and the ratio to dense, and the whole pipeline's time relative to
dense training as in the paper's tables (IMP includes its dense run; BIMP must stay <= 1.0x).  The paper states one
ratio: LC needs 1.14x the runtime of regular training.

    .venv/bin/python benchmarks/method_cost.py --model resnet56 [--device cuda] [--epochs 4]
"""
from __future__ import annotations

import argparse
import tempfile

import torch

from sparselib.config import RunConfig, Runtime
from sparselib.methods import get_method
from sparselib.methods.base import STUDY_ORDER
from sparselib.results import collect_runs
from sparselib.runner import run

ARGS = {  # short-run settings (as in the smoke preset) for methods whose defaults assume longer runs
    "imp": {"n_phases": 1, "epochs_per_phase": 1, "schedule": "llr"},
    "imp_plus": {"n_phases": 1, "epochs_per_phase": 1, "schedule": "llr"},
    "bimp": {"n_train_budget": 2, "pruning_interval": 1},
    "cs": {"beta_final": 200.0},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="resnet56")
    ap.add_argument("--width", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch", type=int, default=128)
    a = ap.parse_args()
    base = RunConfig(setting="bench", dataset="synthetic", model=a.model, model_width=a.width, epochs=a.epochs,
                     batch_size=a.batch, lr=0.05, lr_milestones=(a.epochs - 1,), val_fraction=0.1)
    with tempfile.TemporaryDirectory() as tmp:
        rt = Runtime(results=tmp, device=a.device, progress=False)
        for m in STUDY_ORDER:
            explicit = get_method(m).explicit and m != "dense"
            run(base.replace(method=m, goal_sparsity=0.9 if explicit else 0.0, method_args=ARGS.get(m, {})), rt,
                log=lambda _: None)
        df = collect_runs(tmp)
    hist_steps = (512 - round(0.1 * 512)) // a.batch
    df["s_per_step"] = df["wall_time_s"] / (df["epochs"] * hist_steps)
    dense = df.loc[(df["method"] == "dense") & df["run_id"].isin(df["dense_run_id"])].iloc[0]
    print(f"model {a.model}, device {a.device}, torch threads {torch.get_num_threads()}, batch {a.batch}, "
          f"{a.epochs} epochs of {hist_steps} steps")
    print(f"{'method':<10}{'s/step':>9}{'x dense':>9}{'pipeline x dense':>18}")
    for m in STUDY_ORDER:
        r = dense if m == "dense" else df.loc[df["method"] == m].iloc[0]
        print(f"{m:<10}{r['s_per_step']:>9.4f}{r['s_per_step'] / dense['s_per_step']:>9.2f}"
              f"{r['relative_time']:>18.2f}")


if __name__ == "__main__":
    main()
