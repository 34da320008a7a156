"""The dataset registry and its entry point :func:`load_dataset`.

Each dataset is described by a :class:`DatasetInfo` and made loadable by one :func:`register_dataset` call, which
also says how to read its official train and test splits and, for a dataset kept in files, where they are.
:func:`load_dataset` looks a dataset up, reads it, checks it against its description, and splits it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .info import DatasetInfo
from .splits import DataBundle, Split, make_splits


@dataclass(frozen=True)
class _Source:
    """Where a registered dataset's official splits come from (see :func:`register_dataset`)."""

    read: Callable[[Path | None], tuple[Split, Split]]
    locate: Callable[[Path, bool], Path] | None
    default_root: Callable[[], str] | None


DATASETS: dict[str, DatasetInfo] = {}
_SOURCES: dict[str, _Source] = {}


def register_dataset(
    info: DatasetInfo,
    read: Callable[[Path | None], tuple[Split, Split]],
    *,
    locate: Callable[[Path, bool], Path] | None = None,
    default_root: Callable[[], str] | None = None,
) -> None:
    """Make the dataset ``info.name`` available to :func:`load_dataset`.

    ``read(folder)`` returns the official ``(train, test)`` splits. A dataset kept in files also gives
    ``locate(root, download)``, which returns the folder under ``root`` that holds the files (downloading them
    first where ``download`` allows it) or raises ``FileNotFoundError`` naming where it looked and what to do, and
    ``default_root()``, the root used when none is given. A generated dataset gives neither, and ``read`` gets
    ``None``.
    """
    if (locate is None) != (default_root is None):
        raise ValueError(f"dataset {info.name!r}: give both locate and default_root (files) or neither (generated)")
    if info.name in DATASETS:
        raise ValueError(f"dataset {info.name!r} registered twice")
    DATASETS[info.name] = info
    _SOURCES[info.name] = _Source(read, locate, default_root)


def dataset_info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of ``name``; ``ValueError`` for an unknown name."""
    try:
        return DATASETS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}") from None


def default_root(name: str) -> str | None:
    """Where :func:`load_dataset` looks when no ``root`` is given (each dataset's module says where);
    ``None`` for a generated dataset."""
    dataset_info(name)
    root = _SOURCES[name].default_root
    return None if root is None else root()


def _root_path(name: str, root: str | None) -> Path:
    return Path(os.path.expanduser(str(root if root is not None else default_root(name))))


def check_available(name: str, root: str | None = None, download: bool = False) -> None:
    """Fail early, without loading anything, when ``name``'s files are missing (and may not be downloaded): raises
    ``FileNotFoundError`` with the same message, and the same fix, as :func:`load_dataset` would."""
    dataset_info(name)
    locate = _SOURCES[name].locate
    if locate is None or download:
        return
    locate(_root_path(name, root), False)


def _read(name: str, root: str | None, download: bool) -> tuple[Split, Split]:
    source = _SOURCES[name]
    folder = None if source.locate is None else source.locate(_root_path(name, root), download)
    return source.read(folder)


def _check(info: DatasetInfo, part: str, split: Split) -> None:
    """Reject an official split whose images or labels do not match the dataset's description."""
    shape = tuple(split.x.shape[1:])
    expected = (info.in_channels, info.image_size, info.image_size)
    if shape != expected:
        raise ValueError(f"{info.name} {part}: images of shape {shape}, expected {expected}")
    if len(split) and (int(split.y.min()) < 0 or int(split.y.max()) >= info.num_classes):
        raise ValueError(f"{info.name} {part}: labels outside 0..{info.num_classes - 1}")


def load_dataset(
    name: str,
    root: str | None = None,
    *,
    train_subset: int | None = None,
    test_subset: int | None = None,
    val_fraction: float = 0.1,
    split_seed: int = 0,
    download: bool = False,
) -> DataBundle:
    """Load ``name`` whole into memory and split it into train / validation / test.

    * ``train_subset``: keep a fixed-seed, class-balanced random subset of that many official training
      examples (before the validation split); ``None`` keeps all.
    * ``val_fraction``: ``round(val_fraction * n)`` of the (subset) training examples, class-balanced and
      chosen with ``split_seed``, form the validation split; 0 gives an empty validation split.
    * ``test_subset``: a fixed-seed, class-balanced subset of the official test set; ``None`` keeps all.

    Subset and split depend only on ``split_seed`` (never on a training seed). The examples of every split
    keep their original relative order. ``download=True`` tries torchvision when the files are missing.
    """
    info = dataset_info(name)
    if not 0.0 <= float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction={val_fraction} must be in [0, 1)")
    train_full, test_full = _read(name, root, download)
    _check(info, "train", train_full)
    _check(info, "test", test_full)
    train, val, test = make_splits(train_full, test_full, train_subset=train_subset, test_subset=test_subset,
                                   val_fraction=val_fraction, split_seed=split_seed)
    return DataBundle(info=info, train=train, val=val, test=test)
