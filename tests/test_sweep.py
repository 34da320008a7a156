"""Sweeps: planning, Dask execution, failures and retries, killed workers, two sweeps at once, bad input."""
import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sparselib.config import Runtime, dense_config
from sparselib.presets import get_preset
from sparselib.runner import RunBusy, run, run_dir
from sparselib.results import collect_runs, diverged_runs
from sparselib.storage import RunFolder, load_torch
from sparselib.sweep import (Dispatch, PlannedRun, SweepError, audit, estimate_seconds, execute, format_seconds, plan,
                             sweep)

SMOKE = get_preset("smoke")
REPO = Path(__file__).resolve().parents[1]


def rt(path, **kw):
    return Runtime(results=str(path), progress=False, device="cpu", **kw)


class CrashOnce:
    """Kill the worker process (no cleanup, like SIGKILL) after the ``after``-th checkpoint, the first time only."""

    def __init__(self, marker: str, after: int):
        self.marker, self.after = marker, after

    def __call__(self, epoch: int) -> None:
        if epoch == self.after and not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os._exit(1)


# ---------------------------------------------------------------------------------------------------------------
def test_plan_puts_the_dense_runs_first_and_reads_each_runs_state(tmp_path):
    configs = SMOKE.configs()
    p = plan(configs, rt(tmp_path))
    ids = [r.cfg.run_id for r in p.runs]
    assert len(ids) == len(set(ids)) == len(configs) + 1  # + restricted IMP's shorter dense run
    extra = [r for r in p.runs if r.extra]
    assert len(extra) == 1 and extra[0].cfg.method == "dense" and extra[0].cfg.epochs < SMOKE.base.epochs
    for r in p.runs:  # every dependency is planned before its dependents
        if r.needs:
            assert ids.index(r.needs) < ids.index(r.cfg.run_id)
    imp = next(r for r in p.runs if r.cfg.method == "imp")
    assert imp.needs == extra[0].cfg.run_id and imp.epochs == 2
    assert {r.status for r in p.runs} == {"missing"}
    # states come from the run folders
    gmp = SMOKE.config("gmp", 0.9)
    folder = run_dir(gmp, rt(tmp_path))
    folder.mkdir(parents=True)
    (folder / "checkpoint.pt").write_bytes(b"")
    assert {r.cfg.run_id: r.status for r in plan(configs, rt(tmp_path)).runs}[gmp.run_id] == "partial"
    (folder / "failed.json").write_text("{}")
    assert {r.cfg.run_id: r.status for r in plan(configs, rt(tmp_path)).runs}[gmp.run_id] == "failed"


def test_time_estimate_uses_finished_runs_or_the_presets_figure(tmp_path):
    configs = [SMOKE.config("dense"), SMOKE.config("gmp", 0.9)]
    p = plan(configs, rt(tmp_path))
    assert estimate_seconds(p, rt(tmp_path))[0] is None
    left, source = estimate_seconds(p, rt(tmp_path), workers=2, fallback_epoch_seconds=3.0)
    assert left == pytest.approx((4 + 4) * 3.0 / 2) and "preset" in source
    folder = run_dir(configs[0], rt(tmp_path))
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({"wall_time_s": 10.0, "eval_time_s": 2.0, "epochs": 4}))
    p = plan(configs, rt(tmp_path))
    left, source = estimate_seconds(p, rt(tmp_path))
    assert left == pytest.approx(4 * 3.0) and "1 finished" in source  # gmp: 4 epochs at dense's 3 s/epoch
    # a one-thread CPU run: its CPU time (wall time stretched by a busy machine is not what a run costs)
    (folder / "metrics.json").write_text(json.dumps({"wall_time_s": 10.0, "eval_time_s": 2.0, "epochs": 4,
                                                     "device": "cpu", "threads": 1, "train_cpu_s": 5.0,
                                                     "eval_cpu_s": 1.0}))
    assert estimate_seconds(plan(configs, rt(tmp_path)), rt(tmp_path))[0] == pytest.approx(4 * 1.5)
    assert format_seconds(3725) == "1 h 02 min" and format_seconds(65) == "1 min 05 s"


def test_the_smoke_sweep_on_two_dask_workers_completes_and_a_second_sweep_starts_nothing(smoke_sweep):
    root, report = smoke_sweep
    assert report.ok and not report.with_status("failed")
    assert len(report.with_status("done")) == len(SMOKE.configs()) + 1
    for cfg in SMOKE.configs():
        assert (run_dir(cfg, rt(root)) / "metrics.json").exists()
        assert not (run_dir(cfg, rt(root)) / "checkpoint.pt").exists()
    # the runs that IMP starts from ran once and were shared (one dense run per setting/seed/length)
    again = sweep(SMOKE.configs(), rt(root), workers=2, progress=False)
    assert again.outcomes == [] and again.plan.count("finished") == len(SMOKE.configs()) + 1


def diverging(cfg):
    return cfg.replace(lr=1e12)  # the loss becomes NaN at once: TrainingDiverged


def failing(cfg, root):
    """``cfg`` with a folder that holds another configuration under its id: every attempt fails (RunError)."""
    folder = run_dir(cfg, rt(root))
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({**cfg.replace(seed=99).to_dict(), "run_id": cfg.run_id}))
    return cfg


def test_a_failing_run_does_not_stop_the_sweep_and_only_it_is_retried(tmp_path):
    good = [SMOKE.config("dense"), SMOKE.config("gmp", 0.9)]
    bad = failing(SMOKE.config("gmp", 0.95), tmp_path)
    report = sweep([good[0], bad, good[1]], rt(tmp_path), workers=2, progress=False)
    assert not report.ok
    status = {o["run_id"]: o["status"] for o in report.outcomes}
    assert status == {good[0].run_id: "done", bad.run_id: "failed", good[1].run_id: "done"}
    failed = json.loads((run_dir(bad, rt(tmp_path)) / "failed.json").read_text())
    assert "RunError" in failed["error"] and "Traceback" in failed["traceback"]
    assert "FAILED" in report.summary() and bad.run_id in report.summary()
    again = sweep([good[0], bad, good[1]], rt(tmp_path), workers=0, progress=False)
    assert [o["run_id"] for o in again.outcomes] == [bad.run_id]  # finished runs are not touched


def test_a_diverging_run_is_an_outcome_not_retried_and_not_missing_from_the_study(tmp_path):
    good, bad = SMOKE.config("dense"), diverging(SMOKE.config("gmp", 0.9))
    report = sweep([good, bad], rt(tmp_path), workers=2, progress=False)
    status = {o["run_id"]: o["status"] for o in report.outcomes}
    assert status == {good.run_id: "done", bad.run_id: "diverged"}
    record = json.loads((run_dir(bad, rt(tmp_path)) / "diverged.json").read_text())
    assert "TrainingDiverged" in record["error"] and not (run_dir(bad, rt(tmp_path)) / "failed.json").exists()
    assert "DIVERGED" in report.summary() and "1 diverged" in report.summary()
    again = sweep([good, bad], rt(tmp_path), workers=0, progress=False)
    assert again.outcomes == [] and again.plan.count("diverged") == 1  # deterministic: not trained again
    found = audit([good, bad], tmp_path, SMOKE.name)
    assert not found.unfinished and not found.stale and not found.mismatched
    assert diverged_runs(tmp_path)["run_id"].tolist() == [bad.run_id]


def test_the_run_table_counts_each_configurations_diverged_seeds(tmp_path):
    gmp = SMOKE.config("gmp", 0.9)
    sweep([SMOKE.config("dense"), gmp], rt(tmp_path), workers=0, progress=False)
    seed1 = RunFolder(run_dir(gmp.replace(seed=1), rt(tmp_path)))  # the same configuration diverged on seed 1
    seed1.path.mkdir(parents=True)
    seed1.write_config(gmp.replace(seed=1).to_dict(), gmp.replace(seed=1).run_id)
    seed1.record_divergence(RuntimeError("loss became nan"))
    runs = collect_runs(tmp_path)
    assert dict(zip(runs["method"], runs["n_diverged"])) == {"dense": 0, "gmp": 1}
    assert len(runs) == 2  # no row for the diverged run


@pytest.mark.parametrize("workers", [0, 2])
def test_runs_needing_a_failed_or_diverged_dense_run_are_skipped_not_run(tmp_path, workers):
    bad_dense = diverging(SMOKE.config("dense"))
    imp_plus = diverging(SMOKE.config("imp_plus", 0.9))  # starts from bad_dense
    report = sweep([imp_plus], rt(tmp_path), workers=workers, progress=False)
    status = {o["run_id"]: o["status"] for o in report.outcomes}
    assert status == {bad_dense.run_id: "diverged", imp_plus.run_id: "skipped"}
    assert "SKIPPED" in report.summary()
    failed = {"run_id": "x", "status": "failed"}
    assert execute(SMOKE.config("imp_plus", 0.95).to_dict(), rt(tmp_path), False, None, failed)["status"] == "skipped"


def test_a_sweep_on_a_running_cluster_starts_each_run_after_the_dense_run_it_needs(tmp_path):
    from distributed import LocalCluster

    imp_plus, gmp = SMOKE.config("imp_plus", 0.9), SMOKE.config("gmp", 0.9)
    dense = dense_config(imp_plus)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        report = sweep([imp_plus, gmp], rt(tmp_path, num_threads=1), scheduler=cluster.scheduler_address,
                       progress=False)
    status = {o["run_id"]: o["status"] for o in report.outcomes}
    assert status == {dense.run_id: "done", imp_plus.run_id: "done", gmp.run_id: "done"}
    order = [o["run_id"] for o in report.outcomes]
    assert order.index(dense.run_id) < order.index(imp_plus.run_id)
    started = RunFolder(run_dir(imp_plus, rt(tmp_path))).read_metrics()
    assert started["reference_run_id"] == dense.run_id  # it started from that dense run's weights


def planned(run_id, needs=None):
    return PlannedRun(cfg=type("Cfg", (), {"run_id": run_id})(), status="missing", needs=needs, epochs=1)


def ids(taken):
    return [(r.cfg.run_id, [o["run_id"] for o in needs]) for r, needs, _ in taken]


def test_dispatch_starts_needed_dense_runs_first_dependents_when_their_dense_run_ends_and_fills_only_free_slots():
    out = {k: {"run_id": k, "status": "done"} for k in ("d1", "d2", "i1", "i2", "i3", "g", "c")}
    todo = [planned("d1"), planned("i1", "d1"), planned("g"), planned("d2"), planned("i3", "d2"), planned("c"),
            planned("i2", "d1"), planned("e", "finished-elsewhere")]
    d = Dispatch(todo, slots=2)
    assert ids(d.take()) == [("d1", []), ("d2", [])] and d.take() == []  # both slots taken, by the needed dense runs
    d.ended("d2", out["d2"])
    taken = d.take()
    assert ids(taken) == [("i3", ["d2"])] and taken[0][1][0] is out["d2"]  # its dense run's own outcome
    d.ended("d1", out["d1"])
    assert ids(d.take()) == [("i1", ["d1"])]  # one slot free: the ready dependents before the rest, in plan order
    d.ended("i3", out["i3"])
    assert ids(d.take()) == [("i2", ["d1"])]
    for ended, starts in (("i1", [("g", [])]), ("i2", [("c", [])]), ("g", [("e", [])]), ("c", []), ("e", [])):
        d.ended(ended, out.get(ended, {}))
        assert ids(d.take()) == starts
    assert d.out == 0 and not d.waiting and not d.ready


def test_dispatch_without_a_slot_limit_hands_out_every_ready_run_at_once():
    d = Dispatch([planned("g"), planned("d"), planned("i", "d"), planned("c")])
    taken = d.take()
    assert ids(taken) == [("d", []), ("g", []), ("c", [])]
    assert [p for _, _, p in taken] == [2, 0, 0]  # Dask's priorities: the needed dense run first
    d.ended("d", {"run_id": "d", "status": "failed"})
    taken = d.take()
    assert ids(taken) == [("i", ["d"])]  # a failed dense run's outcome too: the run then skips itself
    assert taken[0][2] == 1  # ahead of runs submitted before it and not started yet


def test_a_dense_run_busy_in_another_sweep_is_waited_for_not_skipped(tmp_path):
    imp_plus = SMOKE.config("imp_plus", 0.9)
    busy = {"run_id": dense_config(imp_plus).run_id, "status": "busy"}
    out = execute(imp_plus.to_dict(), rt(tmp_path), False, None, busy)
    assert out["status"] == "done"  # the runner waited for (here: ran) the dense run itself
    failed = {"run_id": busy["run_id"], "status": "failed"}
    assert execute(imp_plus.replace(seed=5).to_dict(), rt(tmp_path), False, None, failed)["status"] == "skipped"


def test_a_killed_worker_is_replaced_and_the_run_resumes_to_the_same_result(tmp_path):
    cfg = SMOKE.config("gmp", 0.9)
    marker = tmp_path / "killed"
    # one torch thread in both runs: bit-identical results need the same reduction order
    report = sweep([cfg], rt(tmp_path / "a", num_threads=1), workers=1, progress=False,
                   on_checkpoint=CrashOnce(str(marker), after=2))
    assert marker.exists(), "the worker was not killed"
    assert [o["status"] for o in report.outcomes] == ["done"]
    history = (run_dir(cfg, rt(tmp_path / "a")) / "history.csv").read_text().splitlines()
    assert len(history) == 1 + cfg.epochs  # header + one row per epoch: epochs 1-2 were not trained again
    threads = torch.get_num_threads()
    try:
        run(cfg, rt(tmp_path / "b", num_threads=1), log=lambda _: None)  # the same run, never interrupted
    finally:
        torch.set_num_threads(threads)
    ma, mb = (json.loads((run_dir(cfg, rt(tmp_path / x)) / "metrics.json").read_text()) for x in "ab")
    for key in ("top1", "val_top1", "sparsity_prunable", "theoretical_speedup"):
        assert ma[key] == mb[key], key
    wa, wb = (load_torch(run_dir(cfg, rt(tmp_path / x)) / "final.pt") for x in "ab")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_a_run_locked_by_another_process_is_left_to_it(tmp_path):
    cfg = SMOKE.config("dense")
    folder = run_dir(cfg, rt(tmp_path))
    folder.mkdir(parents=True)
    with open(folder / ".lock", "a") as held:  # another process's lock (flock is per open file)
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(RunBusy):
            run(cfg, rt(tmp_path), log=lambda _: None, wait=False)
        assert execute(cfg.to_dict(), rt(tmp_path))["status"] == "busy"
        assert not (folder / "config.json").exists()  # nothing was written
        fcntl.flock(held, fcntl.LOCK_UN)
    assert execute(cfg.to_dict(), rt(tmp_path))["status"] == "done"


SWEEP_SCRIPT = """
import json, sys
from sparselib.config import Runtime
from sparselib.presets import get_preset
from sparselib.sweep import sweep
configs = [get_preset("smoke").config("dense", seed=s) for s in range(4)]
report = sweep(configs, Runtime(results=sys.argv[1], progress=False, device="cpu", num_threads=1), workers=0,
               progress=False)
print(json.dumps({o["run_id"]: o["status"] for o in report.outcomes}))
"""


def test_two_sweeps_at_once_never_run_the_same_run_twice(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", SWEEP_SCRIPT, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              env=env, cwd=REPO) for _ in range(2)]
    outs = [json.loads(p.communicate(timeout=300)[0].strip().splitlines()[-1]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    ids = [SMOKE.config("dense", seed=s).run_id for s in range(4)]
    for rid in ids:
        ran = [o.get(rid) for o in outs]
        assert ran.count("done") == 1, (rid, outs)  # executed by exactly one of the two sweeps
        assert all(s in ("done", "busy", "finished", None) for s in ran)
        folder = tmp_path / "smoke" / rid
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["run_id"] == rid
        assert len((folder / "history.csv").read_text().splitlines()) == 1 + SMOKE.base.epochs


def test_via_notebook_keeps_the_executed_notebook_in_the_run_folder(tmp_path):
    cfg = SMOKE.config("gmp", 0.9)
    report = sweep([cfg], rt(tmp_path), workers=0, via_notebook=True, progress=False)
    assert [o["status"] for o in report.outcomes] == ["done"]
    folder = run_dir(cfg, rt(tmp_path))
    nb = json.loads((folder / "run.ipynb").read_text())
    text = json.dumps(nb)
    assert cfg.run_id in text and "papermill" in nb["metadata"]
    assert not list(folder.glob("*.partial.ipynb"))
    assert json.loads((folder / "metrics.json").read_text())["run_id"] == cfg.run_id


def test_bad_input_fails_before_any_run_starts(tmp_path):
    configs = [SMOKE.config("dense")]
    with pytest.raises(SweepError, match="cannot reach the Dask scheduler"):
        sweep(configs, rt(tmp_path), scheduler="tcp://127.0.0.1:9", connect_timeout=1, progress=False)
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(SweepError, match="not writable"):
        sweep(configs, rt(not_a_dir), progress=False)
    mini = get_preset("mini").config("dense")
    with pytest.raises(SweepError, match="fashion_mnist"):
        sweep([mini], rt(tmp_path, data_root=str(tmp_path / "no-data")), progress=False)
    assert not list(tmp_path.glob("*/*/")), "a run folder was made"


def test_a_finished_study_needs_no_data_and_no_cluster(tmp_path):
    mini = get_preset("mini").config("dense")
    folder = run_dir(mini, rt(tmp_path))
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text("{}")  # finished (as committed results are)
    report = sweep([mini], rt(tmp_path, data_root=str(tmp_path / "no-data")), scheduler="tcp://127.0.0.1:9",
                   progress=False)
    assert report.outcomes == [] and report.ok


def test_cli_sweep_dry_run_and_errors(tmp_path, capsys):
    from sparselib.cli import main

    main(["sweep", "smoke", "--dry-run", "--results", str(tmp_path)])
    out = capsys.readouterr().out
    assert f"{len(SMOKE.configs())} runs (+1 dense runs they start from)" in out
    assert "estimated time left" in out and SMOKE.config("gmp", 0.9).run_id in out
    main(["sweep", "smoke", "--dry-run", "--results", str(tmp_path), "--methods", "gmp,lc"])
    out = capsys.readouterr().out
    n = 1 + sum(c.method in ("gmp", "lc") for c in SMOKE.configs())  # + dense
    assert f"{n} runs:" in out and " gmp " in out and " lc " in out and " imp " not in out
    with pytest.raises(SystemExit, match="unknown preset 'nope'"):
        main(["sweep", "nope"])
    with pytest.raises(SystemExit, match="--methods: magic not in preset smoke"):
        main(["sweep", "smoke", "--methods", "magic", "--dry-run"])
    with pytest.raises(SystemExit, match="cannot reach"):
        main(["sweep", "smoke", "--results", str(tmp_path), "--scheduler", "tcp://127.0.0.1:9",
              "--connect-timeout", "1", "--no-progress"])
    assert not list(tmp_path.glob("*/*/")), "a run folder was made"
