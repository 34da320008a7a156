"""Tests for sparselib.sparsity: IMP, GMP and BIMP sparsity schedules (SPEC §6). Hand-computed values."""


import pytest

from sparselib.sparsity import bimp_cycles, gmp_targets, imp_prune_rate, imp_targets

TOL = 1e-12


def approx(x):
    return pytest.approx(x, rel=TOL, abs=TOL)


# ------------------------------------------------------------------------------------------------------------
# IMP
# ------------------------------------------------------------------------------------------------------------

def test_imp_prune_rate_values():
    assert imp_prune_rate(0.75, 2) == approx(0.5)       # 1 - 0.25**(1/2)
    assert imp_prune_rate(0.9375, 4) == approx(0.5)     # 1 - 0.0625**(1/4)
    assert imp_prune_rate(0.9, 1) == 0.9                # one-shot prunes everything at once
    assert imp_prune_rate(0.0, 3) == 0.0


def test_imp_prune_rate_compounds_to_goal():
    r = imp_prune_rate(0.98, 5)
    assert 1 - (1 - r) ** 5 == approx(0.98)


def test_imp_targets_values():
    t = imp_targets(0.9375, 4)
    assert t[:3] == [approx(0.5), approx(0.75), approx(0.875)]
    assert t[3] == 0.9375


def test_imp_targets_last_exactly_goal():
    assert 1 - (1 - 0.1) != 0.1  # why the last target is set to the goal itself
    for goal in (0.1, 0.9, 0.95, 0.98, 0.995):
        for n in (1, 2, 3, 7):
            t = imp_targets(goal, n)
            assert len(t) == n
            assert t[-1] == goal
            assert all(a < b for a, b in zip(t, t[1:]))


def test_imp_targets_match_prune_rate():
    r = imp_prune_rate(0.95, 3)
    t = imp_targets(0.95, 3)
    remaining = 1.0
    for target in t:
        remaining *= 1 - r
        assert 1 - remaining == approx(target)


@pytest.mark.parametrize("goal", [-0.1, 1.0, 1.5, float("nan"), "0.9", True])
def test_goal_validation(goal):
    for call in (lambda: imp_prune_rate(goal, 2), lambda: imp_targets(goal, 2),
                 lambda: gmp_targets(goal, 10, 2), lambda: bimp_cycles(20, 10, 2, goal)):
        with pytest.raises(ValueError) as err:
            call()
        assert "goal" in str(err.value)
        assert repr(goal) in str(err.value)


@pytest.mark.parametrize("n", [0, -1, 1.5])
def test_imp_n_phases_validation(n):
    with pytest.raises(ValueError, match="n_phases"):
        imp_prune_rate(0.9, n)
    with pytest.raises(ValueError, match="n_phases"):
        imp_targets(0.9, n)


# ------------------------------------------------------------------------------------------------------------
# GMP
# ------------------------------------------------------------------------------------------------------------

def test_gmp_exact_dyadic():
    # epochs 10, interval 2 -> n = 4, prune at 2, 4, 6, 8; s(e) = 0.5 - 0.5 (1 - e/8)^3
    assert gmp_targets(0.5, 10, 2) == {2: 37 / 128, 4: 0.4375, 6: 63 / 128, 8: 0.5}


def test_gmp_leftover_epochs():
    # epochs 11 -> n = 11 // 2 - 1 = 4 as well; last step at 8 leaves 3 epochs
    assert gmp_targets(0.5, 11, 2) == gmp_targets(0.5, 10, 2)


def test_gmp_values_goal_09():
    t = gmp_targets(0.9, 20, 5)  # n = 3: epochs 5, 10, 15; s = 0.9 - 0.9 (1 - e/15)^3
    assert list(t) == [5, 10, 15]
    assert t[5] == approx(0.9 - 0.9 * 8 / 27)   # 0.6333...
    assert t[10] == approx(0.9 - 0.9 / 27)      # 0.8666...
    assert t[15] == 0.9


def test_gmp_single_step_and_monotone():
    assert gmp_targets(0.9, 4, 2) == {2: 0.9}
    t = gmp_targets(0.98, 200, 5)
    assert len(t) == 39 and max(t) == 195 and t[195] == 0.98
    vals = list(t.values())
    assert all(a < b for a, b in zip(vals, vals[1:]))
    assert 200 - max(t) >= 5


def test_gmp_too_few_epochs():
    with pytest.raises(ValueError, match="at least 2\\*interval"):
        gmp_targets(0.9, 3, 2)


# ------------------------------------------------------------------------------------------------------------
# BIMP
# ------------------------------------------------------------------------------------------------------------

def test_bimp_even_cycles():
    cycles = bimp_cycles(20, 10, 2, 0.9)
    assert [c[0] for c in cycles] == [10, 12, 14, 16, 18]
    assert [c[1] for c in cycles] == [2, 2, 2, 2, 2]
    targets = [c[2] for c in cycles]
    # 1 - 0.1^(t/5), t = 1..5
    assert targets[:4] == [approx(0.36904265551980675), approx(0.6018928294465027),
                           approx(0.748811356849042), approx(0.8415106807538887)]
    assert targets[4] == 0.9
    assert targets == imp_targets(0.9, 5)


def test_bimp_leftover_in_last_cycle():
    cycles = bimp_cycles(21, 10, 2, 0.9)
    assert [(c[0], c[1]) for c in cycles] == [(10, 2), (12, 2), (14, 2), (16, 2), (18, 3)]
    assert cycles[-1][2] == 0.9


def test_bimp_cycles_tile_the_budget():
    for n_epochs, budget, interval in [(200, 100, 15), (30, 0, 7), (12, 10, 2)]:
        cycles = bimp_cycles(n_epochs, budget, interval, 0.95)
        assert cycles[0][0] == budget
        for (s0, l0, _), (s1, _, _) in zip(cycles, cycles[1:]):
            assert s0 + l0 == s1
        assert cycles[-1][0] + cycles[-1][1] == n_epochs
        assert len(cycles) == (n_epochs - budget) // interval
    assert bimp_cycles(12, 10, 2, 0.9) == [(10, 2, 0.9)]


@pytest.mark.parametrize("args", [(10, 10, 2), (11, 10, 2), (10, 12, 2), (20, 10, 0), (20, -1, 2)])
def test_bimp_invalid(args):
    with pytest.raises(ValueError):
        bimp_cycles(*args, 0.9)


def test_messages_name_the_bad_value():
    with pytest.raises(ValueError, match=r"^goal must be a number in \[0, 1\), got 1\.5$"):
        imp_targets(1.5, 2)
    with pytest.raises(ValueError, match=r"^n_phases must be >= 1, got 0$"):
        imp_prune_rate(0.9, 0)
    with pytest.raises(ValueError, match=r"^n_phases must be an integer, got 2\.0$"):
        imp_targets(0.9, 2.0)
    with pytest.raises(ValueError, match=r"^epochs must be >= 1, got 0$"):
        gmp_targets(0.9, 0, 1)
    with pytest.raises(ValueError, match=r"^interval must be >= 1, got 0$"):
        gmp_targets(0.9, 10, 0)
    with pytest.raises(ValueError, match=r"^epochs must be at least 2\*interval = 4 for GMP \(got epochs=3, interval=2\)$"):
        gmp_targets(0.9, 3, 2)
    with pytest.raises(ValueError, match=r"^n_epochs must be >= 1, got 0$"):
        bimp_cycles(0, 0, 1, 0.9)
    with pytest.raises(ValueError, match=r"^n_train_budget must be >= 0, got -1$"):
        bimp_cycles(20, -1, 2, 0.9)
    with pytest.raises(ValueError, match=r"^pruning_interval must be >= 1, got 0$"):
        bimp_cycles(20, 10, 0, 0.9)
    with pytest.raises(ValueError, match=r"^BIMP needs n_epochs - n_train_budget >= pruning_interval \(at least one "
                                         r"cycle\), got n_epochs=11, n_train_budget=10, pruning_interval=2$"):
        bimp_cycles(11, 10, 2, 0.9)


def test_gmp_with_an_interval_of_several_epochs():
    # 10 epochs, interval 2: n = 4 steps at epochs 2, 4, 6, 8 (2 epochs left after the last)
    t = gmp_targets(0.8, 10, 2)
    assert list(t) == [2, 4, 6, 8]
    assert [t[e] for e in (2, 4, 6)] == [approx(0.8 - 0.8 * (1 - e / 8) ** 3) for e in (2, 4, 6)]
    assert t[8] == 0.8


def test_bimp_with_a_dense_budget_and_long_cycles():
    # 12 epochs, 4 dense, cycles of 3: 2 cycles at 4 and 7, the last taking the leftover 5 epochs
    assert bimp_cycles(12, 4, 3, 0.75) == [(4, 3, approx(0.5)), (7, 5, 0.75)]
