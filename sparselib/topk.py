"""Exact top-k over several tensors: the one selection every pruning decision in sparselib uses (masks, the
layer-wise allocations, GSM, LC, DNW, DPF).

``keep_largest(scores, k)`` marks exactly ``k`` entries of a list of non-negative score tensors, those with the
largest scores.  **Tie rule**: among equal scores the earlier entry wins — earlier tensor first, then earlier position
in the flattened tensor — so the result is deterministic and the same on every device.  ``exclude`` marks entries
that rank below every score (entries already pruned are pruned first).

Scores are compared as the int32 bit patterns of float32 values, which order exactly like the values for
non-negative floats; excluded entries get the key -1.  Two ways to find the threshold:

* default: one ``torch.cat`` of all keys and one ``kthvalue``, no host synchronisation (safe inside a training step:
  GSM and LC select every step, DNW every forward pass);
* ``low_memory=True``: never concatenates.  At WRN-28-10 scale (36.5 M weights) the concatenation plus kthvalue's
  own copy cost 4.3x the weights' memory (measured, benchmarks/prune_step.py), so the pruning steps find the
  threshold from per-layer passes instead: a strided sample brackets it, one counting pass checks the bracket and an
  exact kthvalue runs over the few entries inside it (bisection if the sample missed).  This synchronises with the
  device a few times; it is used where a pruning step happens, not in every training step.

Either way the masks are then built layer by layer with the same tie resolution, so both give identical masks.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

_SAMPLE = 1 << 20          # sample size for the low-memory bracket
_MAX_CANDIDATES = 1 << 22  # at most this many keys are gathered for the exact selection (16 MiB of int32)


def score_key(score: torch.Tensor, exclude: torch.Tensor | None = None) -> torch.Tensor:
    """Flat int32 keys of a non-negative score tensor (order-preserving); ``exclude``d entries get -1."""
    key = score.detach().float().abs().reshape(-1).view(torch.int32)  # abs(): a fresh tensor, never a view of score
    if exclude is not None:
        key = key.masked_fill(exclude.reshape(-1), -1)
    return key


class _Keys:
    """The keys of all tensors, computed one tensor at a time (low memory) or once (fast)."""

    def __init__(self, scores: Sequence[torch.Tensor], exclude: Sequence[torch.Tensor] | None, cache: bool):
        self.scores = list(scores)
        self.exclude = list(exclude) if exclude is not None else [None] * len(self.scores)
        if len(self.exclude) != len(self.scores):
            raise ValueError(f"exclude has {len(self.exclude)} tensors for {len(self.scores)} score tensors")
        self.n = sum(s.numel() for s in self.scores)
        self._cached = [score_key(s, e) for s, e in zip(self.scores, self.exclude)] if cache else None

    def __iter__(self):
        if self._cached is not None:
            yield from self._cached
        else:
            for s, e in zip(self.scores, self.exclude):
                yield score_key(s, e)

    def count_le(self, t: int) -> int:
        return int(sum((key <= t).sum() for key in self))

    def sample(self) -> torch.Tensor:
        stride = max(1, self.n // _SAMPLE)
        parts = [score_key(s.reshape(-1)[::stride], None if e is None else e.reshape(-1)[::stride])
                 for s, e in zip(self.scores, self.exclude)]
        return torch.cat(parts).sort().values


def _kth_smallest_fast(keys: _Keys, k: int) -> torch.Tensor:
    flat = torch.cat(list(keys))
    src = flat.cpu() if flat.device.type == "mps" else flat  # kthvalue is not implemented on MPS
    return torch.kthvalue(src, k).values.to(flat.device)


def _kth_smallest_low_memory(keys: _Keys, k: int) -> int:
    """The k-th smallest key (1-based), holding at most one tensor's temporaries and a bounded candidate set."""
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
        return lo
    if c_le_lo < k <= c_le_hi and c_le_hi - c_le_lo <= _MAX_CANDIDATES:
        cands = torch.cat([key[(key > lo) & (key <= hi)] for key in keys])
        return int(torch.kthvalue(cands.cpu() if cands.device.type == "mps" else cands, k - c_le_lo).values)
    # The sample missed (a very skewed or tie-heavy distribution): bisect over the key range, one pass per step.
    a, b = (-2, lo) if k <= c_le_lo else (hi, 2 ** 31 - 1) if k > c_le_hi else (lo, hi)
    while b - a > 1:  # invariant: count_le(a) < k <= count_le(b)
        mid = (a + b) // 2
        if keys.count_le(mid) >= k:
            b = mid
        else:
            a = mid
    return b


@torch.no_grad()
def keep_largest(scores: Sequence[torch.Tensor], k: int, *, exclude: Sequence[torch.Tensor] | None = None,
                 low_memory: bool = False) -> list[torch.Tensor]:
    """Boolean masks (shaped like ``scores``) marking exactly ``k`` entries: the largest scores, ties to the earlier
    entry; ``exclude``d entries rank below all others.  ``k`` must lie in [0, total number of entries]."""
    keys = _Keys(scores, exclude, cache=not low_memory)
    n = keys.n
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= n:
        raise ValueError(f"k={k!r} must be an integer in [0, {n}]")
    if k == 0 or k == n:
        return [torch.full_like(s, k == n, dtype=torch.bool) for s in keys.scores]
    t = (_kth_smallest_low_memory if low_memory else _kth_smallest_fast)(keys, n - k + 1)  # the k-th largest key
    need = k - sum((key > t).sum() for key in keys)  # how many entries tied at t are kept (a tensor: no sync)
    masks = []
    for s, key in zip(keys.scores, keys):
        tie = key == t
        keep = (key > t) | (tie & (torch.cumsum(tie, 0, dtype=torch.int64) <= need))
        need = need - tie.sum()
        masks.append(keep.view(s.shape))
    return masks


def n_kept(n: int, sparsity: float) -> int:
    """How many of ``n`` weights a prune to ``sparsity`` keeps: ``n − round(sparsity · n)`` (the pruning steps' and
    the final hard prune's count)."""
    return n - int(round(sparsity * n))


def authors_kept(n: int, sparsity: float) -> int:
    """How many entries the authors' GSM and LC keep: ``int((1 − sparsity) · n)`` (their
    ``n_remaining_params``, truncated, where :func:`n_kept` rounds the pruned count; the two can differ by one)."""
    return int((1 - sparsity) * n)
