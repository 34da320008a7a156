"""Learning-rate schedules, one value per iteration.

Every schedule here is a plain ``list[float]`` whose index is the iteration number, so the training loop only has
to look up ``lrs[iteration]``. Nothing in this module needs torch.

Two families:

* **Dense schedules** (:func:`dense_schedule`, registry :data:`DENSE_SCHEDULES`): the learning rate of ordinary
  dense training (SPEC §4) and of BIMP's dense phase (linear decay to 0, SPEC §6).
* **Retraining schedules** (:func:`retrain_schedule`, registry :data:`RETRAIN_SCHEDULES`): the schedules of one
  IMP retraining phase (SPEC §6: FT, LRW, SLR, CLR, LLR, ALLR), built from the recorded per-iteration learning
  rates of the dense run.

Conventions of the retraining schedules (SPEC §6, followed to the letter):

* ``maxLR = max(dense_lrs)``; ``minLR`` is the dense run's smallest learning rate *after its warm-up*, defined
  here as ``min(dense_lrs[k:])`` where ``k`` is the **first** index of the maximum. A dense warm-up (which rises
  to the maximum) therefore never counts towards ``minLR``.
* ``T`` is the number of retraining iterations of the phase. Schedules with a warm-up spend the first
  ``W = floor(0.1 * T)`` iterations (computed exactly as ``T // 10``; so ``T < 10`` means no warm-up) rising from
  0 to the start value ``eta`` along a half-cosine: warm-up iteration ``j`` is ``eta * (1 - cos(pi * j / W)) / 2``
  (``j = 0`` gives exactly 0). The main phase fills the remaining ``R = T - W`` iterations, indexed
  ``i = 0 .. R-1`` with no off-by-one shift.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "DENSE_SCHEDULES",
    "RETRAIN_SCHEDULES",
    "RetrainContext",
    "RetrainSchedule",
    "FT",
    "LRW",
    "SLR",
    "CLR",
    "LLR",
    "ALLR",
    "allr_start",
    "constant_schedule",
    "cosine_schedule",
    "dense_schedule",
    "linear_schedule",
    "lr_bounds",
    "multistep_schedule",
    "retrain_schedule",
    "warmup_length",
    "warmup_values",
]


# --------------------------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------------------------

def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return value


def _check_nonneg_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0.0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


# --------------------------------------------------------------------------------------------------------------
# dense schedules
# --------------------------------------------------------------------------------------------------------------

def multistep_schedule(lr: float, epochs: int, iters_per_epoch: int, *, milestones: tuple[int, ...] = (),
                       gamma: float = 0.1) -> list[float]:
    """Step decay: iteration ``i`` of epoch ``e = i // iters_per_epoch`` gets ``lr * gamma**m``, with ``m`` the
    number of milestones ``<= e`` (milestones are epochs, so a milestone at 100 means epoch 100 — the 101st —
    is the first one at the decayed value, as in ``torch.optim.lr_scheduler.MultiStepLR`` stepped per epoch)."""
    ms = tuple(milestones)
    for m in ms:
        _check_int("milestone", m, 0)
    return [lr * gamma ** sum(1 for m in ms if m <= i // iters_per_epoch)
            for i in range(epochs * iters_per_epoch)]


def cosine_schedule(lr: float, epochs: int, iters_per_epoch: int, **_: object) -> list[float]:
    """Cosine annealing ``lr * (1 + cos(pi * i / T)) / 2`` over ``T = epochs * iters_per_epoch`` iterations."""
    T = epochs * iters_per_epoch
    return [lr * (1.0 + math.cos(math.pi * i / T)) / 2.0 for i in range(T)]


def linear_schedule(lr: float, epochs: int, iters_per_epoch: int, **_: object) -> list[float]:
    """Linear decay ``lr * (1 - i / T)`` over ``T = epochs * iters_per_epoch`` iterations (towards 0, the value
    0 itself would be iteration ``T``, one past the end). BIMP's dense phase uses it."""
    T = epochs * iters_per_epoch
    return [lr * (1.0 - i / T) for i in range(T)]


def constant_schedule(lr: float, epochs: int, iters_per_epoch: int, **_: object) -> list[float]:
    """The same ``lr`` at every iteration."""
    return [float(lr)] * (epochs * iters_per_epoch)


def _multistep_entry(lr: float, epochs: int, iters_per_epoch: int, *, milestones: tuple[int, ...] = (),
                     gamma: float = 0.1, **_: object) -> list[float]:
    return multistep_schedule(lr, epochs, iters_per_epoch, milestones=milestones, gamma=gamma)


#: name -> function ``(lr, epochs, iters_per_epoch, *, milestones, gamma) -> list[float]`` (no warm-up; the
#: warm-up is applied by :func:`dense_schedule`). Only "multistep" looks at ``milestones`` and ``gamma``.
DENSE_SCHEDULES: dict[str, Callable[..., list[float]]] = {
    "multistep": _multistep_entry,
    "cosine": cosine_schedule,
    "linear": linear_schedule,
    "constant": constant_schedule,
}


def dense_schedule(kind: str, lr: float, epochs: int, iters_per_epoch: int, *,
                   milestones: tuple[int, ...] = (), gamma: float = 0.1, warmup_epochs: int = 0) -> list[float]:
    """Per-iteration learning rates of a dense run: ``epochs * iters_per_epoch`` values.

    ``kind`` is one of :data:`DENSE_SCHEDULES` ("multistep", "cosine", "linear", "constant"); ``milestones``
    (epochs) and ``gamma`` are used by "multistep" only and ignored otherwise.

    Warm-up: with ``W = warmup_epochs * iters_per_epoch`` iterations, iteration ``i < W`` gets
    ``lr * (i + 1) / W`` (a linear ramp ending at exactly ``lr``). The warm-up **replaces** the first ``W``
    iterations of the schedule: the schedule keeps its own absolute positions (iteration ``i >= W`` has the value
    the schedule would have had at ``i`` without warm-up) and the total length stays ``epochs * iters_per_epoch``.
    """
    if kind not in DENSE_SCHEDULES:
        raise ValueError(f"unknown dense schedule kind {kind!r}; allowed: {sorted(DENSE_SCHEDULES)}")
    _check_int("epochs", epochs, 1)
    _check_int("iters_per_epoch", iters_per_epoch, 1)
    _check_int("warmup_epochs", warmup_epochs, 0)
    lr = _check_nonneg_float("lr", lr)
    gamma = _check_nonneg_float("gamma", gamma)
    if warmup_epochs > epochs:
        raise ValueError(f"warmup_epochs must be <= epochs ({epochs}), got {warmup_epochs!r}")
    lrs = DENSE_SCHEDULES[kind](lr, epochs, iters_per_epoch, milestones=tuple(milestones), gamma=gamma)
    W = warmup_epochs * iters_per_epoch
    for i in range(W):
        lrs[i] = lr * (i + 1) / W
    return lrs


# --------------------------------------------------------------------------------------------------------------
# retraining schedules
# --------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RetrainContext:
    """What ALLR needs to know about the pruning step that precedes a retraining phase."""

    distance: float = 0.0          # d = ||θ − θ_pruned||₂ / ||θ||₂ of this pruning step (all parameters)
    pruned_fraction: float = 0.0   # p = fraction pruned in this step
    retrain_epochs: float = 0.0    # E_rt of the phase
    train_epochs: float = 0.0      # E_train dense epochs

    def __post_init__(self) -> None:
        for name in ("distance", "pruned_fraction", "retrain_epochs", "train_epochs"):
            _check_nonneg_float(name, getattr(self, name))
        if self.pruned_fraction > 1.0:
            raise ValueError(f"pruned_fraction must be in [0, 1], got {self.pruned_fraction!r}")


def lr_bounds(dense_lrs: Sequence[float]) -> tuple[float, float]:
    """``(maxLR, minLR)`` of a dense run: ``maxLR = max(dense_lrs)``; ``minLR = min(dense_lrs[k:])`` with ``k`` the
    first index of the maximum, i.e. the smallest learning rate after the warm-up (if any)."""
    lrs = [float(x) for x in dense_lrs]
    if not lrs:
        raise ValueError("dense_lrs must not be empty")
    for x in lrs:
        if not math.isfinite(x) or x < 0.0:
            raise ValueError(f"dense_lrs must hold finite numbers >= 0, got {x!r}")
    max_lr = max(lrs)
    k = lrs.index(max_lr)
    return max_lr, min(lrs[k:])


def warmup_length(T: int) -> int:
    """``W = floor(0.1 * T)`` warm-up iterations, computed exactly as ``T // 10`` (0 for ``T < 10``)."""
    _check_int("T", T, 1)
    return T // 10


def warmup_values(W: int, eta: float) -> list[float]:
    """Half-cosine warm-up from 0 towards ``eta``: value ``j`` (``0 <= j < W``) is ``eta*(1 - cos(pi*j/W))/2``."""
    return [eta * (1.0 - math.cos(math.pi * j / W)) / 2.0 for j in range(W)]


def allr_start(maxLR: float, ctx: RetrainContext | None) -> float:
    """ALLR's start value ``clip(d / sqrt(p) * maxLR, min(E_rt / E_train, 1) * maxLR, maxLR)`` (SPEC §6).

    Needs ``ctx`` with ``pruned_fraction > 0`` and ``train_epochs > 0``."""
    if ctx is None:
        raise ValueError("ALLR needs a RetrainContext (distance, pruned_fraction, retrain_epochs, train_epochs)")
    if ctx.pruned_fraction <= 0.0:
        raise ValueError(f"ALLR needs ctx.pruned_fraction > 0, got {ctx.pruned_fraction!r}")
    if ctx.train_epochs <= 0.0:
        raise ValueError(f"ALLR needs ctx.train_epochs > 0, got {ctx.train_epochs!r}")
    maxLR = _check_nonneg_float("maxLR", maxLR)
    raw = ctx.distance / math.sqrt(ctx.pruned_fraction) * maxLR
    lower = min(ctx.retrain_epochs / ctx.train_epochs, 1.0) * maxLR
    return min(max(raw, lower), maxLR)


class RetrainSchedule:
    """Base class: a retraining schedule built from the dense run's per-iteration learning rates.

    Subclasses set ``name`` and ``uses_warmup`` and implement :meth:`start_value` (``eta``, the value the warm-up
    rises to) and :meth:`main` (the ``R`` values after the warm-up)."""

    name: ClassVar[str] = ""
    uses_warmup: ClassVar[bool] = False

    def __init__(self, dense_lrs: Sequence[float], ctx: RetrainContext | None = None) -> None:
        self.dense_lrs = [float(x) for x in dense_lrs]
        self.max_lr, self.min_lr = lr_bounds(self.dense_lrs)
        self.ctx = ctx

    def start_value(self) -> float:
        return self.max_lr

    def main(self, R: int, eta: float) -> list[float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def build(self, T: int) -> list[float]:
        """The ``T`` per-iteration learning rates of one retraining phase."""
        _check_int("T", T, 1)
        W = warmup_length(T) if self.uses_warmup else 0
        eta = self.start_value()
        return warmup_values(W, eta) + self.main(T - W, eta)


class FT(RetrainSchedule):
    """FT: fine-tuning at the constant final (minimal) learning rate of dense training (Han et al. 2015)."""

    name = "ft"
    uses_warmup = False

    def start_value(self) -> float:
        return self.min_lr

    def main(self, R: int, eta: float) -> list[float]:
        return [eta] * R


class LRW(RetrainSchedule):
    """LRW: learning-rate rewinding, replaying the last T iterations of the dense schedule (Renda et al. 2020)."""

    name = "lrw"
    uses_warmup = False

    def main(self, R: int, eta: float) -> list[float]:
        n = len(self.dense_lrs)
        if R > n:
            raise ValueError(f"LRW cannot replay the last T={R} iterations of a dense schedule with only {n} "
                             f"iterations; use T <= {n}")
        return self.dense_lrs[n - R:]


class SLR(RetrainSchedule):
    """SLR: scaled learning-rate restarting, the whole dense schedule compressed into the phase (Le & Hua 2021); the
    dense run's own warm-up (the iterations before its first maximum) is replaced by maxLR before compressing, as the
    authors' code does."""

    name = "slr"
    uses_warmup = True

    def main(self, R: int, eta: float) -> list[float]:
        n = len(self.dense_lrs)
        k = self.dense_lrs.index(self.max_lr)
        lrs = [self.max_lr] * k + self.dense_lrs[k:]
        return [lrs[i * n // R] for i in range(R)]


class CLR(RetrainSchedule):
    """CLR: cosine learning-rate restarting from maxLR down to minLR (Le & Hua 2021)."""

    name = "clr"
    uses_warmup = True

    def main(self, R: int, eta: float) -> list[float]:
        lo = self.min_lr
        return [lo + (eta - lo) * (1.0 + math.cos(math.pi * i / R)) / 2.0 for i in range(R)]


class LLR(RetrainSchedule):
    """LLR: linear learning-rate restarting from maxLR decaying linearly towards 0 (Zimmer et al. 2023)."""

    name = "llr"
    uses_warmup = True

    def main(self, R: int, eta: float) -> list[float]:
        return [eta * (1.0 - i / R) for i in range(R)]


class ALLR(LLR):
    """ALLR: adaptive linear learning-rate restarting, LLR with a start value set by the pruning step
    (Zimmer et al. 2023)."""

    name = "allr"
    uses_warmup = True

    def start_value(self) -> float:
        return allr_start(self.max_lr, self.ctx)


#: name -> schedule class.
RETRAIN_SCHEDULES: dict[str, type[RetrainSchedule]] = {cls.name: cls for cls in (FT, LRW, SLR, CLR, LLR, ALLR)}


def retrain_schedule(name: str, T: int, dense_lrs: Sequence[float], ctx: RetrainContext | None = None
                     ) -> list[float]:
    """The ``T`` per-iteration learning rates of one retraining phase with schedule ``name`` (one of
    :data:`RETRAIN_SCHEDULES`, matched case-insensitively). ``ctx`` is required by "allr" only."""
    key = name.lower() if isinstance(name, str) else name
    if key not in RETRAIN_SCHEDULES:
        raise ValueError(f"unknown retraining schedule {name!r}; allowed: {sorted(RETRAIN_SCHEDULES)}")
    _check_int("T", T, 1)
    return RETRAIN_SCHEDULES[key](dense_lrs, ctx).build(T)
