"""Pruning stability, measured (a view the paper asserts but does not measure): what a method's final prune costs.

Every run records the validation accuracy right before and right after its *final prune* — the last pruning step
that removed weights (IMP, BIMP, GMP), else the hard prune at the end of training (GSM, LC, DPF, DNW; for CS, STR
and DST the soft or latent model against the hard-masked one) — and the relative norm of what it removed
(``final_prune_*`` in ``metrics.json``).  The drop is ``before − after`` in percentage points: IMP is expected to
lose accuracy there and recover it in retraining; a method the paper calls pruning-stable should lose little.
"""
from __future__ import annotations

import pandas as pd

from .methods import get_method
from .plots.style import method_rank

COLUMNS = ("final_prune_val_before", "final_prune_val_after")


def prune_drops(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per run that recorded its final prune: method, goal, actual sparsity, ``drop_pp`` (validation
    accuracy before − after, percentage points) and ``removed_norm``."""
    if runs.empty or not set(COLUMNS) <= set(runs.columns):
        return pd.DataFrame(columns=["run_id", "method", "goal_sparsity", "sparsity_prunable", "drop_pp",
                                     "removed_norm"])
    ok = runs.dropna(subset=list(COLUMNS))
    ok = ok.loc[ok["goal_sparsity"].gt(0) | ok["sparsity_prunable"].gt(0)]  # dense runs never prune
    out = ok[["run_id", "method", "goal_sparsity", "sparsity_prunable"]].copy()
    out["drop_pp"] = (ok["final_prune_val_before"] - ok["final_prune_val_after"]) * 100
    out["removed_norm"] = ok.get("final_prune_removed_norm")
    return out.reset_index(drop=True)


def stability_summary(drops: pd.DataFrame) -> pd.DataFrame:
    """Per method: the paper's claim (Table 3's ``pruning_stable``), how many runs, the mean, standard deviation and
    largest drop at the final prune, and the mean relative norm removed; in the study's method order."""
    rows = []
    for method, g in drops.groupby("method"):
        rows.append({"method": method, "claimed_stable": bool(get_method(method).pruning_stable), "runs": len(g),
                     "drop_mean": g["drop_pp"].mean(), "drop_std": g["drop_pp"].std() if len(g) > 1 else None,
                     "drop_max": g["drop_pp"].max(), "removed_norm_mean": g["removed_norm"].mean()})
    out = pd.DataFrame(rows, columns=["method", "claimed_stable", "runs", "drop_mean", "drop_std", "drop_max",
                                      "removed_norm_mean"])
    return out.iloc[sorted(range(len(out)), key=lambda i: method_rank(out["method"].iloc[i]))].reset_index(drop=True)


def surprises(summary: pd.DataFrame, threshold_pp: float = 5.0) -> list[str]:
    """Methods the paper calls pruning-stable whose mean drop exceeds ``threshold_pp``, and the one it does not
    (IMP) if it drops less: the findings the page states."""
    out = []
    for r in summary.itertuples():
        if r.claimed_stable and r.drop_mean > threshold_pp:
            out.append(f"{r.method}: called pruning-stable, loses {r.drop_mean:.1f} pp on average at its final prune")
        elif not r.claimed_stable and r.drop_mean <= threshold_pp:
            out.append(f"{r.method}: not called pruning-stable, loses only {r.drop_mean:.1f} pp at its final prune")
    return out
