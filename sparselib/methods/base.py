"""The method interface: one training loop, many methods.

A method is one module of :mod:`sparselib.methods`: a small class with hooks that the loop in :mod:`sparselib.train`
calls, a frozen dataclass of its hyper-parameters (``Hparams``), and class attributes with everything else the
project needs to know about it — how tables and figures show it (``label``, ``color``, ``marker``, ``order``), what it
is (``family``, ``explicit`` and the other Table 3 facts), its own ``smoke`` configurations, the hyper-parameters a
study searches (``search``) and its ``version``.  It is found by name through :mod:`.registry`.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from ..config import dense_config

if TYPE_CHECKING:  # pragma: no cover
    from ..config import RunConfig
    from ..state import TrainState


@dataclass(frozen=True)
class NoHparams:
    """A method without hyper-parameters of its own."""


def build_hparams(cls: type, args: dict[str, Any], method: str):
    """Build a method's hyper-parameter dataclass, naming unknown keys and the allowed ones."""
    allowed = {f.name for f in dataclasses.fields(cls)}
    unknown = set(args) - allowed
    if unknown:
        allowed_txt = ", ".join(sorted(allowed)) or "none"
        raise ValueError(f"method_args: unknown key(s) {', '.join(sorted(unknown))} for method {method!r}; "
                         f"allowed: {allowed_txt}")
    return cls(**args)


def check_number(name: str, value: object, low: float = -math.inf, high: float = math.inf, *,
                 low_open: bool = False, high_open: bool = False, allowed: str | None = None) -> None:
    """ValueError naming ``name`` unless ``value`` is a real number in the interval (open ends as given)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name}={value!r} is invalid: {allowed or f'must be a finite number in {interval}'}")


def check_int(name: str, value: object, minimum: int = 1, unit: str = "") -> None:
    """ValueError naming ``name`` unless ``value`` is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}={value!r} is invalid: must be an integer >= {minimum}{f' ({unit})' if unit else ''}")


def check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    """ValueError naming ``name`` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is invalid: choose one of {', '.join(map(repr, allowed))}")


def check_flag(name: str, value: object) -> None:
    """ValueError naming ``name`` unless ``value`` is True or False."""
    if not isinstance(value, bool):
        raise ValueError(f"{name}={value!r} is invalid: must be true or false")


def check_hparams(hp: Any, **rules: tuple) -> None:
    """Validate dataclass fields: ``field=("int", minimum, unit)`` or ``field=("number", low, high, kwargs)``;
    a field that is None is left alone (it means: the setting's value)."""
    for name, rule in rules.items():
        value = getattr(hp, name)
        if value is None:
            continue
        if rule[0] == "int":
            check_int(name, value, *rule[1:])
        else:
            check_number(name, value, *rule[1:3], **(rule[3] if len(rule) > 3 else {}))


#: What a method is: the dense baseline, a prune–retrain method (IMP and its relatives) or a method that sparsifies
#: during training ("pruning-stable" in the paper's words).
FAMILIES = ("dense", "prune-retrain", "pruning-stable")


class Method:
    """Base class.  Every hook is optional; the defaults implement plain dense training."""

    name: ClassVar[str] = ""
    Hparams: ClassVar[type] = NoHparams
    # -- how the method is shown ------------------------------------------------------------------------------------
    label: ClassVar[str] = ""                  # display name in tables and figures (e.g. "IMP+")
    color: ClassVar[str] = "#777777"           # one colour per method, the same in every figure
    marker: ClassVar[str] = "circle"           # plotly marker symbol; doubles the colour, so hue never stands alone
    order: ClassVar[float] = 1000.0            # position in the study's tables (ascending)
    # -- what it is (SPEC Table 3) ----------------------------------------------------------------------------------
    family: ClassVar[str] = "pruning-stable"   # one of FAMILIES
    explicit: ClassVar[bool] = True            # sparsity set by goal_sparsity (else through own hyper-parameters)
    pruning_stable: ClassVar[bool] = True      # no accuracy collapse after the final pruning
    sparsity_agnostic: ClassVar[bool] = False  # dense training does not depend on the goal sparsity
    needs_dense: ClassVar[bool] = False        # starts from the trained dense run of the same setting and seed
    fits_budget: ClassVar[bool] = True         # trains within the setting's epochs, a dense run it starts from
                                               # included (the paper's Table 1 compares only these)
    reference: ClassVar[str] = ""
    # -- fidelity to the study's code (GitHub ZIB-IOL/BIMP; SPEC §6) -------------------------------------------------
    authors_code: ClassVar[str] = ""           # the authors' file and function this module follows
    follows: ClassVar[str] = ""                # which rule it follows by default: the authors' code or the paper
    option: ClassVar[str] = ""                 # the other rule, where sparselib offers it as an option
    differences: ClassVar[str] = ""            # what still differs from the authors' code
    # -- how a study runs it ----------------------------------------------------------------------------------------
    smoke: ClassVar[tuple[dict[str, Any], ...]] = ({},)  # method_args of its runs in the `smoke` study (tests)
    smoke_sparsity: ClassVar[float] = 0.9      # goal sparsity of its smoke runs (explicit methods)
    search: ClassVar[dict[str, tuple]] = {}    # hyper-parameters a study tunes, and the values it tries by default
    #: Behaviour version: bump it whenever a change to the method changes the numbers its runs produce.  Above 1 it
    #: is part of every run's identity (RunConfig.method_version), so runs made by an older version become stale.
    version: ClassVar[int] = 1

    def __init__(self, cfg: "RunConfig", hparams: Any):
        self.cfg = cfg
        self.hp = hparams

    @classmethod
    def check_config(cls, cfg: "RunConfig", hparams: Any) -> None:
        """Raise ValueError if the hyper-parameters do not fit the setting (called once, when a run is resolved)."""

    @classmethod
    def reference_config(cls, cfg: "RunConfig", hparams: Any) -> "RunConfig | None":
        """The dense run this method starts from (None: it trains from scratch)."""
        return dense_config(cfg) if cls.needs_dense else None

    # -- plan ------------------------------------------------------------------------------------------------
    def total_epochs(self) -> int:
        """Epochs this run trains (on top of the dense run, for methods that start from it)."""
        return self.cfg.epochs

    def epoch_lrs(self, state: "TrainState") -> list[float]:
        """Learning rate of each iteration of ``state.epoch`` (called after :meth:`on_epoch_start`)."""
        n = state.iters_per_epoch
        return state.dense_lrs[state.epoch * n:(state.epoch + 1) * n]

    # -- hooks -------------------------------------------------------------------------------------------------
    def on_train_start(self, state: "TrainState") -> None:
        """After model, optimizer and masks exist, before the first epoch and before a checkpoint is loaded
        (register parametrizations and add extra parameters to ``state.optimizer`` here; their values are then
        restored from the checkpoint when resuming)."""

    def on_epoch_start(self, state: "TrainState") -> None:
        """Before the epoch's first step: pruning steps happen here."""

    def extra_loss(self, state: "TrainState") -> torch.Tensor | None:
        """A penalty added to the loss of every step."""
        return None

    def after_backward(self, state: "TrainState") -> None:
        """Gradients are ready, the optimizer has not stepped."""
        state.masks.mask_grads()

    def after_step(self, state: "TrainState") -> None:
        """The optimizer has stepped."""
        state.masks.apply()

    def on_epoch_end(self, state: "TrainState") -> dict[str, float]:
        """After evaluation; returns extra columns for the epoch's history row."""
        return {}

    def on_train_end(self, state: "TrainState") -> None:
        """Leave the final hard mask in ``state.masks``; the common code applies it and measures the model."""

    # -- checkpointing -----------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass

    # -- description --------------------------------------------------------------------------------------------
    @classmethod
    def retrains(cls) -> bool:
        """Prune–retrain cycles after (or instead of) sparse training (the IMP family)."""
        return cls.family == "prune-retrain"

    @classmethod
    def overview(cls) -> dict[str, Any]:
        """One row of the methods overview (SPEC Table 3)."""
        fields = dataclasses.fields(cls.Hparams)
        return {
            "method": cls.name,
            "sparsity control": "explicit" if cls.explicit else "implicit",
            "pruning-stable": cls.pruning_stable,
            "sparsity-agnostic training": cls.sparsity_agnostic,
            "needs dense run": cls.needs_dense,
            "family": cls.family,
            "retrains": cls.retrains(),
            "version": cls.version,
            "hyper-parameters": ", ".join(f"{f.name}={f.default!r}" for f in fields) or "—",
            "searched": "; ".join(f"{k} in {list(v)}" for k, v in cls.search.items()) or "—",
            "reference": cls.reference,
        }


class PruneRetrain(Method):
    """Shared by the methods that alternate pruning steps with retraining (IMP, IMP+, BIMP).

    A pruning step sets ``retrain_lrs`` (the learning rates of the retraining that follows) and ``pruned`` (the
    measurements of :meth:`TrainState.record_prune`, written into that epoch's history row); ``retrain_lrs`` is
    checkpointed so a run resumed mid-cycle continues the same schedule.
    """

    def __init__(self, cfg: "RunConfig", hparams: Any):
        super().__init__(cfg, hparams)
        self.retrain_lrs: list[float] = []
        self.pruned: dict[str, float] = {}

    def on_epoch_end(self, state: "TrainState") -> dict[str, float]:
        row, self.pruned = self.pruned, {}
        return row

    def state_dict(self) -> dict[str, Any]:
        return {"retrain_lrs": torch.tensor(self.retrain_lrs, dtype=torch.float64)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.retrain_lrs = state["retrain_lrs"].tolist()
