"""Run times on three clocks (sparselib.timing) and the relative-time column that uses the robust one: the process's
CPU time for runs on one CPU thread, the device's time on CUDA, wall time otherwise."""
import json
import math
from types import SimpleNamespace

import pytest
import torch

import sparselib.timing as timing
from sparselib.results import collect_runs
from sparselib.timing import PhaseTime, Stopwatch, own_seconds, time_basis


def test_stopwatch_adds_wall_and_cpu_time_of_each_block(monkeypatch):
    clock = {"wall": 10.0, "cpu": 3.0}
    monkeypatch.setattr(timing, "time", SimpleNamespace(perf_counter=lambda: clock["wall"],
                                                        process_time=lambda: clock["cpu"]))
    watch = Stopwatch(torch.device("cpu"))
    with watch():
        clock["wall"] += 2.5
        clock["cpu"] += 1.0
    clock["wall"] += 100.0  # outside any block: not counted
    with watch():
        clock["wall"] += 0.5
        clock["cpu"] += 0.25
    assert (watch.total.wall, watch.total.cpu, watch.total.device) == (3.0, 1.25, None)


def test_phase_times_subtract_and_round_trip():
    a, b = PhaseTime(5.0, 2.0, None), PhaseTime(1.5, 0.5, None)
    assert (a - b) == PhaseTime(3.5, 1.5, None) and (a + b) == PhaseTime(6.5, 2.5, None)
    assert PhaseTime.from_dict(a.as_dict("train"), "train") == a
    assert (PhaseTime(1.0, 1.0, 2.0) - PhaseTime(0.5, 0.5, None)).device is None


@pytest.mark.parametrize("metrics,basis", [
    ({"device": "cpu", "threads": 1, "train_cpu_s": 3.0}, "cpu"),
    ({"device": "cpu", "threads": 2, "train_cpu_s": 3.0}, "wall"),   # CPU time of 2 threads is not one run's pace
    ({"device": "cpu", "threads": 1}, "wall"),                       # made before CPU time was recorded
    ({"device": "cuda:0", "threads": 8, "train_cpu_s": 3.0, "train_device_s": 1.0}, "device"),
    ({"device": "cuda:0", "train_device_s": None}, "wall"),
])
def test_time_basis(metrics, basis):
    assert time_basis(metrics) == basis


def _fake_run(root, run_id, method, wall, cpu, threads=1, reference=None, dense="d0", **fields):
    folder = root / "s" / run_id
    folder.mkdir(parents=True)
    cfg = {"setting": "s", "dataset": "synthetic", "model": "resnet8", "method": method, "goal_sparsity": 0.9 if method != "dense" else 0.0, "seed": 0,
           "method_args": {}, "run_id": run_id, **fields}
    metrics = {"run_id": run_id, "top1": 0.5, "val_top1": 0.5, "sparsity_prunable": 0.9, "sparsity_total": 0.9,
               "theoretical_speedup": 2.0, "epochs_total": 4, "wall_time_s": wall, "train_cpu_s": cpu,
               "train_device_s": None, "threads": threads, "device": "cpu", "reference_run_id": reference,
               "dense_run_id": dense}
    (folder / "config.json").write_text(json.dumps(cfg))
    (folder / "metrics.json").write_text(json.dumps(metrics))


def test_relative_time_uses_cpu_time_of_one_thread_runs_and_wall_time_otherwise(tmp_path):
    # dense: 100 s of wall time on a busy machine but 50 s of its own CPU time; the method ran on a quiet one
    _fake_run(tmp_path, "d0", "dense", wall=100.0, cpu=50.0)
    _fake_run(tmp_path, "r0", "dense", wall=30.0, cpu=20.0)               # restricted IMP's shorter dense run
    _fake_run(tmp_path, "g0", "gmp", wall=60.0, cpu=55.0)
    _fake_run(tmp_path, "i0", "imp", wall=12.0, cpu=10.0, reference="r0")
    _fake_run(tmp_path, "t2", "gsm", wall=40.0, cpu=70.0, threads=2)     # two threads: wall time for this one
    df = collect_runs(tmp_path).set_index("run_id")
    assert df.at["g0", "time_basis"] == "cpu"
    assert df.at["g0", "relative_time"] == pytest.approx(55.0 / 50.0)
    assert df.at["g0", "relative_wall_time"] == pytest.approx(60.0 / 100.0)
    assert df.at["i0", "pipeline_time_s"] == pytest.approx(10.0 + 20.0)   # its dense start run included
    assert df.at["i0", "relative_time"] == pytest.approx(30.0 / 50.0)
    assert df.at["t2", "time_basis"] == "wall"
    assert df.at["t2", "relative_time"] == pytest.approx(40.0 / 100.0)


def test_a_run_with_a_tuned_weight_decay_is_timed_against_the_studys_dense_run_of_its_seed_and_epochs(tmp_path):
    # the study trains dense at weight decay 1e-4 only; a GMP run at 5e-4 records the (never trained) dense run of
    # its own setting, "d-wd5": its baseline is the one dense run of the same setting, seed and epochs
    _fake_run(tmp_path, "d0", "dense", wall=100.0, cpu=50.0, epochs=12)
    _fake_run(tmp_path, "r0", "dense", wall=30.0, cpu=20.0, epochs=9)  # restricted IMP's shorter dense run
    _fake_run(tmp_path, "d1", "dense", wall=90.0, cpu=45.0, epochs=12, seed=1)
    _fake_run(tmp_path, "g0", "gmp", wall=60.0, cpu=55.0, dense="d-wd5", epochs=12, weight_decay=5e-4)
    _fake_run(tmp_path, "g1", "gmp", wall=60.0, cpu=54.0, dense="d-wd5-1", epochs=12, seed=1, weight_decay=5e-4)
    _fake_run(tmp_path, "x0", "gmp", wall=60.0, cpu=54.0, dense="d-other", epochs=10)  # no dense run of 10 epochs
    df = collect_runs(tmp_path).set_index("run_id")
    assert df.at["g0", "relative_time"] == pytest.approx(55.0 / 50.0)
    assert df.at["g1", "relative_time"] == pytest.approx(54.0 / 45.0)
    assert math.isnan(df.at["x0", "relative_time"])


def test_a_runs_own_seconds_are_cpu_time_on_one_cpu_thread_and_wall_time_otherwise():
    m = {"wall_time_s": 10.0, "eval_time_s": 2.0, "train_cpu_s": 5.0, "eval_cpu_s": 1.0, "device": "cpu", "threads": 1}
    assert own_seconds(m) == 6.0
    assert own_seconds({**m, "threads": 2}) == 12.0  # two threads: CPU time counts both
    assert own_seconds({**m, "device": "cuda:0", "train_device_s": 4.0}) == 12.0
    assert own_seconds({**m, "eval_cpu_s": None}) == 12.0  # an older run without evaluation CPU time
    assert own_seconds({"wall_time_s": 10.0, "eval_time_s": None}) == 10.0
