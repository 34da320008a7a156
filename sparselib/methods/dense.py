"""Dense training: the baseline every other method is compared against (and IMP starts from)."""
from __future__ import annotations

from .base import Method, register


@register
class Dense(Method):
    """Plain training with the setting's schedule; no pruning."""
    name = "dense"
    explicit = True
    pruning_stable = True
    sparsity_agnostic = True
    reference = "—"
