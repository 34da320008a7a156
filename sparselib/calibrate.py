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
    else:  # every try on one side: from the try nearest the goal and its neighbour towards the rest
        near = max(range(len(pts)), key=lambda i: pts[i][1]) if below else min(range(len(pts)), key=lambda i: pts[i][1])
        beyond = range(near + 1, len(pts)) if below else range(near)
        if list(beyond):  # a knob past the nearest try ends farther from the goal: the sparsity peaks there
            b = next(iter(beyond))
            raise ValueError(f"the sparsity does not grow with the knob past {pts[near][0]:g} "
                             f"({pts[near][1] * 100:.2f} %, then {pts[b][1] * 100:.2f} % at {pts[b][0]:g}): "
                             f"{goal * 100:g} % looks out of reach")
        i, j = (near - 1, near) if below else (near, near + 1)
    # y[i] != y[j] here: a bracket has one try on each side, and past the peak the nearest try raised above
    k = math.exp(x[i] + (t - y[i]) * (x[j] - x[i]) / (y[j] - y[i]))
    return float(f"{k:.{digits}g}")
