"""One tidy table of all finished runs: every table and figure of the book reads it (ShrinkBench's pattern)."""
from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import pandas as pd

from .config import BASELINE
from .storage import RunFolder

REPO = Path(__file__).resolve().parents[1]

COLUMNS = ["setting", "dataset", "model", "method", "schedule", "goal_sparsity", "sparsity_prunable",
           "sparsity_total", "top1", "val_top1", "theoretical_speedup", "epochs_total", "wall_time_s",
           "pipeline_time_s", "relative_time", "seed", "run_id", "config_id", "dense_run_id", "method_args", "device"]


def config_id(cfg: dict) -> str:
    """Identity of a run's configuration without its seed: the runs that differ only in seed share it."""
    rest = {k: v for k, v in cfg.items() if k not in ("seed", "run_id")}
    return hashlib.md5(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:12]


def default_results_dir() -> Path:
    """The folder the book reads: ``$SPARSELIB_RESULTS`` if set, else ``results/mini`` of this checkout."""
    env = os.environ.get("SPARSELIB_RESULTS")
    return Path(env) if env else REPO / "results" / "mini"


def finished_folders(path: str | Path) -> list[RunFolder]:
    """Every finished run folder (with its configuration) under ``path``, in path order."""
    folders = (RunFolder(f.parent) for f in sorted(Path(path).glob(f"**/{RunFolder.METRICS}")))
    return [f for f in folders if f.file(f.CONFIG).exists()]


def collect_runs(path: str | Path) -> pd.DataFrame:
    """All finished runs (folders with ``metrics.json``) under ``path``, one row each, columns :data:`COLUMNS` first.

    ``pipeline_time_s`` = the run's training wall time plus that of the dense run it started from (IMP, IMP+);
    ``relative_time`` = pipeline time / the wall time of the dense run of the same setting and seed (NaN when a
    needed run is not in the table).  Wall times exclude evaluation.
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
    wall = df.set_index("run_id")["wall_time_s"]
    if "reference_run_id" not in df:
        df["reference_run_id"] = None
    # IMP's pipeline includes the dense run it started from; derived here, so re-measuring that run updates it
    df["pipeline_time_s"] = [t + (wall.get(r, math.nan) if isinstance(r, str) else 0.0)
                             for t, r in zip(df["wall_time_s"], df["reference_run_id"])]
    dense = df.loc[df["method"] == BASELINE].set_index("run_id")["wall_time_s"]
    df["relative_time"] = [t / dense[d] if d in dense.index and dense[d] > 0 else math.nan
                           for t, d in zip(df["pipeline_time_s"], df["dense_run_id"])]
    rest = [c for c in df.columns if c not in COLUMNS]
    return df[COLUMNS + rest].sort_values(["setting", "method", "goal_sparsity", "seed"], ignore_index=True)


def dense_baseline(runs: pd.DataFrame) -> pd.DataFrame:
    """The dense runs that pruned runs are timed against (full dense training of their setting and seed); dense runs
    made only as a starting point (restricted IMP's shorter one) are left out."""
    pruned = runs.loc[runs["method"] != BASELINE]
    return runs.loc[(runs["method"] == BASELINE) & runs["run_id"].isin(pruned["dense_run_id"])]
