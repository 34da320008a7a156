"""Execute one run: skip it when finished, resume it when interrupted, record it when it fails.

``run(cfg)`` is the only entry point; the CLI, the notebooks and the sweeps all call it.  A method that starts from the
dense model (IMP) first makes sure the dense run of the same setting and seed is finished — running it if it is
missing, reusing it otherwise — and takes its final weights and recorded learning rates.
"""
from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any, Callable

import torch
from filelock import Timeout

from .config import RunConfig, Runtime
from .data import DataBundle, load_dataset
from .flops import layer_macs, theoretical_speedup
from .masks import sparsity_of
from .models import build_model
from .resolve import Resolved, resolve
from .storage import RunFolder, provenance
from .train import Reference, Trainer, TrainingDiverged


class RunError(RuntimeError):
    """A run cannot be executed as asked (the message says what to do)."""


class RunBusy(RunError):
    """Another process holds the run's lock: it is being executed elsewhere (another sweep, another worker)."""


def run_folder(cfg: RunConfig | Resolved, runtime: Runtime) -> RunFolder:
    """The folder of a run (``cfg`` is resolved first, so the id carries the method's current version)."""
    r = cfg if isinstance(cfg, Resolved) else resolve(cfg)
    return RunFolder.of(runtime.results, r.cfg.setting, r.run_id)


def run_dir(cfg: RunConfig | Resolved, runtime: Runtime) -> Path:
    return run_folder(cfg, runtime).path


def is_finished(cfg: RunConfig | Resolved, runtime: Runtime) -> bool:
    return run_folder(cfg, runtime).finished


@functools.lru_cache(maxsize=4)
def _dataset(name: str, root: str | None, train_subset: int | None, test_subset: int | None, val_fraction: float,
             download: bool) -> DataBundle:
    return load_dataset(name, root, train_subset=train_subset, test_subset=test_subset, val_fraction=val_fraction,
                        download=download)


def dataset_for(cfg: RunConfig, runtime: Runtime) -> DataBundle:
    return _dataset(cfg.dataset, runtime.data_root, cfg.train_subset, cfg.test_subset, cfg.val_fraction,
                    runtime.download)


def model_for(cfg: RunConfig, info) -> torch.nn.Module:
    torch.manual_seed(cfg.seed)
    return build_model(cfg.model, info.in_channels, info.num_classes, width=cfg.model_width, dropout=cfg.dropout)


def check_writable(path: Path) -> None:
    try:
        RunFolder(path).check_writable()
    except OSError as e:
        raise RunError(f"results folder {path} is not writable ({e}); pass --results DIR") from None


def run(cfg: RunConfig, runtime: Runtime = Runtime(), *, log: Callable[[str], None] = print, wait: bool = True,
        on_checkpoint: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run ``cfg`` to completion (or do nothing if it is finished) and return its final metrics.

    Only one process at a time executes a run: the run folder's lock file (``.lock``, an OS-level ``flock`` that is
    released when its holder dies) is held for the whole run.  If another process holds it, ``wait=True`` waits for
    that process and then returns its result; ``wait=False`` raises :class:`RunBusy` at once.  ``on_checkpoint`` is
    called with the epoch number after each epoch's checkpoint is written.
    """
    return run_or_skip(cfg, runtime, log=log, wait=wait, on_checkpoint=on_checkpoint)[0]


def run_or_skip(cfg: RunConfig, runtime: Runtime = Runtime(), *, log: Callable[[str], None] = print,
                wait: bool = True, on_checkpoint: Callable[[int], None] | None = None) -> tuple[dict[str, Any], bool]:
    """:func:`run`, also telling whether this call trained (False: the run was already finished)."""
    r = resolve(cfg)
    folder = run_folder(r, runtime)
    if folder.finished:
        log(f"run {r.cfg.setting}/{r.run_id} ({r.cfg.method}) is already finished: nothing to do ({folder.path})")
        return folder.read_metrics(), False
    if folder.diverged:
        raise TrainingDiverged(f"run {r.cfg.setting}/{r.run_id} ({r.cfg.method}) diverged before: "
                               f"{folder.read_divergence()['error']}; delete {folder.file(folder.DIVERGED)} to try "
                               f"again")
    check_writable(folder.path)
    lock = folder.lock()
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if not wait:
            raise RunBusy(f"run {r.cfg.setting}/{r.run_id} is being executed by another process") from None
        log(f"run {r.cfg.setting}/{r.run_id} is being executed by another process: waiting for it")
        lock.acquire()
    try:
        if folder.finished:  # finished by another process meanwhile
            return folder.read_metrics(), False
        return _run_locked(r, runtime, folder, log, on_checkpoint), True
    finally:
        lock.release()


def _run_locked(r: Resolved, runtime: Runtime, folder: RunFolder, log: Callable[[str], None],
                on_checkpoint: Callable[[int], None] | None) -> dict[str, Any]:
    cfg = r.cfg
    if folder.file(folder.CONFIG).exists():
        old = folder.read_config()
        old.pop("run_id", None)
        if RunConfig.from_dict(old) != cfg:
            raise RunError(f"{folder.file(folder.CONFIG)} holds a different configuration with the same id; move the "
                           f"folder away")

    reference = _reference(r.reference, runtime, log) if r.reference is not None else None
    device = runtime.resolved_device()
    if runtime.num_threads:
        torch.set_num_threads(runtime.num_threads)
    data = dataset_for(cfg, runtime)

    folder.write_config(cfg.to_dict(), r.run_id)
    if not folder.file(folder.PROVENANCE).exists():
        folder.write_provenance(provenance(device))
    log(f"{'resuming' if folder.checkpoints.exists() else 'starting'} run {cfg.setting}/{r.run_id} ({cfg.method}"
        f"{f', goal sparsity {cfg.goal_sparsity:g}' if cfg.goal_sparsity else ''}, seed {cfg.seed}) on {device}")

    def on_epoch(epoch: int, history: list[dict[str, Any]]) -> None:
        folder.write_history(history)
        if on_checkpoint is not None:
            on_checkpoint(epoch)

    trainer = Trainer(cfg, r.build(), model_for(cfg, data.info), data, folder, device, reference=reference,
                      progress=runtime.progress, on_epoch=on_epoch, compile=runtime.compile)
    try:
        result = trainer.fit()
    except KeyboardInterrupt:
        log(f"interrupted: run {r.run_id} resumes from its last finished epoch when started again")
        raise
    except TrainingDiverged as e:
        folder.record_divergence(e)
        raise
    except Exception as e:
        folder.record_failure(e)
        raise
    metrics = _finish(r, folder, trainer, result, data, reference)
    log(f"finished run {r.run_id}: top-1 {metrics['top1']:.4f}, sparsity {metrics['sparsity_prunable']:.4f}, "
        f"speedup {metrics['theoretical_speedup']:.2f}x, {metrics['wall_time_s']:.1f}s")
    return metrics


def record_failure(folder: Path, error: BaseException, tb: str | None = None) -> None:
    """Write ``failed.json`` into a run folder (see :meth:`RunFolder.record_failure`)."""
    RunFolder(folder).record_failure(error, tb)


def _reference(dense_cfg: RunConfig, runtime: Runtime, log) -> Reference:
    dense_metrics = run(dense_cfg, runtime, log=log)
    folder = run_folder(dense_cfg, runtime)
    if not folder.has_final():
        raise RunError(f"the dense run {folder.path} is finished but its weights ({folder.FINAL}) are missing — "
                       f"results were copied without checkpoints. Move that folder away to retrain it, or copy them "
                       f"back.")
    return Reference(state_dict=folder.load_final(), lrs=folder.read_lrs(), epochs=dense_metrics["epochs"],
                     run_id=folder.run_id, val_top1=dense_metrics.get("val_top1"))


def _finish(r: Resolved, folder: RunFolder, trainer: Trainer, result: dict[str, Any], data: DataBundle,
            reference: Reference | None) -> dict[str, Any]:
    """Measure the final model the same way for every method and write the run's files (metrics.json last)."""
    cfg = r.cfg
    s = trainer.state
    model, masks = s.model, s.masks
    info = data.info
    macs = layer_macs(model, (info.in_channels, info.image_size, info.image_size))
    density = masks.density()
    sp_prunable, sp_total = sparsity_of(model, masks.names)
    stats = masks.stats()
    for row in stats:
        row["macs"] = macs.get(row["name"], 0)
    folder.save_final({k: v.detach().cpu() for k, v in model.state_dict().items()},
                      {k: v.cpu() for k, v in masks.as_dict().items()})
    folder.write_mask_stats(stats)
    folder.write_lrs(result["lr_log"])
    folder.write_history(result["history"])
    dense_epochs = reference.epochs if reference else 0
    metrics = {
        "run_id": r.run_id,
        "top1": result["top1"],
        "val_top1": result["val_top1"],
        "sparsity_prunable": sp_prunable,
        "sparsity_total": sp_total,
        "theoretical_speedup": theoretical_speedup(macs, density),
        "macs_dense": sum(macs.values()),
        "macs_sparse": sum(macs[k] * density.get(k, 1.0) for k in macs),
        "parameters": sum(p.numel() for p in model.parameters()),
        "prunable": sum(p.numel() for p in masks.params),
        "epochs": result["epochs"],
        "epochs_total": result["epochs"] + dense_epochs,
        # training time (evaluation excluded) on three clocks: wall, this process's CPU, the GPU's (CUDA only)
        "wall_time_s": result["train"].wall, "train_cpu_s": result["train"].cpu,
        "train_device_s": result["train"].device,
        "eval_time_s": result["eval"].wall, "eval_cpu_s": result["eval"].cpu, "eval_device_s": result["eval"].device,
        "threads": result["threads"],
        "reference_run_id": reference.run_id if reference else None,  # the dense run it started from
        "dense_run_id": _baseline_id(cfg),
        "device": str(s.device),
        "precision": cfg.precision, "channels_last": cfg.channels_last, "compile": trainer.compile,
        # the final prune (the last pruning step that removed weights, else the final hard prune at the end):
        # validation accuracy right before and after it, and the relative norm of what it removed
        **{f"final_prune_{k}": v for k, v in result["final_prune"].items()},
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    folder.write_metrics(metrics)
    folder.checkpoints.clear()  # final.pt holds the last state; epoch checkpoints are only for resuming
    return metrics


def _baseline_id(cfg: RunConfig) -> str:
    from .resolve import baseline_config

    return baseline_config(cfg).run_id
