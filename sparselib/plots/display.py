"""Displaying a figure so that it renders both in JupyterLab (plotly's mimetype) and in the offline book (HTML that
expects ``plotly.min.js`` to be served by the site)."""
from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

import plotly.graph_objects as go

__all__ = ["PLOTLY_CONFIG", "figure_bundle", "show"]

_FIG_COUNTER = itertools.count()

#: plotly.js config used in both renderings.
PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}


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
                           div_id=div_id, config=PLOTLY_CONFIG)
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
