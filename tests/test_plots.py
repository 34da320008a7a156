"""sparselib.plots on a small hand-made run table (no runs, no book build)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from sparselib import plots
from sparselib.methods import get_method, method_names
from sparselib.plots import (
    accuracy_vs_sparsity,
    figure_bundle,
    method_color,
    show,
    summarize_runs,
)

METHODS_12 = ["dense", "imp", "imp_plus", "bimp", "gmp", "dpf", "gsm", "lc", "dnw", "cs", "str",
              "dst"]


def _runs(setting="s1"):
    """dense (2 seeds), imp/llr at 0.9 and 0.98 (2 seeds each), gmp at 0.9 (2 seeds)."""
    rows = []

    def add(method, schedule, goal, seed, sparsity, top1, speedup, rel):
        rows.append({
            "setting": setting, "dataset": "d", "model": "m", "method": method,
            "schedule": schedule, "goal_sparsity": goal, "sparsity_prunable": sparsity,
            "sparsity_total": sparsity * 0.9, "top1": top1, "theoretical_speedup": speedup,
            "epochs_total": 10, "wall_time_s": 1.0, "relative_time": rel, "seed": seed,
            "run_id": f"{setting}-{method}-{goal}-{seed}",
        })

    add("dense", None, 0.0, 0, 0.0, 0.90, 1.0, 1.0)
    add("dense", None, 0.0, 1, 0.0, 0.92, 1.0, 1.0)
    add("imp", "llr", 0.9, 0, 0.9, 0.88, 8.0, 1.5)
    add("imp", "llr", 0.9, 1, 0.9, 0.86, 8.0, 1.7)
    add("imp", "llr", 0.98, 0, 0.98, 0.80, 30.0, 1.5)
    add("imp", "llr", 0.98, 1, 0.98, 0.82, 30.0, 1.7)
    add("gmp", np.nan, 0.9, 0, 0.899, 0.85, 7.5, 1.1)
    add("gmp", np.nan, 0.9, 1, 0.901, 0.87, 7.7, 1.1)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------- colours


def test_palette_covers_every_method_with_distinct_hex_colours():
    names = method_names()  # every registered method, in the study's order
    assert names[:len(METHODS_12)] == METHODS_12  # the paper's twelve first
    colours = [method_color(m) for m in names]
    assert len(set(c.lower() for c in colours)) == len(names)
    assert all(re.fullmatch(r"#[0-9A-Fa-f]{6}", c) for c in colours)
    assert len({plots.method_symbol(m) for m in names}) == len(names)


def test_style_comes_from_the_registry():
    for m in METHODS_12:
        cls = get_method(m)
        assert (method_color(m), plots.method_symbol(m), plots.method_label(m)) == (cls.color, cls.marker, cls.label)
    assert sorted(reversed(METHODS_12), key=plots.method_rank) == METHODS_12
    assert sorted(["zzz", "aaa", "imp"], key=plots.method_rank) == ["imp", "aaa", "zzz"]  # unknown names last
    assert plots.series_label("imp", "llr") == "IMP · LLR" and plots.series_label("gmp", np.nan) == "GMP"
    assert plots.series_label("gsm", "", "momentum=0.9") == "GSM (momentum=0.9)"


def test_method_color_is_fixed_and_alias_tolerant():
    assert method_color("imp") == get_method("imp").color
    assert method_color("IMP") == method_color(" imp ") == get_method("imp").color
    assert method_color("IMP+") == method_color("imp-plus") == get_method("imp_plus").color
    # unknown names: a stable colour and symbol, not one of the registered methods'
    assert method_color("my_new_method") == method_color("my_new_method")
    assert method_color("my_new_method") not in {method_color(m) for m in METHODS_12}
    assert plots.method_symbol("my_new_method") not in {plots.method_symbol(m) for m in METHODS_12}
    assert plots.method_label("my_new_method") == "my_new_method"


# ------------------------------------------------------------------------------------ summaries


def test_summarize_runs_mean_std_over_seeds():
    s = summarize_runs(_runs())
    assert list(s["method"]) == ["dense", "imp", "imp", "gmp"]  # registry order
    imp98 = s[(s["method"] == "imp") & (s["goal_sparsity"] == 0.98)].iloc[0]
    assert imp98["schedule"] == "llr"
    assert imp98["n_seeds"] == 2
    assert imp98["top1_mean"] == pytest.approx(0.81)
    assert imp98["top1_std"] == pytest.approx(np.std([0.80, 0.82], ddof=1))
    assert imp98["speedup_mean"] == pytest.approx(30.0)
    assert imp98["run_ids"] == ["s1-imp-0.98-0", "s1-imp-0.98-1"]
    gmp = s[s["method"] == "gmp"].iloc[0]
    assert gmp["schedule"] == ""  # NaN schedule -> ""
    assert gmp["sparsity_mean"] == pytest.approx(0.9)


def test_only_seeds_are_averaged_never_different_configurations():
    df = _runs()
    df["method_args"] = ['{"schedule": "llr"}' if m == "imp" else "{}" for m in df["method"]]
    df["weight_decay"] = 1e-4
    # a second GMP configuration (another weight decay), 2 seeds at the same goal sparsity
    extra = df[df["method"] == "gmp"].copy()
    extra["weight_decay"] = 5e-4
    extra["top1"] = [0.5, 0.6]
    extra["run_id"] = ["gmp-wd-0", "gmp-wd-1"]
    s = summarize_runs(pd.concat([df, extra], ignore_index=True))
    gmp = s[s["method"] == "gmp"]
    assert len(gmp) == 2 and gmp["n_seeds"].tolist() == [2, 2]
    assert sorted(gmp["top1_mean"]) == pytest.approx([0.55, 0.86])
    assert sorted(gmp["variant"]) == ["weight_decay=0.0001", "weight_decay=0.0005"]
    assert s.loc[s["method"] == "imp", "variant"].tolist() == ["", ""]  # only one config
    fig = accuracy_vs_sparsity(pd.concat([df, extra], ignore_index=True))
    gmp_legend = [t.name for t in fig.data if t.legendgroup == "gmp" and t.showlegend]
    assert gmp_legend == ["GMP"]  # one legend entry for the method ...
    gmp_means = [t for t in fig.data if t.legendgroup == "gmp" and t.meta["kind"] == "mean"]
    assert sorted(t.meta["series"] for t in gmp_means) == ["GMP (weight_decay=0.0001)",
                                                           "GMP (weight_decay=0.0005)"]
    for t in gmp_means:  # ... two lines, each naming its configuration on hover
        assert all(t.meta["series"] in text for text in t.hovertext)


def test_summarize_runs_single_seed_has_nan_std_and_empty_table_is_empty():
    s = summarize_runs(_runs().iloc[[0]])
    assert s["n_seeds"].tolist() == [1] and np.isnan(s["top1_std"].iloc[0])
    assert summarize_runs(pd.DataFrame()).empty


# ---------------------------------------------------------------------------------------- figure


def _by_kind(fig, kind):
    return [t for t in fig.data if t.meta["kind"] == kind]


def test_one_trace_group_per_method_and_consistent_colours():
    fig = accuracy_vs_sparsity(_runs())
    assert {t.legendgroup for t in fig.data} == {"dense", "imp", "gmp"}
    for group in ("dense", "imp", "gmp"):
        traces = [t for t in fig.data if t.legendgroup == group]
        assert len(traces) == 2  # seeds + mean
        assert {t.marker.color for t in traces} == {method_color(group)}
        assert sum(bool(t.showlegend) for t in traces) == 1
    legend = [t.name for t in fig.data if t.showlegend]
    assert legend == ["Dense", "IMP", "GMP"]  # method names; the schedule is in the hover text


def _grid_runs():
    """Every method of the registry, most with several configurations (a grid of hyper-parameters,
    IMP's six schedules), 2 seeds at 3 goal sparsities: 24 configurations in all."""
    rows = []
    grids = {"imp": [{"schedule": s} for s in ("llr", "allr", "clr", "slr", "lrw", "ft")],
             "gsm": [{"momentum": m} for m in (0.9, 0.99, 0.995)],
             "cs": [{"penalty": p} for p in (1e-4, 3e-4, 1e-3)],
             "str": [{"s_initial": v} for v in (-1.0, -0.6)],
             "dst": [{"penalty": p} for p in (0.02, 0.03)], "lc": [{"strength": 1e-3}, {"strength": 0.1}]}
    for method in METHODS_12:
        for i, args in enumerate(grids.get(method, [{}])):
            for goal in ((0.0,) if method == "dense" else (0.9, 0.95, 0.98)):
                for seed in (0, 1):
                    rows.append({"setting": "s1", "method": method, "schedule": args.get("schedule"),
                                 "method_args": json.dumps(args), "goal_sparsity": goal,
                                 "sparsity_prunable": goal, "top1": 0.9 - goal / 2 - i / 100 - seed / 1000,
                                 "theoretical_speedup": 1 / (1 - goal), "relative_time": 1.0 + i / 10,
                                 "seed": seed, "run_id": f"{method}-{i}-{goal}-{seed}"})
    return pd.DataFrame(rows)


def test_legend_has_one_entry_per_method_below_the_plot():
    df = _grid_runs()
    fig = accuracy_vs_sparsity(df)
    n_configs = len(_by_kind(fig, "mean")) + len(_by_kind(fig, "reference"))  # pruned lines, dense reference line
    assert n_configs == 24  # the figure still draws every configuration ...
    legend = [t for t in fig.data if t.showlegend]
    assert [t.name for t in legend] == [plots.method_label(m) for m in METHODS_12]  # ... the legend names methods
    assert len(legend) <= df["method"].nunique()
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.y < 0  # a row under the plot, no scroll box
    assert not any(t.legendgrouptitle.text for t in fig.data)
    for t in fig.data:  # every trace joins its method's group, in the method's colour (the palette is unchanged)
        assert t.legendgroup == t.meta["method"]
        assert t.marker.color == get_method(t.meta["method"]).color
    # the configurations stay apart: one line each, told apart by dash and named on hover
    imp = [t for t in _by_kind(fig, "mean") if t.legendgroup == "imp"]
    assert len(imp) == 6 and len({t.line.dash for t in imp}) == 5  # five dashes, cycled
    assert {t.meta["series"] for t in imp} == {f"IMP · {s}" for s in ("LLR", "ALLR", "CLR", "SLR", "LRW", "FT")}
    # every single run shows its run id and its configuration on hover
    shown = {}
    for t in _by_kind(fig, "seeds"):
        for text, (rid,) in zip(t.hovertext, t.customdata):
            assert rid in text and t.meta["series"] in text
            shown[rid] = text
    dense = next(t for t in _by_kind(fig, "reference"))  # the dense runs: the reference line's, named on its hover
    assert all(rid in text for text in dense.hovertext for rid in dense.meta["run_ids"])
    assert set(shown) | set(dense.meta["run_ids"]) == set(df["run_id"])
    assert "momentum=0.995" in shown["gsm-2-0.9-0"]


def test_points_and_means_are_the_runs_in_percent():
    fig = accuracy_vs_sparsity(_runs())
    imp_seeds = next(t for t in _by_kind(fig, "seeds") if t.legendgroup == "imp")
    assert list(imp_seeds.y) == pytest.approx([88.0, 86.0, 80.0, 82.0])
    imp_mean = next(t for t in _by_kind(fig, "mean") if t.legendgroup == "imp")
    assert list(imp_mean.y) == pytest.approx([87.0, 81.0])
    assert list(imp_mean.error_y.array) == pytest.approx([100 * np.std([0.88, 0.86], ddof=1)] * 2)
    # initial x: 1 / (1 - sparsity) on a log axis
    assert list(imp_mean.x) == pytest.approx([10.0, 50.0])
    assert fig.layout.xaxis.type == "log"
    assert "sparsity" in fig.layout.xaxis.title.text.lower()
    assert "%" in fig.layout.yaxis.title.text


def test_dense_is_a_horizontal_reference_across_the_pruned_runs():
    """Dense is no point at 0 % sparsity (which squeezed the pruned runs into the axis' right third): it is a line at
    its mean accuracy and a band of ±1 std over seeds, labelled, spanning exactly the pruned runs' x range on every
    x axis, so the axis starts where they start."""
    df = _runs()
    fig = accuracy_vs_sparsity(df)
    dense = [t for t in fig.data if t.meta["method"] == "dense"]
    assert sorted(t.meta["kind"] for t in dense) == ["band", "reference"]  # no seeds, no means at x = 0 %
    line = next(t for t in dense if t.meta["kind"] == "reference")
    band = next(t for t in dense if t.meta["kind"] == "band")
    mean, std = 91.0, 100 * np.std([0.90, 0.92], ddof=1)
    assert list(line.y) == pytest.approx([mean] * len(line.y))
    assert min(band.y) == pytest.approx(mean - std) and max(band.y) == pytest.approx(mean + std)
    assert band.fill == "toself" and line.showlegend and line.name == "Dense" and not band.showlegend
    assert "Dense" in line.text and line.mode == "lines+text"  # labelled on the plot, not only in the legend
    assert sorted(line.meta["run_ids"]) == ["s1-dense-0.0-0", "s1-dense-0.0-1"]
    assert all("s1-dense-0.0-0" in h for h in line.hovertext)
    # x: the pruned runs' range on each axis (the initial one, and every dropdown button's)
    pruned = df[df["method"] != "dense"]
    ranges = {"x: actual sparsity": 1 / (1 - pruned["sparsity_prunable"]),
              "x: theoretical speedup": pruned["theoretical_speedup"],
              "x: relative training time": pruned["relative_time"]}
    i = list(fig.data).index(line)
    for button in fig.layout.updatemenus[0].buttons:
        xs = button.args[0]["x"][i]
        assert (min(xs), max(xs)) == pytest.approx((ranges[button.label].min(), ranges[button.label].max()))
    assert min(line.x) == pytest.approx(1 / (1 - 0.899)) and 1.0 not in line.x  # not at 1 / (1 - 0)
    assert min(x for t in fig.data for x in t.x if x is not None) == pytest.approx(1 / (1 - 0.899))


def test_each_dense_configuration_has_its_own_legend_entry():
    """Two dense configurations (the full dense run and the shorter one restricted IMP starts from) are two lines,
    each with its own legend entry and group, named by epochs, the longer first."""
    df = _runs()
    df["epochs"] = 6
    short = df[df["method"] == "dense"].assign(epochs=4, top1=[0.85, 0.86], run_id=["short-0", "short-1"])
    fig = accuracy_vs_sparsity(pd.concat([df, short], ignore_index=True))
    lines = [t for t in fig.data if t.meta["kind"] == "reference"]
    assert [t.name for t in lines] == ["Dense (6 epochs)", "Dense (4 epochs)"]
    assert [t.y[0] for t in lines] == pytest.approx([91.0, 85.5])
    assert len({t.legendgroup for t in lines}) == 2 and all(t.showlegend for t in lines)
    assert len({t.line.dash for t in lines}) == 2
    legend = [t.name for t in fig.data if t.showlegend]
    assert legend == ["Dense (6 epochs)", "Dense (4 epochs)", "IMP", "GMP"]
    for t in lines:  # each line's band is in its group: a click on the entry hides both
        assert [b.meta["kind"] for b in fig.data if b.legendgroup == t.legendgroup] == ["band", "reference"]


def test_an_implicit_method_has_no_goal_in_its_hover():
    """CS, STR and DST record a goal sparsity of 0: the hover says "implicit (no goal)", not "goal sparsity 0 %"."""
    df = _runs()
    cs = df[df["method"] == "gmp"].assign(method="cs", goal_sparsity=0.0, run_id=["cs-0", "cs-1"])
    fig = accuracy_vs_sparsity(pd.concat([df, cs], ignore_index=True))
    cs_text = [h for t in fig.data if t.meta["method"] == "cs" for h in t.hovertext]
    assert len(cs_text) == 3 and all("implicit (no goal)" in h and "goal sparsity 0" not in h for h in cs_text)
    gmp_text = [h for t in fig.data if t.meta["method"] == "gmp" for h in t.hovertext]
    assert all("goal sparsity 90 %" in h for h in gmp_text)


def test_sparsity_axis_is_labelled_in_percent_near_one():
    fig = accuracy_vs_sparsity(_runs())
    ticks = dict(zip(fig.layout.xaxis.ticktext, fig.layout.xaxis.tickvals))
    assert ticks["90 %"] == pytest.approx(10.0)
    assert ticks["99 %"] == pytest.approx(100.0)
    assert ticks["99.9 %"] == pytest.approx(1000.0)
    # sparsity 1 (everything pruned) stays finite
    df = _runs()
    df.loc[df.index[-1], "sparsity_prunable"] = 1.0
    xs = [x for t in accuracy_vs_sparsity(df).data for x in t.x if x is not None]
    assert all(np.isfinite(xs))


def test_x_axis_dropdown_buttons_switch_the_data():
    df = _runs()
    fig = accuracy_vs_sparsity(df)
    assert len(fig.layout.updatemenus) == 1  # one setting: no setting dropdown
    menu = fig.layout.updatemenus[0]
    labels = [b.label for b in menu.buttons]
    assert labels == ["x: actual sparsity", "x: theoretical speedup", "x: relative training time"]
    assert menu.active == 0
    imp_seeds_i = next(i for i, t in enumerate(fig.data)
                       if t.legendgroup == "imp" and t.meta["kind"] == "seeds")
    imp = df[df["method"] == "imp"].sort_values(["goal_sparsity", "run_id"])
    expected = {
        "x: actual sparsity": list(1 / (1 - imp["sparsity_prunable"])),
        "x: theoretical speedup": list(imp["theoretical_speedup"]),
        "x: relative training time": list(imp["relative_time"]),
    }
    titles = set()
    for button in menu.buttons:
        assert button.method == "update"
        data_update, layout_update = button.args
        assert len(data_update["x"]) == len(fig.data)  # one x array per trace
        assert data_update["x"][imp_seeds_i] == pytest.approx(expected[button.label])
        titles.add(layout_update["xaxis.title.text"])
    assert len(titles) == 3
    types = [b.args[1]["xaxis.type"] for b in menu.buttons]
    assert types == ["log", "log", "linear"]
    # each view has its own tick labels (the time view plotly's)
    assert menu.buttons[0].args[1]["xaxis.ticktext"][:4] == ["0 %", "50 %", "80 %", "90 %"]
    assert menu.buttons[1].args[1]["xaxis.ticktext"][:4] == ["1×", "2×", "5×", "10×"]
    assert menu.buttons[2].args[1]["xaxis.tickvals"] is None
    # the title follows the x axis
    assert [b.args[1]["title.text"] for b in menu.buttons] == [
        "Top-1 accuracy vs actual sparsity — s1", "Top-1 accuracy vs theoretical speedup — s1",
        "Top-1 accuracy vs relative training time — s1"]
    assert fig.layout.title.text == menu.buttons[0].args[1]["title.text"]
    # the figure starts in the state of the active button
    assert list(fig.data[imp_seeds_i].x) == pytest.approx(expected["x: actual sparsity"])
    # ... or another one, if asked
    fig2 = accuracy_vs_sparsity(df, x="speedup")
    assert fig2.layout.updatemenus[0].active == 1
    assert list(fig2.data[imp_seeds_i].x) == pytest.approx(expected["x: theoretical speedup"])
    assert fig2.layout.title.text == "Top-1 accuracy vs theoretical speedup — s1"


def test_without_the_x_menu_the_figure_has_one_x_control_less():
    """The live notebook has an x-axis control of its own (widgets): the figure then leaves its dropdown out, and its
    title names the x axis it was drawn on.  A title given by the caller stays as given."""
    fig = accuracy_vs_sparsity(_runs(), x="time", x_menu=False)
    assert not fig.layout.updatemenus
    assert fig.layout.title.text == "Top-1 accuracy vs relative training time — s1"
    assert "relative" in fig.layout.xaxis.title.text.lower()
    two = accuracy_vs_sparsity(pd.concat([_runs("a"), _runs("b")], ignore_index=True), x_menu=False)
    assert [m.name for m in two.layout.updatemenus] == ["setting"] and two.layout.updatemenus[0].x == 0.0
    assert accuracy_vs_sparsity(_runs(), title="mine", x="speedup").layout.title.text == "mine"
    assert all(b.args[1]["title.text"] == "mine"
               for b in accuracy_vs_sparsity(_runs(), title="mine").layout.updatemenus[0].buttons)


def test_speedup_ticks_are_sparse_and_readable():
    """plotly's own log ticks label every digit over a short range ("8 9 1 2 3 … 10 2 3 …"); the speedup axis has
    1-2-5 ticks per decade, labelled with "×"."""
    fig = accuracy_vs_sparsity(_runs(), x="speedup")
    ticks = dict(zip(fig.layout.xaxis.ticktext, fig.layout.xaxis.tickvals))
    assert fig.layout.xaxis.tickmode == "array"
    assert [ticks[t] for t in ("2×", "5×", "10×", "20×", "50×", "100×")] == [2, 5, 10, 20, 50, 100]
    in_range = [v for v in fig.layout.xaxis.tickvals if 7.5 <= v <= 30]  # the pruned runs' speedups
    assert in_range == [10, 20]


def test_setting_dropdown_when_several_settings():
    df = pd.concat([_runs("a"), _runs("b")], ignore_index=True)
    fig = accuracy_vs_sparsity(df)
    assert len(fig.layout.updatemenus) == 2
    menu = fig.layout.updatemenus[1]
    assert [b.label for b in menu.buttons] == ["setting: a", "setting: b"]
    for button, setting in zip(menu.buttons, ("a", "b")):
        visible = button.args[0]["visible"]
        assert visible == [t.meta["setting"] == setting for t in fig.data]
    assert [bool(t.visible) for t in fig.data] == [t.meta["setting"] == "a" for t in fig.data]
    # the setting dropdown names the setting shown; the title names the x axis (and follows the x-axis dropdown)
    assert fig.layout.title.text == "Top-1 accuracy vs actual sparsity"
    assert [b.args[1]["title.text"] for b in fig.layout.updatemenus[0].buttons][1] == \
        "Top-1 accuracy vs theoretical speedup"


def test_hover_shows_run_id_and_method():
    df = _runs()
    fig = accuracy_vs_sparsity(df)
    for t in _by_kind(fig, "seeds"):
        runs = df[df["method"] == t.legendgroup].sort_values(["goal_sparsity", "run_id"])
        assert len(t.hovertext) == len(runs)
        for text, run_id in zip(t.hovertext, runs["run_id"]):
            assert run_id in text
            assert t.meta["series"] in text
        assert "%{hovertext}" in t.hovertemplate
    imp_mean = next(t for t in _by_kind(fig, "mean") if t.legendgroup == "imp")
    assert "s1-imp-0.9-0" in imp_mean.hovertext[0] and "s1-imp-0.9-1" in imp_mean.hovertext[0]


def test_empty_table_and_missing_columns():
    fig = accuracy_vs_sparsity(pd.DataFrame())
    assert len(fig.data) == 0
    assert "No finished runs" in fig.layout.annotations[0].text
    with pytest.raises(ValueError, match="top1"):
        accuracy_vs_sparsity(_runs().drop(columns="top1"))
    with pytest.raises(ValueError):
        accuracy_vs_sparsity(_runs(), x="nonsense")


# ------------------------------------------------------------------------------------------ show


def test_figure_bundle_has_both_mimetypes_and_no_plotly_js():
    fig = accuracy_vs_sparsity(_runs())
    bundle = figure_bundle(fig)
    assert {"application/vnd.plotly.v1+json", "text/html", "text/plain"} <= set(bundle)
    spec = bundle["application/vnd.plotly.v1+json"]
    json.dumps(spec)  # JSON-serialisable as is
    assert len(spec["data"]) == len(fig.data) and "layout" in spec
    html = bundle["text/html"]
    assert 'class="plotly-graph-div"' in html and "Plotly.newPlot" in html
    assert not re.search(r"<script[^>]*\bsrc\s*=", html)  # loads nothing itself ...
    assert "<script src=\"http" not in html and "https://cdn" not in html
    assert "plotly.js v" not in html and len(html) < 200_000  # ... and inlines no plotly.js
    assert "s1-imp-0.9-0" in html  # the figure's data is in the HTML


def test_only_the_static_page_is_responsive():
    """JupyterLab's plotly renderer re-fits the figure itself (Plotly.Plots.resize after each draw and on each
    resize), which drops the layout's height; with "responsive" plotly.js then sized the figure to 100 % of a node
    without a height of its own: 0 px after a legend click.  So the mimetype's config is not responsive; the static
    page's is (its div has a fixed CSS height), so that figure follows the column width."""
    bundle = figure_bundle(accuracy_vs_sparsity(_runs()))
    config = bundle["application/vnd.plotly.v1+json"]["config"]
    assert not config.get("responsive") and config["displaylogo"] is False
    html = bundle["text/html"]
    assert re.search(r'"responsive":\s*true', html) and '"displaylogo": false' in html
    assert '<div style="height:540px; width:100%;">' in html  # the height "100 %" of the responsive figure is of


def test_div_ids_are_unique_per_display():
    fig = accuracy_vs_sparsity(_runs())
    ids = {re.search(r'id="([^"]+)" class="plotly-graph-div"', figure_bundle(fig)["text/html"])[1]
           for _ in range(3)}
    assert len(ids) == 3


def test_show_displays_the_raw_bundle(monkeypatch):
    import IPython.display

    calls = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: calls.append((a, k)))
    assert show(accuracy_vs_sparsity(_runs())) is None
    (args, kwargs), = calls
    assert kwargs == {"raw": True}
    assert {"application/vnd.plotly.v1+json", "text/html"} <= set(args[0])
