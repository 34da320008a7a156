"""LC: the Learning-Compression algorithm for pruning (Carreira-Perpiñán & Idelbayev 2018, "'Learning-Compression'
Algorithms for Neural Net Pruning", CVPR 2018), as Zimmer, Spiegel & Pokutta 2023 ran it (SPEC §6).

Follows the authors' code: ``strategies/scratchStrategies.py``, ``LC.during_training`` (ZIB-IOL/BIMP, HEAD 7bad593).
The top ``k = int((1 − s) · n_prunable)`` entries of ``|θ|`` over **all parameters** (biases and BatchNorm included,
one ranking in the optimizer's order) are exempt from weight decay; every other entry decays, BatchNorm and biases
included: the penalty ``wd/2 · ‖θ − Proj_k(θ)‖²``, where ``Proj_k`` keeps those ``k`` entries, whose gradient is
``wd·θ`` on the entries ``Proj_k`` zeroes and 0 on the kept ones.  The authors get this by letting the optimizer
decay everything and subtracting ``wd·θ`` from the gradient of the kept entries; here the optimizer's weight decay
is switched off and ``wd·θ`` is added to the others, which is the same SGD step.  The projection is recomputed
every ``projection_interval`` iterations (the authors: every iteration, the default).  At the end the model is hard
pruned to the goal by global magnitude of the prunable weights.

Option ``scope="prunable"``: the projection ranks the prunable weights only and biases and BatchNorm keep the
ordinary weight decay (the first sparselib version).  ``weight_decay`` sets LC's strength apart from the setting's
weight decay (the authors tune the one weight decay).  Remaining difference: ties go to the earlier entry.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..topk import authors_kept, keep_largest
from .base import check_choice, check_hparams
from .prune_at_end import SCOPES, PruneAtEnd, ranked_parameters
from .registry import register


@dataclass(frozen=True)
class LCHparams:
    weight_decay: float | None = None  # strength of the LC penalty (None: the setting's weight_decay)
    projection_interval: int = 1       # iterations between recomputations of Proj_k
    scope: str = "all"                 # "all": Proj_k over every parameter (the authors' code); "prunable": weights

    def __post_init__(self):
        check_choice("scope", self.scope, SCOPES)
        check_hparams(self, weight_decay=("number", 0.0, float("inf"), {"allowed": "must be None (the setting's "
                                                                        "weight decay) or a number >= 0"}),
                      projection_interval=("int", 1, "iterations"))


def split_prunable_group(optimizer: torch.optim.Optimizer, prunable: list[torch.Tensor]) -> dict:
    """Move ``prunable`` out of their parameter groups into one new group with ``weight_decay=0`` (the other
    settings copied from the group that held the first of them); returns the new group.  Deterministic, so a
    checkpoint written after the split loads into an optimizer split the same way."""
    ids = {id(p) for p in prunable}
    source = next(g for g in optimizer.param_groups if any(id(p) in ids for p in g["params"]))
    for group in optimizer.param_groups:
        group["params"] = [p for p in group["params"] if id(p) not in ids]
    settings = {k: v for k, v in source.items() if k != "params"}
    optimizer.add_param_group({**settings, "params": list(prunable), "weight_decay": 0.0})
    return optimizer.param_groups[-1]


@register
class LC(PruneAtEnd):
    name = "lc"
    Hparams = LCHparams
    label = "LC"
    color = "#CC79A7"      # Okabe & Ito reddish purple
    marker = "hexagon"
    order = 70
    explicit = True
    pruning_stable = True
    sparsity_agnostic = False
    search = {}  # LC's strength (weight_decay) depends on the training length: each preset sets its grid
    reference = "Carreira-Perpiñán & Idelbayev 2018"
    version = 2  # 2: Proj_k over all parameters, k = int((1 − s)·n_prunable), everything else decays (the authors')
    authors_code = "strategies/scratchStrategies.py: LC.during_training"
    follows = ("authors' code: the top int((1 − s)·n_prunable) of |θ| over all parameters are exempt from weight "
               "decay; every other entry decays, BatchNorm and biases included")
    option = 'scope="prunable": the projection over prunable weights, ordinary weight decay on the rest'

    def __init__(self, cfg, hparams):
        super().__init__(cfg, hparams)
        self.wd = cfg.weight_decay if hparams.weight_decay is None else float(hparams.weight_decay)
        self.drop: list[torch.Tensor] | None = None  # 1.0 where Proj_k zeroes the weight, else 0.0
        self.n_keep = 0
        self.params: list[torch.Tensor] = []

    def on_train_start(self, state):
        self.params = ranked_parameters(state, self.hp.scope)
        if self.hp.scope == "prunable":
            split_prunable_group(state.optimizer, self.params)
        else:  # the penalty is LC's weight decay on every parameter
            for group in state.optimizer.param_groups:
                group["weight_decay"] = 0.0
        self.n_keep = authors_kept(sum(p.numel() for p in state.masks.params), self.cfg.goal_sparsity)

    @torch.no_grad()
    def project(self, params: list[torch.Tensor]) -> None:
        """Recompute Proj_k: mark every entry but the ``k`` largest in magnitude."""
        keep = keep_largest([p.detach() for p in params], self.n_keep)
        self.drop = [(~k).to(p.dtype) for k, p in zip(keep, params)]

    @torch.no_grad()
    def after_backward(self, state):
        params = self.params
        if self.drop is None or state.step % self.hp.projection_interval == 0:
            self.project(params)
        if self.wd == 0.0:
            return
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        # grad += wd · θ ⊙ drop: the gradient of wd/2 · ‖θ − Proj_k(θ)‖²
        torch._foreach_addcmul_([p.grad for p in params], [p.detach() for p in params], self.drop, value=self.wd)

    # The projection only matters between recomputations (projection_interval > 1), but is saved always so that a
    # resumed run continues with exactly the mask it had.
    def state_dict(self):
        return {"drop": [d.to(torch.bool).cpu() for d in self.drop] if self.drop is not None else None}

    def load_state_dict(self, state):
        drop = state.get("drop")  # on_train_start (which sets self.params) runs before a checkpoint loads
        if drop is not None:
            self.drop = [d.to(device=p.device, dtype=p.dtype) for d, p in zip(drop, self.params)]
