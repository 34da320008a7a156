"""Runs end to end on the smoke preset: folder contents, skip when finished, resume after interruption,
corrupt checkpoints, NaN loss, IMP reusing its dense run, and the tidy table."""
import json

import pytest
import torch

from sparselib.config import Runtime, dense_config
from sparselib.resolve import resolve
from sparselib.presets import get_preset
from sparselib.results import COLUMNS, collect_runs
from sparselib.runner import run, run_dir
from sparselib.storage import RunFolder, load_torch
from sparselib.train import Trainer, TrainingDiverged

SMOKE = get_preset("smoke")


def rt(path):
    return Runtime(results=str(path), progress=False, device="cpu")


def final_weights(cfg, runtime):
    return load_torch(run_dir(cfg, runtime) / "final.pt")


def test_imp_run_writes_its_folder_and_reuses_the_dense_run(tmp_path):
    logs = []
    cfg = SMOKE.config("imp", 0.9)
    metrics = run(cfg, rt(tmp_path), log=logs.append)
    folder = run_dir(cfg, rt(tmp_path))
    assert folder == tmp_path / "smoke" / cfg.run_id
    for name in ("config.json", "provenance.json", "history.csv", "lr.json", "mask_stats.json", "metrics.json",
                 "mask.pt", "final.pt"):
        assert (folder / name).exists(), name
    assert json.loads((folder / "config.json").read_text())["run_id"] == cfg.run_id
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["torch"] == torch.__version__ and prov["device"] == "cpu"
    # the dense run it starts from (restricted IMP: the same setting and seed, shortened to leave room for
    # retraining in the dense budget) ran first, in its own folder

    dense = resolve(cfg).reference
    assert dense.method == "dense" and dense.seed == cfg.seed and dense.epochs == cfg.epochs - 2
    assert (run_dir(dense, rt(tmp_path)) / "metrics.json").exists()
    assert metrics["dense_run_id"] == dense_config(cfg).run_id  # relative time is against full dense training
    # exact sparsity: round(0.9 * prunable) zeros among the prunable weights
    weights = final_weights(cfg, rt(tmp_path))
    mask = load_torch(folder / "mask.pt")
    zeros = sum(int((weights[k] == 0).sum()) for k in mask)
    assert zeros == round(0.9 * metrics["prunable"])
    assert all(bool((weights[k][~m] == 0).all()) for k, m in mask.items())
    # the epochs of IMP: 2 phases x 1 epoch, on top of the dense run's 4
    assert metrics["epochs"] == 2 and metrics["epochs_total"] == SMOKE.base.epochs
    lrs = json.loads((folder / "lr.json").read_text())
    assert len(lrs) == len(json.loads((run_dir(dense, rt(tmp_path)) / "lr.json").read_text()))

    # running again does nothing, says so, and does not touch the dense run either
    dense_mtime = (run_dir(dense, rt(tmp_path)) / "metrics.json").stat().st_mtime_ns
    logs.clear()
    again = run(cfg, rt(tmp_path), log=logs.append)
    assert again == metrics
    assert len(logs) == 1 and "already finished" in logs[0]
    assert (run_dir(dense, rt(tmp_path)) / "metrics.json").stat().st_mtime_ns == dense_mtime
    # a second IMP configuration reuses the dense run instead of retraining it
    logs.clear()
    run(SMOKE.config("imp", 0.5), rt(tmp_path), log=logs.append)
    assert any("already finished" in line and dense.run_id in line for line in logs)


class Interrupt(Exception):
    pass


def interrupt_after(monkeypatch, n_checkpoints):
    original = Trainer._checkpoint
    calls = {"n": 0}

    def checkpoint_then_stop(self):
        original(self)
        calls["n"] += 1
        if calls["n"] == n_checkpoints:
            raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "_checkpoint", checkpoint_then_stop)


@pytest.mark.parametrize("method, sparsity", [("dense", 0.0), ("gmp", 0.9)])
def test_interrupted_run_resumes_to_the_same_result(tmp_path, monkeypatch, method, sparsity):
    cfg = SMOKE.config(method, sparsity)
    reference = run(cfg, rt(tmp_path / "a"))
    with monkeypatch.context() as m:
        interrupt_after(m, 2)
        with pytest.raises(KeyboardInterrupt):
            run(cfg, rt(tmp_path / "b"))
    folder = run_dir(cfg, rt(tmp_path / "b"))
    assert (folder / "checkpoint.pt").exists() and not (folder / "metrics.json").exists()
    assert len((folder / "history.csv").read_text().splitlines()) == 1 + 2
    logs = []
    resumed = run(cfg, rt(tmp_path / "b"), log=logs.append)
    assert any(line.startswith("resuming") for line in logs)
    for key in ("top1", "val_top1", "sparsity_prunable", "theoretical_speedup", "epochs"):
        assert resumed[key] == reference[key], key
    a, b = final_weights(cfg, rt(tmp_path / "a")), final_weights(cfg, rt(tmp_path / "b"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not (folder / "checkpoint.pt").exists()  # epoch checkpoints go once the run is finished


def test_interrupted_imp_resumes_mid_phase(tmp_path, monkeypatch):
    cfg = SMOKE.config("imp", 0.9, method_args={"n_phases": 1, "epochs_per_phase": 3, "schedule": "clr"})
    reference = run(cfg, rt(tmp_path / "a"))
    run(dense_config(cfg), rt(tmp_path / "b"))
    with monkeypatch.context() as m:
        interrupt_after(m, 1)
        with pytest.raises(KeyboardInterrupt):
            run(cfg, rt(tmp_path / "b"))
    resumed = run(cfg, rt(tmp_path / "b"))
    assert resumed["top1"] == reference["top1"]
    la = json.loads((run_dir(cfg, rt(tmp_path / "a")) / "lr.json").read_text())
    lb = json.loads((run_dir(cfg, rt(tmp_path / "b")) / "lr.json").read_text())
    assert la == lb


def test_corrupt_checkpoint_is_reported_and_the_previous_one_used(tmp_path, monkeypatch):
    cfg = SMOKE.config("dense")
    reference = run(cfg, rt(tmp_path / "a"))
    with monkeypatch.context() as m:
        interrupt_after(m, 3)
        with pytest.raises(KeyboardInterrupt):
            run(cfg, rt(tmp_path / "b"))
    folder = run_dir(cfg, rt(tmp_path / "b"))
    (folder / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.warns(RuntimeWarning, match="unreadable"):
        resumed = run(cfg, rt(tmp_path / "b"))
    assert (folder / "checkpoint.pt.corrupt").exists()
    assert resumed["top1"] == reference["top1"]


def test_nan_loss_records_the_run_as_diverged_and_keeps_finished_runs(tmp_path, monkeypatch):
    done = run(SMOKE.config("dense"), rt(tmp_path))
    from sparselib.methods.gmp import GMP

    monkeypatch.setattr(GMP, "extra_loss", lambda self, state: torch.tensor(float("nan")))
    cfg = SMOKE.config("gmp", 0.9)
    with pytest.raises(TrainingDiverged, match="learning rate"):
        run(cfg, rt(tmp_path))
    folder = RunFolder(run_dir(cfg, rt(tmp_path)))
    assert folder.state == "diverged" and not folder.file("failed.json").exists()
    assert "TrainingDiverged" in folder.read_divergence()["error"] and not folder.finished
    # training is deterministic: the run is not trained again (even with the cause gone) until the record is deleted
    monkeypatch.undo()
    calls = []
    monkeypatch.setattr(Trainer, "fit", lambda self: calls.append(1))
    with pytest.raises(TrainingDiverged, match="diverged before.*delete .*diverged.json"):
        run(cfg, rt(tmp_path))
    assert calls == []
    assert run(SMOKE.config("dense"), rt(tmp_path)) == done


def test_tidy_table_has_one_row_per_run_and_relative_time(tmp_path):
    run(SMOKE.config("imp_plus", 0.9), rt(tmp_path))
    run(SMOKE.config("gmp", 0.9), rt(tmp_path))
    df = collect_runs(tmp_path)
    assert list(df.columns[:len(COLUMNS)]) == COLUMNS
    assert sorted(df["method"]) == ["dense", "gmp", "imp_plus"]
    dense = df[df.method == "dense"].iloc[0]
    imp = df[df.method == "imp_plus"].iloc[0]
    gmp = df[df.method == "gmp"].iloc[0]
    assert dense.relative_time == 1.0
    assert imp.relative_time == pytest.approx((dense.wall_time_s + imp.wall_time_s) / dense.wall_time_s)
    assert gmp.relative_time == pytest.approx(gmp.wall_time_s / dense.wall_time_s)
    assert imp.schedule == "llr" and imp.goal_sparsity == 0.9 and imp.setting == "smoke"
    assert imp.sparsity_prunable == pytest.approx(0.9, abs=1e-3) and imp.theoretical_speedup > 1
    assert collect_runs(tmp_path / "nothing").empty


def test_evaluation_inside_hooks_is_not_counted_as_training_time(tmp_path, monkeypatch):
    """IMP measures accuracy right after pruning, inside a hook; that measurement must not inflate its wall time."""
    from types import SimpleNamespace

    import sparselib.state as state_module
    import sparselib.timing as timing_module

    run(dense_config(SMOKE.config("imp_plus", 0.9)), rt(tmp_path))
    clock = {"t": 0.0}
    real_evaluate = state_module.evaluate

    def slow_evaluate(*args, **kwargs):
        clock["t"] += 1000.0  # every evaluation "takes" 1000 s; nothing else advances the clock
        return real_evaluate(*args, **kwargs)

    fake_time = SimpleNamespace(perf_counter=lambda: clock["t"], process_time=lambda: clock["t"] / 2)
    monkeypatch.setattr(timing_module, "time", fake_time)
    monkeypatch.setattr(state_module, "evaluate", slow_evaluate)
    metrics = run(SMOKE.config("imp_plus", 0.9), rt(tmp_path))
    assert metrics["wall_time_s"] == 0.0 and metrics["train_cpu_s"] == 0.0
    # 2 phases x validation right after pruning + validation after each of the 2 epochs + final (val, test): the
    # test set only once, at the end
    assert metrics["eval_time_s"] == 1000.0 * (2 + 2 + 2)
    assert metrics["eval_cpu_s"] == 500.0 * (2 + 2 + 2)


def test_write_check_is_safe_when_two_processes_check_one_folder(tmp_path):
    """Two sweeps starting together check the same results folder: each probe has its own name, so one check never
    removes the other's probe (a shared name failed one of them with FileNotFoundError), and none is left behind."""
    from concurrent.futures import ThreadPoolExecutor

    from sparselib.runner import check_writable

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: check_writable(tmp_path / "smoke"), range(400)))
    assert list((tmp_path / "smoke").iterdir()) == []


def test_progress_bar_written_to_a_log_is_a_few_lines(monkeypatch):
    """A text progress bar that goes to a log, not a terminal (papermill where ipywidgets is missing, a redirected
    stderr), is redrawn at most every LOG_REDRAW_SECONDS: a run of thousands of steps leaves a few lines, the last
    one the finished bar.  (In a notebook kernel tqdm.auto gives the widget bar: test_notebook checks it.)"""
    import io

    import sparselib.train as train_module

    log = io.StringIO()
    monkeypatch.setattr(train_module.sys, "stderr", log)
    bar = train_module.progress_bar(5000, 0, "gmp 0123456789ab")
    for _ in range(5000):
        bar.update(1)
    bar.close()
    draws = [d for d in log.getvalue().replace("\n", "\r").split("\r") if d.strip()]
    assert len(draws) <= 3, draws
    assert "5000/5000" in draws[-1]  # outside a terminal the finished bar stays
    assert train_module.LOG_REDRAW_SECONDS >= 10
