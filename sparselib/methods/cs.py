"""CS: Continuous Sparsification (Savarese, Silva & Maire, NeurIPS 2020, "Winning the Lottery with Continuous
Sparsification").

Every prunable weight w gets a learnable mask logit m, initialised to ``s_initial``; the forward pass uses
``w · σ(β·m) / σ(s_initial)`` (so the network starts out as the dense one), the loss gets ``penalty · Σ σ(β·m)``
(a smooth surrogate of the L0 norm), and the temperature β grows from 1 to ``beta_final`` as
``β = beta_final^(t/T)``, which drives σ(β·m) towards the step 1{m > 0}.  The final mask is 1{m > 0}, applied to the
effective weights of the last forward pass, ``w · σ(beta_final·m) / σ(s_initial)`` (as Zimmer et al.'s code does; the
CS authors instead retrain the "ticket" ``w · 1{m > 0} / σ(s_initial)``, which is *not* the network that was
trained: with undecided logits near 0 it can lose most of its accuracy).  Sparsity is controlled implicitly, by
``penalty`` (more → sparser) and ``s_initial`` (lower → sparser).

Follows the authors' released code: ``strategies/scratchStrategies.py``, ``CS`` (ZIB-IOL/BIMP, HEAD 7bad593, the code
of the ICLR version), including its weight decay (``weight_decay_rule="head"``): the optimizer's weight decay acts on
every parameter, the mask logits included, and ``0.5 · wd · ‖w‖²`` over the prunable weights is added to the loss,
so the weights decay at 2 × wd.  ``weight_decay_rule="first-commit"`` follows the authors' first commit (8f2b836):
optimizer weight decay 0 on everything, only the explicit ``0.5 · wd · ‖w‖²`` on the weights.

Choices: β is updated every iteration, as in Zimmer et al.'s code (the CS authors' code steps it once per epoch),
with t = 1 … T the 1-based index of the iteration about to run and T the run's total number of iterations, so the
last iteration trains at ``beta_final``.  The mask logits get the same learning rate and momentum as the weights.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .base import check_choice, check_number
from .registry import register
from .reparam import ReparamMethod


#: "head": optimizer weight decay on every parameter (mask logits too) + 0.5·wd·‖w‖² on the weights (HEAD 7bad593);
#: "first-commit": optimizer weight decay 0 on everything + 0.5·wd·‖w‖² on the weights (8f2b836)
WEIGHT_DECAY_RULES = ("head", "first-commit")


@dataclass(frozen=True)
class CSHparams:
    s_initial: float = 0.0    # initial mask logit m (lower → sparser)
    beta_final: float = 200.0  # temperature at the last iteration (authors' default: 200)
    penalty: float = 5e-4     # weight of Σ σ(β·m) in the loss (higher → sparser)
    weight_decay_rule: str = "head"  # "head": the authors' released code; "first-commit": their first commit

    def __post_init__(self):
        check_choice("weight_decay_rule", self.weight_decay_rule, WEIGHT_DECAY_RULES)
        check_number("s_initial", self.s_initial, -10.0, 10.0, allowed="must be a finite number in [-10, 10]")
        check_number("beta_final", self.beta_final, 1.0, 1e6,
                     allowed="must lie in [1, 1e6] (β grows from 1 to beta_final)")
        check_number("penalty", self.penalty, 0.0, math.inf, allowed="must be a finite number >= 0")


class _SoftMask(nn.Module):
    """w ↦ w · σ(β·m) / σ(s_initial), with one learnable logit m per weight."""

    def __init__(self, owner: "CS", weight: torch.Tensor, s_initial: float):
        super().__init__()
        self._owner = [owner]  # a list, so the method is not registered as a submodule
        self.m = nn.Parameter(torch.full_like(weight, s_initial, requires_grad=True))
        self.scale = 1.0 / (1.0 / (1.0 + math.exp(-s_initial)))

    def gate(self) -> torch.Tensor:
        return torch.sigmoid(self._owner[0].beta * self.m)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w * (self.gate() * self.scale)


@register
class CS(ReparamMethod):
    name = "cs"
    Hparams = CSHparams
    label = "CS"
    color = "#999933"      # Tol muted olive
    marker = "x"
    order = 90
    explicit = False
    smoke = tuple({"penalty": p, "beta_final": 2000.0} for p in (5e-4, 1e-3, 3e-3))  # lands near 90 / 95 / 98 %
    search = {"penalty": (3e-5, 7e-5, 2e-4, 5e-4, 1e-3, 3e-3)}  # the implicit knob; each preset sets its grid
    reference = "Savarese et al. 2020"
    version = 2  # 2: the authors' released weight decay (optimizer wd on everything + 0.5·wd·‖w‖² on the weights)
    authors_code = "strategies/scratchStrategies.py: CS"
    follows = ("authors' released code (HEAD): optimizer weight decay on every parameter, mask logits included, plus "
               "0.5·wd·‖w‖² on the weights (2 × wd); final weights w·σ(β·m)/σ(s_init) masked by 1{m > 0}")
    option = 'weight_decay_rule="first-commit": only 0.5·wd·‖w‖² on the weights (the authors\' first commit)'

    def __init__(self, cfg, hparams):
        super().__init__(cfg, hparams)
        self.beta = 1.0
        self.total_iters = 1

    def make_parametrization(self, index, name, weight):
        return _SoftMask(self, weight.detach(), self.hp.s_initial)

    def extra_weight_decay(self, state):
        return self.cfg.weight_decay if self.hp.weight_decay_rule == "head" else 0.0

    def on_train_start(self, state):
        self.total_iters = max(self.total_epochs() * state.iters_per_epoch, 1)
        if self.hp.weight_decay_rule == "first-commit":
            for group in state.optimizer.param_groups:
                group["weight_decay"] = 0.0
        super().on_train_start(state)

    def _set_beta(self, step: int) -> None:
        """β of the iteration with 0-based index ``step`` (t = step + 1 of T)."""
        t = min(step + 1, self.total_iters)
        self.beta = self.hp.beta_final ** (t / self.total_iters)

    def on_epoch_start(self, state):
        self._set_beta(state.step)

    def after_step(self, state):
        self._set_beta(state.step + 1)  # state.step still counts the step just taken

    def extra_loss(self, state):
        terms = []
        if self.hp.penalty != 0.0:
            terms.append(self.hp.penalty * torch.stack([part.gate().sum() for part in self.parts]).sum())
        if self.cfg.weight_decay != 0.0:
            terms.append(self.weight_l2())
        return sum(terms) if terms else None

    @torch.no_grad()
    def current_masks(self):
        return [part.m > 0 for part in self.parts]

    def on_epoch_end(self, state):
        super().on_epoch_end(state)
        return {"beta": self.beta}
