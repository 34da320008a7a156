"""IMP: iterative magnitude pruning with retraining (Han et al. 2015), the retraining schedules of Zimmer et al. 2023.

Starts from a trained dense run of the same setting and seed.  ``n_phases`` prune–retrain cycles; phase t prunes by
magnitude (split across layers by ``allocation``, global by default) to the overall sparsity
``1 − (1 − s)^((t+1)/n_phases)`` — the same fraction of the remaining weights each time — then retrains
``epochs_per_phase`` epochs with SGD (the dense run's momentum and weight decay) under one of the retraining schedules
of :mod:`sparselib.schedules`, built from the learning rates the dense run recorded.  One optimizer serves all
phases, so momentum carries over from phase to phase (the entries a step prunes have theirs zeroed), as in the
authors' code (``runners/pretrainedRunner.py`` and ``strategies/pretrainedStrategies.py``, ZIB-IOL/BIMP HEAD
7bad593; the first sparselib version restarted it at every pruning step).

This is *restricted* IMP (SPEC §6): dense training and all retraining fit in the dense budget.  It starts from a
shorter dense run of ``epochs − n_phases·epochs_per_phase`` epochs whose LR milestones are scaled by the same factor
(assumed: the paper's e.g. 160 + 40 of 200 epochs does not say how the 160-epoch schedule was shaped).  IMP+
(:mod:`.imp_plus`) retrains on top of the full dense run instead.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..allocation import check_allocation
from ..config import dense_config
from ..masks import prune_and_measure
from ..schedules import RETRAIN_SCHEDULES, RetrainContext, retrain_schedule
from ..sparsity import imp_targets
from .base import PruneRetrain, check_hparams
from .registry import register


@dataclass(frozen=True)
class IMPHparams:
    n_phases: int = 1          # prune–retrain cycles (1 = one-shot)
    epochs_per_phase: int = 2  # retraining epochs after each pruning step
    schedule: str = "llr"      # retraining LR schedule: ft, lrw, slr, clr, llr, allr
    allocation: str = "global"  # how the sparsity is split across layers (sparselib.allocation)

    def __post_init__(self):
        check_hparams(self, n_phases=("int", 1), epochs_per_phase=("int", 1, "epochs"))
        if self.schedule not in RETRAIN_SCHEDULES:
            raise ValueError(f"schedule={self.schedule!r} is unknown: choose one of "
                             f"{', '.join(sorted(RETRAIN_SCHEDULES))}")
        check_allocation(self.allocation)


def restricted_dense_config(cfg, retrain_epochs: int):
    """The dense run of restricted IMP: ``cfg.epochs − retrain_epochs`` epochs, milestones scaled and rounded."""
    epochs = cfg.epochs - retrain_epochs
    if epochs < 1:
        raise ValueError(f"restricted IMP retrains {retrain_epochs} epochs (n_phases x epochs_per_phase), which "
                         f"leaves no dense training inside the budget of {cfg.epochs} epochs; retrain less or use "
                         f"imp_plus")
    scale = epochs / cfg.epochs
    milestones = sorted({round(m * scale) for m in cfg.lr_milestones} - {0, epochs})
    milestones = [m for m in milestones if 0 < m < epochs]
    return dense_config(cfg).replace(epochs=epochs, lr_milestones=tuple(milestones),
                                     warmup_epochs=min(round(cfg.warmup_epochs * scale), epochs - 1))


@register
class IMP(PruneRetrain):
    name = "imp"
    Hparams = IMPHparams
    label = "IMP"
    color = "#0072B2"      # Okabe & Ito blue
    marker = "circle"
    order = 10
    family = "prune-retrain"
    explicit = True
    pruning_stable = False
    sparsity_agnostic = True
    needs_dense = True
    smoke = ({"n_phases": 2, "epochs_per_phase": 1, "schedule": "llr"},)
    search = {"schedule": ("ft", "lrw", "slr", "clr", "llr", "allr")}
    reference = "Han et al. 2015; schedules: Renda et al. 2020, Le & Hua 2021, Zimmer et al. 2023"
    version = 2  # 2: momentum carries over between phases; SLR replaces the dense warm-up by maxLR (the authors')
    authors_code = "strategies/pretrainedStrategies.py: IMP; runners/pretrainedRunner.py"
    follows = ("authors' code: global magnitude, p = 1 − (1 − s)^(1/n) per phase, one optimizer through all phases "
               "(momentum carries over, masked), the six retraining schedules")
    differences = ("restricted IMP's shorter dense run scales the LR milestones (assumed: the paper does not say); "
                   "the retraining warm-up has no one-iteration shift (SPEC §6)")

    @classmethod
    def reference_config(cls, cfg, hparams):
        return restricted_dense_config(cfg, hparams.n_phases * hparams.epochs_per_phase)

    def __init__(self, cfg, hparams):
        super().__init__(cfg, hparams)
        self.targets = imp_targets(cfg.goal_sparsity, hparams.n_phases)

    def total_epochs(self) -> int:
        return self.hp.n_phases * self.hp.epochs_per_phase

    def on_epoch_start(self, state):
        e = self.hp.epochs_per_phase
        if state.epoch % e:
            return
        phase = state.epoch // e
        distance, fraction = prune_and_measure(state.masks, state.model, self.targets[phase], state.optimizer,
                                               self.hp.allocation)
        ctx = RetrainContext(distance=distance, pruned_fraction=fraction, retrain_epochs=float(e),
                             train_epochs=float(state.reference.epochs))
        self.retrain_lrs = retrain_schedule(self.hp.schedule, e * state.iters_per_epoch, state.reference.lrs, ctx)
        self.pruned = {**state.record_prune(distance, fraction), "phase": phase + 1}

    def epoch_lrs(self, state):
        n = state.iters_per_epoch
        i = state.epoch % self.hp.epochs_per_phase
        return self.retrain_lrs[i * n:(i + 1) * n]
