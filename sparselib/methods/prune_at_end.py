"""Shared by methods that steer the weights toward a sparse solution during training and hard-prune them only once,
at the end (GSM, LC; DPF and DNW use :func:`final_hard_prune` too), and the set of parameters GSM and LC rank."""
from __future__ import annotations

import math

import torch

from ..allocation import magnitude_masks
from ..topk import keep_largest, n_kept
from .base import Method


SCOPES = ("all", "prunable")  # which parameters GSM ranks and masks: all with a gradient (authors), or prunable only


def ranked_parameters(state, scope: str) -> list[torch.Tensor]:
    """The parameters GSM and LC rank: every trainable parameter in the optimizer's order (``"all"``, the authors'
    code) or the prunable weights only (``"prunable"``)."""
    if scope == "prunable":
        return list(state.masks.params)
    return [p for group in state.optimizer.param_groups for p in group["params"] if p.requires_grad]


@torch.no_grad()
def prune_residual(params: list[torch.Tensor], sparsity: float) -> float:
    """``‖θ − Proj(θ)‖₂ / ‖θ‖₂`` over ``params``, where ``Proj`` keeps the ``n − round(s·n)`` largest-magnitude
    entries: how far the weights still are from their hard-pruned version (a per-epoch diagnostic)."""
    total = float(sum(p.detach().double().square().sum() for p in params))
    if total == 0.0:
        return 0.0
    n = sum(p.numel() for p in params)
    keep = keep_largest(list(params), n_kept(n, sparsity))
    removed = float(sum(p.detach().double().masked_fill(k, 0).square().sum() for p, k in zip(params, keep)))
    return math.sqrt(removed / total)


def final_hard_prune(state, sparsity: float) -> None:
    """Leave the final hard mask in ``state.masks``: global magnitude of the current weights, computed from scratch
    (not restricted to an earlier mask); the common code applies it."""
    state.masks.set(magnitude_masks(state.masks.params, sparsity))


class PruneAtEnd(Method):
    """Nothing is masked in place during training; the history records how far the weights are from their
    projection onto the goal sparsity; one global magnitude prune at the end."""

    def after_step(self, state):
        pass  # nothing is hard-pruned during training

    def on_epoch_end(self, state):
        return {"prune_residual": prune_residual(state.masks.params, self.cfg.goal_sparsity)}

    def on_train_end(self, state):
        final_hard_prune(state, self.cfg.goal_sparsity)
