"""Resolving a configuration: the one place where a :class:`~sparselib.config.RunConfig` (a value) meets the
registries.  ``resolve(cfg)`` checks that its method, model and dataset exist, builds the method's typed
hyper-parameters, stamps the method's current version into the config (part of the run's identity above version 1)
and works out the dense run it starts from.  Runner, sweep, presets and the command line call it once per run.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config import ConfigError, RunConfig, _fail


@dataclass(frozen=True)
class Resolved:
    """A configuration with everything the registries know about it."""
    cfg: RunConfig                 # with method_version set to the method's current version
    method: type                   # the Method class
    hparams: Any                   # its hyper-parameter dataclass, built from cfg.method_args
    reference: RunConfig | None    # the (resolved) dense run it starts from, or None

    @property
    def run_id(self) -> str:
        return self.cfg.run_id

    def build(self):
        """A fresh instance of the method for this run."""
        return self.method(self.cfg, self.hparams)


def resolve(cfg: RunConfig) -> Resolved:
    """Check ``cfg`` against the registries and resolve it (ConfigError naming the field otherwise)."""
    from .data import DATASETS
    from .methods import build_hparams, get_method
    from .models import check_model_name
    from .schedules import DENSE_SCHEDULES

    if cfg.dataset not in DATASETS:
        _fail("dataset", cfg.dataset, f"choose one of {', '.join(sorted(DATASETS))}")
    try:
        check_model_name(cfg.model)
    except ValueError as e:
        raise ConfigError(f"model: {e}") from None
    if cfg.lr_schedule not in DENSE_SCHEDULES:
        _fail("lr_schedule", cfg.lr_schedule, f"choose one of {', '.join(sorted(DENSE_SCHEDULES))}")
    try:
        cls = get_method(cfg.method)
    except ValueError as e:
        raise ConfigError(f"method: {e}") from None
    # None: not stamped yet (or version 1, which is never stored) -> the current version; any other version
    # names rules this code no longer implements
    if cfg.method_version is not None and cfg.method_version != cls.version:
        raise ConfigError(f"method_version={cfg.method_version} of method {cfg.method!r} is not what this code "
                          f"implements (version {cls.version}): the run was made by other rules; run it again "
                          f"without method_version")
    _check_goal(cfg, cls)
    try:
        hparams = build_hparams(cls.Hparams, cfg.method_args, cfg.method)
        cls.check_config(cfg, hparams)
        reference = cls.reference_config(cfg, hparams)
    except (TypeError, ValueError) as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(f"method_args for {cfg.method!r}: {e}") from None
    stamped = cfg.replace(method_version=cls.version)
    return Resolved(stamped, cls, hparams, resolve(reference).cfg if reference is not None else None)


def _check_goal(cfg: RunConfig, cls: type) -> None:
    if cls.family == "dense":
        if cfg.goal_sparsity != 0.0:
            _fail("goal_sparsity", cfg.goal_sparsity, f"method {cfg.method!r} does not prune: use 0")
    elif not cls.explicit:
        if cfg.goal_sparsity != 0.0:
            _fail("goal_sparsity", cfg.goal_sparsity, f"method {cfg.method!r} controls sparsity implicitly through "
                  f"its own hyper-parameters (method_args): leave goal_sparsity at 0")
    elif cfg.goal_sparsity <= 0.0:
        _fail("goal_sparsity", cfg.goal_sparsity, f"method {cfg.method!r} needs a goal sparsity in (0, 1)")


def baseline_config(cfg: RunConfig) -> RunConfig:
    """The resolved dense run of ``cfg``'s setting and seed (relative time's denominator)."""
    from .config import dense_config

    return resolve(dense_config(cfg)).cfg


__all__ = ["Resolved", "baseline_config", "resolve"]
