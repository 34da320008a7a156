"""Benchmark 2: the cost of every method relative to dense training.

Step time: each method's training step (``Trainer.step``: forward, loss, backward, its hooks, optimizer) on
CIFAR-shaped synthetic data held on the device, after ``--warmup`` untimed steps, for ``--steps`` timed steps (enough
to include DPF's mask update every 16 steps).  All methods are measured in turn, ``--rounds`` times, each round with
dense again; a method's ratio is the median over rounds of (its time / dense's time in the same round), so that slow
drift of the machine cancels.  Methods that train with a fixed mask between pruning steps (IMP, IMP+, BIMP, GMP) are
measured with their mask in place at the goal sparsity.

Pipeline: the whole run relative to dense training, as in the paper's tables, from these step ratios and the epochs
of the preset's configuration (IMP counts its dense run at dense cost, then its retraining at its own step cost).
Per-epoch work (pruning steps, evaluation, checkpoints) is not included.  The paper states one such ratio: LC takes
1.14x the time of regular training.

    .venv/bin/python benchmarks/method_cost.py --model resnet56 --preset paper-c10 [--device cuda] [--batch 128]
    .venv/bin/python benchmarks/method_cost.py --model wrn16_2 --preset paper-c100 --classes 100
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
from _common import sync, synthetic_cifar

from sparselib.config import PRECISIONS, RunConfig, dense_config
from sparselib.data import DataBundle
from sparselib.masks import prune_magnitude
from sparselib.methods import method_names
from sparselib.models import build_model
from sparselib.presets import get_preset
from sparselib.resolve import resolve
from sparselib.train import Reference, Trainer

FIXED_MASK = {"imp", "imp_plus", "bimp", "gmp"}
PAPER = {"lc": 1.14}  # the only whole-run ratio the paper states


def preset_config(preset: str, method: str) -> RunConfig:
    cfgs = [c for c in get_preset(preset).configs() if c.method == method and c.seed == 0]
    return next((c for c in cfgs if c.goal_sparsity == 0.9), cfgs[0])


def step_seconds(method: str, a, data: DataBundle, device: torch.device, tmp: str) -> float:
    cfg = preset_config(a.preset, method).replace(setting="bench", batch_size=a.batch, dataset=data.info.name,
                                                  model=a.model, model_width=None, train_subset=None,
                                                  test_subset=None, precision=a.precision,
                                                  channels_last=a.channels_last)
    model = build_model(a.model, 3, data.info.num_classes)
    r = resolve(cfg)
    reference = None
    if r.reference is not None:  # the initial weights stand in for the trained dense run
        reference = Reference.from_weights(model.state_dict(), r.reference, len(data.train) // cfg.batch_size)
    trainer = Trainer(r.cfg, r.build(), model, data, f"{tmp}/{method}", device, reference=reference,
                      progress=False, compile=a.compile)
    s = trainer.state
    trainer.start()
    trainer.method.on_epoch_start(s)
    if method in FIXED_MASK:
        prune_magnitude(s.masks, cfg.goal_sparsity, s.optimizer)
    lrs = trainer.method.epoch_lrs(s)
    batches = []
    while len(batches) < a.warmup + a.steps:
        batches += list(s.loaders["train"])
    for i, (x, y) in enumerate(batches[:a.warmup]):
        trainer.step(x, y, lrs[i % len(lrs)])
    sync(device)
    t = time.perf_counter()
    for i, (x, y) in enumerate(batches[a.warmup:a.warmup + a.steps]):
        trainer.step(x, y, lrs[i % len(lrs)])
    sync(device)
    return (time.perf_counter() - t) / a.steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="resnet56")
    ap.add_argument("--classes", type=int, default=10, choices=(10, 100))
    ap.add_argument("--preset", default="paper-c10", help="whose epochs and hyper-parameters the methods use")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--methods", default=",".join(method_names()))
    ap.add_argument("--precision", default="fp32", choices=PRECISIONS)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--compile", default=None, metavar="BACKEND")
    a = ap.parse_args()
    device = torch.device(a.device)
    methods = [m for m in a.methods.split(",") if m != "dense"]
    data = synthetic_cifar(max(a.batch * 8, 1024), a.classes)
    step_s: dict[str, list[float]] = {m: [] for m in ["dense"] + methods}
    ratios: dict[str, list[float]] = {m: [] for m in methods}
    with tempfile.TemporaryDirectory() as tmp:
        step_seconds("dense", a, data, device, tmp)  # warm the process (allocator, kernels) before any figure
        for r in range(a.rounds):
            dense = step_seconds("dense", a, data, device, f"{tmp}/{r}")
            step_s["dense"].append(dense)
            for m in methods:
                t = step_seconds(m, a, data, device, f"{tmp}/{r}")
                step_s[m].append(t)
                ratios[m].append(t / dense)
                print(f"  round {r + 1}: {m:<9} {t:.4f} s/step  {t / dense:.2f}x dense", flush=True)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"\nmodel {a.model} ({a.classes} classes), {name}, torch {torch.__version__}, threads "
          f"{torch.get_num_threads()}, batch {a.batch}, {a.steps} timed steps after {a.warmup}, {a.rounds} rounds, "
          f"precision {a.precision}, channels_last {a.channels_last}, compile {a.compile}")
    print(f"{'method':<10}{'s/step':>9}{'x dense':>9}{'pipeline x dense':>18}   (pipeline epochs from {a.preset})")
    print(f"{'dense':<10}{statistics.median(step_s['dense']):>9.4f}{1.0:>9.2f}{1.0:>18.2f}")
    for m in methods:
        ratio = statistics.median(ratios[m])
        cfg = preset_config(a.preset, m)
        r = resolve(cfg)
        own = r.build().total_epochs()
        pipeline = ((r.reference.epochs if r.reference is not None else 0) + own * ratio) / dense_config(cfg).epochs
        paper = f"   paper: {PAPER[m]:.2f}x" if m in PAPER else ""
        print(f"{m:<10}{statistics.median(step_s[m]):>9.4f}{ratio:>9.2f}{pipeline:>18.2f}{paper}")


if __name__ == "__main__":
    main()
