"""Run folders: atomic writes, checkpoints that survive corruption, provenance.

A run folder ``<results>/<setting>/<run_id>/`` holds:

=====================  ==========================================================  ===========
file                   what                                                        in git
=====================  ==========================================================  ===========
``config.json``        the full configuration (and its run id)                     yes
``provenance.json``    git SHA, package versions, device, host, start time         yes
``history.csv``        one row per epoch (loss, accuracies, sparsity, LR, time)    yes
``lr.json``            the learning rate of every iteration                        yes
``mask_stats.json``    per-layer size, kept weights, multiply-adds                 yes
``metrics.json``       final metrics; written last, so its presence means *done*  yes
``failed.json``        the error of the last failed attempt (removed on success)   yes
``mask.pt``            the final keep-masks                                        no
``final.pt``           the final (pruned) weights, a plain state_dict               no
``checkpoint.pt``      the last completed epoch (``checkpoint.prev.pt``: the one before)  no
=====================  ==========================================================  ===========
"""
from __future__ import annotations

import csv
import io
import json
import os
import platform
import socket
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import torch


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n").encode())


def _jsonable(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.tolist()
    if isinstance(x, (set, tuple)):
        return list(x)
    raise TypeError(f"cannot store {type(x).__name__} as JSON")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(path, buf.getvalue().encode())


def save_torch(path: Path, obj: Any) -> None:
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_torch(path: Path, map_location: Any = "cpu") -> Any:
    """Load a tensor file written by :func:`save_torch`; only tensors and plain containers are accepted."""
    return torch.load(path, map_location=map_location, weights_only=True)


class CheckpointStore:
    """The last two epoch checkpoints of a run; a corrupt one is reported and the previous one is used."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / "checkpoint.pt"
        self.prev = Path(run_dir) / "checkpoint.prev.pt"

    def save(self, state: dict[str, Any]) -> None:
        if self.path.exists():
            os.replace(self.path, self.prev)
        save_torch(self.path, state)

    def load(self) -> dict[str, Any] | None:
        """The newest readable checkpoint, or None (start from scratch).  Never silent about corruption."""
        for path in (self.path, self.prev):
            if not path.exists():
                continue
            try:
                return load_torch(path)
            except Exception as e:  # noqa: BLE001 - any unreadable file is treated the same way
                bad = path.with_suffix(path.suffix + ".corrupt")
                os.replace(path, bad)
                warnings.warn(f"checkpoint {path} is unreadable ({type(e).__name__}: {e}); moved it to {bad.name} "
                              f"and falling back to {'the previous checkpoint' if path == self.path else 'scratch'}",
                              RuntimeWarning, stacklevel=2)
        return None

    def clear(self) -> None:
        for p in (self.path, self.prev):
            p.unlink(missing_ok=True)


def provenance(device: torch.device) -> dict[str, Any]:
    """Where and with what a run was made."""
    repo = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                             timeout=10).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "sparselib"], cwd=repo,
                                    capture_output=True, text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        sha, dirty = None, None
    info: dict[str, Any] = {
        "git_sha": sha,
        "git_dirty": dirty,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "device": str(device),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
    return info
