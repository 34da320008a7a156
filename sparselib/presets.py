"""Presets: a setting (Table 2 as data) plus the grid of runs that make up its study.

``smoke``: synthetic data and a tiny ResNet, seconds per run, for tests.
``mini``:  the study's protocol shrunk to 2 CPU cores, on real Fashion-MNIST (offline, from Debian's package).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .config import RunConfig


@dataclass(frozen=True)
class MethodGrid:
    """A method and the hyper-parameter configurations the study runs for it."""
    method: str
    configs: tuple[dict[str, Any], ...] = ({},)


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    base: RunConfig
    sparsities: tuple[float, ...]
    seeds: tuple[int, ...]
    methods: tuple[MethodGrid, ...]
    notes: dict[str, str] = field(default_factory=dict)

    def config(self, method: str = "dense", goal_sparsity: float = 0.0, seed: int | None = None,
               method_args: dict[str, Any] | None = None, **overrides: Any) -> RunConfig:
        """One run of this preset's setting.  ``method_args`` are merged over the preset's first configuration of
        that method, so ``config("imp", 0.9)`` is the preset's IMP."""
        args = {**self.method_defaults(method), **(method_args or {})}
        return self.base.replace(method=method, goal_sparsity=goal_sparsity,
                                 seed=self.seeds[0] if seed is None else seed, method_args=args, **overrides)

    def method_defaults(self, method: str) -> dict[str, Any]:
        for grid in self.methods:
            if grid.method == method:
                return dict(grid.configs[0])
        return {}

    def configs(self) -> list[RunConfig]:
        """Every run of the study, dense runs first (the others depend on them).  Explicit methods run each
        configuration at every goal sparsity; implicit ones (CS, STR, DST) once per configuration, their
        hyper-parameters setting the sparsity they reach."""
        from .methods import get_method

        runs = [self.config("dense", seed=s) for s in self.seeds]
        for grid in self.methods:
            sparsities = self.sparsities if get_method(grid.method).explicit else (0.0,)
            for args in grid.configs:
                for sparsity in sparsities:
                    for s in self.seeds:
                        runs.append(self.base.replace(method=grid.method, goal_sparsity=sparsity, seed=s,
                                                      method_args=dict(args)))
        return runs


_SMOKE = RunConfig(
    setting="smoke", dataset="synthetic", model="resnet8", model_width=4, epochs=4, batch_size=32, lr=0.05,
    lr_schedule="multistep", lr_milestones=(2, 3), weight_decay=1e-4,
)

# Calibrated on 2 CPU cores (see the book's setup page): with only 6 epochs the small model underfits, and the crop +
# flip augmentation cost accuracy (86.7 % with it, 89.3-89.7 % without on 15k images), so `mini` trains without it.
_MINI = RunConfig(
    setting="mini", dataset="fashion_mnist", model="resnet20", model_width=8, train_subset=12000, augment=False,
    epochs=6, batch_size=128, lr=0.1, lr_schedule="multistep", lr_milestones=(4, 5), lr_gamma=0.1,
    weight_decay=1e-4,
)

PRESETS: dict[str, Preset] = {
    "smoke": Preset(
        name="smoke", description="synthetic data, ResNet-8 at width 4: seconds per run (tests)",
        base=_SMOKE, sparsities=(0.9,), seeds=(0,),
        methods=(MethodGrid("imp", ({"n_phases": 2, "epochs_per_phase": 1, "schedule": "llr"},)),
                 MethodGrid("imp_plus", ({"n_phases": 2, "epochs_per_phase": 1, "schedule": "llr"},)),
                 MethodGrid("bimp", ({"n_train_budget": 2, "pruning_interval": 1},)),
                 MethodGrid("gmp", ({"pruning_interval": 1},)),
                 MethodGrid("dpf", ({"pruning_interval": 1},)),
                 MethodGrid("gsm", ({"momentum": 0.9}, {"momentum": 0.99}, {"momentum": 0.995})),
                 MethodGrid("lc", ({},)),
                 MethodGrid("dnw", ({},)),
                 # implicit methods: grids measured on smoke to land near 90 / 95 / 98 % (DST tops out near 95 %)
                 MethodGrid("cs", tuple({"penalty": p, "beta_final": 2000.0} for p in (5e-4, 1e-3, 3e-3))),
                 MethodGrid("str", tuple({"s_initial": v} for v in (-1.25, -1.0, -0.6))),
                 MethodGrid("dst", tuple({"penalty": p} for p in (0.025, 0.035)))),
    ),
    "mini": Preset(
        name="mini",
        description="Fashion-MNIST (12k training images), ResNet-20 at width 8, 6 epochs: ~1 minute per run on 2 cores",
        base=_MINI, sparsities=(0.9, 0.95, 0.98), seeds=(0, 1),
        methods=(MethodGrid("imp", ({"n_phases": 1, "epochs_per_phase": 2, "schedule": "llr"},)),
                 MethodGrid("imp_plus", ({"n_phases": 1, "epochs_per_phase": 2, "schedule": "llr"},)),
                 MethodGrid("bimp", ({"n_train_budget": 3, "pruning_interval": 1},)),
                 MethodGrid("gmp", ({"pruning_interval": 1},))),
        notes={"data": "Fashion-MNIST, a fixed-seed class-balanced subset of 12,000 training images (10 % held out "
                       "for validation), the full 10,000-image test set, no augmentation",
               "model": "CIFAR-style ResNet-20 at base width 8 (1 input channel, 28x28)",
               "schedule": "SGD Nesterov momentum 0.9, weight decay 1e-4, batch 128, LR 0.1 x0.1 at epochs 4 and 5 (the "
                           "paper's step schedule, shrunk)"},
    ),
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}: choose one of {', '.join(sorted(PRESETS))}") from None
