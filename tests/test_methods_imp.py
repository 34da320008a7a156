"""IMP (restricted), IMP+ and BIMP on the one loop: budgets, dense-run reuse, cycle targets, resume."""
import json

import pytest
import torch

from sparselib.config import ConfigError, RunConfig, Runtime, dense_config
from sparselib.resolve import resolve
from sparselib.methods.imp import restricted_dense_config
from sparselib.presets import get_preset
from sparselib.runner import run, run_dir
from sparselib.sparsity import bimp_cycles
from sparselib.storage import load_torch
from test_runner import interrupt_after

SMOKE = get_preset("smoke")


def rt(path):
    return Runtime(results=str(path), progress=False, device="cpu")


def test_restricted_dense_run_fits_the_budget_with_scaled_milestones():
    paper = RunConfig(epochs=200, lr_milestones=(100, 150), method="imp", goal_sparsity=0.9,
                      method_args={"n_phases": 1, "epochs_per_phase": 40})
    dense = restricted_dense_config(paper, 40)
    assert dense.epochs == 160 and dense.lr_milestones == (80, 120) and dense.method == "dense"
    assert dense_config(get_preset("smoke").config("imp", 0.9)).epochs == SMOKE.base.epochs
    assert resolve(paper).reference == dense
    assert resolve(paper.replace(method="imp_plus")).reference == dense_config(paper)


@pytest.mark.parametrize("method, args, field", [
    ("imp", {"n_phases": 3, "epochs_per_phase": 2}, "imp_plus"),  # 6 retraining epochs >= 4-epoch budget
    ("bimp", {"n_train_budget": 4, "pruning_interval": 1}, "n_train_budget"),
    ("gmp", {"pruning_interval": 3}, "2"),
])
def test_budget_violations_fail_when_the_config_is_built(method, args, field):
    with pytest.raises(ConfigError, match=field):
        SMOKE.config(method, 0.9, method_args=args)


def test_imp_and_imp_plus_budgets_and_relative_time(tmp_path):
    imp = run(SMOKE.config("imp", 0.9), rt(tmp_path))
    plus = run(SMOKE.config("imp_plus", 0.9), rt(tmp_path))
    # restricted: 2 dense + 2 retraining epochs = the dense budget of 4; IMP+: 4 + 2
    assert imp["epochs_total"] == SMOKE.base.epochs
    assert plus["epochs_total"] == SMOKE.base.epochs + 2
    from sparselib.results import collect_runs

    full_dense = json.loads((run_dir(SMOKE.config("dense"), rt(tmp_path)) / "metrics.json").read_text())
    short = restricted_dense_config(SMOKE.config("imp", 0.9), 2)
    short_metrics = json.loads((run_dir(short, rt(tmp_path)) / "metrics.json").read_text())
    assert plus["reference_run_id"] == full_dense["run_id"] and imp["reference_run_id"] == short.run_id
    table = collect_runs(tmp_path).set_index("run_id")
    assert table.loc[plus["run_id"], "pipeline_time_s"] == pytest.approx(full_dense["wall_time_s"]
                                                                         + plus["wall_time_s"])
    assert table.loc[imp["run_id"], "pipeline_time_s"] == pytest.approx(short_metrics["wall_time_s"]
                                                                        + imp["wall_time_s"])
    assert imp["dense_run_id"] == plus["dense_run_id"] == full_dense["run_id"]  # both compared with full dense


def test_bimp_stays_in_budget_and_prunes_on_its_cycles(tmp_path):
    cfg = SMOKE.config("bimp", 0.9)
    metrics = run(cfg, rt(tmp_path))
    hp = resolve(cfg).hparams
    assert metrics["epochs_total"] == cfg.epochs  # no dense pre-training outside the budget
    weights = load_torch(run_dir(cfg, rt(tmp_path)) / "final.pt")
    mask = load_torch(run_dir(cfg, rt(tmp_path)) / "mask.pt")
    assert sum(int((weights[k] == 0).sum()) for k in mask) == round(0.9 * metrics["prunable"])
    lines = (run_dir(cfg, rt(tmp_path)) / "history.csv").read_text().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:]]
    # by hand, not by the function the method calls: smoke has 4 epochs, 2 dense, 2 cycles of 1 epoch that prune to
    # 1 - 0.1^(1/2) and then 0.9
    assert (cfg.epochs, hp.n_train_budget, hp.pruning_interval) == (4, 2, 1)
    cycles = [(2, 1, 1 - 0.1 ** 0.5), (3, 1, 0.9)]
    got = bimp_cycles(cfg.epochs, hp.n_train_budget, hp.pruning_interval, 0.9)
    assert [c[:2] for c in got] == [c[:2] for c in cycles]
    assert [c[2] for c in got] == pytest.approx([c[2] for c in cycles])
    for start, _, target in cycles:
        assert float(rows[start]["sparsity"]) == pytest.approx(target, abs=1e-3)
    assert all(float(r["sparsity"]) == 0.0 for r in rows[:hp.n_train_budget])
    # the dense phase's LR decays linearly from cfg.lr to 0
    lrs = json.loads((run_dir(cfg, rt(tmp_path)) / "lr.json").read_text())
    n = len(lrs) // cfg.epochs
    dense = lrs[:hp.n_train_budget * n]
    assert dense[0] == pytest.approx(cfg.lr) and all(a > b for a, b in zip(dense, dense[1:]))
    # every cycle but the last is exactly LLR up to cfg.lr; the last starts at ALLR's clipped value
    from sparselib.schedules import retrain_schedule
    for t, (start, length, _) in enumerate(cycles):
        got = lrs[start * n:(start + length) * n]
        if t < len(cycles) - 1:
            assert got == pytest.approx(retrain_schedule("llr", length * n, [cfg.lr]), abs=1e-9)
        else:
            # ALLR's floor in the last cycle: min(L / n_train_budget, 1) · maxLR (the authors' BIMP_ALLR)
            assert min(length / hp.n_train_budget, 1) * cfg.lr - 1e-9 <= max(got) <= cfg.lr + 1e-9


@pytest.mark.parametrize("method", ["bimp", "imp_plus"])
def test_resume_mid_run_gives_the_same_result(tmp_path, monkeypatch, method):
    cfg = SMOKE.config(method, 0.9)
    reference = run(cfg, rt(tmp_path / "a"))
    ref_cfg = dense_config(cfg)
    if method == "imp_plus":
        run(ref_cfg, rt(tmp_path / "b"))
    with monkeypatch.context() as m:
        interrupt_after(m, 1 if method == "imp_plus" else 3)
        with pytest.raises(KeyboardInterrupt):
            run(cfg, rt(tmp_path / "b"))
    resumed = run(cfg, rt(tmp_path / "b"))
    assert resumed["top1"] == reference["top1"] and resumed["sparsity_prunable"] == reference["sparsity_prunable"]
    a = load_torch(run_dir(cfg, rt(tmp_path / "a")) / "final.pt")
    b = load_torch(run_dir(cfg, rt(tmp_path / "b")) / "final.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
