"""One tidy table of all finished runs: every table and figure of the book reads it (ShrinkBench's pattern)."""
from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from .config import BASELINE
from .storage import RunFolder
from .timing import TRAIN_TIME_KEYS, time_basis

REPO = Path(__file__).resolve().parents[1]

COLUMNS = ["setting", "dataset", "model", "method", "schedule", "goal_sparsity", "sparsity_prunable",
           "sparsity_total", "top1", "val_top1", "theoretical_speedup", "epochs_total", "wall_time_s",
           "pipeline_time_s", "relative_time", "relative_wall_time", "time_basis", "seed", "run_id", "config_id",
           "dense_run_id", "method_args", "device"]


def config_id(cfg: dict) -> str:
    """Identity of a run's configuration without its seed: the runs that differ only in seed share it."""
    rest = {k: v for k, v in cfg.items() if k not in ("seed", "run_id")}
    return hashlib.md5(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:12]


def default_results_dir() -> Path:
    """The folder the book reads: ``$SPARSELIB_RESULTS`` if set, else ``results/<the book's study>`` of this
    checkout (:data:`sparselib.presets.DEFAULT_STUDY`)."""
    from .presets import DEFAULT_STUDY

    env = os.environ.get("SPARSELIB_RESULTS")
    return Path(env) if env else REPO / "results" / DEFAULT_STUDY[0]


def finished_folders(path: str | Path) -> list[RunFolder]:
    """Every finished run folder (with its configuration) under ``path``, in path order."""
    folders = (RunFolder(f.parent) for f in sorted(Path(path).glob(f"**/{RunFolder.METRICS}")))
    return [f for f in folders if f.file(f.CONFIG).exists()]


def diverged_runs(path: str | Path) -> pd.DataFrame:
    """The runs under ``path`` whose training diverged (``diverged.json``): setting, method, goal sparsity, seed,
    run id, config id, method args and the error."""
    rows = []
    for f in sorted(Path(path).glob(f"**/{RunFolder.DIVERGED}")):
        folder = RunFolder(f.parent)
        if not folder.diverged or not folder.file(folder.CONFIG).exists():
            continue
        cfg = folder.read_config()
        rows.append({"setting": cfg["setting"], "method": cfg["method"], "goal_sparsity": cfg["goal_sparsity"],
                     "seed": cfg["seed"], "run_id": folder.run_id, "config_id": config_id(cfg),
                     "method_args": json.dumps(cfg.get("method_args", {}), sort_keys=True),
                     "error": folder.read_divergence()["error"]})
    return pd.DataFrame(rows, columns=["setting", "method", "goal_sparsity", "seed", "run_id", "config_id",
                                       "method_args", "error"])


def collect_runs(path: str | Path) -> pd.DataFrame:
    """All finished runs (folders with ``metrics.json``) under ``path``, one row each, columns :data:`COLUMNS` first.

    ``pipeline_time_s`` = the run's training time plus that of the dense run it started from (IMP, IMP+);
    ``relative_time`` = pipeline time / the training time of the dense run of the same setting and seed (NaN when a
    needed run is not in the table).  Times exclude evaluation.  Both are on the clock in ``time_basis``
    (:func:`sparselib.timing.time_basis`): the GPU's time when all runs involved ran on CUDA and recorded it, the
    process's CPU time when all ran on one CPU thread (robust to other work on the machine), else wall time;
    ``relative_wall_time`` is the same ratio on wall time, for every run.  ``n_diverged`` counts the seeds of the
    row's configuration whose training diverged (:func:`diverged_runs`; those runs have no row): the selection rule
    never picks such a configuration.
    """
    rows = []
    for folder in finished_folders(path):
        cfg, metrics = folder.read_config(), folder.read_metrics()
        args = cfg.get("method_args", {})
        rows.append({**{k: v for k, v in cfg.items() if k != "method_args"}, **metrics,
                     "schedule": args.get("schedule"), "config_id": config_id(cfg),
                     "method_args": json.dumps(args, sort_keys=True), "folder": str(folder.path)})
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    df = pd.DataFrame(rows)
    for column in ("reference_run_id", "train_cpu_s", "train_device_s", "threads"):
        if column not in df:
            df[column] = None
    _relative_times(df)
    diverged = diverged_runs(path)["config_id"].value_counts()
    df["n_diverged"] = df["config_id"].map(diverged).fillna(0).astype(int)
    rest = [c for c in df.columns if c not in COLUMNS]
    return df[COLUMNS + rest].sort_values(["setting", "method", "goal_sparsity", "seed"], ignore_index=True)


def _relative_times(df: pd.DataFrame) -> None:
    """Add ``time_basis``, ``pipeline_time_s``, ``relative_time`` and ``relative_wall_time`` (see
    :func:`collect_runs`).  IMP's pipeline includes the dense run it started from; derived here, so re-measuring that
    run updates it."""
    records = df.set_index("run_id")
    basis = {rid: time_basis(m) for rid, m in records[["device", "threads", "train_cpu_s", "train_device_s"]]
             .to_dict("index").items()}
    dense_ids = set(df.loc[df["method"] == BASELINE, "run_id"])
    # A run whose weight decay (or another setting field) its method's grid tuned records the dense run of *its*
    # setting, which the study does not train: its baseline is then the study's dense run of the same setting,
    # seed and epochs, where there is exactly one.
    keys = [c for c in ("setting", "seed", "epochs") if c in df]
    same: dict[tuple, list[str]] = {}
    for row in df.loc[df["method"] == BASELINE, [*keys, "run_id"]].itertuples(index=False):
        same.setdefault(tuple(row[:-1]), []).append(row[-1])

    def baseline(rid: str, dense: Any) -> Any:
        if dense in dense_ids or len(keys) < 3:
            return dense
        found = same.get(tuple(records.loc[rid, keys]), [])
        return found[0] if len(found) == 1 else dense

    def seconds(rid: str, clock: str) -> float:
        value = records.at[rid, TRAIN_TIME_KEYS[clock]] if rid in records.index else None
        return float(value) if value is not None and not pd.isna(value) else math.nan

    out = {"time_basis": [], "pipeline_time_s": [], "relative_time": [], "relative_wall_time": []}
    for rid, ref, dense in zip(df["run_id"], df["reference_run_id"], df["dense_run_id"]):
        dense = baseline(rid, dense)
        involved = [rid] + ([ref] if isinstance(ref, str) else []) + ([dense] if dense in dense_ids else [])
        kinds = {basis.get(r, "wall") for r in involved}
        clock = kinds.pop() if len(kinds) == 1 else "wall"
        for key, c in (("relative_time", clock), ("relative_wall_time", "wall")):
            pipeline = seconds(rid, c) + (seconds(ref, c) if isinstance(ref, str) else 0.0)
            base = seconds(dense, c) if dense in dense_ids else math.nan
            out[key].append(pipeline / base if base > 0 else math.nan)
            if key == "relative_time":
                out["pipeline_time_s"].append(pipeline)
        out["time_basis"].append(clock)
    for key, values in out.items():
        df[key] = values


def dense_baseline(runs: pd.DataFrame) -> pd.DataFrame:
    """The dense runs that pruned runs are timed against (full dense training of their setting and seed); dense runs
    made only as a starting point (restricted IMP's shorter one) are left out."""
    pruned = runs.loc[runs["method"] != BASELINE]
    return runs.loc[(runs["method"] == BASELINE) & runs["run_id"].isin(pruned["dense_run_id"])]
