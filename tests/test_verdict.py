"""The results page's generated statements (sparselib.verdict), on a hand-made table of cells."""
import math

import pandas as pd

from sparselib import verdict


def _cells(rows):
    return pd.DataFrame([dict(method=m, goal=g, found=f, top1_mean=t, top1_std=s) for m, g, f, t, s in rows])


CELLS = _cells([
    ("imp", 0.9, True, 0.870, 0.004), ("imp", 0.95, True, 0.850, 0.006), ("imp", 0.98, True, 0.780, 0.010),
    # GMP: 1.0 pp behind at 90 % (spread 0.4 + 0.3 = 0.7: clear), 0.5 behind at 95 % (spread 1.1: level), 2.0 ahead
    ("gmp", 0.9, True, 0.860, 0.003), ("gmp", 0.95, True, 0.845, 0.005), ("gmp", 0.98, True, 0.800, 0.005),
    ("cs", 0.9, False, None, None), ("cs", 0.95, True, 0.870, 0.002), ("cs", 0.98, True, 0.700, None),
    ("dpf", 0.9, True, 0.105, 0.0), ("dpf", 0.95, True, 0.16, 0.01), ("dpf", 0.98, True, 0.10, 0.0),
])


def test_a_gap_is_clear_only_beyond_the_sum_of_the_two_standard_deviations():
    g = {x.goal: x for x in verdict.gaps(CELLS, "imp", "gmp")}
    assert round(g[0.9].pp, 6) == 1.0 and round(g[0.9].spread_pp, 6) == 0.7 and g[0.9].clear
    assert round(g[0.95].pp, 6) == 0.5 and not g[0.95].clear
    assert round(g[0.98].pp, 6) == -2.0 and g[0.98].clear
    # a missing std (one seed): no spread, so never a clear difference; a goal without both cells is left out
    c = verdict.gaps(CELLS, "imp", "cs")
    assert [x.goal for x in c] == [0.95, 0.98] and math.isnan(c[1].spread_pp) and not c[1].clear
    assert round(c[1].pp, 6) == 8.0


def test_versus_says_where_a_method_is_ahead_level_and_behind():
    (line,) = verdict.versus(CELLS, "imp", ["gmp"], label=str.upper)
    assert line == ("- against **GMP**: IMP is ahead of it at 90 % (+1.00 pp); level with it at 95 % (+0.50 pp, "
                    "within the seeds' spread); behind it at 98 % (-2.00 pp).")
    assert verdict.versus(CELLS, "imp", ["nope"]) == []


def test_the_claim_holds_where_no_rival_is_clearly_ahead():
    text = verdict.claim(CELLS, "imp", ["gmp", "cs", "dpf"])
    # 90 %: best rival GMP, IMP ahead; 95 %: CS +2.0 pp, spread 0.8: clearly behind; 98 %: GMP clearly ahead
    assert text == ("imp matches or beats every one of them at 90 % (the best of them, gmp, is 1.00 pp below it); "
                    "imp is clearly behind at 95 % (the best of them, cs, is 2.00 pp above it), "
                    "98 % (the best of them, gmp, is 2.00 pp above it).")
    # level within the spread: the claim holds, and says so
    assert verdict.claim(CELLS.loc[CELLS["goal"] == 0.95], "imp", ["gmp"]) == (
        "imp matches or beats every one of them at 95 % (the best of them, gmp, is 0.50 pp below it, within the "
        "seeds' spread).")
    assert "no comparison" in verdict.claim(CELLS, "bimp", ["gmp"])


def test_changes_between_two_tables_per_goal():
    before = _cells([("imp", 0.9, True, 0.860, 0.01), ("imp", 0.95, False, None, None),
                     ("cs", 0.9, False, None, None), ("cs", 0.95, True, 0.86, 0.01), ("cs", 0.98, True, 0.85, 0.0)])
    before["sparsity_mean"] = after_sp = 0.9
    after = CELLS.assign(sparsity_mean=after_sp)
    lines = verdict.changes(before, after, ["imp", "cs"])
    assert lines[0] == "- **imp**: 90 %: +1.00 pp; 95 %: now lands in the band; 98 %: now lands in the band."
    assert lines[1] == "- **cs**: 90 %: misses the band in both; 95 %: +1.00 pp; 98 %: -15.00 pp."


def test_collapsed_cells_are_those_within_five_points_of_chance():
    assert verdict.collapsed(CELLS, 0.1) == "Near chance level (within 5 pp of 10 %): dpf at 90 %, 98 %."
    assert verdict.collapsed(CELLS.loc[CELLS["method"] != "dpf"], 0.1) == "No method's cell is near chance level."
