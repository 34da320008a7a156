"""The committed `mini` results: complete for the preset, and made by configurations the current code still hashes
to the same run ids — so a change to a preset, a default or the hashing that would silently orphan (or mislabel) the
book's runs fails here.  `make book` on a fresh clone then finds every run and trains nothing."""
import json
from pathlib import Path

import pytest

from sparselib.config import RunConfig, Runtime
from sparselib.presets import get_preset
from sparselib.results import collect_runs
from sparselib.selection import select_cells
from sparselib.sweep import plan

REPO = Path(__file__).resolve().parents[1]
MINI = get_preset("mini")
FOLDER = REPO / "results" / "mini"


def committed_folders():
    return sorted(p for p in FOLDER.iterdir() if p.is_dir()) if FOLDER.is_dir() else []


def test_every_run_of_the_mini_study_is_committed_and_finished():
    p = plan(MINI.configs(), Runtime(results=str(REPO / "results")))
    missing = [f"{r.cfg.run_id} ({r.cfg.method}, {r.cfg.method_args}, sparsity {r.cfg.goal_sparsity}, seed "
               f"{r.cfg.seed}): {r.status}" for r in p.runs if r.status != "finished"]
    assert not missing, f"{len(missing)} runs of the mini study are not committed as finished:\n" + "\n".join(missing)


@pytest.mark.parametrize("folder", committed_folders(), ids=lambda p: p.name)
def test_committed_run_ids_match_the_current_code(folder):
    stored = json.loads((folder / "config.json").read_text())
    rid = stored.pop("run_id")
    cfg = RunConfig.from_dict(stored)  # still a valid configuration
    assert cfg.run_id == rid == folder.name, "the config hashes to another run id under the current code"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["run_id"] == rid
    for name in ("provenance.json", "history.csv", "lr.json", "mask_stats.json"):
        assert (folder / name).is_file(), name


def test_no_committed_run_is_outside_the_study():
    p = plan(MINI.configs(), Runtime(results=str(REPO / "results")))
    wanted = {r.cfg.run_id for r in p.runs}
    stale = [f.name for f in committed_folders() if f.name not in wanted]
    assert not stale, f"run folders that the mini preset no longer makes (stale; remove or re-add): {stale}"


def test_every_selected_cell_has_all_its_seeds():
    runs = collect_runs(FOLDER)
    cells = select_cells(runs, MINI.sparsities)
    found = cells.loc[cells["found"] == True]  # noqa: E712
    assert len(found), "no cell of the mini study is filled"
    assert (found["n_seeds"] == len(MINI.seeds)).all(), found.loc[found["n_seeds"] != len(MINI.seeds)]
    ids = set(runs["run_id"])
    for c in found.itertuples():
        assert set(c.run_ids.split(",")) <= ids
