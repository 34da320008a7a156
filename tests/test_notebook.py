"""The notebooks: the papermill one runs a run through the library (it holds no training logic of its own); the
widgets one executes headless and its callbacks re-plot what the filters keep."""
import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

from sparselib.presets import get_preset

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "train.ipynb"


def kernel_path() -> str:
    """PYTHONPATH for a notebook's kernel that imports this checkout's sparselib (the venv may hold another)."""
    return os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)


@pytest.fixture(scope="module")
def papermill_run(tmp_path_factory):
    """train.ipynb executed by papermill (a smoke GMP run, with the live progress bar on, as in JupyterLab):
    ``(the executed notebook, its results root, the run's config)``."""
    tmp = tmp_path_factory.mktemp("papermill")
    out = tmp / "out.ipynb"
    with pytest.MonkeyPatch.context() as mp:  # the kernel imports this checkout's sparselib
        mp.setenv("PYTHONPATH", kernel_path())
        papermill.execute_notebook(str(NOTEBOOK), str(out), kernel_name="python3", progress_bar=False,
                                   parameters={"method": "gmp", "sparsity": 0.95, "preset": "smoke",
                                               "results": str(tmp / "results")})
    return nbformat.read(out, as_version=4), tmp / "results", get_preset("smoke").config("gmp", 0.95)


def test_papermill_train_notebook_makes_the_run(papermill_run):
    nb, results, cfg = papermill_run
    metrics = json.loads((results / "smoke" / cfg.run_id / "metrics.json").read_text())
    assert abs(metrics["sparsity_prunable"] - 0.95) < 1e-3
    assert cfg.run_id in json.dumps(nb)
    code = "".join("".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code")
    assert "backward" not in code and "optimizer" not in code  # the library trains, not the notebook


# ---------------------------------------------------------------------------------------------
# committed notebooks stay clean (tools/strip_notebooks.py; the README's "Notebooks in git")

COMMITTED = sorted((REPO / "notebooks").glob("*.ipynb"))


def _strip_tool():
    sys.path.insert(0, str(REPO / "tools"))
    try:
        return importlib.import_module("strip_notebooks")
    finally:
        sys.path.remove(str(REPO / "tools"))


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_committed_notebooks_are_clean(path):
    """No outputs, no execution counts, no widget state (explore.ipynb's held this machine's paths), no kernel
    details: exactly what tools/strip_notebooks.py (the git filter) leaves of the file."""
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert "widgets" not in nb["metadata"] and set(nb["metadata"]) == {"kernelspec", "language_info"}
    assert nb["metadata"]["language_info"] == {"name": "python"}
    assert all(set(c["metadata"]) <= {"tags"} for c in nb["cells"])
    assert _strip_tool().stripped(text) == text, f"run `python3 tools/strip_notebooks.py` ({path.name})"


def test_strip_tool_cleans_what_running_a_notebook_writes(tmp_path):
    """What JupyterLab or papermill write into a notebook goes (outputs, counts, widget state, kernel details, cell
    metadata but its tags); --check reports a dirty notebook with exit status 1, --filter works on stdin/stdout (as
    git runs it), and a stripped notebook stays as it is."""
    tool = _strip_tool()
    committed = COMMITTED[0].read_text(encoding="utf-8")
    nb = json.loads(committed)
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code.update(execution_count=3, outputs=[{"output_type": "stream", "name": "stdout", "text": "x\n"}])
    code["metadata"] = {"tags": ["parameters"], "execution": {"iopub.status.busy": "2026"}, "scrolled": True}
    nb["metadata"].update(widgets={"application/vnd.jupyter.widget-state+json": {"state": {"/home/me": 1}}},
                          papermill={"duration": 1.0},
                          language_info={"name": "python", "version": "3.11.7", "pygments_lexer": "ipython3"})
    dirty = tmp_path / "dirty.ipynb"
    dirty.write_text(json.dumps(nb), encoding="utf-8")
    tool_cmd = [sys.executable, str(REPO / "tools" / "strip_notebooks.py")]
    check = subprocess.run([*tool_cmd, "--check", str(dirty)], capture_output=True, text=True)
    assert check.returncode == 1 and "not clean" in check.stdout
    clean = json.loads(tool.stripped(dirty.read_text(encoding="utf-8")))
    cell = next(c for c in clean["cells"] if c["id"] == code["id"])
    assert cell["outputs"] == [] and cell["execution_count"] is None and cell["metadata"] == {"tags": ["parameters"]}
    assert clean["metadata"] == json.loads(committed)["metadata"]
    filtered = subprocess.run([*tool_cmd, "--filter"], input=json.dumps(nb), capture_output=True, text=True,
                              check=True).stdout
    assert filtered == tool.dumps(clean)
    subprocess.run([*tool_cmd, str(dirty)], check=True)  # in place
    assert tool.stripped(dirty.read_text(encoding="utf-8")) == dirty.read_text(encoding="utf-8")
    assert subprocess.run([*tool_cmd, "--check", str(dirty)]).returncode == 0


def _outputs(nb) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def test_papermill_output_is_readable(papermill_run):
    """What papermill records (and prints with --log-output): the progress bar is tqdm's notebook widget (live in
    JupyterLab; one display here, not one output per step), one line per epoch, and no stderr."""
    nb, _, cfg = papermill_run
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    widgets = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widgets) == 1 and cfg.run_id in widgets[0]["data"]["text/plain"]  # the bar, shown once
    assert "widgets" in nb.metadata  # its final state is saved with the notebook
    streams = [o for o in outputs if o.output_type == "stream"]
    assert not [o for o in streams if o.name == "stderr"], [o.text for o in streams if o.name == "stderr"]
    text = "".join(o.text for o in streams)
    epochs = get_preset("smoke").base.epochs
    assert re.findall(r"^epoch (\d+)/(\d+): loss", text, re.M) == [(str(e), str(epochs)) for e in range(1, epochs + 1)]
    assert len(text.splitlines()) < 40, text  # the method list, a start line, the epochs, an end line, the folder


def test_papermill_notebook_shows_the_run(papermill_run):
    """The notebook ends with the run's report: key numbers in %, in a fixed order; the training figure (accuracy,
    learning rate, sparsity per epoch) and the per-layer figure, each for JupyterLab and for a static page."""
    nb, results, cfg = papermill_run
    outputs = _outputs(nb)
    summary = [o["data"] for o in outputs if "sparselib-run-summary" in o.get("data", {}).get("text/html", "")]
    assert len(summary) == 1
    text = summary[0]["text/plain"]
    metrics = json.loads((results / "smoke" / cfg.run_id / "metrics.json").read_text())
    assert f"{100 * metrics['top1']:.2f} %" in text and f"{100 * metrics['sparsity_prunable']:.2f} % (goal 95 %)" in text
    assert [line.split("  ")[0] for line in text.splitlines()][:4] == [
        "run", "top-1 accuracy (test set)", "validation accuracy", "sparsity reached (prunable weights)"]
    figures = [o["data"] for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert [f["application/vnd.plotly.v1+json"]["layout"]["meta"]["kind"] for f in figures] == ["training", "layers"]
    assert all('class="plotly-graph-div"' in f["text/html"] for f in figures)  # what the static book shows
    training = {t["name"] for t in figures[0]["application/vnd.plotly.v1+json"]["data"]}
    assert {"validation", "test", "learning rate", "sparsity"} <= training
    layers = figures[1]["application/vnd.plotly.v1+json"]["data"][0]
    assert len(layers["y"]) == len(json.loads((results / "smoke" / cfg.run_id / "mask_stats.json").read_text()))


def test_train_notebook_run_all_shows_a_committed_run(monkeypatch):
    """Opened and run as it is (Run All, no papermill): the defaults show the committed `fmnist` dense run at once
    (nothing is trained or written), and the methods are listed from the registry."""
    import nbclient

    from sparselib.methods import ordered_methods
    from sparselib.results import REPO as RESULTS_REPO

    cfg = get_preset("fmnist").config()
    folder = RESULTS_REPO / "results" / "fmnist" / cfg.run_id
    if not (folder / "metrics.json").exists():
        pytest.skip(f"the committed fmnist dense run {cfg.run_id} is not in this checkout")
    before = sorted(p.name for p in folder.iterdir())
    monkeypatch.setenv("PYTHONPATH", kernel_path())
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")  # committed without outputs
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = _outputs(nb)
    assert not [o for o in outputs if o.output_type == "error"]
    listing = "".join(o.text for o in outputs if o.output_type == "stream")
    for cls in ordered_methods():
        assert re.search(rf"^{re.escape(cls.name)} +{re.escape(cls.label)} ", listing, re.M), cls.name
    assert "already finished" in listing
    assert sum("application/vnd.plotly.v1+json" in o.get("data", {}) for o in outputs) == 2
    assert sorted(p.name for p in folder.iterdir()) == before


# ---------------------------------------------------------------------------------------------
# notebooks/explore.ipynb: widgets over the run table, executed headless in a real kernel

EXPLORE = NOTEBOOK.with_name("explore.ipynb")

# Run in the notebook's kernel after the notebook: sets widgets the way a user would, and reports after each step
# what the widgets show (out.outputs: what the kernel sent to the frontend) and the state behind it.
PROBE = '''
import json as _json
import shutil as _shutil
import tempfile as _tempfile
from pathlib import Path as _Path

def _probe():
    figs = [o["data"]["application/vnd.plotly.v1+json"] for o in out.outputs
            if "application/vnd.plotly.v1+json" in o.get("data", {})]
    traces = figs[0]["data"] if figs else []
    tables = [o["data"]["text/html"] for o in out.outputs
              if "sparselib-table" in o.get("data", {}).get("text/html", "")]
    note = 'class="sparselib-note"'
    return {"figures": len(figs), "traces": len(traces),
            "legend": [t["name"] for t in traces if t.get("showlegend")],
            "methods": sorted({t["meta"]["method"] for t in traces}),
            "runs": sorted([c[0] for t in traces if t["meta"]["kind"] == "seeds" for c in t["customdata"]]
                           + [r for t in traces if t["meta"]["kind"] == "reference" for r in t["meta"]["run_ids"]]),
            "menus": [m.get("name") for f in figs for m in f["layout"].get("updatemenus", [])],
            "title": figs[0]["layout"]["title"]["text"] if figs else None,
            "hover": [h for t in traces for h in t.get("hovertext", [])],
            "tables": len(tables), "notes": [t[t.index(note):] for t in tables if note in t],
            "cells": state["cells"][["method", "goal"]].values.tolist() if len(state["cells"]) else [],
            "shown": sorted(state["shown"]["run_id"]), "status": status.value,
            "slider": [sparsity.min, sparsity.max, *sparsity.value], "folder": folder.value,
            "path_message": path_message.value,
            "messages": [o["text"] for o in out.outputs if o["output_type"] == "stream"]}

_steps = {"start": _probe()}
methods.value = ("dense", "imp", "gmp")
_steps["methods"] = _probe()
sparsity.value = (94.0, sparsity.max)  # actual sparsity, in %
_steps["sparsity"] = _probe()
sparsity.value = (sparsity.min, sparsity.max)
goals.value = (0.9,)
_steps["goal"] = _probe()
seeds.value = (0,)
_steps["seed"] = _probe()
xaxis.value = "speedup"
_steps["x"] = dict(_probe(), xtitle=state["fig"].layout.xaxis.title.text)
no_methods.click()
_steps["none"] = _probe()
all_methods.click()
_steps["all"] = _probe()
goals.value = (0.0,)  # only the implicit methods' runs (no goal sparsity): no table, and a line that says why
_steps["implicit"] = _probe()
_mini = folder.value
folder.value = _other = next(v for _, v in folder.options if str(v).endswith("fmnist-2x"))  # another folder
_steps["other"] = _probe()
folder.value = _mini  # reading a folder again resets every filter
_steps["reload"] = _probe()
_tmp = _Path(_tempfile.mkdtemp())
path.value = str(_tmp / "no-such-folder")  # the path field: a folder that does not exist ...
_steps["missing"] = _probe()
(_tmp / "empty").mkdir()
path.value = str(_tmp / "empty")  # ... one without finished runs ...
_steps["empty"] = _probe()
_shutil.copytree(_other, _tmp / "mine", ignore=_shutil.ignore_patterns("*.pt"))
path.value = str(_tmp / "mine")  # ... and a user's own runs, outside the repository
_steps["mine"] = _probe()
print(_json.dumps({"steps": _steps, "other": _other, "mine": str((_tmp / "mine").resolve()), "out_id": out.model_id}))
'''


def test_explore_notebook_runs_headless_and_its_widgets_refilter(monkeypatch):
    """explore.ipynb executes headless (nbclient, the venv's python3 kernel) against the committed
    results/fmnist; then, in the same kernel, setting its widgets the way a user would re-plots the figure and the
    table with exactly the runs the filters keep, and the new outputs reach the (mimicked) frontend."""
    import nbformat
    from nbclient import NotebookClient

    from sparselib.results import REPO, collect_runs

    monkeypatch.delenv("SPARSELIB_RESULTS", raising=False)  # the notebook opens results/fmnist
    monkeypatch.setenv("PYTHONPATH", kernel_path())
    runs = collect_runs(REPO / "results" / "fmnist")
    assert len(runs) > 100 and runs["seed"].nunique() == 3
    from sparselib.config import BASELINE
    from sparselib.methods import ordered_methods
    from sparselib.plots import method_label
    from sparselib.selection import select_cells

    dense_legend = [f"Dense ({e} epochs)" for e in sorted(runs.loc[runs["method"] == BASELINE, "epochs"].unique(),
                                                           reverse=True)]
    legend = dense_legend + [c.label for c in ordered_methods() if c.name in set(runs["method"]) - {BASELINE}]
    goals = sorted(g for g in runs["goal_sparsity"].unique() if g > 0)
    empty = select_cells(runs, goals).query("found != True")

    nb = nbformat.read(EXPLORE, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")  # committed without outputs
    client = NotebookClient(nb, timeout=30, kernel_name="python3",
                            resources={"metadata": {"path": str(EXPLORE.parent)}})
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            client.execute_cell(cell, i)
        # What this guards against: output printed into an Output widget (`with out:`, `out.capture`, `out.append_*`)
        # while a cell runs makes nbclient (which mimics the widget) send its state back to the kernel on the shell
        # channel and then miss the cell's execute reply until its timeout: without a timeout, headless execution
        # (papermill, the book) never ends.  The notebook must set `out.outputs` instead.
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert not re.search(r"with\s+out\b|out\.capture|out\.append_", code), "print into the Output widget"
        probe = nbformat.v4.new_code_cell(PROBE)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"], [o for o in outputs if o.output_type == "error"]
    assert "https://cdn" not in json.dumps(outputs)  # nothing from a CDN
    report = json.loads("".join(o.text for o in probe.outputs if o.output_type == "stream"))
    steps = report["steps"]

    def expect(methods=None, goals=None, seeds=None, lowest=None):
        keep = runs["method"].isin(methods) if methods else runs["method"].notna()
        if goals:
            keep &= (runs["method"] == "dense") | runs["goal_sparsity"].isin(goals)
        if lowest:
            keep &= (runs["method"] == "dense") | (runs["sparsity_prunable"] >= lowest)
        if seeds:
            keep &= runs["seed"].isin(seeds)
        return sorted(runs.loc[keep, "run_id"])

    start = steps["start"]  # everything: one figure (every run a point), and the table of all methods
    assert start["figures"] == 1 and start["tables"] == 1
    assert start["shown"] == start["runs"] == expect()
    # dense is a reference line per configuration (the full run, and the shorter ones restricted IMP starts from)
    assert start["legend"] == legend and len(dense_legend) >= 2
    assert start["menus"] == [] and start["title"] == "Top-1 accuracy vs actual sparsity — fmnist"  # one x control
    assert start["status"] == f"{len(runs)} of {len(runs)} runs shown"
    assert {m for m, _ in start["cells"]} == set(runs["method"]) - {"dense"}
    # a "—" cell while its method's runs are in the figure: the note under the table says why, cell by cell
    assert len(empty), "the study has no empty cell: this step needs another example"
    (note,) = start["notes"]
    for method, n in empty["method"].value_counts().items():
        assert note.count(f"<b>{method_label(method)}</b>: no configuration") == n, method
    assert "±0.25 pp" in note
    assert any("implicit (no goal)" in h and "CS" in h for h in start["hover"])
    assert not any("goal sparsity 0 %" in h for h in start["hover"])
    # the slider spans the pruned runs' actual sparsities (whole percents), not 0-100 %
    pruned = runs.loc[runs["method"] != "dense", "sparsity_prunable"] * 100
    lo, hi, value_lo, value_hi = start["slider"]
    assert lo <= pruned.min() < lo + 1 and hi - 1 < pruned.max() <= hi and (value_lo, value_hi) == (lo, hi)

    three = steps["methods"]  # fewer methods: fewer traces, only theirs, and only their rows in the table
    assert three["runs"] == expect(["dense", "imp", "gmp"])
    assert three["methods"] == ["dense", "gmp", "imp"] and three["legend"] == dense_legend + ["IMP", "GMP"]
    assert 0 < three["traces"] < start["traces"]
    assert sorted({m for m, _ in three["cells"]}) == ["gmp", "imp"] and len(three["cells"]) < len(start["cells"])
    assert three["notes"] == []  # every cell filled: no note

    dense_95_98 = steps["sparsity"]  # a range of actual sparsity: the runs at 95 and 98 % and the dense ones
    assert dense_95_98["runs"] == expect(["dense", "imp", "gmp"], lowest=0.94)
    assert sorted({g for _, g in dense_95_98["cells"]}) == [0.95, 0.98]

    goal = steps["goal"]  # one goal sparsity: the table has one column, the figure that goal's runs (and dense)
    assert goal["runs"] == expect(["dense", "imp", "gmp"], [0.9])
    assert sorted(goal["cells"]) == [["gmp", 0.9], ["imp", 0.9]]

    seed = steps["seed"]
    assert seed["runs"] == expect(["dense", "imp", "gmp"], [0.9], [0]) and len(seed["runs"]) < len(goal["runs"])
    assert seed["status"] == f"{len(seed['runs'])} of {len(runs)} runs shown"

    x = steps["x"]  # same runs, other x axis: the axis and the title say so
    assert x["runs"] == seed["runs"] and "speedup" in x["xtitle"].lower()
    assert x["title"] == "Top-1 accuracy vs theoretical speedup — fmnist"

    assert steps["none"]["figures"] == 0 and steps["none"]["messages"] == ["nothing matches the filters\n"]
    assert steps["all"]["runs"] == expect(None, [0.9], [0])  # "all": every method again (the other filters stay)

    implicit = steps["implicit"]  # only runs without a goal: the figure, no table, one line instead
    assert implicit["figures"] == 1 and implicit["tables"] == 0 and implicit["cells"] == []
    (line,) = implicit["messages"]
    assert line.startswith("No table:") and "CS, STR, DST" in line and "90 %, 95 %, 98 %" in line

    other = collect_runs(report["other"])  # results/fmnist-2x: dense runs only
    assert steps["other"]["runs"] == sorted(other["run_id"]) and steps["other"]["status"].startswith(f"{len(other)} ")
    assert steps["other"]["tables"] == 0 and steps["other"]["messages"][0].startswith("No table: no pruned run")
    assert steps["reload"]["runs"] == expect() and steps["reload"]["traces"] == start["traces"]
    assert steps["reload"]["slider"] == start["slider"]

    # the path field: a clear line for a folder that does not exist or holds no finished runs (the view stays) ...
    assert "no folder" in steps["missing"]["path_message"] and "no-such-folder" in steps["missing"]["path_message"]
    assert "no finished runs" in steps["empty"]["path_message"]
    for step in ("missing", "empty"):
        assert steps[step]["folder"] == steps["reload"]["folder"] and steps[step]["runs"] == expect()
    mine = steps["mine"]  # ... and a folder outside the repository opens like one of results/*
    assert mine["folder"] == report["mine"] and mine["path_message"] == ""
    assert mine["runs"] == sorted(other["run_id"])

    # the kernel sent every update over the widget's comm: the frontend's last state is the last figure
    sent = client.widget_state[report["out_id"]]["outputs"]
    plotly = [o["data"]["application/vnd.plotly.v1+json"] for o in sent
              if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(plotly) == 1 and len(plotly[0]["data"]) == mine["traces"]
