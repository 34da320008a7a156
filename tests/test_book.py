"""Build the Jupyter Book once (from a small results folder) and check the offline HTML.

One build (~30 s) serves every check below (module-scoped fixture).  The results are the real
``smoke`` study (``tests/conftest.py``).  The last tests open every page in a real browser
(Debian's chromium, which `make setup` installs, driven by Playwright), with every request off
127.0.0.1 blocked, and save full-page screenshots to ``$SPARSELIB_ARTIFACTS`` (default
``test-artifacts/screenshots/``).  Without chromium they fail; ``SPARSELIB_SKIP_BROWSER=1``
skips them.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from browser_helpers import artifacts_dir, block_off_machine, chromium_missing, launched_chromium

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
    expected = sorted({f"{f}.html" for f in _toc_files()} | {"genindex.html", "index.html",
                                                             "search.html"})
    assert {"book/intro.html", "book/results.html"} <= set(expected), expected
    assert pages == expected, pages


def _toc_files() -> list[str]:
    """The documents _toc.yml lists (its root and every `file:` entry, at any depth)."""
    import yaml

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("root", "file") and isinstance(value, str):
                    yield value.removesuffix(".md").removesuffix(".ipynb")
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    return list(walk(yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))))


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


#: MyST markup that reaches a page unparsed.  A role ({doc}`x`) shows as "{doc}" before the literal its backticks
#: became; a directive fence (```{note}) as a code block of the "language" {note}; a colon fence (:::{note}) or a
#: substitution ({{ x }}) as text.  Markdown that a notebook cell prints is parsed as MyST (_config.yml:
#: nb_render_markdown_format), so none of these may be on any page.
RAW_ROLE = re.compile(r"\{[a-z][\w:+-]*\}(?=`|<code\b|<span class=\"pre\">)")
RAW_DIRECTIVE = re.compile(r"highlight-\{[^\"\s]*|language-\{[^\"\s]*")
RAW_TEXT = re.compile(r"```\s*\{[a-z][^}]*\}|:::\s*\{[a-z][^}]*\}|\{\{[^{}\n]*\}\}")


def raw_myst(page: str) -> list[str]:
    """The unparsed MyST on an HTML page (scripts and styles left out: plotly's JSON is full of braces)."""
    import html as html_module

    page = re.sub(r"<(script|style|template)\b.*?</\1\s*>", " ", page, flags=re.S | re.I)
    hits = [page[max(0, m.start() - 60):m.end() + 80] for m in RAW_ROLE.finditer(page)]
    hits += RAW_DIRECTIVE.findall(page)
    return hits + RAW_TEXT.findall(html_module.unescape(re.sub(r"<[^>]+>", "", page)))


def test_no_raw_myst_on_any_page(built_book):
    """No built page shows MyST markup unparsed: every role a page or a cell's printed Markdown uses is parsed (the
    paper-scale page printed "({doc}`reproduce`)" raw)."""
    proc, html = built_book
    assert proc.returncode == 0, _fail_msg(proc)
    pages = sorted(html.rglob("*.html"))
    assert len(pages) >= len(_toc_files())
    raw = {p.relative_to(html).as_posix(): hits for p in pages if (hits := raw_myst(p.read_text(encoding="utf-8")))}
    assert not raw, raw
    assert 'href="reproduce.html' in (html / "book" / "paper.html").read_text(encoding="utf-8")  # the role's link


def test_notebook_pages_have_a_binder_launch_button(built_book):
    """Every notebook page (an .ipynb or a MyST notebook) links to itself on Binder (_config.yml: launch_buttons,
    repository); a page of plain text has no such button.  A link only: nothing loads from Binder offline."""
    import yaml

    proc, html = built_book
    assert proc.returncode == 0, _fail_msg(proc)
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    repo = config["repository"]["url"].removeprefix("https://github.com/")
    for source in sorted((REPO / "book").glob("*.*")):
        if source.suffix not in (".ipynb", ".md"):
            continue
        page = (html / "book" / f"{source.stem}.html").read_text(encoding="utf-8")
        link = (f"https://mybinder.org/v2/gh/{repo}/{config['repository']['branch']}"
                f"?urlpath=lab/tree/book/{source.name}")
        text = source.read_text(encoding="utf-8")
        notebook = source.suffix == ".ipynb" or (text.startswith("---") and "kernelspec:" in text.split("---")[1])
        assert (f'href="{link}"' in page) is notebook, (source.name, notebook)


@pytest.mark.parametrize("markup, raw", [
    ('see ({doc}<code class="docutils literal notranslate"><span class="pre">reproduce</span></code>)', True),
    ("see ({ref}`x`)", True),
    ('<div class="highlight-{note} notranslate"><pre>x</pre></div>', True),
    ("<p>:::{admonition} x</p>", True),
    ("<p>{{ goal }}</p>", True),
    ("<p>```{note}</p>", True),
    ('<a class="reference internal" href="reproduce.html"><span class="doc">reproduce</span></a>', False),
    ("<p>{'a': 1}, f(x) = {x}, a set {1, 2}</p>", False),
    ('<script>var a = {"data": [{"x": 1}]}; b = "{doc}`x`";</script>', False),
])
def test_raw_myst_detection(markup, raw):
    assert bool(raw_myst(markup)) is raw


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
    # The CDN addresses below are this test's input, not something the book loads: the scrubber must rewrite them
    # (what tools/book_assets.py does to every built page, whose output the other tests check for CDN URLs).
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
    assert "python -m sparselib sweep\n" in text and "make book" in text
    assert not any("application/vnd.plotly.v1+json" in o.get("data", {}) for o in outputs)
    assert "sparselib-summary" not in text
    assert not [o for o in outputs if o.output_type == "error"]


# ---------------------------------------------------------------------------------------------
# The built book in a real browser: Debian's chromium (`make setup` installs it) driven by
# Playwright, the HTML served by a local HTTP server, every request off 127.0.0.1 blocked.

FIGURE = "div.plotly-graph-div, .js-plotly-plot"
# what plotly draws for a trace (heatmaps, contours and images get a class of their own)
TRACE = ".main-svg .trace, .main-svg .hm, .main-svg .contour, .main-svg .im"
# pydata-sphinx-theme logs this console error on a visitor's first page (empty localStorage: the
# theme's <head> script sets data-mode="" and setTheme() rejects it before resetting to "auto").
# It is the theme's, harmless, and every fresh browser context is a first visit.
KNOWN_CONSOLE_ERRORS = ("Got invalid theme mode: . Resetting to auto.",)


@pytest.fixture(scope="module")
def chromium():
    """One headless chromium for every browser test of this module; where there is none, the
    reason, which fails each test (`_browser`): CI must not skip them silently."""
    if os.environ.get("SPARSELIB_SKIP_BROWSER") == "1":
        pytest.skip("SPARSELIB_SKIP_BROWSER=1")
    missing = chromium_missing()
    if missing:
        yield f"{missing} (SPARSELIB_SKIP_BROWSER=1 skips the browser tests)"
        return
    with launched_chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def book_url(built_book):
    """The built HTML, served on 127.0.0.1 (an ephemeral port) for the module's lifetime."""
    import functools
    import http.server
    import threading

    proc, html = built_book
    assert proc.returncode == 0, _fail_msg(proc)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Quiet, directory=str(html)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope="module")
def screenshot_dir() -> Path:
    folder = artifacts_dir()
    if not os.environ.get("SPARSELIB_ARTIFACTS"):  # our own folder: no book page's screenshot left over from a page
        for old in folder.glob("book_*.png"):      # that no longer exists (other tests' screenshots stay)
            old.unlink()
    return folder


def _browser(chromium):
    if isinstance(chromium, str):
        pytest.fail(chromium, pytrace=False)
    return chromium


def _book_pages(html: Path) -> list[str]:
    """Every page of the book proper (the toc's pages live under book/)."""
    pages = sorted(p.relative_to(html).as_posix() for p in (html / "book").rglob("*.html")
                   if "_static" not in p.parts and p.stem not in ("genindex", "search"))
    assert "book/results.html" in pages, pages
    return pages


class _Visit:
    """A fresh browser context and page (a first visit), recording JS errors and every request
    that is not to 127.0.0.1 (those are blocked)."""

    def __init__(self, browser, url: str, width: int = 1280):
        self.url, self.errors, self.broken = url, [], []
        self.context = browser.new_context(viewport={"width": width, "height": 900},
                                           service_workers="block")
        self.context.set_default_timeout(30_000)
        self.external = block_off_machine(self.context)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}")
                     if m.type == "error" and m.text not in KNOWN_CONSOLE_ERRORS else None)
        self.page.on("response", lambda r: self.broken.append(f"{r.status} {r.url}")
                     if r.status >= 400 else None)

    def __enter__(self):
        self.page.goto(self.url, wait_until="load")
        return self

    def __exit__(self, *exc):
        self.context.close()

    def problems(self) -> list[str]:
        return ([f"request off 127.0.0.1 (blocked): {u}" for u in self.external]
                + [f"HTTP {b}" for b in self.broken] + self.errors)


def _figures_drawn(page) -> list[str]:
    """Waits until every plotly figure on the page has drawn; the figures that did not."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    figs = page.locator(FIGURE)
    # plotly draws from an inline script; give it (and a loaded machine) time. A figure that does
    # not draw is reported figure by figure below.
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(
            """([fig, trace]) => [...document.querySelectorAll(fig)].every(gd =>
                   gd.querySelector('.main-svg') && gd.querySelector(trace))""",
            arg=[FIGURE, TRACE], timeout=30_000)
    bad = []
    for i in range(figs.count()):
        state = figs.nth(i).evaluate("""(gd, trace) => ({
            svg: gd.querySelectorAll('.main-svg').length,
            traces: gd.querySelectorAll(trace).length,
            data: (gd.data || []).length,
            w: gd.getBoundingClientRect().width, h: gd.getBoundingClientRect().height})""", TRACE)
        if not (state["svg"] and state["traces"] and state["data"] and state["w"] > 100
                and state["h"] > 100):
            bad.append(f"figure #{i} did not draw: {state}")
    return bad


def _math_typeset(page) -> list[str]:
    """Where the page has math, waits for MathJax to typeset all of it."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    n = page.locator(".math").count()
    if not n:
        return []
    try:
        page.wait_for_function(
            "() => [...document.querySelectorAll('.math')].every(e => e.querySelector('mjx-container'))",
            timeout=30_000)
    except PlaywrightTimeout:
        done = page.locator(".math mjx-container").count()
        return [f"MathJax typeset {done} of {n} .math elements"]
    merror = page.locator("mjx-merror").all_text_contents()
    return [f"MathJax error: {t}" for t in merror]


def test_every_page_renders_offline_in_chromium(chromium, book_url, built_book, screenshot_dir,
                                                capsys):
    """Each page of the book in chromium: plotly figures drawn, math typeset, no JS error, no
    request off the machine; a full-page screenshot of each."""
    browser = _browser(chromium)
    _, html = built_book
    pages = _book_pages(html)
    problems, figures = {}, 0
    for path in pages:
        with _Visit(browser, book_url + path) as v:
            found = _figures_drawn(v.page) + _math_typeset(v.page)
            figures += v.page.locator(FIGURE).count()
            shot = screenshot_dir / (path.removesuffix(".html").replace("/", "_") + ".png")
            v.page.screenshot(path=str(shot), full_page=True)
            found += v.problems()
        if found:
            problems[path] = found
    with capsys.disabled():
        print(f"\nbook screenshots ({len(pages)} pages): {screenshot_dir}")
    if problems:
        pytest.fail("\n".join(f"{p}:\n  " + "\n  ".join(f) for p, f in problems.items()),
                    pytrace=False)
    assert figures >= 1, "no plotly figure on any page"


def _x_title(fig):
    return fig.evaluate("gd => { const t = gd.querySelector('.g-xtitle'); return t ? t.textContent : null; }")


def _menu_options(fig, menu):
    """Opens a dropdown menu and returns its entries (a "buttons" menu shows them anyway)."""
    header = menu.locator(".updatemenu-header")
    if header.count():
        header.click()
        opts = fig.locator(".updatemenu-dropdown-button")
        opts.first.wait_for(state="visible")
        return opts
    return menu.locator(".updatemenu-button")


def _switch_x_axis(page, fig, menu, screenshot: Path) -> bool:
    """Picks each other entry of `menu` until one changes the x-axis title; checks the figure
    is still drawn, then picks the starting entry again and checks the title comes back."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    header = menu.locator(".updatemenu-header")
    start = header.text_content() if header.count() else None
    before = _x_title(fig)
    labels = _menu_options(fig, menu).all_text_contents()
    if start is not None:
        header.click()  # close it again

    def wait_title(cond: str) -> bool:
        try:
            page.wait_for_function(
                "([gd, old]) => { const t = gd.querySelector('.g-xtitle'); "
                f"const x = t ? t.textContent : null; return {cond}; }}",
                arg=[fig.element_handle(), before], timeout=5_000)
            return True
        except PlaywrightTimeout:
            return False

    for j, label in enumerate(labels):
        if label == start:
            continue
        _menu_options(fig, menu).nth(j).click()
        if not wait_title("x !== old"):
            continue  # this entry leaves the x axis alone
        after = _x_title(fig)
        assert after and after != before, (before, after)
        assert fig.locator(TRACE).count() >= 1, "no trace drawn after the switch"
        if start is not None:
            assert header.text_content() == label
        fig.screenshot(path=str(screenshot))
        if start in labels:
            _menu_options(fig, menu).nth(labels.index(start)).click()
            assert wait_title("x === old"), (f"picking {start!r} again did not bring back "
                                             f"the x-axis title {before!r}: {_x_title(fig)!r}")
        return True
    return False


def test_results_dropdown_switches_the_x_axis(chromium, book_url, screenshot_dir):
    """On the results page, picking another entry of a figure's dropdown (plotly updatemenus)
    changes the x axis; picking the starting entry again brings it back."""
    with _Visit(_browser(chromium), book_url + "book/results.html") as v:
        page = v.page
        not_drawn = _figures_drawn(page)
        assert not not_drawn, not_drawn
        menus = [(fig, fig.locator(".updatemenu-header-group").nth(m))
                 for fig in page.locator(FIGURE).all()
                 for m in range(fig.locator(".updatemenu-header-group").count())]
        assert menus, "no plotly dropdown (updatemenus) on the results page"
        shot = screenshot_dir / "book_results--dropdown.png"
        assert any(_switch_x_axis(page, fig, menu, shot) for fig, menu in menus), \
            f"none of the {len(menus)} dropdown(s) on the results page changed the x-axis title"
        assert not v.problems(), v.problems()


_TABLE_LAYOUT = """() => {
    const doc = document.documentElement;
    const art = document.querySelector('article.bd-article') || document.querySelector('main');
    const cs = getComputedStyle(art), a = art.getBoundingClientRect();
    const column = [a.left + parseFloat(cs.paddingLeft), a.right - parseFloat(cs.paddingRight)];
    const tables = [...art.querySelectorAll('table')].map(t => {
        const r = t.getBoundingClientRect(), box = t.closest('div.sparselib-scroll');
        const b = box ? box.getBoundingClientRect() : null;
        return {cls: t.className, left: r.left, right: r.right,
                box: box ? {left: b.left, right: b.right, overflowX: getComputedStyle(box).overflowX} : null};
    });
    return {page: [doc.scrollWidth, doc.clientWidth], column, tables};
}"""


def test_results_tables_fit_the_text_column(chromium, book_url, screenshot_dir):
    """No table on the results page is wider than the text column at a desktop width (1280 px), and none makes the
    page scroll sideways at any width: on a narrow screen (600 px) a table that does not fit scrolls inside its own
    box (div.sparselib-scroll), which does fit."""
    browser = _browser(chromium)
    problems = []
    for width in (1280, 600):
        with _Visit(browser, book_url + "book/results.html", width=width) as v:
            layout = v.page.evaluate(_TABLE_LAYOUT)
            if width != 1280:
                v.page.screenshot(path=str(screenshot_dir / f"book_results--{width}px.png"), full_page=True)
            found = v.problems()
        scroll_w, client_w = layout["page"]
        if scroll_w > client_w:
            problems.append(f"{width} px: the page scrolls sideways ({scroll_w} > {client_w} px)")
        left, right = layout["column"]

        def inside(r):
            return r["left"] >= left - 1 and r["right"] <= right + 1

        assert any("sparselib-summary" in t["cls"] for t in layout["tables"]), layout["tables"]
        for t in layout["tables"]:
            if inside(t):
                continue
            box = t["box"]
            if width == 1280:
                problems.append(f"{width} px: table.{t['cls']} spans {t['left']:.0f}-{t['right']:.0f} px, "
                                f"the text column {left:.0f}-{right:.0f} px")
            elif not (box and box["overflowX"] in ("auto", "scroll") and inside(box)):
                problems.append(f"{width} px: table.{t['cls']} ({t['left']:.0f}-{t['right']:.0f} px) is wider "
                                f"than the text column ({left:.0f}-{right:.0f} px) and not in a scroll box "
                                f"that fits it: {box}")
        problems += [f"{width} px: {f}" for f in found]
    assert not problems, "\n".join(problems)
