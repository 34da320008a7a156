"""The budget study's table: each method's cell at each training budget and its gap to dense training of the same
budget (the reporting side of :mod:`sparselib.budget`, which says what to run)."""
from __future__ import annotations

from typing import Sequence

import pandas as pd


def budget_cells(studies: dict[int, pd.DataFrame], goals: Sequence[float], methods: Sequence[str]) -> pd.DataFrame:
    """The budget study's table: for each training budget (epochs → that study's run table), each of ``methods``
    and each goal, the selected cell's mean test accuracy and its gap to dense training of the same budget (pp).
    Columns: ``epochs``, ``method``, ``goal``, ``found``, ``top1_mean``, ``top1_std``, ``gap_pp``, ``dense_mean``,
    ``dense_std``, ``why_empty``."""
    from .results import dense_baseline
    from .selection import select_cells

    rows = []
    for epochs, runs in sorted(studies.items()):
        if runs.empty:
            continue
        dense = dense_baseline(runs)["top1"]
        cells = select_cells(runs.loc[runs["method"].isin(list(methods))], goals)
        for c in cells.itertuples():
            found = c.found is True
            rows.append(dict(epochs=epochs, method=c.method, goal=float(c.goal), found=found,
                             top1_mean=c.top1_mean if found else float("nan"),
                             top1_std=c.top1_std if found else float("nan"),
                             gap_pp=(c.top1_mean - dense.mean()) * 100 if found else float("nan"),
                             dense_mean=dense.mean(), dense_std=dense.std(), why_empty=c.why_empty))
    return pd.DataFrame(rows, columns=["epochs", "method", "goal", "found", "top1_mean", "top1_std", "gap_pp",
                                       "dense_mean", "dense_std", "why_empty"])


def budget_studies(results_dir, names: Sequence[str]) -> tuple[dict[int, pd.DataFrame], list[str]]:
    """The budget presets' run tables beside ``results_dir`` (``{epochs: runs}``) and the names of those with no
    finished run there."""
    from pathlib import Path

    from .presets import get_preset
    from .results import collect_runs

    studies, absent = {}, []
    for name in names:
        runs = collect_runs(Path(results_dir).parent / name)
        if runs.empty:
            absent.append(name)
        else:
            studies[get_preset(name).base.epochs] = runs
    return studies, absent
