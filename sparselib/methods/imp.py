"""IMP: iterative magnitude pruning with retraining (Han et al. 2015), the retraining schedules of Zimmer et al. 2023.

Starts from the trained dense run of the same setting and seed.  ``n_phases`` prune–retrain cycles; phase t prunes
(global magnitude) to the overall sparsity ``1 − (1 − s)^((t+1)/n_phases)`` — i.e. the same fraction of the remaining
weights each time — then retrains ``epochs_per_phase`` epochs with SGD (the dense run's momentum and weight decay,
momentum restarted) under one of the retraining schedules of :mod:`sparselib.schedules`, built from the learning rates
the dense run recorded.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..masks import prune_global
from ..schedules import RETRAIN_SCHEDULES, RetrainContext, retrain_schedule
from ..sparsity import imp_targets
from .base import Method, register


@dataclass(frozen=True)
class IMPHparams:
    n_phases: int = 1          # prune–retrain cycles (1 = one-shot)
    epochs_per_phase: int = 2  # retraining epochs after each pruning step
    schedule: str = "llr"      # retraining LR schedule: ft, lrw, slr, clr, llr, allr

    def __post_init__(self):
        if self.n_phases < 1:
            raise ValueError(f"n_phases={self.n_phases!r} must be at least 1")
        if self.epochs_per_phase < 1:
            raise ValueError(f"epochs_per_phase={self.epochs_per_phase!r} must be at least 1")
        if self.schedule not in RETRAIN_SCHEDULES:
            raise ValueError(f"schedule={self.schedule!r} is unknown: choose one of "
                             f"{', '.join(sorted(RETRAIN_SCHEDULES))}")


@register
class IMP(Method):
    name = "imp"
    Hparams = IMPHparams
    explicit = True
    pruning_stable = False
    sparsity_agnostic = True
    needs_dense = True
    reference = "Han et al. 2015; schedules: Renda et al. 2020, Le & Hua 2021, Zimmer et al. 2023"

    def __init__(self, cfg, hparams):
        super().__init__(cfg, hparams)
        self.targets = imp_targets(cfg.goal_sparsity, hparams.n_phases)
        self.phase_lrs: list[float] = []

    def total_epochs(self) -> int:
        return self.hp.n_phases * self.hp.epochs_per_phase

    def test_epochs(self) -> set[int]:
        e = self.hp.epochs_per_phase
        return {e * (t + 1) for t in range(self.hp.n_phases)}

    def on_epoch_start(self, state):
        e = self.hp.epochs_per_phase
        if state.epoch % e:
            return
        phase = state.epoch // e
        params = [p for p in state.model.parameters()]
        before = [p.detach().clone() for p in state.masks.params]
        kept_before = sum(int(m.sum()) for m in state.masks.masks)
        state.reset_momentum()
        prune_global(state.masks, self.targets[phase], state.optimizer)
        kept_after = sum(int(m.sum()) for m in state.masks.masks)
        with torch.no_grad():
            removed = torch.sqrt(sum(((b - p) ** 2).sum() for b, p in zip(before, state.masks.params)))
            norm = torch.sqrt(sum((p.detach().double() ** 2).sum() for p in params) + removed.double() ** 2)
        ctx = RetrainContext(distance=float(removed / norm), pruned_fraction=1.0 - kept_after / kept_before,
                             retrain_epochs=float(e), train_epochs=float(state.reference.epochs))
        self.phase_lrs = retrain_schedule(self.hp.schedule, e * state.iters_per_epoch, state.reference.lrs, ctx)
        self._pruned = {"pruned_val_acc": state.evaluate("val"), "pruned_test_acc": state.evaluate("test"),
                        "phase": phase + 1}

    def epoch_lrs(self, state):
        n = state.iters_per_epoch
        i = state.epoch % self.hp.epochs_per_phase
        return self.phase_lrs[i * n:(i + 1) * n]

    def on_epoch_end(self, state):
        row, self._pruned = getattr(self, "_pruned", {}), {}
        return row

    def state_dict(self):
        return {"phase_lrs": torch.tensor(self.phase_lrs, dtype=torch.float64)}

    def load_state_dict(self, state):
        self.phase_lrs = state["phase_lrs"].tolist()
