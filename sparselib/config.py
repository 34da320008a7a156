"""Run configuration: a frozen dataclass — a value — whose hash names the run folder.

Identity follows OpenLTH's rule: the run id is the md5 of the fields that differ from their defaults, so adding a new
field with a default later keeps every existing run id valid.  Runtime choices that do not change the science (device,
data folder, where results go, progress bars) live in :class:`Runtime` and are not hashed.

A config knows nothing of the registries (methods, models, datasets): it checks only what it can check on its own.
Whether its method, model and dataset exist, its typed hyper-parameters and the dense run it starts from are worked
out once, by :func:`sparselib.resolve.resolve`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field and what is allowed."""


#: Arithmetic precisions (RunConfig.precision); "bf16" autocasts the forward passes, weights stay fp32.
PRECISIONS = ("fp32", "bf16")
#: The dense baseline's method name: the default of RunConfig.method (its module registers it under this name).
BASELINE = "dense"


def _fail(field_name: str, value: Any, allowed: str) -> None:
    raise ConfigError(f"{field_name}={value!r} is invalid: {allowed}")


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        _fail(name, value, "must be a positive integer")


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
    # --- arithmetic: both change the numbers a run produces, so both are part of what a run is ---
    precision: str = "fp32"                 # fp32 | bf16 (autocast of forward passes; weights, optimizer, masks fp32)
    channels_last: bool = False             # NHWC memory layout of the model and its inputs
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
    #: BatchNorm recalibration: after every pruning step and after the final hard prune, re-estimate BatchNorm's
    #: running statistics on this many training images (no gradient step; 0: off)
    bn_recalibration: int = 0
    # --- the method ---
    method: str = BASELINE
    goal_sparsity: float = 0.0
    method_args: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    #: the version of the method's rules that made (or makes) the run (see Method.version); None until resolved,
    #: and for version 1, which is never stored, so the ids of methods never changed stay as they were
    method_version: int | None = None

    def __post_init__(self) -> None:
        # Normalise JSON round-trips (lists -> tuples) so equal configs hash equally.
        object.__setattr__(self, "lr_milestones", tuple(int(m) for m in self.lr_milestones))
        object.__setattr__(self, "method_args", dict(sorted(dict(self.method_args).items())))
        if self.method_version == 1:  # the starting value is not part of the identity
            object.__setattr__(self, "method_version", None)
        self._validate()

    # ------------------------------------------------------------------------------------------------------
    def _validate(self) -> None:
        for name in ("setting", "dataset", "model", "method", "lr_schedule"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                _fail(name, value, "must be a non-empty string")
        if not isinstance(self.goal_sparsity, (int, float)) or not 0.0 <= self.goal_sparsity < 1.0:
            _fail("goal_sparsity", self.goal_sparsity, "must lie in [0, 1), e.g. 0.9 for 90 % of the weights pruned")
        for name in ("epochs", "batch_size"):
            _positive_int(name, getattr(self, name))
        if self.precision not in PRECISIONS:
            _fail("precision", self.precision, f"choose one of {', '.join(PRECISIONS)}")
        if not isinstance(self.channels_last, bool):
            _fail("channels_last", self.channels_last, "must be true or false")
        if not isinstance(self.lr, (int, float)) or not math.isfinite(self.lr) or self.lr <= 0:
            _fail("lr", self.lr, "must be a positive number")
        if not 0.0 <= self.val_fraction < 1.0:
            _fail("val_fraction", self.val_fraction, "must lie in [0, 1)")
        if not 0 <= self.warmup_epochs < self.epochs:
            _fail("warmup_epochs", self.warmup_epochs, f"must lie in [0, epochs={self.epochs})")
        if any(not 0 < m < self.epochs for m in self.lr_milestones):
            _fail("lr_milestones", self.lr_milestones, f"each milestone must lie in (0, epochs={self.epochs})")
        if isinstance(self.bn_recalibration, bool) or not isinstance(self.bn_recalibration, int) \
                or self.bn_recalibration < 0:
            _fail("bn_recalibration", self.bn_recalibration, "must be an integer >= 0 (training images; 0: off)")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            _fail("seed", self.seed, "must be an integer >= 0")
        if self.method_version is not None:
            _positive_int("method_version", self.method_version)

    # ------------------------------------------------------------------------------------------------------
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
        """The md5 of the non-default fields.  A config made by :func:`sparselib.resolve.resolve` carries its
        method's current version, so this is the id under which the current code stores the run."""
        blob = json.dumps(self.non_default(), sort_keys=True, separators=(",", ":"))
        return hashlib.md5(blob.encode()).hexdigest()[:12]

    def replace(self, **changes: Any) -> "RunConfig":
        return dataclasses.replace(self, **changes)


def dense_config(cfg: RunConfig) -> RunConfig:
    """The dense run of the same setting and seed: what IMP starts from and what relative time is measured against.
    A dense run never prunes, so BatchNorm recalibration after pruning is off for it."""
    return cfg.replace(method=BASELINE, goal_sparsity=0.0, method_args={}, method_version=None, bn_recalibration=0)


@dataclass(frozen=True)
class Runtime:
    """How to execute a run; never part of its identity."""
    results: str = "results"                # runs go to <results>/<setting>/<run_id>/
    device: str = "auto"                    # auto: cuda when available, else cpu
    data_root: str | None = None
    download: bool = False
    progress: bool = True
    num_threads: int | None = None
    # A speed option that leaves the arithmetic as it is (recorded in each run's metrics.json).  Precision and memory
    # layout are not here: they change the numbers, so they are fields of the RunConfig.
    compile: str | None = None              # torch.compile backend for the training forward pass, e.g. "inductor"

    def __post_init__(self) -> None:
        if self.compile is not None and (not isinstance(self.compile, str) or not self.compile):
            _fail("compile", self.compile, "a torch.compile backend name such as 'inductor', or None")

    def resolved_device(self):
        """The torch device to run on; ConfigError for a name that is not a device or a GPU this machine lacks."""
        import torch
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError, ValueError):
            _fail("device", self.device, "use auto, cpu, cuda or cuda:N")
        if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
            _fail("device", self.device, f"this machine has {torch.cuda.device_count()} usable CUDA GPU(s); use auto "
                                         f"or cpu")
        return device
