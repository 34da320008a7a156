"""The committed study: every run of the book's presets is committed and finished, made by the configurations and
method versions of the current code (so a changed grid, default, hashing or method rule cannot silently orphan or
mislabel the book's runs) from a clean tree, with nothing stale beside it.  `make book` on a fresh clone then trains
nothing.  Each test names exactly which runs to make or remove."""
from pathlib import Path

import pytest

from sparselib import budget
from sparselib.presets import DEFAULT_STUDY, PRESETS, get_preset
from sparselib.results import collect_runs
from sparselib.selection import select_cells
from sparselib.sweep import audit

REPO = Path(__file__).resolve().parents[1]
AUDITS = {name: audit(get_preset(name).configs(), REPO / "results", name) for name in DEFAULT_STUDY}
STUDY = get_preset(DEFAULT_STUDY[0])


@pytest.mark.parametrize("name", DEFAULT_STUDY)
def test_every_run_of_the_study_is_committed_and_finished(name):
    assert not AUDITS[name].unfinished, AUDITS[name].describe(name)


@pytest.mark.parametrize("name", DEFAULT_STUDY)
def test_no_committed_run_is_stale_made_from_a_dirty_tree_or_disagrees_with_its_id(name):
    a = AUDITS[name]
    assert not a.stale and not a.mismatched and not a.dirty, a.describe(name)


def test_no_results_folder_is_left_from_a_study_the_book_does_not_show():
    others = sorted(f.name for f in (REPO / "results").iterdir() if f.is_dir() and f.name not in DEFAULT_STUDY)
    assert not others, f"results/ holds folders of no study the book shows: {', '.join(others)}; remove them"


@pytest.mark.parametrize("name", [n for n in DEFAULT_STUDY if PRESETS[n].sparsities])
def test_every_selected_cell_has_all_its_seeds(name):
    preset = get_preset(name)
    runs = collect_runs(REPO / "results" / name)
    cells = select_cells(runs, preset.sparsities)
    found = cells.loc[cells["found"] == True]  # noqa: E712
    assert len(found), "no cell of the study is filled"
    expected = found["method"].map(lambda m: len(preset.seeds_of(m)))
    assert (found["n_seeds"] == expected).all(), found.loc[found["n_seeds"] != expected]
    ids = set(runs["run_id"])
    for c in found.itertuples():
        assert set(c.run_ids.split(",")) <= ids


def test_the_budget_study_reruns_what_the_full_study_picked():
    from sparselib.presets import _FMNIST_PICKS, BUDGET_FIXED, BUDGET_STUDY

    if not set(BUDGET_STUDY) & set(DEFAULT_STUDY):
        pytest.skip("the budget study is not part of the book's study yet (its runs are being made)")

    got = budget.study_picks(collect_runs(REPO / "results" / STUDY.name), STUDY, BUDGET_FIXED)
    assert list(_FMNIST_PICKS) == got, (
        "the committed full study picks other configurations than _FMNIST_PICKS in sparselib/presets.py freezes; "
        "replace it with the output of `python tools/budget_picks.py` (and re-make the budget study's runs):\n"
        + budget.picks_literal(got))


def test_the_beyond_study_recalibrates_what_the_full_study_picked():
    from sparselib.presets import _RECAL_ONLY, _RECAL_PICKS

    got = budget.own_picks(collect_runs(REPO / "results" / STUDY.name), STUDY, _RECAL_ONLY)
    assert list(_RECAL_PICKS) == got, (
        "the committed full study picks other configurations than _RECAL_PICKS in sparselib/presets.py freezes; "
        "replace it with the output of `python tools/budget_picks.py --recal` (and re-make fmnist-beyond's "
        "recalibrated runs):\n" + budget.picks_literal(got))


def _budget_views():
    """The results page's budget study from the committed runs: ``{epochs: cells}`` (each budget's Table 1 of the
    methods the budget study re-runs) and the gap-to-dense table (sparselib.budget_table.budget_cells)."""
    from sparselib.budget_table import budget_cells, budget_studies
    from sparselib.config import BASELINE
    from sparselib.presets import BUDGET_STUDY

    studies, absent = budget_studies(REPO / "results" / STUDY.name, BUDGET_STUDY)
    assert not absent, f"budget presets without runs: {absent}"
    full = collect_runs(REPO / "results" / STUDY.name)
    shown = sorted({m for r in studies.values() for m in r["method"]} - {BASELINE})
    studies[STUDY.base.epochs] = full
    cells = {e: select_cells(r.loc[r["method"].isin(shown)], STUDY.sparsities) for e, r in studies.items()}
    return cells, budget_cells(studies, STUDY.sparsities, shown)


def test_the_budget_paragraph_in_plain_words_says_what_the_runs_say():
    """Each statement of the hand-written paragraph under the results page's budget table, checked on the runs."""
    import nbformat

    from sparselib.presets import BUDGET_FIXED
    from sparselib.verdict import gaps

    if not set(PRESETS) >= {"fmnist-e4", "fmnist-e8"} or STUDY.name != "fmnist":
        pytest.skip("the paragraph is about fmnist's budget study")
    nb = nbformat.read(REPO / "book" / "results.ipynb", as_version=4)
    text = " ".join(next(c.source for c in nb.cells if c.get("id") == "budget-in-plain-words").split())
    cells, table = _budget_views()
    budgets = sorted(cells)
    best = "cs"  # the paragraph's subject: the best method at the full budget (checked first)
    full = cells[budgets[-1]].loc[cells[budgets[-1]]["found"] == True]  # noqa: E712
    assert (full.loc[full.groupby("goal")["top1_mean"].idxmax(), "method"] == best).all(), \
        "CS is no longer the best method at every goal at the full budget: rewrite the paragraph"

    def gap(method, goal, epochs):
        r = table.loc[(table["method"] == method) & (table["goal"] == goal) & (table["epochs"] == epochs)]
        assert len(r) == 1 and bool(r["found"].iloc[0]), f"{method} has no cell at {goal}, {epochs} epochs"
        return float(r["gap_pp"].iloc[0])

    claims = {
        "restricted IMP, BIMP and GMP each lose more accuracy to dense training of the same budget the shorter the "
        "budget is, at every goal":
            all(gap(m, g, short) < gap(m, g, long) for m in BUDGET_FIXED for g in STUDY.sparsities
                for short, long in zip(budgets, budgets[1:])),
        "at 90 and 95 % it stays within 1.5 points of dense training at every budget":
            all(abs(gap(best, g, e)) <= 1.5 for g in (0.9, 0.95) for e in budgets),
        "CS's lead over restricted IMP is there at every budget and goal, beyond the seeds' spread":
            all(len(gaps(cells[e], best, "imp")) == len(STUDY.sparsities)
                and all(x.clear and x.pp > 0 for x in gaps(cells[e], best, "imp")) for e in budgets),
        "at 90 and 95 % it grows as the budget shrinks":
            all(gap(best, g, s) - gap("imp", g, s) > gap(best, g, lo) - gap("imp", g, lo)
                for g in (0.9, 0.95) for s, lo in zip(budgets, budgets[1:])),
        # gap() fails on a cell that landed in no band
        "land in every band they were picked at at every budget":
            all(gap(m, g, e) is not None for m, g in (("str", 0.95), ("str", 0.98), ("dst", 0.9)) for e in budgets),
        "DST is ahead of restricted IMP at 90 % and STR at 95 % at every budget":
            all(gap(m, g, e) > gap("imp", g, e) for m, g in (("dst", 0.9), ("str", 0.95)) for e in budgets),
        "at 98 % STR is behind it at 8 epochs and ahead at 4 and 12":
            budgets == [4, 8, 12] and gap("str", 0.98, 8) < gap("imp", 0.98, 8)
            and all(gap("str", 0.98, e) > gap("imp", 0.98, e) for e in (4, 12)),
    }
    for sentence, holds in claims.items():
        assert sentence in text, f"the paragraph no longer says {sentence!r}: update this test with it"
        assert holds, f"the results page's budget paragraph says {sentence!r}, which the committed runs contradict"


def test_the_beyond_paragraph_in_plain_words_says_what_the_runs_say():
    """Each statement of the hand-written paragraph on the beyond page, checked on the committed runs."""
    import re

    from sparselib.beyond import allocation_runs, allocation_table, layer_sparsity, method_rows, nearly_emptied, \
        recalibration_table
    from sparselib.methods import get_method, ordered_methods

    if "fmnist-beyond" not in DEFAULT_STUDY or STUDY.name != "fmnist":
        pytest.skip("the paragraph is about fmnist's beyond study")
    page = (REPO / "book" / "beyond.md").read_text()
    text = " ".join(page[page.index("**In plain words**"):page.index("## BatchNorm recalibration")].split())
    beyond_preset = PRESETS["fmnist-beyond"]
    base = collect_runs(REPO / "results" / STUDY.name)
    beyond = collect_runs(REPO / "results" / "fmnist-beyond")
    same = base.loc[base["seed"].isin(beyond_preset.seeds)]
    rec = recalibration_table(same, beyond, base)
    alloc = allocation_runs(same, beyond)
    at = allocation_table(alloc).set_index(["method", "goal", "allocation"])
    empty = nearly_emptied(layer_sparsity(alloc))
    against = [c.name for c in ordered_methods() if c.fits_budget and c.name in set(base["method"]) - {"dense"}]
    rigl = method_rows(base, beyond, "rigl", against, STUDY.sparsities).set_index(["method", "goal"])

    def gain(method, goal):
        r = rec.loc[(rec["method"] == method) & (rec["goal"] == goal)]
        assert len(r) == 1, f"{len(r)} recalibrated configurations of {method} at {goal}"
        return float(r["gain_pp"].iloc[0])

    def top1_rigl(goal):
        return float(rigl.loc[("rigl", goal), "top1_mean"])

    def top1(method, goal, allocation):
        return float(at.loc[(method, goal, allocation), "top1_mean"])

    imp = rec.loc[rec["method"] == "imp"]
    claims = {
        "Recalibration and allocation on one seed": tuple(beyond_preset.seeds) == (0,),
        "RigL on the main study's three seeds":
            len(STUDY.seeds) == 3 and all(rigl.loc[("rigl", g), "n_seeds"] == 3 for g in STUDY.sparsities),
        "no final accuracy of theirs moves by more than 0.1 points":
            rec.loc[rec["method"].isin(["imp", "gmp"]), "gain_pp"].abs().max() <= 0.1,
        "takes validation accuracy to chance at every goal":
            set(imp["goal"]) == set(STUDY.sparsities) and (imp["val_after_raw"] <= 10.5).all(),
        "recalibrating alone brings back less than half of what it lost": (imp["recovered"] < 0.5).all(),
        "GSM and LC, which the paper calls pruning-stable":
            all(get_method(m).pruning_stable for m in ("gsm", "lc")),
        "lifts GSM at 95 and 98 % and LC at 90 and 95 % by more than 20 points each":
            all(gain(m, g) > 20 for m, g in (("gsm", 0.95), ("gsm", 0.98), ("lc", 0.9), ("lc", 0.95))),
        "DNW, DPF, STR and DST never compute with the weights they drop, so there is nothing to recalibrate":
            rec.loc[rec["method"].isin(["dnw", "dpf", "str", "dst"]), "val_after_raw"].isna().all()
            and set(rec["method"]) >= {"dnw", "dpf", "str", "dst"},
        "uniform allocation is the least accurate for IMP and GMP at every goal and collapses at 98 %":
            all(top1(m, g, "uniform") == min(top1(m, g, a) for a in ("global", "uniform", "erk", "lamp"))
                for m in ("imp", "gmp") for g in STUDY.sparsities)
            and all(top1(m, 0.98, "uniform") < 50 for m in ("imp", "gmp")),
        "ERK and LAMP stay within a point of global allocation at 90 and 95 %":
            all(abs(top1(m, g, a) - top1(m, g, "global")) <= 1.0 for m in ("imp", "gmp") for g in (0.9, 0.95)
                for a in ("erk", "lamp")),
        "ERK gives a higher theoretical speedup than global at every goal":
            all(at.loc[(m, g, "erk"), "speedup_mean"] > at.loc[(m, g, "global"), "speedup_mean"]
                for m in ("imp", "gmp") for g in STUDY.sparsities),
        "At 98 % global allocation prunes several of the last stage's convolutions above 99 %":
            len(empty) > 1 and (empty["goal"] == 0.98).all()
            and all(re.match(r"layer3\.", n) for n in empty["layer"]),
        "is ahead of IMP, BIMP, DPF, GSM, LC and DNW at every goal and of GMP at 95 and 98 %":
            all(rigl.loc[("rigl", g), "found"] for g in STUDY.sparsities)
            and all(not rigl.loc[(m, g), "found"] or top1_rigl(g) > rigl.loc[(m, g), "top1_mean"]
                    for m in ("imp", "bimp", "dpf", "gsm", "lc", "dnw") for g in STUDY.sparsities)
            and all(top1_rigl(g) > rigl.loc[("gmp", g), "top1_mean"] for g in (0.95, 0.98)),
        "at 90 % it is level with GMP (the means a few hundredths of a point apart, well within their seeds' spread)":
            abs(top1_rigl(0.9) - rigl.loc[("gmp", 0.9), "top1_mean"]) < 0.001
            and abs(top1_rigl(0.9) - rigl.loc[("gmp", 0.9), "top1_mean"])
            < min(rigl.loc[("rigl", 0.9), "top1_std"], rigl.loc[("gmp", 0.9), "top1_std"]) / 2,
        "It is behind CS at every goal, and behind STR and DST wherever they land":
            all(top1_rigl(g) < rigl.loc[("cs", g), "top1_mean"] for g in STUDY.sparsities)
            and all(not rigl.loc[(m, g), "found"] or top1_rigl(g) < rigl.loc[(m, g), "top1_mean"]
                    for m in ("str", "dst") for g in STUDY.sparsities),
    }
    for sentence, holds in claims.items():
        assert sentence in text, f"the paragraph no longer says {sentence!r}: update this test with it"
        assert holds, f"the beyond page's paragraph says {sentence!r}, which the committed runs contradict"
