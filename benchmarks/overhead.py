"""Benchmark 1: library overhead of one dense epoch through sparselib's loop vs a plain hand-written PyTorch loop.

Both train the same model from the same initial weights on the same uint8 data tensors (the `mini` setting's
Fashion-MNIST subset, or synthetic data of the same shape with --synthetic), with the same SGD optimizer, batch
size and per-iteration learning rates; the plain loop does its own shuffling and uint8 -> normalised float
conversion per batch, as a hand-written loop would.  sparselib's time is its recorded training time (the epoch's
hooks and steps and the loss checks; evaluation and the checkpoint written after the epoch are not in it).  Each
is measured --repeat times in pairs, alternating which goes first; printed: the ratio of the minima and the median
of the per-pair ratios (on a shared VM single epochs vary by +-10 %, so both are given).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/overhead.py [--synthetic | --cifar-shaped] [--device cuda]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F

from _common import sync, synthetic_cifar

from sparselib.config import Runtime
from sparselib.presets import get_preset
from sparselib.resolve import resolve
from sparselib.runner import dataset_for, model_for
from sparselib.train import Trainer


def plain_epoch(cfg, data, device, state) -> float:
    model = model_for(cfg, data.info).to(device)
    model.load_state_dict(state)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                          weight_decay=cfg.weight_decay)
    x_all, y_all = data.train.x.to(device), data.train.y.to(device)
    mean = torch.tensor(data.info.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(data.info.std, device=device).view(1, -1, 1, 1)
    n, b = len(y_all), cfg.batch_size
    g = torch.Generator().manual_seed(0)
    model.train()
    sync(device)
    t = time.perf_counter()
    perm = torch.randperm(n, generator=g).to(device)
    for i in range(n // b):
        idx = perm[i * b:(i + 1) * b]
        x = (x_all[idx].float() / 255 - mean) / std
        loss = F.cross_entropy(model(x), y_all[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    sync(device)
    return time.perf_counter() - t


def sparselib_epoch(cfg, data, device, state) -> float:
    model = model_for(cfg, data.info)
    model.load_state_dict(state)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, resolve(cfg).build(), model, data, tmp, device, progress=False)
        return trainer.fit()["train_time_s"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--synthetic", action="store_true", help="synthetic data instead of Fashion-MNIST")
    ap.add_argument("--cifar-shaped", action="store_true",
                    help="ResNet-56 on 10,000 CIFAR-shaped synthetic images (the GPU measurement the issue asks for)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=9)
    a = ap.parse_args()
    cfg = get_preset("mini").config("dense").replace(epochs=1, lr_milestones=())
    if a.synthetic:
        cfg = cfg.replace(dataset="synthetic", train_subset=None)
    device = torch.device(a.device)
    if a.cifar_shaped:
        cfg = cfg.replace(dataset="cifar10", model="resnet56", model_width=None, train_subset=None)
        data = synthetic_cifar(10_000, 10)
    else:
        data = dataset_for(cfg, Runtime())
    state = model_for(cfg, data.info).state_dict()
    plain, lib = [], []
    for r in range(a.repeat):
        if r % 2:
            lib.append(sparselib_epoch(cfg, data, device, state))
            plain.append(plain_epoch(cfg, data, device, state))
        else:
            plain.append(plain_epoch(cfg, data, device, state))
            lib.append(sparselib_epoch(cfg, data, device, state))
    p, s = min(plain), min(lib)
    print(f"setting: {cfg.dataset}, {cfg.model} width {cfg.model_width}, batch {cfg.batch_size}, "
          f"{len(data.train.y)} images, device {device}, torch threads {torch.get_num_threads()}")
    print(f"plain PyTorch loop  {p:8.2f} s/epoch   (all: {', '.join(f'{x:.2f}' for x in plain)})")
    print(f"sparselib loop      {s:8.2f} s/epoch   (all: {', '.join(f'{x:.2f}' for x in lib)})")
    paired = statistics.median(b / a for a, b in zip(plain, lib))
    print(f"overhead            {100 * (s / p - 1):+8.1f} %   (ratio of minima; goal: <= +3 %)")
    print(f"overhead            {100 * (paired - 1):+8.1f} %   (median of {len(plain)} paired ratios)")


if __name__ == "__main__":
    main()
