"""The paper's selection rule: the tidy run table in, the study's table cells out.

For each method (or any row key) and goal sparsity: among the method's configurations (all fields but the seed)
whose *mean* final sparsity over seeds lies within ±0.25 percentage points of the goal and none of whose seeds
diverged (its mean is undefined: the paper's grids drop such a configuration), take the one with the best
mean *validation* accuracy, and report its test accuracy (mean ± sample std over seeds), theoretical speedup,
actual sparsity and relative time.  A cell with no configuration in the band is empty ("—") and says why.

Explicit methods land on their goal by construction; implicit ones (CS, STR, DST) compete with every configuration
of their search, so one run can fill any cell whose band its sparsity falls into.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import pandas as pd

from .config import BASELINE

#: Half-width of the acceptance band around a goal sparsity (0.25 percentage points).
BAND = 0.0025

CELL_COLUMNS = ["goal", "found", "top1_mean", "top1_std", "val_top1_mean", "sparsity_mean", "sparsity_total_mean",
                "speedup_mean", "relative_time_mean", "n_seeds", "n_candidates", "config_id", "method_args",
                "run_ids", "why_empty"]


def config_groups(runs: pd.DataFrame, by: Sequence[str] = ("method",)) -> pd.DataFrame:
    """One row per configuration (``by`` columns + ``config_id``): means over its seeds and its run ids."""
    if "config_id" not in runs:
        raise ValueError("the run table has no config_id column: build it with sparselib.results.collect_runs")
    keys = [*by, "config_id"]
    g = runs.groupby(keys, sort=True, dropna=False)
    out = g.agg(
        n_seeds=("seed", "nunique"),
        sparsity_mean=("sparsity_prunable", "mean"),
        sparsity_total_mean=("sparsity_total", "mean"),
        val_top1_mean=("val_top1", "mean"),
        top1_mean=("top1", "mean"),
        top1_std=("top1", "std"),
        speedup_mean=("theoretical_speedup", "mean"),
        relative_time_mean=("relative_time", "mean"),
        method_args=("method_args", "first"),
        run_ids=("run_id", lambda s: ",".join(sorted(s))),
        **({"n_diverged": ("n_diverged", "max")} if "n_diverged" in runs else {}),
    ).reset_index()
    return out


def select_cells(runs: pd.DataFrame, goals: Iterable[float], *, by: Sequence[str] = ("method",),
                 band: float = BAND, exclude: Iterable[str] = (BASELINE,),
                 order: Sequence[str] | None = None) -> pd.DataFrame:
    """The study's cells: one row per (``by`` value, goal) with columns ``by`` + :data:`CELL_COLUMNS`.

    ``runs`` is the tidy table of :func:`sparselib.results.collect_runs` (one setting).  Methods in ``exclude`` (the
    dense baseline) are left out.  Ties in validation accuracy go to the smaller ``config_id``, so the choice never
    looks at the test set.  Rows follow ``order`` (method names; default: the registry's study order), then the
    methods it does not name, by name; within a method, by goal.
    """
    goals = [float(x) for x in goals]
    by = list(by)
    runs = runs.loc[~runs["method"].isin(list(exclude))] if "method" in runs else runs
    groups = config_groups(runs, by) if len(runs) else pd.DataFrame(columns=[*by, "config_id"])
    rows = []
    for key, cands in (groups.groupby(by, sort=False, dropna=False) if len(groups) else []):
        key = key if isinstance(key, tuple) else (key,)
        if "n_diverged" in cands:  # a configuration that diverged on a seed is no candidate
            cands = cands.loc[cands["n_diverged"] == 0]
        if not len(cands):
            rows += [dict(zip(by, key), goal=goal, n_candidates=0, found=False, n_seeds=0,
                          why_empty="every configuration diverged on at least one seed") for goal in goals]
            continue
        for goal in goals:
            inside = cands.loc[(cands["sparsity_mean"] - goal).abs() <= band + 1e-12]
            row = dict(zip(by, key), goal=goal, n_candidates=len(inside))
            if len(inside):
                # best mean validation accuracy; a configuration without validation accuracy never wins a tie
                best = inside.assign(_v=inside["val_top1_mean"].fillna(-math.inf)) \
                    .sort_values(["_v", "config_id"], ascending=[False, True]).iloc[0]
                row.update(found=True, why_empty="", **{c: best[c] for c in CELL_COLUMNS
                                                       if c in best.index and c not in row})
            else:
                closest = cands.iloc[(cands["sparsity_mean"] - goal).abs().argsort().iloc[0]]
                row.update(found=False, n_seeds=0, why_empty=(
                    f"no configuration's mean sparsity lies within ±{band * 100:g} pp of {goal * 100:g} %: the "
                    f"closest of {len(cands)} reached {closest['sparsity_mean'] * 100:.2f} %"))
            rows.append(row)
    out = pd.DataFrame(rows)
    if "method" in by and len(out):  # the study's method order (dense, IMP, IMP+, BIMP, GMP, ...), then goal
        if order is None:
            from .methods import method_names

            order = method_names()
        rank = {m: i for i, m in enumerate(order)}
        # methods the order does not name follow it, by name, each with its goals together
        extra = sorted({m for m in out["method"] if m not in rank}, key=str)
        rank.update({m: len(rank) + i for i, m in enumerate(extra)})
        out = out.assign(_r=out["method"].map(rank)) \
            .sort_values(["_r", *[b for b in by if b != "method"], "goal"], kind="stable").drop(columns="_r")
    for c in CELL_COLUMNS:
        if c not in out:
            out[c] = pd.NA
    return out[[*by, *CELL_COLUMNS]].reset_index(drop=True) if len(out) else pd.DataFrame(columns=[*by, *CELL_COLUMNS])
