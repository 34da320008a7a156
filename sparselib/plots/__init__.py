"""Figures for the sparselib book: one tidy run table in, plotly figures out.

Everything here reads the tidy table of :func:`sparselib.results.collect_runs` (one row per
finished run) and never invents a value: a figure shows exactly the runs it is given.

* :mod:`.style` -- how each method is shown (:func:`method_label`, :func:`method_color`,
  :func:`method_symbol`, its place in the order), read from the method registry: a fixed,
  colour-blind-safe colour per method, doubled by a fixed marker symbol so that no two methods
  rely on hue alone.
* :mod:`.summary` -- :func:`summarize_runs`: per setting x method x configuration x goal
  sparsity, mean/std over seeds.
* :mod:`.accuracy` -- :func:`accuracy_vs_sparsity`: top-1 accuracy against actual sparsity, with
  dropdowns inside the figure for the x axis (:mod:`.axes`) and the setting, and the dense runs as a
  horizontal reference.
* :mod:`.display` -- :func:`show` / :func:`figure_bundle`: renders both in JupyterLab (plotly's
  mimetype) and in the offline book (HTML that expects ``plotly.min.js`` to be served by the site),
  each with its own plotly.js config.
"""
from .accuracy import accuracy_vs_sparsity
from .axes import X_AXES
from .display import HTML_CONFIG, PLOTLY_CONFIG, figure_bundle, show
from .style import canonical_method, method_color, method_label, method_rank, method_symbol, series_label
from .summary import REQUIRED_COLUMNS, summarize_runs

__all__ = [
    "HTML_CONFIG",
    "PLOTLY_CONFIG",
    "REQUIRED_COLUMNS",
    "X_AXES",
    "accuracy_vs_sparsity",
    "canonical_method",
    "figure_bundle",
    "method_color",
    "method_label",
    "method_rank",
    "method_symbol",
    "series_label",
    "show",
    "summarize_runs",
]
