"""DST: Dynamic Sparse Training with trainable masked layers (Liu, Xu, Shi, Cheung & So, ICLR 2020, "Dynamic Sparse
Training: Find Efficient Sparse Network from Scratch with Trainable Masked Layers") — not the RigL/SET family.

Every output channel (row) of every prunable weight gets a learnable threshold t, initialised to 0; the mask is
``step(|w| − t)`` and the forward pass uses ``w ⊙ mask``.  The step has zero derivative almost everywhere, so the
backward pass uses the authors' surrogate (a long-tailed estimator): 2 − 4|x| for |x| ≤ 0.4, 0.4 for
0.4 < |x| ≤ 1, 0 beyond; gradients reach both t and w (through w directly and through |w| in the mask).  The loss
gets ``penalty · Σ exp(−t)``, which pushes thresholds up (sparser); a layer whose mask keeps ≤ 1 % of its weights
has all its thresholds reset to 0 (dense again).  The final mask is 1{|w| > t}; the model keeps ``w ⊙ mask``.

Follows the authors' code: ``strategies/scratchStrategies.py``, ``DST`` (ZIB-IOL/BIMP, HEAD 7bad593), including its
weight decay: ``0.5 · wd · Σw²`` over the prunable weights is added to the loss on top of the optimizer's weight
decay, so the weights decay at 2 × wd in total and the thresholds at 1 × (``weight_penalty=False``: the optimizer's
weight decay only, as in the DST paper and the first sparselib version).

Choices: the ≤ 1 % check runs after every optimizer step (the authors check in every forward pass, before using the
mask; checking right after the update sees the same weights and thresholds, so the next forward pass — training or
evaluation — never uses a collapsed layer).  The thresholds get the run's weight decay, learning rate and momentum,
as in the authors' code (one SGD over all parameters).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .base import check_flag, check_number
from .registry import register
from .reparam import ReparamMethod

RESET_FRACTION = 0.01  # a layer keeping at most this fraction of its weights gets its thresholds reset to 0


@dataclass(frozen=True)
class DSTHparams:
    penalty: float = 0.025       # α, the weight of Σ exp(−t) in the loss (higher → sparser)
    weight_penalty: bool = True  # the authors' extra 0.5·wd·Σw² on the weights (False: the optimizer's wd only)

    def __post_init__(self):
        check_number("penalty", self.penalty, 0.0, math.inf, allowed="must be a finite number >= 0")
        check_flag("weight_penalty", self.weight_penalty)


class BinaryStep(torch.autograd.Function):
    """step(x) = 1{x > 0}, with DST's surrogate derivative (2 − 4|x| on |x| ≤ 0.4, 0.4 on 0.4 < |x| ≤ 1, else 0)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * surrogate_derivative(x)


def surrogate_derivative(x: torch.Tensor) -> torch.Tensor:
    a = x.abs()
    return torch.where(a <= 0.4, 2.0 - 4.0 * a, torch.where(a <= 1.0, torch.full_like(a, 0.4), torch.zeros_like(a)))


def _rows(t: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return t.view(-1, *([1] * (w.dim() - 1)))


class _TrainableMask(nn.Module):
    """w ↦ w ⊙ step(|w| − t), one threshold t per output channel."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.t = nn.Parameter(torch.zeros(weight.shape[0], dtype=weight.dtype, device=weight.device))

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w * BinaryStep.apply(w.abs() - _rows(self.t, w))


@register
class DST(ReparamMethod):
    name = "dst"
    Hparams = DSTHparams
    label = "DST"
    color = "#777777"      # neutral grey
    marker = "hourglass"
    order = 110
    explicit = False
    smoke = tuple({"penalty": p} for p in (0.025, 0.035))  # tops out near 95 % on smoke
    search = {"penalty": (1e-3, 2e-3, 3e-3, 0.025, 0.035)}  # the implicit knob; each preset sets its grid
    reference = "Liu et al. 2020"
    version = 2  # 2: the authors' extra 0.5·wd·Σw² on the prunable weights (2 × wd on weights in total)
    authors_code = "strategies/scratchStrategies.py: DST"
    follows = "authors' code: 0.5·wd·Σw² added to the loss on top of the optimizer's weight decay (weights 2 × wd)"
    option = "weight_penalty=False: the optimizer's weight decay only (the DST paper)"
    differences = "the ≤ 1 % reset is checked after each optimizer step, not inside each forward pass"

    def __init__(self, cfg, hparams):
        super().__init__(cfg, hparams)
        self._resets: torch.Tensor | None = None
        self._numel: torch.Tensor | None = None

    def make_parametrization(self, index, name, weight):
        return _TrainableMask(weight.detach())

    def extra_weight_decay(self, state):
        return self.cfg.weight_decay

    def extra_loss(self, state):
        terms = []
        if self.hp.penalty != 0.0:
            terms.append(self.hp.penalty * torch.stack([torch.exp(-part.t).sum() for part in self.parts]).sum())
        if self.hp.weight_penalty and self.cfg.weight_decay != 0.0:
            terms.append(self.weight_l2())
        return sum(terms) if terms else None

    @torch.no_grad()
    def reset_collapsed(self) -> torch.Tensor:
        """Reset to 0 the thresholds of every layer that keeps ≤ 1 % of its weights; returns how many (a tensor)."""
        ts = [part.t for part in self.parts]
        kept = torch.stack([(w.abs() > _rows(t, w)).sum() for w, t in zip(self.weights, ts)])
        if self._numel is None:
            self._numel = torch.tensor([w.numel() for w in self.weights], device=kept.device)
        collapsed = kept / self._numel <= RESET_FRACTION
        torch._foreach_mul_(ts, list((~collapsed).to(ts[0].dtype).unbind()))
        return collapsed.sum()

    def after_step(self, state):
        n = self.reset_collapsed()
        self._resets = n if self._resets is None else self._resets + n

    @torch.no_grad()
    def current_masks(self):
        return [w.abs() > _rows(part.t, w) for w, part in zip(self.weights, self.parts)]

    def on_epoch_end(self, state):
        super().on_epoch_end(state)
        resets, self._resets = self._resets, None
        return {"threshold_resets": int(resets) if resets is not None else 0}
