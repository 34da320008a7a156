"""Sweeps: execute every missing run of a study on a Dask cluster, resumably, safely started twice.

* :func:`plan` lists a study's runs with their state (finished, failed, partial, missing) and adds the dense runs that
  IMP-style methods start from, ordered before the runs that need them.
* :func:`sweep` executes what is missing: on a Dask ``LocalCluster`` sized to the machine, on any running Dask
  cluster (``scheduler=ADDRESS``), or in this process (``workers=0``).  A run that needs a dense run is submitted
  when that dense run has ended, to whichever worker is free, and every run that needs the same dense run shares it.
* A failing run (exception, NaN loss, a worker that dies more often than Dask allows) gets ``failed.json`` with its
  traceback in its folder, the sweep goes on, and the report lists it; sweeping again retries failed and missing
  runs only.  A worker killed mid-run is replaced by Dask's nanny and the run resumes from its last checkpoint.
* The run folder's lock (see :func:`sparselib.runner.run`) keeps two sweeps on the same results folder from running
  the same run twice: the second one finds the run busy and leaves it to the first.
"""
from __future__ import annotations

import dataclasses
import heapq
import logging
import math
import os
import statistics
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from .config import RunConfig, Runtime
from .resolve import resolve
from .runner import RunBusy, check_writable, run_folder, run_or_skip
from .storage import RunFolder
from .timing import own_seconds
from .train import TrainingDiverged

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "train.ipynb"


class SweepError(RuntimeError):
    """The sweep cannot start; the message says what to fix.  Raised before any run starts."""


# ------------------------------------------------------------------------------------------------------------------
# Planning
# ------------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlannedRun:
    cfg: RunConfig
    status: str               # finished | diverged | failed | partial (has a checkpoint) | missing
    needs: str | None         # run id of the dense run it starts from (IMP, IMP+), if any
    epochs: int               # epochs this run trains (on top of its dense run)
    extra: bool = False       # not one of the study's runs: a dense run that one of them starts from


@dataclass
class Plan:
    runs: list[PlannedRun]

    @property
    def todo(self) -> list[PlannedRun]:
        return [r for r in self.runs if r.status not in RunFolder.DONE]

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.runs)


def run_status(cfg: RunConfig, runtime: Runtime) -> str:
    """finished | diverged | failed | partial | missing (see :attr:`sparselib.storage.RunFolder.state`)."""
    return run_folder(cfg, runtime).state


def plan(configs: Iterable[RunConfig], runtime: Runtime) -> Plan:
    """The runs of ``configs`` (resolved; duplicates dropped) plus the dense runs they start from, each such dense run
    placed before the first run that needs it."""
    planned: dict[str, PlannedRun] = {}
    resolved = [resolve(c) for c in configs]
    study = {r.run_id for r in resolved}

    def add(r) -> None:
        if r.run_id in planned:
            return
        ref = resolve(r.reference) if r.reference is not None else None
        if ref is not None:
            add(ref)
        planned[r.run_id] = PlannedRun(r.cfg, run_status(r, runtime), ref.run_id if ref is not None else None,
                                       r.build().total_epochs(), extra=r.run_id not in study)

    for r in resolved:
        add(r)
    return Plan(list(planned.values()))


@dataclass
class Audit:
    """What a results folder holds for a study, against what the current code would make."""
    plan: Plan
    unfinished: list[PlannedRun]   # planned runs that are not done (missing, partial, failed)
    stale: list[str]               # finished folders the study no longer makes (another config or method version)
    mismatched: list[str]          # folders whose config.json does not hash to their name, or metrics disagree
    dirty: list[str]               # finished runs of the study made from a git tree with uncommitted changes

    def describe(self, preset: str) -> str:
        """A message saying exactly what to do about each problem."""
        lines = []
        if self.unfinished:
            lines.append(f"{len(self.unfinished)} runs of {preset} are not finished; make them with "
                         f"`python -m sparselib sweep {preset}`:")
            lines += [f"  {r.cfg.run_id} {r.status:8s} {r.cfg.method} sparsity {r.cfg.goal_sparsity:g} seed "
                      f"{r.cfg.seed} {r.cfg.method_args or ''}" for r in self.unfinished]
        if self.stale:
            lines.append(f"{len(self.stale)} run folders are not made by the current code and grids of {preset} "
                         f"(changed config, grid or method version); remove them: " + " ".join(self.stale))
        if self.mismatched:
            lines.append("run folders whose files disagree with their id: " + " ".join(self.mismatched))
        if self.dirty:
            lines.append(f"{len(self.dirty)} runs were made from uncommitted code (provenance git_dirty); make them "
                         f"again from a clean checkout: " + " ".join(self.dirty))
        return "\n".join(lines)


def audit(configs: Iterable[RunConfig], results: str | Path, setting: str) -> Audit:
    """Compare the run folders under ``results/setting`` with the study ``configs`` under the current code."""

    p = plan(configs, Runtime(results=str(results)))
    wanted = {r.cfg.run_id for r in p.runs}
    root = Path(results) / setting
    folders = sorted(RunFolder(f) for f in root.iterdir() if f.is_dir()) if root.is_dir() else []
    stale, mismatched, dirty = [], [], []
    for folder in folders:
        if folder.state not in RunFolder.DONE:
            continue
        if folder.run_id not in wanted:
            stale.append(folder.run_id)
            continue
        stored = folder.read_config()
        rid = stored.pop("run_id", None)
        record_ok = (folder.read_metrics().get("run_id") == rid and not folder.missing_record()) if folder.finished \
            else folder.file(folder.PROVENANCE).is_file()  # a diverged run has no metrics
        if rid != folder.run_id or RunConfig.from_dict(stored).run_id != rid or not record_ok:
            mismatched.append(folder.run_id)
        elif folder.read_provenance().get("git_dirty"):
            dirty.append(folder.run_id)
    return Audit(p, p.todo, stale, mismatched, dirty)


def estimate_seconds(p: Plan, runtime: Runtime, workers: int = 1,
                     fallback_epoch_seconds: float | None = None) -> tuple[float | None, str]:
    """Rough time left for ``p``'s unfinished runs and where the estimate comes from.

    Seconds per epoch (training + evaluation; CPU time for one-thread CPU runs, which whatever else ran beside them
    does not stretch, see :func:`~sparselib.timing.own_seconds`) are taken from the finished runs of the plan, per
    method where that method has finished runs, else their median over all methods, else
    ``fallback_epoch_seconds``; the sum is divided by the number of workers.  ``(None, reason)`` when nothing is
    known yet.
    """
    per_method: dict[str, list[float]] = {}
    for r in p.runs:
        if r.status != "finished":
            continue
        m = run_folder(r.cfg, runtime).read_metrics()
        if m.get("epochs"):
            per_method.setdefault(r.cfg.method, []).append(own_seconds(m) / m["epochs"])
    todo = p.todo
    if not todo:
        return 0.0, "nothing left"
    everything = [v for vs in per_method.values() for v in vs]
    if everything:
        overall, source = statistics.median(everything), f"seconds per epoch of {len(everything)} finished runs"
    elif fallback_epoch_seconds:
        overall, source = fallback_epoch_seconds, "the preset's measured seconds per epoch (no finished run yet)"
    else:
        return None, "unknown: no run of this setting has finished yet"
    total = sum(r.epochs * (statistics.mean(per_method[r.cfg.method]) if r.cfg.method in per_method else overall)
                for r in todo)
    return total / max(1, workers), source


def format_seconds(s: float | None) -> str:
    if s is None or math.isnan(s):
        return "unknown"
    s = int(round(s))
    h, rem = divmod(s, 3600)
    return f"{h} h {rem // 60:02d} min" if h else f"{rem // 60} min {rem % 60:02d} s"


# ------------------------------------------------------------------------------------------------------------------
# Executing one run (in a Dask worker or in this process)
# ------------------------------------------------------------------------------------------------------------------

def _quiet(_: str) -> None:
    pass


def _worker_runtime(runtime: Runtime) -> Runtime:
    """On a multi-GPU machine with ``device='auto'``, the Dask worker named ``i`` uses ``cuda:i`` (one run per GPU);
    workers started by dask-jobqueue usually see a single GPU (SLURM sets ``CUDA_VISIBLE_DEVICES``) and use it."""
    if runtime.device != "auto":
        return runtime
    import torch

    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n <= 1:
        return runtime
    try:
        from distributed import get_worker

        name = get_worker().name
    except (ImportError, ValueError):
        return runtime
    return dataclasses.replace(runtime, device=f"cuda:{name % n}") if isinstance(name, int) else runtime


def _undo_dask_malloc_trim() -> None:
    """Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also freezes glibc's mmap threshold
    at 128 KiB: every tensor above it is then mmap'ed and unmapped afresh, and a CPU training step of the mini
    model took 3.7x as long in a Dask worker as in a plain process (0.68 s vs 0.18 s, benchmarks/dask_worker.py).
    Raising both thresholds at run time (mallopt) restores the plain-process speed on any Dask cluster."""
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to undo
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    libc.mallopt(m_mmap_threshold, 64 << 20)
    libc.mallopt(m_trim_threshold, 128 << 20)


def execute(cfg_dict: dict[str, Any], runtime: Runtime, via_notebook: bool = False,
            on_checkpoint: Callable[[int], None] | None = None, *needs: dict[str, Any]) -> dict[str, Any]:
    """Execute one run and return its outcome; never raises for a failing run (it is recorded in its folder).

    ``needs`` are the outcomes of the runs it depends on: if one of them did not finish, this run is skipped.
    """
    cfg = RunConfig.from_dict(cfg_dict)
    outcome: dict[str, Any] = {"run_id": cfg.run_id, "method": cfg.method, "setting": cfg.setting}
    for dep in needs:  # a dense run that another sweep is running ("busy") is waited for inside runner.run
        if dep["status"] in ("failed", "skipped", "diverged"):
            return {**outcome, "status": "skipped", "error": f"its dense run {dep['run_id']} did not finish"}
    runtime = _worker_runtime(runtime)
    _undo_dask_malloc_trim()
    start = time.time()
    try:
        if via_notebook:
            metrics, trained = _run_notebook(cfg, runtime)
        else:
            metrics, trained = run_or_skip(cfg, runtime, log=_quiet, wait=False, on_checkpoint=on_checkpoint)
    except RunBusy as e:
        return {**outcome, "status": "busy", "error": str(e)}
    except TrainingDiverged as e:  # an outcome of the configuration, recorded by the runner (diverged.json)
        return {**outcome, "status": "diverged", "error": str(e), "seconds": time.time() - start}
    except Exception as e:  # noqa: BLE001 - a failing run is recorded and reported, the sweep goes on
        tb = traceback.format_exc()
        folder = run_folder(cfg, runtime)
        if folder.path.is_dir():
            folder.record_failure(e, tb)
        return {**outcome, "status": "failed", "error": f"{type(e).__name__}: {e}", "traceback": tb,
                "seconds": time.time() - start}
    # "finished": another sweep finished it after this one planned it (nothing was trained here)
    return {**outcome, "status": "done" if trained else "finished", "seconds": time.time() - start,
            "top1": metrics["top1"], "sparsity": metrics["sparsity_prunable"]}


def _run_notebook(cfg: RunConfig, runtime: Runtime) -> tuple[dict[str, Any], bool]:
    """Execute the run through ``notebooks/train.ipynb`` with papermill; the executed notebook is kept as the run's
    human-readable record (``run.ipynb`` in its folder, also when the run fails)."""
    import papermill as pm

    folder = run_folder(cfg, runtime)
    if folder.finished:
        return folder.read_metrics(), False
    check_writable(folder.path)
    partial = folder.path / f".run-{os.getpid()}.partial.ipynb"
    params = {"config": cfg.to_dict(), "results": str(Path(runtime.results).resolve()), "device": runtime.device,
              "data_root": runtime.data_root, "download": runtime.download, "num_threads": runtime.num_threads,
              "progress": runtime.progress, "compile": runtime.compile}
    try:
        pm.execute_notebook(str(NOTEBOOK), str(partial), parameters=params, kernel_name="python3",
                            progress_bar=False, log_output=False, cwd=str(NOTEBOOK.parent))
    except pm.PapermillExecutionError as e:
        if e.ename == "RunBusy":
            raise RunBusy(e.evalue) from None
        raise RuntimeError(f"the notebook failed: {e.ename}: {e.evalue} (see {folder.notebook})") from None
    finally:
        if partial.exists():
            os.replace(partial, folder.notebook)
    return folder.read_metrics(), True


# ------------------------------------------------------------------------------------------------------------------
# The sweep
# ------------------------------------------------------------------------------------------------------------------

@dataclass
class SweepReport:
    plan: Plan
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def with_status(self, status: str) -> list[dict[str, Any]]:
        return [o for o in self.outcomes if o["status"] == status]

    @property
    def ok(self) -> bool:
        return not self.with_status("failed") and not self.with_status("skipped")

    def summary(self) -> str:
        n = {s: len(self.with_status(s)) for s in ("done", "finished", "diverged", "failed", "skipped", "busy")}
        lines = [f"sweep finished in {format_seconds(self.seconds)}: {n['done']} runs done, {n['diverged']} diverged, "
                 f"{n['failed']} failed, {n['skipped']} skipped (their dense run failed or diverged), {n['busy']} left to another sweep that is "
                 f"running them, {n['finished']} finished by another sweep meanwhile; "
                 f"{self.plan.count('finished')} were already finished"]
        for o in self.with_status("diverged"):
            lines.append(f"  DIVERGED {o['setting']}/{o['run_id']} ({o['method']}): {o['error']}")
        for o in self.with_status("failed"):
            lines.append(f"  FAILED  {o['setting']}/{o['run_id']} ({o['method']}): {o['error']}")
        for o in self.with_status("skipped"):
            lines.append(f"  SKIPPED {o['setting']}/{o['run_id']} ({o['method']}): {o['error']}")
        if n["failed"] or n["skipped"]:
            lines.append("  each failed run has failed.json (error and traceback) in its folder; "
                         "sweep again to retry failed and missing runs only")
        return "\n".join(lines)


def default_workers() -> int:
    """One worker per GPU; on a CPU-only machine, its cores divided by :data:`CPU_CORES_PER_RUN`."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.device_count()
    return max(1, (os.cpu_count() or 1) // CPU_CORES_PER_RUN)


#: CPU cores given to each run of a local CPU sweep (its torch threads); the default number of workers is the
#: machine's cores divided by this.  Measured in benchmarks/sweep_scaling.py.
CPU_CORES_PER_RUN = 1


def check_can_start(configs: list[RunConfig], runtime: Runtime) -> None:
    """Everything a sweep can check before it starts a run: writable results folders and available data."""
    from .data import check_available

    for setting in sorted({c.setting for c in configs}):
        try:
            check_writable(Path(runtime.results) / setting)
        except Exception as e:  # noqa: BLE001
            raise SweepError(str(e)) from None
    for dataset in sorted({c.dataset for c in configs}):
        try:
            check_available(dataset, runtime.data_root, runtime.download)
        except FileNotFoundError as e:
            raise SweepError(str(e)) from None


def sweep(configs: Iterable[RunConfig], runtime: Runtime, *, workers: int | None = None, scheduler: str | None = None,
          via_notebook: bool = False, resources: dict[str, float] | None = None, progress: bool = True,
          log: Callable[[str], None] = print, on_checkpoint: Callable[[int], None] | None = None,
          connect_timeout: float = 10.0, name: str = "sweep") -> SweepReport:
    """Execute every unfinished run of ``configs``; see the module's docstring.

    ``workers``: size of the local Dask cluster (default :func:`default_workers`), or 0 to run in this process
    one after another; ignored with ``scheduler``.  ``resources``: Dask worker resources each run needs, e.g.
    ``{"GPU": 1}`` on a cluster whose workers were started with ``--resources GPU=1`` (a local GPU cluster sets
    this itself).  ``on_checkpoint`` is handed to every run (see :func:`sparselib.runner.run`).
    """
    configs = list(configs)
    start = time.time()
    p = plan(configs, runtime)
    report = SweepReport(p)
    todo = p.todo
    if not todo:  # nothing to run: no data, no cluster needed (e.g. `make book` on committed results)
        return report
    check_can_start([r.cfg for r in todo], runtime)
    try:
        if workers == 0 and scheduler is None:
            _sweep_here(todo, runtime, via_notebook, on_checkpoint, report, progress, name)
        else:
            _sweep_dask(todo, runtime, workers, scheduler, via_notebook, resources, on_checkpoint, connect_timeout,
                        report, progress, log, name)
    except KeyboardInterrupt:
        report.seconds = time.time() - start
        log(report.summary() + "\ninterrupted: unfinished runs resume from their last epoch when you sweep again")
        raise
    report.seconds = time.time() - start
    return report


class _Bar:
    """The sweep's progress bar: runs done / failed / left, and tqdm's estimate of the time left."""

    def __init__(self, total: int, enabled: bool, name: str):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, disable=not enabled, desc=name, unit="run", dynamic_ncols=True)
        self.counts = {"done": 0, "finished": 0, "diverged": 0, "failed": 0, "skipped": 0, "busy": 0}
        self.total = total

    def update(self, outcome: dict[str, Any]) -> None:
        self.counts[outcome["status"]] += 1
        left = self.total - sum(self.counts.values())
        self.bar.set_postfix_str(f"done {self.counts['done'] + self.counts['finished']}, diverged {self.counts['diverged']}, failed {self.counts['failed'] + self.counts['skipped']}"
                                 f", elsewhere {self.counts['busy']}, left {left}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def _sweep_here(todo, runtime, via_notebook, on_checkpoint, report, progress, name) -> None:
    dispatch = Dispatch(todo, slots=1)
    bar = _Bar(len(todo), progress, name)
    try:
        while batch := dispatch.take():
            for r, needs, _ in batch:
                out = execute(r.cfg.to_dict(), runtime, via_notebook, on_checkpoint, *needs)
                report.outcomes.append(out)
                bar.update(out)
                dispatch.ended(r.cfg.run_id, out)
    finally:
        bar.close()


def _client(scheduler, workers, resources, connect_timeout):
    """A Dask client on ``scheduler`` or on a new ``LocalCluster``; returns (client, cluster or None, resources)."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            return Client(scheduler, timeout=connect_timeout), None, resources
        except (OSError, TimeoutError, ValueError) as e:
            raise SweepError(f"cannot reach the Dask scheduler at {scheduler!r} ({type(e).__name__}: {e}). Check "
                             f"the address (tcp://HOST:8786) and that the scheduler is running, or leave "
                             f"--scheduler out to use a local cluster.") from None
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    n = workers if workers is not None else default_workers()
    worker_resources = {"GPU": 1} if gpus else None
    if gpus and n > gpus:
        raise SweepError(f"--workers {n} but this machine has {gpus} GPU(s): one run per GPU")
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR, resources=worker_resources)
    return Client(cluster), cluster, resources if resources is not None else worker_resources


class Dispatch:
    """Which runs of a sweep start next, and with which dense outcome: a run that starts from a dense run of the
    sweep becomes ready when that run has ended (``ended``) and gets its outcome; ready runs start in the order
    dense runs that others start from, then runs whose dense run has ended, then the rest (each group in plan
    order); at most ``slots`` runs are out at once (``take`` hands out runs, ``ended`` takes one back)."""

    def __init__(self, todo: list[PlannedRun], slots: float = math.inf):
        self.slots, self.out = slots, 0
        in_sweep = {r.cfg.run_id for r in todo}
        self.order = {r.cfg.run_id: i for i, r in enumerate(todo)}
        self.waiting: dict[str, list[PlannedRun]] = {}  # dense run id -> the runs of this sweep that start from it
        for r in todo:
            if r.needs in in_sweep:
                self.waiting.setdefault(r.needs, []).append(r)
        # a heap of (-priority, plan order, run, the outcomes it needs)
        self.ready = [(-2 if r.cfg.run_id in self.waiting else 0, i, r, ())
                      for i, r in enumerate(todo) if r.needs not in in_sweep]
        heapq.heapify(self.ready)

    def take(self) -> list[tuple[PlannedRun, tuple[dict[str, Any], ...], int]]:
        """The runs to start now, each with the outcomes of the runs it needs and its priority for a scheduler that
        queues (higher first: 2 a dense run others start from, 1 a run whose dense run has ended, 0 the rest)."""
        runs = []
        while self.ready and self.out < self.slots:
            key, _, r, needs = heapq.heappop(self.ready)
            runs.append((r, needs, -key))
            self.out += 1
        return runs

    def ended(self, run_id: str, outcome: dict[str, Any]) -> None:
        """A run handed out by ``take`` has ended with ``outcome``: the runs that start from it become ready."""
        self.out -= 1
        for r in self.waiting.pop(run_id, []):
            heapq.heappush(self.ready, (-1, self.order[r.cfg.run_id], r, (outcome,)))


def _sweep_dask(todo, runtime, workers, scheduler, via_notebook, resources, on_checkpoint, connect_timeout, report,
                progress, log, name) -> None:
    """Runs go to the cluster as :class:`Dispatch` makes them ready.  On a local cluster no more runs are out than
    it has worker threads, so each one goes to a free worker: given every run at once, Dask assigns runs to workers
    by duration estimates it does not have (half a second until one of a kind has ended), and runs queued behind a
    running one while another worker sat idle (benchmarks/study_throughput.py).  On a cluster given by
    ``scheduler`` every ready run is submitted at once, so that an adaptive cluster sees them all and scales; the
    priorities keep Dask's queue in :class:`Dispatch`'s order there (a run submitted later would otherwise queue
    behind every run submitted before it)."""
    from distributed import as_completed

    client, cluster, resources = _client(scheduler, workers, resources, connect_timeout)
    slots = math.inf
    if cluster is not None:  # a local cluster: one run per worker thread at a time, each with its share of the cores
        local = client.scheduler_info(n_workers=-1)["workers"].values()
        slots = max(1, sum(w.get("nthreads", 1) for w in local))
        if runtime.num_threads is None and runtime.resolved_device().type == "cpu":
            runtime = dataclasses.replace(runtime, num_threads=max(1, (os.cpu_count() or 1) // max(1, len(local))))
    runtime = dataclasses.replace(runtime, progress=False)
    dispatch = Dispatch(todo, slots)
    futures: dict[str, tuple[Any, PlannedRun]] = {}  # future key -> (future, its run), until it ends
    running = as_completed()

    def submit_ready() -> None:
        for r, needs, priority in dispatch.take():
            fut = client.submit(execute, r.cfg.to_dict(), runtime, via_notebook, on_checkpoint, *needs, pure=False,
                                key=f"{r.cfg.method}-{r.cfg.run_id}-{os.urandom(4).hex()}", resources=resources,
                                priority=priority)
            futures[fut.key] = (fut, r)
            running.add(fut)

    bar = _Bar(len(todo), progress, name)
    try:
        submit_ready()
        for fut in running:
            _, r = futures.pop(fut.key)
            try:
                out = fut.result()
            except Exception as e:  # noqa: BLE001 - e.g. KilledWorker: the run's worker died too often
                folder = run_folder(r.cfg, runtime)
                folder.path.mkdir(parents=True, exist_ok=True)
                folder.record_failure(e)
                out = {"run_id": r.cfg.run_id, "method": r.cfg.method, "setting": r.cfg.setting, "status": "failed",
                       "error": f"{type(e).__name__}: {e}"}
            report.outcomes.append(out)
            bar.update(out)
            if out["status"] in ("failed", "diverged") and not progress:
                log(f"run {out['setting']}/{out['run_id']} ({out['method']}) {out['status']}: {out['error']}")
            dispatch.ended(r.cfg.run_id, out)
            submit_ready()
    finally:
        bar.close()
        for f, _ in futures.values():
            f.cancel()
        client.close()
        if cluster is not None:
            cluster.close()

