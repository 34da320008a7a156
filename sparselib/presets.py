"""Presets: a setting (Table 2 as data) plus the grid of runs that make up its study.

``paper-c10``:  ResNet-56 / CIFAR-10 with SPEC §4's settings (GPU, hours per run).
``paper-c100``: WideResNet-28-10 / CIFAR-100 with SPEC §4's settings.
``mini``:       the study's protocol shrunk to 2 CPU cores, on real Fashion-MNIST (offline, from Debian's package).
``smoke``:      synthetic data and a tiny ResNet, seconds per run, for tests.

Every value SPEC marks as assumed, and every grid that was not taken from the paper, is listed in a preset's
``assumed`` notes; the book's setup page renders them next to Table 2.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .budget import Pick
from .config import BASELINE, ConfigError, RunConfig


@dataclass(frozen=True)
class MethodGrid:
    """A method and the configurations the study runs for it: every ``configs`` entry (method hyper-parameters)
    crossed with every ``overrides`` entry (setting fields tuned for this method, e.g. its weight decay)."""
    method: str
    configs: tuple[dict[str, Any], ...] = ({},)
    overrides: tuple[dict[str, Any], ...] = ({},)
    #: the goal sparsities an explicit method's grid runs at; None: every goal sparsity of the preset
    goals: tuple[float, ...] | None = None
    #: the seeds this grid runs on; None: the preset's
    seeds: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    base: RunConfig
    sparsities: tuple[float, ...]
    seeds: tuple[int, ...]
    #: the study's grids; None: every registered method with its own ``smoke`` configurations (the smoke study)
    methods: tuple[MethodGrid, ...] | None
    notes: dict[str, str] = field(default_factory=dict)
    assumed: dict[str, str] = field(default_factory=dict)  # what is assumed (not confirmed from the paper), and why
    epoch_seconds: float | None = None  # measured training + evaluation seconds per epoch (for estimates)

    def config(self, method: str = BASELINE, goal_sparsity: float = 0.0, seed: int | None = None,
               method_args: dict[str, Any] | None = None, **overrides: Any) -> RunConfig:
        """One run of this preset's setting, resolved (ConfigError if it is not valid).  ``method_args`` are merged
        over the preset's first configuration of that method, so ``config("imp", 0.9)`` is the preset's IMP."""
        from .resolve import resolve

        fields = {f.name for f in dataclasses.fields(RunConfig)} - {"method", "goal_sparsity", "seed", "method_args"}
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise ConfigError(f"unknown setting field(s) {', '.join(unknown)}; the fields: {', '.join(sorted(fields))}")
        args = {**self.method_defaults(method), **(method_args or {})}
        return resolve(self.base.replace(method=method, goal_sparsity=goal_sparsity,
                                         seed=self.seeds[0] if seed is None else seed, method_args=args,
                                         **overrides)).cfg

    def grids(self) -> tuple[MethodGrid, ...]:
        """The study's grids (for the smoke study: every registered method, each with its own smoke
        configurations)."""
        if self.methods is not None:
            return self.methods
        from .methods import ordered_methods

        return tuple(MethodGrid(cls.name, tuple(cls.smoke)) for cls in ordered_methods() if cls.family != "dense")

    def seeds_of(self, method: str) -> tuple[int, ...]:
        """The seeds ``method``'s runs are on: the seeds of its grids (ConfigError if they differ), else the
        preset's."""
        own = {self._grid_seeds(g) for g in self.grids() if g.method == method}
        if len(own) > 1:
            raise ConfigError(f"method {method!r} runs on different seeds in different grids of preset {self.name!r}: "
                              f"{sorted(own)}")
        return own.pop() if own else self.seeds

    def _grid_seeds(self, grid: MethodGrid) -> tuple[int, ...]:
        return self.seeds if grid.seeds is None else grid.seeds

    def method_defaults(self, method: str) -> dict[str, Any]:
        for grid in self.grids():
            if grid.method == method:
                return dict(grid.configs[0])
        return {}

    def configs(self) -> list[RunConfig]:
        """Every run of the study, resolved, dense runs first (the others depend on them).  Explicit methods run
        each configuration at every goal sparsity (the smoke study: at the method's ``smoke_sparsity``); implicit
        ones (CS, STR, DST) once per configuration, their hyper-parameters setting the sparsity they reach."""
        from .methods import get_method
        from .resolve import resolve

        runs = [self.config(BASELINE, seed=s) for s in self.seeds]
        for grid in self.grids():
            cls = get_method(grid.method)
            goals = (self.sparsities if self.methods is not None else (cls.smoke_sparsity,)) if cls.explicit else (0.0,)
            if cls.explicit and grid.goals is not None:
                goals = tuple(g for g in goals if g in grid.goals)
            for args in grid.configs:
                for over in grid.overrides:
                    for sparsity in goals:
                        for s in self._grid_seeds(grid):
                            runs.append(resolve(self.base.replace(method=grid.method, goal_sparsity=sparsity, seed=s,
                                                                  method_args=dict(args), **over)).cfg)
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

_PAPER_C10 = RunConfig(
    setting="paper-c10", dataset="cifar10", model="resnet56", epochs=200, batch_size=128, lr=0.1,
    lr_schedule="multistep", lr_milestones=(100, 150), lr_gamma=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4,
)
_PAPER_C100 = RunConfig(
    setting="paper-c100", dataset="cifar100", model="wrn28_10", dropout=0.3, epochs=200, batch_size=128, lr=0.1,
    lr_schedule="multistep", lr_milestones=(60, 120, 160), lr_gamma=0.2, momentum=0.9, nesterov=True,
    weight_decay=5e-4,
)
_PAPER_SPARSITIES = (0.9, 0.95, 0.98, 0.99, 0.995)
_IMP_SCHEDULES = ("llr", "allr", "clr", "slr", "lrw", "ft")


def _log_grid(lo: float, hi: float, n: int) -> tuple[float, ...]:
    """``n`` values from ``lo`` to ``hi``, evenly spaced on a log scale, rounded to 3 significant digits."""

    return tuple(float(f"{lo * (hi / lo) ** (i / (n - 1)):.3g}") for i in range(n))


def _paper_methods(weight_decays: tuple[float, ...]) -> tuple[MethodGrid, ...]:
    """The study's grids at paper scale (200 epochs); ``weight_decays`` is the tuned weight-decay grid of the
    pruning-stable methods (SPEC §4: their hyper-parameters and weight decay are tuned)."""
    wd = [{"weight_decay": w} for w in weight_decays]
    return (
        # restricted IMP: dense 160 epochs + 40 of retraining inside the 200-epoch budget (SPEC §6's example)
        MethodGrid("imp", tuple({"schedule": sch, "n_phases": n, "epochs_per_phase": 40 // n}
                                for sch in _IMP_SCHEDULES for n in (1, 2))),
        MethodGrid("imp_plus", tuple({"schedule": sch, "n_phases": n, "epochs_per_phase": 30}
                                     for sch in ("llr", "allr") for n in (1, 2, 3))),
        MethodGrid("bimp", tuple({"n_train_budget": b, "pruning_interval": i} for b in (140, 160) for i in (10, 20))),
        MethodGrid("gmp", tuple({"pruning_interval": i, "allow_recovering": r} for i in (5, 10) for r in (False, True)),
                   overrides=tuple(wd)),
        MethodGrid("dpf", ({"pruning_interval": 5},), overrides=tuple(wd)),
        MethodGrid("gsm", tuple({"momentum": m} for m in (0.9, 0.99, 0.995)), overrides=tuple(wd)),
        MethodGrid("lc", tuple({"weight_decay": f * weight_decays[0]} for f in (1, 5, 10))),
        MethodGrid("dnw", ({},), overrides=tuple(wd)),
        MethodGrid("cs", tuple({"penalty": p} for p in _log_grid(1e-6, 1e-3, 10))),
        # STR: the run's one weight decay (weights, thresholds, BatchNorm) tuned with s_initial, as the authors do
        MethodGrid("str", tuple({"s_initial": s0} for s0 in (-3.2, -2.0)),
                   overrides=tuple({"weight_decay": d} for d in _log_grid(1e-4, 5e-3, 6))),
        MethodGrid("dst", tuple({"penalty": p} for p in _log_grid(1e-6, 1e-3, 10))),
    )


_PAPER_ASSUMED = {
    "Table 2": "SPEC §4: the paper's Table 2 values were not available; the standard recipe is used",
    "IMP grid": "retraining schedule (all six) x 1 or 2 phases inside a 40-epoch retraining budget (160 + 40 of 200)",
    "IMP+ grid": "LLR or ALLR x 1-3 phases of 30 epochs on top of the full 200-epoch dense run",
    "BIMP grid": "n_train_budget {140, 160} x pruning_interval {10, 20}",
    "GMP/DPF intervals": "pruning every 5 or 10 (GMP, with and without allow_recovering) / 5 (DPF) epochs",
    "weight-decay grids": "tuned over two values for GMP, DPF, GSM and DNW; LC's penalty over 1, 5, 10 x weight decay",
    "implicit grids": "CS, STR and DST grids are log-spaced guesses spanning 3 decades; not run at this scale "
                      "here, so whether every ±0.25 % band is hit is unverified",
}

def _paper_preset(name: str, base: RunConfig, title: str, weight_decays: tuple[float, ...], **notes: str) -> Preset:
    return Preset(name=name, description=f"{title}, 200 epochs per run (SPEC §4), GPU-sized", base=base,
                  sparsities=_PAPER_SPARSITIES, seeds=(0, 1, 2), methods=_paper_methods(weight_decays), notes=notes,
                  assumed=_PAPER_ASSUMED)


# Implicit methods on mini: first one value per band where seed 0 landed in it when each method's knob was bisected
# toward the 90 / 95 / 98 % bands (the book's setup page lists the tries); with seed 1 added, the means of CS's three
# and STR's 90 % value fell just outside the bands, so their search was widened once by a neighbour on the other
# side of each band.  CS needs beta_final=2000 in 6 epochs (with 200 the hard mask collapses accuracy).  DST
# reached at most 92.6 % (penalty 0.0023; larger penalties ended less sparse, 0.01 diverged), so its grid covers
# 90 % and shows the ceiling.
_MINI_CS = (2.7e-5, 3e-5, 6.2e-5, 6.5e-5, 1.8e-4, 2e-4)
_MINI_STR = (0.0012, 0.0013, 0.0048, 0.0135)
_MINI_DST = (0.0014, 0.0016, 0.0023)

# -- fmnist: the fair mini study (issue 15), built under its own name until it is complete -------------------------------
# Dense training has converged at 12 epochs: an earlier session's probe (ResNet-20 width 8, the same 12k subset, fp32)
# gave 89.63 / 89.78 % test at 12 epochs (seeds 0 / 1) and 89.32 / 89.62 % at 24, within 0.5 pp, against 88.95 / 88.06 %
# at 8 and 89.51 / 89.81 % at 16; the preset `fmnist-2x` re-measures the 24-epoch side under this preset's precision.
_FMNIST = RunConfig(
    setting="fmnist", dataset="fashion_mnist", model="resnet20", model_width=8, train_subset=12000, augment=False,
    epochs=12, batch_size=128, lr=0.1, lr_schedule="multistep", lr_milestones=(6, 9), lr_gamma=0.1,
    weight_decay=1e-4, precision="bf16", channels_last=True,
)
_FMNIST_WD = (1e-4, 5e-4)  # SPEC §4: the pruning-stable methods' weight decay, tuned over two values
_FMNIST_SEEDS = (0, 1, 2)  # the study's seeds


def _fmnist_methods() -> tuple[MethodGrid, ...]:
    wd = tuple({"weight_decay": w} for w in _FMNIST_WD)
    # the implicit methods' knobs: from an earlier session's seed-0 calibration at this setting (12 epochs, the
    # authors' rules; its run files were lost), one value aimed at each of the 90 / 95 / 98 % bands per weight decay
    cs = {1e-4: (2.3e-5, 5e-5, 1.45e-4), 5e-4: (1.9e-5, 4.6e-5, 1.3e-4)}
    dst = {1e-4: (9.5e-4, 2e-3, 4e-3), 5e-4: (8.5e-4, 2e-3, 4e-3)}
    # A second round (this study's own seed means of the first, interpolated in log(knob) against log(1 - sparsity)
    # towards each band they missed): DST towards 90 % per weight decay and once more towards 95 %; STR's weight
    # decay towards all three; CS at beta_final 2000, because at the authors' 200 every first-round CS run lost most
    # of its accuracy at the final hard mask (e.g. 87 -> 22-55 % validation at 92 % sparsity: in 1,000 steps the mask
    # logits stay near 0, where sigma(200 m) is not yet a step), as the mini study had found at 6 epochs.
    dst2 = {1e-4: (1.05e-3,), 5e-4: (7.2e-4, 2.8e-3, 7.97e-4)}
    cs2 = (1.86e-5, 3.33e-5, 6.75e-5)
    # a third round, the same way from the first two rounds' seed means (sparselib.calibrate.next_knob;
    # `python tools/next_tries.py results/fmnist cs penalty` prints them): CS towards all three bands, STR towards 90
    # and 98 %, DST towards 90 % at weight decay 5e-4 (its 95 and 98 % are out of reach: its sparsity falls past a
    # penalty of 0.002, and 0.004 diverges on a seed)
    cs2 += (2.15e-5, 4.84e-5, 1.36e-4)
    # a fourth round towards the 90 % bands STR and DST (weight decay 1e-4) still missed, between their nearest tries
    # (STR: 89.72 % at 2.36e-3, 90.31 % at 2.39e-3; DST: 89.64 % at 9.5e-4, 90.95 % at 1.05e-3)
    dst2[1e-4] += (9.75e-4,)
    return (
        # restricted IMP: 9 dense + 3 retraining epochs (the paper's 160 + 40 of 200, scaled), or 8 + 2 x 2
        MethodGrid("imp", tuple({"schedule": sch, "n_phases": 1, "epochs_per_phase": 3} for sch in _IMP_SCHEDULES)
                   + tuple({"schedule": sch, "n_phases": 2, "epochs_per_phase": 2} for sch in ("llr", "allr"))),
        MethodGrid("imp_plus", ({"schedule": "llr", "n_phases": 1, "epochs_per_phase": 3},)),
        MethodGrid("bimp", ({"n_train_budget": 8, "pruning_interval": 1}, {"n_train_budget": 9, "pruning_interval": 1},
                            {"n_train_budget": 8, "pruning_interval": 2})),
        MethodGrid("gmp", tuple({"pruning_interval": 1, "allow_recovering": r} for r in (False, True)), overrides=wd),
        MethodGrid("dpf", ({"pruning_interval": 1},), overrides=wd),
        MethodGrid("gsm", tuple({"momentum": m} for m in (0.9, 0.99, 0.995)), overrides=wd),
        # LC's strength is its weight decay (the authors tune the one weight decay): 1e-4 barely moves a weight in
        # 1,000 steps (the mini study), so its grid starts higher
        MethodGrid("lc", ({}, ), overrides=tuple({"weight_decay": w} for w in (5e-3, 2e-2))),
        MethodGrid("dnw", ({},), overrides=wd),
        *(MethodGrid("cs", tuple({"penalty": p} for p in cs[w]), overrides=({"weight_decay": w},)) for w in _FMNIST_WD),
        MethodGrid("cs", tuple({"penalty": p, "beta_final": 2000.0} for p in cs2), overrides=({"weight_decay": 1e-4},)),
        # STR: the run's one weight decay tuned with s_initial (the authors')
        MethodGrid("str", ({"s_initial": -3.0},), overrides=tuple({"weight_decay": w} for w in (2.1e-3, 2.9e-3, 4.5e-3))),
        MethodGrid("str", ({"s_initial": -3.0},),
                   overrides=tuple({"weight_decay": w} for w in (2.36e-3, 3.32e-3, 4.84e-3, 2.39e-3, 4.68e-3,
                                                                 2.37e-3, 2.38e-3))),
        *(MethodGrid("dst", tuple({"penalty": p} for p in dst[w]), overrides=({"weight_decay": w},))
          for w in _FMNIST_WD),
        *(MethodGrid("dst", tuple({"penalty": p} for p in dst2[w]), overrides=({"weight_decay": w},))
          for w in _FMNIST_WD),
    )


# -- the budget study (issue 15): fmnist's comparison again at 1/3 and 2/3 of its training budget ----------------------
# What the selection rule picked at the full budget (sparselib.budget.picks on results/fmnist; the committed-results
# tests check this table against the committed runs), re-run scaled (sparselib.budget.scaled_grids).
_WD1, _WD5 = {"weight_decay": 1e-4}, {"weight_decay": 5e-4}
_FMNIST_PICKS = (
    Pick('bimp', 0.9, {'n_train_budget': 8, 'pruning_interval': 2}, {'weight_decay': 0.0001}),
    Pick('bimp', 0.95, {'n_train_budget': 8, 'pruning_interval': 2}, {'weight_decay': 0.0001}),
    Pick('bimp', 0.98, {'n_train_budget': 8, 'pruning_interval': 1}, {'weight_decay': 0.0001}),
    Pick('cs', None, {'beta_final': 2000.0, 'penalty': 0.000136}, {'weight_decay': 0.0001}),
    Pick('cs', None, {'beta_final': 2000.0, 'penalty': 2.15e-05}, {'weight_decay': 0.0001}),
    Pick('cs', None, {'beta_final': 2000.0, 'penalty': 4.84e-05}, {'weight_decay': 0.0001}),
    Pick('dst', None, {'penalty': 0.000797}, {'weight_decay': 0.0005}),
    Pick('gmp', 0.9, {'allow_recovering': True, 'pruning_interval': 1}, {'weight_decay': 0.0005}),
    Pick('gmp', 0.95, {'allow_recovering': False, 'pruning_interval': 1}, {'weight_decay': 0.0005}),
    Pick('gmp', 0.98, {'allow_recovering': False, 'pruning_interval': 1}, {'weight_decay': 0.0005}),
    Pick('imp', 0.9, {'epochs_per_phase': 2, 'n_phases': 2, 'schedule': 'llr'}, {'weight_decay': 0.0001}),
    Pick('imp', 0.95, {'epochs_per_phase': 3, 'n_phases': 1, 'schedule': 'clr'}, {'weight_decay': 0.0001}),
    Pick('imp', 0.98, {'epochs_per_phase': 2, 'n_phases': 2, 'schedule': 'llr'}, {'weight_decay': 0.0001}),
    Pick('str', None, {'s_initial': -3.0}, {'weight_decay': 0.00332}),
    Pick('str', None, {'s_initial': -3.0}, {'weight_decay': 0.00468}),
)
#: the methods the budget study re-runs besides dense training and the two best other pruning-stable methods
BUDGET_FIXED = ("imp", "bimp", "gmp")
_BUDGET_EPOCHS = (4, 8)  # 1/3 and 2/3 of 12: the only fractions below 1 that keep the LR steps (6, 9) on whole epochs


# The implicit methods' knobs at each shorter budget: their picked configurations reach other sparsities there, so,
# as at the full budget, their search goes on until it lands in the bands they were picked at (CS 90/95/98 %, STR
# 95/98 %, DST 90 %), under the picked weight decay.  Round 1: `python tools/next_tries.py results/fmnist-e4 cs
# penalty` (and str weight_decay) on the picks' seed means; DST, with one try only, at two and three times its pick.
_BUDGET_TRIES: dict[int, tuple[tuple[str, dict[str, Any], dict[str, Any]], ...]] = {
    4: (*(("cs", {"beta_final": 2000.0, "penalty": p}, _WD1) for p in (3.08e-5, 6.67e-5, 1.59e-4)),
        *(("str", {"s_initial": -3.0}, {"weight_decay": w}) for w in (7.79e-3, 1.43e-2)),
        *(("dst", {"penalty": p}, _WD5) for p in (1.6e-3, 2.4e-3))),
    8: (*(("cs", {"beta_final": 2000.0, "penalty": p}, _WD1) for p in (2.34e-5, 5.2e-5)),
        *(("str", {"s_initial": -3.0}, {"weight_decay": w}) for w in (4.34e-3, 6.64e-3)),
        *(("dst", {"penalty": p}, _WD5) for p in (1.2e-3, 1.6e-3))),
}
# Round 2, the same way from all tries' seed means so far, towards the bands round 1 missed: STR's 95 and 98 % and
# DST's 90 % at both budgets (CS landed all three in round 1).
_BUDGET_TRIES[4] += (*(("str", {"s_initial": -3.0}, {"weight_decay": w}) for w in (6.72e-3, 1.08e-2)),
                     ("dst", {"penalty": 1.72e-3}, _WD5))
_BUDGET_TRIES[8] += (*(("str", {"s_initial": -3.0}, {"weight_decay": w}) for w in (4.42e-3, 6.12e-3)),
                     ("dst", {"penalty": 1.03e-3}, _WD5))
# Round 3, the same way, towards the bands round 2 missed by less than 0.1 pp or came close to: STR's 98 % at 4 epochs
# (98.29 %), DST's 90 % at 4 (90.30 %) and 8 epochs (89.55 %)
_BUDGET_TRIES[4] += (("str", {"s_initial": -3.0}, {"weight_decay": 1.01e-2}), ("dst", {"penalty": 1.68e-3}, _WD5))
_BUDGET_TRIES[8] += (("dst", {"penalty": 1.06e-3}, _WD5),)


def _budget_preset(epochs: int) -> Preset:
    from .budget import budget_base, scaled_grids

    name = f"fmnist-e{epochs}"
    base = budget_base(_FMNIST, epochs, name)
    return Preset(
        name=name, base=base, sparsities=(0.9, 0.95, 0.98), seeds=(0, 1, 2),
        description=f"the budget study: fmnist's picks at {epochs} of its 12 epochs (LR steps at "
                    f"{', '.join(map(str, base.lr_milestones))}), every epoch count of a method scaled alike",
        methods=scaled_grids(_FMNIST_PICKS, epochs / _FMNIST.epochs, MethodGrid)
        + tuple(MethodGrid(m, (a,), (o,)) for m, a, o in _BUDGET_TRIES.get(epochs, ())),
        assumed={"picks": "dense, restricted IMP, BIMP, GMP (BUDGET_FIXED) and, at each goal sparsity, the two best other "
                          "pruning-stable methods of fmnist's Table 1 there, each in the configuration picked at the full budget; the implicit methods' knob searched on under the "
                          "picked weight decay until it lands in the bands they were picked at (_BUDGET_TRIES); "
                          "nothing else tuned again at this budget"},
    )


# -- bf16 parity (issue 14): fmnist's dense, IMP and CS picks again in fp32 with the contiguous layout ------------------
def _parity_preset() -> Preset:
    from .budget import scaled_grids

    # at the 95 % goal: IMP's pick there and the CS configuration that lands closest to it (seed means 95.0 %)
    chosen = tuple(p for p in _FMNIST_PICKS if (p.method, p.goal) == ("imp", 0.95)
                   or (p.method == "cs" and p.args["penalty"] == 4.84e-5))
    return Preset(
        name="fmnist-fp32", base=_FMNIST.replace(setting="fmnist-fp32", precision="fp32", channels_last=False),
        sparsities=(0.9, 0.95, 0.98), seeds=(0, 1), methods=scaled_grids(chosen, 1.0, MethodGrid),
        description="fmnist's dense runs, its picked IMP and CS configurations at 95 % in fp32 with the contiguous "
                    "memory layout: the accuracy parity check of bf16 + channels_last",
        assumed={"seeds": "two (0, 1), as the speed issue asks", "methods": "dense, IMP (explicit pruning) and CS "
                 "(a reparameterised method), each in the configuration the fmnist study picked"})


# -- beyond the paper (issue 18): layer-wise allocation, BatchNorm recalibration and RigL under fmnist's protocol --------
# global allocation (the default), one-shot IMP without recalibration and dense training are fmnist's own runs: the
# analysis reads them from fmnist's folder (the same configurations but for the setting's name)
_ALLOCATIONS = ("global", "uniform", "erk", "lamp")
BN_IMAGES = 512  # calibration images for BatchNorm recalibration ("a few hundred", issue 18)


# The other pruning-stable methods' Table 1 picks, frozen like _FMNIST_PICKS (`python tools/budget_picks.py --recal`
# prints them; the committed-results tests check them against the committed fmnist runs): with GMP's and the implicit
# methods' picks above, every pruning-stable method's configuration at each goal gets a recalibrated run.
_RECAL_ONLY = ("dnw", "dpf", "gsm", "lc")
_RECAL_PICKS = (
    Pick('dnw', 0.9, {}, {'weight_decay': 0.0005}),
    Pick('dnw', 0.95, {}, {'weight_decay': 0.0005}),
    Pick('dnw', 0.98, {}, {'weight_decay': 0.0001}),
    Pick('dpf', 0.9, {'pruning_interval': 1}, {'weight_decay': 0.0005}),
    Pick('dpf', 0.95, {'pruning_interval': 1}, {'weight_decay': 0.0001}),
    Pick('dpf', 0.98, {'pruning_interval': 1}, {'weight_decay': 0.0001}),
    Pick('gsm', 0.9, {'momentum': 0.995}, {'weight_decay': 0.0005}),
    Pick('gsm', 0.95, {'momentum': 0.99}, {'weight_decay': 0.0005}),
    Pick('gsm', 0.98, {'momentum': 0.995}, {'weight_decay': 0.0001}),
    Pick('lc', 0.9, {}, {'weight_decay': 0.02}),
    Pick('lc', 0.95, {}, {'weight_decay': 0.02}),
    Pick('lc', 0.98, {}, {'weight_decay': 0.02}),
)


def _beyond_methods() -> tuple[MethodGrid, ...]:
    explicit = [p for p in _FMNIST_PICKS if p.method in ("imp", "gmp")]
    alloc = tuple(MethodGrid(p.method, ({**p.args, "allocation": a},), (dict(p.overrides),), (p.goal,))
                  for p in explicit for a in _ALLOCATIONS[1:])
    bn = {"bn_recalibration": BN_IMAGES}
    one_shot = {"schedule": "llr", "n_phases": 1, "epochs_per_phase": 3}
    stable = [p for p in _FMNIST_PICKS if p.method in ("cs", "str", "dst")] + list(_RECAL_PICKS)
    recal = (MethodGrid("imp", (one_shot,), ({"weight_decay": 1e-4, **bn},)),
             *(MethodGrid(p.method, (p.args,), ({**p.overrides, **bn},), (p.goal,)) for p in explicit),
             *(MethodGrid(p.method, (p.args,), ({**p.overrides, **bn},), (p.goal,) if p.goal else None)
               for p in stable))
    # RigL stands beside the main study's Table 1 cells: on the main study's seeds, so that its means are alike
    rigl = (MethodGrid("rigl", ({},), tuple({"weight_decay": w} for w in _FMNIST_WD), seeds=_FMNIST_SEEDS),)
    return (*alloc, *recal, *rigl)


_BEYOND = Preset(
    name="fmnist-beyond", base=_FMNIST.replace(setting="fmnist-beyond"), sparsities=(0.9, 0.95, 0.98), seeds=(0,),
    methods=_beyond_methods(),
    description="beyond the paper, under fmnist's setting: IMP's and GMP's picks with each layer-wise allocation, "
                f"BatchNorm recalibration on {BN_IMAGES} training images after every prune, and RigL",
    assumed={"seeds": "one (0) for the allocation and recalibration runs: the compute left in the study's budget (each "
                      "difference is judged against the main study's seed spread of the configuration it varies); "
                      "RigL on the main study's three, as its cells stand beside the main study's",
             "RigL": "the RigL paper's CIFAR hyper-parameters (update every 100 steps, drop fraction 0.3 decaying "
                     "to 0 at 75 % of training, ERK), its weight decay tuned over fmnist's two values",
             "recalibration": f"{BN_IMAGES} training images; on one-shot IMP (LLR, 3 retraining epochs) and on the "
                              "configuration fmnist's Table 1 picked at each goal for IMP and every pruning-stable "
                              "method"},
)


#: The budget study: fmnist's picks at shorter budgets, one preset per budget.
BUDGET_STUDY = tuple(f"fmnist-e{e}" for e in _BUDGET_EPOCHS)
#: The presets of the study's comparison, inside its compute budget: the study, its convergence check, the budgets.
COMPARISON = ("fmnist", "fmnist-2x", *BUDGET_STUDY)
#: The checks and extensions the book shows beside it: the bf16 parity check and the beyond study.
EXTRAS = ("fmnist-fp32", "fmnist-beyond")
#: The presets whose runs the book shows (``make book`` runs what is missing of them); the first is the study.
DEFAULT_STUDY = (*COMPARISON, *EXTRAS)

PRESETS: dict[str, Preset] = {
    "paper-c10": _paper_preset(
        "paper-c10", _PAPER_C10, "ResNet-56 / CIFAR-10", (1e-4, 5e-4),
        data="CIFAR-10 (torchvision's files), 10 % of the training set held out for validation, random crop "
             "(padding 4) + horizontal flip",
        model="ResNet-56, CIFAR form (853,018 parameters, 125.5 M multiply-adds per image)"),
    "paper-c100": _paper_preset(
        "paper-c100", _PAPER_C100, "WideResNet-28-10 / CIFAR-100", (5e-4, 1e-4),
        data="CIFAR-100 (torchvision's files), 10 % held out for validation, random crop (padding 4) + horizontal "
             "flip + rotation up to 15°",
        model="WideResNet-28-10 with dropout 0.3 (36.5 M parameters, 5,243 M multiply-adds per image)"),
    "fmnist": Preset(
        name="fmnist",
        description="Fashion-MNIST (12k training images), ResNet-20 at width 8, 12 epochs (converged dense), bf16 + "
                    "channels_last, every method tuned as the paper tunes: the book's study",
        base=_FMNIST, sparsities=(0.9, 0.95, 0.98), seeds=_FMNIST_SEEDS, methods=_fmnist_methods(),
        notes={"data": "Fashion-MNIST, the same fixed-seed class-balanced subset of 12,000 training images as mini (10 % "
                       "held out for validation), the full 10,000-image test set, no augmentation",
               "model": "CIFAR-style ResNet-20 at base width 8 (1 input channel, 28x28)",
               "schedule": "SGD Nesterov momentum 0.9, batch 128, LR 0.1 x0.1 at epochs 6 and 9 of 12; bf16 autocast "
                           "and channels_last (benchmarks/cpu_speed.py: the fastest on these CPUs)"},
        assumed={"seeds": "three: at about 155 s of CPU per 12-epoch run in bf16 + channels_last (fmnist-2x's dense "
                          "runs took 310 s for 24 epochs) the plan is about 12 core-hours, inside the budget of 16",
                 "width": "8, not the real ResNet-20's 16: four times the multiply-adds would not fit the budget",
                 "implicit grids": "one value per band and weight decay from a seed-0 calibration at this setting "
                                   "by an earlier session (its run files were lost); the seed means decide",
                 "CS beta_final": "200, the authors' default, and 2000 in the second round (see the grid's comment)"},
    ),
    "fmnist-2x": Preset(
        name="fmnist-2x", description="fmnist's dense run at twice the epochs (24; LR steps at 12 and 18): the "
                                      "convergence check",
        base=_FMNIST.replace(setting="fmnist-2x", epochs=24, lr_milestones=(12, 18)), sparsities=(), seeds=(0, 1),
        methods=(),
    ),
    **{_budget_preset(e).name: _budget_preset(e) for e in _BUDGET_EPOCHS},
    "fmnist-fp32": _parity_preset(),
    "fmnist-beyond": _BEYOND,
    "smoke": Preset(
        name="smoke", description="synthetic data, ResNet-8 at width 4: seconds per run (tests)",
        base=_SMOKE, sparsities=(0.9,), seeds=(0,),
        methods=None,  # every registered method, with the smoke configurations of its own module
    ),
    "mini": Preset(
        name="mini",
        description="Fashion-MNIST (12k training images), ResNet-20 at width 8, 6 epochs: ~1 minute per run on 2 cores",
        base=_MINI, sparsities=(0.9, 0.95, 0.98), seeds=(0, 1),
        methods=(MethodGrid("imp", tuple({"n_phases": 1, "epochs_per_phase": 2, "schedule": sch}
                                         for sch in _IMP_SCHEDULES)),
                 MethodGrid("imp_plus", ({"n_phases": 1, "epochs_per_phase": 2, "schedule": "llr"},)),
                 MethodGrid("bimp", ({"n_train_budget": 3, "pruning_interval": 1},)),
                 MethodGrid("gmp", ({"pruning_interval": 1}, {"pruning_interval": 1, "allow_recovering": True})),
                 MethodGrid("dpf", ({"pruning_interval": 1},)),
                 MethodGrid("gsm", tuple({"momentum": m} for m in (0.9, 0.99, 0.995))),
                 MethodGrid("lc", ({}, {"weight_decay": 0.1})),  # LC strength: 1e-4 barely moves weights in 6 epochs
                 MethodGrid("dnw", ({},)),
                 MethodGrid("cs", tuple({"penalty": p, "beta_final": 2000} for p in _MINI_CS)),
                 # STR on mini keeps the separate threshold weight decay it was calibrated with (the option; the
                 # authors' one weight decay is the default and the paper presets' grid)
                 MethodGrid("str", tuple({"s_initial": -2.0, "s_weight_decay": d} for d in _MINI_STR)),
                 MethodGrid("dst", tuple({"penalty": p} for p in _MINI_DST))),
        epoch_seconds=12.5,  # median training + evaluation s/epoch of the first 28 mini runs (2 cores, one at a time)
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
