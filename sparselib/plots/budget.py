"""The budget study's figure: each method's accuracy gap to dense training against the training budget, one panel
per goal sparsity."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..config import BASELINE
from .style import method_color, method_label, method_rank, method_symbol


def budget_figure(cells: pd.DataFrame, absolute: bool = False) -> go.Figure:
    """``cells`` from :func:`sparselib.budget.budget_cells`; a cell no configuration landed in is left out (its
    line has a gap).  ``absolute``: top-1 accuracy itself, with dense training as a dashed line, instead of the gap
    to dense training."""
    goals = sorted(cells["goal"].unique())
    fig = make_subplots(rows=1, cols=len(goals), shared_yaxes=True,
                        subplot_titles=[f"{g * 100:g} % sparsity" for g in goals], horizontal_spacing=0.04)
    if absolute:
        dense = cells.drop_duplicates("epochs").sort_values("epochs")
        for col in range(1, len(goals) + 1):
            fig.add_trace(go.Scatter(
                x=dense["epochs"], y=dense["dense_mean"] * 100, mode="lines+markers", name=method_label(BASELINE),
                legendgroup=BASELINE, showlegend=col == 1, line=dict(color="#444", dash="dash"),
                error_y=dict(type="data", array=(dense["dense_std"] * 100).fillna(0), visible=True, thickness=1),
                hovertemplate=method_label(BASELINE) + "<br>%{x} epochs<br>top-1 %{y:.2f} %<extra></extra>"), row=1, col=col)
    for method in sorted(cells["method"].unique(), key=method_rank):
        for col, goal in enumerate(goals, start=1):
            d = cells.loc[(cells["method"] == method) & (cells["goal"] == goal)].sort_values("epochs")
            y = (d["top1_mean"] * 100 if absolute else d["gap_pp"]).where(d["found"])
            fig.add_trace(go.Scatter(
                x=d["epochs"], y=y, mode="lines+markers", name=method_label(method),
                legendgroup=method, showlegend=col == 1, connectgaps=False,
                line=dict(color=method_color(method)),
                marker=dict(color=method_color(method), symbol=method_symbol(method), size=9),
                error_y=dict(type="data", array=(d["top1_std"] * 100).fillna(0), visible=True, thickness=1),
                customdata=(d[["top1_mean", "dense_mean"]] * 100).to_numpy(),
                hovertemplate=(f"{method_label(method)} at {goal * 100:g} %<br>%{{x}} epochs<br>"
                               + ("top-1 %{y:.2f} %" if absolute else "gap to dense %{y:+.2f} pp<br>top-1 "
                                  "%{customdata[0]:.2f} %") + " (dense %{customdata[1]:.2f} %)<extra></extra>")),
                row=1, col=col)
    if not absolute:
        fig.add_hline(y=0, line=dict(color="#999", dash="dot"))
    budgets = sorted(cells["epochs"].unique())
    fig.update_xaxes(title="training budget (epochs)", tickmode="array", tickvals=budgets)
    fig.update_yaxes(title="top-1 accuracy (%)" if absolute else "top-1 − dense (percentage points)", row=1, col=1)
    fig.update_layout(title="Top-1 accuracy against the training budget" if absolute else
                      "Accuracy gap to dense training against the training budget",
                      legend=dict(orientation="h", y=-0.25), margin=dict(t=70, l=60, r=20, b=40), height=460,
                      template="plotly_white")
    return fig
