"""DNW: Discovering Neural Wirings (Wortsman, Farhadi & Rastegari, NeurIPS 2019).

Every forward pass uses only the global top-k of the dense latent weights by magnitude, k = n − round(s·n) of the n
prunable weights (s = ``goal_sparsity``; this equals round((1 − s)·n) except for exact halves, and matches the final
hard prune exactly); the backward pass is straight-through: *every* latent weight receives the gradient of its
effective weight, kept or not, so pruned weights can grow back into the top-k.  At the end the model is hard-pruned
to the goal (global magnitude, exact count).

Implementation: one parametrization per prunable weight computes ``w − (w·1{|w| ≤ τ}).detach()`` (forward:
``w·1{|w| > τ}``, gradient: identity).  The threshold τ is global across layers, so it is computed once per forward
pass — a forward pre-hook on the model concatenates all |w| and takes the (n − k)-th smallest value with
``kthvalue`` — and shared by all layers.  This recomputes the top-k before *every* forward (each training step and
each evaluation batch), after the previous optimizer step, exactly as DNW prescribes; on ties at τ fewer than k
weights may be used (measure zero for real-valued weights).
"""
from __future__ import annotations

import torch
from torch import nn

from ..masks import global_magnitude_masks
from .base import NoHparams, register
from .reparam import ReparamMethod


class _TopKStraightThrough(nn.Module):
    """w ↦ w·1{|w| > τ} in the forward pass, identity in the backward pass (τ shared by all layers)."""

    def __init__(self, owner: "DNW"):
        super().__init__()
        self._owner = [owner]  # a list, so the method is not registered as a submodule

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        tau = self._owner[0].threshold
        latent = w.detach()
        return w - latent.masked_fill(latent.abs() > tau, 0.0)  # forward: w·1{|w| > τ}; gradient: identity


@register
class DNW(ReparamMethod):
    name = "dnw"
    Hparams = NoHparams
    explicit = True
    reference = "Wortsman et al. 2019"
    leave_parametrized = False  # keep the latent weights; the final global top-k mask is applied by the common code

    def __init__(self, cfg, hparams):
        super().__init__(cfg, hparams)
        self.threshold: torch.Tensor | None = None
        self._hook = None
        self.n_prune = 0

    def make_parametrization(self, index, name, weight):
        return _TopKStraightThrough(self)

    def on_train_start(self, state):
        n = sum(p.numel() for p in state.masks.params)
        self.n_prune = int(round(self.cfg.goal_sparsity * n))
        self.weights = list(state.masks.params)
        self.update_threshold()  # registration evaluates the parametrization once
        super().on_train_start(state)
        self._hook = state.model.register_forward_pre_hook(lambda module, args: self.update_threshold())

    @torch.no_grad()
    def update_threshold(self) -> None:
        """τ = the (n − k)-th smallest |w| over all prunable latent weights: one cat + one kthvalue, no host sync."""
        scores = torch.cat([w.detach().abs().flatten() for w in self.weights])
        if self.n_prune == 0:
            self.threshold = torch.full((), -1.0, dtype=scores.dtype, device=scores.device)
            return
        src = scores.cpu() if scores.device.type == "mps" else scores  # kthvalue is not implemented on MPS
        self.threshold = torch.kthvalue(src, self.n_prune).values.to(scores.device)

    @torch.no_grad()
    def current_masks(self):
        self.update_threshold()
        return [w.abs() > self.threshold for w in self.weights]

    @torch.no_grad()
    def final_masks(self, state):
        return global_magnitude_masks(self.weights, self.cfg.goal_sparsity)

    def on_train_end(self, state):
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        super().on_train_end(state)
