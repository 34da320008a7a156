"""CIFAR-style ResNet-(6n+2) and WideResNet-d-k, built by name (SPEC §2).

Both networks take any number of input channels and any image size large enough for two stride-2 stages
(32x32 CIFAR, 28x28 Fashion-MNIST), and end in global average pooling, so the classifier never depends on the
image size.

Initialisation: every Conv2d gets Kaiming-normal weights with ``mode="fan_out"`` and the ReLU gain; BatchNorm
weights are 1 and biases 0; the Linear classifier keeps PyTorch's default initialisation.
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "BasicBlock",
    "CifarResNet",
    "OptionAShortcut",
    "WideBlock",
    "WideResNet",
    "build_model",
    "check_model_name",
]

DEFAULT_RESNET_WIDTH = 16
DEFAULT_WRN_DROPOUT = 0.3

_RESNET_RE = re.compile(r"resnet([1-9][0-9]*)")
_WRN_RE = re.compile(r"wrn([1-9][0-9]*)_([1-9][0-9]*)")


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding 1 and no bias (a BatchNorm always follows or precedes it)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)


def _init_weights(model: nn.Module) -> None:
    """Kaiming-normal (fan_out, ReLU gain) for convolutions; BatchNorm weight 1, bias 0."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


class OptionAShortcut(nn.Module):
    """Parameter-free shortcut of He et al. (2016), option A.

    Subsamples space by taking every ``stride``-th pixel and appends zero channels up to ``out_channels``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f"option-A shortcut cannot reduce channels ({in_channels} -> {out_channels})")
        self.extra_channels = out_channels - in_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        # F.pad pads the last dimensions first: (W left, W right, H top, H bottom, C front, C back).
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))


class BasicBlock(nn.Module):
    """Post-activation residual block: conv-BN-ReLU-conv-BN, add the shortcut, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = _conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.shortcut: nn.Module = OptionAShortcut(in_channels, out_channels, stride)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for small images: stem conv, three stages of ``n`` BasicBlocks (w, 2w, 4w), pool, Linear."""

    def __init__(self, n: int, in_channels: int = 3, num_classes: int = 10, width: int = DEFAULT_RESNET_WIDTH):
        super().__init__()
        self.conv1 = _conv3x3(in_channels, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.layer1 = self._stage(width, width, n, stride=1)
        self.layer2 = self._stage(width, 2 * width, n, stride=2)
        self.layer3 = self._stage(2 * width, 4 * width, n, stride=2)
        self.fc = nn.Linear(4 * width, num_classes)
        _init_weights(self)

    @staticmethod
    def _stage(in_channels: int, out_channels: int, n: int, stride: int) -> nn.Sequential:
        blocks = [BasicBlock(in_channels, out_channels, stride)]
        blocks += [BasicBlock(out_channels, out_channels) for _ in range(n - 1)]
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.fc(out)


class WideBlock(nn.Module):
    """Pre-activation wide block: BN-ReLU-conv3x3-dropout-BN-ReLU-conv3x3 plus a shortcut.

    Where the shape changes the shortcut is a 1x1 convolution applied, as in Zagoruyko & Komodakis' code, to the
    pre-activated input relu(bn1(x)); otherwise it is the identity on x.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, dropout: float) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = _conv3x3(in_channels, out_channels, stride)
        self.dropout = nn.Dropout(dropout)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = _conv3x3(out_channels, out_channels)
        self.shortcut: nn.Conv2d | None = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = F.relu(self.bn1(x))
        out = self.dropout(self.conv1(pre))
        out = self.conv2(F.relu(self.bn2(out)))
        residual = x if self.shortcut is None else self.shortcut(pre)
        return out + residual


class WideResNet(nn.Module):
    """WRN-d-k: stem conv to 16 channels, three stages of n=(d-4)/6 wide blocks (16k, 32k, 64k), then BN-ReLU,
    global average pool and Linear."""

    def __init__(
        self,
        depth: int,
        widen_factor: int,
        in_channels: int = 3,
        num_classes: int = 10,
        dropout: float = DEFAULT_WRN_DROPOUT,
    ) -> None:
        super().__init__()
        n = (depth - 4) // 6
        widths = [16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.conv1 = _conv3x3(in_channels, 16)
        self.layer1 = self._stage(16, widths[0], n, 1, dropout)
        self.layer2 = self._stage(widths[0], widths[1], n, 2, dropout)
        self.layer3 = self._stage(widths[1], widths[2], n, 2, dropout)
        self.bn = nn.BatchNorm2d(widths[2])
        self.fc = nn.Linear(widths[2], num_classes)
        _init_weights(self)

    @staticmethod
    def _stage(in_channels: int, out_channels: int, n: int, stride: int, dropout: float) -> nn.Sequential:
        blocks = [WideBlock(in_channels, out_channels, stride, dropout)]
        blocks += [WideBlock(out_channels, out_channels, 1, dropout) for _ in range(n - 1)]
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layer3(self.layer2(self.layer1(self.conv1(x))))
        out = F.relu(self.bn(out))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.fc(out)


def _name_error(name: str, reason: str = "") -> ValueError:
    detail = f" ({reason})" if reason else ""
    return ValueError(
        f"unknown model {name!r}{detail}: use resnet<6n+2> (e.g. resnet20, resnet56) "
        f"or wrn<6n+4>_<k> (e.g. wrn28_10, wrn16_4)"
    )


def _parse_name(name: str) -> tuple[str, int, int]:
    """Return ("resnet", n, 0) or ("wrn", depth, k) for a valid name; raise ValueError otherwise."""
    if not isinstance(name, str):
        raise _name_error(str(name), "not a string")
    match = _RESNET_RE.fullmatch(name)
    if match:
        depth = int(match.group(1))
        if depth < 8 or (depth - 2) % 6:
            raise _name_error(name, "ResNet depth must be 6n+2 with n >= 1")
        return "resnet", (depth - 2) // 6, 0
    match = _WRN_RE.fullmatch(name)
    if match:
        depth, k = int(match.group(1)), int(match.group(2))
        if depth < 10 or (depth - 4) % 6:
            raise _name_error(name, "WideResNet depth must be 6n+4 with n >= 1")
        return "wrn", depth, k
    raise _name_error(name)


def check_model_name(name: str) -> None:
    """Raise ValueError naming the bad value and the allowed patterns unless ``name`` is a valid model name."""
    _parse_name(name)


def build_model(
    name: str,
    in_channels: int = 3,
    num_classes: int = 10,
    width: int | None = None,
    dropout: float | None = None,
) -> nn.Module:
    """Build ``resnet<6n+2>`` (``width`` overrides the base width 16) or ``wrn<6n+4>_<k>`` (``dropout``
    overrides 0.3). ``width`` is rejected for WideResNets and ``dropout`` for ResNets, which have neither knob."""
    kind, a, b = _parse_name(name)
    if in_channels < 1 or num_classes < 1:
        raise ValueError(f"in_channels and num_classes must be >= 1, got {in_channels} and {num_classes}")
    if kind == "resnet":
        if dropout is not None:
            raise ValueError(f"model {name!r} has no dropout; pass dropout=None (got {dropout})")
        base = DEFAULT_RESNET_WIDTH if width is None else width
        if base < 1:
            raise ValueError(f"width must be >= 1, got {width}")
        return CifarResNet(a, in_channels, num_classes, base)
    if width is not None:
        raise ValueError(f"width must be None for {name!r}: a WideResNet's width is its k (got width={width})")
    rate = DEFAULT_WRN_DROPOUT if dropout is None else dropout
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    return WideResNet(a, b, in_channels, num_classes, rate)
