"""Benchmark 3: one global magnitude pruning step at WRN-28-10 scale (36.5 M prunable weights).

Times sparselib's pruning step (global threshold found layer by layer, see sparselib.masks; exact count;
masks set and applied) against PyTorch's own torch.nn.utils.prune.global_unstructured on the same weights, and
reports the extra peak memory of each as a multiple of the weights' own size (goal: at most one copy of all
weights).  "2nd step" prunes to sparsity from random masks of sparsity/2 (IMP's and GMP's steady state: earlier
masks exist and restrict the new ones).  Each measurement runs in a fresh subprocess so that peak RSS (CPU) or peak
allocated memory (CUDA) is its own.

    .venv/bin/python benchmarks/prune_step.py [--device cuda] [--model wrn28_10] [--sparsity 0.9]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def measure(kind: str, model_name: str, device: str, sparsity: float) -> dict:
    import torch

    from sparselib.masks import Masks, prune_magnitude
    from sparselib.models import build_model

    torch.manual_seed(0)
    model = build_model(model_name, 3, 100).to(device)
    masks = Masks(model)
    if kind == "sparselib (2nd step)":  # the steady state of IMP/GMP: earlier masks exist and restrict the new ones
        g = torch.Generator(device).manual_seed(1)  # made layer by layer, so the memory high-water mark stays low
        masks.set([torch.rand(p.shape, generator=g, device=device) >= sparsity / 2 for p in masks.params])
        masks.apply()
    weight_bytes = sum(p.numel() * p.element_size() for p in masks.params)
    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t = time.perf_counter()
    if kind.startswith("sparselib"):
        prune_magnitude(masks, sparsity)
    else:
        import torch.nn.utils.prune as prune

        modules = [(m, "weight") for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
        prune.global_unstructured(modules, pruning_method=prune.L1Unstructured, amount=sparsity)
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t
    peak = (torch.cuda.max_memory_allocated() if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return {"seconds": seconds, "extra_peak_bytes": peak - base, "weight_bytes": weight_bytes,
            "weights": sum(p.numel() for p in masks.params)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--model", default="wrn28_10")
    ap.add_argument("--sparsity", type=float, default=0.9)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(measure(a.child, a.model, a.device, a.sparsity)))
        return
    res = {}
    for kind in ("torch.nn.utils.prune", "sparselib", "sparselib (2nd step)"):
        out = subprocess.run([sys.executable, __file__, "--child", kind, "--device", a.device, "--model", a.model,
                              "--sparsity", str(a.sparsity)], capture_output=True, text=True, check=True)
        res[kind] = json.loads(out.stdout.strip().splitlines()[-1])
    w = res["sparselib"]
    print(f"{a.model}: {w['weights']:,} prunable weights ({w['weight_bytes'] / 2**20:.0f} MiB), sparsity "
          f"{a.sparsity}, device {a.device}")
    print(f"{'implementation':<24}{'seconds':>9}{'extra peak (x weights)':>24}")
    for kind, r in res.items():
        print(f"{kind:<24}{r['seconds']:>9.3f}{r['extra_peak_bytes'] / r['weight_bytes']:>24.2f}")
    print(f"sparselib / torch time: {w['seconds'] / res['torch.nn.utils.prune']['seconds']:.2f}")


if __name__ == "__main__":
    main()
