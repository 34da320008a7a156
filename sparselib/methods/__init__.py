"""Registered methods.  Importing this package registers every method module."""
from .base import METHODS, Method, NoHparams, build_hparams, get_method, register
from . import dense, gmp, imp  # noqa: F401  (registration)

__all__ = ["METHODS", "Method", "NoHparams", "build_hparams", "get_method", "register"]
