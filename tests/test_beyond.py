"""The beyond study's reading (sparselib.beyond) on hand tables: allocations, BatchNorm recalibration, a new method's
rows — each against the main study's run it varies."""
import pandas as pd
import pytest

from run_rows import run_folder, run_row
from sparselib.beyond import (allocation_runs, allocation_table, layer_sparsity, method_rows, nearly_emptied,
                              recalibration_table)

IMP = dict(method="imp", goal_sparsity=0.9, method_args={"schedule": "llr"})


def _stats(kept):
    return [{"name": f"l{i}", "numel": 100, "kept": k, "nonzero": k, "macs": 1} for i, k in enumerate(kept)]


def test_allocation_runs_pair_each_allocation_with_the_main_studys_global_run(tmp_path):
    base = pd.DataFrame([
        run_row(run_folder(tmp_path / "g0", _stats([0, 20])), 0.80, setting="main", seed=0, **IMP),
        run_row(run_folder(tmp_path / "g1", _stats([1, 19])), 0.82, setting="main", seed=1, **IMP),
        run_row(top1=0.5, setting="main", seed=0, method="imp", goal_sparsity=0.95, method_args={"schedule": "llr"}),
        run_row(top1=0.6, setting="main", seed=0, method="imp", goal_sparsity=0.9, method_args={"schedule": "clr"})])
    erk = dict(IMP, method_args={"schedule": "llr", "allocation": "erk"})
    beyond = pd.DataFrame([
        run_row(run_folder(tmp_path / "e0", _stats([10, 10])), 0.84, setting="b", seed=0, **erk),
        run_row(top1=0.86, setting="b", seed=1, **erk),
        run_row(top1=0.1, setting="b", seed=0, bn_recalibration=64, **erk)])  # recalibrated: not an allocation row
    runs = allocation_runs(base, beyond)
    assert sorted(zip(runs["allocation"], runs["seed"], runs["top1"])) == [
        ("erk", 0, 0.84), ("erk", 1, 0.86), ("global", 0, 0.80), ("global", 1, 0.82)]
    t = allocation_table(runs).set_index("allocation")
    assert list(t.index) == ["global", "erk"]  # the allocations' own order
    assert t.loc["erk", "top1_mean"] == pytest.approx(0.85) and t.loc["global", "seeds"] == 2
    assert t.loc["global", "top1_std"] == pytest.approx(0.02 / 2 ** 0.5)
    layers = layer_sparsity(runs)
    assert layers.loc[layers["allocation"] == "global", "sparsity"].tolist() == [1.0, 0.8]
    assert layers.loc[layers["allocation"] == "erk", "sparsity"].tolist() == [0.9, 0.9]
    assert nearly_emptied(layers)["layer"].tolist() == ["l0"]


def _pruned(before, raw, after):
    """The final prune as metrics.json records it (collect_runs' ``final_prune_*`` columns)."""
    return {"final_prune_val_before": before, "final_prune_val_after_raw": raw, "final_prune_val_after": after}


def test_recalibration_table_by_hand():
    bn = [run_row(top1=t, setting="b", seed=s, bn_recalibration=512, **IMP) | _pruned(0.90, 0.50, 0.80 + 0.02 * s)
          for s, t in ((0, 0.86), (1, 0.88))]
    # a method that prunes only at the end: its final prune is the hard prune after training (one seed)
    lc = dict(method="lc", goal_sparsity=0.95)
    bn.append(run_row(top1=0.70, setting="b", seed=0, bn_recalibration=512, **lc) | _pruned(0.80, 0.20, 0.72))
    base = [run_row(top1=t, setting="main", seed=s, **IMP) for s, t in ((0, 0.85), (1, 0.85))]
    base_all = base + [run_row(top1=t, setting="main", seed=s, **lc) for s, t in ((0, 0.60), (1, 0.64), (2, 0.62))]
    t = recalibration_table(pd.DataFrame(base_all[:3]), pd.DataFrame(bn), pd.DataFrame(base_all))
    imp, lc_row = t.iloc[0], t.iloc[1]
    assert imp["seeds"] == 2 and imp["gain_pp"] == pytest.approx(2.0) and imp["spread_pp"] == pytest.approx(2.0)
    assert imp["plain_std_pp"] == pytest.approx(0.0)  # both of the plain configuration's seeds at 85 %
    assert (imp["val_before"], imp["val_after_raw"], imp["val_after_bn"]) == pytest.approx((90.0, 50.0, 81.0))
    assert imp["recovered"] == pytest.approx(31 / 40)  # 31 of the 40 pp the prune cost
    # LC: paired with its seed-0 run only (60 %), its spread from all three seeds (std of 60, 64, 62 = 2 pp)
    assert (lc_row["method"], lc_row["seeds"], lc_row["top1_plain"]) == ("lc", 1, pytest.approx(60.0))
    assert lc_row["gain_pp"] == pytest.approx(10.0) and lc_row["spread_pp"] == 0
    assert lc_row["plain_std_pp"] == pytest.approx(2.0)
    assert lc_row["recovered"] == pytest.approx(52 / 60)
    # without the main study's other seeds there is no spread to give
    assert recalibration_table(pd.DataFrame(base_all[:3]), pd.DataFrame(bn))["plain_std_pp"].isna().all()


def test_recalibration_table_has_a_row_per_configuration_even_where_only_a_setting_field_differs():
    # STR's picks differ in weight decay only: two configurations with the same method, goal and hyper-parameters
    strs = [dict(method="str", weight_decay=w, method_args={"s_initial": -3.0}) for w in (3e-3, 5e-3)]
    bn = [run_row(top1=t, sparsity=sp, setting="b", seed=0, bn_recalibration=512, **c)
          | _pruned(0.8, float("nan"), 0.8) for c, t, sp in zip(strs, (0.86, 0.80), (0.93, 0.97))]
    base = [run_row(top1=t, sparsity=sp, setting="main", seed=0, **c)
            for c, t, sp in zip(strs, (0.85, 0.81), (0.93, 0.97))]
    t = recalibration_table(pd.DataFrame(base), pd.DataFrame(bn))
    assert list(t["seeds"]) == [1, 1] and list(t["top1_plain"]) == pytest.approx([85.0, 81.0])
    assert list(t["sparsity"]) == pytest.approx([0.93, 0.97]) and list(t["gain_pp"]) == pytest.approx([1.0, -1.0])
    assert t["val_after_raw"].isna().all() and t["recovered"].isna().all()  # nothing recalibrated: no drop to recover


def test_method_rows_select_each_study_by_its_own_rule():
    base = pd.DataFrame([run_row(top1=0.8, sparsity=0.9, setting="main", seed=s, **IMP) for s in (0, 1)])
    rig = dict(method="rigl", goal_sparsity=0.9)
    beyond = pd.DataFrame([run_row(top1=t, sparsity=0.9, setting="b", seed=s, weight_decay=w, **rig)
                           | {"val_top1": v} for s in (0, 1)
                           for w, t, v in ((1e-4, 0.7, 0.75), (5e-4, 0.6, 0.8))])
    base["val_top1"] = 0.8
    rows = method_rows(base, beyond, "rigl", ["imp"], [0.9]).set_index("method")
    assert rows.loc["imp", "top1_mean"] == pytest.approx(0.8)
    assert rows.loc["rigl", "top1_mean"] == pytest.approx(0.6)  # weight decay 5e-4: the better validation


def test_the_beyond_figures_draw_hand_tables():
    from sparselib.plots.beyond import (allocation_figure, allocation_layers_figure, config_label,
                                        recalibration_figure)

    table = pd.DataFrame([dict(method="imp", goal=g, allocation=a, seeds=2, top1_mean=0.8, top1_std=0.01,
                               speedup_mean=s, sparsity_mean=g) for g, s in ((0.9, 5.0), (0.98, 20.0))
                          for a in ("global", "erk")])
    fig = allocation_figure(table)
    assert [t.name for t in fig.data] == ["IMP, global", "IMP, erk"] and list(fig.data[0].x) == [5.0, 20.0]
    layers = pd.DataFrame([dict(method="gmp", goal=g, allocation=a, index=i, layer=f"l{i}.weight", numel=10,
                                sparsity=0.5) for g in (0.9, 0.95) for a in ("global", "lamp") for i in range(3)])
    fig = allocation_layers_figure(layers)
    assert [t.visible for t in fig.data] == [True, True, False, False]  # the first goal shown, the dropdown the rest
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["GMP at 90 %", "GMP at 95 %"]
    assert list(fig.layout.xaxis.ticktext) == ["l0", "l1", "l2"]
    assert config_label("imp", 0.9, '{"n_phases": 1, "schedule": "llr"}') == "IMP 90 % (LLR, 1 phase)"
    assert config_label("cs", 0.0, "{}", 0.94712) == "CS, 94.7 % reached"  # no goal: the sparsity reached
    assert config_label("imp", 0.9, "{}", 0.9) == "IMP 90 %"
    rec = pd.DataFrame([dict(method="gmp", goal=0.95, args="{}", val_before=90.0, val_after_raw=80.0,
                             val_after_bn=85.0)])
    assert [list(t.y) for t in recalibration_figure(rec).data] == [[90.0], [80.0], [85.0]]


def test_the_beyond_tables_render_hand_tables():
    from sparselib.tables import allocation_html, recalibration_html

    table = pd.DataFrame([dict(method="imp", goal=0.9, allocation=a, seeds=2, top1_mean=t, top1_std=0.001,
                               speedup_mean=s, sparsity_mean=0.9) for a, t, s in (("global", 0.85, 6.04),
                                                                                  ("erk", 0.86, 4.5))])
    html = allocation_html(table)
    assert "<b>86.00 ±&nbsp;0.10</b>" in html and "<td>85.00 ±&nbsp;0.10</td><td>6.0×</td>" in html
    rec = pd.DataFrame([dict(method="imp", goal=0.9, args="{}", seeds=2, top1_plain=85.0, top1_bn=85.5,
                             gain_pp=0.5, val_before=90.0, val_after_raw=50.0, val_after_bn=81.0, recovered=0.775)])
    assert "<td>90.00</td><td>50.00</td><td>81.00</td><td>78 %</td><td>85.00</td><td>85.50</td><td>+0.50</td>" \
        "<td>—</td>" in recalibration_html(rec)  # no main-study spread given
    rec["plain_std_pp"] = 0.456
    assert "<td>+0.50</td><td>0.46</td></tr>" in recalibration_html(rec)
    rec["val_after_raw"], rec["recovered"] = float("nan"), None  # nothing recalibrated
    assert "<td>90.00</td><td>—</td><td>81.00</td><td>—</td>" in recalibration_html(rec)
