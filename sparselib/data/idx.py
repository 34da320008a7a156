"""Reader for the IDX format of MNIST-like datasets: a small header, then the raw array, optionally gzipped."""

from __future__ import annotations

import gzip
import math
import os
from pathlib import Path

import torch

_IDX_DTYPES = {0x08: torch.uint8}  # the only type the (Fashion-)MNIST files use


def read_idx(path: str | os.PathLike) -> torch.Tensor:
    """Read an IDX file (gzipped if the name ends in ``.gz``) into a tensor.

    Header: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, then each dimension
    as a big-endian uint32. The payload must hold exactly ``prod(dims)`` elements.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4:
        raise ValueError(f"{path}: not an IDX file (only {len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: bad IDX magic number 0x{raw[:4].hex()} (must start with two zero bytes)")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_DTYPES:
        raise ValueError(f"{path}: bad IDX magic number 0x{raw[:4].hex()}: unsupported type code 0x{type_code:02x}")
    header_len = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header_len:
        raise ValueError(f"{path}: truncated IDX header (ndim={ndim}, {len(raw)} bytes)")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    count = math.prod(dims)
    if len(raw) - header_len != count:
        raise ValueError(f"{path}: IDX dims {dims} need {count} bytes of data, file has {len(raw) - header_len}")
    if count == 0:
        return torch.zeros(dims, dtype=_IDX_DTYPES[type_code])
    data = torch.frombuffer(bytearray(raw[header_len:]), dtype=_IDX_DTYPES[type_code])
    return data.reshape(dims)


def idx_file(folder: Path, stem: str) -> Path | None:
    """``folder/stem.gz`` or else ``folder/stem``, whichever exists (IDX files are shipped either way)."""
    for fname in (stem + ".gz", stem):
        if (folder / fname).is_file():
            return folder / fname
    return None
