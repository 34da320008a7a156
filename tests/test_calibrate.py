"""The implicit methods' next try (sparselib.calibrate), against values computed by hand."""
import math

import pytest

from sparselib.calibrate import next_knob


def test_interpolates_log_one_minus_sparsity_linearly_in_log_knob():
    # 1 - s halves when the knob doubles: (1e-3, 80 %), (2e-3, 90 %); 95 % lies one more doubling on, 85 % halfway
    assert next_knob([(1e-3, 0.8), (2e-3, 0.9)], 0.95) == 4e-3
    assert next_knob([(1e-3, 0.8), (2e-3, 0.9)], 0.85) == pytest.approx(1e-3 * 2 ** (math.log(0.15 / 0.2) / math.log(0.5)), rel=5e-3)
    # the two tries that bracket the goal are used, not the outer ones
    assert next_knob([(1e-4, 0.5), (1e-3, 0.8), (2e-3, 0.9), (1e-1, 0.999)], 0.85) == next_knob(
        [(1e-3, 0.8), (2e-3, 0.9)], 0.85)


def test_a_goal_beyond_every_try_extrapolates_from_the_nearest_two():
    assert next_knob([(5e-4, 0.6), (1e-3, 0.8), (2e-3, 0.9)], 0.975) == 8e-3  # two more doublings


def test_bad_tries_say_why():
    with pytest.raises(ValueError, match="two knob values"):
        next_knob([(1e-3, 0.8), (1e-3, 0.81)], 0.9)
    with pytest.raises(ValueError, match="does not grow with the knob past 0.001"):
        next_knob([(1e-3, 0.8), (2e-3, 0.8)], 0.9)
    # a method whose sparsity tops out (DST): past its peak a larger knob ends less sparse, so the goal is out of reach
    with pytest.raises(ValueError, match="does not grow with the knob past 0.002 .92.00 %, then 91.90 %"):
        next_knob([(1e-3, 0.9), (2e-3, 0.92), (4e-3, 0.919)], 0.95)
    # ... even where the try past the peak is far below it (it is not one of the two nearest the goal)
    with pytest.raises(ValueError, match="past 0.002 .93.82 %, then 89.80 % at 0.0028"):
        next_knob([(7.2e-4, 0.8868), (8.5e-4, 0.9075), (2e-3, 0.9382), (2.8e-3, 0.898), (4e-3, 0.8177)], 0.95)
