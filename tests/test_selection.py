"""The paper's selection rule on a hand-made run table (every number below is checked by hand)."""
import math
import re

import pandas as pd
import pytest

from sparselib.selection import BAND, select_cells


def runs_table(rows):
    cols = ["method", "config_id", "seed", "sparsity_prunable", "sparsity_total", "val_top1", "top1",
            "theoretical_speedup", "relative_time", "method_args", "run_id"]
    return pd.DataFrame([dict(zip(cols, r)) for r in rows])


# method, config, seed, sparsity, total sparsity, val, test, speedup, rel. time, args, run id
ROWS = [
    # CS: three configurations (implicit; goal_sparsity plays no part)
    ("cs", "a", 0, 0.8990, 0.89, 0.80, 0.70, 8.0, 1.2, '{"penalty": 1}', "a0"),
    ("cs", "a", 1, 0.9000, 0.89, 0.82, 0.74, 9.0, 1.4, '{"penalty": 1}', "a1"),   # mean 0.8995: in the 90 % band
    ("cs", "b", 0, 0.9020, 0.89, 0.90, 0.60, 10.0, 1.0, '{"penalty": 2}', "b0"),
    ("cs", "b", 1, 0.9040, 0.89, 0.90, 0.62, 10.0, 1.0, '{"penalty": 2}', "b1"),  # mean 0.9030: outside (0.3 pp)
    ("cs", "c", 0, 0.9470, 0.94, 0.70, 0.65, 20.0, 1.1, '{"penalty": 3}', "c0"),
    ("cs", "c", 1, 0.9490, 0.94, 0.72, 0.66, 22.0, 1.3, '{"penalty": 3}', "c1"),  # mean 0.9480: in the 95 % band
    # GMP: two configurations at 90 %, the one with the better validation accuracy wins despite worse test accuracy
    ("gmp", "g1", 0, 0.9000, 0.89, 0.85, 0.80, 9.5, 0.9, "{}", "g10"),
    ("gmp", "g1", 1, 0.9000, 0.89, 0.87, 0.84, 9.5, 1.1, "{}", "g11"),
    ("gmp", "g2", 0, 0.9000, 0.89, 0.84, 0.90, 9.5, 0.9, '{"x": 1}', "g20"),
    ("gmp", "g2", 1, 0.9000, 0.89, 0.84, 0.92, 9.5, 0.9, '{"x": 1}', "g21"),
    ("dense", "d", 0, 0.0, 0.0, 0.9, 0.9, 1.0, 1.0, "{}", "d0"),
]


NO_CONFIG_ID = "the run table has no config_id column: build it with sparselib.results.collect_runs"


def cell(cells, method, goal):
    row = cells.loc[(cells["method"] == method) & (cells["goal"] == goal)]
    assert len(row) == 1
    return row.iloc[0]


def test_selection_takes_the_best_validation_accuracy_inside_the_band():
    cells = select_cells(runs_table(ROWS), [0.9, 0.95, 0.98])
    assert list(cells["method"].unique()) == ["gmp", "cs"]  # study order; dense is the baseline, not a cell
    c = cell(cells, "cs", 0.9)
    assert c["found"] and c["config_id"] == "a" and c["n_candidates"] == 1  # b (0.903) is 0.30 pp away
    assert c["top1_mean"] == pytest.approx(0.72)
    assert c["top1_std"] == pytest.approx(math.sqrt(2) * 0.02)  # sample std of (0.70, 0.74)
    assert c["sparsity_mean"] == pytest.approx(0.8995)
    assert c["speedup_mean"] == pytest.approx(8.5) and c["relative_time_mean"] == pytest.approx(1.3)
    assert c["run_ids"] == "a0,a1" and c["n_seeds"] == 2
    c = cell(cells, "cs", 0.95)
    assert c["found"] and c["config_id"] == "c" and c["top1_mean"] == pytest.approx(0.655)
    g = cell(cells, "gmp", 0.9)
    assert g["config_id"] == "g1" and g["n_candidates"] == 2  # val 0.86 beats 0.84; test accuracy is not looked at
    assert g["top1_mean"] == pytest.approx(0.82)


def test_empty_cells_say_why():
    cells = select_cells(runs_table(ROWS), [0.9, 0.95, 0.98])
    c = cell(cells, "cs", 0.98)
    assert not c["found"] and pd.isna(c["top1_mean"]) and c["n_seeds"] == 0
    assert "98 %" in c["why_empty"] and "94.80 %" in c["why_empty"]  # the closest configuration
    assert not cell(cells, "gmp", 0.95)["found"]


def test_band_edges_are_inclusive_and_the_band_is_configurable():
    assert BAND == 0.0025
    rows = [("str", "e", 0, 0.9025, 0.9, 0.5, 0.5, 1, 1, "{}", "e0")]
    assert cell(select_cells(runs_table(rows), [0.9]), "str", 0.9)["found"]
    rows = [("str", "e", 0, 0.90251, 0.9, 0.5, 0.5, 1, 1, "{}", "e0")]
    assert not cell(select_cells(runs_table(rows), [0.9]), "str", 0.9)["found"]
    assert cell(select_cells(runs_table(rows), [0.9], band=0.01), "str", 0.9)["found"]


def test_ties_in_validation_accuracy_are_broken_without_the_test_set():
    rows = [("lc", "z", 0, 0.9, 0.9, 0.8, 0.1, 1, 1, "{}", "z0"),
            ("lc", "y", 0, 0.9, 0.9, 0.8, 0.9, 1, 1, "{}", "y0"),
            ("lc", "x", 0, 0.9, 0.9, float("nan"), 0.99, 1, 1, "{}", "x0")]  # no validation accuracy: never wins
    assert cell(select_cells(runs_table(rows), [0.9]), "lc", 0.9)["config_id"] == "y"


def test_rows_by_schedule_and_empty_tables():
    rows = [("imp", "s1", 0, 0.9, 0.9, 0.8, 0.7, 1, 1, "{}", "s10"),
            ("imp", "s2", 0, 0.9, 0.9, 0.9, 0.6, 1, 1, "{}", "s20")]
    t = runs_table(rows).assign(schedule=["llr", "clr"])
    cells = select_cells(t, [0.9], by=("method", "schedule"))
    assert sorted(cells["schedule"]) == ["clr", "llr"] and cells["found"].all()
    assert select_cells(t.iloc[:0], [0.9]).empty
    with pytest.raises(ValueError, match="^" + re.escape(NO_CONFIG_ID) + "$"):
        select_cells(t.drop(columns="config_id"), [0.9])


def test_selection_on_the_smoke_study(smoke_results):
    from sparselib.results import collect_runs

    df = collect_runs(smoke_results)
    cells = select_cells(df, [0.9])
    gsm = cell(cells, "gsm", 0.9)
    assert gsm["found"] and gsm["n_candidates"] == 3  # the momentum grid: three configurations at 90 %
    assert set(gsm["run_ids"].split(",")) <= set(df["run_id"])
    assert cell(cells, "imp", 0.9)["found"]


def test_a_configuration_that_diverged_on_a_seed_is_never_selected():
    # GMP's g1 wins at 90 % on validation accuracy (0.86 against 0.84) ...
    assert cell(select_cells(runs_table(ROWS), [0.9]), "gmp", 0.9)["config_id"] == "g1"
    # ... unless one of its seeds diverged (that run has no row; n_diverged counts it): then g2 wins
    runs = runs_table(ROWS).assign(n_diverged=0)
    runs.loc[runs["config_id"] == "g1", "n_diverged"] = 1
    c = cell(select_cells(runs, [0.9]), "gmp", 0.9)
    assert c["config_id"] == "g2" and c["n_candidates"] == 1 and c["top1_mean"] == pytest.approx(0.91)
    # every configuration of a method diverged: its cells are empty and say so
    runs.loc[runs["method"] == "gmp", "n_diverged"] = 1
    c = cell(select_cells(runs, [0.9, 0.95]), "gmp", 0.95)
    assert not c["found"] and "diverged" in c["why_empty"]


def test_empty_cells_give_the_whole_reason_and_their_counts():
    cells = select_cells(runs_table(ROWS), [0.9, 0.95, 0.98])
    c = cell(cells, "cs", 0.98)
    assert c["why_empty"] == ("no configuration's mean sparsity lies within ±0.25 pp of 98 %: the closest of 3 "
                              "reached 94.80 %")
    assert c["n_candidates"] == 0 and c["found"] == False and c["n_seeds"] == 0  # noqa: E712
    assert cell(select_cells(runs_table(ROWS), [0.98], band=0.05), "cs", 0.98)["why_empty"] == ""  # 5 pp band
    assert cell(cells, "cs", 0.9)["why_empty"] == "" and cell(cells, "cs", 0.9)["found"] == True  # noqa: E712
    runs = runs_table(ROWS).assign(n_diverged=1)
    for goal in (0.9, 0.95):
        c = cell(select_cells(runs, [0.9, 0.95]), "cs", goal)
        assert c["why_empty"] == "every configuration diverged on at least one seed"
        assert c["n_candidates"] == 0 and c["n_seeds"] == 0 and c["found"] == False  # noqa: E712


def test_cells_follow_the_given_method_order_then_goal_and_have_the_cell_columns():
    from sparselib.selection import CELL_COLUMNS

    t = runs_table(ROWS)
    cells = select_cells(t, [0.95, 0.9], order=["cs", "gmp"])
    assert list(zip(cells["method"], cells["goal"])) == [("cs", 0.9), ("cs", 0.95), ("gmp", 0.9), ("gmp", 0.95)]
    assert list(cells.columns) == ["method", *CELL_COLUMNS]
    # a method missing from the order goes last; the dense baseline is left out unless it is not excluded
    cells = select_cells(t, [0.9], order=["gmp"], exclude=())
    assert list(cells["method"]) == ["gmp", "cs", "dense"]
    assert list(select_cells(t.iloc[:0], [0.9]).columns) == ["method", *CELL_COLUMNS]


def test_methods_the_order_does_not_name_follow_it_by_name_each_with_its_goals_together():
    # gmp's rows come first in the table, then cs's; neither is named: cs's cells, then gmp's, each by goal (before
    # the fix their rows were interleaved by goal: cs 90, gmp 90, cs 95, gmp 95)
    t = runs_table([r for r in ROWS if r[0] == "gmp"] + [r for r in ROWS if r[0] == "cs"])
    cells = select_cells(t, [0.95, 0.9], order=[])
    assert list(zip(cells["method"], cells["goal"])) == [("cs", 0.9), ("cs", 0.95), ("gmp", 0.9), ("gmp", 0.95)]
    # after the named ones, whatever their names
    cells = select_cells(t, [0.95, 0.9], order=["gmp"])
    assert list(zip(cells["method"], cells["goal"])) == [("gmp", 0.9), ("gmp", 0.95), ("cs", 0.9), ("cs", 0.95)]


def test_a_run_without_a_method_name_gets_rows_of_its_own_after_the_named_methods():
    # a hand-made table may lack a method name (NaN): its cells sort by the name's text, here after gmp
    rows = [r for r in ROWS if r[0] == "gmp"] + [(None, *r[1:]) for r in ROWS if r[0] == "cs"]
    cells = select_cells(runs_table(rows), [0.9], order=[])
    assert [m if isinstance(m, str) else "missing" for m in cells["method"]] == ["gmp", "missing"]


def test_config_groups_by_hand():
    from sparselib.selection import config_groups

    rows = [("cs", "b", 1, 0.9, 0.8, 0.7, 0.6, 4.0, 1.0, "{}", "b1"), ("cs", "b", 0, 0.8, 0.7, 0.5, 0.4, 2.0, 3.0, "{}", "b0"),
            ("cs", "a", 0, 0.5, 0.4, 0.3, 0.2, 1.0, 1.0, '{"p": 1}', "a0")]
    t = runs_table(rows).assign(n_diverged=[0, 2, 0], schedule=[None, None, None])
    g = config_groups(t, by=("method", "schedule"))
    assert list(g["config_id"]) == ["a", "b"]  # sorted; a missing schedule (None) is a group, not dropped
    b = g.iloc[1]
    assert b["run_ids"] == "b0,b1" and b["n_seeds"] == 2 and b["n_diverged"] == 2
    assert (b["sparsity_mean"], b["sparsity_total_mean"], b["val_top1_mean"], b["top1_mean"]) == \
        pytest.approx((0.85, 0.75, 0.6, 0.5))
    assert b["top1_std"] == pytest.approx(math.sqrt(0.02)) and b["speedup_mean"] == 3.0
    assert b["relative_time_mean"] == 2.0 and b["method_args"] == "{}"
    assert "n_diverged" not in config_groups(t.drop(columns="n_diverged"))


def test_config_groups_without_config_id_says_how_to_build_it():
    from sparselib.selection import config_groups

    with pytest.raises(ValueError, match="^" + re.escape(NO_CONFIG_ID) + "$"):
        config_groups(runs_table(ROWS).drop(columns="config_id"))


def test_rows_by_another_key_need_no_method_column():
    rows = [("imp", "s1", 0, 0.9, 0.9, 0.8, 0.7, 1, 1, "{}", "s10"),
            ("imp", "s2", 0, 0.9, 0.9, 0.9, 0.6, 1, 1, "{}", "s20")]
    t = runs_table(rows).drop(columns="method").assign(schedule=["llr", "clr"])
    from sparselib.selection import CELL_COLUMNS

    cells = select_cells(t, [0.9], by=("schedule",))
    assert list(cells.columns) == ["schedule", *CELL_COLUMNS]
    assert list(zip(cells["schedule"], cells["config_id"])) == [("clr", "s2"), ("llr", "s1")]
    assert cells["found"].all()


def test_an_empty_run_table_gives_no_cells_whatever_its_columns():
    from sparselib.selection import CELL_COLUMNS

    cells = select_cells(pd.DataFrame(columns=["method"]), [0.9])  # not even a config_id column: nothing to group
    assert cells.empty and list(cells.columns) == ["method", *CELL_COLUMNS]


def test_a_missing_value_of_a_row_key_is_a_row_of_its_own():
    rows = [("imp", "s1", 0, 0.9, 0.9, 0.8, 0.7, 1, 1, "{}", "s10"),
            ("imp", "s2", 0, 0.9, 0.9, 0.9, 0.6, 1, 1, "{}", "s20")]
    t = runs_table(rows).assign(schedule=[None, "clr"])
    cells = select_cells(t, [0.9], by=("method", "schedule"))
    assert list(cells["config_id"]) == ["s2", "s1"]  # the missing schedule sorts last
    assert cells["schedule"].isna().tolist() == [False, True] and cells["found"].all()


def test_rows_by_method_and_another_key_follow_that_key_then_goal():
    rows = [("imp", "s1", 0, 0.9, 0.9, 0.8, 0.7, 1, 1, "{}", "s10"),
            ("imp", "s2", 0, 0.95, 0.9, 0.9, 0.6, 1, 1, "{}", "s20")]
    t = runs_table(rows).assign(schedule=["llr", "clr"])
    cells = select_cells(t, [0.95, 0.9], by=("method", "schedule"))
    assert list(zip(cells["schedule"], cells["goal"], cells["found"])) == [
        ("clr", 0.9, False), ("clr", 0.95, True), ("llr", 0.9, True), ("llr", 0.95, False)]


def test_a_diverged_method_does_not_stop_the_methods_after_it():
    runs = runs_table(ROWS).assign(n_diverged=0)
    runs.loc[runs["method"] == "cs", "n_diverged"] = 1  # cs comes before gmp in the run table's sorted order
    cells = select_cells(runs, [0.9])
    assert list(zip(cells["method"], cells["found"])) == [("gmp", True), ("cs", False)]
    assert cell(cells, "gmp", 0.9)["config_id"] == "g1"
    assert cell(cells, "cs", 0.9)["why_empty"] == "every configuration diverged on at least one seed"


def test_a_mean_exactly_on_the_band_edge_is_inside():
    # the comparison allows 1e-12 for rounding; a mean exactly at goal 0 + (band + 1e-12) is still in the band
    edge = BAND + 1e-12
    rows = [("str", "e", 0, edge, 0.0, 0.5, 0.5, 1, 1, "{}", "e0")]
    assert cell(select_cells(runs_table(rows), [0.0]), "str", 0.0)["found"]
    rows = [("str", "e", 0, math.nextafter(edge, 1.0), 0.0, 0.5, 0.5, 1, 1, "{}", "e0")]
    assert not cell(select_cells(runs_table(rows), [0.0]), "str", 0.0)["found"]


def test_columns_no_cell_fills_hold_pd_na():
    cells = select_cells(runs_table(ROWS), [0.5])  # no configuration near 50 %: every cell is empty
    assert not cells["found"].any()
    for c in ["top1_mean", "top1_std", "val_top1_mean", "sparsity_mean", "sparsity_total_mean", "speedup_mean",
              "relative_time_mean", "config_id", "method_args", "run_ids"]:
        assert all(v is pd.NA for v in cells[c]), c
