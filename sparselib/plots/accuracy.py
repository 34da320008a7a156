"""The accuracy figure: top-1 accuracy against actual sparsity, with a dropdown *inside the figure* that switches
the x axis to theoretical speedup or relative training time (and a second dropdown for the setting when the table
holds several).  Works in a static page.  It shows exactly the runs it is given."""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .axes import X_AXES, fmt_pct, nan_to_none, xaxis_layout
from .style import canonical_method, method_color, method_label, method_symbol, present
from .summary import prepare, summarize_prepared

__all__ = ["accuracy_vs_sparsity"]

# A method's configurations share its colour and marker; their lines differ in dash (cycled).
_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
# The summary's column with the seed mean of each x axis' column of the run table.
_MEAN_COLUMN = {"sparsity_prunable": "sparsity_mean", "theoretical_speedup": "speedup_mean",
                "relative_time": "relative_time_mean"}

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


def _point_hover(r: pd.Series) -> str:
    seed_txt = f"seed {_fmt_seed(r['seed'])}<br>" if present(r["seed"]) else ""
    speed = r["theoretical_speedup"]
    rel = r["relative_time"]
    return (
        f"<b>{_esc(r['series'])}</b> ({_esc(r['setting'])})<br>"
        f"run {_esc(r['run_id'])}<br>{seed_txt}"
        f"goal sparsity {fmt_pct(r['goal_sparsity'])}<br>"
        f"actual sparsity {100 * r['sparsity_prunable']:.2f} %<br>"
        f"top-1 {100 * r['top1']:.2f} %<br>"
        f"theoretical speedup {'n/a' if not np.isfinite(speed) else f'{speed:.2f}×'}<br>"
        f"relative time {'n/a' if not np.isfinite(rel) else f'{rel:.2f}×'}"
    )


def _mean_hover(label: str, setting: str, s: pd.Series) -> str:
    std = s["top1_std"]
    spread = "" if not np.isfinite(std) else f" ± {100 * std:.2f}"
    ids = [_esc(i) for i in s["run_ids"]]
    shown = ", ".join(ids[:6]) + (f", … (+{len(ids) - 6})" if len(ids) > 6 else "")
    return (
        f"<b>{_esc(label)}</b> ({_esc(setting)}), mean of {s['n_seeds']} seed(s)<br>"
        f"goal sparsity {fmt_pct(s['goal_sparsity'])}<br>"
        f"top-1 {100 * s['top1_mean']:.2f}{spread} %<br>"
        f"actual sparsity {100 * s['sparsity_mean']:.2f} %<br>"
        f"runs: {shown}"
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


def _setting_traces(runs: pd.DataFrame, summary: pd.DataFrame, setting: str,
                    visible: bool) -> Iterator[tuple[go.Scatter, dict[str, list[float | None]]]]:
    """The traces of one setting with their x values per x axis: seeds, then means, per configuration."""
    for s in _setting_series(summary, setting, visible):
        seeds = runs[(runs["method"] == s.method) & (runs["series"] == s.label)]
        seeds = seeds.sort_values(["goal_sparsity", "run_id"])
        means = summary[(summary["method"] == s.method) & (summary["series"] == s.label)]
        means = means.sort_values("goal_sparsity")
        yield _seeds_trace(s, seeds), _x_values(seeds)
        yield _mean_trace(s, means), _x_values(means, _MEAN_COLUMN.get)


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


def _no_runs(fig: go.Figure, title: str | None) -> go.Figure:
    fig.add_annotation(text="No finished runs yet", showarrow=False,
                       xref="paper", yref="paper", x=0.5, y=0.5, font={"size": 16})
    fig.update_layout(title=title or "Top-1 accuracy vs sparsity")
    return fig


def _title(title: str | None, setting: str) -> str:
    return title or f"Top-1 accuracy vs sparsity — {setting}"


def _show_x(fig: go.Figure, xs: dict[str, list], key: str) -> None:
    """Put the traces on x axis ``key`` (the state its dropdown button would leave them in)."""
    for trace, values in zip(fig.data, xs[key]):
        trace.x = values
    spec = X_AXES[key]
    fig.update_xaxes(title_text=spec["title"], type=spec["type"],
                     tickmode="array" if spec["tickvals"] else "auto",
                     tickvals=spec["tickvals"], ticktext=spec["ticktext"])


def _x_menu(xs: dict[str, list], key: str) -> dict[str, Any]:
    """Dropdown 1: the x axis."""
    buttons = [{"label": spec["label"], "method": "update", "args": [{"x": xs[k]}, xaxis_layout(k)]}
               for k, spec in X_AXES.items()]
    return {"type": "dropdown", "buttons": buttons, "active": list(X_AXES).index(key),
            "direction": "down", "showactive": True, "x": 0.0, "xanchor": "left",
            "y": 1.16, "yanchor": "top", "name": "x axis"}


def _setting_menu(settings: list[str], trace_setting: list[str], title: str | None) -> dict[str, Any]:
    """Dropdown 2: the setting (only when there is a choice)."""
    return {
        "type": "dropdown", "direction": "down", "showactive": True, "active": 0,
        "x": 0.36, "xanchor": "left", "y": 1.16, "yanchor": "top", "name": "setting",
        "buttons": [
            {"label": f"setting: {s}", "method": "update",
             "args": [{"visible": [ts == s for ts in trace_setting]}, {"title.text": _title(title, s)}]}
            for s in settings
        ],
    }


def accuracy_vs_sparsity(df: pd.DataFrame, *, x: str = "sparsity",
                         title: str | None = None) -> go.Figure:
    """Top-1 accuracy against actual sparsity, one legend entry per method.

    Per configuration of a method (its retraining schedule, for IMP, and whatever else tells its
    runs apart; see :func:`sparselib.plots.summarize_runs`) the figure holds a line through the
    seed means with ±1 std error bars, and every seed as a faint point; hovering shows the run
    id(s) and the configuration.  A method's configurations share its colour and marker (line dash
    tells them apart) and one legend group: the legend, horizontal below the plot, has a single
    entry per method, and clicking it hides or shows all of the method's configurations.  A
    dropdown in the figure switches the x axis between actual sparsity (log scale of 1/(1 − s),
    labelled in %), theoretical speedup and relative training time; if the table holds several
    settings, a second dropdown picks the setting.  ``x`` selects the initial x axis.
    """
    if x not in X_AXES:
        raise ValueError(f"x must be one of {list(X_AXES)}, not {x!r}")
    fig = _base_figure()
    if df is None or len(df) == 0:
        return _no_runs(fig, title)
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
    menus = [_x_menu(xs, x)]
    if len(settings) > 1:
        menus.append(_setting_menu(settings, trace_setting, title))
    fig.update_layout(updatemenus=menus, title={"text": _title(title, settings[0]), "y": 0.98})
    return fig
