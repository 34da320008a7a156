"""The measured pruning stability, from a run table worked out by hand: drops, the per-method summary against
Table 3's claim, its table and figure."""
import pandas as pd
import pytest

from sparselib.plots.stability import stability_figure
from sparselib.stability import prune_drops, stability_summary, surprises
from sparselib.tables import stability_table

RUNS = pd.DataFrame({
    "run_id": ["d", "i1", "i2", "g1", "c1"],
    "method": ["dense", "imp", "imp", "gsm", "cs"],
    "goal_sparsity": [0.0, 0.9, 0.9, 0.9, 0.0],
    "sparsity_prunable": [0.0, 0.9, 0.9, 0.9, 0.93],
    "final_prune_val_before": [0.9, 0.90, 0.88, 0.85, 0.87],
    "final_prune_val_after": [0.9, 0.60, 0.70, 0.40, 0.87],
    "final_prune_removed_norm": [0.0, 0.30, 0.28, 0.50, 0.0],
})


def test_drops_summary_and_findings_by_hand():
    drops = prune_drops(RUNS)
    assert list(drops["run_id"]) == ["i1", "i2", "g1", "c1"]  # the dense run never prunes
    assert list(drops["drop_pp"]) == pytest.approx([30.0, 18.0, 45.0, 0.0])
    s = stability_summary(drops).set_index("method")
    assert list(s.index) == ["imp", "gsm", "cs"]  # the study's order
    assert s.loc["imp", "drop_mean"] == pytest.approx(24.0) and s.loc["imp", "drop_std"] == pytest.approx(8.485281)
    assert s.loc["imp", "claimed_stable"] == False and s.loc["gsm", "claimed_stable"] == True  # noqa: E712
    assert s.loc["imp", "removed_norm_mean"] == pytest.approx(0.29) and s.loc["gsm", "drop_max"] == pytest.approx(45)
    found = surprises(stability_summary(drops))
    assert found == ["gsm: called pruning-stable, loses 45.0 pp on average at its final prune"]
    html = stability_table(stability_summary(drops))
    assert "24.00 ±&nbsp;8.49" in html and html.count("<tr><th>") == 1 + 3  # the header row, one per method


def test_the_figure_has_one_trace_per_method_and_a_run_id_per_point():
    fig = stability_figure(prune_drops(RUNS))
    assert [t.name for t in fig.data] == ["IMP", "GSM", "CS"]
    assert [list(t.customdata[:, 0]) for t in fig.data] == [["i1", "i2"], ["g1"], ["c1"]]
    assert list(fig.data[0].y) == pytest.approx([30.0, 18.0])


def test_runs_without_the_measurement_give_an_empty_table():
    assert prune_drops(RUNS.drop(columns=["final_prune_val_after"])).empty
