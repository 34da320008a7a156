"""Figures for the sparselib book: one palette, one tidy run table in, plotly figures out.

Everything here reads the tidy table of :func:`sparselib.results.collect_runs` (one row per
finished run) and never invents a value: a figure shows exactly the runs it is given.

* :data:`METHOD_COLORS` / :func:`method_color` -- a fixed, colour-blind-safe colour per method
  (Okabe & Ito's eight colours plus three from Paul Tol's "muted" scheme), doubled by a fixed
  marker symbol (:func:`method_symbol`) so that no two methods rely on hue alone.
* :func:`summarize_runs` -- per setting x method x schedule x goal sparsity: mean/std over seeds.
* :func:`accuracy_vs_sparsity` -- top-1 accuracy against actual sparsity, with a dropdown *inside
  the figure* that switches the x axis to theoretical speedup or relative training time (and a
  second dropdown for the setting when the table holds several). Works in a static page.
* :func:`show` -- displays a figure so that it renders both in JupyterLab (plotly's mimetype)
  and in the offline book (HTML that expects ``plotly.min.js`` to be served by the site).
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import itertools
import json
import math
import zlib
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__ = [
    "METHOD_COLORS",
    "METHOD_LABELS",
    "METHOD_ORDER",
    "METHOD_SYMBOLS",
    "X_AXES",
    "accuracy_vs_sparsity",
    "canonical_method",
    "figure_bundle",
    "method_color",
    "method_label",
    "method_symbol",
    "show",
    "summarize_runs",
]

#: Display order of the methods (IMP family first, then the pruning-stable methods).
METHOD_ORDER: tuple[str, ...] = (
    "dense", "imp", "imp_plus", "bimp", "gmp", "dpf", "gsm", "lc", "dnw", "cs", "str", "dst",
)

#: One colour per method, the same in every figure. Okabe & Ito (2008) "Color Universal Design"
#: colours, completed with Paul Tol's muted indigo, wine and olive; hue is always doubled by a
#: marker symbol (METHOD_SYMBOLS).
METHOD_COLORS: dict[str, str] = {
    "dense": "#000000",     # Okabe-Ito black
    "imp": "#0072B2",       # Okabe-Ito blue
    "imp_plus": "#56B4E9",  # Okabe-Ito sky blue
    "bimp": "#332288",      # Tol muted indigo
    "gmp": "#009E73",       # Okabe-Ito bluish green
    "dpf": "#E69F00",       # Okabe-Ito orange
    "gsm": "#D55E00",       # Okabe-Ito vermillion
    "lc": "#CC79A7",        # Okabe-Ito reddish purple
    "dnw": "#882255",       # Tol muted wine
    "cs": "#999933",        # Tol muted olive
    "str": "#F0E442",       # Okabe-Ito yellow (markers get a dark outline)
    "dst": "#777777",       # neutral grey
}

METHOD_SYMBOLS: dict[str, str] = {
    "dense": "star",
    "imp": "circle",
    "imp_plus": "diamond",
    "bimp": "square",
    "gmp": "triangle-up",
    "dpf": "triangle-down",
    "gsm": "pentagon",
    "lc": "hexagon",
    "dnw": "cross",
    "cs": "x",
    "str": "triangle-left",
    "dst": "hourglass",
}

METHOD_LABELS: dict[str, str] = {
    "dense": "Dense", "imp": "IMP", "imp_plus": "IMP+", "bimp": "BIMP", "gmp": "GMP",
    "dpf": "DPF", "gsm": "GSM", "lc": "LC", "dnw": "DNW", "cs": "CS", "str": "STR", "dst": "DST",
}

# Extra colours / symbols for method names outside the registry (chosen by a stable hash).
_FALLBACK_COLORS = ("#44AA99", "#AA4499", "#CC6677", "#DDCC77", "#117733", "#88CCEE")
_FALLBACK_SYMBOLS = ("star-diamond", "star-square", "diamond-tall", "circle-cross", "square-x")

#: Columns :func:`accuracy_vs_sparsity` needs.
REQUIRED_COLUMNS = ("method", "goal_sparsity", "sparsity_prunable", "top1", "run_id")

# Sparsities shown as tick labels on the log(1/(1 - s)) axis.
_SPARSITY_TICKS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9999)
_MIN_DENSITY = 1e-6  # clip so that s = 1 (everything pruned) stays plottable


def canonical_method(name: Any) -> str:
    """``"IMP+"`` / ``"imp-plus"`` / ``" Imp_Plus "`` -> ``"imp_plus"``; other names lower-cased."""
    s = str(name).strip().lower().replace("+", "_plus").replace("-", "_").replace(" ", "_")
    while "__" in s:
        s = s.replace("__", "_")
    return s.strip("_")


def _stable_pick(name: str, options: tuple[str, ...]) -> str:
    return options[zlib.crc32(name.encode("utf-8")) % len(options)]


def method_color(name: Any) -> str:
    """The method's fixed colour (hex); unknown names get a stable colour from a spare palette."""
    key = canonical_method(name)
    return METHOD_COLORS.get(key) or _stable_pick(key, _FALLBACK_COLORS)


def method_symbol(name: Any) -> str:
    key = canonical_method(name)
    return METHOD_SYMBOLS.get(key) or _stable_pick(key, _FALLBACK_SYMBOLS)


def method_label(name: Any) -> str:
    key = canonical_method(name)
    return METHOD_LABELS.get(key, str(name))


def _method_rank(name: Any) -> tuple[int, str]:
    key = canonical_method(name)
    return (METHOD_ORDER.index(key) if key in METHOD_ORDER else len(METHOD_ORDER), key)


def _present(value: Any) -> bool:
    """False for None / NaN / pandas NA / empty string."""
    if value is None:
        return False
    try:
        if pd.isna(value):
            return False
    except (TypeError, ValueError):
        pass
    return str(value) != ""


def _series_label(method: Any, schedule: Any, variant: str = "") -> str:
    label = method_label(method)
    if _present(schedule):
        label = f"{label} · {str(schedule).upper()}"
    return f"{label} ({variant})" if variant else label


# ------------------------------------------------------------------------------------------------
# aggregation
# ------------------------------------------------------------------------------------------------


# Configuration fields, if sparselib.config cannot be imported (it normally is: RunConfig's fields).
_FALLBACK_CONFIG_FIELDS = (
    "dataset", "model", "model_width", "dropout", "train_subset", "test_subset", "val_fraction",
    "epochs", "batch_size", "lr", "lr_schedule", "lr_milestones", "lr_gamma", "warmup_epochs",
    "momentum", "nesterov", "weight_decay", "method_args",
)
# Keys of a run's identity that are explicit axes of the summary (not part of its "variant").
_AXIS_KEYS = {"setting", "method", "goal_sparsity", "seed", "run_id", "schedule"}


def _config_fields() -> list[str]:
    try:
        from sparselib.config import RunConfig

        return [f.name for f in dataclasses.fields(RunConfig)]
    except Exception:  # noqa: BLE001 - any failure: fall back to the known list
        return list(_FALLBACK_CONFIG_FIELDS)


def _method_args(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            return {"method_args": value}
        return parsed if isinstance(parsed, dict) else {"method_args": parsed}
    return {}


def _variant(row: pd.Series, columns: list[str]) -> dict[str, Any]:
    """A run's configuration minus seed, setting, method, goal sparsity and schedule."""
    out: dict[str, Any] = {}
    for col in columns:
        value = row[col]
        if col == "method_args":
            for k, v in _method_args(value).items():
                if k not in _AXIS_KEYS:
                    out[k if k not in columns else f"method_args.{k}"] = v
        elif isinstance(value, (list, tuple, dict)) or _present(value):
            out[col] = list(value) if isinstance(value, tuple) else value
    return out


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def _prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Normalised copy of the run table with ``variant_key``, ``variant`` and ``series``.

    Runs that differ in anything but their seed (and the explicit axes setting, method, schedule,
    goal sparsity) are different *configurations* -- e.g. a tuned hyper-parameter or weight decay
    -- and are never averaged together.  ``variant`` names what distinguishes the configurations
    of one method in one setting (empty when it has only one).
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"run table lacks column(s) {missing}; has {list(df.columns)}")
    d = df.copy().reset_index(drop=True)
    for col, default in (("setting", "default"), ("schedule", None), ("seed", np.nan),
                         ("theoretical_speedup", np.nan), ("relative_time", np.nan)):
        if col not in d.columns:
            d[col] = default
    d["setting"] = d["setting"].astype(object).where(d["setting"].map(_present), "default")
    d["schedule"] = d["schedule"].astype(object).where(d["schedule"].map(_present), "")
    d["method"] = d["method"].astype(str)
    d["run_id"] = d["run_id"].astype(str)
    for col in ("goal_sparsity", "sparsity_prunable", "top1", "theoretical_speedup",
                "relative_time"):
        d[col] = pd.to_numeric(d[col], errors="coerce").astype(float)

    columns = [c for c in _config_fields() if c in d.columns and c not in _AXIS_KEYS]
    variants = [_variant(r, columns) for _, r in d.iterrows()]
    d["variant_key"] = [json.dumps(v, sort_keys=True, default=str) for v in variants]
    labels = [""] * len(d)
    for _, idx in d.groupby(["setting", "method"], sort=False).groups.items():
        distinct = {d.at[i, "variant_key"]: variants[i] for i in idx}
        if len(distinct) < 2:
            continue
        keys = sorted({k for v in distinct.values() for k in v})
        differing = [k for k in keys
                     if len({json.dumps(v.get(k), sort_keys=True, default=str)
                             for v in distinct.values()}) > 1]
        for i in idx:
            labels[i] = ", ".join(f"{k}={_fmt_value(variants[i].get(k, '—'))}" for k in differing)
    d["variant"] = labels
    d["series"] = [_series_label(m, s, v) for m, s, v in zip(d["method"], d["schedule"],
                                                              d["variant"])]
    return d


_SUMMARY_COLUMNS = [
    "setting", "method", "schedule", "variant", "goal_sparsity", "n_seeds", "top1_mean",
    "top1_std", "sparsity_mean", "sparsity_std", "speedup_mean", "relative_time_mean",
    "run_ids", "series",
]


def _summarize_prepared(d: pd.DataFrame) -> pd.DataFrame:
    rows = []
    keys = ["setting", "method", "schedule", "variant_key", "goal_sparsity"]
    for _, g in d.groupby(keys, dropna=False, sort=False):
        first = g.iloc[0]
        rows.append({
            "setting": first["setting"], "method": first["method"],
            "schedule": first["schedule"], "variant": first["variant"],
            "goal_sparsity": first["goal_sparsity"],
            "n_seeds": int(len(g)),
            "top1_mean": g["top1"].mean(), "top1_std": g["top1"].std(ddof=1),
            "sparsity_mean": g["sparsity_prunable"].mean(),
            "sparsity_std": g["sparsity_prunable"].std(ddof=1),
            "speedup_mean": g["theoretical_speedup"].mean(),
            "relative_time_mean": g["relative_time"].mean(),
            "run_ids": sorted(g["run_id"]),
            "series": first["series"],
        })
    out = pd.DataFrame(rows, columns=_SUMMARY_COLUMNS)
    order = sorted(range(len(out)), key=lambda i: (
        str(out.at[i, "setting"]), _method_rank(out.at[i, "method"]), str(out.at[i, "schedule"]),
        str(out.at[i, "variant"]),
        -math.inf if pd.isna(out.at[i, "goal_sparsity"]) else out.at[i, "goal_sparsity"]))
    return out.iloc[order].reset_index(drop=True)


def summarize_runs(df: pd.DataFrame) -> pd.DataFrame:
    """One row per setting x method x configuration x goal sparsity: statistics over its seeds.

    Columns: setting, method, schedule ("" when none), variant (what tells this configuration
    apart from the method's others in the setting, "" when it is the only one), goal_sparsity,
    n_seeds, top1_mean, top1_std (sample std, NaN for one seed), sparsity_mean, sparsity_std,
    speedup_mean, relative_time_mean, run_ids (sorted list), series (display label).
    Fractions stay fractions.  Only seeds are averaged: runs whose configurations differ in
    anything else are separate rows.
    """
    if df is None or len(df) == 0:
        return pd.DataFrame(columns=_SUMMARY_COLUMNS)
    return _summarize_prepared(_prepare(df))


# ------------------------------------------------------------------------------------------------
# x axes
# ------------------------------------------------------------------------------------------------


def _compression(sparsity: pd.Series | np.ndarray) -> np.ndarray:
    """x coordinate of the sparsity axis: 1 / (1 - s), shown on a log axis."""
    s = np.asarray(sparsity, dtype=float)
    return 1.0 / np.clip(1.0 - s, _MIN_DENSITY, None)


def _fmt_pct(s: float) -> str:
    return "n/a" if s is None or not np.isfinite(s) else f"{100 * s:.4g} %"


#: key -> (button label, axis title, axis type, column of the run table, transform)
X_AXES: dict[str, dict[str, Any]] = {
    "sparsity": {
        "label": "x: actual sparsity",
        "title": "Actual sparsity of prunable weights (%) — log scale of 1 / (1 − sparsity)",
        "type": "log",
        "column": "sparsity_prunable",
        "transform": _compression,
        "tickvals": [float(v) for v in _compression(np.array(_SPARSITY_TICKS))],
        "ticktext": [_fmt_pct(s) for s in _SPARSITY_TICKS],
    },
    "speedup": {
        "label": "x: theoretical speedup",
        "title": "Theoretical speedup (×, dense / sparse multiply-adds per image), log scale",
        "type": "log",
        "column": "theoretical_speedup",
        "transform": lambda v: np.asarray(v, dtype=float),
        "tickvals": None,
        "ticktext": None,
    },
    "time": {
        "label": "x: relative training time",
        "title": "Wall time of the whole pipeline relative to dense training (×)",
        "type": "linear",
        "column": "relative_time",
        "transform": lambda v: np.asarray(v, dtype=float),
        "tickvals": None,
        "ticktext": None,
    },
}


def _xaxis_layout(key: str) -> dict[str, Any]:
    spec = X_AXES[key]
    return {
        "xaxis.title.text": spec["title"],
        "xaxis.type": spec["type"],
        "xaxis.tickmode": "array" if spec["tickvals"] else "auto",
        "xaxis.tickvals": spec["tickvals"],
        "xaxis.ticktext": spec["ticktext"],
        "xaxis.autorange": True,
    }


def _nan_to_none(values: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, dtype=float)]


# ------------------------------------------------------------------------------------------------
# the figure
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
    seed_txt = f"seed {_fmt_seed(r['seed'])}<br>" if _present(r["seed"]) else ""
    speed = r["theoretical_speedup"]
    rel = r["relative_time"]
    return (
        f"<b>{_esc(r['series'])}</b> ({_esc(r['setting'])})<br>"
        f"run {_esc(r['run_id'])}<br>{seed_txt}"
        f"goal sparsity {_fmt_pct(r['goal_sparsity'])}<br>"
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
        f"goal sparsity {_fmt_pct(s['goal_sparsity'])}<br>"
        f"top-1 {100 * s['top1_mean']:.2f}{spread} %<br>"
        f"actual sparsity {100 * s['sparsity_mean']:.2f} %<br>"
        f"runs: {shown}"
    )


def accuracy_vs_sparsity(df: pd.DataFrame, *, x: str = "sparsity",
                         title: str | None = None) -> go.Figure:
    """Top-1 accuracy against actual sparsity, one legend entry per method.

    Per configuration of a method (its retraining schedule, for IMP, and whatever else tells its
    runs apart; see :func:`summarize_runs`) the figure holds a line through the seed means with
    ±1 std error bars, and every seed as a faint point; hovering shows the run id(s) and the
    configuration.  A method's configurations share its colour and marker (line dash tells them
    apart) and one legend group: the legend, horizontal below the plot, has a single entry per
    method, and clicking it hides or shows all of the method's configurations.  A dropdown
    in the figure switches the x axis between actual sparsity (log scale of 1/(1 − s), labelled
    in %), theoretical speedup and relative training time; if the table holds several settings,
    a second dropdown picks the setting.  ``x`` selects the initial x axis.
    """
    if x not in X_AXES:
        raise ValueError(f"x must be one of {list(X_AXES)}, not {x!r}")
    fig = go.Figure()
    fig.update_layout(
        template="plotly_white",
        yaxis_title="Top-1 test accuracy (%)",
        # one entry per method (see below), in a row under the plot: no scrolling legend, and the
        # plot keeps the column's full width
        legend={"orientation": "h", "x": 0.0, "xanchor": "left", "y": -0.16, "yanchor": "top",
                "title": {"text": "method"}, "groupclick": "togglegroup"},
        hovermode="closest",
        margin={"t": 90},
        height=540,
    )
    if df is None or len(df) == 0:
        fig.add_annotation(text="No finished runs yet", showarrow=False,
                           xref="paper", yref="paper", x=0.5, y=0.5, font={"size": 16})
        fig.update_layout(title=title or "Top-1 accuracy vs sparsity")
        return fig

    d = _prepare(df)
    summary = _summarize_prepared(d)
    settings = sorted(d["setting"].unique(), key=str)

    x_per_trace: dict[str, list[list[float | None]]] = {k: [] for k in X_AXES}
    trace_setting: list[str] = []

    for setting in settings:
        sub_runs = d[d["setting"] == setting]
        sub_sum = summary[summary["setting"] == setting]
        # one series per configuration (method, schedule, variant); summary is already ordered
        series_list = list(dict.fromkeys(zip(sub_sum["method"], sub_sum["series"])))
        series_of: dict[str, list[str]] = {}
        for m, label in series_list:
            series_of.setdefault(canonical_method(m), []).append(label)
        for method, label in series_list:
            key = canonical_method(method)
            color, symbol = method_color(method), method_symbol(method)
            dash = ("solid", "dash", "dot", "dashdot", "longdash")[
                series_of[key].index(label) % 5]
            visible = setting == settings[0]
            runs = sub_runs[(sub_runs["method"] == method) & (sub_runs["series"] == label)]
            runs = runs.sort_values(["goal_sparsity", "run_id"])
            means = sub_sum[(sub_sum["method"] == method) & (sub_sum["series"] == label)]
            means = means.sort_values("goal_sparsity")

            # every seed as a faint point
            fig.add_trace(go.Scatter(
                x=[], y=_nan_to_none(100 * runs["top1"].to_numpy()),
                mode="markers", name=f"{label} (seeds)", legendgroup=key, showlegend=False,
                visible=visible, opacity=0.45,
                marker={"color": color, "symbol": symbol, "size": 7,
                        "line": {"color": "#333333", "width": 0.5}},
                hovertext=[_point_hover(r) for _, r in runs.iterrows()],
                hovertemplate="%{hovertext}<extra></extra>",
                customdata=[[rid] for rid in runs["run_id"]],
                meta={"kind": "seeds", "method": key, "series": label, "setting": setting},
            ))
            trace_setting.append(setting)
            for k, spec in X_AXES.items():
                x_per_trace[k].append(_nan_to_none(spec["transform"](runs[spec["column"]])))

            # mean ± std over seeds, one point per goal sparsity; the method's first configuration
            # carries its legend entry (named after the method; the hover text names the
            # configuration), the others join its legend group without an entry of their own
            first = series_of[key].index(label) == 0
            std = means["top1_std"].fillna(0.0).to_numpy()
            fig.add_trace(go.Scatter(
                x=[], y=_nan_to_none(100 * means["top1_mean"].to_numpy()),
                mode="lines+markers", name=method_label(method) if first else label, legendgroup=key,
                showlegend=first, visible=visible,
                line={"color": color, "dash": dash, "width": 2},
                marker={"color": color, "symbol": symbol, "size": 10,
                        "line": {"color": "#333333", "width": 1}},
                error_y={"type": "data", "array": _nan_to_none(100 * std), "visible": True,
                         "thickness": 1.2, "width": 4},
                hovertext=[_mean_hover(label, setting, r) for _, r in means.iterrows()],
                hovertemplate="%{hovertext}<extra></extra>",
                customdata=[[", ".join(r)] for r in means["run_ids"]],
                meta={"kind": "mean", "method": key, "series": label, "setting": setting},
            ))
            trace_setting.append(setting)
            mean_col = {"sparsity_prunable": "sparsity_mean",
                        "theoretical_speedup": "speedup_mean",
                        "relative_time": "relative_time_mean"}
            for k, spec in X_AXES.items():
                x_per_trace[k].append(_nan_to_none(spec["transform"](means[mean_col[spec["column"]]])))

    # initial x
    for trace, xs in zip(fig.data, x_per_trace[x]):
        trace.x = xs
    spec = X_AXES[x]
    fig.update_xaxes(title_text=spec["title"], type=spec["type"],
                     tickmode="array" if spec["tickvals"] else "auto",
                     tickvals=spec["tickvals"], ticktext=spec["ticktext"])

    # dropdown 1: x axis
    x_buttons = [
        {"label": spec["label"], "method": "update",
         "args": [{"x": x_per_trace[k]}, _xaxis_layout(k)]}
        for k, spec in X_AXES.items()
    ]
    menus = [{
        "type": "dropdown", "buttons": x_buttons, "active": list(X_AXES).index(x),
        "direction": "down", "showactive": True, "x": 0.0, "xanchor": "left",
        "y": 1.16, "yanchor": "top", "name": "x axis",
    }]

    def _title(setting: str) -> str:
        return title or f"Top-1 accuracy vs sparsity — {setting}"

    # dropdown 2: setting (only when there is a choice)
    if len(settings) > 1:
        menus.append({
            "type": "dropdown", "direction": "down", "showactive": True, "active": 0,
            "x": 0.36, "xanchor": "left", "y": 1.16, "yanchor": "top", "name": "setting",
            "buttons": [
                {"label": f"setting: {s}", "method": "update",
                 "args": [{"visible": [ts == s for ts in trace_setting]},
                          {"title.text": _title(s)}]}
                for s in settings
            ],
        })
    fig.update_layout(updatemenus=menus, title={"text": _title(settings[0]), "y": 0.98})
    return fig


# ------------------------------------------------------------------------------------------------
# display
# ------------------------------------------------------------------------------------------------

_FIG_COUNTER = itertools.count()

#: plotly.js config used in both renderings.
PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}


def figure_bundle(fig: go.Figure, *, div_id: str | None = None) -> dict[str, Any]:
    """The display bundle :func:`show` emits.

    * ``application/vnd.plotly.v1+json`` -- rendered by JupyterLab's plotly extension (it ranks
      above HTML there, and is "safe", so it also renders in untrusted notebooks);
    * ``text/html`` -- a ``<div>`` plus the ``Plotly.newPlot`` call *without* plotly.js and
      without any ``<script src=...>``; the book serves ``plotly.min.js`` once per page
      (tools/book_assets.py). myst-nb picks this one;
    * ``text/plain`` -- a one-line description for consoles.
    """
    fig_json = fig.to_json()
    if div_id is None:
        digest = hashlib.sha1(fig_json.encode("utf-8")).hexdigest()[:10]
        div_id = f"sparselib-fig-{digest}-{next(_FIG_COUNTER)}"
    fragment = fig.to_html(include_plotlyjs=False, include_mathjax=False, full_html=False,
                           div_id=div_id, config=PLOTLY_CONFIG)
    title = fig.layout.title.text or "figure"
    return {
        "application/vnd.plotly.v1+json": {**json.loads(fig_json), "config": PLOTLY_CONFIG},
        "text/html": fragment,
        "text/plain": f"<plotly figure: {title} ({len(fig.data)} traces)>",
    }


def show(fig: go.Figure) -> None:
    """Display ``fig`` in a notebook so that it renders in JupyterLab *and* in the offline book."""
    from IPython.display import display

    display(figure_bundle(fig), raw=True)
