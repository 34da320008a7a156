"""The implicit methods' searches: the next value of a sparsity knob to try, aimed at a goal's band.

CS's and DST's penalty and STR's weight decay set the sparsity a run reaches only through training.  Over the tries
made so far, ``log(1 − sparsity)`` is close to linear in ``log(knob)`` between neighbouring values, so the next try
interpolates there between the two tries nearest to the goal on either side (or extrapolates from the two nearest,
where every try lies on one side).  Each try is a configuration's mean sparsity over its seeds.
"""
from __future__ import annotations

import math
from typing import Sequence


def next_knob(tries: Sequence[tuple[float, float]], goal: float, digits: int = 3) -> float:
    """The knob value whose run should reach ``goal`` sparsity, from ``tries`` = [(knob, mean sparsity), ...] (at
    least two distinct knobs, sparsity increasing with the knob), rounded to ``digits`` significant digits."""
    pts = sorted({(float(k), float(s)) for k, s in tries if k > 0 and 0 < s < 1})
    if len({k for k, _ in pts}) < 2:
        raise ValueError(f"need tries at two knob values at least, got {list(tries)!r}")
    x = [math.log(k) for k, _ in pts]
    y = [math.log(1 - s) for _, s in pts]
    t = math.log(1 - goal)
    below = [i for i in range(len(pts)) if pts[i][1] <= goal]
    above = [i for i in range(len(pts)) if pts[i][1] > goal]
    if below and above:
        i, j = max(below, key=lambda i: pts[i][1]), min(above, key=lambda i: pts[i][1])
    else:  # every try on one side: the two nearest to the goal
        i, j = sorted(range(len(pts)), key=lambda i: abs(pts[i][1] - goal))[:2]
    if y[i] == y[j]:
        raise ValueError(f"tries {pts[i]} and {pts[j]} reach the same sparsity: no slope to follow")
    k = math.exp(x[i] + (t - y[i]) * (x[j] - x[i]) / (y[j] - y[i]))
    return float(f"{k:.{digits}g}")
