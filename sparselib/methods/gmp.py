"""GMP: gradual magnitude pruning (Zhu & Gupta 2017, "To prune, or not to prune").

Every ``pruning_interval`` epochs the model is pruned by magnitude (split across layers by ``allocation``, global by
default) to the cubic target ``s_f − s_f(1 − e/(Δ·n))³``, reaching the goal with at least Δ epochs of training left;
the momentum of newly pruned entries is zeroed.  Training uses the setting's dense schedule.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..allocation import check_allocation
from ..masks import prune_and_measure
from ..sparsity import gmp_targets
from .base import Method, check_hparams
from .registry import register


@dataclass(frozen=True)
class GMPHparams:
    pruning_interval: int = 1     # epochs between pruning steps (Δ)
    allocation: str = "global"    # how the sparsity is split across layers (sparselib.allocation)

    def __post_init__(self):
        check_hparams(self, pruning_interval=("int", 1, "epochs"))
        check_allocation(self.allocation)


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
    smoke = ({"pruning_interval": 1},)
    reference = "Zhu & Gupta 2017"

    @classmethod
    def check_config(cls, cfg, hparams):
        gmp_targets(cfg.goal_sparsity or 0.5, cfg.epochs, hparams.pruning_interval)

    def __init__(self, cfg, hparams):
        super().__init__(cfg, hparams)
        self.targets = gmp_targets(cfg.goal_sparsity, cfg.epochs, hparams.pruning_interval)
        self.last_step = max(self.targets)
        self.pruned: dict = {}

    def on_epoch_start(self, state):
        target = self.targets.get(state.epoch)
        if target is not None:
            distance, fraction = prune_and_measure(state.masks, state.model, target, state.optimizer,
                                                   self.hp.allocation)
            # the accuracy right after a step is measured at the last one only (the final prune; the others would
            # cost an evaluation each and no result uses them)
            self.pruned = state.record_prune(distance, fraction, measure=state.epoch == self.last_step)

    def on_epoch_end(self, state):
        row, self.pruned = self.pruned, {}
        return row
