"""What a method's hooks see: :class:`TrainState` (model, optimizer, masks, loaders, schedule, counters) and the
:class:`Reference` a method that starts from a trained dense run gets from it.  Separate from the loop in
:mod:`sparselib.train`, so the method interface can name these types without importing the loop."""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from .config import RunConfig
from .data import TensorLoader
from .masks import Masks
from .schedules import dense_schedule
from .timing import PhaseTime, Stopwatch

AUTOCAST_DTYPES = {"bf16": torch.bfloat16}  # precision -> autocast dtype of forward and loss; weights stay fp32


@dataclass
class Reference:
    """What a method that starts from a trained dense run gets from it."""
    state_dict: dict[str, torch.Tensor]
    lrs: list[float]          # the learning rate of every iteration of the dense run, as recorded
    epochs: int
    run_id: str
    val_top1: float | None = None  # the dense run's final validation accuracy (before a method's first prune)

    @classmethod
    def from_weights(cls, state_dict: dict[str, torch.Tensor], dense_cfg: RunConfig, iters_per_epoch: int,
                     run_id: str = "(given weights)") -> "Reference":
        """A starting point from given weights instead of a finished dense run (benchmarks, tests): its learning
        rates are ``dense_cfg``'s dense schedule, as that run would have recorded them."""
        return cls(state_dict, dense_lrs(dense_cfg, iters_per_epoch), dense_cfg.epochs, run_id)


def dense_lrs(cfg: RunConfig, iters_per_epoch: int) -> list[float]:
    """The learning rate of every iteration of ``cfg``'s dense training."""
    return dense_schedule(cfg.lr_schedule, cfg.lr, cfg.epochs, iters_per_epoch, milestones=cfg.lr_milestones,
                          gamma=cfg.lr_gamma, warmup_epochs=cfg.warmup_epochs)


@dataclass
class TrainState:
    """Everything a method's hooks may read or change."""
    cfg: RunConfig
    model: nn.Module
    optimizer: torch.optim.Optimizer
    masks: Masks
    device: torch.device
    iters_per_epoch: int
    dense_lrs: list[float]                     # the setting's dense schedule (cfg.epochs long)
    loaders: dict[str, TensorLoader]
    reference: Reference | None = None
    epoch: int = 0
    step: int = 0
    lr_log: list[float] = field(default_factory=list)
    #: time spent evaluating, wherever it happens (in hooks too); never counted as training time
    eval_watch: Stopwatch | None = None
    #: the last validation accuracy measured (at the start: the dense run's, for a method that starts from it)
    last_val: float | None = None
    #: one entry per pruning step: epoch, validation accuracy right before and right after, relative norm removed
    prune_events: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.eval_watch is None:
            self.eval_watch = Stopwatch(self.device)
        if self.last_val is None and self.reference is not None:
            self.last_val = self.reference.val_top1

    @property
    def precision(self) -> str:
        return self.cfg.precision

    @property
    def channels_last(self) -> bool:
        return self.cfg.channels_last

    @property
    def eval_time(self) -> PhaseTime:
        return self.eval_watch.total

    def autocast(self):
        """The context of every forward pass: bf16 autocast when ``precision='bf16'``, else nothing."""
        dtype = AUTOCAST_DTYPES.get(self.precision)
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    @torch.no_grad()
    def evaluate(self, split: str) -> float:
        """Top-1 accuracy (fraction) on ``split`` ('val' or 'test'); NaN for an empty split."""
        with self.eval_watch(), self.autocast():
            return evaluate(self.model, self.loaders[split], self.device, self.inputs)[0]  # ends with a host sync

    def record_prune(self, removed_norm: float, fraction: float | None = None, *, measure: bool = True
                     ) -> dict[str, Any]:
        """Call right after a pruning step (before any training on the pruned model): recalibrates BatchNorm if the
        setting asks for it, records the step — the validation accuracy right before (the last one measured) and,
        with ``measure``, right after it (and, with recalibration, also before it), and ``removed_norm`` =
        ‖θ − θ_pruned‖₂ / ‖θ‖₂ and ``fraction``, the fraction of the remaining weights it pruned (ALLR's d and p) —
        and returns the columns for this epoch's history row."""
        event: dict[str, Any] = {"epoch": self.epoch + 1, "val_before": self.last_val,
                                 "removed_norm": float(removed_norm), "fraction": fraction}
        if measure and self.cfg.bn_recalibration:
            event["val_after_raw"] = self.evaluate("val")
        self.recalibrate_bn()
        event["val_after"] = self.evaluate("val") if measure else None
        self.prune_events.append(event)
        row: dict[str, Any] = {"pre_prune_val_acc": self.last_val, "pruned_norm": float(removed_norm),
                               "pruned_fraction": fraction}
        if measure:
            row["pruned_val_acc"] = event["val_after"]
            if "val_after_raw" in event:
                row["pruned_val_acc_raw"] = event["val_after_raw"]
        return row

    @torch.no_grad()
    def recalibrate_bn(self) -> None:
        """Re-estimate every BatchNorm layer's running mean and variance on the calibration images (the setting's
        ``bn_recalibration`` training images, a fixed class-balanced sample, not augmented): statistics reset, then
        one pass in training mode with a cumulative average (``momentum=None``), no gradient step.  Only the
        BatchNorm layers are in training mode meanwhile (dropout stays off).  No-op when the setting's
        ``bn_recalibration`` is 0 or the model has no BatchNorm."""
        if not self.cfg.bn_recalibration:
            return
        bns = [m for m in self.model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if not bns:
            return
        modes = {m: m.training for m in self.model.modules()}
        momenta = [bn.momentum for bn in bns]
        self.model.eval()
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None
            bn.train()
        with self.eval_watch(), self.autocast():
            for x, _ in self.loaders["calibration"]:
                self.model(self.inputs(x))
        for bn, momentum in zip(bns, momenta):
            bn.momentum = momentum
        for m, training in modes.items():
            m.train(training)


def relative_change(before: list[torch.Tensor], after: list[torch.Tensor]) -> float:
    """‖before − after‖₂ / ‖before‖₂ over lists of tensors (0 for an all-zero ``before``)."""
    num = den = 0.0
    with torch.no_grad():
        for b, a in zip(before, after):
            b64 = b.detach().double()
            num += float((b64 - a.detach().double()).square().sum())
            den += float(b64.square().sum())
    return math.sqrt(num / den) if den > 0 else 0.0


@torch.no_grad()
def evaluate(model: nn.Module, loader: TensorLoader, device: torch.device,
             inputs: Callable[[torch.Tensor], torch.Tensor] = lambda x: x) -> tuple[float, float]:
    """(top-1 accuracy, mean cross-entropy) of ``model`` over ``loader``; one host sync at the end."""
    was_training = model.training
    model.eval()
    correct = torch.zeros((), device=device, dtype=torch.long)
    loss = torch.zeros((), device=device)
    n = 0
    for x, y in loader:
        out = model(inputs(x))
        correct += (out.argmax(1) == y).sum()
        loss += F.cross_entropy(out.float(), y, reduction="sum")
        n += y.numel()
    model.train(was_training)
    if n == 0:
        return float("nan"), float("nan")
    return correct.item() / n, loss.item() / n
