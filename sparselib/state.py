"""What a method's hooks see: :class:`TrainState` (model, optimizer, masks, loaders, schedule, counters) and the
:class:`Reference` a method that starts from a trained dense run gets from it.  Separate from the loop in
:mod:`sparselib.train`, so the method interface can name these types without importing the loop."""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .config import RunConfig
from .data import TensorLoader
from .masks import Masks
from .schedules import dense_schedule

AUTOCAST_DTYPES = {"bf16": torch.bfloat16}  # precision -> autocast dtype of forward and loss; weights stay fp32


@dataclass
class Reference:
    """What a method that starts from a trained dense run gets from it."""
    state_dict: dict[str, torch.Tensor]
    lrs: list[float]          # the learning rate of every iteration of the dense run, as recorded
    epochs: int
    run_id: str

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
    eval_seconds: float = 0.0   # time spent evaluating, wherever it happens; never counted as training time
    precision: str = "fp32"
    channels_last: bool = False

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
        t = time.perf_counter()
        with self.autocast():
            acc = evaluate(self.model, self.loaders[split], self.device, self.inputs)[0]  # ends with a host sync
        self.eval_seconds += time.perf_counter() - t
        return acc

    def reset_momentum(self) -> None:
        self.optimizer.state.clear()


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
