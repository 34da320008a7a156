"""The results page's statements, derived from the study's table cells: no number in them is typed in.

Every function takes the cells of :func:`sparselib.selection.select_cells` (one row per method and goal) and
returns plain Markdown sentences.  Two seed means count as different only when the gap exceeds the sum of their
standard deviations over seeds (their ±1 std intervals do not overlap): :func:`ahead`; a cell of one seed has no
standard deviation, and no difference from it counts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import pandas as pd


@dataclass(frozen=True)
class Gap:
    """``a`` against ``b`` at one goal: the difference of their mean test accuracies in percentage points, and
    whether it exceeds the seeds' spread (the sum of both standard deviations)."""
    goal: float
    a: str
    b: str
    pp: float
    spread_pp: float

    @property
    def clear(self) -> bool:
        """Beyond the seeds' spread; never for a cell of one seed (it has no spread to compare with)."""
        return not math.isnan(self.spread_pp) and abs(self.pp) > self.spread_pp

    def text(self) -> str:
        s = f"{self.goal * 100:g} % ({self.pp:+.2f} pp"
        return s + (")" if self.clear else ", within the seeds' spread)")


def _std(v: float) -> float:
    return math.nan if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _found(cells: pd.DataFrame) -> pd.DataFrame:
    return cells.loc[cells["found"] == True]  # noqa: E712 - object column (NA)


def gaps(cells: pd.DataFrame, a: str, b: str) -> list[Gap]:
    """``a`` against ``b`` at every goal where both have a cell, lowest goal first."""
    f = _found(cells)
    out = []
    for goal in sorted(f["goal"].unique()):
        x, y = f.loc[(f["method"] == a) & (f["goal"] == goal)], f.loc[(f["method"] == b) & (f["goal"] == goal)]
        if len(x) and len(y):
            x, y = x.iloc[0], y.iloc[0]
            out.append(Gap(float(goal), a, b, (x.top1_mean - y.top1_mean) * 100,
                           (_std(x.top1_std) + _std(y.top1_std)) * 100))
    return out


def ahead(gap: Gap) -> str:
    """"ahead", "behind" or "level with": the word for ``gap`` from ``a``'s side."""
    return "level with" if not gap.clear else "ahead of" if gap.pp > 0 else "behind"


def versus(cells: pd.DataFrame, method: str, others: Iterable[str], label=str) -> list[str]:
    """One sentence per other method: where ``method`` is ahead of it, level with it and behind it."""
    lines = []
    for other in others:
        g = gaps(cells, method, other)
        if not g:
            continue
        parts = []
        for word in ("ahead of", "level with", "behind"):
            at = [x.text() for x in g if ahead(x) == word]
            if at:
                parts.append(f"{word} it at {', '.join(at)}")
        lines.append(f"- against **{label(other)}**: {label(method)} is " + "; ".join(parts) + ".")
    return lines


def best_at(cells: pd.DataFrame, goal: float, among: Sequence[str] | None = None) -> pd.Series | None:
    """The cell with the best mean test accuracy at ``goal`` (among ``among``, if given)."""
    f = _found(cells)
    f = f.loc[f["goal"] == goal]
    if among is not None:
        f = f.loc[f["method"].isin(list(among))]
    return None if f.empty else f.sort_values(["top1_mean", "method"], ascending=[False, True]).iloc[0]


def claim(cells: pd.DataFrame, method: str, rivals: Sequence[str], label=str) -> str:
    """Does ``method`` match or beat every one of ``rivals`` (the paper's claim for IMP against the pruning-stable
    methods)?  Per goal: the best rival, and whether it is clearly ahead of ``method``."""
    holds, fails = [], []
    f = _found(cells)
    for goal in sorted(f["goal"].unique()):
        own = f.loc[(f["method"] == method) & (f["goal"] == goal)]
        best = best_at(cells, goal, rivals)
        if own.empty or best is None:
            continue
        g = next(x for x in gaps(cells, method, best.method) if x.goal == goal)
        (fails if g.clear and g.pp < 0 else holds).append((goal, best.method, g))
    def where(goal: float, m: str, g: Gap) -> str:
        side = "below" if g.pp > 0 else "above"
        return (f"{goal * 100:g} % (the best of them, {label(m)}, is {abs(g.pp):.2f} pp {side} it"
                + ("" if g.clear else ", within the seeds' spread") + ")")

    out = []
    if holds:
        out.append(f"{label(method)} matches or beats every one of them at " + ", ".join(where(*h) for h in holds))
    if fails:
        out.append(f"{label(method)} is clearly behind at " + ", ".join(where(*f) for f in fails))
    if not out:
        return f"{label(method)} and the other methods share no goal sparsity: no comparison."
    return "; ".join(out) + "."


def changes(before: pd.DataFrame, after: pd.DataFrame, methods: Sequence[str], label=str) -> list[str]:
    """Per method, how its cells moved from ``before`` to ``after`` (tables of the same goals, e.g. a shorter
    study's and this one's): the change in pp per goal, or that it now lands / no longer lands in the band."""
    from .tables import cell_changes

    ch = cell_changes(before, after)
    lines = []
    for m in methods:
        c = ch.loc[ch["method"] == m].sort_values("goal")
        if c.empty:
            continue
        parts = []
        for r in c.itertuples():
            if pd.isna(r.change_pp):
                state = ("now lands in the band" if r.found_after is True else
                         "no longer lands in the band" if r.found_before is True else "misses the band in both")
                parts.append(f"{r.goal * 100:g} %: {state}")
            else:
                parts.append(f"{r.goal * 100:g} %: {r.change_pp:+.2f} pp")
        lines.append(f"- **{label(m)}**: " + "; ".join(parts) + ".")
    return lines


def collapsed(cells: pd.DataFrame, chance: float, label=str, within_pp: float = 5.0) -> str:
    """The cells whose mean accuracy is within ``within_pp`` of chance (``chance``: 1 / classes), by method."""
    f = _found(cells)
    low = f.loc[(f["top1_mean"] - chance) * 100 <= within_pp]
    if low.empty:
        return "No method's cell is near chance level."
    by = low.groupby("method", sort=False)["goal"].apply(lambda g: ", ".join(f"{x * 100:g} %" for x in sorted(g)))
    return ("Near chance level (within " + f"{within_pp:g} pp of {chance * 100:g} %): "
            + "; ".join(f"{label(m)} at {g}" for m, g in by.items()) + ".")
