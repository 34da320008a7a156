"""Layer-wise allocation: how much of each layer to prune when the network as a whole goes to sparsity ``s``.

One small function per rule, chosen by name (:data:`ALLOCATIONS`); each returns boolean keep-masks for the prunable
weights, pruning by magnitude inside the budget it gives each layer, and keeps exactly ``n − round(s·n)`` weights in
total.  With ``current`` masks, already pruned weights are pruned first, so masks only shrink.

* ``global`` — one magnitude threshold over all prunable weights (the paper's and SPEC's default);
* ``uniform`` — every layer pruned to ``s`` (±1 weight, so that the total is exact);
* ``erk`` — Erdős–Rényi-kernel densities (Evci et al. 2020, "Rigging the Lottery"): layer ``l`` keeps a fraction
  ``ε · (Σ dims) / (Π dims)`` of its weights (a conv's dims: out, in, kernel height, kernel width), with ``ε`` chosen so
  the total is right and layers that would exceed density 1 kept dense (ε re-solved for the rest);
* ``lamp`` — layer-adaptive magnitude pruning (Lee et al. 2021): each weight's score is ``w² / Σ w'²`` over the weights
  of its layer at least as large as it; one global threshold over these scores.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

from .topk import keep_largest, n_kept

Masks = list[torch.Tensor]


def _exclude(current: Sequence[torch.Tensor] | None) -> list[torch.Tensor] | None:
    return None if current is None else [~c for c in current]


def global_masks(weights: Sequence[torch.Tensor], sparsity: float, current=None, low_memory: bool = True) -> Masks:
    n = sum(w.numel() for w in weights)
    return keep_largest(list(weights), n_kept(n, sparsity), exclude=_exclude(current), low_memory=low_memory)


def _per_layer(weights: Sequence[torch.Tensor], counts: Sequence[int], current) -> Masks:
    exclude = _exclude(current) or [None] * len(weights)
    return [keep_largest([w], k, exclude=None if e is None else [e])[0] for w, k, e in zip(weights, counts, exclude)]


def apportion(shares: Sequence[float], sizes: Sequence[int], total: int) -> list[int]:
    """Integer keep-counts close to ``shares`` (real numbers, each within [0, size]) that add up to ``total``
    exactly: floor every share, then give the remaining units to the largest fractional parts (earlier layers first
    on ties), never above a layer's size."""
    counts = [min(int(math.floor(x)), size) for x, size in zip(shares, sizes)]
    left = total - sum(counts)
    order = sorted(range(len(shares)), key=lambda i: (-(shares[i] - math.floor(shares[i])), i))
    while left > 0:
        progressed = False
        for i in order:
            if left and counts[i] < sizes[i]:
                counts[i] += 1
                left -= 1
                progressed = True
        if not progressed:
            raise ValueError(f"cannot keep {total} weights in layers of sizes {list(sizes)}")
    while left < 0:  # only if shares overshoot (not for the rules below)
        for i in reversed(order):
            if left and counts[i] > 0:
                counts[i] -= 1
                left += 1
    return counts


def uniform_masks(weights: Sequence[torch.Tensor], sparsity: float, current=None, low_memory: bool = True) -> Masks:
    sizes = [w.numel() for w in weights]
    total = n_kept(sum(sizes), sparsity)
    return _per_layer(weights, apportion([(1.0 - sparsity) * n for n in sizes], sizes, total), current)


def erk_densities(shapes: Sequence[Sequence[int]], density: float) -> list[float]:
    """ERK density of each layer for an overall ``density``: ``ε · Σdims / Πdims``, capped at 1 (capped layers stay
    dense and ε is solved again over the others)."""
    sizes = [math.prod(s) for s in shapes]
    raw = [sum(s) / math.prod(s) for s in shapes]
    dense: set[int] = set()
    while True:
        budget = density * sum(sizes) - sum(sizes[i] for i in dense)
        scale = sum(raw[i] * sizes[i] for i in range(len(sizes)) if i not in dense)
        eps = budget / scale if scale > 0 else 0.0
        over = {i for i in range(len(sizes)) if i not in dense and eps * raw[i] > 1.0}
        if not over:
            return [1.0 if i in dense else eps * raw[i] for i in range(len(sizes))]
        dense |= over


def erk_masks(weights: Sequence[torch.Tensor], sparsity: float, current=None, low_memory: bool = True) -> Masks:
    sizes = [w.numel() for w in weights]
    total = n_kept(sum(sizes), sparsity)
    densities = erk_densities([tuple(w.shape) for w in weights], total / sum(sizes))
    return _per_layer(weights, apportion([d * n for d, n in zip(densities, sizes)], sizes, total), current)


@torch.no_grad()
def lamp_scores(weight: torch.Tensor) -> torch.Tensor:
    """LAMP score of every entry: ``w_u² / Σ_{v: |w_v| ≥ |w_u|} w_v²`` (ties ranked by position), shaped like
    ``weight``."""
    sq = weight.detach().float().reshape(-1).square()
    order = torch.argsort(sq, stable=True)
    sorted_sq = sq[order]
    tail = torch.flip(torch.cumsum(torch.flip(sorted_sq, (0,)), 0), (0,))  # Σ of the entries from here to the end
    scores = torch.empty_like(sq)
    scores[order] = torch.where(tail > 0, sorted_sq / tail.clamp_min(torch.finfo(tail.dtype).tiny),
                                torch.zeros_like(tail))
    return scores.view(weight.shape)


def lamp_masks(weights: Sequence[torch.Tensor], sparsity: float, current=None, low_memory: bool = True) -> Masks:
    n = sum(w.numel() for w in weights)
    scores = [lamp_scores(w if c is None else w * c) for w, c in zip(weights, current or [None] * len(weights))]
    return keep_largest(scores, n_kept(n, sparsity), exclude=_exclude(current), low_memory=low_memory)


#: name -> ``(weights, sparsity, current=None, low_memory=True) -> keep-masks``
ALLOCATIONS: dict[str, Callable[..., Masks]] = {
    "global": global_masks,
    "uniform": uniform_masks,
    "erk": erk_masks,
    "lamp": lamp_masks,
}


def check_allocation(name: object) -> str:
    if name not in ALLOCATIONS:
        raise ValueError(f"allocation={name!r} is unknown: choose one of {', '.join(ALLOCATIONS)}")
    return name  # type: ignore[return-value]


def magnitude_masks(weights: Sequence[torch.Tensor], sparsity: float, *, allocation: str = "global",
                    current: Sequence[torch.Tensor] | None = None, low_memory: bool = True) -> Masks:
    """Keep-masks for a magnitude prune of ``weights`` to overall ``sparsity`` under ``allocation``.
    ``low_memory=False`` makes no host synchronisation (for pruning inside a training step)."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity={sparsity!r} must lie in [0, 1)")
    return ALLOCATIONS[check_allocation(allocation)](list(weights), sparsity, current, low_memory)
