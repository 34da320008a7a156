"""Splits in memory (:class:`Split`, :class:`DataBundle`) and how the official splits become train / validation /
test: class-balanced, fixed-seed subsets and the validation hold-out.

All randomness comes from explicitly seeded CPU ``torch.Generator`` objects whose seeds are mixed from the split seed
(:func:`mix_seed`), so subsets and splits depend neither on the device nor on global RNG state.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .info import DatasetInfo


@dataclass
class Split:
    """Images and labels of one split, in memory."""

    x: torch.Tensor  # uint8, N x C x H x W
    y: torch.Tensor  # int64, N

    def __post_init__(self) -> None:
        if self.x.dtype != torch.uint8 or self.x.dim() != 4:
            raise ValueError(f"Split.x must be a uint8 N x C x H x W tensor, got {self.x.dtype} {tuple(self.x.shape)}")
        if self.y.dtype != torch.int64 or self.y.dim() != 1:
            raise ValueError(f"Split.y must be an int64 vector, got {self.y.dtype} {tuple(self.y.shape)}")
        if self.x.shape[0] != self.y.shape[0]:
            raise ValueError(f"Split has {self.x.shape[0]} images but {self.y.shape[0]} labels")

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def index(self, idx: torch.Tensor) -> "Split":
        """A new split holding the examples at ``idx`` (a copy)."""
        return Split(self.x[idx].contiguous(), self.y[idx].contiguous())


@dataclass
class DataBundle:
    info: DatasetInfo
    train: Split
    val: Split
    test: Split


def mix_seed(*parts: int) -> int:
    """Deterministic 63-bit seed from integers (splitmix64 finaliser, chained)."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = (h ^ (int(p) & 0xFFFFFFFFFFFFFFFF)) & 0xFFFFFFFFFFFFFFFF
        h = (h + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 31
    return h & 0x7FFFFFFFFFFFFFFF


def _balanced_order(y: torch.Tensor, seed: int) -> torch.Tensor:
    """A random permutation of ``range(len(y))`` that interleaves the classes.

    The examples are shuffled, then ordered by their rank within their class (ties by shuffled position),
    so any prefix of length n holds floor(n/K) or ceil(n/K) examples of each class (while classes last).
    """
    n = y.shape[0]
    if n == 0:
        return torch.zeros(0, dtype=torch.int64)
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=gen)
    yp = y[perm]
    by_class = torch.sort(yp, stable=True).indices  # shuffled positions grouped by class, in shuffled order
    sorted_labels = yp[by_class]
    counts = torch.bincount(sorted_labels)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.empty(n, dtype=torch.int64)
    rank[by_class] = torch.arange(n) - starts[sorted_labels]
    key = rank * n + torch.arange(n)
    return perm[torch.argsort(key)]


def _subset(split: Split, n: int | None, seed: int, what: str) -> Split:
    if n is None:
        return split
    if n < 0 or n > len(split):
        raise ValueError(f"{what}={n} must be between 0 and the split size {len(split)}")
    if n == len(split):
        return split
    idx = torch.sort(_balanced_order(split.y, seed)[:n]).values
    return split.index(idx)


def balanced_subset(split: Split, n: int, seed: int) -> Split:
    """``n`` examples of ``split`` drawn with a fixed seed, the classes interleaved (each class within one example of
    ``n / classes``), in their original order."""
    return _subset(split, min(n, len(split)), seed, "n")


def make_splits(
    train_full: Split,
    test_full: Split,
    *,
    train_subset: int | None,
    test_subset: int | None,
    val_fraction: float,
    split_seed: int,
) -> tuple[Split, Split, Split]:
    """``(train, val, test)`` from the official splits, as documented by :func:`~.registry.load_dataset`."""
    pool = _subset(train_full, train_subset, mix_seed(split_seed, 1), "train_subset")
    n_val = int(round(float(val_fraction) * len(pool)))
    order = _balanced_order(pool.y, mix_seed(split_seed, 2))
    val_idx = torch.sort(order[:n_val]).values
    train_idx = torch.sort(order[n_val:]).values
    test = _subset(test_full, test_subset, mix_seed(split_seed, 3), "test_subset")
    return pool.index(train_idx), pool.index(val_idx), test
