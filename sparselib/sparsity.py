"""Sparsity schedules: how much to prune, and when (SPEC §6). Plain Python, no torch.

* IMP: ``n_phases`` prune-retrain cycles, each pruning the same fraction of the *remaining* weights.
* GMP (Zhu & Gupta 2017): cubic schedule, pruning every ``interval`` epochs.
* BIMP: budgeted IMP, prune-retrain cycles after ``n_train_budget`` dense epochs, within the dense run's budget.

Sparsities are fractions in ``[0, 1)`` of the prunable weights. Where a formula's last value is mathematically
the goal, the goal itself is returned (``1 - (1 - s)`` is not always ``s`` in floating point).
"""

from __future__ import annotations

import math

from .schedules import _check_int

__all__ = ["bimp_cycles", "gmp_targets", "imp_prune_rate", "imp_targets"]


def _check_goal(goal: object, name: str = "goal") -> float:
    if isinstance(goal, bool) or not isinstance(goal, (int, float)) or not math.isfinite(goal) \
            or not 0.0 <= goal < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), got {goal!r}")
    return float(goal)


def imp_prune_rate(goal: float, n_phases: int) -> float:
    """Fraction of the *remaining* weights IMP prunes in each phase: ``1 - (1 - goal)**(1 / n_phases)``."""
    goal = _check_goal(goal)
    _check_int("n_phases", n_phases, 1)
    if n_phases == 1:
        return goal
    return 1.0 - (1.0 - goal) ** (1.0 / n_phases)


def imp_targets(goal: float, n_phases: int) -> list[float]:
    """Overall sparsity after each IMP phase: ``1 - (1 - goal)**((t + 1) / n_phases)``, ``t = 0 .. n_phases-1``;
    the last one is exactly ``goal``."""
    goal = _check_goal(goal)
    _check_int("n_phases", n_phases, 1)
    targets = [1.0 - (1.0 - goal) ** ((t + 1) / n_phases) for t in range(n_phases - 1)]
    return targets + [goal]


def gmp_targets(goal: float, epochs: int, interval: int) -> dict[int, float]:
    """GMP's cubic schedule (Zhu & Gupta 2017) as ``{epoch: target sparsity}``.

    Pruning happens at the *start* of epochs ``e = interval * k`` for ``k = 1 .. n`` with
    ``n = epochs // interval - 1`` (so at least ``interval`` epochs remain after the last pruning step); the target
    is ``goal - goal * (1 - e / (interval * n))**3``, reaching exactly ``goal`` at ``k = n``."""
    goal = _check_goal(goal)
    _check_int("epochs", epochs, 1)
    _check_int("interval", interval, 1)
    n = epochs // interval - 1
    if n < 1:
        raise ValueError(f"epochs must be at least 2*interval = {2 * interval} for GMP "
                         f"(got epochs={epochs}, interval={interval})")
    out = {interval * k: goal - goal * (1.0 - (interval * k) / (interval * n)) ** 3 for k in range(1, n)}
    out[interval * n] = goal
    return out


def bimp_cycles(n_epochs: int, n_train_budget: int, pruning_interval: int, goal: float
                ) -> list[tuple[int, int, float]]:
    """BIMP's prune-retrain cycles as ``(start_epoch, length_epochs, target_sparsity)``.

    ``n_cycles = (n_epochs - n_train_budget) // pruning_interval``; cycle ``t`` (0-based) starts at epoch
    ``n_train_budget + t * pruning_interval``, prunes to ``1 - (1 - goal)**((t + 1) / n_cycles)`` (exactly
    ``goal`` for the last one) and lasts ``pruning_interval`` epochs, the last cycle taking the leftover epochs
    so that the cycles end exactly at ``n_epochs``."""
    goal = _check_goal(goal)
    _check_int("n_epochs", n_epochs, 1)
    _check_int("n_train_budget", n_train_budget, 0)
    _check_int("pruning_interval", pruning_interval, 1)
    n_cycles = (n_epochs - n_train_budget) // pruning_interval
    if n_cycles < 1:
        raise ValueError(f"BIMP needs n_epochs - n_train_budget >= pruning_interval (at least one cycle), got "
                         f"n_epochs={n_epochs}, n_train_budget={n_train_budget}, "
                         f"pruning_interval={pruning_interval}")
    targets = imp_targets(goal, n_cycles)
    cycles = []
    for t in range(n_cycles):
        start = n_train_budget + t * pruning_interval
        length = pruning_interval if t < n_cycles - 1 else n_epochs - start
        cycles.append((start, length, targets[t]))
    return cycles
