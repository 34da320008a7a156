"""Dense training: the baseline every other method is compared against (and IMP starts from)."""
from __future__ import annotations

from ..config import BASELINE
from .base import Method
from .registry import register


@register
class Dense(Method):
    """Plain training with the setting's schedule; no pruning."""
    name = BASELINE
    label = "Dense"
    color = "#000000"      # Okabe & Ito black
    marker = "star"
    order = 0
    family = "dense"
    explicit = True
    pruning_stable = True
    sparsity_agnostic = True
    smoke_sparsity = 0.0
    reference = "—"
    authors_code = "runners/baseRunner.py (dense training)"
    follows = "authors' code: SGD with the setting's schedule"
