"""Tests for sparselib.schedules: dense and retraining learning-rate schedules (SPEC §4, §6).

Expected values are computed by hand (dyadic numbers where the result is exact in floating point, otherwise
decimal literals checked with a tight tolerance)."""

import math

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
    retrain_schedule,
    warmup_length,
)

TOL = 1e-12


def approx(x):
    return pytest.approx(x, rel=TOL, abs=TOL)


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


@pytest.mark.parametrize("kwargs", [
    dict(epochs=0, iters_per_epoch=1),
    dict(epochs=2, iters_per_epoch=0),
    dict(epochs=2, iters_per_epoch=1, warmup_epochs=3),
    dict(epochs=2, iters_per_epoch=1, warmup_epochs=-1),
    dict(epochs=2, iters_per_epoch=1, lr=-0.1),
])
def test_dense_invalid_arguments(kwargs):
    kwargs = {"lr": 0.1, **kwargs}
    with pytest.raises(ValueError):
        dense_schedule("constant", **kwargs)


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
    with pytest.raises(ValueError):
        lr_bounds([])
    with pytest.raises(ValueError):
        lr_bounds([0.1, -0.1])


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


@pytest.mark.parametrize("kwargs", [dict(distance=-0.1), dict(pruned_fraction=1.5), dict(train_epochs=-1)])
def test_context_validation(kwargs):
    with pytest.raises(ValueError):
        RetrainContext(**kwargs)


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


@pytest.mark.parametrize("name", sorted(RETRAIN_SCHEDULES))
@pytest.mark.parametrize("T", [0, -1, 2.5])
def test_invalid_T(name, T):
    ctx = RetrainContext(distance=0.2, pruned_fraction=0.25, retrain_epochs=10, train_epochs=200)
    with pytest.raises(ValueError):
        retrain_schedule(name, T, D, ctx)


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
