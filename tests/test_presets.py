"""Presets are Table 2 as data: the paper settings of SPEC §4, the GSM grid, every method in every study."""
import pytest

from sparselib.methods import METHODS, get_method
from sparselib.resolve import resolve
from sparselib.presets import PRESETS, get_preset


def test_paper_settings_follow_spec_section_4():
    c10, c100 = get_preset("paper-c10").base, get_preset("paper-c100").base
    assert (c10.dataset, c10.model, c10.epochs, c10.batch_size, c10.lr) == ("cifar10", "resnet56", 200, 128, 0.1)
    assert (c10.lr_milestones, c10.lr_gamma, c10.weight_decay) == ((100, 150), 0.1, 1e-4)
    assert (c10.momentum, c10.nesterov, c10.augment, c10.val_fraction) == (0.9, True, True, 0.1)
    assert (c100.dataset, c100.model, c100.dropout, c100.epochs) == ("cifar100", "wrn28_10", 0.3, 200)
    assert (c100.lr_milestones, c100.lr_gamma, c100.weight_decay) == ((60, 120, 160), 0.2, 5e-4)
    for name in ("paper-c10", "paper-c100"):
        p = get_preset(name)
        assert p.sparsities == (0.9, 0.95, 0.98, 0.99, 0.995) and len(p.seeds) == 3
        assert p.assumed and any("Table 2" in k for k in p.assumed)  # SPEC marks §4 as assumed


def test_smoke_covers_every_registered_method_with_its_own_smoke_configurations():
    configs = get_preset("smoke").configs()
    for cls in METHODS.values():
        mine = [c for c in configs if c.method == cls.name]
        assert mine, cls.name
        if cls.family != "dense":
            assert [c.method_args for c in mine] == [dict(a) for a in cls.smoke]


@pytest.mark.parametrize("name", ["paper-c10", "paper-c100", "mini", "fmnist", "smoke"])
def test_every_study_has_valid_configs(name):
    p = get_preset(name)
    configs = p.configs()  # building them validates every one (budgets, hyper-parameter names)
    assert {c.method for c in configs} <= set(METHODS)
    assert configs[0].method == "dense"
    assert len({c.run_id for c in configs}) == len(configs)  # no run twice
    gsm = {c.method_args["momentum"] for c in configs if c.method == "gsm"}
    assert gsm == {0.9, 0.99, 0.995}  # SPEC's GSM momentum grid
    for c in configs:
        if not get_method(c.method).explicit:
            assert c.goal_sparsity == 0.0  # implicit methods: one run per configuration, not per goal
        elif c.method != "dense":
            assert c.goal_sparsity in p.sparsities


def test_paper_grids_tune_weight_decay_and_restricted_imp_fits_the_budget():
    configs = get_preset("paper-c10").configs()
    assert {c.weight_decay for c in configs if c.method == "gmp"} == {1e-4, 5e-4}
    for c in configs:
        if c.method == "imp":
            dense = resolve(c).reference
            assert dense.epochs + c.method_args["n_phases"] * c.method_args["epochs_per_phase"] == 200
    schedules = {c.method_args["schedule"] for c in configs if c.method == "imp"}
    assert schedules == {"ft", "lrw", "slr", "clr", "llr", "allr"}


def test_mini_is_sized_for_two_cpu_cores_and_documented():
    p = get_preset("mini")
    assert p.sparsities == (0.9, 0.95, 0.98) and len(p.seeds) >= 2
    assert p.base.dataset == "fashion_mnist" and p.notes["data"] and p.notes["model"]
    assert {c.method_args["schedule"] for c in p.configs() if c.method == "imp"} == \
        {"ft", "lrw", "slr", "clr", "llr", "allr"}


def test_unknown_preset_names_the_choices():
    with pytest.raises(ValueError, match="paper-c10"):
        get_preset("paper")
    assert set(PRESETS) == {"paper-c10", "paper-c100", "mini", "fmnist", "fmnist-2x", "fmnist-e4", "fmnist-e8", "smoke",
                            "fmnist-fp32", "fmnist-beyond"}


def test_fmnist_tunes_as_the_paper_tunes_inside_its_budget():
    """Issue 15's protocol: every pruning-stable method's weight decay over two values, GSM's momenta, LC's
    strength, GMP with and without allow_recovering, BIMP's budget and interval, IMP's six schedules and 1 vs 2
    phases, restricted IMP inside the 12-epoch budget, and the convergence check at twice the epochs."""
    p = get_preset("fmnist")
    configs = p.configs()
    by = lambda m: [c for c in configs if c.method == m]  # noqa: E731
    for m in ("gmp", "dpf", "gsm", "dnw", "cs", "dst"):
        assert {c.weight_decay for c in by(m)} == {1e-4, 5e-4}, m
    assert len({c.weight_decay for c in by("lc")}) >= 2 and len({c.weight_decay for c in by("str")}) >= 2
    assert all("s_weight_decay" not in c.method_args for c in by("str"))  # the authors' one weight decay
    assert {c.method_args["momentum"] for c in by("gsm")} == {0.9, 0.99, 0.995}
    assert {c.method_args.get("allow_recovering", False) for c in by("gmp")} == {False, True}
    bimp = {(c.method_args["n_train_budget"], c.method_args["pruning_interval"]) for c in by("bimp")}
    assert len({b for b, _ in bimp}) >= 2 and len({i for _, i in bimp}) >= 2
    assert {c.method_args["schedule"] for c in by("imp")} == {"ft", "lrw", "slr", "clr", "llr", "allr"}
    assert {c.method_args["n_phases"] for c in by("imp")} == {1, 2}
    for c in by("imp"):
        assert resolve(c).reference.epochs + c.method_args["n_phases"] * c.method_args["epochs_per_phase"] == 12
    assert all(c.precision == "bf16" and c.channels_last for c in configs)
    twice = get_preset("fmnist-2x")
    assert [c.method for c in twice.configs()] == ["dense", "dense"]
    assert twice.base.epochs == 2 * p.base.epochs and twice.base.replace(setting="fmnist", epochs=12,
                                                                        lr_milestones=(6, 9)) == p.base


@pytest.mark.parametrize("name, epochs", [("fmnist-e4", 4), ("fmnist-e8", 8)])
def test_the_budget_study_reruns_fmnists_picks_at_a_fraction_of_its_epochs(name, epochs):
    p, full = get_preset(name), get_preset("fmnist")
    configs = p.configs()
    assert {c.epochs for c in configs} == {epochs} and p.seeds == full.seeds
    assert p.base.replace(setting="fmnist", epochs=12, lr_milestones=full.base.lr_milestones) == full.base
    assert [m * 12 for m in p.base.lr_milestones] == [m * epochs for m in full.base.lr_milestones]
    methods = {c.method for c in configs}
    assert {"dense", "imp", "bimp", "gmp"} <= methods and len(methods) >= 6  # and the two best others per goal
    for c in configs:
        if c.method == "imp":  # restricted IMP inside the shorter budget
            retrain = c.method_args["n_phases"] * c.method_args["epochs_per_phase"]
            assert resolve(c).reference.epochs + retrain == epochs and 1 <= retrain < epochs
        if c.method == "bimp":
            assert 1 <= c.method_args["n_train_budget"] < epochs
    assert len({c.run_id for c in configs}) == len(configs)


def _as_fmnist(c, **fields):
    """``c`` as the fmnist study's run of the same configuration (its setting's name and ``fields`` replaced)."""
    return c.replace(setting="fmnist", **fields).run_id


def test_the_parity_preset_is_fmnist_runs_in_fp32_and_the_contiguous_layout():
    fmnist = {c.run_id for c in get_preset("fmnist").configs()}
    runs = get_preset("fmnist-fp32").configs()
    assert {(c.precision, c.channels_last) for c in runs} == {("fp32", False)}
    assert {c.method for c in runs} == {"dense", "imp", "cs"} and {c.seed for c in runs} == {0, 1}
    # each is one of fmnist's runs but for precision and layout: the pairs the parity check compares
    assert all(_as_fmnist(c, precision="bf16", channels_last=True) in fmnist for c in runs)


def test_the_beyond_preset_varies_one_thing_against_fmnist_runs():
    fmnist = get_preset("fmnist")
    ids = {c.run_id for c in fmnist.configs()}
    runs = get_preset("fmnist-beyond").configs()
    alloc = [c for c in runs if "allocation" in c.method_args and c.method != "rigl"]
    # IMP's and GMP's picks with each allocation but global (fmnist's own runs), at their goal, on two seeds
    assert {(c.method, c.goal_sparsity, c.method_args["allocation"]) for c in alloc} == {
        (m, g, a) for m in ("imp", "gmp") for g in (0.9, 0.95, 0.98) for a in ("uniform", "erk", "lamp")}
    # the same run with the default (global) allocation
    assert all(_as_fmnist(c, method_args={k: v for k, v in c.method_args.items() if k != "allocation"}) in ids
               for c in alloc)
    recal = [c for c in runs if c.bn_recalibration]
    assert recal and all(c.bn_recalibration == 512 for c in recal)
    assert all(_as_fmnist(c, bn_recalibration=0) in ids for c in recal)  # the same run without recalibration
    assert {c.goal_sparsity for c in runs if c.method == "rigl"} == {0.9, 0.95, 0.98}
    # RigL stands beside the main study's cells: on its seeds; the runs that vary a main-study run on the preset's
    beyond = get_preset("fmnist-beyond")
    assert {c.seed for c in runs if c.method == "rigl"} == set(fmnist.seeds) == set(beyond.seeds_of("rigl"))
    assert {c.seed for c in runs if c.method != "rigl"} == set(beyond.seeds) == set(beyond.seeds_of("imp")) == {0}
    assert sum(c.method == "rigl" for c in runs) == 3 * 2 * len(fmnist.seeds)  # goals x weight decays x seeds


def test_a_grid_on_its_own_seeds_and_a_method_on_two_sets_of_seeds_is_refused():
    import dataclasses

    from sparselib.config import ConfigError
    from sparselib.presets import MethodGrid

    smoke = get_preset("smoke")
    p = dataclasses.replace(smoke, seeds=(0,), methods=(MethodGrid("gmp", seeds=(3, 4)), MethodGrid("imp")))
    assert sorted((c.method, c.seed) for c in p.configs()) == [
        ("dense", 0), ("gmp", 3), ("gmp", 4), ("imp", 0)]
    assert p.seeds_of("gmp") == (3, 4) and p.seeds_of("imp") == (0,) and p.seeds_of("dense") == (0,)
    two = dataclasses.replace(p, methods=(MethodGrid("gmp", seeds=(3,)), MethodGrid("gmp")))
    with pytest.raises(ConfigError, match="'gmp' runs on different seeds"):
        two.seeds_of("gmp")
