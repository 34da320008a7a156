"""STR: Soft Threshold weight Reparameterization (Kusupati et al., ICML 2020, "Soft Threshold Weight
Reparameterization for Learnable Sparsity").

Every prunable layer gets one learnable threshold logit s, initialised to ``s_initial``; the forward pass uses the
soft-thresholded weight ``sign(w)·relu(|w| − σ(s))``, so weights below σ(s) are exactly zero and the layer's
sparsity is learnt.  The final mask is 1{|w| > σ(s)} and the model keeps the effective (shrunk) weights, so
exported weights equal what the last forward pass used.  Sparsity is controlled implicitly by ``s_initial``
(higher → larger σ(s) → sparser) and by the weight decay on s, which pulls the negative s up towards 0 over
training (the paper's lever for high sparsity: its code decays s like every other non-BN parameter).

Follows the authors' code (``strategies/scratchStrategies.py``, ``STR``, ZIB-IOL/BIMP HEAD 7bad593): one weight
decay — the run's — for weights, thresholds and BatchNorm, which a study tunes together with ``s_initial``; s gets
the same learning rate and momentum as the weights.  Option: ``s_weight_decay`` gives s a weight decay of its own.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import check_number
from .registry import register
from .reparam import ReparamMethod


@dataclass(frozen=True)
class STRHparams:
    s_initial: float = -1.25             # initial threshold logit s of every layer (higher → sparser)
    s_weight_decay: float | None = None  # weight decay on s; None: the run's weight_decay

    def __post_init__(self):
        check_number("s_initial", self.s_initial, -1e4, 1e4, allowed="must be a finite number in [-1e4, 1e4]")
        if self.s_weight_decay is not None:
            check_number("s_weight_decay", self.s_weight_decay, 0.0, 1.0,
                         allowed="must be None (the run's weight decay) or a number in [0, 1]")


class _SoftThreshold(nn.Module):
    """w ↦ sign(w) · relu(|w| − σ(s)) with one learnable s per layer."""

    def __init__(self, weight: torch.Tensor, s_initial: float):
        super().__init__()
        self.s = nn.Parameter(torch.full((), s_initial, dtype=weight.dtype, device=weight.device))

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return torch.sign(w) * torch.relu(w.abs() - torch.sigmoid(self.s))


@register
class STR(ReparamMethod):
    name = "str"
    Hparams = STRHparams
    label = "STR"
    color = "#F0E442"      # Okabe & Ito yellow (markers get a dark outline)
    marker = "triangle-left"
    order = 100
    explicit = False
    smoke = tuple({"s_initial": v} for v in (-1.25, -1.0, -0.6))  # lands near 90 / 95 / 98 % on smoke
    search = {"s_initial": (-2.0, -1.25, -0.6)}  # with the run's weight decay (a setting field); presets set grids
    reference = "Kusupati et al. 2020"
    authors_code = "strategies/scratchStrategies.py: STR"
    follows = ("authors' code: one weight decay for weights, thresholds and BatchNorm (the run's), tuned together "
               "with s_initial; final weights the soft-thresholded ones")
    option = "s_weight_decay: a separate weight decay on the thresholds"

    def make_parametrization(self, index, name, weight):
        return _SoftThreshold(weight.detach(), self.hp.s_initial)

    def extra_weight_decay(self, state):
        return self.cfg.weight_decay if self.hp.s_weight_decay is None else self.hp.s_weight_decay

    @torch.no_grad()
    def current_masks(self):
        return [w.abs() > torch.sigmoid(part.s) for w, part in zip(self.weights, self.parts)]

    def on_epoch_end(self, state):
        super().on_epoch_end(state)
        with torch.no_grad():
            mean = torch.stack([torch.sigmoid(part.s) for part in self.parts]).mean()
        return {"mean_threshold": float(mean)}
