"""Execute one run: skip it when finished, resume it when interrupted, record it when it fails.

``run(cfg)`` is the only entry point; the CLI, the notebooks and the sweeps all call it.  A method that starts from the
dense model (IMP) first makes sure the dense run of the same setting and seed is finished — running it if it is
missing, reusing it otherwise — and takes its final weights and recorded learning rates.
"""
from __future__ import annotations

import functools
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import torch
from filelock import FileLock, Timeout

from .config import RunConfig, Runtime
from .data import DataBundle, load_dataset
from .flops import layer_macs, theoretical_speedup
from .masks import sparsity_of
from .methods import get_method
from .models import build_model
from .storage import load_torch, provenance, read_json, save_torch, write_json
from .train import Reference, Trainer


class RunError(RuntimeError):
    """A run cannot be executed as asked (the message says what to do)."""


class RunBusy(RunError):
    """Another process holds the run's lock: it is being executed elsewhere (another sweep, another worker)."""


def run_dir(cfg: RunConfig, runtime: Runtime) -> Path:
    return Path(runtime.results) / cfg.setting / cfg.run_id


def is_finished(cfg: RunConfig, runtime: Runtime) -> bool:
    return (run_dir(cfg, runtime) / "metrics.json").exists()


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
        path.mkdir(parents=True, exist_ok=True)
        # a probe of its own (unique name): two sweeps checking the same folder at once must not unlink each other's
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
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
    folder = run_dir(cfg, runtime)
    done = folder / "metrics.json"
    if done.exists():
        log(f"run {cfg.setting}/{cfg.run_id} ({cfg.method}) is already finished: nothing to do ({folder})")
        return read_json(done), False
    check_writable(folder)
    lock = FileLock(folder / ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if not wait:
            raise RunBusy(f"run {cfg.setting}/{cfg.run_id} is being executed by another process") from None
        log(f"run {cfg.setting}/{cfg.run_id} is being executed by another process: waiting for it")
        lock.acquire()
    try:
        if done.exists():  # finished by another process meanwhile
            return read_json(done), False
        return _run_locked(cfg, runtime, folder, log, on_checkpoint), True
    finally:
        lock.release()


def _run_locked(cfg: RunConfig, runtime: Runtime, folder: Path, log: Callable[[str], None],
                on_checkpoint: Callable[[int], None] | None) -> dict[str, Any]:
    stored = folder / "config.json"
    if stored.exists():
        old = read_json(stored)
        old.pop("run_id", None)
        if RunConfig.from_dict(old) != cfg:
            raise RunError(f"{stored} holds a different configuration with the same id; move the folder away")

    method_cls = get_method(cfg.method)
    reference_cfg = method_cls.reference_config(cfg)
    reference = _reference(reference_cfg, runtime, log) if reference_cfg is not None else None
    device = runtime.resolved_device()
    if runtime.num_threads:
        torch.set_num_threads(runtime.num_threads)
    data = dataset_for(cfg, runtime)

    write_json(stored, {**cfg.to_dict(), "run_id": cfg.run_id})
    if not (folder / "provenance.json").exists():
        write_json(folder / "provenance.json", provenance(device))
    resumed = (folder / "checkpoint.pt").exists()
    log(f"{'resuming' if resumed else 'starting'} run {cfg.setting}/{cfg.run_id} ({cfg.method}"
        f"{f', goal sparsity {cfg.goal_sparsity:g}' if cfg.goal_sparsity else ''}, seed {cfg.seed}) on {device}")
    model = model_for(cfg, data.info)
    method = method_cls(cfg, cfg.hparams())
    trainer = Trainer(cfg, method, model, data, folder, device, reference=reference, progress=runtime.progress,
                      on_checkpoint=on_checkpoint, **runtime.speed_options())
    try:
        result = trainer.fit()
    except KeyboardInterrupt:
        log(f"interrupted: run {cfg.run_id} resumes from its last finished epoch when started again")
        raise
    except Exception as e:
        record_failure(folder, e)
        raise
    metrics = _finish(cfg, folder, trainer, result, data, reference)
    log(f"finished run {cfg.run_id}: top-1 {metrics['top1']:.4f}, sparsity {metrics['sparsity_prunable']:.4f}, "
        f"speedup {metrics['theoretical_speedup']:.2f}x, {metrics['wall_time_s']:.1f}s")
    return metrics


def record_failure(folder: Path, error: BaseException, tb: str | None = None) -> None:
    """Write ``failed.json`` (error and traceback) into a run folder; a later successful run removes it."""
    write_json(folder / "failed.json", {
        "error": f"{type(error).__name__}: {error}",
        "traceback": tb if tb is not None else "".join(traceback.format_exception(error)),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


def _reference(dense_cfg: RunConfig, runtime: Runtime, log) -> Reference:
    dense_metrics = run(dense_cfg, runtime, log=log)
    folder = run_dir(dense_cfg, runtime)
    weights = folder / "final.pt"
    if not weights.exists():
        raise RunError(f"the dense run {folder} is finished but its weights (final.pt) are missing — results were "
                       f"copied without checkpoints. Move that folder away to retrain it, or copy final.pt back.")
    return Reference(state_dict=load_torch(weights), lrs=read_json(folder / "lr.json"),
                     epochs=dense_metrics["epochs"], run_id=dense_cfg.run_id)


def _finish(cfg: RunConfig, folder: Path, trainer: Trainer, result: dict[str, Any], data: DataBundle,
            reference: Reference | None) -> dict[str, Any]:
    """Measure the final model the same way for every method and write the run's files (metrics.json last)."""
    s = trainer.state
    model, masks = s.model, s.masks
    info = data.info
    shape = (info.in_channels, info.image_size, info.image_size)
    macs = layer_macs(model, shape)
    density = masks.density()
    sp_prunable, sp_total = sparsity_of(model, masks.names)
    stats = masks.stats()
    for row in stats:
        row["macs"] = macs.get(row["name"], 0)
    save_torch(folder / "final.pt", {k: v.detach().cpu() for k, v in model.state_dict().items()})
    save_torch(folder / "mask.pt", {k: v.cpu() for k, v in masks.as_dict().items()})
    write_json(folder / "mask_stats.json", stats)
    write_json(folder / "lr.json", [round(x, 10) for x in result["lr_log"]])
    dense_epochs = reference.epochs if reference else 0
    metrics = {
        "run_id": cfg.run_id,
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
        "wall_time_s": result["train_time_s"],
        "reference_run_id": reference.run_id if reference else None,  # the dense run it started from
        "eval_time_s": result["eval_time_s"],
        "dense_run_id": cfg.dense_config().run_id,
        "device": str(s.device),
        "precision": s.precision, "channels_last": s.channels_last, "compile": trainer.compile,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    (folder / "failed.json").unlink(missing_ok=True)
    write_json(folder / "metrics.json", metrics)
    trainer.ckpt.clear()  # final.pt holds the last state; epoch checkpoints are only for resuming
    return metrics
