"""GMP: gradual magnitude pruning (Zhu & Gupta 2017, "To prune, or not to prune").

Follows the authors' code: ``strategies/scratchStrategies.py``, ``GMP`` (ZIB-IOL/BIMP, HEAD 7bad593).  Every
``pruning_interval`` epochs the model is pruned by magnitude (split across layers by ``allocation``, global by
default) to the cubic target ``s_f − s_f(1 − e/(Δ·n))³``, reaching the goal with at least Δ epochs of training left;
the momentum of newly pruned entries is zeroed.  Training uses the setting's dense schedule.

``allow_recovering`` (the authors tune it): the pruned weights' dense values are kept aside — the forward pass uses
``w ⊙ mask`` through a :mod:`torch.nn.utils.parametrize` parametrization, so pruned entries get no loss gradient, only
weight decay and momentum, as with torch's ``weight_orig`` in the authors' code — and each pruning step recomputes the
mask from scratch at the new target over those values, so a pruned weight can come back.  Without it (the default,
Zhu & Gupta's rule) the pruned weights are zero in place and each step only extends the mask.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..allocation import check_allocation, magnitude_masks
from ..masks import prune_and_measure
from ..sparsity import gmp_targets
from ..state import relative_change
from .base import Method, check_flag, check_hparams
from .registry import register
from .reparam import add_mask_parametrizations, remove_mask_parametrizations


@dataclass(frozen=True)
class GMPHparams:
    pruning_interval: int = 1     # epochs between pruning steps (Δ)
    allocation: str = "global"    # how the sparsity is split across layers (sparselib.allocation)
    allow_recovering: bool = False  # recompute each mask from scratch over the kept-aside dense values

    def __post_init__(self):
        check_hparams(self, pruning_interval=("int", 1, "epochs"))
        check_allocation(self.allocation)
        check_flag("allow_recovering", self.allow_recovering)


class MaskedWeight(nn.Module):
    """Parametrization ``weight ↦ weight ⊙ mask`` (plain autograd: masked entries get no gradient); the mask is a
    bool buffer, so it is part of the model's ``state_dict`` (checkpointed)."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", torch.ones_like(weight, dtype=torch.bool))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * self.mask


@register
class GMP(Method):
    name = "gmp"
    Hparams = GMPHparams
    label = "GMP"
    color = "#009E73"      # Okabe & Ito bluish green
    marker = "triangle-up"
    order = 40
    explicit = True
    pruning_stable = True
    sparsity_agnostic = False
    smoke = ({"pruning_interval": 1}, {"pruning_interval": 1, "allow_recovering": True})
    search = {"allow_recovering": (False, True)}  # SPEC §4/§6: the authors tune it
    reference = "Zhu & Gupta 2017"
    authors_code = "strategies/scratchStrategies.py: GMP.pruning_scheduler"
    follows = "authors' code: cubic schedule, global magnitude, momentum of pruned entries zeroed, allow_recovering"
    option = "allow_recovering=True: each step recomputes the mask over the kept-aside dense values"

    @classmethod
    def check_config(cls, cfg, hparams):
        gmp_targets(cfg.goal_sparsity or 0.5, cfg.epochs, hparams.pruning_interval)

    def __init__(self, cfg, hparams):
        super().__init__(cfg, hparams)
        self.targets = gmp_targets(cfg.goal_sparsity, cfg.epochs, hparams.pruning_interval)
        self.last_step = max(self.targets)
        self.pruned: dict = {}
        self.modules: list[nn.Module] = []
        self.buffers: list[torch.Tensor] = []

    def on_train_start(self, state):
        if not self.hp.allow_recovering:
            return
        self.modules, self.buffers = add_mask_parametrizations(state, MaskedWeight, "GMP")

    def on_epoch_start(self, state):
        target = self.targets.get(state.epoch)
        if target is None:
            return
        if self.hp.allow_recovering:
            distance, fraction = self.recompute(state, target)
        else:
            distance, fraction = prune_and_measure(state.masks, state.model, target, state.optimizer,
                                                   self.hp.allocation)
        # the accuracy right after a step is measured at the last one only (the final prune; the others would
        # cost an evaluation each and no result uses them)
        self.pruned = state.record_prune(distance, fraction, measure=state.epoch == self.last_step)

    @torch.no_grad()
    def recompute(self, state, target: float) -> tuple[float, float]:
        """allow_recovering's pruning step: a new mask from scratch over the dense values; returns ALLR's ``(d, p)``
        measured on the effective weights (``p``: the fraction of the previously kept weights now pruned)."""
        params = state.masks.params
        prunable = {id(p) for p in params}
        old = [buf.clone() for buf in self.buffers]
        others = [p for p in state.model.parameters() if id(p) not in prunable]
        before = [p * m for p, m in zip(params, old)] + others
        new = magnitude_masks(params, target, allocation=self.hp.allocation)
        for buf, keep in zip(self.buffers, new):
            buf.copy_(keep)
        state.masks.set(self.buffers)
        state.masks.zero_momentum(state.optimizer)
        after = [p * m for p, m in zip(params, new)] + others
        kept_before = sum(int(m.sum()) for m in old)
        removed = sum(int((o & ~n).sum()) for o, n in zip(old, new))
        return relative_change(before, after), removed / kept_before if kept_before else 0.0

    def after_step(self, state):
        if not self.hp.allow_recovering:  # with it, the dense values stay: the parametrization masks them
            super().after_step(state)

    def on_epoch_end(self, state):
        if self.hp.allow_recovering and self.buffers:
            state.masks.set(self.buffers)  # re-link after a resume loaded state.masks from the checkpoint
        row, self.pruned = self.pruned, {}
        return row

    def on_train_end(self, state):
        remove_mask_parametrizations(state, self.modules)
        self.modules, self.buffers = [], []
        # the common code applies the last mask: the model keeps the kept weights, pruned ones exactly zero
