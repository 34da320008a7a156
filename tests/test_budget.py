"""The budget study's rules (sparselib.budget): which methods and configurations it re-runs, and how they scale."""
import json

import pandas as pd
import pytest

from sparselib import budget
from sparselib.budget import Pick
from sparselib.budget_table import budget_cells
from sparselib.config import BASELINE, RunConfig
from sparselib.presets import MethodGrid, Preset


def _cell(method, goal, found, top1=None, config_id=None, args=None):
    return dict(method=method, goal=goal, found=found, top1_mean=top1, config_id=config_id,
                method_args=json.dumps(args or {}))


def test_the_two_best_pruning_stable_methods_are_chosen_per_goal_among_the_cells_in_the_band():
    t = pd.DataFrame([
        _cell("cs", 0.9, False), _cell("cs", 0.95, True, 0.88), _cell("cs", 0.98, True, 0.70),
        _cell("dnw", 0.9, True, 0.80), _cell("dnw", 0.95, True, 0.70), _cell("dnw", 0.98, True, 0.10),
        _cell("dpf", 0.9, True, 0.79), _cell("dpf", 0.95, True, 0.71), _cell("dpf", 0.98, True, 0.10),
        # GMP is one of the fixed methods, IMP is no pruning-stable method, DST landed nothing
        _cell("gmp", 0.9, True, 0.99), _cell("gmp", 0.95, True, 0.99), _cell("gmp", 0.98, True, 0.99),
        _cell("imp", 0.9, True, 0.99), _cell("imp", 0.95, True, 0.99), _cell("imp", 0.98, True, 0.99),
        _cell("dst", 0.9, False), _cell("dst", 0.95, False), _cell("dst", 0.98, False),
    ])
    fixed = ["gmp", "imp"]
    # 98 %: DNW and DPF tie at 10 %: by name
    assert budget.best_pruning_stable(t, exclude=fixed) == {0.9: ["dnw", "dpf"], 0.95: ["cs", "dpf"],
                                                             0.98: ["cs", "dnw"]}
    assert budget.best_pruning_stable(t, n=1, exclude=fixed) == {0.9: ["dnw"], 0.95: ["cs"], 0.98: ["cs"]}
    assert budget.best_pruning_stable(t)[0.9] == ["gmp", "dnw"]  # GMP is pruning-stable too


@pytest.mark.parametrize("args, fraction, want", [
    ({"schedule": "llr", "n_phases": 2, "epochs_per_phase": 2}, 1 / 3, {"n_phases": 1, "epochs_per_phase": 1}),
    ({"schedule": "llr", "n_phases": 2, "epochs_per_phase": 2}, 2 / 3, {"n_phases": 1, "epochs_per_phase": 3}),
    ({"schedule": "llr", "n_phases": 2, "epochs_per_phase": 2}, 1 / 2, {"n_phases": 2, "epochs_per_phase": 1}),
    ({"schedule": "clr", "n_phases": 1, "epochs_per_phase": 3}, 1 / 3, {"n_phases": 1, "epochs_per_phase": 1}),
    ({"schedule": "clr", "n_phases": 1, "epochs_per_phase": 3}, 2 / 3, {"n_phases": 1, "epochs_per_phase": 2}),
])
def test_restricted_imp_keeps_its_share_of_retraining_and_its_phases_where_they_divide(args, fraction, want):
    assert budget.scale_args("imp", args, fraction) == {**args, **want}


def test_epoch_counts_scale_to_the_nearest_whole_epoch_and_never_below_one():
    assert budget.scale_args("bimp", {"n_train_budget": 8, "pruning_interval": 2}, 1 / 3) == \
        {"n_train_budget": 3, "pruning_interval": 1}  # 2.67 -> 3, 0.67 -> 1
    assert budget.scale_args("bimp", {"n_train_budget": 8, "pruning_interval": 2}, 2 / 3) == \
        {"n_train_budget": 5, "pruning_interval": 1}  # 5.33 -> 5, 1.33 -> 1
    assert budget.scale_args("bimp", {"n_train_budget": 9, "pruning_interval": 1}, 1 / 2) == \
        {"n_train_budget": 5, "pruning_interval": 1}  # 4.5 rounds half up
    assert budget.scale_args("cs", {"penalty": 1e-4}, 1 / 3) == {"penalty": 1e-4}


def test_the_shorter_setting_keeps_the_milestones_at_the_same_fractions_of_training():
    full = RunConfig(setting="x", epochs=12, lr_milestones=(6, 9), lr_schedule="multistep")
    assert budget.budget_base(full, 4, "x-e4").lr_milestones == (2, 3)
    assert budget.budget_base(full, 8, "x-e8").lr_milestones == (4, 6)
    assert budget.budget_base(full, 8, "x-e8").setting == "x-e8"
    with pytest.raises(ValueError, match="does not scale the milestones"):
        budget.budget_base(full, 6, "x-e6")  # 4.5 is no whole epoch


def test_identical_scaled_picks_merge_into_one_grid_over_their_goals():
    chosen = [Pick("gmp", 0.9, {"pruning_interval": 1}, {"weight_decay": 5e-4}),
              Pick("gmp", 0.98, {"pruning_interval": 1}, {"weight_decay": 5e-4}),
              Pick("gmp", 0.95, {"pruning_interval": 1}, {"weight_decay": 1e-4}),
              Pick("cs", None, {"penalty": 1e-4}, {"weight_decay": 1e-4})]
    grids = budget.scaled_grids(chosen, 1 / 3, MethodGrid)
    assert [(g.method, g.goals, g.overrides) for g in grids] == [
        ("gmp", (0.9, 0.98), ({"weight_decay": 5e-4},)), ("gmp", (0.95,), ({"weight_decay": 1e-4},)),
        ("cs", None, ({"weight_decay": 1e-4},))]


def test_a_grid_with_goals_runs_only_at_those_goal_sparsities():
    base = RunConfig(setting="smoke", dataset="synthetic", model="resnet8", model_width=4, epochs=4,
                     lr_schedule="multistep", lr_milestones=(2, 3))
    p = Preset("t", "t", base, sparsities=(0.9, 0.95, 0.98), seeds=(0, 1),
               methods=(MethodGrid("gmp", goals=(0.95,)), MethodGrid("dnw")))
    runs = [(c.method, c.goal_sparsity) for c in p.configs() if c.method != "dense"]
    assert sorted(set(runs)) == [("dnw", 0.9), ("dnw", 0.95), ("dnw", 0.98), ("gmp", 0.95)]
    assert len(runs) == 2 * 4


def test_picks_take_each_cell_of_the_fixed_methods_and_of_the_two_best_others_at_each_goal():
    runs = pd.DataFrame([dict(config_id=c, weight_decay=w) for c, w in (
        ("i9", 1e-4), ("i95", 1e-4), ("b9", 1e-4), ("g95", 5e-4), ("c9", 5e-4), ("c95", 1e-4), ("d9", 1e-4),
        ("p9", 1e-4), ("p95", 1e-4))])
    t = pd.DataFrame([
        _cell("imp", 0.9, True, 0.9, "i9", {"schedule": "llr"}), _cell("imp", 0.95, True, 0.8, "i95", {"schedule": "clr"}),
        _cell("bimp", 0.9, True, 0.9, "b9"), _cell("bimp", 0.95, False),
        _cell("gmp", 0.9, False), _cell("gmp", 0.95, True, 0.8, "g95"),
        # the implicit CS: one configuration per cell (no goal of its own), picked at both goals
        _cell("cs", 0.9, True, 0.9, "c9", {"penalty": 2.0}), _cell("cs", 0.95, True, 0.9, "c95", {"penalty": 3.0}),
        # DNW is among the two best at 90 % only (DPF is the third there), DPF is second at 95 %
        _cell("dnw", 0.9, True, 0.5, "d9"), _cell("dnw", 0.95, False),
        _cell("dpf", 0.9, True, 0.4, "p9"), _cell("dpf", 0.95, True, 0.4, "p95"),
    ])
    got = budget.picks(t, runs, fixed=("imp", "bimp", "gmp"))
    wd1, wd5 = {"weight_decay": 1e-4}, {"weight_decay": 5e-4}
    assert got == sorted([
        Pick("imp", 0.9, {"schedule": "llr"}, wd1), Pick("imp", 0.95, {"schedule": "clr"}, wd1),
        Pick("bimp", 0.9, {}, wd1), Pick("gmp", 0.95, {}, wd5),
        Pick("cs", None, {"penalty": 2.0}, wd5), Pick("cs", None, {"penalty": 3.0}, wd1),
        Pick("dnw", 0.9, {}, wd1), Pick("dpf", 0.95, {}, wd1),
    ], key=Pick.key)


def _run(method, seed, top1, config="c", sparsity=0.9, goal=0.9, dense="d"):
    return dict(method=method, seed=seed, top1=top1, val_top1=top1, config_id=f"{method}-{config}",
                run_id=f"{method}-{config}-{seed}", sparsity_prunable=sparsity, sparsity_total=sparsity,
                goal_sparsity=goal, theoretical_speedup=10.0, relative_time=1.0, method_args="{}",
                dense_run_id=None if method == "dense" else f"dense-c-{seed}", n_diverged=0)


def test_budget_cells_give_each_methods_gap_to_dense_training_of_the_same_budget():
    short = pd.DataFrame([_run("dense", 0, 0.80), _run("dense", 1, 0.82),
                          _run("gmp", 0, 0.70), _run("gmp", 1, 0.74),
                          _run("dnw", 0, 0.5, sparsity=0.93), _run("dnw", 1, 0.5, sparsity=0.93)])  # off the band
    full = pd.DataFrame([_run("dense", 0, 0.90), _run("dense", 1, 0.90), _run("gmp", 0, 0.89), _run("gmp", 1, 0.89)])
    cells = budget_cells({12: full, 4: short}, [0.9], ["gmp", "dnw"])
    got = {(r.epochs, r.method): r for r in cells.itertuples()}
    assert list(cells["epochs"]) == [4, 4, 12]  # shortest budget first; a method without runs has no row
    assert round(got[4, "gmp"].gap_pp, 6) == -9.0 and round(got[4, "gmp"].dense_mean, 6) == 0.81
    assert round(got[12, "gmp"].gap_pp, 6) == -1.0
    assert not got[4, "dnw"].found and pd.isna(got[4, "dnw"].gap_pp) and "93.00 %" in got[4, "dnw"].why_empty


def test_the_budget_figure_has_a_panel_per_goal_and_a_line_per_method():
    from sparselib.plots.budget import budget_figure

    rows = [dict(epochs=e, method=m, goal=g, found=not (m == "dnw" and e == 8), top1_mean=0.8, top1_std=0.01,
                 gap_pp=gap, dense_mean=0.85, dense_std=0.0, why_empty="")
            for e, gap in ((4, -5.0), (8, -3.0), (12, -1.0)) for m in ("gmp", "dnw") for g in (0.9, 0.95)]
    fig = budget_figure(pd.DataFrame(rows))
    assert [a.text for a in fig.layout.annotations][:2] == ["90 % sparsity", "95 % sparsity"]
    assert len(fig.data) == 4 and sum(t.showlegend for t in fig.data) == 2  # one legend entry per method
    gmp = fig.data[0]
    assert list(gmp.x) == [4, 8, 12] and list(gmp.y) == [-5.0, -3.0, -1.0]
    dnw = next(t for t in fig.data if t.legendgroup == "dnw")
    assert pd.isna(list(dnw.y)[1])  # the missing cell is a gap in the line, not a point


def test_the_absolute_budget_figure_draws_dense_training_as_a_line_in_every_panel():
    from sparselib.plots.budget import budget_figure

    rows = [dict(epochs=e, method="gmp", goal=g, found=True, top1_mean=0.80, top1_std=0.01, gap_pp=-5.0,
                 dense_mean=d, dense_std=0.002, why_empty="") for e, d in ((4, 0.85), (12, 0.90)) for g in (0.9, 0.95)]
    fig = budget_figure(pd.DataFrame(rows), absolute=True)
    dense = [t for t in fig.data if t.legendgroup == BASELINE]
    assert len(dense) == 2 and [round(v, 6) for v in dense[0].y] == [85.0, 90.0]
    gmp = next(t for t in fig.data if t.legendgroup == "gmp")
    assert [round(v, 6) for v in gmp.y] == [80.0, 80.0] and "accuracy" in fig.layout.yaxis.title.text
