"""Training-step time inside a Dask worker vs a plain process (why sparselib.sweep calls mallopt in its workers).

Dask's nanny starts worker processes with MALLOC_TRIM_THRESHOLD_=65536, which also pins glibc's mmap threshold at
128 KiB, so every activation and gradient tensor of a CPU training step is mmap'ed and unmapped again.  This script
times SGD steps of the `mini` model (ResNet-20, width 8, batch 128 of 1x28x28) with one torch thread:

  plain     in this process (the baseline)
  dask      in a Dask LocalCluster worker, Dask's defaults
  sparselib in a Dask worker after sparselib.sweep._undo_dask_malloc_trim() (what every sweep run does)

and prints seconds per step and the ratio to the baseline.  Run it alone on an idle machine:

    OMP_NUM_THREADS=1 taskset -c 0 .venv/bin/python benchmarks/dask_worker.py
"""
from __future__ import annotations

import time

import torch


def step_seconds(fix: bool = False, n: int = 30) -> float:
    if fix:
        from sparselib.sweep import _undo_dask_malloc_trim

        _undo_dask_malloc_trim()
    from sparselib.models import build_model

    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = build_model("resnet20", 1, 10, width=8)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    x, y = torch.randn(128, 1, 28, 28), torch.randint(0, 10, (128,))

    def step():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    t = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - t) / n


def main() -> None:
    from distributed import Client, LocalCluster

    plain = step_seconds()
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        dask_default = client.submit(step_seconds, False, pure=False).result()
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:  # a fresh worker: mallopt cannot be undone within one process
        fixed = client.submit(step_seconds, True, pure=False).result()
    print(f"{'where':<28}{'s/step':>10}{'x plain':>10}")
    for name, t in (("plain process", plain), ("Dask worker (defaults)", dask_default),
                    ("Dask worker + sparselib fix", fixed)):
        print(f"{name:<28}{t:>10.4f}{t / plain:>10.2f}")


if __name__ == "__main__":
    main()
