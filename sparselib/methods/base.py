"""The method interface: one training loop, many methods.

A method is a small class with hooks that the loop in :mod:`sparselib.train` calls, plus a frozen dataclass of its
hyper-parameters (``Hparams``).  Methods are found by name in :data:`METHODS`.  Class attributes describe the method
for the overview table (SPEC Table 3): how sparsity is controlled, whether it is pruning-stable, whether dense training
is sparsity-agnostic, and where the method comes from.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch

if TYPE_CHECKING:  # pragma: no cover
    from ..config import RunConfig
    from ..train import TrainState

METHODS: dict[str, type["Method"]] = {}

#: The order in which the study lists methods (tables, overview); methods not named here follow, alphabetically.
STUDY_ORDER = ("dense", "imp", "imp_plus", "bimp", "gmp", "dpf", "gsm", "lc", "dnw", "cs", "str", "dst")


def ordered_methods() -> list[type["Method"]]:
    rank = {name: i for i, name in enumerate(STUDY_ORDER)}
    return sorted(METHODS.values(), key=lambda c: (rank.get(c.name, len(rank)), c.name))


def register(cls: type["Method"]) -> type["Method"]:
    """Class decorator: make a method available by its ``name``."""
    if cls.name in METHODS:
        raise ValueError(f"method {cls.name!r} registered twice")
    METHODS[cls.name] = cls
    return cls


def get_method(name: str) -> type["Method"]:
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}: choose one of {', '.join(sorted(METHODS))}") from None


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


class Method:
    """Base class.  Every hook is optional; the defaults implement plain dense training."""

    name: ClassVar[str] = ""
    Hparams: ClassVar[type] = NoHparams
    explicit: ClassVar[bool] = True            # sparsity set by goal_sparsity (else through own hyper-parameters)
    pruning_stable: ClassVar[bool] = True      # no accuracy collapse after the final pruning
    sparsity_agnostic: ClassVar[bool] = False  # dense training does not depend on the goal sparsity
    needs_dense: ClassVar[bool] = False        # starts from the trained dense run of the same setting and seed
    retrains: ClassVar[bool] = False           # prune–retrain cycles after (or instead of) sparse training
    search: ClassVar[dict[str, tuple]] = {}    # hyper-parameter values the study searches (Table 3, presets)
    reference: ClassVar[str] = ""

    def __init__(self, cfg: "RunConfig", hparams: Any):
        self.cfg = cfg
        self.hp = hparams

    @classmethod
    def check_config(cls, cfg: "RunConfig", hparams: Any) -> None:
        """Raise ValueError if the hyper-parameters do not fit the setting (called when a config is built)."""
        cls.reference_config(cfg)

    @classmethod
    def reference_config(cls, cfg: "RunConfig") -> "RunConfig | None":
        """The dense run this method starts from (None: it trains from scratch)."""
        return cfg.dense_config() if cls.needs_dense else None

    # -- plan ------------------------------------------------------------------------------------------------
    def total_epochs(self) -> int:
        """Epochs this run trains (on top of the dense run, for methods that start from it)."""
        return self.cfg.epochs

    def epoch_lrs(self, state: "TrainState") -> list[float]:
        """Learning rate of each iteration of ``state.epoch`` (called after :meth:`on_epoch_start`)."""
        n = state.iters_per_epoch
        return state.dense_lrs[state.epoch * n:(state.epoch + 1) * n]

    def test_epochs(self) -> set[int]:
        """Epoch numbers (1-based, counted at their end) after which the test set is evaluated too; the last epoch
        always is.  Validation accuracy is measured after every epoch."""
        return set()

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
    def overview(cls) -> dict[str, Any]:
        """One row of the methods overview (SPEC Table 3)."""
        fields = dataclasses.fields(cls.Hparams)
        return {
            "method": cls.name,
            "sparsity control": "explicit" if cls.explicit else "implicit",
            "pruning-stable": cls.pruning_stable,
            "sparsity-agnostic training": cls.sparsity_agnostic,
            "needs dense run": cls.needs_dense,
            "retrains": cls.retrains,
            "hyper-parameters": ", ".join(f"{f.name}={f.default!r}" for f in fields) or "—",
            "searched": "; ".join(f"{k} in {list(v)}" for k, v in cls.search.items()) or "—",
            "reference": cls.reference,
        }


class PruneRetrain(Method):
    """Shared by the methods that alternate pruning steps with retraining (IMP, IMP+, BIMP).

    A pruning step sets ``retrain_lrs`` (the learning rates of the retraining that follows) and ``pruned`` (the
    measurements taken right after pruning, written into that epoch's history row); ``retrain_lrs`` is checkpointed
    so a run resumed mid-cycle continues the same schedule.
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
