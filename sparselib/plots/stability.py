"""The drop in validation accuracy at each run's final prune against its actual sparsity, one trace per method."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .style import method_color, method_label, method_rank, method_symbol
from .axes import X_AXES


def stability_figure(drops: pd.DataFrame) -> go.Figure:
    """``drops`` from :func:`sparselib.stability.prune_drops`."""
    fig = go.Figure()
    for method in sorted(drops["method"].unique(), key=method_rank):
        d = drops.loc[drops["method"] == method]
        fig.add_trace(go.Scatter(
            x=X_AXES["sparsity"]["transform"](d["sparsity_prunable"]), y=d["drop_pp"], mode="markers", name=method_label(method),
            marker=dict(color=method_color(method), symbol=method_symbol(method), size=9,
                        line=dict(width=1, color="#333")),
            customdata=d[["run_id", "removed_norm"]].to_numpy(),
            text=[f"{100 * v:.2f} %" for v in d["sparsity_prunable"]],
            hovertemplate=(f"{method_label(method)}<br>sparsity %{{text}}<br>drop %{{y:.2f}} pp<br>"
                           "removed norm %{customdata[1]:.3f}<br>run %{customdata[0]}<extra></extra>")))
    fig.add_hline(y=0, line=dict(color="#999", dash="dot"))
    fig.update_layout(title="Validation accuracy lost at the final prune", yaxis_title="drop (percentage points)",
                      legend=dict(orientation="h", y=-0.25), margin=dict(t=50, l=60, r=20, b=40), height=460,
                      template="plotly_white")
    spec = X_AXES["sparsity"]
    fig.update_xaxes(title=spec["title"], type=spec["type"], tickmode="array", tickvals=spec["tickvals"],
                     ticktext=spec["ticktext"])
    return fig
