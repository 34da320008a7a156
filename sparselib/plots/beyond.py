"""The beyond study's figures: accuracy against theoretical speedup per layer-wise allocation, each allocation's
per-layer sparsity, and what BatchNorm recalibration recovers at the last prune."""
from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go

from .style import method_label, method_rank

#: one colour and dash per allocation (colour-blind-safe; the dash tells them apart without colour)
ALLOCATION_STYLE = {"global": ("#332288", "solid"), "uniform": ("#DDCC77", "dash"), "erk": ("#117733", "dot"),
                    "lamp": ("#CC6677", "dashdot")}
_SYMBOLS = ("circle", "square", "diamond", "triangle-up")


def _style(allocation: str) -> tuple[str, str]:
    return ALLOCATION_STYLE.get(allocation, ("#888888", "longdash"))


def allocation_figure(table: pd.DataFrame) -> go.Figure:
    """``table`` from :func:`sparselib.beyond.allocation_table`: one line per method and allocation through its
    goal sparsities, mean test accuracy (±1 std over seeds) against mean theoretical speedup (log axis)."""
    fig = go.Figure()
    methods = sorted(table["method"].unique(), key=method_rank)
    for i, method in enumerate(methods):
        for allocation in table.loc[table["method"] == method, "allocation"].unique():
            d = table.loc[(table["method"] == method) & (table["allocation"] == allocation)].sort_values("goal")
            color, dash = _style(allocation)
            fig.add_trace(go.Scatter(
                x=d["speedup_mean"], y=d["top1_mean"] * 100, mode="lines+markers",
                name=f"{method_label(method)}, {allocation}", legendgroup=method,
                line=dict(color=color, dash=dash), marker=dict(color=color, symbol=_SYMBOLS[i % len(_SYMBOLS)], size=9),
                error_y=dict(type="data", array=(d["top1_std"] * 100).fillna(0), visible=True, thickness=1),
                customdata=(d[["goal", "sparsity_mean"]] * 100).to_numpy(),
                hovertemplate=(f"{method_label(method)}, {allocation} allocation<br>goal %{{customdata[0]:g}} % "
                               "(reached %{customdata[1]:.2f} %)<br>speedup %{x:.1f}×<br>top-1 %{y:.2f} %"
                               "<extra></extra>")))
    fig.update_xaxes(title="theoretical speedup (×, log scale)", type="log")
    fig.update_yaxes(title="top-1 accuracy (%)")
    fig.update_layout(title="Accuracy against theoretical speedup per layer-wise allocation (90, 95, 98 %)",
                      legend=dict(orientation="h", y=-0.25), margin=dict(t=60, l=60, r=20, b=40), height=480,
                      template="plotly_white")
    return fig


def allocation_layers_figure(layers: pd.DataFrame) -> go.Figure:
    """``layers`` from :func:`sparselib.beyond.layer_sparsity`: per-layer sparsity in network order, one line per
    allocation; the dropdown picks the method and goal sparsity (the first shown)."""
    fig = go.Figure()
    combos = [tuple(k) for k in layers[["method", "goal"]].drop_duplicates()
              .sort_values(["method", "goal"], key=lambda s: s.map(method_rank) if s.name == "method" else s)
              .to_numpy()]
    owner = []
    for n, (method, goal) in enumerate(combos):
        d = layers.loc[(layers["method"] == method) & (layers["goal"] == goal)]
        for allocation in d["allocation"].unique():
            a = d.loc[d["allocation"] == allocation].sort_values("index")
            color, dash = _style(allocation)
            fig.add_trace(go.Scatter(
                x=a["index"], y=a["sparsity"] * 100, mode="lines+markers", name=allocation, visible=n == 0,
                line=dict(color=color, dash=dash), marker=dict(color=color, size=6),
                customdata=a[["layer", "numel"]].to_numpy(),
                hovertemplate=(f"{allocation}<br>%{{customdata[0]}} (%{{customdata[1]:,}} weights)<br>"
                               "sparsity %{y:.1f} %<extra></extra>")))
            owner.append(n)
    names = layers.drop_duplicates("index").sort_values("index")
    buttons = [dict(label=f"{method_label(m)} at {g * 100:g} %", method="update",
                    args=[{"visible": [o == n for o in owner]},
                          {"title": f"Per-layer sparsity of {method_label(m)}'s final mask at {g * 100:g} %"}])
               for n, (m, g) in enumerate(combos)]
    first = f"{method_label(combos[0][0])}'s final mask at {combos[0][1] * 100:g} %" if combos else ""
    fig.update_layout(title=f"Per-layer sparsity of {first}", template="plotly_white", height=460,
                      updatemenus=[dict(buttons=buttons, x=0, y=1.18, xanchor="left", showactive=True)] if buttons
                      else [], legend=dict(orientation="h", y=-0.3), margin=dict(t=90, l=60, r=20, b=60))
    fig.update_xaxes(title="layer (network order)", tickmode="array", tickvals=names["index"],
                     ticktext=names["layer"].str.replace(".weight", "", regex=False), tickangle=-60)
    fig.update_yaxes(title="sparsity (%)", range=[0, 101])
    return fig


def config_label(method: str, goal: float, args, reached: float | None = None) -> str:
    """A short name of a configuration: method, goal and, for a method that retrains in phases, its schedule and
    number of phases (e.g. "IMP 90 % (LLR, 1 phase)"); a method without a goal (its sparsity is implicit) by the
    sparsity it ``reached`` (e.g. "CS, 94.7 % reached")."""
    a = json.loads(args) if isinstance(args, str) else dict(args)
    extra = (f" ({a['schedule'].upper()}, {a['n_phases']} phase{'s' if a['n_phases'] != 1 else ''})"
             if "schedule" in a and "n_phases" in a else "")
    if not goal and reached is not None and not pd.isna(reached):
        return f"{method_label(method)}, {reached * 100:.1f} % reached{extra}"
    return f"{method_label(method)} {goal * 100:g} %{extra}"


def recalibration_figure(table: pd.DataFrame) -> go.Figure:
    """``table`` from :func:`sparselib.beyond.recalibration_table`: per configuration, validation accuracy right
    before its final prune, right after it with the stale BatchNorm statistics, and after recalibrating them."""
    labels = [config_label(r.method, r.goal, r.args, getattr(r, "sparsity", None)) for r in table.itertuples()]
    fig = go.Figure()
    for col, name, color in (("val_before", "before the prune", "#888888"),
                             ("val_after_raw", "right after, stale BatchNorm statistics", "#CC6677"),
                             ("val_after_bn", "right after, statistics recalibrated", "#117733")):
        fig.add_trace(go.Bar(x=labels, y=table[col], name=name, marker_color=color,
                             hovertemplate="%{x}<br>" + name + ": %{y:.2f} %<extra></extra>"))
    fig.update_layout(barmode="group", title="Validation accuracy at the final prune, with and without "
                      "BatchNorm recalibration", yaxis_title="validation accuracy (%)", template="plotly_white",
                      legend=dict(orientation="h", y=-0.3), margin=dict(t=60, l=60, r=20, b=60), height=460)
    return fig
