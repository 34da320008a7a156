"""The accuracy figure: top-1 accuracy against actual sparsity (or theoretical speedup, or relative training time).

The dense baseline is a horizontal reference -- a line at its mean accuracy with a band of ±1 std over seeds, one per
dense configuration -- and not a point at 0 % sparsity, which would squeeze every pruned run into the right third of
the axis: the x axis spans the pruned runs.  A dropdown *inside the figure* switches the x axis (it works in a static
page; the live notebook, which has a control of its own, leaves it out), and a second one picks the setting when the
table holds several.  It shows exactly the runs it is given."""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..config import BASELINE
from .axes import X_AXES, fmt_pct, nan_to_none, xaxis_layout
from .style import canonical_method, is_implicit, method_color, method_label, method_symbol, present
from .summary import prepare, summarize_prepared

__all__ = ["accuracy_vs_sparsity"]

# A method's configurations share its colour and marker; their lines differ in dash (cycled).
_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
# The summary's column with the seed mean of each x axis' column of the run table.
_MEAN_COLUMN = {"sparsity_prunable": "sparsity_mean", "theoretical_speedup": "speedup_mean",
                "relative_time": "relative_time_mean"}
# Points along a dense reference line: its hover text shows anywhere along the line, not only at its two ends.
_REFERENCE_POINTS = 41

# ------------------------------------------------------------------------------------------------
# hover text
# ------------------------------------------------------------------------------------------------


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=False)


def _fmt_seed(seed: Any) -> str:
    try:
        f = float(seed)
        return str(int(f)) if f.is_integer() else str(seed)
    except (TypeError, ValueError):
        return _esc(seed)


def _goal(method: Any, goal: float) -> str:
    """The goal sparsity as a hover line.  An implicit method's runs record a goal of 0, which is no goal: saying
    "goal sparsity 0 %" next to an actual sparsity of 95 % would be wrong."""
    if is_implicit(method) or not goal > 0:
        return "goal sparsity: implicit (no goal)"
    return f"goal sparsity {fmt_pct(goal)}"


def _run_list(run_ids: list[str]) -> str:
    ids = [_esc(i) for i in run_ids]
    return ", ".join(ids[:6]) + (f", … (+{len(ids) - 6})" if len(ids) > 6 else "")


def _top1(s: pd.Series) -> str:
    std = s["top1_std"]
    spread = "" if not np.isfinite(std) else f" ± {100 * std:.2f}"
    return f"top-1 {100 * s['top1_mean']:.2f}{spread} %"


def _point_hover(r: pd.Series) -> str:
    seed_txt = f"seed {_fmt_seed(r['seed'])}<br>" if present(r["seed"]) else ""
    speed = r["theoretical_speedup"]
    rel = r["relative_time"]
    return (
        f"<b>{_esc(r['series'])}</b> ({_esc(r['setting'])})<br>"
        f"run {_esc(r['run_id'])}<br>{seed_txt}"
        f"{_goal(r['method'], r['goal_sparsity'])}<br>"
        f"actual sparsity {100 * r['sparsity_prunable']:.2f} %<br>"
        f"top-1 {100 * r['top1']:.2f} %<br>"
        f"theoretical speedup {'n/a' if not np.isfinite(speed) else f'{speed:.2f}×'}<br>"
        f"relative time {'n/a' if not np.isfinite(rel) else f'{rel:.2f}×'}"
    )


def _mean_hover(label: str, setting: str, s: pd.Series) -> str:
    return (
        f"<b>{_esc(label)}</b> ({_esc(setting)}), mean of {s['n_seeds']} seed(s)<br>"
        f"{_goal(s['method'], s['goal_sparsity'])}<br>"
        f"{_top1(s)}<br>"
        f"actual sparsity {100 * s['sparsity_mean']:.2f} %<br>"
        f"runs: {_run_list(s['run_ids'])}"
    )


def _reference_hover(label: str, setting: str, s: pd.Series) -> str:
    return (
        f"<b>{_esc(label)}</b> ({_esc(setting)}), no pruning: the reference line, mean of {s['n_seeds']} seed(s)"
        f"<br>{_top1(s)} (the band: ± 1 std over seeds)<br>"
        f"runs: {_run_list(s['run_ids'])}"
    )


# ------------------------------------------------------------------------------------------------
# traces: per configuration of a method, its seeds as faint points and a line through their means
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Series:
    """One configuration of a method in one setting."""

    method: str
    label: str    # the configuration's display label (method, schedule, variant)
    setting: str
    index: int    # among the method's configurations in the setting: 0 carries the legend entry
    visible: bool

    @property
    def key(self) -> str:
        return canonical_method(self.method)

    def meta(self, kind: str) -> dict[str, str]:
        return {"kind": kind, "method": self.key, "series": self.label, "setting": self.setting}


def _setting_series(summary: pd.DataFrame, setting: str, visible: bool) -> list[_Series]:
    """The configurations of one setting, in the summary's order (it is already ordered)."""
    pairs = list(dict.fromkeys(zip(summary["method"], summary["series"])))
    labels_of: dict[str, list[str]] = {}
    for method, label in pairs:
        labels_of.setdefault(canonical_method(method), []).append(label)
    return [_Series(method, label, setting, labels_of[canonical_method(method)].index(label), visible)
            for method, label in pairs]


def _seeds_trace(s: _Series, runs: pd.DataFrame) -> go.Scatter:
    """Every seed as a faint point (x is set later, per x axis)."""
    return go.Scatter(
        x=[], y=nan_to_none(100 * runs["top1"].to_numpy()),
        mode="markers", name=f"{s.label} (seeds)", legendgroup=s.key, showlegend=False,
        visible=s.visible, opacity=0.45,
        marker={"color": method_color(s.method), "symbol": method_symbol(s.method), "size": 7,
                "line": {"color": "#333333", "width": 0.5}},
        hovertext=[_point_hover(r) for _, r in runs.iterrows()],
        hovertemplate="%{hovertext}<extra></extra>",
        customdata=[[rid] for rid in runs["run_id"]],
        meta=s.meta("seeds"),
    )


def _mean_trace(s: _Series, means: pd.DataFrame) -> go.Scatter:
    """Mean ± std over seeds, one point per goal sparsity.  The method's first configuration carries its legend
    entry (named after the method; the hover text names the configuration), the others join its legend group
    without an entry of their own."""
    first = s.index == 0
    color = method_color(s.method)
    std = means["top1_std"].fillna(0.0).to_numpy()
    return go.Scatter(
        x=[], y=nan_to_none(100 * means["top1_mean"].to_numpy()),
        mode="lines+markers", name=method_label(s.method) if first else s.label, legendgroup=s.key,
        showlegend=first, visible=s.visible,
        line={"color": color, "dash": _DASHES[s.index % len(_DASHES)], "width": 2},
        marker={"color": color, "symbol": method_symbol(s.method), "size": 10,
                "line": {"color": "#333333", "width": 1}},
        error_y={"type": "data", "array": nan_to_none(100 * std), "visible": True,
                 "thickness": 1.2, "width": 4},
        hovertext=[_mean_hover(s.label, s.setting, r) for _, r in means.iterrows()],
        hovertemplate="%{hovertext}<extra></extra>",
        customdata=[[", ".join(r)] for r in means["run_ids"]],
        meta=s.meta("mean"),
    )


def _x_values(frame: pd.DataFrame, column_of=lambda column: column) -> dict[str, list[float | None]]:
    """A trace's x values on every x axis (``column_of`` maps a run-table column to ``frame``'s)."""
    return {k: nan_to_none(spec["transform"](frame[column_of(spec["column"])])) for k, spec in X_AXES.items()}


def _pruned_traces(runs: pd.DataFrame, summary: pd.DataFrame, setting: str,
                   visible: bool) -> list[tuple[go.Scatter, dict[str, list[float | None]]]]:
    """The pruned runs' traces of one setting with their x values per x axis: seeds, then means, per configuration."""
    traces = []
    for s in _setting_series(summary, setting, visible):
        seeds = runs[(runs["method"] == s.method) & (runs["series"] == s.label)]
        seeds = seeds.sort_values(["goal_sparsity", "run_id"])
        means = summary[(summary["method"] == s.method) & (summary["series"] == s.label)]
        means = means.sort_values("goal_sparsity")
        traces.append((_seeds_trace(s, seeds), _x_values(seeds)))
        traces.append((_mean_trace(s, means), _x_values(means, _MEAN_COLUMN.get)))
    return traces


# ------------------------------------------------------------------------------------------------
# the dense baseline: per configuration, a horizontal line at its mean accuracy and a band of ±1 std
# ------------------------------------------------------------------------------------------------


def _extent(values: list[float | None], axis_type: str) -> tuple[float, float]:
    """The x range a reference line spans on one axis: that of the pruned runs.  A single value (or none: then 1,
    dense's own x on every axis) is widened to a range around it, so that the line still shows."""
    finite = [v for v in values if v is not None and np.isfinite(v) and (v > 0 or axis_type != "log")]
    lo, hi = (min(finite), max(finite)) if finite else (1.0, 1.0)
    if hi > lo:
        return lo, hi
    return (lo / 2, hi * 2) if axis_type == "log" else (lo - 0.5, hi + 0.5)


def _along(extent: tuple[float, float], axis_type: str) -> list[float]:
    """Evenly spaced points (on the axis' own scale) from one end of ``extent`` to the other."""
    spread = np.geomspace if axis_type == "log" else np.linspace
    return [float(v) for v in spread(*extent, _REFERENCE_POINTS)]


def _epochs(runs: pd.DataFrame, series: str) -> float | None:
    """How many epochs a configuration trained (the run table's ``epochs``, else ``epochs_total``), if recorded."""
    for column in ("epochs", "epochs_total"):
        if column in runs:
            values = pd.to_numeric(runs.loc[runs["series"] == series, column], errors="coerce").dropna()
            if len(values):
                return float(values.iloc[0])
    return None


def _reference_series(runs: pd.DataFrame, dense: pd.DataFrame, setting: str,
                      visible: bool) -> list[tuple[_Series, pd.Series]]:
    """The dense configurations of one setting, each with its own legend label: "Dense" when there is one; by
    epochs, longest first, when that tells them apart (the full dense run and the shorter one restricted IMP starts
    from); else by what else differs (the summary's label)."""
    rows = [r for _, r in dense.iterrows()]
    epochs = [_epochs(runs, r["series"]) for r in rows]
    if len(rows) > 1 and None not in epochs and len(set(epochs)) == len(rows):
        pairs = sorted(zip(epochs, rows), key=lambda p: -p[0])
        labelled = [(f"{method_label(r['method'])} ({e:g} epochs)", r) for e, r in pairs]
    else:
        labelled = [(method_label(r["method"]) if len(rows) == 1 else r["series"], r) for r in rows]
    return [(_Series(r["method"], label, setting, i, visible), r) for i, (label, r) in enumerate(labelled)]


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _reference_traces(s: _Series, row: pd.Series, extents: dict[str, tuple[float, float]]
                      ) -> Iterator[tuple[go.Scatter, dict[str, list[float]]]]:
    """The band (± 1 std over seeds; of no height for one seed) and the line (never solid: that is a pruned method's
    first configuration) of one dense configuration, across the pruned runs' x range on every axis.  Each
    configuration has its own legend entry (and group): a click hides just it.  The line is labelled at one end (the
    right end for the first configuration, the left for the second, ...), so that two lines close together keep
    their labels apart."""
    color, group = method_color(s.method), s.key if s.index == 0 else f"{s.key}-{s.index}"
    mean = 100 * float(row["top1_mean"])
    std = 100 * float(row["top1_std"]) if np.isfinite(row["top1_std"]) else 0.0
    along = {k: _along(extents[k], X_AXES[k]["type"]) for k in X_AXES}
    n = _REFERENCE_POINTS
    yield go.Scatter(
        x=[], y=[mean - std] * n + [mean + std] * n, mode="lines", fill="toself", fillcolor=_rgba(color, 0.12),
        line={"color": color, "width": 0}, marker={"color": color}, hoverinfo="skip",
        name=f"{s.label} ± 1 std", legendgroup=group, showlegend=False, visible=s.visible,
        meta=s.meta("band"),
    ), {k: xs + xs[::-1] for k, xs in along.items()}
    right = s.index % 2 == 0
    text = [""] * n
    text[-1 if right else 0] = s.label
    hover = _reference_hover(s.label, s.setting, row)
    yield go.Scatter(
        x=[], y=[mean] * n, mode="lines+text", text=text, textposition="top left" if right else "top right",
        textfont={"color": color}, name=s.label, legendgroup=group, showlegend=True, visible=s.visible,
        line={"color": color, "dash": _DASHES[1 + s.index % (len(_DASHES) - 1)], "width": 2},
        marker={"color": color, "symbol": method_symbol(s.method)},
        hovertext=[hover] * n, hovertemplate="%{hovertext}<extra></extra>",
        customdata=[[", ".join(row["run_ids"])]] * n,
        meta={**s.meta("reference"), "run_ids": list(row["run_ids"])},
    ), along


def _setting_traces(runs: pd.DataFrame, summary: pd.DataFrame, setting: str,
                    visible: bool) -> list[tuple[go.Scatter, dict[str, list[float | None]]]]:
    """The traces of one setting with their x values per x axis: the dense references first (their legend entries
    lead), then the pruned runs, whose x range the references span."""
    dense = summary["method"].map(canonical_method) == BASELINE
    pruned = _pruned_traces(runs, summary[~dense], setting, visible)
    extents = {k: _extent([v for _, xs in pruned for v in xs[k]], spec["type"]) for k, spec in X_AXES.items()}
    references = [t for s, row in _reference_series(runs, summary[dense], setting, visible)
                  for t in _reference_traces(s, row, extents)]
    return references + pruned


# ------------------------------------------------------------------------------------------------
# layout and menus
# ------------------------------------------------------------------------------------------------


def _base_figure() -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        template="plotly_white",
        yaxis_title="Top-1 test accuracy (%)",
        # one entry per method (see _mean_trace), in a row under the plot: no scrolling legend, and
        # the plot keeps the column's full width
        legend={"orientation": "h", "x": 0.0, "xanchor": "left", "y": -0.16, "yanchor": "top",
                "title": {"text": "method"}, "groupclick": "togglegroup"},
        hovermode="closest",
        margin={"t": 90},
        height=540,
    )
    return fig


def _title(title: str | None, key: str, setting: str | None = None) -> str:
    """The figure's title names its x axis (it follows the x-axis dropdown) and the setting when the figure shows
    only one (with several, the setting dropdown names the one shown); a title given by the caller stays as given."""
    if title:
        return title
    text = f"Top-1 accuracy vs {X_AXES[key]['name']}"
    return f"{text} — {setting}" if setting else text


def _no_runs(fig: go.Figure, title: str | None, key: str) -> go.Figure:
    fig.add_annotation(text="No finished runs yet", showarrow=False,
                       xref="paper", yref="paper", x=0.5, y=0.5, font={"size": 16})
    fig.update_layout(title=_title(title, key))
    return fig


def _show_x(fig: go.Figure, xs: dict[str, list], key: str) -> None:
    """Put the traces on x axis ``key`` (the state its dropdown button would leave them in)."""
    for trace, values in zip(fig.data, xs[key]):
        trace.x = values
    spec = X_AXES[key]
    fig.update_xaxes(title_text=spec["title"], type=spec["type"],
                     tickmode="array" if spec["tickvals"] else "auto",
                     tickvals=spec["tickvals"], ticktext=spec["ticktext"])


def _x_menu(xs: dict[str, list], key: str, title: str | None, setting: str | None) -> dict[str, Any]:
    """Dropdown 1: the x axis (and the title that names it)."""
    buttons = [{"label": spec["label"], "method": "update",
                "args": [{"x": xs[k]}, {**xaxis_layout(k), "title.text": _title(title, k, setting)}]}
               for k, spec in X_AXES.items()]
    return {"type": "dropdown", "buttons": buttons, "active": list(X_AXES).index(key),
            "direction": "down", "showactive": True, "x": 0.0, "xanchor": "left",
            "y": 1.16, "yanchor": "top", "name": "x axis"}


def _setting_menu(settings: list[str], trace_setting: list[str], x: float) -> dict[str, Any]:
    """Dropdown 2: the setting (only when there is a choice); its label names the setting shown."""
    return {
        "type": "dropdown", "direction": "down", "showactive": True, "active": 0,
        "x": x, "xanchor": "left", "y": 1.16, "yanchor": "top", "name": "setting",
        "buttons": [{"label": f"setting: {s}", "method": "restyle",
                     "args": [{"visible": [ts == s for ts in trace_setting]}]} for s in settings],
    }


def accuracy_vs_sparsity(df: pd.DataFrame, *, x: str = "sparsity", title: str | None = None,
                         x_menu: bool = True) -> go.Figure:
    """Top-1 accuracy against actual sparsity, one legend entry per method.

    Per configuration of a method (its retraining schedule, for IMP, and whatever else tells its
    runs apart; see :func:`sparselib.plots.summarize_runs`) the figure holds a line through the
    seed means with ±1 std error bars, and every seed as a faint point; hovering shows the run
    id(s) and the configuration.  A method's configurations share its colour and marker (line dash
    tells them apart) and one legend group: the legend, horizontal below the plot, has a single
    entry per method, and clicking it hides or shows all of the method's configurations.  The
    dense runs are a reference: per dense configuration (each with its own legend entry) a dashed
    horizontal line at its mean accuracy and a band of ±1 std over seeds, across the x range of
    the pruned runs.  A dropdown in the figure (``x_menu``; the live notebook has its own control
    and leaves it out) switches the x axis between actual sparsity (log scale of 1/(1 − s),
    labelled in %), theoretical speedup and relative training time, and the title with it; if the
    table holds several settings, a second dropdown picks the setting.  ``x`` selects the
    initial x axis.
    """
    if x not in X_AXES:
        raise ValueError(f"x must be one of {list(X_AXES)}, not {x!r}")
    fig = _base_figure()
    if df is None or len(df) == 0:
        return _no_runs(fig, title, x)
    d = prepare(df)
    summary = summarize_prepared(d)
    settings = sorted(d["setting"].unique(), key=str)
    xs: dict[str, list[list[float | None]]] = {k: [] for k in X_AXES}
    trace_setting: list[str] = []
    for setting in settings:
        for trace, trace_xs in _setting_traces(d[d["setting"] == setting], summary[summary["setting"] == setting],
                                               setting, visible=setting == settings[0]):
            fig.add_trace(trace)
            trace_setting.append(setting)
            for k in X_AXES:
                xs[k].append(trace_xs[k])
    _show_x(fig, xs, x)
    only = settings[0] if len(settings) == 1 else None
    menus = [_x_menu(xs, x, title, only)] if x_menu else []
    if len(settings) > 1:
        menus.append(_setting_menu(settings, trace_setting, x=0.36 if menus else 0.0))
    fig.update_layout(updatemenus=menus, title={"text": _title(title, x, only), "y": 0.98},
                      margin={"t": 90 if menus else 60})
    return fig
