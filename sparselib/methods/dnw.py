"""DNW: Discovering Neural Wirings (Wortsman, Farhadi & Rastegari, NeurIPS 2019).

Every forward pass uses only the global top-k of the dense latent weights by magnitude, k = n − round(s·n) of the n
prunable weights (s = ``goal_sparsity``; this equals round((1 − s)·n) except for exact halves, and matches the final
hard prune exactly); the backward pass is straight-through: *every* latent weight receives the gradient of its
effective weight, kept or not, so pruned weights can grow back into the top-k.  At the end the model is hard-pruned
to the goal (global magnitude, exact count).

Implementation: one parametrization per prunable weight computes ``w − (w·(1 − m)).detach()`` with the keep-mask m
of the global top-k (forward: ``w·m``, gradient: identity).  The top-k is global across layers, so it is computed once
per forward pass — a forward pre-hook on the model calls :func:`sparselib.topk.keep_largest` (exactly k weights, ties
to the earlier one, no host synchronisation) — and shared by all layers.  This recomputes the top-k before *every*
forward (each training step and each evaluation batch), after the previous optimizer step, exactly as DNW prescribes.
"""
from __future__ import annotations

import torch
from torch import nn

from ..allocation import magnitude_masks
from ..topk import keep_largest, n_kept
from .base import NoHparams
from .registry import register
from .reparam import ReparamMethod


class _TopKStraightThrough(nn.Module):
    """w ↦ w·m in the forward pass (m: this layer's part of the global top-k), identity in the backward pass."""

    def __init__(self, owner: "DNW", index: int):
        super().__init__()
        self._owner = [owner]  # a list, so the method is not registered as a submodule
        self.index = index

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        keep = self._owner[0].keep[self.index]
        latent = w.detach()
        return w - latent.masked_fill(keep, 0.0)  # forward: w·m; gradient: identity


@register
class DNW(ReparamMethod):
    name = "dnw"
    Hparams = NoHparams
    label = "DNW"
    color = "#882255"      # Tol muted wine
    marker = "cross"
    order = 80
    explicit = True
    smoke = ({},)
    reference = "Wortsman et al. 2019"
    authors_code = "strategies/scratchStrategies.py: DNW"
    follows = "authors' code: forward with the global top-k of |w|, straight-through gradient to every weight"
    differences = ("k = n − round(s·n) with ties to the earlier entry; the authors prune the int(s·n) smallest by a "
                   "kthvalue threshold (|w| > threshold), which can differ by a weight or at ties")
    leave_parametrized = False  # keep the latent weights; the final global top-k mask is applied by the common code

    def __init__(self, cfg, hparams):
        super().__init__(cfg, hparams)
        self.keep: list[torch.Tensor] = []
        self._hook = None
        self.n_keep = 0

    def make_parametrization(self, index, name, weight):
        return _TopKStraightThrough(self, index)

    def on_train_start(self, state):
        self.n_keep = n_kept(sum(p.numel() for p in state.masks.params), self.cfg.goal_sparsity)
        self.weights = list(state.masks.params)
        self.update_top_k()  # registration evaluates the parametrization once
        super().on_train_start(state)
        self._hook = state.model.register_forward_pre_hook(lambda module, args: self.update_top_k())

    @torch.no_grad()
    def update_top_k(self) -> None:
        """The global top-k of |w| over all prunable latent weights (no host sync)."""
        self.keep = keep_largest([w.detach() for w in self.weights], self.n_keep)

    @torch.no_grad()
    def current_masks(self):
        self.update_top_k()
        return list(self.keep)

    @torch.no_grad()
    def final_masks(self, state):
        return magnitude_masks(self.weights, self.cfg.goal_sparsity)

    def on_train_end(self, state):
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        super().on_train_end(state)
