"""Displaying a figure so that it renders both in JupyterLab (plotly's mimetype) and in the offline book (HTML that
expects ``plotly.min.js`` to be served by the site).

The two renderings get different plotly.js configs, because they size the figure differently:

* In the static page, plotly.py's HTML gives the figure's ``<div>`` a fixed CSS height (the layout's, 540 px) and
  ``width: 100%``; ``responsive`` makes plotly.js re-fit the figure to the column when the window resizes.
* JupyterLab's plotly renderer sizes the figure itself: after every draw and on every resize of its output area it
  calls ``Plotly.Plots.resize``, which -- unless the layout has *both* a width and a height -- deletes the layout's
  height and width and re-fits the figure to its node.  With ``responsive`` on, plotly.js then sizes its
  ``.svg-container`` to ``height: 100%`` of that node on the next full redraw (a click on a legend entry, the x-axis
  dropdown); but the renderer's node has no CSS height of its own, so 100 % of it is 0 px: the figure collapsed and
  the output below slid into its place, until a window resize re-fitted it.  Without ``responsive`` plotly.js keeps
  the height it has (540 px) and the renderer still follows the output area's width.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

import plotly.graph_objects as go

__all__ = ["HTML_CONFIG", "PLOTLY_CONFIG", "figure_bundle", "show"]

_FIG_COUNTER = itertools.count()

#: plotly.js config of JupyterLab's rendering (plotly's mimetype): never ``responsive`` (see the module's docstring).
PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False}
#: plotly.js config of the static page's rendering (HTML): ``responsive``, so the figure follows the column's width.
HTML_CONFIG: dict[str, Any] = {**PLOTLY_CONFIG, "responsive": True}


def figure_bundle(fig: go.Figure, *, div_id: str | None = None) -> dict[str, Any]:
    """The display bundle :func:`show` emits.

    * ``application/vnd.plotly.v1+json`` -- rendered by JupyterLab's plotly extension (it ranks
      above HTML there, and is "safe", so it also renders in untrusted notebooks);
    * ``text/html`` -- a ``<div>`` plus the ``Plotly.newPlot`` call *without* plotly.js and
      without any ``<script src=...>``; the book serves ``plotly.min.js`` once per page
      (tools/book_assets.py). myst-nb picks this one;
    * ``text/plain`` -- a one-line description for consoles.
    """
    fig_json = fig.to_json()
    if div_id is None:
        digest = hashlib.sha1(fig_json.encode("utf-8")).hexdigest()[:10]
        div_id = f"sparselib-fig-{digest}-{next(_FIG_COUNTER)}"
    fragment = fig.to_html(include_plotlyjs=False, include_mathjax=False, full_html=False,
                           div_id=div_id, config=HTML_CONFIG)
    title = fig.layout.title.text or "figure"
    return {
        "application/vnd.plotly.v1+json": {**json.loads(fig_json), "config": PLOTLY_CONFIG},
        "text/html": fragment,
        "text/plain": f"<plotly figure: {title} ({len(fig.data)} traces)>",
    }


def show(fig: go.Figure) -> None:
    """Display ``fig`` in a notebook so that it renders in JupyterLab *and* in the offline book."""
    from IPython.display import display

    display(figure_bundle(fig), raw=True)
