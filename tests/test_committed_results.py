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
    assert (found["n_seeds"] == len(preset.seeds)).all(), found.loc[found["n_seeds"] != len(preset.seeds)]
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
