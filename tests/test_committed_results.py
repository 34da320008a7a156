"""The committed study: every run of the book's preset is committed and finished, made by the configurations and
method versions of the current code (so a changed grid, default, hashing or method rule cannot silently orphan or
mislabel the book's runs), with nothing stale beside it.  `make book` on a fresh clone then trains nothing.  Each
test names exactly which runs to make or remove."""
from pathlib import Path

from sparselib.presets import get_preset
from sparselib.results import collect_runs
from sparselib.selection import select_cells
from sparselib.sweep import audit

REPO = Path(__file__).resolve().parents[1]
PRESET = get_preset("mini")
AUDIT = audit(PRESET.configs(), REPO / "results", PRESET.name)


def test_every_run_of_the_study_is_committed_and_finished():
    assert not AUDIT.unfinished, AUDIT.describe(PRESET.name)


def test_no_committed_run_is_stale_or_disagrees_with_its_id():
    assert not AUDIT.stale and not AUDIT.mismatched, AUDIT.describe(PRESET.name)


def test_every_selected_cell_has_all_its_seeds():
    runs = collect_runs(REPO / "results" / PRESET.name)
    cells = select_cells(runs, PRESET.sparsities)
    found = cells.loc[cells["found"] == True]  # noqa: E712
    assert len(found), "no cell of the study is filled"
    assert (found["n_seeds"] == len(PRESET.seeds)).all(), found.loc[found["n_seeds"] != len(PRESET.seeds)]
    ids = set(runs["run_id"])
    for c in found.itertuples():
        assert set(c.run_ids.split(",")) <= ids
