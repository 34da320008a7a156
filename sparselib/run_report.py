"""One run as a researcher wants to see it: its key numbers (as percentages, in a fixed order), its accuracy,
learning rate and sparsity per epoch, and the sparsity of each layer.  Everything is read through
:class:`~sparselib.storage.RunFolder`; the figures are plotly figures, displayed with :func:`sparselib.plots.show` so
that they render in JupyterLab and in the static book alike.

``notebooks/train.ipynb`` ends with :func:`show_run`; while it trains, :func:`epoch_printer` prints one line per
epoch (what a papermill log shows).
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Callable

import plotly.graph_objects as go

from .storage import RunFolder

__all__ = ["epoch_line", "epoch_printer", "key_numbers", "layer_figure", "show_run", "training_figure"]

#: Iterations drawn at most in the learning-rate panel (a paper-scale run has ~80k).
MAX_LR_POINTS = 4000


def _pct(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f} %"


def _folder(folder: RunFolder | str | Path) -> RunFolder:
    return folder if isinstance(folder, RunFolder) else RunFolder(folder)


def _method(name: str):
    from .methods import get_method

    try:
        return get_method(name)
    except ValueError:  # a run of a method this installation does not have
        return None


def _label(cfg: dict[str, Any]) -> str:
    cls = _method(cfg["method"])
    args = ", ".join(f"{k}={v}" for k, v in cfg.get("method_args", {}).items())
    return f"{cls.label if cls else cfg['method']}{f' ({args})' if args else ''}"


# ------------------------------------------------------------------------------------------------------------------
# While it trains

def epoch_line(row: dict[str, Any], epochs: int | None = None) -> str:
    """One epoch of a run's history in one line, e.g. ``epoch 3/6: loss 0.412, train 84.2 %, validation 86.1 %,
    sparsity 90.0 %, lr 0.01, 48 s``."""
    parts = [f"loss {row['train_loss']:.3f}", f"train {_pct(row['train_acc'], 1)}",
             f"validation {_pct(row['val_acc'], 1)}"]
    if row.get("test_acc") is not None:
        parts.append(f"test {_pct(row['test_acc'], 1)}")
    seconds = row["train_time_s"]
    parts += [f"sparsity {_pct(row.get('sparsity') or 0.0, 1)}", f"lr {row['lr']:.3g}",
              f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"]
    return f"epoch {row['epoch']}{f'/{epochs}' if epochs else ''}: " + ", ".join(parts)


def epoch_printer(cfg, runtime, out: Callable[[str], None] = print) -> Callable[[int], None]:
    """An ``on_checkpoint`` callback for :func:`sparselib.runner.run` that prints the epoch just finished (its
    history row, read back from the run folder)."""
    from .resolve import resolve
    from .runner import run_folder

    resolved = resolve(cfg)
    folder, epochs = run_folder(resolved, runtime), resolved.build().total_epochs()

    def on_checkpoint(epoch: int) -> None:
        history = folder.read_history()
        if history:
            out(epoch_line(history[-1], epochs))

    return on_checkpoint


# ------------------------------------------------------------------------------------------------------------------
# When it is finished

def key_numbers(folder: RunFolder | str | Path) -> list[tuple[str, str]]:
    """The run's key numbers, in this order: what ran, accuracies, sparsity reached (and the goal), speedup, what is
    left of the network, training time, and where."""
    folder = _folder(folder)
    m, cfg = folder.read_metrics(), folder.read_config()
    cls = _method(cfg["method"])
    reached = _pct(m["sparsity_prunable"])
    if cfg.get("goal_sparsity"):
        reached += f" (goal {100 * cfg['goal_sparsity']:g} %)"
    elif cls is not None and cls.family != "dense" and not cls.explicit:
        reached += " (set implicitly by the hyper-parameters)"
    kept = round(m["prunable"] * (1 - m["sparsity_prunable"]))
    epochs = f"{m['epochs']}"
    if m.get("epochs_total", m["epochs"]) != m["epochs"]:
        epochs += f" (+{m['epochs_total'] - m['epochs']} of the dense run it starts from)"
    return [
        ("run", f"{_label(cfg)} · {cfg['setting']} · seed {cfg['seed']} · {m['run_id']}"),
        ("top-1 accuracy (test set)", _pct(m["top1"])),
        ("validation accuracy", _pct(m["val_top1"])),
        ("sparsity reached (prunable weights)", reached),
        ("sparsity of all parameters", _pct(m["sparsity_total"])),
        ("theoretical speedup", f"{m['theoretical_speedup']:.2f}×"),
        ("prunable weights kept", f"{kept:,} of {m['prunable']:,}"),
        ("multiply-adds per image", f"{m['macs_sparse']:,.0f} of {m['macs_dense']:,.0f}"),
        ("epochs", epochs),
        ("training time", f"{m['wall_time_s']:.1f} s on {m.get('device', '?')} ({m.get('precision', 'fp32')})"),
    ]


def _key_numbers_bundle(rows: list[tuple[str, str]]) -> dict[str, str]:
    width = max(len(k) for k, _ in rows)
    cells = "".join(f'<tr><th style="text-align:left;padding-right:1.5em">{html.escape(k)}</th>'
                    f'<td style="text-align:left">{html.escape(v)}</td></tr>' for k, v in rows)
    return {"text/html": f'<table class="sparselib-run-summary">{cells}</table>',
            "text/plain": "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)}


def _history(folder: RunFolder) -> tuple[list[dict[str, Any]], list[float], RunFolder | None]:
    """The run's history and learning rates, preceded by those of the dense run it starts from (IMP and its
    relatives) when that folder sits beside it; and that folder (None when there is none)."""
    history, lrs = folder.read_history(), folder.read_lrs()
    ref_id = folder.read_metrics().get("reference_run_id")
    ref = RunFolder(folder.path.parent / ref_id) if ref_id else None
    if ref is None or not ref.finished:
        return history, lrs, None
    before = ref.read_history()
    shifted = [{**row, "epoch": row["epoch"] + len(before)} for row in history]
    return before + shifted, ref.read_lrs() + lrs, ref


def training_figure(folder: RunFolder | str | Path) -> go.Figure:
    """Accuracy (train, validation, test; for prune–retrain methods also right after each pruning step), learning
    rate (every iteration) and sparsity, per epoch; a method that starts from a dense run shows that run first,
    shaded."""
    from plotly.subplots import make_subplots

    folder = _folder(folder)
    cfg, m = folder.read_config(), folder.read_metrics()
    history, lrs, ref = _history(folder)
    epochs = [r["epoch"] for r in history]

    def column(name: str) -> tuple[list[int], list[float]]:
        pts = [(r["epoch"], 100 * r[name]) for r in history if r.get(name) is not None]
        return [e for e, _ in pts], [v for _, v in pts]

    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.05, row_heights=[0.5, 0.25, 0.25])
    series = [("train_acc", "train (during the epoch)", dict(color="#999999", dash="dot"), "lines"),
              ("val_acc", "validation", dict(color="#0072B2"), "lines+markers"),
              ("pruned_val_acc", "validation right after pruning", None, "markers"),
              ("test_acc", "test", None, "markers")]
    markers = {"pruned_val_acc": dict(symbol="x", size=9, color="#D55E00"),
               "test_acc": dict(symbol="diamond", size=10, color="#000000")}
    for name, label, line, mode in series:
        x, y = column(name)
        if x:
            fig.add_trace(go.Scatter(x=x, y=y, name=label, mode=mode, line=line, marker=markers.get(name),
                                     hovertemplate=f"epoch %{{x}}<br>{label}: %{{y:.2f}} %<extra></extra>"),
                          row=1, col=1)
    if lrs and epochs:
        per_epoch = len(lrs) / len(epochs)
        step = max(1, len(lrs) // MAX_LR_POINTS)
        idx = list(range(0, len(lrs), step))
        fig.add_trace(go.Scatter(x=[(i + 1) / per_epoch for i in idx], y=[lrs[i] for i in idx], name="learning rate",
                                 mode="lines", line=dict(color="#332288"), showlegend=False,
                                 hovertemplate="epoch %{x:.2f}<br>lr %{y:.4g}<extra></extra>"), row=2, col=1)
    x, y = column("sparsity")
    fig.add_trace(go.Scatter(x=x, y=y, name="sparsity", mode="lines+markers", line=dict(color="#009E73"),
                             showlegend=False, hovertemplate="epoch %{x}<br>sparsity %{y:.2f} %<extra></extra>"),
                  row=3, col=1)
    if ref is not None:
        n = len(ref.read_history())
        for row in (1, 2, 3):
            fig.add_vrect(x0=0, x1=n, fillcolor="#999999", opacity=0.12, line_width=0, row=row, col=1)
        fig.add_annotation(x=n / 2, y=0.02, xref="x", yref="y domain", yanchor="bottom", showarrow=False,
                           text=f"the dense run it starts from ({ref.run_id})", font=dict(size=11, color="#555555"))
    fig.update_xaxes(title_text="epoch", row=3, col=1, rangemode="tozero")
    fig.update_yaxes(title_text="accuracy (%)", row=1, col=1)
    fig.update_yaxes(title_text="learning rate", rangemode="tozero", row=2, col=1)
    fig.update_yaxes(title_text="sparsity (%)", range=[0, 100], row=3, col=1)
    fig.update_layout(
        title=dict(text=f"{_label(cfg)}: top-1 {_pct(m['top1'])} at {_pct(m['sparsity_prunable'])} sparsity "
                        f"({m['run_id']})", font=dict(size=15)),
        height=720, template="plotly_white", margin=dict(l=70, r=20, t=90, b=50),
        legend=dict(orientation="h", yanchor="bottom", y=1.01, x=0, font=dict(size=11)),
        meta={"run_id": m["run_id"], "kind": "training"})
    return fig


def layer_figure(folder: RunFolder | str | Path) -> go.Figure:
    """The sparsity of each prunable layer (in the model's order), the whole network's as a dashed line."""
    folder = _folder(folder)
    cfg, m, stats = folder.read_config(), folder.read_metrics(), folder.read_mask_stats()
    cls = _method(cfg["method"])
    names = [s["name"].removesuffix(".weight") for s in stats]
    sparsity = [100 * (1 - s["kept"] / s["numel"]) if s["numel"] else 0.0 for s in stats]
    fig = go.Figure(go.Bar(  # the method's colour, outlined (some are light)
        x=sparsity, y=names, orientation="h", marker=dict(color=cls.color if cls else "#0072B2",
                                                          line=dict(color="#333333", width=0.6)),
        customdata=[[s["numel"], s["kept"], s.get("macs", 0)] for s in stats],
        hovertemplate="%{y}<br>%{x:.2f} % pruned<br>%{customdata[1]:,} of %{customdata[0]:,} weights kept<br>"
                      "%{customdata[2]:,} multiply-adds per image (dense)<extra></extra>"))
    overall = 100 * m["sparsity_prunable"]
    fig.add_vline(x=overall, line_dash="dash", line_color="#000000")
    fig.add_annotation(x=overall, y=1, yref="paper", yanchor="bottom", xanchor="right", showarrow=False,
                       text=f"all prunable weights: {overall:.2f} %", font=dict(size=11))
    fig.update_xaxes(title_text="sparsity (% of the layer's weights pruned)", range=[0, 100])
    fig.update_yaxes(autorange="reversed", title_text=None)
    fig.update_layout(title=dict(text=f"Sparsity per layer: {_label(cfg)} ({m['run_id']})", font=dict(size=15)),
                      height=140 + 22 * len(stats), template="plotly_white", margin=dict(l=70, r=20, t=90, b=50),
                      showlegend=False, meta={"run_id": m["run_id"], "kind": "layers"})
    return fig


def show_run(folder: RunFolder | str | Path) -> None:
    """Display the run: its key numbers, :func:`training_figure` and :func:`layer_figure` (in a notebook)."""
    from IPython.display import display

    from .plots import show

    folder = _folder(folder)
    if not folder.finished:
        print(f"{folder.path} holds no finished run ({folder.state}): nothing to show yet")
        return
    display(_key_numbers_bundle(key_numbers(folder)), raw=True)
    show(training_figure(folder))
    show(layer_figure(folder))
