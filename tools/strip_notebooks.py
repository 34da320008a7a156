#!/usr/bin/env python3
"""Keep committed notebooks clean: no outputs, no execution counts, no widget state, no kernel details.

Running a notebook in JupyterLab (or papermill) and saving it writes its outputs, execution counts, the state of its
widgets (explore.ipynb's holds absolute paths of this machine) and the kernel's details (version, display name) into
the file; committed, they make diffs unreadable and leak the machine's paths.  This script takes them out and keeps
what the notebooks need: sources, cell ids, cell tags (papermill's ``parameters``, the book's ``remove-input``), the
kernel's name and language.  Plain JSON, no dependency beyond Python, so it also runs as a git filter:

    python3 tools/strip_notebooks.py              # strip notebooks/*.ipynb in place
    python3 tools/strip_notebooks.py --check      # list the notebooks that are not clean; exit status 1 if any
    python3 tools/strip_notebooks.py --filter     # stdin to stdout: the git "clean" filter (see the README)
    python3 tools/strip_notebooks.py FILE ...     # other notebooks (same with --check)
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT = sorted((REPO / "notebooks").glob("*.ipynb"))
#: Cell metadata kept: tags (papermill's parameters cell, the book's remove-input / hide-input).
CELL_METADATA = ("tags",)
#: Kernel fields kept: which kernel runs it, not the details of the one that last did.
KERNELSPEC = ("display_name", "language", "name")


def strip(nb: dict[str, Any]) -> dict[str, Any]:
    """``nb`` (a notebook's JSON) without outputs, execution counts, widget state or kernel details."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cell["metadata"] = {k: v for k, v in cell.get("metadata", {}).items() if k in CELL_METADATA}
    meta = nb.get("metadata", {})
    kernel = meta.get("kernelspec", {})
    language = meta.get("language_info", {}).get("name") or kernel.get("language", "python")
    nb["metadata"] = {"kernelspec": {k: kernel[k] for k in KERNELSPEC if k in kernel},
                      "language_info": {"name": language}}
    return nb


def dumps(nb: dict[str, Any]) -> str:
    """As nbformat writes a notebook (one-space indent, sorted keys, UTF-8 as is, a final newline)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def stripped(text: str) -> str:
    """A notebook's text, stripped."""
    return dumps(strip(json.loads(text)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="notebooks (default: notebooks/*.ipynb)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="change nothing; list the notebooks that are not clean")
    mode.add_argument("--filter", action="store_true", help="read a notebook on stdin, write it stripped to stdout")
    args = parser.parse_args(argv)
    if args.filter:
        sys.stdout.write(stripped(sys.stdin.read()))
        return 0
    dirty = []
    for path in args.files or DEFAULT:
        text = path.read_text(encoding="utf-8")
        clean = stripped(text)
        if clean != text:
            dirty.append(path)
            if not args.check:
                path.write_text(clean, encoding="utf-8")
    for path in dirty:
        print(f"{'not clean' if args.check else 'stripped'}: {path}")
    return 1 if args.check and dirty else 0


if __name__ == "__main__":
    sys.exit(main())
