"""Parameter counts, per-layer multiply-adds and theoretical speedup (SPEC §5).

Prunable layers are Conv2d and Linear; their weights are what gets pruned and their multiply-adds are what the
theoretical speedup counts. Per-layer counts come from PyTorch's own ``FlopCounterMode`` (FLOPs = 2 x MACs).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from sparselib.models import build_model

__all__ = [
    "PRUNABLE_TYPES",
    "count_parameters",
    "count_prunable",
    "layer_macs",
    "model_info",
    "prunable_names",
    "theoretical_speedup",
    "total_macs",
]

PRUNABLE_TYPES: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear)


def _prunable_modules(model: nn.Module) -> Iterator[tuple[str, str, nn.Module]]:
    """Yield (module name, weight parameter name, module) for each Conv2d/Linear, in module order."""
    for module_name, module in model.named_modules():
        if isinstance(module, PRUNABLE_TYPES):
            weight_name = f"{module_name}.weight" if module_name else "weight"
            yield module_name, weight_name, module


def prunable_names(model: nn.Module) -> list[str]:
    """Names (as in ``model.named_parameters()``, in that order) of every Conv2d and Linear weight."""
    prunable = {id(module.weight) for _, _, module in _prunable_modules(model)}
    return [name for name, param in model.named_parameters() if id(param) in prunable]


def count_parameters(model: nn.Module) -> int:
    """Number of scalar parameters: weights, biases and BatchNorm affine parameters (buffers excluded)."""
    return sum(param.numel() for param in model.parameters())


def count_prunable(model: nn.Module) -> int:
    """Number of scalars in all Conv2d and Linear weights."""
    params = dict(model.named_parameters())
    return sum(params[name].numel() for name in prunable_names(model))


@contextlib.contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Put every submodule in eval mode, then restore each one's own train/eval flag."""
    flags = {module: module.training for module in model.modules()}
    model.eval()
    try:
        yield
    finally:
        for module, training in flags.items():
            module.training = training


def _model_device_dtype(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    for param in model.parameters():
        return param.device, param.dtype
    return torch.device("cpu"), torch.get_default_dtype()


def layer_macs(model: nn.Module, input_shape: tuple[int, int, int]) -> dict[str, int]:
    """Multiply-adds of one image of shape (C, H, W) per Conv2d/Linear, keyed by the layer's weight name.

    Runs one forward pass of a batch of one zero image on the model's device (the meta device works too), in eval
    mode and without autograd, and restores every module's train/eval flag afterwards. A layer that the forward
    pass never calls counts 0.
    """
    device, dtype = _model_device_dtype(model)
    dummy = torch.zeros((1, *input_shape), device=device, dtype=dtype)
    counter = FlopCounterMode(display=False)
    with _eval_mode(model), torch.no_grad(), counter:
        model(dummy)
    counts = counter.get_flop_counts()
    # FlopCounterMode names the root module by its class and children by their attribute path below it.
    root = type(model).__name__
    macs: dict[str, int] = {}
    for module_name, weight_name, _ in _prunable_modules(model):
        key = f"{root}.{module_name}" if module_name else root
        flops = sum(counts.get(key, {}).values())
        macs[weight_name] = flops // 2
    return macs


def total_macs(model: nn.Module, input_shape: tuple[int, int, int]) -> int:
    """Multiply-adds of one image over all Conv2d and Linear layers."""
    return sum(layer_macs(model, input_shape).values())


def theoretical_speedup(macs: Mapping[str, int], density: Mapping[str, float]) -> float:
    """Dense multiply-adds / sparse multiply-adds, a layer's sparse count being its dense count x its density.

    Layers missing from ``density`` count as dense; ``inf`` when nothing is left. Densities for layers that are
    not in ``macs`` are an error, because they mean the two dicts describe different models.
    """
    unknown = sorted(set(density) - set(macs))
    if unknown:
        raise ValueError(f"density given for layers without a MAC count: {unknown}")
    dense = sum(macs.values())
    sparse = sum(count * density.get(name, 1.0) for name, count in macs.items())
    if sparse == 0:
        return float("inf")
    return dense / sparse


def model_info(
    name: str,
    in_channels: int,
    num_classes: int,
    image_size: int,
    width: int | None = None,
    dropout: float | None = None,
) -> dict:
    """Summary of a named model for square images: parameter counts, MACs per image and a per-layer table.

    The model is built on the meta device, so even WRN-28-10 costs no memory and no initialisation time.
    ``layers`` lists, per prunable weight in parameter order, its name, shape, number of scalars and MACs.
    """
    with torch.device("meta"):
        model = build_model(name, in_channels, num_classes, width=width, dropout=dropout)
    macs = layer_macs(model, (in_channels, image_size, image_size))
    params = dict(model.named_parameters())
    layers = [
        {"name": weight, "shape": tuple(params[weight].shape), "numel": params[weight].numel(), "macs": macs[weight]}
        for weight in prunable_names(model)
    ]
    return {
        "model": name,
        "parameters": count_parameters(model),
        "prunable": count_prunable(model),
        "macs_per_image": sum(macs.values()),
        "layers": layers,
    }
