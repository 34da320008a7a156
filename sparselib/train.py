"""The one training loop.  Methods change its behaviour only through the hooks of :class:`~sparselib.methods.Method`.

Per epoch: ``on_epoch_start`` (pruning happens here) → the method's learning rates for the epoch's iterations →
for every batch: forward, loss (+ ``extra_loss``), backward, ``after_backward``, optimizer step, ``after_step`` →
validation (and test where the method asks for it) → ``on_epoch_end`` → an atomic checkpoint.  After the last epoch
``on_train_end`` leaves the final hard mask, which is applied here, the same way for every method.
"""
from __future__ import annotations

import dataclasses
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .config import RunConfig
from .data import DataBundle, TensorLoader
from .data.splits import balanced_subset, mix_seed
from .masks import Masks
from .methods import Method
from .state import Reference, TrainState, dense_lrs, evaluate, relative_change
from .storage import RunFolder
from .timing import PhaseTime, Stopwatch

__all__ = ["NAN_CHECK_EVERY", "Reference", "TrainState", "Trainer", "TrainingDiverged", "dense_lrs", "evaluate",
           "progress_bar"]

NAN_CHECK_EVERY = 50  # iterations between finiteness checks of the loss (each check syncs with the device)
#: Seconds between redraws of a text progress bar written to a log rather than a terminal (papermill where
#: ipywidgets is missing, a redirected stderr): a few lines per run there, not one per step.
LOG_REDRAW_SECONDS = 30.0


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


class Trainer:
    """Trains one run.  ``precision``, ``channels_last`` and ``compile`` are speed options (see
    :class:`~sparselib.config.Runtime`): bf16 autocast of the forward passes, NHWC memory layout of the model and its
    inputs, and ``torch.compile`` of the training forward pass with the given backend ("inductor" is torch's default).
    """

    def __init__(self, cfg: RunConfig, method: Method, model: nn.Module, data: DataBundle,
                 folder: RunFolder | Path | str, device: torch.device, *, reference: Reference | None = None,
                 progress: bool = True, on_epoch: Callable[[int, list[dict[str, Any]]], None] | None = None,
                 compile: str | None = None):
        """``folder``: the run folder whose checkpoints this trainer writes and resumes from.  ``on_epoch(epoch,
        history)`` is called after each epoch's checkpoint with the history so far (the trainer writes no other
        file; the runner records the history).  Precision and memory layout are the config's
        (``cfg.precision``, ``cfg.channels_last``)."""
        if cfg.precision == "bf16" and device.type == "cpu":
            warn_if_bf16_is_emulated()
        self.cfg, self.method, self.progress = cfg, method, progress
        self.folder = folder if isinstance(folder, RunFolder) else RunFolder(folder)
        self.on_epoch = on_epoch
        self.compile = compile
        self.ckpt = self.folder.checkpoints
        model = model.to(device)
        if cfg.channels_last:
            model = model.to(memory_format=torch.channels_last)
        if reference is not None:
            model.load_state_dict(reference.state_dict)
        train_info = data.info if cfg.augment else dataclasses.replace(data.info, crop_padding=0, hflip=False,
                                                                        rotation=0.0)
        loaders = {
            "train": TensorLoader(data.train, train_info, cfg.batch_size, train=True, device=device, seed=cfg.seed),
            "val": TensorLoader(data.val, data.info, 1024, train=False, device=device),
            "test": TensorLoader(data.test, data.info, 1024, train=False, device=device),
        }
        if cfg.bn_recalibration:  # BatchNorm's calibration images: a fixed sample of the training set, not augmented
            calibration = balanced_subset(data.train, cfg.bn_recalibration, mix_seed(cfg.seed, 7))
            loaders["calibration"] = TensorLoader(calibration, data.info, cfg.batch_size, train=False, device=device)
        ipe = len(loaders["train"])
        if ipe == 0:
            raise ValueError(f"batch_size={cfg.batch_size} exceeds the {len(data.train.y)} training images")
        optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                                    weight_decay=cfg.weight_decay)
        self.state = TrainState(cfg, model, optimizer, Masks(model), device, ipe, dense_lrs(cfg, ipe), loaders,
                                reference)
        self.history: list[dict[str, Any]] = []
        self.epoch_watch = Stopwatch(device)  # whole epochs: training steps, pruning steps, evaluations in hooks
        self.train_time = PhaseTime(device=0.0 if device.type == "cuda" else None)
        self.end_prune: dict[str, Any] = {}
        self.forward: Callable[[torch.Tensor], torch.Tensor] = model

    # ------------------------------------------------------------------------------------------------------
    def _checkpoint(self) -> None:
        s = self.state
        rng = {"cpu": torch.get_rng_state()}
        if s.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(s.device)
        self.ckpt.save({
            "epoch": s.epoch, "step": s.step, "model": s.model.state_dict(), "optimizer": s.optimizer.state_dict(),
            "masks": s.masks.state_dict(), "method": self.method.state_dict(), "rng": rng,
            "lr_log": torch.tensor(s.lr_log, dtype=torch.float64), "history": self.history,
            "train_time": vars(self.train_time), "eval_time": vars(s.eval_time),
            "last_val": s.last_val, "prune_events": s.prune_events,
        })
        if self.on_epoch is not None:  # the history, handed back with every checkpoint
            self.on_epoch(s.epoch, self.history)

    def _resume(self) -> None:
        ck = self.ckpt.load()
        if ck is None:
            return
        s = self.state
        s.model.load_state_dict(ck["model"])
        s.optimizer.load_state_dict(ck["optimizer"])
        s.masks.load_state_dict(ck["masks"])
        self.method.load_state_dict(ck["method"])
        torch.set_rng_state(ck["rng"]["cpu"])
        if "cuda" in ck["rng"] and s.device.type == "cuda":
            torch.cuda.set_rng_state(ck["rng"]["cuda"], s.device)
        s.epoch, s.step = ck["epoch"], ck["step"]
        s.lr_log = ck["lr_log"].tolist()
        self.history = list(ck["history"])
        self.train_time = PhaseTime(**ck["train_time"])
        s.eval_watch.total = PhaseTime(**ck["eval_time"])
        s.last_val, s.prune_events = ck["last_val"], list(ck["prune_events"])

    # ------------------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Set up before the first epoch: the method's ``on_train_start``, the last checkpoint if there is one, and
        the (compiled) forward pass."""
        s = self.state
        self.method.on_train_start(s)  # first: reparametrizations and extra parameters must exist before state loads
        self._resume()
        # compiled after the method's reparametrizations exist; checkpoints keep using the module itself
        self.forward = torch.compile(s.model, backend=self.compile) if self.compile else s.model

    def fit(self) -> dict[str, Any]:
        """Train to the end (resuming from the last checkpoint) and return the final measurements."""
        s, method = self.state, self.method
        total = method.total_epochs()
        self.start()
        bar = progress_bar(total * s.iters_per_epoch, s.epoch * s.iters_per_epoch,
                           f"{self.cfg.method} {self.folder.run_id}", self.progress)
        try:
            while s.epoch < total:
                self._train_epoch(bar)
                s.epoch += 1
                self._checkpoint()
        finally:
            bar.close()
        before = self._effective_parameters()
        method.on_train_end(s)
        s.masks.apply()
        after = dict(s.model.named_parameters())
        self.end_prune = {"val_before": s.last_val,
                          "removed_norm": relative_change(list(before.values()), [after[n] for n in before])}
        if self.cfg.bn_recalibration and self.end_prune["removed_norm"] > 0:  # after a final hard prune
            self.end_prune["val_after_raw"] = s.evaluate("val")
            s.recalibrate_bn()
        return self._final()

    @torch.no_grad()
    def _effective_parameters(self) -> dict[str, torch.Tensor]:
        """Copies of the parameters the forward pass uses right now, by their plain names (a parametrized weight as
        its effective value; the parametrizations' own tensors, e.g. CS's mask logits, left out): what the final
        hard prune is measured against."""
        out = {}
        for name, _ in self.state.model.named_parameters():
            if ".parametrizations." in name:
                if not name.endswith(".original"):
                    continue
                name = name.replace(".parametrizations.", ".").rsplit(".original", 1)[0]
            module_name, _, attr = name.rpartition(".")
            out[name] = getattr(self.state.model.get_submodule(module_name), attr).detach().clone()
        return out

    def _train_epoch(self, bar) -> None:
        s, method = self.state, self.method
        eval0, total0 = s.eval_time.copy(), self.epoch_watch.total.copy()
        with self.epoch_watch():
            loss_sum, correct, seen, lrs = self._epoch_steps(bar)
        # measurements a method takes inside its hooks (e.g. IMP's accuracy right after pruning) are not training
        self.train_time += (self.epoch_watch.total - total0) - (s.eval_time - eval0)
        s.last_val = s.evaluate("val")
        row: dict[str, Any] = {"epoch": s.epoch + 1, "lr": lrs[-1], "train_loss": loss_sum.item() / len(lrs),
                               "train_acc": correct.item() / max(seen, 1), "val_acc": s.last_val}
        row.update(method.on_epoch_end(s))
        row["sparsity"] = 1.0 - _kept_fraction(s.masks)
        row.update(self.train_time.as_dict("train"))
        self.history.append({k: v for k, v in row.items() if v is not None})
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", val=f"{row['val_acc']:.3f}")

    def _epoch_steps(self, bar):
        """The epoch's pruning step (if any) and training steps; returns the summed loss, correct predictions,
        images seen and the learning rates used."""
        s, method = self.state, self.method
        method.on_epoch_start(s)
        lrs = method.epoch_lrs(s)
        if len(lrs) != s.iters_per_epoch:
            raise RuntimeError(f"method {self.cfg.method!r} gave {len(lrs)} learning rates for an epoch of "
                               f"{s.iters_per_epoch} iterations (epoch {s.epoch})")
        loader = s.loaders["train"]
        loader.set_epoch(s.epoch)
        s.model.train()
        loss_sum = torch.zeros((), device=s.device)
        correct = torch.zeros((), device=s.device, dtype=torch.long)
        seen = 0
        for i, (x, y) in enumerate(loader):
            loss, out = self.step(x, y, lrs[i])
            loss_sum += loss
            correct += (out.argmax(1) == y).sum()
            seen += y.numel()
            if (i + 1) % NAN_CHECK_EVERY == 0:
                self._check_finite(loss_sum, i, lrs[i])
            bar.update(1)
        self._check_finite(loss_sum, s.iters_per_epoch - 1, lrs[-1])
        s.lr_log.extend(lrs)
        return loss_sum, correct, seen, lrs

    def step(self, x: torch.Tensor, y: torch.Tensor, lr: float) -> tuple[torch.Tensor, torch.Tensor]:
        """One training step at learning rate ``lr`` with the method's hooks; returns the (detached) loss and
        outputs.  Makes no host synchronisation (tests/test_speed.py)."""
        s, method = self.state, self.method
        for group in s.optimizer.param_groups:
            group["lr"] = lr
        with s.autocast():
            out = self.forward(s.inputs(x))
            loss = F.cross_entropy(out, y)
        extra = method.extra_loss(s)  # regularisers of the weights: in fp32
        if extra is not None:
            loss = loss + extra
        s.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        method.after_backward(s)
        s.optimizer.step()
        method.after_step(s)
        s.step += 1
        return loss.detach(), out.detach()

    def _check_finite(self, loss_sum: torch.Tensor, i: int, lr: float) -> None:
        if not torch.isfinite(loss_sum):
            raise TrainingDiverged(
                f"loss became {loss_sum.item()} in epoch {self.state.epoch + 1}, by iteration {i + 1} "
                f"(learning rate {lr:g}). Lower the learning rate (lr=...) or check the data.")

    def _final(self) -> dict[str, Any]:
        """The final model's accuracies (the test set is evaluated here only, once), the run's times and the final
        prune: the last pruning step that removed weights, or the final hard prune at the end of training."""
        s = self.state
        val = s.evaluate("val")
        top1 = s.evaluate("test")
        if self.history:
            self.history[-1]["test_acc"] = top1  # the final model's, after the final hard prune
        end = {"epoch": None, **self.end_prune, "val_after": val}
        removing = [e for e in s.prune_events if e["removed_norm"] > 0]
        final = removing[-1] if removing and end["removed_norm"] == 0 else end
        return {"top1": top1, "val_top1": val, "train": self.train_time, "eval": s.eval_time,
                "epochs": self.method.total_epochs(), "history": self.history, "lr_log": s.lr_log,
                "final_prune": final, "threads": torch.get_num_threads()}


def progress_bar(total: int, initial: int = 0, desc: str = "", enabled: bool = True) -> tqdm:
    """The training progress bar, ``tqdm.auto``'s: in a notebook kernel (JupyterLab) tqdm's widget bar, updated live;
    in a terminal a text bar, removed when the run ends; a text bar written anywhere else (a log) is redrawn at most
    every :data:`LOG_REDRAW_SECONDS`.  Outside a terminal the finished bar stays."""
    notebook = any(c.__module__ == "tqdm.notebook" for c in tqdm.__mro__)
    terminal = sys.stderr.isatty()
    interval = 0.1 if notebook or terminal else LOG_REDRAW_SECONDS
    return tqdm(total=total, initial=initial, desc=desc, disable=not enabled, unit="it", leave=not terminal,
                mininterval=interval, maxinterval=max(10.0, interval))


_bf16_warned = False


def cpu_has_native_bf16() -> bool | None:
    """Whether this CPU has bf16 instructions (AVX-512 BF16 or AMX), from ``/proc/cpuinfo``; None where unknown."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return None
    return any(f in flags for f in ("avx512_bf16", "amx_bf16"))


def warn_if_bf16_is_emulated() -> None:
    """Warn once per process when bf16 autocast is asked of a CPU without bf16 instructions: PyTorch then emulates
    it, typically slower than fp32 (benchmarks/cpu_speed.py measures it)."""
    global _bf16_warned
    if not _bf16_warned and cpu_has_native_bf16() is False:
        _bf16_warned = True
        warnings.warn("precision bf16 on a CPU without bf16 instructions (no avx512_bf16 or amx_bf16 in "
                      "/proc/cpuinfo): PyTorch emulates it, usually slower than fp32; benchmarks/cpu_speed.py "
                      "measures which precision and memory layout is fastest here", RuntimeWarning, stacklevel=3)


def _kept_fraction(masks: Masks) -> float:
    if not masks.active:
        return 1.0
    kept = sum(int(m.sum()) for m in masks.masks)
    return kept / sum(m.numel() for m in masks.masks)


