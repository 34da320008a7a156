"""One list of methods: the registry.  Outside the methods' own modules (and the presets, which name the runs of each
study), the package, the notebooks and the book's code read methods from the registry -- no code spells a method's
name.  The dense baseline's name is spelt once, in ``sparselib/config.py`` (``BASELINE``)."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from sparselib.config import BASELINE
from sparselib.methods import ordered_methods

REPO = Path(__file__).resolve().parents[1]
PRESETS = REPO / "sparselib" / "presets.py"
CONFIG = REPO / "sparselib" / "config.py"

#: Fences of a MyST page whose content is code: ```{code-cell} ...``` and ```python``` (or ipython3) blocks.
CODE_FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\{code-cell\}|python|ipython3?|py)(\s|$)")


def code_lines(path: Path) -> list[tuple[str, str]]:
    """(where, text) of every line of code in ``path``: a Python file's lines, a notebook's code cells, the code
    blocks of a MyST page.  ``where`` names the line for a reader: ``line 12`` or ``cell 4, line 3``."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return [(f"cell {i}, line {j}", line)
                for i, cell in enumerate(cells) if cell["cell_type"] == "code"
                for j, line in enumerate("".join(cell["source"]).splitlines(), 1)]
    lines = path.read_text(encoding="utf-8").splitlines()
    if path.suffix == ".py":
        return [(f"line {n}", line) for n, line in enumerate(lines, 1)]
    out, fence = [], None
    for n, line in enumerate(lines, 1):
        if fence is None:
            m = CODE_FENCE.match(line.strip())
            fence = m.group(1) if m else None
        elif line.strip() == fence:
            fence = None
        else:
            out.append((f"line {n}", line))
    return out


def quoted(names: list[str]) -> re.Pattern:
    """A name in quotes, as code spells it: ``"gsm"``, ``'imp_plus'``."""
    return re.compile(r"""(["'])(%s)\1""" % "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))


def spellings(files: list[Path], pattern: re.Pattern, allowed=lambda path, name, line: False) -> list[str]:
    """``file, where: line`` for every quoted name that ``allowed`` does not excuse."""
    found = []
    for path in files:
        for where, line in code_lines(path):
            for m in pattern.finditer(line):
                if not allowed(path, m.group(2), line):
                    found.append(f"{path.relative_to(REPO)}, {where}: {m.group(0)} in {line.strip()}")
    return found


def scanned_files() -> list[Path]:
    return sorted([*(REPO / "sparselib").rglob("*.py"), *(REPO / "tools").glob("*.py"),
                   *(REPO / "notebooks").glob("*.ipynb"), *(REPO / "book").glob("*.ipynb"),
                   *(REPO / "book").glob("*.md")])


def method_modules() -> set[Path]:
    """The methods' own modules (each registered class's module)."""
    return {Path(sys.modules[c.__module__].__file__).resolve() for c in ordered_methods()}


def test_the_scan_reads_code_and_nothing_else(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text('Prose may say "gsm".\n\n```{code-cell} ipython3\nruns["method"] == "gsm"\n```\n\n'
                    "```bash\npython -m sparselib run 'gsm'\n```\n", encoding="utf-8")
    nb = tmp_path / "nb.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": ['"gsm" in prose']},
                                        {"cell_type": "code", "source": ["x = 1\n", "y = ['gsm']\n"]}]}))
    assert code_lines(page) == [("line 4", 'runs["method"] == "gsm"')]
    assert code_lines(nb) == [("cell 1, line 1", "x = 1"), ("cell 1, line 2", "y = ['gsm']")]
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    assert len(spellings([page, nb], quoted(["gsm"]))) == 2


def test_the_scan_covers_the_package_notebooks_and_book():
    files = {p.relative_to(REPO).as_posix() for p in scanned_files()}
    assert {"sparselib/tables.py", "sparselib/figures.py", "notebooks/explore.ipynb", "book/results.ipynb",
            "book/explorer.md", "book/setup.md", "book/methods.md"} <= files
    assert any(f.startswith("sparselib/plots") for f in files)


def test_no_code_spells_a_method_name_outside_its_module():
    names = [c.name for c in ordered_methods() if c.name != BASELINE]
    assert len(names) >= 11

    excused = method_modules() | {PRESETS.resolve()}

    def allowed(path: Path, name: str, line: str) -> bool:
        return path.resolve() in excused

    found = spellings(scanned_files(), quoted(names), allowed)
    assert not found, "method names spelt outside the registry (read them from sparselib.methods):\n" + "\n".join(found)


def test_only_the_config_spells_the_baseline():
    # the family "dense" (Method.family, FAMILIES) is not the method: a line that speaks of the family may say it
    def allowed(path: Path, name: str, line: str) -> bool:
        return path.resolve() == CONFIG.resolve() or "famil" in line.lower()

    found = spellings(scanned_files(), quoted([BASELINE]), allowed)
    assert not found, ("the baseline's name spelt outside sparselib/config.py (use config.BASELINE or "
                       "methods.baseline()):\n" + "\n".join(found))


def test_fits_budget_says_what_the_runs_train():
    """``Method.fits_budget`` (the book's Table 1 keeps these methods) against the epochs of each method's runs in
    the study: its own plus those of the dense run it starts from."""
    from sparselib.presets import get_preset
    from sparselib.resolve import resolve

    seen = set()
    for cfg in get_preset("smoke").configs() + get_preset("mini").configs():  # smoke: every registered method
        r = resolve(cfg)
        epochs = r.build().total_epochs() + (r.reference.epochs if r.reference else 0)
        assert (epochs <= cfg.epochs) == r.method.fits_budget, (cfg.method, epochs, cfg.epochs)
        seen.add(cfg.method)
    assert seen == {c.name for c in ordered_methods()}
