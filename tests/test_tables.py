"""The book's tables and per-run figures, from hand-made cells and from the real smoke study."""
import re

import pandas as pd
import pytest

from sparselib.figures import cycles_figure, layer_sparsity_figure, lr_figure
from sparselib.presets import PRESETS
from sparselib.results import collect_runs, dense_baseline
from sparselib.selection import select_cells
from sparselib.plots import summarize_runs
from sparselib.tables import TABLE_CSS, empty_cells_note, methods_table, settings_table, study_table, summary_table


def cell(method, goal, top1, found=True, why=""):
    return {"method": method, "goal": goal, "found": found, "top1_mean": top1 if found else float("nan"),
            "top1_std": 0.01, "speedup_mean": 10.0, "sparsity_mean": goal, "relative_time_mean": 1.5,
            "n_seeds": 2, "run_ids": f"{method}-a,{method}-b", "method_args": "{}", "why_empty": why}


def test_study_table_highlights_the_two_best_and_explains_empty_cells():
    cells = pd.DataFrame([cell("imp", 0.9, 0.80), cell("gmp", 0.9, 0.85), cell("lc", 0.9, 0.70),
                          cell("cs", 0.9, None, found=False, why="closest reached 93.00 %")])
    html = study_table(cells, [0.9])
    best = re.findall(r'<td class="best"[^>]*>([^<]+)</td>', html)
    assert sorted(best) == ["80.00 ±&nbsp;1.00", "85.00 ±&nbsp;1.00"]  # not LC's 70 % (wraps before the ±)
    assert 'title="closest reached 93.00 %">—</td>' in html
    assert "runs: imp-a,imp-b" in html and "IMP (1.50×)" in html
    assert html.index("IMP (") < html.index("GMP (")  # rows keep the order of the cells


def test_empty_cells_are_explained_under_the_table():
    """A "—" cell's reason (select_cells' why_empty) is spelled out under the table, one line per cell, the method
    by its label; nothing when every cell is filled."""
    cells = pd.DataFrame([cell("imp", 0.9, 0.80), cell("dst", 0.9, None, found=False, why="closest reached 90.47 %"),
                          cell("dst", 0.95, None, found=False, why="closest reached 91.74 % <")])
    note = empty_cells_note(cells)
    assert re.findall(r"<li>(.*?)</li>", note) == ["<b>DST</b>: closest reached 90.47 %",
                                                   "<b>DST</b>: closest reached 91.74 % &lt;"]
    assert "sparselib-note" in note and "div.sparselib-note" in TABLE_CSS
    assert empty_cells_note(cells.iloc[:1]) == "" and empty_cells_note(cells.iloc[:0]) == ""


def test_summary_table_is_compact_and_scrolls_in_its_own_box():
    def run(method, goal, seed, top1, rid, args="{}", schedule=None):
        return {"setting": "s", "method": method, "schedule": schedule, "method_args": args, "goal_sparsity": goal,
                "sparsity_prunable": goal, "top1": top1, "theoretical_speedup": 10.0, "relative_time": 1.2,
                "seed": seed, "run_id": rid, "momentum": 0.9}  # SGD's momentum: GSM's own is "method_args.momentum"

    runs = pd.DataFrame([run("dense", 0.0, 0, 0.9, "d0"), run("dense", 0.0, 1, 0.92, "d1"),
                         run("imp", 0.9, 0, 0.8, "i0", '{"schedule": "llr"}', "llr"),
                         run("imp", 0.9, 1, 0.82, "i1", '{"schedule": "llr"}', "llr"),
                         run("gsm", 0.9, 0, 0.3, "g0", '{"momentum": 0.9}'),
                         run("gsm", 0.9, 0, 0.2, "g1", '{"momentum": 0.99}')])
    html = summary_table(summarize_runs(runs))
    # in a box that scrolls sideways (TABLE_CSS), so a wide table never widens the page
    assert html.startswith('<div class="sparselib-scroll"><table class="sparselib-table sparselib-summary">')
    assert re.search(r"div\.sparselib-scroll \{[^}]*overflow-x: auto", TABLE_CSS)
    heads = re.findall(r"<th(?: title=\"([^\"]*)\")?>([^<]+)</th>", html.split("</thead>")[0])
    assert [h.replace("\u00ad", "") for _, h in heads] == ["method", "configuration", "goal (%)", "top-1 (%)", "sparsity (%)", "speedup",
                                     "time", "seeds", "run ids"]  # one setting: no setting column
    assert all(tip for tip, _ in heads)  # the full wording on hover
    assert "<th>IMP · LLR</th>" in html and "<th>Dense</th>" in html  # the schedule joins the method
    assert "<td>81.00 ±&nbsp;1.41</td>" in html and "<td>30.00</td>" in html  # mean ± std; one seed: no std
    assert "<code>i0</code><br><code>i1</code>" in html  # the run ids, one per line
    assert "method_args.<wbr>momentum=0.99" in html  # a long configuration may wrap
    no_variants = summary_table(summarize_runs(runs.loc[runs["method"] != "gsm"]))
    assert "configuration" not in no_variants


def test_settings_and_methods_tables_come_from_presets_and_registry():
    t2 = settings_table([PRESETS["mini"], PRESETS["paper-c10"]])
    assert "resnet56" in t2 and "fashion_mnist" in t2 and "100, 150" in t2
    assert t2.count("(assumed)") >= 10 and "12000" in t2
    t3 = methods_table()
    for label in ("IMP", "GSM", "CS", "STR", "DST"):
        assert f"<th>{label}" in t3
    assert t3.count("implicit") == 3


def test_figures_from_the_smoke_study(smoke_results):
    runs = collect_runs(smoke_results)
    assert set(dense_baseline(runs)["run_id"]) == set(runs.loc[runs["method"] != "dense", "dense_run_id"])
    cyc = cycles_figure(runs, seed=0)
    names = {t.name for t in cyc.data if t.name}
    assert {"IMP seed 0", "IMP+ seed 0", "BIMP seed 0"} <= names
    assert any("run " in (t.hovertemplate or "") for t in cyc.data)
    cells = select_cells(runs, [0.9])
    layers = layer_sparsity_figure(runs, cells)
    assert len(layers.data) == int(cells["found"].sum())
    assert all(max(t.y) <= 100 and min(t.y) >= 0 for t in layers.data)
    lrs = lr_figure(runs)
    assert [t.name for t in lrs.data][0] == "dense run" and "LLR" in [t.name for t in lrs.data]


def test_cell_changes_compare_a_saved_table_with_the_new_one(tmp_path):
    from sparselib.tables import cell_changes, changes_table, read_cells

    before = tmp_path / "before.csv"
    before.write_text("# a comment line\nmethod,goal,found,top1_mean,top1_std,sparsity_mean\n"
                      "gsm,0.9,True,0.28,0.02,0.9\ngsm,0.95,True,0.19,0.12,0.95\nstr,0.9,False,,,\n")
    after = pd.DataFrame({"method": ["gsm", "gsm", "str"], "goal": [0.9, 0.95, 0.9], "found": [True, False, True],
                          "top1_mean": [0.8125, None, 0.85], "top1_std": [0.01, None, 0.0],
                          "sparsity_mean": [0.9, None, 0.901]})
    ch = cell_changes(read_cells(before), after).set_index(["method", "goal"])
    assert ch.loc[("gsm", 0.9), "change_pp"] == pytest.approx(53.25)  # 81.25 − 28.00 by hand
    assert pd.isna(ch.loc[("gsm", 0.95), "change_pp"]) and pd.isna(ch.loc[("str", 0.9), "change_pp"])
    html = changes_table(ch.reset_index(), ["gsm", "str"])
    assert "+53.25" in html and "28.00 ±&nbsp;2.00" in html and "81.25 ±&nbsp;1.00" in html
    assert html.count("<tr><th>") == 1 + 2  # the sub-header row, one row per method
    assert html.count("<th>before</th><th>after</th>") == 2  # per goal
    named = changes_table(ch.reset_index(), ["gsm"], labels=("mini", "this study"))
    assert named.count("<th>mini</th><th>this study</th><th>change (pp)</th>") == 2 and "before" not in named
