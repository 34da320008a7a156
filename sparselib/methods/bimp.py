"""BIMP: budgeted IMP (Zimmer, Spiegel, Pokutta 2023, "How I Learned to Stop Worrying and Love Retraining").

IMP inside the epoch budget of ordinary dense training, from scratch: train dense for ``n_train_budget`` epochs with
the learning rate decaying linearly to 0, then ``(epochs − n_train_budget) // pruning_interval`` prune–retrain
cycles.  Cycle t prunes by magnitude (split across layers by ``allocation``, global by default) to
``1 − (1 − s)^((t+1)/n_cycles)`` and retrains ``pruning_interval`` epochs (the last cycle takes any leftover epochs)
with a linear schedule that warms up over its first 10 % to the initial learning rate and then decays to 0 (LLR);
the last cycle starts at ALLR's adaptive value instead, whose floor is ``min(L / n_train_budget, 1) · maxLR`` with
``L`` that cycle's epochs.  One optimizer serves the dense phase and every cycle, so momentum carries over (the
entries a step prunes have theirs zeroed).  Total epochs = the dense run's.

Follows the authors' first commit (ZIB-IOL/BIMP 8f2b836: ``strategies/strategies.py``, ``BIMP`` and its ALLR in the
last cycle; ``runners/baseRunner.py``).  The first sparselib version divided by the total epochs in ALLR's floor
and restarted momentum at every pruning step.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..allocation import check_allocation
from ..masks import prune_and_measure
from ..schedules import RetrainContext, dense_schedule, retrain_schedule
from ..sparsity import bimp_cycles
from .base import PruneRetrain, check_hparams
from .registry import register


@dataclass(frozen=True)
class BIMPHparams:
    n_train_budget: int = 4     # dense epochs before the first pruning step
    pruning_interval: int = 1   # epochs of retraining per cycle
    allocation: str = "global"  # how the sparsity is split across layers (sparselib.allocation)

    def __post_init__(self):
        check_hparams(self, n_train_budget=("int", 1, "epochs"), pruning_interval=("int", 1, "epochs"))
        check_allocation(self.allocation)


@register
class BIMP(PruneRetrain):
    name = "bimp"
    Hparams = BIMPHparams
    label = "BIMP"
    color = "#332288"      # Tol muted indigo
    marker = "square"
    order = 30
    family = "prune-retrain"
    explicit = True
    pruning_stable = False
    sparsity_agnostic = False
    smoke = ({"n_train_budget": 2, "pruning_interval": 1},)
    search = {}  # n_train_budget and pruning_interval depend on the budget: each preset sets its grid
    reference = "Zimmer, Spiegel, Pokutta 2023"
    version = 2  # 2: ALLR's floor min(L / n_train_budget, 1)·maxLR in the last cycle; momentum carries over
    authors_code = "strategies/strategies.py (first commit 8f2b836): BIMP"
    follows = ("authors' code: linear dense phase, cycles to 1 − (1 − s)^((t+1)/n), LLR cycles, ALLR in the last one "
               "with the floor min(L / n_train_budget, 1)·maxLR, momentum carried over")

    @classmethod
    def check_config(cls, cfg, hparams):
        if hparams.n_train_budget + hparams.pruning_interval > cfg.epochs:
            raise ValueError(f"n_train_budget={hparams.n_train_budget} + pruning_interval={hparams.pruning_interval} "
                             f"leaves no prune-retrain cycle within epochs={cfg.epochs}")

    def __init__(self, cfg, hparams):
        super().__init__(cfg, hparams)
        self.cycles = bimp_cycles(cfg.epochs, hparams.n_train_budget, hparams.pruning_interval, cfg.goal_sparsity)

    def _cycle(self, epoch: int):
        for t, (start, length, target) in enumerate(self.cycles):
            if start <= epoch < start + length:
                return t, start, length, target
        return None

    def on_epoch_start(self, state):
        found = self._cycle(state.epoch)
        if found is None or found[1] != state.epoch:
            return
        t, start, length, target = found
        distance, fraction = prune_and_measure(state.masks, state.model, target, state.optimizer, self.hp.allocation)
        last = t == len(self.cycles) - 1
        ctx = RetrainContext(distance=distance, pruned_fraction=fraction, retrain_epochs=float(length),
                             train_epochs=float(self.hp.n_train_budget))  # the authors' BIMP_ALLR floor
        self.retrain_lrs = retrain_schedule("allr" if last else "llr", length * state.iters_per_epoch, [self.cfg.lr],
                                            ctx)
        self.pruned = {**state.record_prune(distance, fraction), "phase": t + 1}

    def epoch_lrs(self, state):
        n = state.iters_per_epoch
        found = self._cycle(state.epoch)
        if found is None:  # the dense phase: linear decay to 0 over n_train_budget epochs
            lrs = dense_schedule("linear", self.cfg.lr, self.hp.n_train_budget, n)
            return lrs[state.epoch * n:(state.epoch + 1) * n]
        i = state.epoch - found[1]
        return self.retrain_lrs[i * n:(i + 1) * n]
