"""The x axes an accuracy figure can switch between: actual sparsity (a log scale of 1 / (1 − s), labelled in %),
theoretical speedup and relative training time."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["X_AXES", "fmt_pct", "nan_to_none", "xaxis_layout"]

# Sparsities shown as tick labels on the log(1/(1 - s)) axis.
_SPARSITY_TICKS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9999)
# Speedups shown as tick labels on its log axis: 1-2-5 per decade.  plotly's own log ticks label every digit once a
# range spans less than about two decades ("8 9 1 2 3 ... 10 2 3 ..."), unreadable at the figure's width.
_SPEEDUP_TICKS = tuple(m * 10 ** e for e in range(4) for m in (1, 2, 5))
_MIN_DENSITY = 1e-6  # clip so that s = 1 (everything pruned) stays plottable


def _compression(sparsity: pd.Series | np.ndarray) -> np.ndarray:
    """x coordinate of the sparsity axis: 1 / (1 - s), shown on a log axis."""
    s = np.asarray(sparsity, dtype=float)
    return 1.0 / np.clip(1.0 - s, _MIN_DENSITY, None)


def fmt_pct(s: float) -> str:
    """A fraction as a percentage with 4 significant digits; "n/a" when missing."""
    return "n/a" if s is None or not np.isfinite(s) else f"{100 * s:.4g} %"


def _times(value: float) -> str:
    return f"{value:g}×"


#: key -> button label, what the figure's title calls it, axis title, axis type, column of the run table, transform,
#: fixed ticks (None: plotly's)
X_AXES: dict[str, dict[str, Any]] = {
    "sparsity": {
        "label": "x: actual sparsity",
        "name": "actual sparsity",
        "title": "Actual sparsity of prunable weights (%) — log scale of 1 / (1 − sparsity)",
        "type": "log",
        "column": "sparsity_prunable",
        "transform": _compression,
        "tickvals": [float(v) for v in _compression(np.array(_SPARSITY_TICKS))],
        "ticktext": [fmt_pct(s) for s in _SPARSITY_TICKS],
    },
    "speedup": {
        "label": "x: theoretical speedup",
        "name": "theoretical speedup",
        "title": "Theoretical speedup (×, dense / sparse multiply-adds per image), log scale",
        "type": "log",
        "column": "theoretical_speedup",
        "transform": lambda v: np.asarray(v, dtype=float),
        "tickvals": [float(v) for v in _SPEEDUP_TICKS],
        "ticktext": [_times(v) for v in _SPEEDUP_TICKS],
    },
    "time": {
        "label": "x: relative training time",
        "name": "relative training time",
        "title": "Wall time of the whole pipeline relative to dense training (×)",
        "type": "linear",
        "column": "relative_time",
        "transform": lambda v: np.asarray(v, dtype=float),
        "tickvals": None,
        "ticktext": None,
    },
}


def xaxis_layout(key: str) -> dict[str, Any]:
    """The layout update that shows x axis ``key`` (a dropdown button's second argument)."""
    spec = X_AXES[key]
    return {
        "xaxis.title.text": spec["title"],
        "xaxis.type": spec["type"],
        "xaxis.tickmode": "array" if spec["tickvals"] else "auto",
        "xaxis.tickvals": spec["tickvals"],
        "xaxis.ticktext": spec["ticktext"],
        "xaxis.autorange": True,
    }


def nan_to_none(values: np.ndarray) -> list[float | None]:
    """Plain floats for plotly, None where a value is missing."""
    return [None if not np.isfinite(v) else float(v) for v in np.asarray(values, dtype=float)]
