"""The budget study: the full study's picks, re-run at shorter training budgets.

The paper compares the methods at one (full) training budget.  The budget study asks whether the verdict moves with
the budget: it re-runs, at fractions of the full budget, dense training, restricted IMP, BIMP and GMP and, at each
goal, the two best other pruning-stable methods of the full study's Table 1 there — each in the configuration the
selection rule picked for it at the full budget (:func:`picks`), scaled to the shorter budget (:func:`scaled_grids`).
An implicit method re-runs the configurations picked for it; its sparsity moves with the budget, so at a shorter one
it may miss the bands (the cell then says how close it came).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from .config import RunConfig

if TYPE_CHECKING:
    import pandas as pd

@dataclass(frozen=True)
class Pick:
    """One configuration of the full study to re-run: for an explicit method at ``goal``; for an implicit one
    (``goal`` None) once, its sparsity set by its hyper-parameters."""
    method: str
    goal: float | None
    args: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)  # setting fields tuned for the method (weight decay)

    def key(self) -> tuple:
        return (self.method, -1.0 if self.goal is None else self.goal, json.dumps(self.args, sort_keys=True),
                json.dumps(self.overrides, sort_keys=True))


def best_pruning_stable(table1: pd.DataFrame, n: int = 2, exclude: Iterable[str] = ()) -> dict[float, list[str]]:
    """Per goal of a Table 1 (``select_cells`` output): the ``n`` pruning-stable methods with the best mean test
    accuracy there (ties: by name), those in ``exclude`` left out, among the cells in their band."""
    from .methods import get_method

    exclude = set(exclude)
    found = table1.loc[table1["found"] == True]  # noqa: E712
    found = found.loc[[m not in exclude and get_method(m).family == "pruning-stable" for m in found["method"]]]
    out = {}
    for goal, cells in found.groupby("goal", sort=True):
        best = cells.sort_values(["top1_mean", "method"], ascending=[False, True])
        out[float(goal)] = list(best["method"][:n])
    return out


def picks(table1: pd.DataFrame, runs: pd.DataFrame, fixed: Sequence[str],
          tuned: Sequence[str] = ("weight_decay",)) -> list[Pick]:
    """What the budget study re-runs, read off the full study: the methods ``fixed`` at every goal and, at each
    goal, the two best other pruning-stable ones (:func:`best_pruning_stable`), each in the configuration picked
    there.  ``table1`` is the full study's cells, ``runs`` its run table (for each picked configuration's ``tuned``
    setting fields).  Sorted, so that two derivations compare equal."""
    from .methods import get_method

    by_config = runs.drop_duplicates("config_id").set_index("config_id")

    def setting(config_id: str) -> dict[str, Any]:
        return {f: _plain(by_config.at[config_id, f]) for f in tuned}

    best = best_pruning_stable(table1, exclude=fixed)
    wanted_at = {m: [g for g in table1["goal"].unique()] for m in fixed}
    for goal, methods in best.items():
        for m in methods:
            wanted_at.setdefault(m, []).append(goal)
    out: list[Pick] = []
    for method, goals in wanted_at.items():
        cells = table1.loc[(table1["method"] == method) & (table1["found"] == True)  # noqa: E712
                           & table1["goal"].isin(goals)]
        implicit = not get_method(method).explicit
        for c in cells.itertuples():
            # an implicit method runs once per configuration (no goal): the configurations picked at those goals
            p = Pick(method, None if implicit else float(c.goal), json.loads(c.method_args), setting(c.config_id))
            if p not in out:
                out.append(p)
    return sorted(out, key=Pick.key)


def study_picks(runs: pd.DataFrame, preset: Any, fixed: Sequence[str]) -> list[Pick]:
    """:func:`picks` of a full study's run table: its Table 1 (the methods that fit the dense budget) at the
    preset's goal sparsities."""
    from .methods import ordered_methods
    from .selection import select_cells

    over_budget = [c.name for c in ordered_methods() if not c.fits_budget]
    return picks(select_cells(runs.loc[~runs["method"].isin(over_budget)], preset.sparsities), runs, fixed)


def own_picks(runs: pd.DataFrame, preset: Any, methods: Sequence[str]) -> list[Pick]:
    """The configurations a full study's Table 1 picked for ``methods`` at each goal (:func:`study_picks` without
    the two best other pruning-stable methods it adds)."""
    return [p for p in study_picks(runs, preset, methods) if p.method in methods]


def picks_literal(chosen: Sequence[Pick]) -> str:
    """``chosen`` as the Python literal that ``sparselib/presets.py`` freezes (one pick per line)."""
    return "\n".join(f"    Pick({p.method!r}, {p.goal!r}, {p.args!r}, {p.overrides!r})," for p in chosen)


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def _scaled(n: int, fraction: float) -> int:
    """An epoch count scaled by ``fraction``: rounded to the nearest integer, at least 1."""
    return max(1, int(math.floor(n * fraction + 0.5)))


def budget_base(full: RunConfig, epochs: int, setting: str) -> RunConfig:
    """The full setting at ``epochs`` epochs, its LR milestones at the same fractions of training."""
    f = epochs / full.epochs
    milestones = tuple(m * f for m in full.lr_milestones)
    if any(abs(m - round(m)) > 1e-9 for m in milestones):
        raise ValueError(f"epochs={epochs} does not scale the milestones {full.lr_milestones} of {full.epochs} "
                         "epochs to whole epochs")
    return full.replace(setting=setting, epochs=epochs, lr_milestones=tuple(int(round(m)) for m in milestones))


def scale_args(method: str, args: dict[str, Any], fraction: float) -> dict[str, Any]:
    """A picked configuration's hyper-parameters at ``fraction`` of the full budget: every count of epochs scaled
    (rounded, at least 1); a method that retrains in phases (IMP) keeps its phases where its scaled retraining
    splits into them evenly, else retrains in one phase."""
    a = dict(args)
    if "n_phases" in a and "epochs_per_phase" in a:
        total = _scaled(a["n_phases"] * a["epochs_per_phase"], fraction)
        phases = a["n_phases"] if total % a["n_phases"] == 0 else 1
        a.update(n_phases=phases, epochs_per_phase=total // phases)
    for k in ("n_train_budget", "pruning_interval"):
        if k in a:
            a[k] = _scaled(a[k], fraction)
    return a


def scaled_grids(chosen: Sequence[Pick], fraction: float, grid: Callable[..., Any]) -> tuple[Any, ...]:
    """The budget study's grids at ``fraction`` of the full budget, made by ``grid`` (``presets.MethodGrid``,
    passed in: the presets import this module): one grid per pick (an explicit method's at its goal only),
    identical scaled picks merged."""
    grids: dict[tuple, Any] = {}
    for p in chosen:
        args = scale_args(p.method, p.args, fraction)
        key = (p.method, json.dumps(args, sort_keys=True), json.dumps(p.overrides, sort_keys=True))
        old = grids.get(key)
        goals = None if p.goal is None else tuple(sorted({*(old.goals if old else ()), p.goal}))
        grids[key] = grid(p.method, (args,), (dict(p.overrides),), goals)
    return tuple(grids.values())

