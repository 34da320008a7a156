"""RigL: Rigging the Lottery (Evci, Gale, Menick, Castro & Elsen, ICML 2020, "Rigging the Lottery: Making All
Tickets Winners") — sparse from the first step to the last; not in Zimmer et al.'s study.

The network starts at the goal sparsity with a random mask whose per-layer densities come from ``allocation``
(ERK by default: :func:`sparselib.allocation.erk_densities`).  Every ``update_interval`` training steps, until
``end_fraction`` of training, each layer drops the ``k`` active weights of smallest magnitude and grows the ``k``
connections with the largest gradient magnitude among those not kept (a just-dropped one can come back), where
``k = round(f_t · active)`` and the fraction decays with a cosine, ``f_t = drop_fraction · (1 + cos(π t / T_end)) / 2``
(Algorithm 1 of the paper).  Grown weights start at 0 with zero momentum.  Each layer keeps its number of active
weights, so the sparsity is exact after every update; pruned weights stay exactly 0 between updates (the masks of
:mod:`sparselib.masks`).  The gradient that ranks the growth is the dense gradient of the update step, taken before
the gradients of inactive weights are masked.  No final prune: the trained network is the sparse one.

Choices: the initial mask is drawn from a generator seeded by the run's seed (not the global one, so the rest of the
run's randomness is the same as for any other method); the update happens between backward and the optimizer step
of every ``update_interval``-th step (the grown weights take their first step at once); the drop count is rounded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..allocation import check_allocation, magnitude_masks
from ..data.splits import mix_seed
from ..topk import keep_largest
from .base import Method, check_hparams
from .registry import register


@dataclass(frozen=True)
class RigLHparams:
    update_interval: int = 100   # ΔT: training steps between drop-and-grow updates
    drop_fraction: float = 0.3   # α: fraction of each layer's active weights replaced at the first update
    end_fraction: float = 0.75   # no update after this fraction of the training steps (T_end)
    allocation: str = "erk"      # per-layer densities of the mask (sparselib.allocation)

    def __post_init__(self):
        check_hparams(self, update_interval=("int", 1, "steps"),
                      drop_fraction=("number", 0.0, 1.0), end_fraction=("number", 0.0, 1.0))
        check_allocation(self.allocation)


def drop_fraction_at(step: int, alpha: float, end_step: int) -> float:
    """RigL's cosine schedule: ``alpha · (1 + cos(π · step / end_step)) / 2``; 0 from ``end_step`` on."""
    if step >= end_step:
        return 0.0
    return alpha * (1.0 + math.cos(math.pi * step / end_step)) / 2.0


@torch.no_grad()
def drop_and_grow(weight: torch.Tensor, grad: torch.Tensor, mask: torch.Tensor, n_active: int, k: int
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """One layer's update: ``(new mask, grown)``.  The new mask keeps the ``n_active − k`` active weights of largest
    ``|weight|`` and adds the ``k`` entries of largest ``|grad|`` among those not kept; ``grown`` marks the added
    ones.  Ties go to the earlier entry (:func:`sparselib.topk.keep_largest`); no host synchronisation."""
    kept = keep_largest([weight.detach().abs()], n_active - k, exclude=[~mask])[0]
    grown = keep_largest([grad.detach().abs()], k, exclude=[kept])[0]
    return kept | grown, grown


@register
class RigL(Method):
    name = "rigl"
    Hparams = RigLHparams
    label = "RigL"
    color = "#44AA99"      # Tol muted teal
    marker = "triangle-right"
    order = 120
    explicit = True
    pruning_stable = True      # never pruned at the end: what it trains is what it keeps
    sparsity_agnostic = False
    smoke = ({"update_interval": 8},)
    reference = "Evci et al. 2020"
    follows = "the RigL paper (not in the study, so not in the authors' code)"

    def __init__(self, cfg, hparams):
        super().__init__(cfg, hparams)
        self.counts: list[int] = []   # active weights per layer (constant through training)
        self.end_step = 0

    def on_train_start(self, state):
        gen = torch.Generator().manual_seed(mix_seed(self.cfg.seed, 11))
        scores = [torch.rand(p.shape, generator=gen).to(p.device) for p in state.masks.params]
        state.masks.set(magnitude_masks(scores, self.cfg.goal_sparsity, allocation=self.hp.allocation))
        state.masks.apply()
        self.counts = [int(m.sum()) for m in state.masks.masks]
        self.end_step = int(self.hp.end_fraction * self.total_epochs() * state.iters_per_epoch)

    def load_state_dict(self, state):
        pass  # the masks come back with the trainer's checkpoint; counts are the same at every step

    def after_backward(self, state):
        t = state.step
        if t > 0 and t % self.hp.update_interval == 0 and t < self.end_step:
            self.update(state, drop_fraction_at(t, self.hp.drop_fraction, self.end_step))
        state.masks.mask_grads()

    @torch.no_grad()
    def update(self, state, fraction: float) -> None:
        """Drop and grow in every layer (``fraction`` of its active weights); grown weights and their momentum start
        at 0, dropped ones are zeroed with their momentum."""
        masks = state.masks
        new = []
        for p, m, n in zip(masks.params, masks.masks, self.counts):
            k = int(round(fraction * n))
            if k == 0 or p.grad is None:
                new.append(m)
                continue
            m_new, grown = drop_and_grow(p, p.grad, m, n, k)
            p.masked_fill_(grown, 0.0)
            buf = state.optimizer.state.get(p, {}).get("momentum_buffer")
            if buf is not None:
                buf.masked_fill_(grown, 0.0)
            new.append(m_new)
        masks.set(new)
        masks.apply()
        masks.zero_momentum(state.optimizer)
