"""Reader for the CIFAR python-pickle format: a folder of pickled batches, each a dict holding ``data`` (one row of
3 x 32 x 32 uint8 values per image) and a list of labels."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from .splits import Split


def read_batches(folder: Path, files: list[str], label_key: str) -> Split:
    """The batches ``files`` of ``folder``, concatenated in that order."""
    parts = [_read_batch(folder / f, label_key) for f in files]
    return Split(torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts]))


def _read_batch(path: Path, label_key: str, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (uint8, N x 3 x size x size) and labels (int64) of one pickled batch; labels under ``label_key``."""
    with open(path, "rb") as f:
        entry = pickle.load(f, encoding="latin1")
    # Files pickled by Python 3 may carry bytes keys.
    entry = {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in entry.items()}
    if "data" not in entry or label_key not in entry:
        raise ValueError(f"{path}: not a CIFAR batch (keys {sorted(entry)}; expected 'data' and {label_key!r})")
    data = torch.as_tensor(_to_uint8_array(entry["data"]))
    if data.dim() != 2 or data.shape[1] != 3 * size * size:
        raise ValueError(f"{path}: 'data' has shape {tuple(data.shape)}, expected N x {3 * size * size}")
    x = data.reshape(-1, 3, size, size).contiguous()  # rows are stored channel-major (R plane, G, B)
    y = torch.as_tensor(list(entry[label_key]), dtype=torch.int64).reshape(-1)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"{path}: {x.shape[0]} images but {y.shape[0]} labels")
    return x, y


def _to_uint8_array(data):
    import numpy as np  # numpy is needed anyway to unpickle the official files

    arr = np.asarray(data)
    if arr.dtype != np.uint8:
        if arr.size and (arr.min() < 0 or arr.max() > 255):
            raise ValueError("CIFAR 'data' values outside 0..255")
        arr = arr.astype(np.uint8)
    return np.ascontiguousarray(arr)
