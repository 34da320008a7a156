"""Run configuration: a frozen, validated dataclass whose hash names the run folder.

Identity follows OpenLTH's rule: the run id is the md5 of the fields that differ from their defaults, so adding a new
field with a default later keeps every existing run id valid.  Runtime choices that do not change the science (device,
data folder, where results go, progress bars) live in :class:`Runtime` and are not hashed.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field and what is allowed."""


#: Arithmetic precisions a run may use (Runtime.precision); "bf16" autocasts the forward passes, weights stay fp32.
PRECISIONS = ("fp32", "bf16")


def _fail(field_name: str, value: Any, allowed: str) -> None:
    raise ConfigError(f"{field_name}={value!r} is invalid: {allowed}")


@dataclass(frozen=True)
class RunConfig:
    # --- the setting (what is trained on what) ---
    setting: str = "custom"                 # label of the setting, e.g. the preset name; part of the identity
    dataset: str = "synthetic"
    model: str = "resnet8"
    model_width: int | None = None          # base width of a CIFAR ResNet (16 when None)
    dropout: float | None = None            # WRN dropout (0.3 when None)
    train_subset: int | None = None         # fixed-seed subset of the training set (None: all of it)
    test_subset: int | None = None
    val_fraction: float = 0.1
    augment: bool = True                    # the dataset's train augmentation (crop, flip, rotation); False: none
    # --- dense training (Table 2) ---
    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.1
    lr_schedule: str = "multistep"
    lr_milestones: tuple[int, ...] = ()
    lr_gamma: float = 0.1
    warmup_epochs: int = 0
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 1e-4
    # --- the method ---
    method: str = "dense"
    goal_sparsity: float = 0.0
    method_args: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        # Normalise JSON round-trips (lists -> tuples) so equal configs hash equally.
        object.__setattr__(self, "lr_milestones", tuple(int(m) for m in self.lr_milestones))
        object.__setattr__(self, "method_args", dict(sorted(dict(self.method_args).items())))
        self._validate()

    # ------------------------------------------------------------------------------------------------------
    def _validate(self) -> None:
        from .data import DATASETS
        from .methods import get_method
        from .models import check_model_name
        from .schedules import DENSE_SCHEDULES

        if self.dataset not in DATASETS:
            _fail("dataset", self.dataset, f"choose one of {', '.join(sorted(DATASETS))}")
        try:
            check_model_name(self.model)
        except ValueError as e:
            raise ConfigError(f"model: {e}") from None
        try:
            cls = get_method(self.method)
        except ValueError as e:
            raise ConfigError(f"method: {e}") from None
        if not 0.0 <= self.goal_sparsity < 1.0:
            _fail("goal_sparsity", self.goal_sparsity, "must lie in [0, 1), e.g. 0.9 for 90 % of the weights pruned")
        if not cls.explicit and self.goal_sparsity != 0.0:
            _fail("goal_sparsity", self.goal_sparsity, f"method {self.method!r} controls sparsity implicitly through "
                  f"its own hyper-parameters (method_args): leave goal_sparsity at 0")
        if cls.explicit and cls.name != "dense" and self.goal_sparsity <= 0.0:
            _fail("goal_sparsity", self.goal_sparsity, f"method {self.method!r} needs a goal sparsity in (0, 1)")
        if cls.name == "dense" and self.goal_sparsity != 0.0:
            _fail("goal_sparsity", self.goal_sparsity, "method 'dense' does not prune: use 0")
        for name in ("epochs", "batch_size"):
            if int(getattr(self, name)) <= 0:
                _fail(name, getattr(self, name), "must be a positive integer")
        if self.lr <= 0:
            _fail("lr", self.lr, "must be positive")
        if self.lr_schedule not in DENSE_SCHEDULES:
            _fail("lr_schedule", self.lr_schedule, f"choose one of {', '.join(sorted(DENSE_SCHEDULES))}")
        if not 0.0 <= self.val_fraction < 1.0:
            _fail("val_fraction", self.val_fraction, "must lie in [0, 1)")
        if not 0 <= self.warmup_epochs < self.epochs:
            _fail("warmup_epochs", self.warmup_epochs, f"must lie in [0, epochs={self.epochs})")
        if any(not 0 < m < self.epochs for m in self.lr_milestones):
            _fail("lr_milestones", self.lr_milestones, f"each milestone must lie in (0, epochs={self.epochs})")
        try:
            cls.check_config(self, self.hparams())
        except (TypeError, ValueError) as e:
            raise ConfigError(f"method_args for {self.method!r}: {e}") from None

    # ------------------------------------------------------------------------------------------------------
    def hparams(self):
        """The method's hyper-parameter dataclass, built (and validated) from ``method_args``."""
        from .methods import build_hparams, get_method

        cls = get_method(self.method)
        return build_hparams(cls.Hparams, self.method_args, self.method)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["lr_milestones"] = list(self.lr_milestones)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RunConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(names))}")
        return cls(**d)

    def non_default(self) -> dict[str, Any]:
        """Fields that differ from their defaults: the identity of the run."""
        out = {}
        for f in dataclasses.fields(self):
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            value = getattr(self, f.name)
            if isinstance(default, tuple):
                value, default = list(value), list(default)
            if value != default:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @property
    def run_id(self) -> str:
        blob = json.dumps(self.non_default(), sort_keys=True, separators=(",", ":"))
        return hashlib.md5(blob.encode()).hexdigest()[:12]

    def replace(self, **changes: Any) -> "RunConfig":
        return dataclasses.replace(self, **changes)

    def dense_config(self) -> "RunConfig":
        """The dense run of the same setting and seed (what IMP starts from)."""
        return self.replace(method="dense", goal_sparsity=0.0, method_args={})


@dataclass(frozen=True)
class Runtime:
    """How to execute a run; never part of its identity."""
    results: str = "results"                # runs go to <results>/<setting>/<run_id>/
    device: str = "auto"                    # auto: cuda when available, else cpu
    data_root: str | None = None
    download: bool = False
    progress: bool = True
    num_threads: int | None = None
    # speed options (recorded in each run's metrics.json; they change the arithmetic, not the experiment)
    precision: str = "fp32"                 # fp32 | bf16 (autocast of the forward passes; weights stay fp32)
    channels_last: bool = False             # NHWC memory layout for model and inputs (faster convolutions on GPUs)
    compile: str | None = None              # torch.compile backend for the training forward pass, e.g. "inductor"

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            _fail("precision", self.precision, f"choose one of {', '.join(PRECISIONS)}")
        if self.compile is not None and (not isinstance(self.compile, str) or not self.compile):
            _fail("compile", self.compile, "a torch.compile backend name such as 'inductor', or None")

    def speed_options(self) -> dict:
        return {"precision": self.precision, "channels_last": self.channels_last, "compile": self.compile}

    def resolved_device(self):
        import torch
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)
