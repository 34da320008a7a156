"""DPF: Dynamic Pruning with Feedback (Lin, Stich, Barba, Dmitriev & Jaggi 2020, "Dynamic Model Pruning with
Feedback", ICLR 2020), as used by Zimmer, Spiegel & Pokutta 2023 (SPEC §6).

The sparsity target follows GMP's cubic schedule (:func:`sparselib.sparsity.gmp_targets`; between pruning epochs the
last reached target holds, 0 before the first).  Every ``mask_interval`` iterations the mask is recomputed by
magnitude (``allocation``, global by default) from the *dense* weights, and also right when the target changes (at
the start of each of GMP's pruning epochs) — not only shrinking: pruned weights whose dense value has grown come
back.  Follows the authors' code (``strategies/scratchStrategies.py``, ``DPF``, ZIB-IOL/BIMP HEAD 7bad593; the first
sparselib version waited up to 15 iterations for the 16-step cadence after a change of target).  The
forward and backward passes use the masked weights ``w ⊙ m``; the gradient computed there is applied to all dense
weights (straight-through, the "feedback"), and the optimizer (momentum, weight decay) updates the dense weights.  At
the end the model is hard pruned to the goal by global magnitude of the dense weights.

Implementation: each prunable module's ``weight`` gets a :mod:`torch.nn.utils.parametrize` parametrization whose mask
is a buffer of the parametrization module, so it is part of the model's ``state_dict`` (checkpointed and restored on
resume).  ``parametrizations.weight.original`` is the very Parameter the optimizer and ``state.masks`` hold; removing
the parametrizations with ``leave_parametrized=False`` puts that Parameter back as a plain ``weight``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..allocation import check_allocation, magnitude_masks
from ..sparsity import gmp_targets
from .base import Method, check_hparams
from .prune_at_end import final_hard_prune
from .registry import register
from .reparam import add_mask_parametrizations, remove_mask_parametrizations


class _StraightThroughMask(torch.autograd.Function):
    """``w ⊙ mask`` forward, identity backward (the gradient at the masked point reaches every dense weight)."""

    @staticmethod
    def forward(ctx, weight, mask):
        return weight * mask

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class DPFMask(nn.Module):
    """Parametrization ``weight ↦ weight ⊙ mask`` with a straight-through gradient; the mask is a bool buffer."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", torch.ones_like(weight, dtype=torch.bool))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return _StraightThroughMask.apply(weight, self.mask)


@dataclass(frozen=True)
class DPFHparams:
    pruning_interval: int = 1   # epochs between steps of GMP's sparsity schedule (Δ)
    mask_interval: int = 16     # iterations between mask recomputations
    allocation: str = "global"  # how the sparsity is split across layers (sparselib.allocation)

    def __post_init__(self):
        check_hparams(self, pruning_interval=("int", 1, "epochs"), mask_interval=("int", 1, "iterations"))
        check_allocation(self.allocation)


@register
class DPF(Method):
    name = "dpf"
    Hparams = DPFHparams
    label = "DPF"
    color = "#E69F00"      # Okabe & Ito orange
    marker = "triangle-down"
    order = 50
    explicit = True
    pruning_stable = True
    sparsity_agnostic = False
    smoke = ({"pruning_interval": 1},)
    reference = "Lin et al. 2020"
    version = 2  # 2: the mask is also recomputed right when the target sparsity changes (the authors')
    authors_code = "strategies/scratchStrategies.py: DPF"
    follows = ("authors' code: GMP's cubic targets, mask from the dense weights every 16 iterations and whenever the "
               "target changes, straight-through gradient to the dense weights, hard prune at the end")

    @classmethod
    def check_config(cls, cfg, hparams):
        gmp_targets(cfg.goal_sparsity or 0.5, cfg.epochs, hparams.pruning_interval)

    def __init__(self, cfg, hparams):
        super().__init__(cfg, hparams)
        targets = gmp_targets(cfg.goal_sparsity, cfg.epochs, hparams.pruning_interval)
        self.epoch_targets, current = [], 0.0
        for epoch in range(cfg.epochs):
            current = targets.get(epoch, current)
            self.epoch_targets.append(current)
        self.modules: list[nn.Module] = []
        self.buffers: list[torch.Tensor] = []

    def target(self, epoch: int) -> float:
        """The sparsity in force during ``epoch``: GMP's last reached target."""
        return self.epoch_targets[min(epoch, len(self.epoch_targets) - 1)]

    def on_train_start(self, state):
        self.modules, self.buffers = add_mask_parametrizations(state, DPFMask, "DPF")
        state.masks.set(self.buffers)  # the same tensors (bool, same device): history reports the live sparsity

    @torch.no_grad()
    def update_mask(self, state) -> None:
        """Recompute the mask by magnitude of the dense weights, at the current epoch's target (no host sync)."""
        keep = magnitude_masks(state.masks.params, self.target(state.epoch), allocation=self.hp.allocation,
                               low_memory=False)
        for buf, k in zip(self.buffers, keep):
            buf.copy_(k)
        state.masks.set(self.buffers)  # re-link after a resume loaded state.masks from the checkpoint

    def on_epoch_start(self, state):
        if state.epoch > 0 and self.target(state.epoch) != self.target(state.epoch - 1):
            self.update_mask(state)  # a new target: the mask follows at once, not at the next 16-step mark

    def after_backward(self, state):
        pass  # every dense weight gets its gradient

    def after_step(self, state):
        if (state.step + 1) % self.hp.mask_interval == 0:  # the mask for the next mask_interval forward passes
            self.update_mask(state)

    def on_train_end(self, state):
        remove_mask_parametrizations(state, self.modules)
        self.modules, self.buffers = [], []
        final_hard_prune(state, self.cfg.goal_sparsity)
