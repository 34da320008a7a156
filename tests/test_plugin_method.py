"""A new method is one file: a toy method written into a temporary package (nothing else changes) is registered,
gets its smoke runs, runs, is swept, lands in the run table, the selection, the study table and the accuracy figure,
with its own label, colour and marker."""
import json
import sys
import textwrap

import pytest

from sparselib.config import Runtime
from sparselib.methods import registry
from sparselib.presets import get_preset
from sparselib.results import collect_runs
from sparselib.selection import select_cells
from sparselib.sweep import sweep

TOY = '''
"""A toy method: one-shot magnitude pruning at the start of epoch ``at_epoch``, then masked training."""
from dataclasses import dataclass

from sparselib.masks import prune_magnitude
from sparselib.methods import Method, register


@dataclass(frozen=True)
class ToyHparams:
    at_epoch: int = 1


@register
class Toy(Method):
    name = "toy"
    Hparams = ToyHparams
    label = "Toy·1"
    color = "#123456"
    marker = "star-square"
    order = 500
    family = "pruning-stable"
    smoke = ({"at_epoch": 1},)
    reference = "this test"

    def on_epoch_start(self, state):
        if state.epoch == self.hp.at_epoch:
            prune_magnitude(state.masks, self.cfg.goal_sparsity, state.optimizer)
'''


@pytest.fixture
def toy_method(tmp_path, monkeypatch):
    """Register the toy module through $SPARSELIB_METHODS (read in this process and in sweep workers)."""
    package = tmp_path / "toy_plugins"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "toy_method.py").write_text(textwrap.dedent(TOY))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv(registry.PLUGINS_ENV, "toy_plugins.toy_method")
    before = dict(registry.METHODS)
    yield "toy"
    registry.METHODS.clear()
    registry.METHODS.update(before)
    for name in [m for m in sys.modules if m.startswith("toy_plugins")]:
        del sys.modules[name]


def test_a_method_in_one_new_file_goes_all_the_way(toy_method, tmp_path):
    from sparselib.plots import accuracy_vs_sparsity
    from sparselib.tables import study_table

    smoke = get_preset("smoke")
    configs = [c for c in smoke.configs() if c.method in ("dense", toy_method)]
    assert [c.method for c in configs] == ["dense", "toy"] and configs[1].method_args == {"at_epoch": 1}
    report = sweep(configs, Runtime(results=str(tmp_path / "results"), progress=False, device="cpu"), workers=1,
                   progress=False)
    assert report.ok and {o["method"] for o in report.outcomes} == {"dense", "toy"}

    runs = collect_runs(tmp_path / "results" / "smoke")
    toy = runs.loc[runs["method"] == "toy"].iloc[0]
    assert toy["sparsity_prunable"] == pytest.approx(0.9, abs=1e-3) and toy["relative_time"] > 0
    cells = select_cells(runs, [0.9])
    assert cells["method"].tolist() == ["toy"] and bool(cells["found"].iloc[0])
    assert "Toy·1" in study_table(cells, [0.9], runs.loc[runs["method"] == "dense"])
    fig = json.loads(accuracy_vs_sparsity(runs).to_json())
    toy_traces = [t for t in fig["data"] if "Toy·1" in str(t.get("name", "")) or "Toy·1" in str(t.get("legendgroup", ""))]
    assert toy_traces and any(t.get("marker", {}).get("color") == "#123456" for t in toy_traces)
    assert any(t.get("marker", {}).get("symbol") == "star-square" for t in toy_traces)
