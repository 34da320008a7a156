"""Run folders: :class:`RunFolder` (the one owner of a run folder's files), atomic writes, checkpoints that survive
corruption, provenance.

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
``diverged.json``      the run's loss became NaN/inf: an outcome, not retried      yes
``mask.pt``            the final keep-masks                                        no
``final.pt``           the final (pruned) weights, a plain state_dict               no
``checkpoint.pt``      the last completed epoch (``checkpoint.prev.pt``: the one before)  no
``run.ipynb``          the executed notebook of a run made through papermill       no
``.lock``              held (``flock``) by the process executing the run           no
=====================  ==========================================================  ===========

Nothing outside this module spells a file name of a run folder: runner, trainer, sweep, results, figures and the
book read and write through :class:`RunFolder`.  Torch is imported only where tensors are read or written.
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
import traceback
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
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
    if hasattr(x, "tolist"):  # tensors, numpy arrays and scalars
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
    # the csv module quotes a field holding the line terminator "\n" but not one holding only "\r", which a reader
    # takes for a line end: a row with such a field is written with every field quoted
    quoted = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writeheader()
    for row in rows:
        bare_cr = any(isinstance(v, str) and "\r" in v and "\n" not in v for v in row.values())
        (quoted if bare_cr else writer).writerow(row)
    atomic_write_bytes(path, buf.getvalue().encode())


def read_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV written by :func:`write_csv`, numbers parsed (empty cells: None)."""
    with open(path, newline="") as f:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _number(text: str) -> Any:
    if text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(text, text)


def save_torch(path: Path, obj: Any) -> None:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_torch(path: Path, map_location: Any = "cpu") -> Any:
    """Load a tensor file written by :func:`save_torch`; only tensors and plain containers are accepted."""
    import torch

    return torch.load(path, map_location=map_location, weights_only=True)


class CheckpointStore:
    """The last two epoch checkpoints of a run; a corrupt one is reported and the previous one is used."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / "checkpoint.pt"
        self.prev = Path(run_dir) / "checkpoint.prev.pt"

    def exists(self) -> bool:
        return self.path.exists() or self.prev.exists()

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


def provenance(device: "torch.device") -> dict[str, Any]:
    """Where and with what a run was made."""
    import torch

    repo = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                             timeout=10).stdout.strip() or None
        # errors="replace": a file name git prints in bytes that are not UTF-8 must not crash the run
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "sparselib"], cwd=repo,
                                    capture_output=True, text=True, errors="replace", timeout=10).stdout.strip())
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


class RunFolder:
    """One run folder: every file in it, their formats, and the run's state.

    ``state`` is one of :data:`STATES`: *finished* (``metrics.json`` exists — written last), *diverged* (training
    hit a non-finite loss: ``diverged.json``; training is deterministic, so a retry would diverge again — it is an
    outcome of the configuration, like an accuracy, and is not retried unless the file is deleted), *failed* (the
    last attempt left ``failed.json``), *partial* (a checkpoint exists: an interrupted run that resumes) or
    *missing*.  *finished* and *diverged* are the two :data:`DONE` states.
    """

    CONFIG, PROVENANCE, HISTORY, LRS = "config.json", "provenance.json", "history.csv", "lr.json"
    MASK_STATS, METRICS, FAILURE, DIVERGED = "mask_stats.json", "metrics.json", "failed.json", "diverged.json"
    FINAL, MASK, NOTEBOOK, LOCK = "final.pt", "mask.pt", "run.ipynb", ".lock"
    #: the small text files a finished run keeps in git (tensors and the lock are ignored)
    RECORD = (CONFIG, PROVENANCE, HISTORY, LRS, MASK_STATS, METRICS)
    STATES = ("missing", "partial", "finished", "diverged", "failed")
    DONE = ("finished", "diverged")

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.checkpoints = CheckpointStore(self.path)

    @classmethod
    def of(cls, results: str | os.PathLike, setting: str, run_id: str) -> "RunFolder":
        return cls(Path(results) / setting / run_id)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __lt__(self, other: "RunFolder") -> bool:
        return self.path < other.path

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def run_id(self) -> str:
        return self.path.name

    # -- state ----------------------------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self.file(self.METRICS).exists()

    @property
    def state(self) -> str:
        if self.finished:
            return "finished"
        if self.diverged:
            return "diverged"
        if self.file(self.FAILURE).exists():
            return "failed"
        if self.checkpoints.exists():
            return "partial"
        return "missing"

    @property
    def diverged(self) -> bool:
        return not self.finished and self.file(self.DIVERGED).exists()

    def missing_record(self) -> list[str]:
        """The files of :data:`RECORD` that a finished run should have and this folder lacks."""
        return [name for name in self.RECORD if not self.file(name).is_file()]

    def check_writable(self) -> None:
        """OSError unless this folder can be created and written to (a probe file of its own, uniquely named:
        two sweeps checking the same folder at once must not unlink each other's probe)."""
        self.path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=self.path, prefix=".write-test-"):
            pass

    def lock(self):
        """The run's lock (an OS-level ``flock`` on ``.lock``, released when its holder dies)."""
        from filelock import FileLock

        return FileLock(self.file(self.LOCK))

    # -- the record -----------------------------------------------------------------------------------------------
    def read_config(self) -> dict[str, Any]:
        return read_json(self.file(self.CONFIG))

    def write_config(self, config: dict[str, Any], run_id: str) -> None:
        write_json(self.file(self.CONFIG), {**config, "run_id": run_id})

    def read_provenance(self) -> dict[str, Any]:
        return read_json(self.file(self.PROVENANCE))

    def write_provenance(self, info: dict[str, Any]) -> None:
        write_json(self.file(self.PROVENANCE), info)

    def read_history(self) -> list[dict[str, Any]]:
        return read_csv(self.file(self.HISTORY)) if self.file(self.HISTORY).exists() else []

    def history_frame(self):
        """The history as a pandas DataFrame (one row per epoch)."""
        import pandas as pd

        return pd.read_csv(self.file(self.HISTORY))

    def write_history(self, rows: list[dict[str, Any]]) -> None:
        write_csv(self.file(self.HISTORY), rows)

    def read_lrs(self) -> list[float]:
        return read_json(self.file(self.LRS))

    def write_lrs(self, lrs: list[float]) -> None:
        write_json(self.file(self.LRS), [round(x, 10) for x in lrs])

    def read_mask_stats(self) -> list[dict[str, Any]]:
        return read_json(self.file(self.MASK_STATS))

    def write_mask_stats(self, stats: list[dict[str, Any]]) -> None:
        write_json(self.file(self.MASK_STATS), stats)

    def read_metrics(self) -> dict[str, Any]:
        return read_json(self.file(self.METRICS))

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        """Mark the run finished: the failure record goes, ``metrics.json`` comes last."""
        self.file(self.FAILURE).unlink(missing_ok=True)
        write_json(self.file(self.METRICS), metrics)

    def read_failure(self) -> dict[str, Any] | None:
        return read_json(self.file(self.FAILURE)) if self.file(self.FAILURE).exists() else None

    def record_failure(self, error: BaseException, tb: str | None = None) -> None:
        """Write ``failed.json`` (error and traceback); a later successful run removes it."""
        write_json(self.file(self.FAILURE), {
            "error": f"{type(error).__name__}: {error}",
            "traceback": tb if tb is not None else "".join(traceback.format_exception(error)),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")})

    def read_divergence(self) -> dict[str, Any] | None:
        return read_json(self.file(self.DIVERGED)) if self.diverged else None

    def record_divergence(self, error: BaseException) -> None:
        """Write ``diverged.json`` (the error, e.g. the epoch and learning rate where the loss became NaN); the
        failure record of an earlier attempt goes."""
        self.file(self.FAILURE).unlink(missing_ok=True)
        write_json(self.file(self.DIVERGED), {"error": f"{type(error).__name__}: {error}",
                                              "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")})

    # -- tensors --------------------------------------------------------------------------------------------------
    def save_final(self, state_dict: dict[str, Any], masks: dict[str, Any]) -> None:
        save_torch(self.file(self.FINAL), state_dict)
        save_torch(self.file(self.MASK), masks)

    def has_final(self) -> bool:
        return self.file(self.FINAL).exists()

    def load_final(self) -> dict[str, Any]:
        return load_torch(self.file(self.FINAL))

    def load_mask(self) -> dict[str, Any]:
        return load_torch(self.file(self.MASK))

    @property
    def notebook(self) -> Path:
        return self.file(self.NOTEBOOK)
