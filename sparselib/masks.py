"""Masks over the prunable weights (every Conv2d and Linear weight) and global magnitude pruning.

Pruned weights are kept exactly zero by two cheap in-place operations instead of a parametrization: the gradient of a
pruned entry is zeroed before the optimizer step (so SGD's momentum buffer and weight decay never move it: with a zero
weight, a zero gradient and a zero buffer, every term of the update is zero), and the mask is multiplied in again after
the step (which also covers optimizers or methods that write weights directly).  ``torch.nn.utils.parametrize`` would
recompute ``w * mask`` in every forward pass and make the optimizer see a different tensor; the in-place version costs
~0.2 ms per step on ResNet-56 (ENVIRONMENT.md) and leaves plain ``weight`` tensors, so exported models need no
conversion.  The bool masks are multiplied in directly: float copies of them would cost another copy of all weights'
memory, and on CPU they save only ~0.6 ms per ResNet-56 step (0.12 vs 0.7 ms per ``_foreach_mul_``, measured on the
CI machine), about 0.1 % of the step.
"""
from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import nn

from .flops import prunable_names


class Masks:
    """Boolean keep-masks (True = kept) for a model's prunable weights, with the operations that enforce them."""

    def __init__(self, model: nn.Module, names: Iterable[str] | None = None):
        params = dict(model.named_parameters())
        self.names = list(names) if names is not None else prunable_names(model)
        self.params = [params[n] for n in self.names]
        self.masks = [torch.ones_like(p, dtype=torch.bool) for p in self.params]
        self.active = False  # no pruning yet: hooks are no-ops until the first mask is set

    # -- state ------------------------------------------------------------------------------------------------
    def set(self, masks: list[torch.Tensor] | dict[str, torch.Tensor]) -> None:
        if isinstance(masks, dict):
            masks = [masks[n] for n in self.names]
        self.masks = [m.to(device=p.device, dtype=torch.bool) for m, p in zip(masks, self.params)]
        self.active = True

    def as_dict(self) -> dict[str, torch.Tensor]:
        return dict(zip(self.names, self.masks))

    def state_dict(self) -> dict:
        return {"active": self.active, "masks": {n: m.cpu() for n, m in zip(self.names, self.masks)}}

    def load_state_dict(self, state: dict) -> None:
        if state["active"]:
            self.set(state["masks"])

    # -- enforcement ------------------------------------------------------------------------------------------
    @torch.no_grad()
    def apply(self) -> None:
        """Zero the pruned weights in place."""
        if self.active:
            torch._foreach_mul_(self.params, self.masks)

    @torch.no_grad()
    def mask_grads(self) -> None:
        """Zero the gradients of pruned weights in place."""
        if not self.active:
            return
        pairs = [(p.grad, m) for p, m in zip(self.params, self.masks) if p.grad is not None]
        if pairs:
            grads, factors = zip(*pairs)
            torch._foreach_mul_(list(grads), list(factors))

    @torch.no_grad()
    def zero_momentum(self, optimizer: torch.optim.Optimizer) -> None:
        """Zero the optimizer's momentum of pruned entries (after a pruning step)."""
        for p, m in zip(self.params, self.masks):
            buf = optimizer.state.get(p, {}).get("momentum_buffer")
            if buf is not None:
                buf.mul_(m)

    # -- statistics -------------------------------------------------------------------------------------------
    def density(self) -> dict[str, float]:
        """Fraction of non-zero weights per prunable layer (measured on the weights, not the masks)."""
        return {n: float((p != 0).sum()) / p.numel() for n, p in zip(self.names, self.params)}

    def stats(self) -> list[dict]:
        return [{"name": n, "numel": p.numel(), "nonzero": int((p != 0).sum()), "kept": int(m.sum())}
                for n, p, m in zip(self.names, self.params, self.masks)]


# The pruning step at WRN-28-10 scale (36.5 M weights) must not hold more than one extra copy of all weights.  A
# single ``torch.kthvalue`` over the concatenated magnitudes needs the concatenation *and* kthvalue's internal copy
# (measured: 4.3x the weights' size at peak, benchmarks/prune_step.py).  Instead, the k-th smallest magnitude is
# found from per-layer passes that only ever hold one layer's temporaries: a strided sample brackets it, one
# counting pass checks the bracket, and an exact kthvalue runs over the few weights inside it.  Magnitudes are
# compared as the int32 bit patterns of |w| (float32), which order exactly like the values for non-negative floats;
# entries already pruned get the key -1, below every magnitude, so they are pruned first.
_SAMPLE = 1 << 20         # sample size for the bracket
_MAX_CANDIDATES = 1 << 22  # at most this many weights are gathered for the exact selection (16 MiB of int32)


def _magnitude_key(w: torch.Tensor, current: torch.Tensor | None) -> torch.Tensor:
    key = w.detach().float().abs().view(torch.int32)  # abs() allocates: one layer's temporary, never a view of w
    if current is not None:
        key.masked_fill_(~current, -1)
    return key


class _Keys:
    """The magnitude keys of all layers, computed one layer at a time on demand."""

    def __init__(self, weights: list[torch.Tensor], current: list[torch.Tensor] | None):
        self.weights, self.current = weights, current
        self.n = sum(w.numel() for w in weights)

    def __iter__(self):
        for i, w in enumerate(self.weights):
            yield _magnitude_key(w, None if self.current is None else self.current[i]).reshape(-1)

    def count_le(self, t: int) -> int:
        return int(sum((key <= t).sum() for key in self))

    def sample(self) -> torch.Tensor:
        stride = max(1, self.n // _SAMPLE)
        parts = [_magnitude_key(w.reshape(-1)[::stride], None if self.current is None
                                else self.current[i].reshape(-1)[::stride]) for i, w in enumerate(self.weights)]
        return torch.cat(parts).sort().values


def _kth_smallest_key(keys: _Keys, k: int) -> tuple[int, int]:
    """``(t, c)``: the k-th smallest key (1-based) and how many keys are ``<= t``."""
    s = keys.sample()
    m = s.numel()
    pos = (k - 0.5) / keys.n * m  # where the k-th smallest falls in the sample
    margin = 6.0 * math.sqrt(m * 0.25) + 2  # >= 6 standard deviations of a sample quantile's rank
    lo_i, hi_i = int(pos - margin), int(math.ceil(pos + margin))
    lo = int(s[lo_i]) if lo_i >= 0 else -2          # keys are >= -1: -2 is below all of them
    hi = int(s[hi_i]) if hi_i < m else 2 ** 31 - 1  # above every finite magnitude
    # one counting pass for the bracket, one host sync at its end
    counts = sum(torch.stack([(key < lo).sum(), (key <= lo).sum(), (key <= hi).sum()]) for key in keys)
    c_lt_lo, c_le_lo, c_le_hi = counts.tolist()
    if c_lt_lo < k <= c_le_lo:
        return lo, c_le_lo
    if c_le_lo < k <= c_le_hi and c_le_hi - c_le_lo <= _MAX_CANDIDATES:
        cands = torch.cat([key[(key > lo) & (key <= hi)] for key in keys])
        t = int(torch.kthvalue(cands.cpu() if cands.device.type == "mps" else cands, k - c_le_lo).values)
        return t, c_le_lo + int((cands <= t).sum())
    # The sample missed (a very skewed or tie-heavy distribution): bisect over the key range, one pass per step.
    a, b = (-2, lo) if k <= c_le_lo else (hi, 2 ** 31 - 1) if k > c_le_hi else (lo, hi)
    while b - a > 1:  # invariant: count_le(a) < k <= count_le(b)
        mid = (a + b) // 2
        if keys.count_le(mid) >= k:
            b = mid
        else:
            a = mid
    return b, keys.count_le(b)


@torch.no_grad()
def global_magnitude_masks(weights: list[torch.Tensor], sparsity: float,
                           current: list[torch.Tensor] | None = None) -> list[torch.Tensor]:
    """Keep-masks that prune exactly ``round(sparsity * n)`` of the ``n`` weights, those of smallest magnitude.

    One threshold over all layers (global unstructured magnitude pruning).  Entries already pruned in ``current`` are
    pruned first, so masks only shrink.  Ties at the threshold are broken by position (the first tied entries, in
    layer order, are kept) so the count is exact.  Extra memory: the masks plus one layer's temporaries.
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity={sparsity!r} must lie in [0, 1)")
    keys = _Keys(weights, current)
    k = int(round(sparsity * keys.n))
    if k == 0:
        return [torch.ones_like(w, dtype=torch.bool) for w in weights]
    t, pruned = _kth_smallest_key(keys, k)
    masks = []
    to_keep = pruned - k  # tied entries at t that must stay
    for w, key in zip(weights, keys):
        keep = key > t
        if to_keep > 0:
            tied = torch.nonzero(key == t).flatten()[:to_keep]
            keep[tied] = True
            to_keep -= tied.numel()
        masks.append(keep.view_as(w))
    return masks


def _new_masks(masks: Masks, sparsity: float) -> list[torch.Tensor]:
    """The masks of a global prune of ``masks``' weights to ``sparsity``, restricted to the current masks."""
    return global_magnitude_masks(list(masks.params), sparsity, masks.masks if masks.active else None)


def _install(masks: Masks, new: list[torch.Tensor], optimizer: torch.optim.Optimizer | None) -> None:
    masks.set(new)
    masks.apply()
    if optimizer is not None:
        masks.zero_momentum(optimizer)


def prune_global(masks: Masks, sparsity: float, optimizer: torch.optim.Optimizer | None = None) -> None:
    """Prune ``masks``' model globally to ``sparsity`` (overall, over prunable weights) and enforce it."""
    _install(masks, _new_masks(masks, sparsity), optimizer)


@torch.no_grad()
def prune_and_measure(masks: Masks, model: nn.Module, sparsity: float,
                      optimizer: torch.optim.Optimizer | None = None) -> tuple[float, float]:
    """Prune globally to ``sparsity`` and return ``(d, p)`` for ALLR (SPEC §6): ``d = ‖θ − θ_pruned‖₂ / ‖θ‖₂`` over all
    parameters and ``p`` = the fraction of the still-unpruned prunable weights that this step removed."""
    kept_before = sum(int(m.sum()) for m in masks.masks)
    new = _new_masks(masks, sparsity)
    # what the step removes, one layer at a time (no copy of all weights)
    removed_sq = sum(p.detach().masked_fill(keep, 0).double().square().sum() for p, keep in zip(masks.params, new))
    _install(masks, new, optimizer)
    kept_after = sum(int(m.sum()) for m in masks.masks)
    after_sq = sum((p.detach().double() ** 2).sum() for p in model.parameters())
    total = float(torch.sqrt(after_sq + removed_sq))  # pruning only zeroes entries: ‖θ‖² = ‖θ_pruned‖² + ‖removed‖²
    distance = float(torch.sqrt(removed_sq)) / total if total > 0 else 0.0
    return distance, (1.0 - kept_after / kept_before) if kept_before else 0.0


def sparsity_of(model: nn.Module, names: Iterable[str] | None = None) -> tuple[float, float]:
    """(sparsity over prunable weights, sparsity over all parameters), measured as fractions of exact zeros."""
    names = set(names) if names is not None else set(prunable_names(model))
    zp = np_ = zt = nt = 0
    for n, p in model.named_parameters():
        z = int((p == 0).sum())
        zt += z
        nt += p.numel()
        if n in names:
            zp += z
            np_ += p.numel()
    return zp / max(np_, 1), zt / max(nt, 1)
