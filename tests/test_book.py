"""Build the Jupyter Book once (from a small results folder) and check the offline HTML.

One build (~30 s) serves every check below (module-scoped fixture).  The results are the real
``smoke`` study (``tests/conftest.py``).
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

@pytest.fixture(scope="module")
def book_results_dir(smoke_results) -> Path:
    """The results folder the test book is built from: the real `smoke` study."""
    return smoke_results


@pytest.fixture(scope="module")
def run_ids(book_results_dir) -> list[str]:
    from sparselib.results import collect_runs

    ids = list(collect_runs(book_results_dir)["run_id"])
    assert len(ids) >= 3
    return ids


def _load_book_assets():
    sys.path.insert(0, str(REPO / "tools"))
    try:
        return importlib.import_module("book_assets")
    finally:
        sys.path.remove(str(REPO / "tools"))


@pytest.fixture(scope="module")
def built_book(book_results_dir, tmp_path_factory):
    assets = _load_book_assets()
    if assets.missing_or_stale():
        assets.ensure_assets()  # fetched from the npm registry; failing to is a failure, not a skip

    jb = Path(sys.executable).with_name("jupyter-book")
    jb_cmd = [str(jb)] if jb.exists() else [shutil.which("jupyter-book") or "jupyter-book"]
    out = tmp_path_factory.mktemp("book")
    env = dict(os.environ, SPARSELIB_RESULTS=str(book_results_dir))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [*jb_cmd, "build", "-W", "-n", "--keep-going", str(REPO), "--path-output", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    seconds = time.perf_counter() - t0
    print(f"book build took {seconds:.1f} s")
    return proc, out / "_build" / "html"


def _fail_msg(proc) -> str:
    return (f"jupyter-book build failed ({proc.returncode}):\n"
            f"{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}")


def test_build_succeeds(built_book):
    proc, html = built_book
    assert proc.returncode == 0, _fail_msg(proc)
    assert (html / "book" / "intro.html").is_file()
    assert (html / "book" / "results.html").is_file()


def test_only_toc_pages_are_built(built_book):
    proc, html = built_book
    assert proc.returncode == 0, _fail_msg(proc)
    pages = sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                   if "_static" not in p.parts)
    assert pages == ["book/intro.html", "book/results.html", "genindex.html", "index.html",
                     "search.html"], pages


def test_results_page_shows_the_runs(built_book, run_ids):
    proc, html = built_book
    assert proc.returncode == 0, _fail_msg(proc)
    page = (html / "book" / "results.html").read_text(encoding="utf-8")
    assert 'class="plotly-graph-div"' in page
    assert "Plotly.newPlot" in page
    # the figure's data: run ids in the hover text, traces named by method
    for run_id in run_ids:
        assert run_id in page
    for method in ("Dense", "GMP", "BIMP"):  # traces are named by method (plus what differs between configs)
        assert f'"name":"{method}' in page, method
    assert re.search(r'"name":"IMP (·|\\u00b7) LLR', page)
    assert '"updatemenus"' in page
    # the summary table, derived from the same runs
    assert "sparselib-summary" in page
    assert "No runs exist yet" not in page


def test_no_cdn_anywhere(built_book):
    proc, html = built_book
    assert proc.returncode == 0, _fail_msg(proc)
    cdn = re.compile(rb"https?://(cdn|unpkg|cdnjs)|cdn\.jsdelivr|cdn\.plot\.ly|unpkg\.com|"
                     rb"cdnjs\.cloudflare|cdn\.mathjax|fonts\.googleapis|use\.fontawesome")
    hits = []
    for path in html.rglob("*"):
        if path.is_file() and cdn.search(path.read_bytes()):
            hits.append(path.relative_to(html).as_posix())
    assert not hits, f"CDN references in {hits}"


def test_no_external_scripts_or_styles(built_book):
    proc, html = built_book
    assert proc.returncode == 0, _fail_msg(proc)
    tag = re.compile(r"<(script|link|img|iframe)\b[^>]*>", re.I)
    url = re.compile(r'\b(src|href)\s*=\s*["\']?((?:https?:)?//[^"\'\s>]+)', re.I)
    external = []
    for page in html.rglob("*.html"):
        for m in tag.finditer(page.read_text(encoding="utf-8")):
            if m.group(1).lower() == "link" and not re.search(
                    r'rel=["\']?(stylesheet|preload|modulepreload|icon|prefetch)', m.group(0)):
                continue  # plain hyperlinks elsewhere are fine
            u = url.search(m.group(0))
            if u:
                external.append((page.name, u.group(2)))
    assert not external, external
    for css in html.rglob("*.css"):
        ext = re.findall(rb"(?:@import|url\()\s*[\"']?((?:https?:)?//[^\"')]+)", css.read_bytes())
        assert not ext, (css.name, ext)


def test_plotly_js_served_once_and_referenced(built_book):
    proc, html = built_book
    assert proc.returncode == 0, _fail_msg(proc)
    copies = [p.relative_to(html).as_posix() for p in html.rglob("plotly*.js")]
    assert copies == ["_static/plotly/plotly.min.js"], copies
    results = (html / "book" / "results.html").read_text(encoding="utf-8")
    assert '<script src="../_static/plotly/plotly.min.js' in results
    assert len(results) < 1_000_000, "plotly.js seems to be inlined into the page"
    assert "plotly.js v" not in results
    # the figure-less page does not load plotly.js; MathJax is local where there is math
    intro = (html / "book" / "intro.html").read_text(encoding="utf-8")
    assert "plotly.min.js" not in intro
    assert "_static/mathjax/es5/tex-chtml.js" in intro
    assert (html / "_static" / "mathjax" / "es5" / "tex-chtml.js").is_file()


def test_scrub_cdn_rewrites_only_cdn_hosts():
    assets = _load_book_assets()
    text = (b'a="https://cdn.jsdelivr.net/npm/x@1/dist/";b="https://cdn.plot.ly/un/";'
            b'c="//unpkg.com/y";d="https://unpkg.com/z/";e="https://plotly.com/";'
            b'f="https://fonts.googleapis.com/css?family=Roboto";')
    out, n = assets.scrub_cdn(text)
    assert n == 4
    assert b"cdn.jsdelivr" not in out and b"cdn.plot.ly" not in out
    assert b"fonts.googleapis" not in out and b'd="https://unpkg' not in out
    assert b'a="./offline-no-cdn/npm/x@1/dist/"' in out
    assert b'e="https://plotly.com/"' in out  # ordinary links are left alone


def test_results_notebook_says_plainly_when_there_are_no_runs(tmp_path, monkeypatch):
    """Executed directly (no book build): an empty results folder gives a plain message with
    the command that makes the runs, and neither a table nor a figure."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(REPO / "book" / "results.ipynb", as_version=4)
    # committed without outputs: the build executes it
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    monkeypatch.setenv("SPARSELIB_RESULTS", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p))
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO / "book")}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    text = "\n".join(str(v) for o in outputs for v in o.get("data", {}).values())
    assert "No runs exist yet" in text
    assert "python -m sparselib sweep mini" in text and "make book" in text
    assert not any("application/vnd.plotly.v1+json" in o.get("data", {}) for o in outputs)
    assert "sparselib-summary" not in text
    assert not [o for o in outputs if o.output_type == "error"]
