"""The methods: one module each, registered by name (see :mod:`.registry`).  Importing this package loads them."""
from .base import Method, NoHparams, build_hparams
from .registry import METHODS, baseline, get_method, load, method_names, ordered_methods, register

load()

__all__ = ["METHODS", "Method", "NoHparams", "baseline", "build_hparams", "get_method", "load", "method_names",
           "ordered_methods", "register"]
