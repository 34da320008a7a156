"""Masks over the prunable weights (every Conv2d and Linear weight) and the magnitude pruning step.

Pruned weights are kept exactly zero by two cheap in-place operations instead of a parametrization: the gradient of a
pruned entry is zeroed before the optimizer step (so SGD's momentum buffer and weight decay never move it: with a zero
weight, a zero gradient and a zero buffer, every term of the update is zero), and the mask is multiplied in again after
the step (which also covers optimizers or methods that write weights directly).  ``torch.nn.utils.parametrize`` would
recompute ``w * mask`` in every forward pass and make the optimizer see a different tensor; the in-place version costs
~0.2 ms per step on ResNet-56 (ENVIRONMENT.md) and leaves plain ``weight`` tensors, so exported models need no
conversion.  The bool masks are multiplied in directly: float copies of them would cost another copy of all weights'
memory, and on CPU they save only ~0.6 ms per ResNet-56 step (0.12 vs 0.7 ms per ``_foreach_mul_``, measured on the
CI machine), about 0.1 % of the step.
"""
from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from .allocation import magnitude_masks
from .flops import prunable_names


class Masks:
    """Boolean keep-masks (True = kept) for a model's prunable weights, with the operations that enforce them."""

    def __init__(self, model: nn.Module, names: Iterable[str] | None = None):
        params = dict(model.named_parameters())
        self.names = list(names) if names is not None else prunable_names(model)
        self.params = [params[n] for n in self.names]
        self.masks = [torch.ones_like(p, dtype=torch.bool) for p in self.params]
        self.active = False  # no pruning yet: hooks are no-ops until the first mask is set

    # -- state ------------------------------------------------------------------------------------------------
    def set(self, masks: list[torch.Tensor] | dict[str, torch.Tensor]) -> None:
        if isinstance(masks, dict):
            masks = [masks[n] for n in self.names]
        self.masks = [m.to(device=p.device, dtype=torch.bool) for m, p in zip(masks, self.params)]
        self.active = True

    def as_dict(self) -> dict[str, torch.Tensor]:
        return dict(zip(self.names, self.masks))

    def state_dict(self) -> dict:
        return {"active": self.active, "masks": {n: m.cpu() for n, m in zip(self.names, self.masks)}}

    def load_state_dict(self, state: dict) -> None:
        if state["active"]:
            self.set(state["masks"])

    # -- enforcement ------------------------------------------------------------------------------------------
    @torch.no_grad()
    def apply(self) -> None:
        """Zero the pruned weights in place."""
        if self.active:
            torch._foreach_mul_(self.params, self.masks)

    @torch.no_grad()
    def mask_grads(self) -> None:
        """Zero the gradients of pruned weights in place."""
        if not self.active:
            return
        pairs = [(p.grad, m) for p, m in zip(self.params, self.masks) if p.grad is not None]
        if pairs:
            grads, factors = zip(*pairs)
            torch._foreach_mul_(list(grads), list(factors))

    @torch.no_grad()
    def zero_momentum(self, optimizer: torch.optim.Optimizer) -> None:
        """Zero the optimizer's momentum of pruned entries (after a pruning step)."""
        for p, m in zip(self.params, self.masks):
            buf = optimizer.state.get(p, {}).get("momentum_buffer")
            if buf is not None:
                buf.mul_(m)

    # -- statistics -------------------------------------------------------------------------------------------
    def density(self) -> dict[str, float]:
        """Fraction of non-zero weights per prunable layer (measured on the weights, not the masks)."""
        return {n: float((p != 0).sum()) / p.numel() for n, p in zip(self.names, self.params)}

    def stats(self) -> list[dict]:
        return [{"name": n, "numel": p.numel(), "nonzero": int((p != 0).sum()), "kept": int(m.sum())}
                for n, p, m in zip(self.names, self.params, self.masks)]


def _new_masks(masks: Masks, sparsity: float, allocation: str) -> list[torch.Tensor]:
    """The masks of a magnitude prune of ``masks``' weights to ``sparsity``, restricted to the current masks."""
    return magnitude_masks(masks.params, sparsity, allocation=allocation,
                           current=masks.masks if masks.active else None)


def _install(masks: Masks, new: list[torch.Tensor], optimizer: torch.optim.Optimizer | None) -> None:
    masks.set(new)
    masks.apply()
    if optimizer is not None:
        masks.zero_momentum(optimizer)


def prune_magnitude(masks: Masks, sparsity: float, optimizer: torch.optim.Optimizer | None = None,
                 allocation: str = "global") -> None:
    """Prune ``masks``' model by magnitude to ``sparsity`` (overall, over prunable weights; split across layers by
    ``allocation``) and enforce it; the optimizer's momentum of the newly pruned entries is zeroed."""
    _install(masks, _new_masks(masks, sparsity, allocation), optimizer)


@torch.no_grad()
def prune_and_measure(masks: Masks, model: nn.Module, sparsity: float, optimizer: torch.optim.Optimizer | None = None,
                      allocation: str = "global") -> tuple[float, float]:
    """Prune to ``sparsity`` and return ``(d, p)`` for ALLR (SPEC §6): ``d = ‖θ − θ_pruned‖₂ / ‖θ‖₂`` over all
    parameters and ``p`` = the fraction of the still-unpruned prunable weights that this step removed."""
    kept_before = sum(int(m.sum()) for m in masks.masks)
    new = _new_masks(masks, sparsity, allocation)
    # what the step removes, one layer at a time (no copy of all weights)
    removed_sq = sum(p.detach().masked_fill(keep, 0).double().square().sum() for p, keep in zip(masks.params, new))
    _install(masks, new, optimizer)
    kept_after = sum(int(m.sum()) for m in masks.masks)
    after_sq = sum((p.detach().double() ** 2).sum() for p in model.parameters())
    total = float(torch.sqrt(after_sq + removed_sq))  # pruning only zeroes entries: ‖θ‖² = ‖θ_pruned‖² + ‖removed‖²
    distance = float(torch.sqrt(removed_sq)) / total if total > 0 else 0.0
    return distance, (1.0 - kept_after / kept_before) if kept_before else 0.0


def sparsity_of(model: nn.Module, names: Iterable[str] | None = None) -> tuple[float, float]:
    """(sparsity over prunable weights, sparsity over all parameters), measured as fractions of exact zeros."""
    names = set(names) if names is not None else set(prunable_names(model))
    zp = np_ = zt = nt = 0
    for n, p in model.named_parameters():
        z = int((p == 0).sum())
        zt += z
        nt += p.numel()
        if n in names:
            zp += z
            np_ += p.numel()
    return zp / max(np_, 1), zt / max(nt, 1)
