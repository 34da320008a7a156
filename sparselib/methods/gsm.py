"""GSM: Global Sparse Momentum SGD (Ding et al. 2019, "Global Sparse Momentum SGD for Pruning Very Deep Neural
Networks", NeurIPS 2019), as used by Zimmer, Spiegel & Pokutta 2023 (SPEC §6).

Every step, only the ``Q = n − round(s·n)`` prunable weights with the largest first-order saliency ``|θ ⊙ ∇θ|``
(one global ranking over all Conv2d/Linear weights, :func:`sparselib.topk.keep_largest`) receive their loss gradient;
the gradients of the others are zeroed before the optimizer step, so only weight decay and momentum act on them and
they decay toward 0.  Non-prunable parameters (biases, BatchNorm) train normally.  The method replaces the optimizer's
momentum by its own ``momentum`` hyper-parameter (the paper uses a large one, so that the decay is fast).  At the
end, the model is hard pruned to the goal by global magnitude.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..topk import keep_largest, n_kept
from .base import check_hparams
from .prune_at_end import PruneAtEnd
from .registry import register


@dataclass(frozen=True)
class GSMHparams:
    momentum: float = 0.99  # replaces the optimizer's momentum (SPEC grid: 0.9, 0.99, 0.995)

    def __post_init__(self):
        check_hparams(self, momentum=("number", 0.0, 1.0, {"low_open": True, "high_open": True}))


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
    smoke = ({"momentum": 0.9}, {"momentum": 0.99}, {"momentum": 0.995})
    search = {"momentum": (0.9, 0.99, 0.995)}  # SPEC §4: GSM's momentum is tuned over this grid
    reference = "Ding et al. 2019"

    def __init__(self, cfg, hparams):
        super().__init__(cfg, hparams)
        self.n_keep: int | None = None

    def on_train_start(self, state):
        for group in state.optimizer.param_groups:
            group["momentum"] = self.hp.momentum
        self.n_keep = n_kept(sum(p.numel() for p in state.masks.params), self.cfg.goal_sparsity)

    @torch.no_grad()
    def after_backward(self, state):
        params = state.masks.params
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        saliency = torch._foreach_mul([p.detach() for p in params], grads)
        keep = keep_largest(saliency, self.n_keep)
        live = [(g, k) for p, g, k in zip(params, grads, keep) if p.grad is not None]
        if live:
            g, k = zip(*live)
            torch._foreach_mul_(list(g), list(k))
