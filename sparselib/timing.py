"""Stopwatches for a run's phases (training, evaluation): wall-clock time, the process's own CPU time and, on CUDA,
the device time measured with CUDA events.

Wall time moves with whatever else runs on the machine (on a shared 2-core VM, ±20–50 % with a neighbour on the
other core).  A run that computes on one CPU thread is, to first order, charged only for its own work by the
process's CPU time, and a run on a GPU by the device time of its kernels; relative times computed from those
survive a busy machine (``benchmarks/relative_time.py`` measures how well).  All three are recorded for every run;
:func:`time_basis` says which one a run's relative time can use.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Iterator

import torch

__all__ = ["TRAIN_TIME_KEYS", "PhaseTime", "Stopwatch", "time_basis"]


@dataclass
class PhaseTime:
    """Seconds spent in one phase, summed over its intervals."""
    wall: float = 0.0
    cpu: float = 0.0               # time.process_time(): every thread of this process, user + system
    device: float | None = None    # CUDA kernel time between events; None off CUDA

    def __sub__(self, other: "PhaseTime") -> "PhaseTime":
        device = None if self.device is None or other.device is None else self.device - other.device
        return PhaseTime(self.wall - other.wall, self.cpu - other.cpu, device)

    def __add__(self, other: "PhaseTime") -> "PhaseTime":
        device = None if self.device is None or other.device is None else self.device + other.device
        return PhaseTime(self.wall + other.wall, self.cpu + other.cpu, device)

    def copy(self) -> "PhaseTime":
        return PhaseTime(self.wall, self.cpu, self.device)

    def as_dict(self, prefix: str) -> dict[str, float | None]:
        return {f"{prefix}_time_s": self.wall, f"{prefix}_cpu_s": self.cpu, f"{prefix}_device_s": self.device}

    @classmethod
    def from_dict(cls, d: dict, prefix: str) -> "PhaseTime":
        return cls(d.get(f"{prefix}_time_s", 0.0), d.get(f"{prefix}_cpu_s", 0.0), d.get(f"{prefix}_device_s"))


class Stopwatch:
    """Adds the wall, CPU and device time of every ``with watch():`` block to ``watch.total``.

    On CUDA the block is bracketed by two events and the end event is waited for, so a block ends with one host
    synchronisation: time whole epochs or evaluations with it, never single training steps."""

    def __init__(self, device: torch.device, total: PhaseTime | None = None):
        self.cuda = device.type == "cuda"
        self.total = total if total is not None else PhaseTime(device=0.0 if self.cuda else None)
        if self.cuda and self.total.device is None:
            self.total.device = 0.0

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        start = end = None
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            if self.cuda:
                end.record()
                end.synchronize()
                self.total.device += start.elapsed_time(end) / 1000.0
            self.total.wall += time.perf_counter() - wall
            self.total.cpu += time.process_time() - cpu


#: metrics.json key of each clock's training time
TRAIN_TIME_KEYS = {"wall": "wall_time_s", "cpu": "train_cpu_s", "device": "train_device_s"}


def time_basis(metrics: dict) -> str:
    """Which clock a run's relative time can use (from its ``metrics.json``): ``"device"`` for a CUDA run that
    recorded device time (the GPU's own time), ``"cpu"`` for a CPU run on one torch thread that recorded its CPU time
    (then it is the run's own work alone), else ``"wall"``."""
    device = str(metrics.get("device", ""))
    if device.startswith("cuda") and metrics.get("train_device_s") is not None:
        return "device"
    if device == "cpu" and metrics.get("threads") == 1 and metrics.get("train_cpu_s") is not None:
        return "cpu"
    return "wall"


def own_seconds(metrics: dict) -> float:
    """A run's training + evaluation seconds on the clock that measures its own work alone: CPU time for a CPU run
    on one torch thread (what it took is then not stretched by whatever shared its core), else wall time."""
    if time_basis(metrics) == "cpu" and metrics.get("eval_cpu_s") is not None:
        return metrics["train_cpu_s"] + metrics["eval_cpu_s"]
    return metrics["wall_time_s"] + (metrics.get("eval_time_s") or 0.0)
