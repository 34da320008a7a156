"""Put the JavaScript the built book needs into ``book/_vendor/`` (served from the site itself).

The book must render with no network at all, so nothing it loads may come from a CDN:

* ``plotly/plotly.min.js``       copied from the installed ``plotly`` package (loaded once per page
  that holds a figure, see :func:`setup`);
* ``requirejs/require.js``       npm ``requirejs``                      } ipywidgets in the static
* ``jupyter-widgets/embed-amd.js`` (+ its fonts)                        } pages (myst-nb's
                                 npm ``@jupyter-widgets/html-manager``  } ``nb_ipywidgets_js``)
* ``mathjax/es5/tex-chtml.js``   (+ the fonts/extensions it loads on demand) npm ``mathjax``
  (Sphinx's ``mathjax_path``).

The npm packages are fetched with ``npm pack <name>@<exact version>`` from the npm registry and
checked against the pinned ``sha512`` integrity below; nothing else is downloaded.

Vendor bundles carry a few *dormant* CDN fallbacks (plotly.js: geo topojson and map icons;
html-manager: third-party widget modules, and a commented-out Google Fonts import; MathJax:
speech-rule-engine locale files).  None is
needed by this book, but each would reach out to a CDN if triggered, so the copies here rewrite the
scheme+host of those URLs to the local, non-existent prefix :data:`NO_CDN` -- such a feature then
fails locally instead of leaking a request.  Every rewrite is counted in the manifest.

``book/_vendor`` is deliberately *not* ``_static``: jupyter-book injects every ``.js`` under a
root ``_static/`` folder into every page.  ``_config.yml`` adds it to ``html_static_path`` (its
contents land in ``_build/html/_static/``).

Usage::

    python tools/book_assets.py            # idempotent; a no-op (~50 ms) when up to date
    python tools/book_assets.py --check    # exit 1 if anything is missing/stale, fetch nothing
    python tools/book_assets.py --force    # re-fetch and re-copy everything

The module is also a Sphinx extension (``_config.yml``: ``sphinx.local_extensions``): it makes sure
the assets are in place before the build, adds ``plotly.min.js`` to exactly the pages that contain
a plotly figure, adds a small require.js/MathJax prelude to pages with ipywidgets, and marks every
notebook page as outdated on each build (they read ``results/``, which Sphinx does not track).
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
VENDOR_DIR = REPO_ROOT / "book" / "_vendor"
MANIFEST_NAME = ".sparselib-assets.json"  # dotfile: Sphinx does not copy it into _static
LAYOUT_VERSION = 2  # bump when the copy rules below change

#: URL prefix that replaces the scheme+host of dormant CDN fallbacks inside vendored files.
NO_CDN = "./offline-no-cdn/"
_CDN_RE = re.compile(
    rb"https?://(?:(?:cdn|unpkg)[A-Za-z0-9.-]*|fonts\.googleapis\.com|fonts\.gstatic\.com)/")
_TEXT_SUFFIXES = {".js", ".css", ".json", ".html", ".mjs"}

#: Paths (relative to ``_build/html/_static``) that ``_config.yml`` refers to.
PLOTLY_JS = "plotly/plotly.min.js"
REQUIRE_JS = "requirejs/require.js"
WIDGETS_EMBED_JS = "jupyter-widgets/embed-amd.js"
MATHJAX_JS = "mathjax/es5/tex-chtml.js"


@dataclasses.dataclass(frozen=True)
class NpmPin:
    """An exact npm package version, its tarball integrity and what to copy out of it."""

    name: str
    version: str
    integrity: str  # the registry's dist.integrity (sha512, base64)
    dest: str  # sub-folder of the vendor dir
    include: tuple[str, ...]  # fnmatch patterns relative to the package root ("package/")
    exclude: tuple[str, ...] = ()
    strip: str = ""  # prefix removed from the package-relative path before copying


NPM_PINS: tuple[NpmPin, ...] = (
    NpmPin(
        name="requirejs",
        version="2.3.8",
        integrity="sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
        dest="requirejs",
        include=("require.js", "README.md"),
    ),
    NpmPin(
        # 1.0.x is the html-manager line of ipywidgets 8.1 (controls 2.0 / base 2.0 models).
        name="@jupyter-widgets/html-manager",
        version="1.0.15",
        integrity="sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        dest="jupyter-widgets",
        # embed-amd.js finds its fonts next to itself (webpack public path = its own URL).
        include=(
            "dist/embed-amd.js",
            "dist/*.woff",
            "dist/*.woff2",
            "dist/*.ttf",
            "dist/*.eot",
            "dist/*.svg",
        ),
        strip="dist/",
    ),
    NpmPin(
        name="mathjax",
        version="3.2.2",
        integrity="sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        dest="mathjax",
        # tex-chtml.js plus what it loads lazily: TeX extensions (autoload/require), CHTML fonts,
        # the menu, the accessibility explorer and speech-rule-engine data.
        include=(
            "LICENSE",
            "es5/tex-chtml.js",
            "es5/input/tex/extensions/*",
            "es5/output/chtml/*",
            "es5/ui/*",
            "es5/a11y/*",
            "es5/sre/*",
            "es5/adaptors/*",
        ),
    ),
)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _log(msg: str) -> None:
    print(f"[book_assets] {msg}", file=sys.stderr)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _sri_sha512(path: Path) -> str:
    h = hashlib.sha512()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha512-" + base64.b64encode(h.digest()).decode("ascii")


def scrub_cdn(data: bytes) -> tuple[bytes, int]:
    """Replace the scheme+host of every CDN URL in ``data`` by :data:`NO_CDN`."""
    return _CDN_RE.subn(NO_CDN.encode("ascii"), data)


def _copy_scrubbed(src: Path, dst: Path) -> int:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.suffix in _TEXT_SUFFIXES:
        data, n = scrub_cdn(src.read_bytes())
        dst.write_bytes(data)
        return n
    shutil.copyfile(src, dst)
    return 0


def _plotly_source() -> tuple[Path, str]:
    import plotly  # local import: only needed when (re)copying

    src = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    if not src.is_file():
        raise RuntimeError(f"the installed plotly {plotly.__version__} has no {src}")
    return src, plotly.__version__


def _expected_manifest() -> dict:
    src, version = _plotly_source()
    return {
        "layout": LAYOUT_VERSION,
        "plotly": {"version": version, "source_sha256": _sha256(src)},
        "npm": {p.name: {"version": p.version, "integrity": p.integrity} for p in NPM_PINS},
    }


def _read_manifest(dest: Path) -> dict:
    try:
        return json.loads((dest / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return {}


def _same_pins(have: dict, want: dict) -> bool:
    return {k: have.get(k) for k in ("layout", "plotly", "npm")} == want


def missing_or_stale(dest: Path = VENDOR_DIR) -> list[str]:
    """What :func:`ensure_assets` would have to do (empty list: up to date)."""
    problems = []
    have = _read_manifest(dest)
    if not have:
        return [f"no manifest {dest / MANIFEST_NAME}"]
    want = _expected_manifest()
    if have.get("layout") != want["layout"]:
        problems.append("layout version changed")
    if have.get("plotly") != want["plotly"]:
        problems.append("installed plotly changed")
    for name, pin in want["npm"].items():
        if have.get("npm", {}).get(name) != pin:
            problems.append(f"{name} pin changed")
    for rel in have.get("files", []):
        if not (dest / rel).is_file():
            problems.append(f"missing {rel}")
            break
    for rel in (PLOTLY_JS, REQUIRE_JS, WIDGETS_EMBED_JS, MATHJAX_JS):
        if not (dest / rel).is_file():
            problems.append(f"missing {rel}")
    return problems


# --------------------------------------------------------------------------------------------
# fetching
# --------------------------------------------------------------------------------------------


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "`npm` is not on PATH: it is needed once to fetch require.js, the ipywidgets "
            "html-manager and MathJax from the npm registry (apt-get install npm)"
        )
    return npm


def _npm_pack(pin: NpmPin, workdir: Path) -> Path:
    spec = f"{pin.name}@{pin.version}"
    env = dict(os.environ, npm_config_loglevel="error", npm_config_fund="false",
               npm_config_audit="false", npm_config_update_notifier="false")
    proc = subprocess.run(
        [_npm(), "pack", spec, "--json", "--pack-destination", str(workdir)],
        cwd=workdir, env=env, capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"`npm pack {spec}` failed:\n{proc.stderr.strip()}")
    try:
        info = json.loads(proc.stdout)[0]
        tarball = workdir / info["filename"]
    except (ValueError, LookupError, TypeError):
        candidates = sorted(workdir.glob("*.tgz"))
        if len(candidates) != 1:
            raise RuntimeError(f"`npm pack {spec}`: cannot find the tarball") from None
        tarball = candidates[0]
    got = _sri_sha512(tarball)
    if got != pin.integrity:
        raise RuntimeError(f"{spec}: integrity mismatch (pinned {pin.integrity}, got {got})")
    return tarball


def _install_npm_pin(pin: NpmPin, dest: Path, tmp: Path) -> tuple[list[str], int]:
    work = tmp / re.sub(r"[^A-Za-z0-9.-]", "_", pin.name)
    work.mkdir()
    tarball = _npm_pack(pin, work)
    extract = work / "x"
    with tarfile.open(tarball) as tf:
        tf.extractall(extract, filter="data")
    root = extract / "package"
    target = dest / pin.dest
    if target.exists():
        shutil.rmtree(target)
    files, scrubbed = [], 0
    for src in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = src.relative_to(root).as_posix()
        if not any(fnmatch.fnmatch(rel, pat) for pat in pin.include):
            continue
        if any(fnmatch.fnmatch(rel, pat) for pat in pin.exclude):
            continue
        out_rel = rel[len(pin.strip):] if pin.strip and rel.startswith(pin.strip) else rel
        scrubbed += _copy_scrubbed(src, target / out_rel)
        files.append(f"{pin.dest}/{out_rel}")
    if not files:
        raise RuntimeError(f"{pin.name}@{pin.version}: nothing matched {pin.include}")
    return files, scrubbed


def ensure_assets(dest: Path = VENDOR_DIR, force: bool = False) -> bool:
    """Make ``dest`` hold every asset at the pinned versions.  Returns True if it changed."""
    dest = Path(dest)
    if not force and not missing_or_stale(dest):
        return False
    dest.mkdir(parents=True, exist_ok=True)
    want = _expected_manifest()
    have = {} if force else _read_manifest(dest)
    manifest = {**want, "files": [], "cdn_urls_rewritten": {}}

    src, _ = _plotly_source()
    n = _copy_scrubbed(src, dest / PLOTLY_JS)
    manifest["files"].append(PLOTLY_JS)
    manifest["cdn_urls_rewritten"]["plotly"] = n
    _log(f"plotly.min.js {want['plotly']['version']} copied ({n} dormant CDN URLs rewritten)")

    with tempfile.TemporaryDirectory(prefix="book_assets_") as tmp:
        for pin in NPM_PINS:
            old = have.get("npm", {}).get(pin.name)
            old_files = [f for f in have.get("files", []) if f.startswith(pin.dest + "/")]
            if (not force and have.get("layout") == LAYOUT_VERSION
                    and old == want["npm"][pin.name] and old_files
                    and all((dest / f).is_file() for f in old_files)):
                manifest["files"] += old_files
                manifest["cdn_urls_rewritten"][pin.name] = (
                    have.get("cdn_urls_rewritten", {}).get(pin.name))
                continue
            files, n = _install_npm_pin(pin, dest, Path(tmp))
            manifest["files"] += files
            manifest["cdn_urls_rewritten"][pin.name] = n
            _log(f"{pin.name}@{pin.version}: {len(files)} files ({n} dormant CDN URLs rewritten)")

    (dest / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return True


# --------------------------------------------------------------------------------------------
# Sphinx extension
# --------------------------------------------------------------------------------------------


def _sphinx_ensure(app, config) -> None:
    from sphinx.errors import ExtensionError

    try:
        if ensure_assets(VENDOR_DIR):
            _log(f"assets refreshed in {VENDOR_DIR}")
    except Exception as exc:  # noqa: BLE001 - turned into a clear build error
        raise ExtensionError(
            f"the book's local JS assets are missing and could not be fetched ({exc}). "
            f"Run `python tools/book_assets.py` (needs npm and the npm registry once)."
        ) from exc
    # jupyter-book adds every .js under *every* html_static_path entry to every page as soon as
    # the source folder has a `_static/` directory: that would load all of MathJax's components,
    # plotly.js and the widget manager on each page.
    vendored = tuple(f"{p.dest}/" for p in NPM_PINS) + (PLOTLY_JS.split("/")[0] + "/",)
    injected = [str(js[0] if isinstance(js, (tuple, list)) else js)
                for js in config.html_js_files]
    injected = [js for js in injected if js.startswith(vendored)]
    if injected:
        raise ExtensionError(
            f"{len(injected)} vendored scripts (e.g. {injected[0]}) would be loaded on every page: "
            f"jupyter-book does that to html_static_path when a root `_static/` folder exists. "
            f"Put custom static files somewhere else and list them in _config.yml instead."
        )


# Inline script for pages with ipywidgets, placed before require.js:
# * a global `require` object is require.js's configuration: map the html-manager's module path
#   to where embed-amd.js is served, so that it finds its icon fonts next to itself (unmapped,
#   they are looked up under <page folder>/@jupyter-widgets/html-manager/dist/);
# * ipywidgets' description typesetting calls the MathJax 2 API (MathJax.Hub.Queue), but the
#   page runs MathJax 3: bridge that one call (widgets render on `load`, after this runs).
_WIDGETS_PRELUDE = """var require = {paths: {"@jupyter-widgets/html-manager/dist": %s}};
document.addEventListener("DOMContentLoaded", function () {
  var mj = window.MathJax;
  if (mj && !mj.Hub) {
    mj.Hub = {Queue: function (job) {
      var el = job && job[2];
      if (el && mj.typesetPromise) { mj.typesetPromise([el]).catch(function () {}); }
    }};
  }
});"""


def _sphinx_page_js(app, pagename, templatename, context, doctree) -> None:
    # plotly.min.js only where a figure is; before require.js (priority 500) so that it never
    # sees an AMD `define` (this plotly.js build does not use it, but older ones do).
    if "plotly-graph-div" in context.get("body", ""):
        app.add_js_file(PLOTLY_JS, priority=200)
    # myst-nb has just added require.js + embed-amd.js if this page holds widget state.
    scripts = context.get("script_files") or []
    names = [str(getattr(js, "filename", js) or "") for js in scripts]
    if any(n.endswith(WIDGETS_EMBED_JS) for n in names):
        base = context["pathto"]("_static/" + WIDGETS_EMBED_JS.rsplit("/", 1)[0], 1)
        app.add_js_file(None, body=_WIDGETS_PRELUDE % json.dumps(base), priority=490)


def _sphinx_outdated(app, env, added, changed, removed):
    # Notebook pages read results/ while they execute, and Sphinx does not track that folder: an
    # incremental build would keep showing old runs. Re-read (so re-execute) them every build.
    return [d for d in env.found_docs if _is_notebook(Path(env.doc2path(d)))]


def _is_notebook(path: Path) -> bool:
    """A .ipynb page, or a MyST text notebook (.md whose front matter says ``file_format: mystnb``)."""
    if path.suffix == ".ipynb":
        return True
    return path.suffix == ".md" and "file_format: mystnb" in path.read_text(encoding="utf-8")[:500]


def setup(app):
    app.connect("env-get-outdated", _sphinx_outdated)
    app.connect("config-inited", _sphinx_ensure, priority=100)
    # after myst-nb's own html-page-context listener, which adds the widget scripts
    app.connect("html-page-context", _sphinx_page_js, priority=900)
    return {"version": str(LAYOUT_VERSION), "parallel_read_safe": True,
            "parallel_write_safe": True}


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dest", type=Path, default=VENDOR_DIR,
                    help="vendor folder (default %(default)s)")
    ap.add_argument("--check", action="store_true", help="only report; exit 1 if not up to date")
    ap.add_argument("--force", action="store_true", help="re-fetch and re-copy everything")
    args = ap.parse_args(argv)
    if args.check:
        problems = missing_or_stale(args.dest)
        for p in problems:
            _log(p)
        _log("up to date" if not problems else "NOT up to date")
        return 1 if problems else 0
    try:
        changed = ensure_assets(args.dest, force=args.force)
    except RuntimeError as exc:
        _log(f"error: {exc}")
        return 1
    _log(("updated " if changed else "up to date: ") + str(args.dest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
