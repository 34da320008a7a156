"""Does a speed option change the numbers?  A study's runs against the same runs made another way (bf16 +
channels_last against fp32 and the contiguous layout): per configuration, the difference in mean test accuracy
beside the spread between seeds, the sparsity each reached, and the training CPU time each took."""
from __future__ import annotations

import json

import pandas as pd

from .pairs import paired
from .storage import RunFolder

#: what the parity check varies: the fields a ``fmnist-fp32`` run differs in from its ``fmnist`` run
SPEED_FIELDS = ("setting", "precision", "channels_last")


def parity_table(fast: pd.DataFrame, reference: pd.DataFrame, ignore=SPEED_FIELDS) -> pd.DataFrame:
    """Per configuration made both ways (seeds pooled; only seeds made both ways count): ``method``, ``goal`` (the
    goal sparsity; None for dense training and an implicit method), ``epochs`` (of the setting: IMP's dense start
    is a dense run of fewer), ``args``, ``seeds``, test accuracy means
    (``top1_fast``, ``top1_ref``, %), ``diff_pp`` (fast − reference), ``spread_pp`` (the larger of the two
    ways' spread between seeds: max − min over seeds), ``within`` (|diff| ≤ spread), the mean sparsity of the
    prunable weights each way (%), ``sparsity_exact`` (every run of an explicit method at its goal to the
    weight: |reached − goal| × prunable weights ≤ ½), ``zeros_hold`` (in every run's saved weights no pruned weight
    is non-zero: each layer's non-zero count ≤ its mask's kept count), and the ratio of training CPU seconds
    ``cpu_ratio`` = reference / fast (how much faster the fast way trained)."""
    cols = ["method", "goal", "epochs", "args", "seeds", "top1_fast", "top1_ref", "diff_pp", "spread_pp", "within",
            "sparsity_fast", "sparsity_ref", "sparsity_exact", "zeros_hold", "cpu_ratio"]
    pairs = paired(fast, reference, ignore, suffixes=("_fast", "_ref"))
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    pairs["config"] = pairs["key"].map(lambda k: json.dumps({f: v for f, v in json.loads(k).items() if f != "seed"},
                                                            sort_keys=True))
    rows = []
    for _, g in pairs.groupby("config", sort=False):
        spread = max(g["top1_fast"].max() - g["top1_fast"].min(), g["top1_ref"].max() - g["top1_ref"].min()) * 100
        diff = (g["top1_fast"].mean() - g["top1_ref"].mean()) * 100
        goal = float(g["goal_sparsity_fast"].iloc[0])
        explicit = goal > 0
        exact = bool(explicit and all(
            (abs(g[f"sparsity_prunable_{w}"] - goal) * g[f"prunable_{w}"] <= 0.5 + 1e-6).all() for w in ("fast", "ref")))
        zeros = all(zeros_hold(f) for w in ("fast", "ref") for f in g[f"folder_{w}"])
        rows.append(dict(method=g["method_fast"].iloc[0], goal=goal if explicit else None,
                         epochs=int(g["epochs_fast"].iloc[0]),
                         args=g["method_args_fast"].iloc[0], seeds=len(g),
                         top1_fast=g["top1_fast"].mean() * 100, top1_ref=g["top1_ref"].mean() * 100, diff_pp=diff,
                         spread_pp=spread, within=bool(abs(diff) <= spread + 1e-9),
                         sparsity_fast=g["sparsity_prunable_fast"].mean() * 100,
                         sparsity_ref=g["sparsity_prunable_ref"].mean() * 100, sparsity_exact=exact,
                         zeros_hold=zeros,
                         cpu_ratio=g["train_cpu_s_ref"].sum() / g["train_cpu_s_fast"].sum()))
    return pd.DataFrame(rows, columns=cols)


def zeros_hold(folder) -> bool:
    """Whether a run's saved weights keep its masks: no layer has more non-zero weights than its mask keeps (its
    ``mask_stats.json``, counted from the weights and the masks at the end of the run)."""
    return all(layer["nonzero"] <= layer["kept"] for layer in RunFolder(folder).read_mask_stats())
