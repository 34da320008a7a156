"""Which precision and memory layout to train a preset's model with on this CPU: the time of one training step
(forward, loss, backward, SGD) in fp32, channels_last, bf16 autocast and bf16 + channels_last (and, with
``--compile``, fp32 + channels_last and bf16 + channels_last under ``torch.compile``), measured in this process,
each against fp32.

The variants are measured in turn, ``--rounds`` times over, with ``--steps`` timed steps after a warm-up each time,
and each variant's figure is the median of its per-round medians; ratios are fp32's time over the variant's (above
1: faster).  The winner is what a preset for this machine should set (``precision``, ``channels_last`` are setting
fields: they change the numbers a run produces).  ``--threads`` sets torch's threads; ``--workers 2`` runs two
copies at once, each pinned to its own core, which is how a local CPU sweep runs (one torch thread per worker).

    .venv/bin/python benchmarks/cpu_speed.py --preset mini
    .venv/bin/python benchmarks/cpu_speed.py --preset mini --threads 2 --workers 1
    .venv/bin/python benchmarks/cpu_speed.py --model resnet56 --dataset cifar10 --threads 2
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

from sparselib.data import dataset_info
from sparselib.models import build_model
from sparselib.presets import get_preset
from sparselib.train import cpu_has_native_bf16

#: How much faster a compiled step must be than the fastest uncompiled one for compiling to be recommended.
COMPILE_MARGIN = 0.05

VARIANTS = {  # name -> (precision, channels_last, compiled)
    "fp32": ("fp32", False, False),
    "channels_last": ("fp32", True, False),
    "bf16": ("bf16", False, False),
    "bf16 + channels_last": ("bf16", True, False),
    "compile (fp32 + channels_last)": ("fp32", True, True),
    "compile (bf16 + channels_last)": ("bf16", True, True),
}


def step_times(model_name, width, info, batch, precision, channels_last, compiled, steps, warmup):
    torch.manual_seed(0)
    model = build_model(model_name, info.in_channels, info.num_classes, width=width)
    x = torch.randn(batch, info.in_channels, info.image_size, info.image_size)
    y = torch.randint(0, info.num_classes, (batch,))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=1e-4)
    forward = torch.compile(model) if compiled else model
    times = []
    for i in range(warmup + steps):
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = F.cross_entropy(forward(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure(a) -> dict[str, float]:
    torch.set_num_threads(a.threads)
    if a.preset:
        base = get_preset(a.preset).base
        model_name, width, dataset, batch = base.model, base.model_width, base.dataset, base.batch_size
    else:
        model_name, width, dataset, batch = a.model, a.width, a.dataset, a.batch
    info = dataset_info(dataset)
    names = [n for n in VARIANTS if a.compile or not VARIANTS[n][2]]
    rounds: dict[str, list[float]] = {n: [] for n in names}
    for _ in range(a.rounds):
        for n in names:
            precision, cl, compiled = VARIANTS[n]
            rounds[n].append(step_times(model_name, width, info, batch, precision, cl, compiled,
                                        a.steps, a.warmup + (3 if compiled else 0)))
    return {"model": model_name, "width": width, "dataset": dataset, "batch": batch,
            **{n: statistics.median(v) for n, v in rounds.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default=None, help="take model, width, dataset and batch from this preset")
    ap.add_argument("--model", default="resnet20")
    ap.add_argument("--width", type=int, default=None)
    ap.add_argument("--dataset", default="fashion_mnist")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2, help="copies measured at once, one per core (default 2)")
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--compile", action="store_true", help="also torch.compile (inductor; slow to compile)")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one worker's result, for the parent
    a = ap.parse_args()
    if a.json:
        print(json.dumps(measure(a)))
        return
    argv = [sys.executable, __file__, "--json"] + [x for x in sys.argv[1:]]
    cores = sorted(os.sched_getaffinity(0))
    procs = []
    for i in range(a.workers):
        pin = ["taskset", "-c", str(cores[i % len(cores)])] if a.workers > 1 else []
        procs.append(subprocess.Popen(pin + argv, stdout=subprocess.PIPE, text=True,
                                      env={**os.environ, "OMP_NUM_THREADS": str(a.threads)}))
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    r0 = results[0]
    names = [n for n in VARIANTS if n in r0]
    native = cpu_has_native_bf16()
    print(f"{r0['model']} width {r0['width'] or 16}, {r0['dataset']}, batch {r0['batch']}, {a.threads} thread(s) per "
          f"copy, {a.workers} cop{'y' if a.workers == 1 else 'ies'} at once; torch {torch.__version__}; "
          f"native bf16: {'yes' if native else 'no' if native is False else 'unknown'}")
    print(f"{'variant':32s} {'ms/step':>9s} {'x fp32':>8s} {'images/s (all copies)':>22s}")
    times = {n: statistics.mean(r[n] for r in results) for n in names}
    for n in names:
        ratio = statistics.mean(r["fp32"] / r[n] for r in results)
        print(f"{n:32s} {1000 * times[n]:9.1f} {ratio:8.2f} {a.workers * r0['batch'] / times[n]:22.0f}")
    best = min((n for n in names if not VARIANTS[n][2]), key=times.get)
    precision, cl, _ = VARIANTS[best]
    fastest_compiled = min((n for n in names if VARIANTS[n][2]), key=times.get, default=None)
    # compiling costs every run its compile time (tens of seconds on a CPU) and single measurements here vary by
    # several per cent: it is worth recommending only when clearly faster
    compile_pays = fastest_compiled is not None and times[fastest_compiled] < (1 - COMPILE_MARGIN) * times[best]
    if compile_pays:
        precision, cl, _ = VARIANTS[fastest_compiled]
    print(f"fastest here: {fastest_compiled if compile_pays else best} -> precision={precision!r}, channels_last={cl}"
          + (" (and --compile)" if compile_pays else ""))
    if fastest_compiled is not None and not compile_pays:
        print(f"torch.compile: not {100 * COMPILE_MARGIN:.0f} % faster than {best} (it costs every run its compile "
              f"time): not recommended")


if __name__ == "__main__":
    main()
