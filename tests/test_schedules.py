"""Tests for sparselib.schedules: dense and retraining learning-rate schedules (SPEC §4, §6).

Expected values are computed by hand (dyadic numbers where the result is exact in floating point, otherwise
decimal literals checked with a tight tolerance)."""

import math
import re

import pytest

from sparselib.schedules import (
    ALLR,
    CLR,
    DENSE_SCHEDULES,
    FT,
    LLR,
    LRW,
    RETRAIN_SCHEDULES,
    SLR,
    RetrainContext,
    allr_start,
    dense_schedule,
    lr_bounds,
    multistep_schedule,
    retrain_schedule,
    warmup_length,
)

TOL = 1e-12


def approx(x):
    return pytest.approx(x, rel=TOL, abs=TOL)


def raises_exactly(msg):
    """pytest.raises(ValueError) whose message is exactly ``msg``."""
    return pytest.raises(ValueError, match="^" + re.escape(msg) + "$")


# 20 iterations: 10 at 1.0, 5 at 0.5, 5 at 0.25 -> maxLR = 1.0, minLR = 0.25
D = [1.0] * 10 + [0.5] * 5 + [0.25] * 5


# ------------------------------------------------------------------------------------------------------------
# dense schedules
# ------------------------------------------------------------------------------------------------------------

def test_dense_fixture_matches_multistep():
    assert dense_schedule("multistep", 1.0, 4, 5, milestones=(2, 3), gamma=0.5) == D


def test_multistep_small_exact():
    lrs = dense_schedule("multistep", 1.0, 4, 2, milestones=(1, 3), gamma=0.5)
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_multistep_resnet56_milestones():
    lrs = dense_schedule("multistep", 0.1, 200, 3, milestones=(100, 150), gamma=0.1)
    assert len(lrs) == 600
    assert lrs[0] == 0.1
    assert lrs[299] == 0.1          # last iteration of epoch 99
    assert lrs[300] == approx(0.01)  # first iteration of epoch 100
    assert lrs[449] == approx(0.01)  # last iteration of epoch 149
    assert lrs[450] == approx(0.001)  # first iteration of epoch 150
    assert lrs[599] == approx(0.001)
    assert sorted(set(lrs), reverse=True) == [lrs[0], lrs[300], lrs[450]]


def test_multistep_milestone_zero_and_repeated():
    # a milestone at 0 decays from the start; repeated milestones decay twice
    assert dense_schedule("multistep", 1.0, 2, 1, milestones=(0,), gamma=0.5) == [0.5, 0.5]
    assert dense_schedule("multistep", 1.0, 2, 1, milestones=(1, 1), gamma=0.5) == [1.0, 0.25]


def test_multistep_default_gamma_is_one_tenth():
    # epochs 2, 1 iteration each, milestone at epoch 1: [1.0 * 0.1**0, 1.0 * 0.1**1] = [1.0, 0.1]
    assert multistep_schedule(1.0, 2, 1, milestones=(1,)) == [1.0, 0.1]
    assert DENSE_SCHEDULES["multistep"](1.0, 2, 1, milestones=(1,)) == [1.0, 0.1]
    assert dense_schedule("multistep", 1.0, 2, 1, milestones=(1,)) == [1.0, 0.1]
    # two milestones passed by epoch 2: 1.0 * 0.1**2 = 0.01
    assert dense_schedule("multistep", 1.0, 3, 1, milestones=(1, 2))[2] == approx(0.01)


def test_multistep_milestone_messages():
    with raises_exactly("milestone must be >= 0, got -1"):
        multistep_schedule(1.0, 2, 1, milestones=(1, -1))
    with raises_exactly("milestone must be >= 0, got -1"):
        dense_schedule("multistep", 1.0, 2, 1, milestones=(-1,))
    with raises_exactly("milestone must be an integer, got 1.5"):
        multistep_schedule(1.0, 2, 1, milestones=(1.5,))
    with raises_exactly("milestone must be an integer, got True"):
        dense_schedule("multistep", 1.0, 2, 1, milestones=(True,))


def test_cosine_values():
    lrs = dense_schedule("cosine", 2.0, 2, 2)
    assert lrs[0] == 2.0
    assert lrs[1] == approx(1.7071067811865475)  # 1 + sqrt(2)/2
    assert lrs[2] == approx(1.0)
    assert lrs[3] == approx(0.2928932188134524)  # 1 - sqrt(2)/2


def test_linear_values():
    assert dense_schedule("linear", 1.0, 2, 2) == [1.0, 0.75, 0.5, 0.25]


def test_constant_values():
    assert dense_schedule("constant", 0.3, 3, 2) == [0.3] * 6


def test_dense_milestones_ignored_by_other_kinds():
    assert dense_schedule("linear", 1.0, 2, 2, milestones=(1,), gamma=0.5) == [1.0, 0.75, 0.5, 0.25]


def test_dense_warmup_replaces_first_iterations():
    # W = 1 epoch * 2 iterations: i < W gets lr*(i+1)/W; the schedule keeps its absolute positions
    assert dense_schedule("constant", 1.0, 3, 2, warmup_epochs=1) == [0.5, 1.0, 1.0, 1.0, 1.0, 1.0]
    assert dense_schedule("linear", 1.0, 2, 2, warmup_epochs=1) == [0.5, 1.0, 0.5, 0.25]
    lrs = dense_schedule("multistep", 1.0, 3, 4, milestones=(2,), gamma=0.5, warmup_epochs=1)
    assert lrs == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]


def test_dense_warmup_whole_run():
    assert dense_schedule("constant", 1.0, 1, 4, warmup_epochs=1) == [0.25, 0.5, 0.75, 1.0]


def test_dense_registry_names():
    assert set(DENSE_SCHEDULES) == {"multistep", "cosine", "linear", "constant"}


def test_dense_unknown_kind():
    with pytest.raises(ValueError) as err:
        dense_schedule("step", 0.1, 10, 1)
    msg = str(err.value)
    assert "'step'" in msg
    for name in DENSE_SCHEDULES:
        assert name in msg
    assert msg == "unknown dense schedule kind 'step'; allowed: ['constant', 'cosine', 'linear', 'multistep']"


@pytest.mark.parametrize("kwargs, msg", [
    (dict(epochs=0), "epochs must be >= 1, got 0"),
    (dict(epochs=-3), "epochs must be >= 1, got -3"),
    (dict(epochs=2.0), "epochs must be an integer, got 2.0"),
    (dict(epochs=True), "epochs must be an integer, got True"),
    (dict(iters_per_epoch=0), "iters_per_epoch must be >= 1, got 0"),
    (dict(iters_per_epoch="3"), "iters_per_epoch must be an integer, got '3'"),
    (dict(warmup_epochs=-1), "warmup_epochs must be >= 0, got -1"),
    (dict(warmup_epochs=0.5), "warmup_epochs must be an integer, got 0.5"),
    (dict(warmup_epochs=3), "warmup_epochs must be <= epochs (2), got 3"),
    (dict(lr=-0.1), "lr must be a finite number >= 0, got -0.1"),
    (dict(lr=math.inf), "lr must be a finite number >= 0, got inf"),
    (dict(lr=math.nan), "lr must be a finite number >= 0, got nan"),
    (dict(lr="0.5"), "lr must be a number, got '0.5'"),
    (dict(lr=True), "lr must be a number, got True"),
    (dict(lr=None), "lr must be a number, got None"),
    (dict(gamma=-0.5), "gamma must be a finite number >= 0, got -0.5"),
    (dict(gamma=math.inf), "gamma must be a finite number >= 0, got inf"),
    (dict(gamma="0.5"), "gamma must be a number, got '0.5'"),
    (dict(gamma=False), "gamma must be a number, got False"),
])
@pytest.mark.parametrize("kind", ["constant", "multistep"])
def test_dense_invalid_arguments(kind, kwargs, msg):
    kwargs = {"lr": 0.1, "epochs": 2, "iters_per_epoch": 1, **kwargs}
    with raises_exactly(msg):
        dense_schedule(kind, **kwargs)


def test_dense_boundary_arguments_are_allowed():
    # lr = 0, gamma = 0, warmup_epochs = 0 and warmup_epochs == epochs are all valid
    assert dense_schedule("constant", 0.0, 1, 2) == [0.0, 0.0]
    assert dense_schedule("multistep", 1.0, 2, 1, milestones=(1,), gamma=0.0) == [1.0, 0.0]  # 0.0**1 = 0
    assert dense_schedule("constant", 1.0, 2, 1, warmup_epochs=0) == [1.0, 1.0]
    assert dense_schedule("constant", 1.0, 2, 1, warmup_epochs=2) == [0.5, 1.0]  # lr * (i + 1) / 2


# ------------------------------------------------------------------------------------------------------------
# maxLR / minLR
# ------------------------------------------------------------------------------------------------------------

def test_lr_bounds_simple():
    assert lr_bounds(D) == (1.0, 0.25)


def test_min_lr_ignores_dense_warmup():
    # warm-up from 1.0 * 1/10 = 0.1, final LR 0.5: the warm-up's tiny values must not count
    dense = dense_schedule("multistep", 1.0, 4, 10, milestones=(3,), gamma=0.5, warmup_epochs=1)
    assert dense[0] == 0.1 and min(dense) == 0.1 and dense[-1] == 0.5
    assert lr_bounds(dense) == (1.0, 0.5)
    assert retrain_schedule("ft", 5, dense) == [0.5] * 5


def test_min_lr_uses_first_index_of_maximum():
    assert lr_bounds([0.01, 0.1, 0.005, 0.1, 0.02]) == (0.1, 0.005)


def test_lr_bounds_rejects_empty_and_negative():
    with raises_exactly("dense_lrs must not be empty"):
        lr_bounds([])
    with raises_exactly("dense_lrs must hold finite numbers >= 0, got -0.1"):
        lr_bounds([0.1, -0.1])
    with raises_exactly("dense_lrs must hold finite numbers >= 0, got inf"):
        lr_bounds([0.1, math.inf])
    with raises_exactly("dense_lrs must hold finite numbers >= 0, got nan"):
        lr_bounds([math.nan])
    # the retraining schedules check the dense run the same way
    with raises_exactly("dense_lrs must not be empty"):
        retrain_schedule("ft", 5, [])
    with raises_exactly("dense_lrs must hold finite numbers >= 0, got -1.0"):
        retrain_schedule("llr", 5, [1.0, -1])


def test_lr_bounds_allows_a_zero_learning_rate():
    assert lr_bounds([1.0, 0.0]) == (1.0, 0.0)
    assert lr_bounds([0.0, 0.0]) == (0.0, 0.0)
    assert retrain_schedule("ft", 3, [1.0, 0.5, 0.0]) == [0.0, 0.0, 0.0]  # minLR = 0


# ------------------------------------------------------------------------------------------------------------
# warm-up
# ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("T, W", [(1, 0), (9, 0), (10, 1), (19, 1), (20, 2), (25, 2), (100, 10), (391, 39)])
def test_warmup_length(T, W):
    assert warmup_length(T) == W
    lrs = retrain_schedule("llr", T, D)
    assert len(lrs) == T
    # the main phase starts at eta = maxLR exactly at index W; warm-up values are below it
    assert lrs[W] == 1.0
    assert all(x < 1.0 for x in lrs[:W])
    if W:
        assert lrs[0] == 0.0


@pytest.mark.parametrize("T, msg", [
    (0, "T must be >= 1, got 0"),
    (-3, "T must be >= 1, got -3"),
    (2.5, "T must be an integer, got 2.5"),
    (True, "T must be an integer, got True"),
])
def test_warmup_length_invalid_T(T, msg):
    with raises_exactly(msg):
        warmup_length(T)


def test_warmup_midpoint_even_W():
    lrs = retrain_schedule("llr", 40, D)  # W = 4, midpoint j = 2 -> eta/2
    assert lrs[:4] == [0.0, approx((1 - math.sqrt(2) / 2) / 2), approx(0.5), approx((1 + math.sqrt(2) / 2) / 2)]


def test_warmup_half_cosine_clr_and_slr():
    for name in ("slr", "clr", "llr"):
        lrs = retrain_schedule(name, 20, D)  # W = 2
        assert lrs[0] == 0.0
        assert lrs[1] == approx(0.5)
        assert lrs[2] == 1.0


def test_no_warmup_below_ten_iterations():
    lrs = retrain_schedule("llr", 9, D)  # W = 0, R = 9
    assert lrs[0] == 1.0
    assert lrs[-1] == approx(1 / 9)
    lrs = retrain_schedule("clr", 9, D)
    assert lrs[0] == 1.0
    lrs = retrain_schedule("slr", 5, D)  # R = 5: D[4*i]
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.25]


# ------------------------------------------------------------------------------------------------------------
# the six retraining schedules
# ------------------------------------------------------------------------------------------------------------

def test_ft_constant_min_lr():
    assert retrain_schedule("ft", 15, D) == [0.25] * 15
    assert retrain_schedule("ft", 1, D) == [0.25]


def test_lrw_exact_tail():
    assert retrain_schedule("lrw", 7, D) == [0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.25]
    assert retrain_schedule("lrw", 20, D) == D
    assert retrain_schedule("lrw", 10, D)[0] == 0.5  # no warm-up


def test_lrw_too_long():
    with pytest.raises(ValueError, match="T=21"):
        retrain_schedule("lrw", 21, D)


def test_slr_reproduces_dense_when_R_equals_len():
    lrs = retrain_schedule("slr", 22, D)  # W = 2, R = 20
    assert lrs[2:] == D
    assert lrs[0] == 0.0 and lrs[1] == approx(0.5)


def test_slr_compressed():
    lrs = retrain_schedule("slr", 11, D)  # W = 1, R = 10: main i -> D[2i]
    assert lrs == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]


def test_llr_endpoints_and_monotonic():
    lrs = retrain_schedule("llr", 20, D)  # W = 2, R = 18
    assert lrs[0] == 0.0
    assert lrs[2] == 1.0
    assert lrs[-1] == approx(1 / 18)
    assert lrs[3] == approx(17 / 18)
    assert all(a <= b for a, b in zip(lrs[:2], lrs[1:3]))       # warm-up rises
    assert all(a > b for a, b in zip(lrs[2:], lrs[3:]))         # main phase strictly decreasing


def test_clr_endpoints_and_monotonic():
    lrs = retrain_schedule("clr", 20, D)  # W = 2, R = 18, maxLR 1.0, minLR 0.25
    assert lrs[0] == 0.0
    assert lrs[2] == 1.0
    # 0.25 + 0.75 * (1 + cos(17*pi/18)) / 2 with cos(17*pi/18) = -0.984807753012208
    assert lrs[-1] == approx(0.255697092620422)
    assert lrs[-1] > 0.25
    # midpoint of the main phase i = 9: cos(pi/2) = 0 -> 0.25 + 0.375
    assert lrs[2 + 9] == approx(0.625)
    assert all(a > b for a, b in zip(lrs[2:], lrs[3:]))


def test_allr_in_between_value():
    ctx = RetrainContext(distance=0.2, pruned_fraction=0.25, retrain_epochs=10, train_epochs=200)
    # d / sqrt(p) * maxLR = 0.2 / 0.5 * 1.0 = 0.4, lower bound 10/200 = 0.05, upper 1.0
    assert allr_start(1.0, ctx) == 0.4
    assert allr_start(0.1, ctx) == approx(0.04)
    lrs = retrain_schedule("allr", 20, D, ctx)
    assert lrs[0] == 0.0
    assert lrs[1] == approx(0.2)
    assert lrs[2] == 0.4
    assert lrs[-1] == approx(0.4 / 18)


def test_allr_lower_bound():
    ctx = RetrainContext(distance=0.01, pruned_fraction=0.25, retrain_epochs=10, train_epochs=200)
    assert allr_start(1.0, ctx) == 0.05  # raw 0.02 < min(10/200, 1) * 1.0
    # retraining at least as long as training: the lower bound is maxLR itself
    ctx = RetrainContext(distance=0.2, pruned_fraction=0.25, retrain_epochs=200, train_epochs=100)
    assert allr_start(1.0, ctx) == 1.0


def test_allr_upper_bound_equals_llr():
    ctx = RetrainContext(distance=0.8, pruned_fraction=0.25, retrain_epochs=10, train_epochs=200)
    assert allr_start(1.0, ctx) == 1.0  # raw 1.6 clipped to maxLR
    assert retrain_schedule("allr", 25, D, ctx) == retrain_schedule("llr", 25, D)


@pytest.mark.parametrize("ctx", [
    None,
    RetrainContext(distance=0.2, pruned_fraction=0.0, retrain_epochs=10, train_epochs=200),
    RetrainContext(distance=0.2, pruned_fraction=0.25, retrain_epochs=10, train_epochs=0),
])
def test_allr_requires_context(ctx):
    with pytest.raises(ValueError):
        retrain_schedule("allr", 20, D, ctx)
    with pytest.raises(ValueError):
        allr_start(1.0, ctx)


@pytest.mark.parametrize("kwargs, msg", [
    (dict(distance=-0.1), "distance must be a finite number >= 0, got -0.1"),
    (dict(distance=True), "distance must be a number, got True"),
    (dict(pruned_fraction=-0.25), "pruned_fraction must be a finite number >= 0, got -0.25"),
    (dict(pruned_fraction=math.inf), "pruned_fraction must be a finite number >= 0, got inf"),
    (dict(pruned_fraction=1.5), "pruned_fraction must be in [0, 1], got 1.5"),
    (dict(pruned_fraction=2), "pruned_fraction must be in [0, 1], got 2"),
    (dict(retrain_epochs=math.nan), "retrain_epochs must be a finite number >= 0, got nan"),
    (dict(retrain_epochs="10"), "retrain_epochs must be a number, got '10'"),
    (dict(train_epochs=-1), "train_epochs must be a finite number >= 0, got -1"),
    (dict(train_epochs=None), "train_epochs must be a number, got None"),
])
def test_context_validation(kwargs, msg):
    with raises_exactly(msg):
        RetrainContext(**kwargs)


def test_context_allows_pruning_everything():
    ctx = RetrainContext(distance=0.3, pruned_fraction=1.0, retrain_epochs=1, train_epochs=10)
    assert ctx.pruned_fraction == 1.0
    # d / sqrt(1) * maxLR = 0.3, floor 1/10 * 1.0 = 0.1, cap 1.0
    assert allr_start(1.0, ctx) == 0.3
    assert RetrainContext(pruned_fraction=1).pruned_fraction == 1


def test_allr_start_rejects_a_max_lr_that_is_not_a_finite_number_at_least_zero():
    ctx = RetrainContext(distance=0.8, pruned_fraction=0.25, retrain_epochs=20, train_epochs=10)
    for bad in (-1.0, math.inf, math.nan, "1"):
        with raises_exactly(f"maxLR must be {'a number' if bad == '1' else 'a finite number >= 0'}, got {bad!r}"):
            allr_start(bad, ctx)
    # with E_rt >= E_train the floor min(E_rt / E_train, 1) * maxLR is maxLR itself: raw 0.8 / 0.5 * 0.5 = 0.8 is
    # clipped to maxLR = 0.5
    assert allr_start(0.5, ctx) == 0.5


def test_context_ignored_by_other_schedules():
    ctx = RetrainContext(distance=0.2, pruned_fraction=0.25, retrain_epochs=10, train_epochs=200)
    assert retrain_schedule("llr", 20, D, ctx) == retrain_schedule("llr", 20, D)


# ------------------------------------------------------------------------------------------------------------
# registry and errors
# ------------------------------------------------------------------------------------------------------------

def test_registry():
    assert RETRAIN_SCHEDULES == {"ft": FT, "lrw": LRW, "slr": SLR, "clr": CLR, "llr": LLR, "allr": ALLR}
    for name, cls in RETRAIN_SCHEDULES.items():
        assert cls.name == name
        assert isinstance(cls.uses_warmup, bool)
        assert cls.uses_warmup == (name not in ("ft", "lrw"))
        doc = cls.__doc__.strip()
        assert doc and name.upper() in doc


@pytest.mark.parametrize("name", sorted(RETRAIN_SCHEDULES))
@pytest.mark.parametrize("T", [1, 9, 10, 25, 391])
def test_every_schedule_has_length_T(name, T):
    dense = dense_schedule("multistep", 0.1, 4, 100, milestones=(2, 3), gamma=0.1)
    ctx = RetrainContext(distance=0.3, pruned_fraction=0.2, retrain_epochs=1, train_epochs=4)
    lrs = retrain_schedule(name, T, dense, ctx)
    assert len(lrs) == T
    assert all(0.0 <= x <= 0.1 for x in lrs)


def test_name_case_insensitive():
    assert retrain_schedule("LLR", 20, D) == retrain_schedule("llr", 20, D)


def test_unknown_retrain_schedule():
    with pytest.raises(ValueError) as err:
        retrain_schedule("cosine", 20, D)
    msg = str(err.value)
    assert "'cosine'" in msg
    for name in RETRAIN_SCHEDULES:
        assert name in msg
    assert msg == "unknown retraining schedule 'cosine'; allowed: ['allr', 'clr', 'ft', 'llr', 'lrw', 'slr']"


@pytest.mark.parametrize("name", [None, 3])
def test_retrain_schedule_name_that_is_not_a_string(name):
    with raises_exactly(f"unknown retraining schedule {name!r}; allowed: ['allr', 'clr', 'ft', 'llr', 'lrw', 'slr']"):
        retrain_schedule(name, 20, D)


INVALID_T = [
    (0, "T must be >= 1, got 0"),
    (-1, "T must be >= 1, got -1"),
    (2.5, "T must be an integer, got 2.5"),
    (True, "T must be an integer, got True"),
]


@pytest.mark.parametrize("name", sorted(RETRAIN_SCHEDULES))
@pytest.mark.parametrize("T, msg", INVALID_T)
def test_invalid_T(name, T, msg):
    ctx = RetrainContext(distance=0.2, pruned_fraction=0.25, retrain_epochs=10, train_epochs=200)
    with raises_exactly(msg):
        retrain_schedule(name, T, D, ctx)


@pytest.mark.parametrize("name", sorted(RETRAIN_SCHEDULES))
@pytest.mark.parametrize("T, msg", INVALID_T)
def test_build_invalid_T(name, T, msg):
    ctx = RetrainContext(distance=0.2, pruned_fraction=0.25, retrain_epochs=10, train_epochs=200)
    with raises_exactly(msg):
        RETRAIN_SCHEDULES[name](D, ctx).build(T)


def test_allr_start_clips_to_its_floor_and_to_max_lr_and_names_what_it_needs():
    from sparselib.schedules import RetrainContext, allr_start

    ctx = lambda d, p, e_rt, e_tr: RetrainContext(distance=d, pruned_fraction=p, retrain_epochs=e_rt,  # noqa: E731
                                                  train_epochs=e_tr)
    assert allr_start(0.1, ctx(0.2, 0.25, 2, 10)) == pytest.approx(0.04)       # d / sqrt(p) · maxLR, inside
    assert allr_start(0.1, ctx(0.01, 0.25, 2, 10)) == pytest.approx(0.02)      # the floor E_rt / E_train · maxLR
    assert allr_start(0.1, ctx(0.01, 0.25, 30, 10)) == pytest.approx(0.1)      # a floor above 1 is capped at 1
    assert allr_start(0.1, ctx(0.9, 0.25, 2, 10)) == pytest.approx(0.1)        # never above maxLR
    assert allr_start(0.1, ctx(0.01, 0.25, 1, 0.5)) == pytest.approx(0.1)      # E_train below 1 is allowed
    with pytest.raises(ValueError, match=r"^ALLR needs a RetrainContext \(distance, pruned_fraction, "
                                         r"retrain_epochs, train_epochs\)$"):
        allr_start(0.1, None)
    with pytest.raises(ValueError, match=r"^ALLR needs ctx\.pruned_fraction > 0, got 0\.0$"):
        allr_start(0.1, ctx(0.2, 0.0, 2, 10))
    with pytest.raises(ValueError, match=r"^ALLR needs ctx\.train_epochs > 0, got 0$"):
        allr_start(0.1, ctx(0.2, 0.5, 2, 0))
