"""The run table summarised: per setting x method x configuration x goal sparsity, mean and std over seeds.

Reads the tidy table of :func:`sparselib.results.collect_runs` (one row per finished run) and never invents a
value.  Only seeds are averaged: runs whose configurations differ in anything else (a tuned hyper-parameter, a
weight decay) are different *configurations* and stay apart.
"""
from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from .style import method_rank, present, series_label

__all__ = ["REQUIRED_COLUMNS", "SUMMARY_COLUMNS", "prepare", "summarize_prepared", "summarize_runs"]

#: Columns the summary (and :func:`sparselib.plots.accuracy_vs_sparsity`) need.
REQUIRED_COLUMNS = ("method", "goal_sparsity", "sparsity_prunable", "top1", "run_id")

SUMMARY_COLUMNS = [
    "setting", "method", "schedule", "variant", "goal_sparsity", "n_seeds", "top1_mean",
    "top1_std", "sparsity_mean", "sparsity_std", "speedup_mean", "relative_time_mean",
    "run_ids", "series",
]

# Configuration fields, if sparselib.config cannot be imported (it normally is: RunConfig's fields).
_FALLBACK_CONFIG_FIELDS = (
    "dataset", "model", "model_width", "dropout", "train_subset", "test_subset", "val_fraction",
    "epochs", "batch_size", "lr", "lr_schedule", "lr_milestones", "lr_gamma", "warmup_epochs",
    "momentum", "nesterov", "weight_decay", "method_args",
)
# Keys of a run's identity that are explicit axes of the summary (not part of its "variant").
_AXIS_KEYS = {"setting", "method", "goal_sparsity", "seed", "run_id", "schedule"}
# Columns _prepare adds when the table lacks them, with their value.
_DEFAULTS = (("setting", "default"), ("schedule", None), ("seed", np.nan),
             ("theoretical_speedup", np.nan), ("relative_time", np.nan))
_NUMERIC = ("goal_sparsity", "sparsity_prunable", "top1", "theoretical_speedup", "relative_time")


def _config_fields() -> list[str]:
    try:
        from sparselib.config import RunConfig

        return [f.name for f in dataclasses.fields(RunConfig)]
    except Exception:  # noqa: BLE001 - any failure: fall back to the known list
        return list(_FALLBACK_CONFIG_FIELDS)


def _method_args(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            return {"method_args": value}
        return parsed if isinstance(parsed, dict) else {"method_args": parsed}
    return {}


def _variant(row: pd.Series, columns: list[str]) -> dict[str, Any]:
    """A run's configuration minus seed, setting, method, goal sparsity and schedule."""
    out: dict[str, Any] = {}
    for col in columns:
        value = row[col]
        if col == "method_args":
            for k, v in _method_args(value).items():
                if k not in _AXIS_KEYS:
                    out[k if k not in columns else f"method_args.{k}"] = v
        elif isinstance(value, (list, tuple, dict)) or present(value):
            out[col] = list(value) if isinstance(value, tuple) else value
    return out


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def _normalised(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of the run table with every column the summary reads, in one type each."""
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"run table lacks column(s) {missing}; has {list(df.columns)}")
    d = df.copy().reset_index(drop=True)
    for col, default in _DEFAULTS:
        if col not in d.columns:
            d[col] = default
    d["setting"] = d["setting"].astype(object).where(d["setting"].map(present), "default")
    d["schedule"] = d["schedule"].astype(object).where(d["schedule"].map(present), "")
    d["method"] = d["method"].astype(str)
    d["run_id"] = d["run_id"].astype(str)
    for col in _NUMERIC:
        d[col] = pd.to_numeric(d[col], errors="coerce").astype(float)
    return d


def _variant_labels(d: pd.DataFrame, variants: list[dict[str, Any]]) -> list[str]:
    """Per run, what tells its configuration apart from the others of its method in its setting ("" if alone)."""
    labels = [""] * len(d)
    for _, idx in d.groupby(["setting", "method"], sort=False).groups.items():
        distinct = {d.at[i, "variant_key"]: variants[i] for i in idx}
        if len(distinct) < 2:
            continue
        keys = sorted({k for v in distinct.values() for k in v})
        differing = [k for k in keys
                     if len({json.dumps(v.get(k), sort_keys=True, default=str)
                             for v in distinct.values()}) > 1]
        for i in idx:
            labels[i] = ", ".join(f"{k}={_fmt_value(variants[i].get(k, '—'))}" for k in differing)
    return labels


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Normalised copy of the run table with ``variant_key``, ``variant`` and ``series``.

    Runs that differ in anything but their seed (and the explicit axes setting, method, schedule,
    goal sparsity) are different *configurations* -- e.g. a tuned hyper-parameter or weight decay
    -- and are never averaged together.  ``variant`` names what distinguishes the configurations
    of one method in one setting (empty when it has only one).
    """
    d = _normalised(df)
    columns = [c for c in _config_fields() if c in d.columns and c not in _AXIS_KEYS]
    variants = [_variant(r, columns) for _, r in d.iterrows()]
    d["variant_key"] = [json.dumps(v, sort_keys=True, default=str) for v in variants]
    d["variant"] = _variant_labels(d, variants)
    d["series"] = [series_label(m, s, v) for m, s, v in zip(d["method"], d["schedule"], d["variant"])]
    return d


def _stats(g: pd.DataFrame) -> dict[str, Any]:
    """One summary row: a configuration at one goal sparsity, over its seeds."""
    first = g.iloc[0]
    return {
        "setting": first["setting"], "method": first["method"],
        "schedule": first["schedule"], "variant": first["variant"],
        "goal_sparsity": first["goal_sparsity"],
        "n_seeds": int(len(g)),
        "top1_mean": g["top1"].mean(), "top1_std": g["top1"].std(ddof=1),
        "sparsity_mean": g["sparsity_prunable"].mean(),
        "sparsity_std": g["sparsity_prunable"].std(ddof=1),
        "speedup_mean": g["theoretical_speedup"].mean(),
        "relative_time_mean": g["relative_time"].mean(),
        "run_ids": sorted(g["run_id"]),
        "series": first["series"],
    }


def _row_order(out: pd.DataFrame, i: int) -> tuple:
    """Setting, the study's method order, schedule, configuration, goal sparsity."""
    goal = out.at[i, "goal_sparsity"]
    return (str(out.at[i, "setting"]), method_rank(out.at[i, "method"]), str(out.at[i, "schedule"]),
            str(out.at[i, "variant"]), -math.inf if pd.isna(goal) else goal)


def summarize_prepared(d: pd.DataFrame) -> pd.DataFrame:
    """:func:`summarize_runs` of a table that went through :func:`prepare`."""
    keys = ["setting", "method", "schedule", "variant_key", "goal_sparsity"]
    rows = [_stats(g) for _, g in d.groupby(keys, dropna=False, sort=False)]
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    order = sorted(range(len(out)), key=lambda i: _row_order(out, i))
    return out.iloc[order].reset_index(drop=True)


def summarize_runs(df: pd.DataFrame) -> pd.DataFrame:
    """One row per setting x method x configuration x goal sparsity: statistics over its seeds.

    Columns: setting, method, schedule ("" when none), variant (what tells this configuration
    apart from the method's others in the setting, "" when it is the only one), goal_sparsity,
    n_seeds, top1_mean, top1_std (sample std, NaN for one seed), sparsity_mean, sparsity_std,
    speedup_mean, relative_time_mean, run_ids (sorted list), series (display label).
    Fractions stay fractions.  Only seeds are averaged: runs whose configurations differ in
    anything else are separate rows.
    """
    if df is None or len(df) == 0:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    return summarize_prepared(prepare(df))
