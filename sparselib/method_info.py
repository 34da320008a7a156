"""The registered methods as text for a terminal or a notebook: a compact table (``python -m sparselib methods``)
and one method in detail (``python -m sparselib methods NAME``).  Everything comes from the registry at run time."""
from __future__ import annotations

import dataclasses
import sys
import textwrap

#: What fits a normal terminal.
WIDTH = 100


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _sparsity(cls) -> str:
    if cls.family == "dense":
        return "—"
    return "explicit" if cls.explicit else "implicit"


def methods_table(width: int = WIDTH) -> str:
    """One line per registered method (study order): name, label, family, how its sparsity is set, and the names
    of its hyper-parameters; no line is wider than ``width``."""
    from .methods import ordered_methods

    header = ("name", "label", "family", "sparsity", "hyper-parameters (--arg KEY=VALUE)")
    rows = [(c.name, c.label, c.family, _sparsity(c),
             ", ".join(f.name for f in dataclasses.fields(c.Hparams)) or "—") for c in ordered_methods()]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]

    def line(row) -> str:
        return _clip("  ".join(v.ljust(w) for v, w in zip(row, widths)) + "  " + row[-1], width).rstrip()

    footer = "python -m sparselib methods NAME: a method's hyper-parameters, defaults, searches and reference"
    return "\n".join([line(header), *map(line, rows), "", _clip(footer, width)])


def method_details(name: str, width: int = WIDTH) -> str:
    """Everything the registry knows about one method, wrapped to ``width`` (ValueError for an unknown name)."""
    from .methods import get_method

    cls = get_method(name)
    doc = " ".join((sys.modules[cls.__module__].__doc__ or cls.__doc__ or "").strip().split("\n\n")[0].split())
    doc = doc.removeprefix(f"{cls.label}:").strip()  # "GSM: Global Sparse Momentum ..." after "gsm (GSM):"

    def yes(flag: bool) -> str:
        return "yes" if flag else "no"

    sparsity = {"—": "none (dense training)", "explicit": "explicit: the goal sparsity (--sparsity) sets it",
                "implicit": "implicit: set through its own hyper-parameters (leave --sparsity at 0)"}[_sparsity(cls)]
    facts = [("family", cls.family), ("sparsity", sparsity), ("pruning-stable", yes(cls.pruning_stable)),
             ("sparsity-agnostic", yes(cls.sparsity_agnostic)), ("needs dense run", yes(cls.needs_dense)),
             ("retrains", yes(cls.retrains())), ("version", str(cls.version)), ("reference", cls.reference or "—")]
    fields = dataclasses.fields(cls.Hparams)
    key = max([len(k) for k, _ in facts] + [len(f.name) + 2 for f in fields] + [len(k) + 2 for k in cls.search])

    def item(label: str, value: str) -> list[str]:
        return textwrap.wrap(value, width, initial_indent=label.ljust(key) + "  ",
                             subsequent_indent=" " * (key + 2)) or [label]

    out = textwrap.wrap(f"{cls.name} ({cls.label}): {doc}", width) + [""]
    for label, value in facts:
        out += item(label, value)
    out += ["", "hyper-parameters (--arg KEY=VALUE), with their defaults:"]
    out += [line for f in fields for line in item(f"  {f.name}", repr(f.default))] or ["  none"]
    out += ["", "what the study searches:"]
    out += [line for k, v in cls.search.items() for line in item(f"  {k}", ", ".join(map(repr, v)))] or ["  nothing"]
    example = f"python -m sparselib run --preset smoke --method {cls.name}"
    if cls.family != "dense" and cls.explicit:
        example += f" --sparsity {cls.smoke_sparsity:g}"
    return "\n".join(out + ["", "example:", *textwrap.wrap(example, width, initial_indent="  ",
                                                           subsequent_indent="    ")])
