"""notebooks/explore.ipynb live, in a real JupyterLab (this venv's) driven by Debian's chromium through Playwright,
every request off 127.0.0.1 blocked.

What users saw in JupyterLab and the headless tests (tests/test_notebook.py) cannot: the figure collapsed to 0 px
after a click on a legend entry or a change of x axis; the figure's own x-axis dropdown disagreed with the widgets;
switching results folders logged "Error setting state" in the browser's console.  Here the figure keeps its height
through both, follows the window's width, the x axis has one control and the title follows it, switching folders
logs no error, and the path field opens a folder outside the repository or says in one line why it cannot.

One JupyterLab server (on a copy of notebooks/, its kernels importing this checkout) and one browser page for the
whole module: the notebook is run once, and each test starts from, and returns to, its first view (results/fmnist, x
axis sparsity).  Screenshots go to ``$SPARSELIB_ARTIFACTS`` (default ``test-artifacts/screenshots/``) as
``jupyterlab-*.png``.  Skipped, saying why, where chromium, Playwright or JupyterLab is missing.
"""
from __future__ import annotations

import importlib.util
import os
import queue
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from browser_helpers import LOCAL_HOST, REPO, artifacts_dir, block_off_machine, chromium_missing, launched_chromium

pytestmark = [
    pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or ""),
    pytest.mark.skipif(importlib.util.find_spec("jupyterlab") is None,
                       reason="JupyterLab is not installed: run `make setup`"),
]

NOTEBOOK = "explore.ipynb"
FIGURE = ".jp-OutputArea .js-plotly-plot"  # the notebook's one figure, in the `out` widget
TABLE = ".jp-OutputArea table.sparselib-table"
# the figure shows the implicit methods' runs only (a copy of those of results/fmnist)
IMPLICIT_ONLY = "gd.data.every(t => ['cs', 'str', 'dst'].includes(t.meta.method))"
DENSE_ONLY = "gd.data.every(t => t.meta.method === 'dense')"
# what the figure looks like now; positions relative to the figure's top (the notebook may scroll)
MEASURE = """([figure, table]) => {
    const gd = document.querySelector(figure), t = document.querySelector(table);
    const r = gd.getBoundingClientRect();
    return {height: r.height, width: r.width, table: t ? t.getBoundingClientRect().top - r.top : null,
            title: gd._fullLayout.title.text, xtitle: gd._fullLayout.xaxis.title.text,
            menus: (gd._fullLayout.updatemenus || []).length,
            xticks: [...gd.querySelectorAll('.xtick text')].map(e => e.textContent)};
}"""


# ---------------------------------------------------------------------------------------------
# the server


class _ServerLog:
    """The server's stderr, read line by line by a thread (so that its pipe never fills up)."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)  # end of the stream: the server has exited

    def wait_for(self, text: str, timeout: float) -> None:
        """Returns once the server has logged ``text``; fails with its log if it exits first or goes quiet."""
        while True:
            try:
                line = self._queue.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"JupyterLab logged nothing for {timeout} s:\n{''.join(self.lines[-30:])}", pytrace=False)
            if line is None:
                pytest.fail(f"JupyterLab exited:\n{''.join(self.lines[-30:])}", pytrace=False)
            if text in line:
                return


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((LOCAL_HOST, 0))
        return s.getsockname()[1]


def _lab_home(tmp: Path) -> dict[str, str]:
    """Folders of its own for the server (config, data, runtime, settings, workspaces), so that nobody's own
    JupyterLab settings play in; its settings turn off the news feed and update checks (no network here)."""
    dirs = {name: tmp / name for name in ("config", "data", "runtime", "settings", "workspaces")}
    notification = dirs["settings"] / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    for d in dirs.values():
        d.mkdir(exist_ok=True)
    return {"JUPYTER_CONFIG_DIR": str(dirs["config"]), "JUPYTER_DATA_DIR": str(dirs["data"]),
            "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]), "JUPYTERLAB_SETTINGS_DIR": str(dirs["settings"]),
            "JUPYTERLAB_WORKSPACES_DIR": str(dirs["workspaces"])}


def _stop(proc: subprocess.Popen) -> None:
    """Stops the server (on SIGTERM it shuts its kernels down first), killing its process group if it does not
    end."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    """JupyterLab from this venv on a free port of 127.0.0.1 with a random token, serving a copy of notebooks/ (the
    notebook it saves is not the committed one), its kernels importing this checkout's sparselib: ``(url, token,
    the copy's folder)``.  Stopped, with its kernels, at the end of the module."""
    tmp = tmp_path_factory.mktemp("jupyterlab")
    root = tmp / "notebooks"
    shutil.copytree(REPO / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    env = {**os.environ, **_lab_home(tmp),
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    env.pop("SPARSELIB_RESULTS", None)  # the notebook opens results/fmnist
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.ip={LOCAL_HOST}",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.expose_app_in_browser=True"]  # window.jupyterapp: see _run_all
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _ServerLog(proc.stderr).wait_for(f"http://{LOCAL_HOST}:{port}/", timeout=120)
        yield f"http://{LOCAL_HOST}:{port}", token, root
    finally:
        _stop(proc)


# ---------------------------------------------------------------------------------------------
# the notebook in the browser


@dataclass
class Lab:
    """The open notebook, what the browser's console said and the requests it blocked."""

    page: object
    shots: Path
    console: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def measure(self) -> dict:
        return self.page.evaluate(MEASURE, [FIGURE, TABLE])

    def errors(self, since: int = 0) -> list[str]:
        """Console messages since message ``since`` that are errors or speak of one ("Error setting state")."""
        return [m for m in self.console[since:] if m.startswith(("console.error", "uncaught")) or "Error" in m]

    def screenshot(self, name: str) -> None:
        """The notebook scrolled to the widgets' top (the widgets, the figure and the table below them)."""
        self.page.locator(".jp-OutputArea .widget-vbox").first.evaluate("el => el.scrollIntoView({block: 'start'})")
        self.page.screenshot(path=str(self.shots / f"jupyterlab-{name}.png"))

    def wait_for_figure(self, condition: str = "true") -> None:
        """Waits until the figure is drawn (and ``condition`` holds of its graph div ``gd``)."""
        self.page.wait_for_function(
            f"""sel => {{ const gd = document.querySelector(sel);
                         return !!(gd && gd._fullLayout && gd.querySelector('.main-svg .trace')
                                   && ({condition})); }}""",
            arg=FIGURE)

    def status(self, text: str) -> None:
        """Waits until the widgets' status line says ``text``."""
        self.page.locator(".widget-html-content", has_text=text).first.wait_for()


def _run_all(page) -> None:
    """Runs every cell through JupyterLab's own command (the menu's Run → Run All Cells) once the notebook and its
    kernel are ready.  Through the command, not a click on the menu: a click made while JupyterLab still sets the
    notebook up can be lost, and no element tells when it no longer is (Galata, JupyterLab's own UI tests, drives
    commands the same way)."""
    page.wait_for_function("() => !!window.jupyterapp?.shell.currentWidget?.sessionContext")
    page.evaluate("""async () => {
        const app = window.jupyterapp, panel = app.shell.currentWidget;
        await panel.context.ready;
        await panel.sessionContext.ready;
        await app.commands.execute('notebook:run-all-cells');
    }""")


@pytest.fixture(scope="module")
def lab(lab_server):
    """explore.ipynb open in chromium (1400 x 1600 px: the widgets, the figure and the table all in view), all its
    cells run, its figure drawn."""
    url, token, _ = lab_server
    with launched_chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 1600})
        context.set_default_timeout(60_000)
        lab = Lab(page=None, shots=artifacts_dir(), blocked=block_off_machine(context))
        page = lab.page = context.new_page()
        page.on("console", lambda m: lab.console.append(f"console.{m.type}: {m.text}"))
        page.on("pageerror", lambda e: lab.console.append(f"uncaught: {e}"))
        page.goto(f"{url}/lab/tree/{NOTEBOOK}?token={token}")
        _run_all(page)
        lab.wait_for_figure()
        lab.page.locator(TABLE).wait_for()
        try:
            yield lab
        finally:
            context.close()


def _legend_entry(lab: Lab, name: str):
    return lab.page.locator(f"{FIGURE} .legend .traces").filter(has_text=re.compile(f"^{re.escape(name)}$"))


def _toggle(lab: Lab, name: str, opacity: str) -> None:
    """Clicks a legend entry and waits until plotly has redrawn it (hidden: opacity 0.5; shown: 1)."""
    entry = _legend_entry(lab, name)
    entry.click()
    lab.page.wait_for_function("([el, o]) => getComputedStyle(el).opacity === o", arg=[entry.element_handle(), opacity])


def _x_axis(lab: Lab, label: str, word: str) -> None:
    """Picks the x axis with the widgets' toggle button ``label``; waits for the new figure, titled with ``word``."""
    lab.page.locator(".widget-toggle-buttons button", has_text=label).click()
    lab.wait_for_figure(f"gd._fullLayout.title.text.includes({word!r})")


# ---------------------------------------------------------------------------------------------
# the tests


def test_the_figure_keeps_its_height_after_a_legend_click(lab):
    """A click on a legend entry hid the method and collapsed the figure to 0 px (the table slid into its place)."""
    first = lab.measure()
    lab.screenshot("1-figure")
    assert first["height"] > 300 and first["table"] >= first["height"], first
    _toggle(lab, "IMP", "0.5")
    hidden = lab.measure()
    lab.screenshot("2-legend-click")
    assert hidden["height"] == first["height"] and hidden["table"] == first["table"], (first, hidden)
    _toggle(lab, "Dense (12 epochs)", "0.5")  # the dense reference is an entry of its own, too
    assert lab.measure()["height"] == first["height"]
    _toggle(lab, "IMP", "1")
    _toggle(lab, "Dense (12 epochs)", "1")
    assert lab.measure() == first
    assert not lab.errors()


def test_one_x_axis_control_and_the_title_follows_it(lab):
    """The x axis is the widgets' toggle buttons' alone (the figure has no dropdown of its own to disagree with
    them); picking one redraws the figure on that axis, titled after it, at the same height, with sparse readable
    speedup ticks; and a legend click on the new figure keeps its height too."""
    first = lab.measure()
    assert first["menus"] == 0 and "sparsity" in first["title"], first
    _x_axis(lab, "speedup", "speedup")
    speedup = lab.measure()
    lab.screenshot("3-x-speedup")
    assert "speedup" in speedup["xtitle"].lower() and speedup["menus"] == 0
    assert speedup["height"] == first["height"] and speedup["table"] == first["table"]
    assert speedup["xticks"] and all(re.fullmatch(r"\d+×", t) for t in speedup["xticks"]), speedup["xticks"]
    active = lab.page.locator(".widget-toggle-buttons button.mod-active")
    assert active.count() == 1 and active.inner_text().strip() == "speedup"
    _toggle(lab, "GMP", "0.5")
    assert lab.measure()["height"] == first["height"]
    _x_axis(lab, "relative time", "relative training time")
    assert lab.measure()["height"] == first["height"]
    _x_axis(lab, "sparsity", "actual sparsity")
    assert lab.measure()["title"] == first["title"]
    assert not lab.errors()


def test_the_figure_follows_the_width_of_the_window(lab):
    """JupyterLab's renderer re-fits the figure when its output area resizes (the figure is not plotly-responsive
    there: see sparselib/plots/display.py): narrower, then as wide as before, always as high."""
    first = lab.measure()
    lab.page.set_viewport_size({"width": 1000, "height": 1600})
    lab.wait_for_figure(f"gd.getBoundingClientRect().width < {first['width'] - 200}")
    assert lab.measure()["height"] == first["height"]
    lab.page.set_viewport_size({"width": 1400, "height": 1600})
    lab.wait_for_figure(f"gd.getBoundingClientRect().width === {first['width']}")
    assert lab.measure()["height"] == first["height"]


def test_switching_results_folders_logs_no_error(lab):
    """results/fmnist-2x (the convergence check: two dense runs, no method, fewer seeds than results/fmnist) and
    back: the selection widgets get their new options and selections at once, so the browser logs no "Error setting
    state"; and where there can be no table, one line says why."""
    from sparselib.results import collect_runs

    start = len(lab.console)
    n_other, n_study = len(collect_runs(REPO / "results" / "fmnist-2x")), len(collect_runs(REPO / "results" / "fmnist"))
    folder = lab.page.locator(".widget-dropdown select").first
    folder.select_option(label="results/fmnist-2x")
    lab.status(f"{n_other} of {n_other} runs shown")
    lab.page.locator(".jp-OutputArea .jp-RenderedText", has_text="No table: no pruned run").wait_for()
    lab.wait_for_figure(DENSE_ONLY)
    lab.screenshot("4-dense-only")
    assert lab.measure()["height"] > 300
    folder.select_option(label="results/fmnist")
    lab.status(f"{n_study} of {n_study} runs shown")
    lab.page.locator(TABLE).wait_for()
    lab.wait_for_figure(f"!({IMPLICIT_ONLY})")
    assert not lab.errors(start), lab.errors(start)


def test_the_path_field_opens_any_folder_or_says_why_not(lab, tmp_path):
    """A path that is no folder: one line saying so, and the view stays; a folder outside the repository with
    finished runs: opened, and in the results dropdown from then on."""
    from sparselib.results import collect_runs

    field_ = lab.page.locator(".widget-text input").first
    missing = tmp_path / "no-such-folder"
    field_.fill(str(missing))
    field_.press("Enter")
    lab.page.locator(".widget-html-content", has_text=f"no folder {missing}").wait_for()
    lab.screenshot("5-path-missing")
    assert lab.page.locator(".widget-dropdown select").first.input_value().endswith("results/fmnist")
    mine = tmp_path / "my-runs"  # the implicit methods' runs of the study, as a user's own folder
    implicit = collect_runs(REPO / "results" / "fmnist")
    for f in implicit.loc[implicit["method"].isin(["cs", "str", "dst"]), "folder"]:
        shutil.copytree(f, mine / Path(f).name, ignore=shutil.ignore_patterns("*.pt"))
    n = len(collect_runs(mine))
    field_.fill(str(mine))
    field_.press("Enter")
    lab.status(f"{n} of {n} runs shown")
    lab.wait_for_figure(IMPLICIT_ONLY)
    folder = lab.page.locator(".widget-dropdown select").first
    lab.page.wait_for_function("([el, v]) => el.value === v", arg=[folder.element_handle(), str(mine.resolve())])
    lab.screenshot("6-own-folder")
    assert lab.page.locator(".widget-html-content", has_text="no folder").count() == 0  # the message is gone
    folder.select_option(label="results/fmnist")
    lab.page.locator(TABLE).wait_for()
    lab.wait_for_figure(f"!({IMPLICIT_ONLY})")
    assert not lab.errors()


def test_the_saved_notebook_strips_back_to_the_committed_one(lab, lab_server):
    """Run and saved in JupyterLab, the notebook holds outputs, execution counts and kernel details (what dirtied the
    tracked notebook); the git filter (tools/strip_notebooks.py --filter, see the README) takes every one of them
    out again: what git would store is the committed file, byte for byte."""
    saved = lab_server[2] / NOTEBOOK
    lab.page.evaluate("async () => { await window.jupyterapp.shell.currentWidget.context.save(); }")
    text = saved.read_text(encoding="utf-8")
    assert '"outputs": []' in (REPO / "notebooks" / NOTEBOOK).read_text(encoding="utf-8")
    assert "application/vnd.jupyter.widget-view+json" in text and '"execution_count": 1' in text
    clean = subprocess.run([sys.executable, str(REPO / "tools" / "strip_notebooks.py"), "--filter"], input=text,
                           capture_output=True, text=True, check=True).stdout
    assert clean == (REPO / "notebooks" / NOTEBOOK).read_text(encoding="utf-8")


def test_nothing_left_the_machine(lab):
    """Every request the page made went to 127.0.0.1 (the others would have been blocked, and are listed here)."""
    assert not lab.blocked, lab.blocked
