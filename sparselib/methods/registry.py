"""The method registry: every method is one module of this package (or of a package named in
``$SPARSELIB_METHODS``) that registers one class by name.  Everything else — tables, figures, the selection's order,
the smoke study, the book — asks the registry, never a list of its own."""
from __future__ import annotations

import importlib
import os
import pkgutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .base import Method

#: Environment variable: comma-separated importable modules with more methods (they call ``register``).  Read when
#: the registry is first used, in every process (sweep workers included), so a method outside this package can be
#: run, swept and plotted like a built-in one.
PLUGINS_ENV = "SPARSELIB_METHODS"

METHODS: dict[str, type["Method"]] = {}
_loaded = False


def register(cls: type["Method"]) -> type["Method"]:
    """Class decorator: make a method available by its ``name``."""
    if not cls.name:
        raise ValueError(f"{cls.__qualname__} has no name")
    if cls.name in METHODS and METHODS[cls.name] is not cls:
        raise ValueError(f"method {cls.name!r} registered twice ({METHODS[cls.name].__module__} and {cls.__module__})")
    METHODS[cls.name] = cls
    return cls


def load() -> dict[str, type["Method"]]:
    """Import every method module once (built-in ones, then ``$SPARSELIB_METHODS``) and return the registry."""
    global _loaded
    if not _loaded:
        _loaded = True
        package = __name__.rpartition(".")[0]
        for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
            if not module.name.startswith("_"):
                importlib.import_module(f"{package}.{module.name}")
    for name in filter(None, (s.strip() for s in os.environ.get(PLUGINS_ENV, "").split(","))):
        importlib.import_module(name)
    return METHODS


def get_method(name: str) -> type["Method"]:
    methods = load()
    try:
        return methods[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}: choose one of {', '.join(sorted(methods))}") from None


def ordered_methods() -> list[type["Method"]]:
    """The registered methods in the study's order (each method's ``order``, then its name)."""
    return sorted(load().values(), key=lambda c: (c.order, c.name))


def method_names() -> list[str]:
    return [c.name for c in ordered_methods()]


def baseline() -> type["Method"]:
    """The dense baseline: the one method of family ``dense`` (relative times are measured against it)."""
    found = [c for c in load().values() if c.family == "dense"]
    if len(found) != 1:
        raise RuntimeError(f"expected exactly one registered method of family 'dense', found {len(found)}")
    return found[0]
