"""How a method looks in every figure and table: its label, colour, marker symbol and place in the study's order,
read from the method registry (each method's class attributes, :mod:`sparselib.methods`).

A name outside the registry (a method of an old results folder, a plugin that is not loaded) still gets a stable
colour and symbol from a spare palette (chosen by a hash of its name), its own name as label, and sorts after the
registered methods.
"""
from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from ..methods import Method

__all__ = ["canonical_method", "is_implicit", "method_color", "method_label", "method_rank", "method_symbol",
           "present", "series_label"]

# Colours (Paul Tol's) and symbols for names outside the registry, none of them a registered method's.
_FALLBACK_COLORS = ("#44AA99", "#AA4499", "#CC6677", "#DDCC77", "#117733", "#88CCEE")
_FALLBACK_SYMBOLS = ("star-diamond", "star-square", "diamond-tall", "circle-cross", "square-x")


def canonical_method(name: Any) -> str:
    """A method's name however it is spelt: ``IMP+``, ``imp-plus`` and `` Imp_Plus `` all give IMP+'s registry name;
    other names are lower-cased, with ``_`` for spaces and dashes."""
    s = str(name).strip().lower().replace("+", "_plus").replace("-", "_").replace(" ", "_")
    while "__" in s:
        s = s.replace("__", "_")
    return s.strip("_")


def _registered(name: Any) -> type[Method] | None:
    """The registered class of ``name`` (any spelling :func:`canonical_method` accepts), or None."""
    from ..methods import get_method

    try:
        return get_method(canonical_method(name))
    except ValueError:
        return None


def _stable_pick(name: str, options: tuple[str, ...]) -> str:
    return options[zlib.crc32(name.encode("utf-8")) % len(options)]


def method_color(name: Any) -> str:
    """The method's fixed colour (hex); unknown names get a stable colour from a spare palette."""
    cls = _registered(name)
    return cls.color if cls else _stable_pick(canonical_method(name), _FALLBACK_COLORS)


def method_symbol(name: Any) -> str:
    """The method's plotly marker symbol; unknown names get a stable spare symbol."""
    cls = _registered(name)
    return cls.marker if cls else _stable_pick(canonical_method(name), _FALLBACK_SYMBOLS)


def method_label(name: Any) -> str:
    """The method's display name (e.g. IMP+); an unknown name as given."""
    cls = _registered(name)
    return cls.label if cls else str(name)


def is_implicit(name: Any) -> bool:
    """True for a method whose sparsity follows from its own hyper-parameters (CS, STR, DST): the goal sparsity its
    runs record (0) is no goal.  A name outside the registry counts as explicit."""
    cls = _registered(name)
    return cls is not None and not cls.explicit


def method_rank(name: Any) -> tuple[int, str]:
    """Sort key: the registry's study order, unknown names after all registered ones (alphabetically)."""
    from ..methods import method_names

    key, names = canonical_method(name), method_names()
    return (names.index(key) if key in names else len(names), key)


def present(value: Any) -> bool:
    """False for None / NaN / pandas NA / empty string."""
    if value is None:
        return False
    try:
        if pd.isna(value):
            return False
    except (TypeError, ValueError):
        pass
    return str(value) != ""


def series_label(method: Any, schedule: Any = "", variant: str = "") -> str:
    """A method's label with its retraining schedule (``IMP · LLR``) and configuration, where it has them."""
    label = method_label(method)
    if present(schedule):
        label = f"{label} · {str(schedule).upper()}"
    return f"{label} ({variant})" if variant else label
