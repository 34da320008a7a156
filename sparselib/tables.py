"""The book's tables, as HTML strings generated from runs, presets and the method registry (never typed in).

* :func:`study_table` — Tables 1 / 4 / 5: the selected cells (see :mod:`sparselib.selection`) per method and goal
  sparsity; the two best accuracies per column highlighted; every cell's run ids in its hover text; "—" cells
  carry the reason, which :func:`empty_cells_note` spells out under the table.
* :func:`settings_table` — Table 2: the training configuration of each preset, assumed values marked.
* :func:`methods_table` — Table 3: the method registry's overview.
* :func:`summary_table` — the results page's summary: one row per method configuration and goal sparsity.

Every table comes in a ``div.sparselib-scroll`` box (:data:`TABLE_CSS`): a table that is wider than the text
column scrolls inside that box, never the page.
"""
from __future__ import annotations

import html
from typing import Any, Iterable, Sequence

import pandas as pd

from .config import BASELINE
from .plots.style import method_label, series_label


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _table(head: str, rows: Iterable[str], kind: str = "", caption: str = "") -> str:
    """A ``sparselib-table`` (plus class ``kind``) with header rows ``head`` and body ``rows``, in its own
    horizontally scrolling box (see :data:`TABLE_CSS`)."""
    cls = f"sparselib-table {kind}".strip()
    cap = f"<caption>{_esc(caption)}</caption>" if caption else ""
    thead = f"<thead>{head}</thead>" if head else ""
    return (f'<div class="sparselib-scroll"><table class="{cls}">{cap}{thead}<tbody>{"".join(rows)}</tbody></table>'
            "</div>")


def pct(mean: float, std: float | None = None, digits: int = 2) -> str:
    """A fraction as a percentage with ``digits`` decimals, "± std" when given; "—" when missing."""
    if mean is None or pd.isna(mean):
        return "—"
    text = f"{100 * mean:.{digits}f}"
    return text if std is None or pd.isna(std) else f"{text} ± {100 * std:.{digits}f}"


def _pm(text: str) -> str:
    """"mean ± std" that wraps, where it must, before the "±" (not after it)."""
    return text.replace(" ± ", " ±&nbsp;")


def _top_two(values: Sequence[float]) -> set[int]:
    """Indices of the two best values (ties included) among the non-missing ones."""
    present = sorted({v for v in values if v is not None and not pd.isna(v)}, reverse=True)
    keep = set(present[:2])
    return {i for i, v in enumerate(values) if v in keep}


def study_table(cells: pd.DataFrame, goals: Iterable[float], dense: pd.DataFrame | None = None,
                caption: str = "") -> str:
    """Table 1 / 4 analogue.  ``cells`` from :func:`sparselib.selection.select_cells` (``by=("method",)``);
    ``dense``: the dense runs (rows of the run table) for the reference row."""
    goals = [float(g) for g in goals]
    methods = list(dict.fromkeys(cells["method"])) if len(cells) else []
    lookup = {(r.method, float(r.goal)): r for r in cells.itertuples(index=False)}
    head = "".join(f'<th colspan="3">{g * 100:g} %</th>' for g in goals)
    sub = "<th>top-1 (%)</th><th>speed&shy;up</th><th>sparsity (%)</th>" * len(goals)  # narrow columns
    rows = []
    if dense is not None and len(dense):
        acc = pct(dense["top1"].mean(), dense["top1"].std() if len(dense) > 1 else None)
        ids = ", ".join(sorted(dense["run_id"]))
        rows.append(f'<tr class="{_esc(BASELINE)}"><th title="runs: {_esc(ids)}">dense (1.00×)</th>'
                    + f'<td colspan="{3 * len(goals)}" title="runs: {_esc(ids)}">{acc} (no pruning)</td></tr>')
    best = {g: _top_two([lookup[(m, g)].top1_mean if (m, g) in lookup and lookup[(m, g)].found else None
                         for m in methods]) for g in goals}
    for i, m in enumerate(methods):
        times = [lookup[(m, g)].relative_time_mean for g in goals if (m, g) in lookup and lookup[(m, g)].found]
        times = [t for t in times if not pd.isna(t)]
        rel = f" ({sum(times) / len(times):.2f}×)" if times else ""
        tds = []
        for g in goals:
            c = lookup.get((m, g))
            if c is None or not c.found:
                why = c.why_empty if c is not None else "no runs of this method"
                tds.append(f'<td class="empty" colspan="3" title="{_esc(why)}">—</td>')
                continue
            hl = ' class="best"' if i in best[g] else ""
            tip = (f"runs: {c.run_ids}; configuration: {c.method_args}; {int(c.n_seeds)} seed(s); "
                   f"relative time {c.relative_time_mean:.2f}×")
            tds.append(f'<td{hl} title="{_esc(tip)}">{_pm(pct(c.top1_mean, c.top1_std))}</td>'
                       f'<td title="{_esc(tip)}">{c.speedup_mean:.1f}×</td>'
                       f'<td title="{_esc(tip)}">{pct(c.sparsity_mean)}</td>')
        # the method's name stays on one line, its relative time may go to the next (a narrower first column)
        rows.append(f"<tr><th>{_esc(method_label(m)).replace(' ', '&nbsp;')}{rel}</th>{''.join(tds)}</tr>")
    return _table(f'<tr><th rowspan="2">method (relative time)</th>{head}</tr><tr>{sub}</tr>', rows, "study", caption)


def read_cells(path) -> pd.DataFrame:
    """Table cells saved as CSV (``#`` lines are comments), e.g. a study's Table 1 before a change of its runs."""
    return pd.read_csv(path, comment="#")


def cell_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Per method and goal, the Table 1 cell before and after (both from
    :func:`sparselib.selection.select_cells`): mean top-1 and sparsity, whether it was found, and the change of the
    mean top-1 in percentage points (missing where either side has no cell)."""
    cols = ["method", "goal", "found", "top1_mean", "top1_std", "sparsity_mean"]
    b = before[cols].copy()
    a = after[cols].copy()
    for df in (a, b):
        df["goal"] = df["goal"].astype(float).round(6)
        df["found"] = df["found"].astype(str).str.lower() == "true"
    out = b.merge(a, on=["method", "goal"], how="outer", suffixes=("_before", "_after"))
    both = out["found_before"].fillna(False) & out["found_after"].fillna(False)
    out["change_pp"] = (out["top1_mean_after"] - out["top1_mean_before"]).where(both) * 100
    return out


def changes_table(changes: pd.DataFrame, methods: Sequence[str], labels: tuple[str, str] = ("before", "after")) -> str:
    """:func:`cell_changes` for ``methods`` as a table: before → after per goal, and the change; ``labels`` name
    the two sides in the header."""
    goals = sorted(changes["goal"].unique())
    head = "".join(f'<th colspan="3">{g * 100:g} %</th>' for g in goals)
    sub = f"<th>{_esc(labels[0])}</th><th>{_esc(labels[1])}</th><th>change (pp)</th>" * len(goals)
    rows = []
    for m in methods:
        tds = []
        for g in goals:
            c = changes.loc[(changes["method"] == m) & (changes["goal"] == g)]
            if c.empty:
                tds.append('<td colspan="3" class="empty">—</td>')
                continue
            c = c.iloc[0]
            side = [_pm(pct(c[f"top1_mean_{k}"], c[f"top1_std_{k}"])) if c[f"found_{k}"] == True else "—"  # noqa: E712 (NaN: no cell)
                    for k in ("before", "after")]
            d = "—" if pd.isna(c["change_pp"]) else f"{c['change_pp']:+.2f}"
            tds.append(f"<td>{side[0]}</td><td>{side[1]}</td><td>{d}</td>")
        rows.append(f"<tr><th>{_esc(method_label(m))}</th>{''.join(tds)}</tr>")
    return _table(f'<tr><th rowspan="2">method</th>{head}</tr><tr>{sub}</tr>', rows, "study")


def empty_cells_note(cells: pd.DataFrame) -> str:
    """Why each "—" cell of a :func:`study_table` is empty (the reason :func:`sparselib.selection.select_cells`
    gives: no configuration landed within the band around the goal, and the closest one), one line per cell, as HTML
    to put under the table; "" when every cell is filled.  A hover alone hides it, and a row of "—" for a method
    whose runs a figure next to it shows reads like a bug."""
    empty = cells.loc[cells["found"] != True] if len(cells) else cells  # noqa: E712 - object column (NA)
    if not len(empty):
        return ""
    items = "".join(f"<li><b>{_esc(method_label(r.method))}</b>: {_esc(r.why_empty)}</li>"
                    for r in empty.itertuples(index=False))
    return f'<div class="sparselib-note">Why a cell is “—”:<ul>{items}</ul></div>'


TABLE_CSS = """<style>
div.sparselib-scroll { max-width: 100%; overflow-x: auto; margin: 0.5em 0 1em; }
table.sparselib-table { border-collapse: collapse; font-size: 0.8em; margin: 0; }
table.sparselib-table th, table.sparselib-table td { border: 1px solid #ccc; padding: 2px 5px; text-align: right; }
table.sparselib-table th { background: #f4f4f4; text-align: center; }
table.sparselib-table tbody th { text-align: left; white-space: nowrap; }
table.sparselib-table th[title] { cursor: help; }
table.sparselib-table.study tbody th { white-space: normal; }
table.sparselib-table.sparselib-summary { font-size: 0.75em; }
table.sparselib-summary td.config { text-align: left; }
table.sparselib-summary td.runs { text-align: left; white-space: nowrap; }
table.sparselib-summary td.runs code { font-size: 0.95em; padding: 0; }
table.sparselib-table td.best { font-weight: bold; background: #e6f2e6; }
table.sparselib-table td.empty { text-align: center; color: #777; cursor: help; }
table.sparselib-table caption { caption-side: top; text-align: left; font-style: italic; padding-bottom: 4px; }
div.sparselib-note { font-size: 0.8em; color: #555; margin: -0.5em 0 1em; }
div.sparselib-note ul { margin: 0.2em 0; padding-left: 1.5em; }
</style>"""


SETTING_FIELDS = [("dataset", "dataset"), ("model", "model"), ("model_width", "base width"),
                  ("dropout", "dropout"), ("train_subset", "training images used"), ("val_fraction", "validation"),
                  ("augment", "augmentation"), ("epochs", "epochs"), ("batch_size", "batch size"), ("lr", "LR"),
                  ("lr_schedule", "LR schedule"), ("lr_milestones", "LR milestones"), ("lr_gamma", "LR factor"),
                  ("warmup_epochs", "warm-up epochs"), ("momentum", "momentum"), ("nesterov", "Nesterov"),
                  ("weight_decay", "weight decay")]


def settings_table(presets: Sequence[Any]) -> str:
    """Table 2: one column per preset, one row per setting field; a preset whose settings SPEC marks as assumed
    gets an "(assumed)" mark on every value."""
    head = "".join(f"<th>{_esc(p.name)}</th>" for p in presets)
    rows = []
    for field, label in SETTING_FIELDS:
        tds = []
        for p in presets:
            v = getattr(p.base, field)
            if field == "model_width" and v is None:
                v = "16 (standard)"
            elif field == "dropout" and v is None:
                v = "—" if not p.base.model.startswith("wrn") else "0.3"
            elif field == "train_subset" and v is None:
                v = "all"
            elif field == "lr_milestones":
                v = ", ".join(map(str, v)) or "—"
            mark = " <em>(assumed)</em>" if p.assumed and "Table 2" in p.assumed else ""
            tds.append(f"<td>{_esc(v)}{mark}</td>")
        rows.append(f"<tr><th>{_esc(label)}</th>{''.join(tds)}</tr>")
    for label, fn in (("goal sparsities", lambda p: ", ".join(f"{s * 100:g} %" for s in p.sparsities)),
                      ("seeds", lambda p: len(p.seeds)), ("runs in the study", lambda p: len(p.configs()))):
        rows.append(f"<tr><th>{label}</th>{''.join(f'<td>{_esc(fn(p))}</td>' for p in presets)}</tr>")
    return _table(f"<tr><th>setting</th>{head}</tr>", rows)


def _run_at(grid: Any, explicit: bool) -> str:
    if not explicit:
        return "once (implicit)"
    if grid.goals is None:
        return "each goal sparsity"
    return ", ".join(f"{g * 100:g} %" for g in grid.goals)


def grids_table(preset: Any) -> str:
    """The hyper-parameter configurations a preset's study runs for each method."""
    from .methods import get_method

    rows = []
    for grid in preset.methods:
        cfgs = [{**a, **o} for a in grid.configs for o in grid.overrides]
        explicit = get_method(grid.method).explicit
        text = "; ".join(", ".join(f"{k}={v}" for k, v in c.items()) or "defaults" for c in cfgs)
        rows.append(f"<tr><th>{_esc(method_label(grid.method))}</th><td>{len(cfgs)}</td>"
                    f"<td>{_run_at(grid, explicit)}</td>"
                    f'<td style="text-align:left">{_esc(text)}</td></tr>')
    return _table("<tr><th>method</th><th>configurations</th><th>run at</th><th>values</th></tr>", rows)


def methods_table() -> str:
    """Table 3 from the registry."""
    from .methods import ordered_methods

    rows = []
    for cls in ordered_methods():
        o = cls.overview()
        yes = {True: "yes", False: "no"}
        rows.append(f"<tr><th>{_esc(method_label(o['method']))}</th><td>{_esc(o['sparsity control'])}</td>"
                    f"<td>{yes[o['pruning-stable']]}</td><td>{yes[o['sparsity-agnostic training']]}</td>"
                    f"<td>{yes[o['retrains']]}</td>"
                    f'<td style="text-align:left"><code>{_esc(o["hyper-parameters"])}</code></td>'
                    f"<td>{_esc(o['reference'])}</td></tr>")
    return _table("<tr><th>method</th><th>sparsity control</th><th>pruning-stable</th>"
                  "<th>sparsity-agnostic dense training</th><th>retrains</th><th>hyper-parameters (defaults)</th>"
                  "<th>reference</th></tr>", rows)


def fidelity_table() -> str:
    """Where each method follows the study's authors' code (GitHub ZIB-IOL/BIMP) and where the original paper: one
    row per registered method, from the method modules' own metadata."""
    from .methods import ordered_methods

    rows = []
    for cls in ordered_methods():
        code = f"<code>{_esc(cls.authors_code)}</code>" if cls.authors_code else "—"
        rows.append(f"<tr><th>{_esc(method_label(cls.name))}</th><td style=\"text-align:left\">{code}</td>"
                    f'<td style="text-align:left">{_esc(cls.follows)}</td>'
                    f'<td style="text-align:left">{_esc(cls.option) or "—"}</td>'
                    f'<td style="text-align:left">{_esc(cls.differences) or "none known"}</td>'
                    f"<td>{cls.version}</td></tr>")
    return _table("<tr><th>method</th><th>authors' code it follows</th><th>rule by default</th>"
                  "<th>the other rule, as an option</th><th>what still differs</th><th>version</th></tr>", rows)


#: The summary's columns: (key, header, hover text of the header).  Short headers (that may break: "speed-up")
#: keep the table inside the text column; the hover text gives the full wording.
SUMMARY_COLUMNS = [
    ("setting", "setting", ""),
    ("method", "method", "method, with its retraining schedule where it has one"),
    ("config", "configuration", "what tells this configuration apart from the method's others"),
    ("goal", "goal (%)", "goal sparsity (%)"),
    ("top1", "top-1 (%)", "top-1 test accuracy (%): mean ± sample standard deviation over seeds"),
    ("sparsity", "sparsity (%)", "actual sparsity of the prunable weights (%), mean over seeds"),
    ("speedup", "speed\u00adup", "theoretical speedup: dense / sparse multiply-adds per image, mean over seeds"),
    ("time", "time", "wall time of the whole pipeline relative to dense training, mean over seeds"),
    ("seeds", "seeds", "number of seeds averaged"),
    ("runs", "run ids", "the runs behind the row"),
]


def _times(value: Any) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.2f}×"


def summary_table(summary: pd.DataFrame) -> str:
    """The results page's summary, from :func:`sparselib.plots.summarize_runs`: one row per setting, method (with
    its schedule), configuration and goal sparsity; mean ± std over seeds and the run ids (one per line).  The
    setting and configuration columns are left out when they would say nothing (one setting; one configuration
    per method).  Compact: short headers (their hover text has the full wording), and a configuration may wrap."""
    if summary is None or len(summary) == 0:
        return _table("", [], "sparselib-summary")
    keep = [c for c in SUMMARY_COLUMNS
            if not (c[0] == "setting" and summary["setting"].nunique() < 2)
            and not (c[0] == "config" and not summary["variant"].astype(str).str.len().any())]
    head = "".join(f'<th title="{_esc(tip)}">{_esc(label)}</th>' if tip else f"<th>{_esc(label)}</th>"
                   for _, label, tip in keep)
    rows = []
    for r in summary.itertuples(index=False):
        method = series_label(r.method, r.schedule)
        # a long configuration wraps at its commas, and after the prefix of "method_args.momentum=0.9"
        config = _esc(r.variant).replace("method_args.", "method_args.<wbr>")
        cells = {
            "setting": f"<td>{_esc(r.setting)}</td>",
            "method": f"<th>{_esc(method)}</th>",
            "config": f'<td class="config">{config}</td>',
            "goal": f"<td>{pct(r.goal_sparsity, digits=1)}</td>",
            "top1": f"<td>{_pm(pct(r.top1_mean, r.top1_std))}</td>",
            "sparsity": f"<td>{pct(r.sparsity_mean)}</td>",
            "speedup": f"<td>{_times(r.speedup_mean)}</td>",
            "time": f"<td>{_times(r.relative_time_mean)}</td>",
            "seeds": f"<td>{int(r.n_seeds)}</td>",
            "runs": '<td class="runs">' + "<br>".join(f"<code>{_esc(i)}</code>" for i in r.run_ids) + "</td>",
        }
        rows.append("<tr>" + "".join(cells[key] for key, _, _ in keep) + "</tr>")
    return _table(f"<tr>{head}</tr>", rows, "sparselib-summary")


def stability_table(summary: pd.DataFrame) -> str:
    """:func:`sparselib.stability.stability_summary` next to Table 3's claim."""
    rows = []
    for r in summary.itertuples():
        std = "" if r.drop_std is None or pd.isna(r.drop_std) else f" ± {r.drop_std:.2f}"
        rows.append(f"<tr><th>{_esc(method_label(r.method))}</th><td>{'yes' if r.claimed_stable else 'no'}</td>"
                    f"<td>{_pm(f'{r.drop_mean:.2f}{std}')}</td><td>{r.drop_max:.2f}</td>"
                    f"<td>{r.removed_norm_mean:.3f}</td><td>{r.runs}</td></tr>")
    return _table("<tr><th>method</th><th>pruning-stable (Table 3)</th><th>drop at the final prune (pp)</th>"
                  "<th>largest drop (pp)</th><th>relative norm removed</th><th>runs</th></tr>", rows)


def allocation_html(table: pd.DataFrame) -> str:
    """:func:`sparselib.beyond.allocation_table`: per method and goal, one column group per allocation (test
    accuracy ± std over seeds, theoretical speedup); the best accuracy of each row in bold."""
    allocations = list(dict.fromkeys(table["allocation"]))
    head = ("<tr><th rowspan='2'>method</th><th rowspan='2'>goal</th>"
            + "".join(f"<th colspan='2'>{_esc(a)}</th>" for a in allocations) + "</tr><tr>"
            + "<th>top-1 (%)</th><th>speedup</th>" * len(allocations) + "</tr>")
    rows = []
    for (method, goal), g in table.groupby(["method", "goal"], sort=False):
        by = g.set_index("allocation")
        best = by["top1_mean"].max()
        cells = []
        for a in allocations:
            if a not in by.index:
                cells.append("<td>—</td><td>—</td>")
                continue
            r = by.loc[a]
            acc = _pm(pct(r["top1_mean"], r["top1_std"]))
            cells.append(f"<td>{f'<b>{acc}</b>' if r['top1_mean'] == best else acc}</td>"
                         f"<td>{r['speedup_mean']:.1f}×</td>")
        rows.append(f"<tr><th>{_esc(method_label(method))}</th><td>{goal * 100:g} %</td>{''.join(cells)}</tr>")
    return _table(head, rows)


def recalibration_html(table: pd.DataFrame, label=None) -> str:
    """:func:`sparselib.beyond.recalibration_table`: accuracy at the final prune and at the end, with and without
    BatchNorm recalibration, and the seed spread of the configuration without it (the main study's standard
    deviation over its seeds); "—" where a value is unknown or nothing was recalibrated.  ``label(method, goal,
    args, reached)`` names a configuration (default: method and goal)."""
    label = label or (lambda m, g, a, reached=None: f"{method_label(m)} {g * 100:g} %")

    def pct(x) -> str:
        return "—" if x is None or pd.isna(x) else f"{x:.2f}"

    rows = []
    for r in table.itertuples():
        rec = "—" if r.recovered is None or pd.isna(r.recovered) else f"{100 * r.recovered:.0f} %"
        std = pct(getattr(r, "plain_std_pp", None))
        rows.append(f"<tr><th>{_esc(label(r.method, r.goal, r.args, getattr(r, 'sparsity', None)))}</th>"
                    f"<td>{r.seeds}</td><td>{pct(r.val_before)}</td><td>{pct(r.val_after_raw)}</td>"
                    f"<td>{pct(r.val_after_bn)}</td>"
                    f"<td>{rec}</td><td>{r.top1_plain:.2f}</td><td>{r.top1_bn:.2f}</td><td>{r.gain_pp:+.2f}</td>"
                    f"<td>{std}</td></tr>")
    return _table("<tr><th rowspan='2'>configuration</th><th rowspan='2'>seeds</th><th colspan='4'>validation at the "
                  "final prune (%)</th><th colspan='4'>test at the end (%)</th></tr><tr><th>before</th><th>after, "
                  "stale statistics</th><th>after, recalibrated</th><th>drop recovered</th><th>without</th>"
                  "<th>with</th><th>gain (pp)</th><th>seed std without, main study (pp)</th></tr>", rows)
