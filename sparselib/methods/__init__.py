"""Registered methods.  Every module of this package is imported here, which registers its method(s)."""
import importlib
import pkgutil

from .base import METHODS, STUDY_ORDER, Method, NoHparams, build_hparams, get_method, ordered_methods, register

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["METHODS", "STUDY_ORDER", "Method", "NoHparams", "build_hparams", "get_method", "ordered_methods", "register"]
