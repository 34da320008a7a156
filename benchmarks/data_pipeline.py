"""Benchmark 4: the in-memory augmented loader against the training step it feeds.

CIFAR-shaped data (synthetic uint8 images, 10k of them) held on the device; the loader shuffles, crops (padding 4),
flips and normalises whole batches as tensor ops.  Printed: loader batches/s alone, ResNet-56 training steps/s on
pre-made batches, and the ratio loader time / step time (below 1: the loader is never the bottleneck).

    .venv/bin/python benchmarks/data_pipeline.py [--device cuda] [--model resnet56] [--batch 128]
"""
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from _common import sync, synthetic_cifar

from sparselib.data import TensorLoader
from sparselib.models import build_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--model", default="resnet56")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    a = ap.parse_args()
    device = torch.device(a.device)
    data = synthetic_cifar(10_000)
    loader = TensorLoader(data.train, data.info, a.batch, train=True, device=device, seed=0)
    sync(device)
    t = time.perf_counter()
    n = 0
    for x, y in loader:
        n += 1
    sync(device)
    load_s = (time.perf_counter() - t) / n
    model = build_model(a.model, 3, 10).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    batches = [(x, y) for (x, y), _ in zip(loader, range(a.steps + 3))]

    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for x, y in batches[:3]:
        step(x, y)
    sync(device)
    t = time.perf_counter()
    for x, y in batches[3:]:
        step(x, y)
    sync(device)
    step_s = (time.perf_counter() - t) / (len(batches) - 3)
    print(f"device {device}, torch threads {torch.get_num_threads()}, batch {a.batch}, model {a.model}")
    print(f"loader (crop + flip + normalise): {1 / load_s:10.1f} batches/s")
    print(f"training step:                    {1 / step_s:10.1f} steps/s")
    print(f"loader time / step time:          {load_s / step_s:10.3f}  (< 1: the loader is not the bottleneck)")


if __name__ == "__main__":
    main()
