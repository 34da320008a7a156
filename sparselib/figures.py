"""The explorer's per-run figures, read from run folders: accuracy through prune–retrain cycles, per-layer
sparsity of final masks, and recorded learning rates.  Every figure has a dropdown inside it (works in the static
book) and hover text naming the run id.  The accuracy-vs-sparsity figure lives in :mod:`sparselib.plots`."""
from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from .plots.style import method_color, method_label
from .storage import RunFolder


def _folder(row: pd.Series) -> RunFolder:
    return RunFolder(row["folder"])  # collect_runs records where each run lives


def _retraining_methods() -> list[str]:
    """The methods that prune and retrain in cycles (the IMP family), from the registry."""
    from .methods import ordered_methods

    return [c.name for c in ordered_methods() if c.retrains()]


def _schedule_searching_methods() -> list[str]:
    """The methods whose study searches the retraining schedule (IMP), from the registry."""
    from .methods import ordered_methods

    return [c.name for c in ordered_methods() if "schedule" in c.search]


def _goal_menu(goals: list[float], trace_goal: list[float], label: str = "goal sparsity") -> dict[str, Any]:
    return {"type": "dropdown", "direction": "down", "showactive": True, "active": 0, "x": 0.0, "xanchor": "left",
            "y": 1.15, "yanchor": "top", "name": label,
            "buttons": [{"label": f"{label}: {g * 100:g} %", "method": "update",
                         "args": [{"visible": [tg == g for tg in trace_goal]}]} for g in goals]}


def cycles_figure(runs: pd.DataFrame, seed: int | None = None) -> go.Figure:
    """Validation accuracy after every epoch of IMP, IMP+ and BIMP runs (IMP's dense run included, on the same
    epoch axis), with the accuracy measured right after each pruning step (open markers): the drop and the
    recovery of prune–retrain.  A dropdown picks the goal sparsity."""
    sel = runs.loc[runs["method"].isin(_retraining_methods())]
    if seed is not None:
        sel = sel.loc[sel["seed"] == seed]
    if "schedule" in sel:  # one IMP schedule per method: LLR where present (the study's default)
        sel = sel.loc[sel["schedule"].isna() | (sel["schedule"] == "llr")]
    fig = go.Figure()
    goals = sorted(sel["goal_sparsity"].unique())
    trace_goal: list[float] = []
    by_id = runs.set_index("run_id")
    for _, r in sel.sort_values(["method", "goal_sparsity", "seed"]).iterrows():
        hist = _folder(r).history_frame()
        offset = 0
        ref = r.get("reference_run_id")
        if isinstance(ref, str) and ref in by_id.index:
            dense = _folder(by_id.loc[ref]).history_frame()
            offset = len(dense)
            hist = pd.concat([dense, hist.assign(epoch=hist["epoch"] + offset)], ignore_index=True)
        name = f"{method_label(r['method'])} seed {r['seed']}"
        color = method_color(r["method"])
        fig.add_trace(go.Scatter(
            x=hist["epoch"], y=100 * hist["val_acc"], mode="lines+markers", name=name, legendgroup=name,
            line={"color": color}, marker={"size": 5},
            hovertemplate=f"{name}<br>run {r['run_id']}<br>epoch %{{x}}<br>validation %{{y:.2f}} %<extra></extra>"))
        trace_goal.append(r["goal_sparsity"])
        if "pruned_val_acc" in hist:
            pr = hist.loc[hist["pruned_val_acc"].notna()]
            fig.add_trace(go.Scatter(
                x=pr["epoch"] - 1, y=100 * pr["pruned_val_acc"], mode="markers", legendgroup=name, showlegend=False,
                marker={"color": color, "symbol": "circle-open", "size": 10},
                hovertemplate=(f"{name}<br>run {r['run_id']}<br>right after pruning to %{{customdata:.2f}} %: "
                               "%{y:.2f} %<extra></extra>"), customdata=100 * pr["sparsity"]))
            trace_goal.append(r["goal_sparsity"])
    for tr, g in zip(fig.data, trace_goal):
        tr.visible = bool(goals) and g == goals[0]
    fig.update_layout(template="plotly_white", xaxis_title="Epoch (IMP: counted from the start of its dense run)",
                      yaxis_title="Validation top-1 accuracy (%)", height=480,
                      title={"text": "Accuracy through the prune–retrain cycles (open circles: right after "
                                     "pruning)", "y": 0.98},
                      updatemenus=[_goal_menu(goals, trace_goal)] if goals else [])
    return fig


def layer_sparsity_figure(runs: pd.DataFrame, cells: pd.DataFrame) -> go.Figure:
    """Per-layer sparsity of the final masks of each method's selected configuration (first seed), layers in
    network order; a dropdown picks the goal sparsity."""
    fig = go.Figure()
    goals = sorted(cells.loc[cells["found"] == True, "goal"].unique())  # noqa: E712 - object column
    trace_goal: list[float] = []
    by_id = runs.set_index("run_id")
    for c in cells.loc[cells["found"] == True].itertuples(index=False):  # noqa: E712
        rid = sorted(str(c.run_ids).split(","))[0]
        r = by_id.loc[rid]
        stats = _folder(r).read_mask_stats()
        names = [s["name"].removesuffix(".weight") for s in stats]
        sp = [100 * (1 - s["kept"] / s["numel"]) for s in stats]
        fig.add_trace(go.Scatter(
            x=names, y=sp, mode="lines+markers", name=method_label(c.method), line={"color": method_color(c.method)},
            customdata=[[s["numel"], s["kept"]] for s in stats],
            hovertemplate=(f"{method_label(c.method)} (run {rid})<br>%{{x}}: %{{y:.2f}} % pruned<br>"
                           "%{customdata[1]} of %{customdata[0]} weights kept<extra></extra>")))
        trace_goal.append(c.goal)
    for tr, g in zip(fig.data, trace_goal):
        tr.visible = g == goals[0]
    fig.update_layout(template="plotly_white", xaxis_title="Layer (network order)",
                      yaxis_title="Sparsity of the layer's weights (%)", height=480,
                      title={"text": "Per-layer sparsity of the final masks", "y": 0.98},
                      updatemenus=[_goal_menu(goals, trace_goal)] if goals else [])
    return fig


def lr_figure(runs: pd.DataFrame) -> go.Figure:
    """The recorded learning rate of every iteration of one IMP run per retraining schedule (seed 0, first goal
    sparsity), after the dense run's own schedule."""
    imp = runs.loc[runs["method"].isin(_schedule_searching_methods()) & runs["schedule"].notna()]
    fig = go.Figure()
    if imp.empty:
        return fig
    first = imp.sort_values(["goal_sparsity", "seed"]).iloc[0]
    imp = imp.loc[(imp["goal_sparsity"] == first["goal_sparsity"]) & (imp["seed"] == first["seed"])]
    ref = first.get("reference_run_id")
    if isinstance(ref, str) and (runs["run_id"] == ref).any():
        dense = runs.loc[runs["run_id"] == ref].iloc[0]
        lrs = _folder(dense).read_lrs()
        fig.add_trace(go.Scatter(x=list(range(len(lrs))), y=lrs, mode="lines", name="dense run",
                                 line={"color": "#777"},
                                 hovertemplate=f"dense run {ref}<br>iteration %{{x}}: LR %{{y:.4g}}<extra></extra>"))
    for _, r in imp.sort_values("schedule").iterrows():
        lrs = _folder(r).read_lrs()
        name = str(r["schedule"]).upper()
        fig.add_trace(go.Scatter(x=list(range(len(lrs))), y=lrs, mode="lines", name=name,
                                 hovertemplate=f"{name} (run {r['run_id']})<br>iteration %{{x}} of retraining: "
                                               "LR %{y:.4g}<extra></extra>"))
    fig.update_layout(template="plotly_white", height=420, xaxis_title="Iteration (of the dense run / of retraining)",
                      yaxis_title="Learning rate",
                      title={"text": f"Recorded learning rates: the dense run and IMP's retraining schedules "
                                     f"(goal {first['goal_sparsity'] * 100:g} %, seed {first['seed']})", "y": 0.97})
    return fig
