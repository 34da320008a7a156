"""Counterpart runs across studies (sparselib.pairs) and the speed options' parity table (sparselib.parity), on hand
tables: the expected values are worked out by hand from the rows below."""
import pandas as pd
import pytest

from run_rows import run_folder, run_row as _row
from sparselib.pairs import paired, same_but
from sparselib.parity import parity_table, zeros_hold


def test_same_but_ignores_only_the_named_fields_and_hyper_parameters():
    runs = pd.DataFrame([_row(setting="a", precision="bf16"), _row(setting="b"),
                         _row(setting="b", seed=1), _row(method="gmp", goal_sparsity=0.9,
                                                         method_args={"allocation": "erk", "pruning_interval": 1}),
                         _row(method="gmp", goal_sparsity=0.9, method_args={"pruning_interval": 1})])
    k = same_but(runs, ["setting", "precision", "method_args.allocation"])
    assert k[0] == k[1] != k[2]          # the seed still tells runs apart
    assert k[3] == k[4]                  # the ignored hyper-parameter, absent or not
    assert same_but(runs, ["setting"])[0] != same_but(runs, ["setting"])[1]
    with pytest.raises(ValueError, match="unknown setting field.*precison"):
        same_but(runs, ["precison"])


def test_paired_matches_one_to_one_and_refuses_ambiguous_counterparts():
    a = pd.DataFrame([_row(setting="x", precision="bf16", seed=s, top1=t) for s, t in ((0, 0.8), (1, 0.7), (2, 0.6))])
    b = pd.DataFrame([_row(setting="y", seed=s, top1=t) for s, t in ((1, 0.5), (0, 0.4))])
    p = paired(a, b, ["setting", "precision"])
    assert sorted(zip(p["seed_a"], p["top1_a"], p["top1_b"])) == [(0, 0.8, 0.4), (1, 0.7, 0.5)]  # seed 2: none
    with pytest.raises(ValueError, match="same configuration but for setting"):
        paired(a, b, ["setting", "precision", "seed"])


def test_parity_table_by_hand(tmp_path):
    ok = run_folder(tmp_path / "ok", [{"name": "w", "numel": 1000, "kept": 50, "nonzero": 50, "macs": 1}])
    grown = run_folder(tmp_path / "grown", [{"name": "w", "numel": 1000, "kept": 50, "nonzero": 51, "macs": 1}])
    imp = dict(method="imp", goal_sparsity=0.95, method_args={"schedule": "clr"})
    fast = [_row(ok, 0.880, 0.95, 60.0, setting="f", precision="bf16", channels_last=True, seed=0, **imp),
            _row(ok, 0.870, 0.9504, 60.0, setting="f", precision="bf16", channels_last=True, seed=1, **imp),
            _row(ok, 0.900, setting="f", precision="bf16", channels_last=True, seed=0),
            _row(grown, 0.905, setting="f", precision="bf16", channels_last=True, seed=1)]
    ref = [_row(ok, 0.884, 0.95, 90.0, setting="r", seed=0, **imp), _row(ok, 0.880, 0.95, 90.0, setting="r", seed=1, **imp),
           _row(ok, 0.880, setting="r", seed=0), _row(ok, 0.881, setting="r", seed=1)]
    t = parity_table(pd.DataFrame(fast), pd.DataFrame(ref)).set_index("method")
    # IMP: means 87.5 vs 88.2 -> -0.7 pp; spreads 1.0 (fast) and 0.4 (reference) -> within 1.0
    assert t.loc["imp", "diff_pp"] == pytest.approx(-0.7) and t.loc["imp", "spread_pp"] == pytest.approx(1.0)
    assert t.loc["imp", "within"] and t.loc["imp", "seeds"] == 2
    # seed 1 reached 0.9504 of 1000 weights: 0.4 weights off the goal, inside half a weight
    assert t.loc["imp", "sparsity_exact"] and t.loc["imp", "zeros_hold"]
    assert t.loc["imp", "cpu_ratio"] == pytest.approx(1.5) and t.loc["imp", "epochs"] == 10
    # dense: 90.25 vs 88.05 -> +2.2 pp beyond the spreads 0.5 and 0.1; one layer keeps a pruned weight non-zero
    assert t.loc["dense", "diff_pp"] == pytest.approx(2.2) and not t.loc["dense", "within"]
    assert not t.loc["dense", "zeros_hold"] and not t.loc["dense", "sparsity_exact"]
    ref[1]["sparsity_prunable"] = 0.9506  # 0.6 weights off: not the goal's count
    assert not parity_table(pd.DataFrame(fast), pd.DataFrame(ref)).set_index("method").loc["imp", "sparsity_exact"]


def test_zeros_hold_reads_the_saved_counts(tmp_path):
    assert zeros_hold(run_folder(tmp_path / "a", [{"name": "a", "numel": 4, "kept": 2, "nonzero": 1, "macs": 1}]))
    assert not zeros_hold(run_folder(tmp_path / "b", [{"name": "a", "numel": 4, "kept": 2, "nonzero": 3, "macs": 1}]))
