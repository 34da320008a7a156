"""Beyond the paper (the ``fmnist-beyond`` preset): layer-wise allocation, BatchNorm recalibration after pruning, and
RigL, each read against the main study's own runs.

The beyond study varies one thing of a main-study run: an IMP or GMP pick with another ``allocation`` than the
default (global), a run with ``bn_recalibration`` on, or a method the main study does not have (RigL).  The run it
varies is the main study's (the same configuration but for the setting's name), found by :mod:`sparselib.pairs`, so
nothing is trained twice.  Every function takes the two run tables (:func:`sparselib.results.collect_runs`)."""
from __future__ import annotations

import json
from typing import Iterable

import pandas as pd

from .allocation import ALLOCATIONS
from .pairs import paired, same_but
from .storage import RunFolder

#: the allocation a run without the hyper-parameter uses (every method's default)
DEFAULT_ALLOCATION = "global"


def _args(runs: pd.DataFrame) -> list[dict]:
    return [json.loads(a) if isinstance(a, str) else dict(a) for a in runs["method_args"]]


def allocation_runs(base: pd.DataFrame, beyond: pd.DataFrame) -> pd.DataFrame:
    """The beyond study's runs with an explicit ``allocation`` (and no recalibration), and the main study's runs
    they vary (the default allocation), with an ``allocation`` column."""
    if beyond.empty:
        return beyond.assign(allocation=pd.Series(dtype=object))
    args = _args(beyond)
    mine = beyond.loc[[("allocation" in a) for a in args] & beyond["bn_recalibration"].eq(0).to_numpy()].copy()
    mine["allocation"] = [json.loads(a)["allocation"] for a in mine["method_args"]]
    ignore = ("setting", "method_args.allocation")
    wanted = set(same_but(mine, ignore)) if len(mine) else set()
    plain = base.loc[["allocation" not in a for a in _args(base)]] if len(base) else base
    plain = plain.loc[same_but(plain, ignore).isin(wanted)].copy() if len(plain) else plain
    plain["allocation"] = DEFAULT_ALLOCATION
    out = pd.concat([plain, mine], ignore_index=True)
    order = {a: i for i, a in enumerate(ALLOCATIONS)}
    return out.sort_values(["method", "goal_sparsity", "allocation"], key=lambda s: s.map(order)
                           if s.name == "allocation" else s, kind="stable").reset_index(drop=True)


def allocation_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per method, goal and allocation (from :func:`allocation_runs`): mean and standard deviation of test accuracy,
    mean theoretical speedup and sparsity of the prunable weights, and the number of seeds."""
    cols = ["method", "goal", "allocation", "seeds", "top1_mean", "top1_std", "speedup_mean", "sparsity_mean"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    g = runs.groupby(["method", "goal_sparsity", "allocation"], sort=False)
    out = g.agg(seeds=("seed", "nunique"), top1_mean=("top1", "mean"), top1_std=("top1", "std"),
                speedup_mean=("theoretical_speedup", "mean"), sparsity_mean=("sparsity_prunable", "mean"))
    return out.reset_index().rename(columns={"goal_sparsity": "goal"})[cols]


def layer_sparsity(runs: pd.DataFrame, seed: int | None = None) -> pd.DataFrame:
    """Per run of ``seed`` (default: the smallest) in ``runs`` (:func:`allocation_runs`): each prunable layer's
    sparsity of its final mask (1 − kept / size), in network order: ``method``, ``goal``, ``allocation``,
    ``index``, ``layer``, ``numel``, ``sparsity``."""
    cols = ["method", "goal", "allocation", "index", "layer", "numel", "sparsity"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    seed = int(runs["seed"].min()) if seed is None else seed
    rows = []
    for r in runs.loc[runs["seed"] == seed].itertuples():
        for i, layer in enumerate(RunFolder(r.folder).read_mask_stats()):
            rows.append(dict(method=r.method, goal=r.goal_sparsity, allocation=r.allocation, index=i,
                             layer=layer["name"], numel=layer["numel"], sparsity=1 - layer["kept"] / layer["numel"]))
    return pd.DataFrame(rows, columns=cols)


def nearly_emptied(layers: pd.DataFrame, allocation: str = DEFAULT_ALLOCATION, above: float = 0.99) -> pd.DataFrame:
    """The layers an allocation prunes almost entirely (sparsity above ``above``), per method and goal."""
    return layers.loc[(layers["allocation"] == allocation) & (layers["sparsity"] > above)].reset_index(drop=True)


#: the smallest drop at the final prune (validation, pp) whose recovered share is given: a share of less says nothing
MIN_DROP_PP = 1.0

#: the final prune as every run records it (``final_prune_*`` in ``metrics.json``): the last pruning step that
#: removed weights (IMP, BIMP, GMP) or the hard prune at the end of training (the other methods); with recalibration
#: on, ``val_after_raw`` is right after the prune with the stale statistics, ``val_after`` after recalibrating them
_PRUNE = {"val_before": "final_prune_val_before", "val_after_raw": "final_prune_val_after_raw",
          "val_after_bn": "final_prune_val_after"}


def recalibration_table(base: pd.DataFrame, beyond: pd.DataFrame, spread_from: pd.DataFrame | None = None
                        ) -> pd.DataFrame:
    """Per recalibrated configuration of the beyond study and the main-study run without recalibration (on the same
    seeds), one row per configuration: ``method``, ``goal``, ``args``, ``sparsity`` (mean actual sparsity of the
    recalibrated runs, a fraction), ``seeds``; test accuracy at the end without and with recalibration
    (``top1_plain``, ``top1_bn``, %, ``gain_pp``); ``spread_pp``, the larger of the two sides' max − min over seeds
    (0 for one seed); ``plain_std_pp``, the standard deviation over seeds of the configuration without recalibration
    in ``spread_from`` (the main study's runs on all its seeds; NaN without it or with fewer than two); and at its
    final prune (validation, %): the accuracy right before it (``val_before``), right after it with the stale
    statistics (``val_after_raw``) and after recalibrating them (``val_after_bn``), and the share of that immediate
    drop the recalibration recovers (``recovered`` = (after_bn − after_raw) / (before − after_raw); None when it
    dropped by less than :data:`MIN_DROP_PP`).  ``val_after_raw`` is NaN where the final prune changed nothing the
    forward pass uses (DNW, DPF, STR, DST compute with the pruned weights all along): nothing was recalibrated."""
    cols = ["method", "goal", "args", "sparsity", "seeds", "top1_plain", "top1_bn", "gain_pp", "spread_pp",
            "plain_std_pp", "val_before", "val_after_raw", "val_after_bn", "recovered"]
    bn = beyond.loc[beyond["bn_recalibration"] > 0] if len(beyond) else beyond
    if bn.empty:
        return pd.DataFrame(columns=cols)
    # the recalibrated runs' prune measurements under names of their own (merge suffixes only shared columns)
    bn = bn.assign(**{k: bn[c] if c in bn else float("nan") for k, c in _PRUNE.items()})
    pairs = paired(bn, base.drop(columns=list(_PRUNE), errors="ignore"), ("setting", "bn_recalibration"),
                   suffixes=("_bn", "_plain"))
    rows = []
    # one row per configuration (not per method, goal and hyper-parameters: STR's picks differ in weight decay only)
    for _, g in pairs.groupby("config_id_bn", sort=False):
        first = g.iloc[0]
        before, raw, after = (g[k].mean() * 100 for k in _PRUNE)
        drop = before - raw
        plain = (spread_from.loc[spread_from["config_id"].isin(set(g["config_id_plain"])), "top1"]
                 if spread_from is not None and len(spread_from) else pd.Series(dtype=float))
        rows.append(dict(method=first["method_bn"], goal=first["goal_sparsity_bn"], args=first["method_args_bn"],
                         sparsity=g["sparsity_prunable_bn"].mean(), seeds=len(g),
                         top1_plain=g["top1_plain"].mean() * 100,
                         top1_bn=g["top1_bn"].mean() * 100,
                         gain_pp=(g["top1_bn"].mean() - g["top1_plain"].mean()) * 100,
                         spread_pp=max(g["top1_bn"].max() - g["top1_bn"].min(),
                                       g["top1_plain"].max() - g["top1_plain"].min()) * 100,
                         plain_std_pp=plain.std() * 100 if len(plain) > 1 else float("nan"),
                         val_before=before, val_after_raw=raw, val_after_bn=after,
                         recovered=(after - raw) / drop if drop >= MIN_DROP_PP else None))
    return pd.DataFrame(rows, columns=cols)


def method_rows(base: pd.DataFrame, beyond: pd.DataFrame, method: str, against: Iterable[str],
                goals: Iterable[float]) -> pd.DataFrame:
    """``method``'s cells from the beyond study beside the main study's cells of ``against`` at ``goals`` (each
    selected by the study's rule within its own study: validation accuracy inside the ±0.25 pp band)."""
    from .selection import select_cells

    goals = list(goals)
    new = select_cells(beyond.loc[beyond["method"] == method], goals, order=[method]) if len(beyond) else None
    old = select_cells(base.loc[base["method"].isin(list(against))], goals, order=list(against))
    return pd.concat([old, new] if new is not None else [old], ignore_index=True)
