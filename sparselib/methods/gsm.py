"""GSM: Global Sparse Momentum SGD (Ding et al. 2019, "Global Sparse Momentum SGD for Pruning Very Deep Neural
Networks", NeurIPS 2019), as used by Zimmer, Spiegel & Pokutta 2023 (SPEC §6).

Every step, only the ``Q = n − round(s·n)`` prunable weights with the largest first-order saliency ``|θ ⊙ ∇θ|``
(one global ranking over all Conv2d/Linear weights) receive their loss gradient; the gradients of the others are
zeroed before the optimizer step, so only weight decay and momentum act on them and they decay toward 0.
Non-prunable parameters (biases, BatchNorm) train normally.  The method replaces the optimizer's momentum by its own
``momentum`` hyper-parameter (the paper uses a large one, so that the decay is fast).  At the end, the model is hard
pruned to the goal by global magnitude.

This module also holds the global top-k helpers that DPF and LC share.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..masks import global_magnitude_masks
from .base import Method, register


# -- shared helpers --------------------------------------------------------------------------------------------------
@torch.no_grad()
def global_drop_mask(scores: list[torch.Tensor], n_drop: int, dtype: torch.dtype = torch.bool,
                     drop_value: float | bool = True) -> list[torch.Tensor]:
    """Per-tensor views of one flat mask over ``scores`` that marks the ``n_drop`` smallest scores (globally).

    Marked entries hold ``drop_value``, the others its complement (``1 − drop_value``), in ``dtype``.  Exactly
    ``n_drop`` entries are marked, ties broken by :func:`torch.topk`; a single ``torch.cat`` of flattened views plus
    one ``torch.topk`` over the smaller side, and no host synchronisation.
    """
    sizes = [s.numel() for s in scores]
    flat = torch.cat([s.reshape(-1) for s in scores])
    n = flat.numel()
    if not 0 <= n_drop <= n:
        raise ValueError(f"n_drop={n_drop} must lie in [0, {n}]")
    drop = float(drop_value)
    keep = 1.0 - drop
    if 2 * n_drop <= n:  # select the (fewer) dropped entries
        out = torch.full((n,), keep, dtype=dtype, device=flat.device)
        if n_drop:
            out.index_fill_(0, torch.topk(flat, n_drop, largest=False, sorted=False).indices, drop)
    else:  # select the (fewer) kept entries
        out = torch.full((n,), drop, dtype=dtype, device=flat.device)
        if n - n_drop:
            out.index_fill_(0, torch.topk(flat, n - n_drop, largest=True, sorted=False).indices, keep)
    return [m.view_as(s) for m, s in zip(out.split(sizes), scores)]


def n_pruned(n: int, sparsity: float) -> int:
    """How many of ``n`` weights a prune to ``sparsity`` removes: ``round(sparsity · n)``, as the final hard prune."""
    return int(round(sparsity * n))


@torch.no_grad()
def prune_residual(params: list[torch.Tensor], sparsity: float) -> float:
    """``‖θ − Proj_k(θ)‖₂ / ‖θ‖₂`` over ``params``, where ``Proj_k`` zeroes the ``round(s·n)`` smallest-magnitude
    entries: how far the weights still are from their hard-pruned version (a per-epoch diagnostic)."""
    flat = torch.cat([p.detach().reshape(-1).double() for p in params])
    k = n_pruned(flat.numel(), sparsity)
    total = float(flat.square().sum())
    if k == 0 or total == 0.0:
        return 0.0
    small = torch.topk(flat.abs(), k, largest=False, sorted=False).values
    return math.sqrt(float(small.square().sum()) / total)


def final_hard_prune(state, sparsity: float) -> None:
    """Leave the final hard mask in ``state.masks``: global magnitude of the current weights, computed from scratch
    (not restricted to an earlier mask); the common code applies it."""
    state.masks.set(global_magnitude_masks(list(state.masks.params), sparsity))


def _check_fraction(name: str, value: object, low: float, high: float, *, low_open: bool, high_open: bool) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name}={value!r} must be a number in {interval}")


# -- GSM -------------------------------------------------------------------------------------------------------------
class PruneAtEnd(Method):
    """Shared by methods that steer weights toward a sparse solution during training (GSM, LC) and hard-prune
    them only once, at the end: nothing is masked in place meanwhile; the history records how far the weights are
    from their projection onto the goal sparsity."""

    def after_step(self, state):
        pass  # nothing is hard-pruned during training

    def on_epoch_end(self, state):
        return {"prune_residual": prune_residual(state.masks.params, self.cfg.goal_sparsity)}

    def on_train_end(self, state):
        final_hard_prune(state, self.cfg.goal_sparsity)


@dataclass(frozen=True)
class GSMHparams:
    momentum: float = 0.99  # replaces the optimizer's momentum (SPEC grid: 0.9, 0.99, 0.995)

    def __post_init__(self):
        _check_fraction("momentum", self.momentum, 0.0, 1.0, low_open=True, high_open=True)


@register
class GSM(PruneAtEnd):
    name = "gsm"
    Hparams = GSMHparams
    explicit = True
    pruning_stable = True
    sparsity_agnostic = False
    needs_dense = False
    search = {"momentum": (0.9, 0.99, 0.995)}  # SPEC §4: GSM's momentum is tuned over this grid
    reference = "Ding et al. 2019"

    def __init__(self, cfg, hparams):
        super().__init__(cfg, hparams)
        self.n_keep: int | None = None

    def on_train_start(self, state):
        for group in state.optimizer.param_groups:
            group["momentum"] = self.hp.momentum
        n = sum(p.numel() for p in state.masks.params)
        self.n_keep = n - n_pruned(n, self.cfg.goal_sparsity)

    @torch.no_grad()
    def after_backward(self, state):
        params = state.masks.params
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        saliency = torch._foreach_mul([p.detach() for p in params], grads)
        torch._foreach_abs_(saliency)
        n = sum(s.numel() for s in saliency)
        factors = global_drop_mask(saliency, n - self.n_keep, dtype=grads[0].dtype, drop_value=0.0)
        live = [(g, f) for p, g, f in zip(params, grads, factors) if p.grad is not None]
        if live:
            g, f = zip(*live)
            torch._foreach_mul_(list(g), list(f))

