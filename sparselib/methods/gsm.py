"""GSM: Global Sparse Momentum SGD (Ding et al. 2019, "Global Sparse Momentum SGD for Pruning Very Deep Neural
Networks", NeurIPS 2019), as Zimmer, Spiegel & Pokutta 2023 ran it (SPEC §6).

Follows the authors' code: ``strategies/scratchStrategies.py``, ``GSM.during_training`` (ZIB-IOL/BIMP, HEAD
7bad593).  Every step, the saliency ``|θ ⊙ ∇θ|`` is ranked over **every parameter with a gradient** — the
Conv2d/Linear weights and also biases and BatchNorm weights, in the optimizer's order — and only the top
``Q = int((1 − s) · n_prunable)`` entries keep their gradient (:func:`sparselib.topk.keep_largest`); every other
gradient is zeroed, BatchNorm and biases included, so those entries move only by weight decay and momentum and decay
toward 0.  The method replaces the optimizer's momentum by its own ``momentum`` hyper-parameter (the paper uses a
large one, so that the decay is fast).  At the end the model is hard pruned to the goal by global magnitude of the
prunable weights.

Option ``scope="prunable"``: rank the prunable weights only and leave biases and BatchNorm alone, as the original
GSM-SGD code does (the first sparselib version).  Remaining difference: ties in the saliency go to the earlier entry
(:mod:`sparselib.topk`'s rule), where the authors' ``torch.topk`` leaves them to the kernel.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..topk import authors_kept, keep_largest
from .base import check_choice, check_hparams
from .prune_at_end import SCOPES, PruneAtEnd, ranked_parameters
from .registry import register

@dataclass(frozen=True)
class GSMHparams:
    momentum: float = 0.99  # replaces the optimizer's momentum (SPEC grid: 0.9, 0.99, 0.995)
    scope: str = "all"      # "all": every parameter with a gradient (the authors' code); "prunable": weights only

    def __post_init__(self):
        check_hparams(self, momentum=("number", 0.0, 1.0, {"low_open": True, "high_open": True}))
        check_choice("scope", self.scope, SCOPES)


@register
class GSM(PruneAtEnd):
    name = "gsm"
    Hparams = GSMHparams
    label = "GSM"
    color = "#D55E00"      # Okabe & Ito vermillion
    marker = "pentagon"
    order = 60
    explicit = True
    pruning_stable = True
    sparsity_agnostic = False
    smoke = ({"momentum": 0.9}, {"momentum": 0.99}, {"momentum": 0.995, "scope": "prunable"})
    search = {"momentum": (0.9, 0.99, 0.995)}  # SPEC §4: GSM's momentum is tuned over this grid
    reference = "Ding et al. 2019"
    version = 2  # 2: ranks every parameter with a gradient and keeps int((1 − s)·n_prunable) (the authors' rule)
    authors_code = "strategies/scratchStrategies.py: GSM.during_training"
    follows = ("authors' code: saliency ranked over every parameter with a gradient (BatchNorm and biases too), "
               "Q = int((1 − s)·n_prunable)")
    option = 'scope="prunable": rank the prunable weights only (the original GSM-SGD code)'

    def __init__(self, cfg, hparams):
        super().__init__(cfg, hparams)
        self.n_keep = 0
        self.ranked: list[torch.Tensor] = []

    def on_train_start(self, state):
        for group in state.optimizer.param_groups:
            group["momentum"] = self.hp.momentum
        self.n_keep = authors_kept(sum(p.numel() for p in state.masks.params), self.cfg.goal_sparsity)
        self.ranked = ranked_parameters(state, self.hp.scope)

    @torch.no_grad()
    def after_backward(self, state):
        params = [p for p in self.ranked if p.grad is not None]
        grads = [p.grad for p in params]
        saliency = torch._foreach_mul([p.detach() for p in params], grads)
        torch._foreach_mul_(grads, keep_largest(saliency, self.n_keep))
