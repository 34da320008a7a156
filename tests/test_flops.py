"""Tests for sparselib.flops: MACs equal SPEC §2's hand counts, per-layer counts equal an independent hook-based
count and PyTorch's FlopCounterMode, theoretical speedup by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from sparselib.flops import (
    count_parameters,
    count_prunable,
    layer_macs,
    model_info,
    prunable_names,
    theoretical_speedup,
    total_macs,
)
from sparselib.models import build_model


def _hook_macs(model: nn.Module, input_shape: tuple[int, int, int]) -> dict[str, int]:
    """Independent count: a conv costs (output elements) x (in/groups x kh x kw), a Linear in x out per row."""
    counts: dict[str, int] = {}
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            hook = lambda m, i, o, n=name, k=per_output: counts.__setitem__(f"{n}.weight", o[0].numel() * k)  # noqa
            handles.append(module.register_forward_hook(hook))
        elif isinstance(module, nn.Linear):
            hook = lambda m, i, o, n=name: counts.__setitem__(f"{n}.weight", m.in_features * m.out_features)  # noqa
            handles.append(module.register_forward_hook(hook))
    with torch.no_grad():
        model.eval()(torch.zeros(1, *input_shape))
    for handle in handles:
        handle.remove()
    return counts


# ---------------------------------------------------------------- SPEC §2 numbers


def test_resnet56_macs_match_spec() -> None:
    model = build_model("resnet56")
    # Hand count: each conv's weight count x output pixels (32x32 in stage 1 and stem, 16x16, 8x8); fc 64*10.
    stem = 3 * 16 * 9 * 32 * 32
    stage1 = 18 * 16 * 16 * 9 * 32 * 32
    stage2 = (16 * 32 * 9 + 17 * 32 * 32 * 9) * 16 * 16
    stage3 = (32 * 64 * 9 + 17 * 64 * 64 * 9) * 8 * 8
    hand = stem + stage1 + stage2 + stage3 + 64 * 10
    assert hand == 125_485_696
    assert total_macs(model, (3, 32, 32)) == 125_485_696


def test_wrn28_10_macs_match_spec() -> None:
    with torch.device("meta"):
        model = build_model("wrn28_10", num_classes=100)

    # Per stage: first 3x3 conv in->out, 1x1 shortcut in->out, 7 more 3x3 out->out convs, all at the stage's
    # output resolution (stride 2 sits in the first conv and in the shortcut).
    def stage(c_in: int, c_out: int, pixels: int) -> int:
        return (c_in * c_out * 9 + c_in * c_out + 7 * c_out * c_out * 9) * pixels

    hand = 3 * 16 * 9 * 1024 + stage(16, 160, 1024) + stage(160, 320, 256) + stage(320, 640, 64) + 640 * 100
    macs = total_macs(model, (3, 32, 32))
    assert macs == hand == 5_243_386_368
    assert round(macs / 1e5) / 10 == 5243.4


# ---------------------------------------------------------------- per-layer counts


@pytest.mark.parametrize(
    ("name", "kwargs", "shape"),
    [
        ("resnet8", {"width": 4}, (1, 28, 28)),
        ("resnet14", {}, (3, 32, 32)),
        ("wrn10_2", {"num_classes": 7}, (3, 17, 17)),
    ],
)
def test_layer_macs_equal_hook_count_and_flop_counter(name: str, kwargs: dict, shape: tuple[int, int, int]) -> None:
    model = build_model(name, in_channels=shape[0], **kwargs)
    macs = layer_macs(model, shape)
    assert list(macs) == prunable_names(model)
    assert macs == _hook_macs(model, shape)
    # BN, ReLU and pooling are not counted by FlopCounterMode, so its whole-model total is the conv+linear total.
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, *shape))
    assert 2 * sum(macs.values()) == counter.get_total_flops()


def test_layer_macs_handpicked_small_model() -> None:
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding=1, bias=True),  # 5x5 -> 3x3: 9 pixels x 4 out x 2*9
        nn.Conv2d(4, 4, 1, groups=2, bias=False),  # 9 pixels x 4 out x 2
        nn.Flatten(),
        nn.Linear(36, 3),  # 108
    )
    macs = layer_macs(model, (2, 5, 5))
    assert macs == {"0.weight": 9 * 4 * 18, "1.weight": 9 * 4 * 2, "3.weight": 108}


def test_layer_macs_root_module_and_unused_layer() -> None:
    assert layer_macs(nn.Conv2d(3, 5, 3, bias=False), (3, 6, 6)) == {"weight": 16 * 5 * 27}

    class WithSpare(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used = nn.Linear(4, 2)
            self.spare = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.used(x.flatten(1))

    assert layer_macs(WithSpare(), (1, 2, 2)) == {"used.weight": 8, "spare.weight": 0}


def test_layer_macs_restores_modes_and_keeps_state() -> None:
    torch.manual_seed(0)
    model = build_model("wrn10_1")
    model.train()
    model.layer2.eval()
    before = {name: t.clone() for name, t in model.state_dict().items()}
    layer_macs(model, (3, 16, 16))
    assert model.training and model.layer1.training and model.layer3[0].dropout.training
    assert not model.layer2.training and not model.layer2[0].bn1.training
    # Eval mode means BatchNorm running statistics (and its batch counter) are untouched.
    after = model.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)
    assert all(p.grad is None for p in model.parameters())


def test_layer_macs_on_meta_device() -> None:
    with torch.device("meta"):
        model = build_model("resnet20")
    assert total_macs(model, (3, 32, 32)) == total_macs(build_model("resnet20"), (3, 32, 32))


# ---------------------------------------------------------------- counts and names


def test_counts_and_prunable_names_small_model() -> None:
    model = nn.Sequential(nn.Conv2d(2, 3, 3, bias=True), nn.BatchNorm2d(3), nn.Flatten(), nn.Linear(3, 4))
    # conv 54 + 3, BN 3 + 3, linear 12 + 4.
    assert count_parameters(model) == 79
    assert count_prunable(model) == 66
    assert prunable_names(model) == ["0.weight", "3.weight"]


def test_resnet56_prunable_names() -> None:
    model = build_model("resnet56")
    names = prunable_names(model)
    assert len(names) == 56
    assert names[:3] == ["conv1.weight", "layer1.0.conv1.weight", "layer1.0.conv2.weight"]
    assert names[-1] == "fc.weight"
    assert count_prunable(model) == 848_944
    assert count_parameters(model) == 853_018


# ---------------------------------------------------------------- theoretical speedup


def test_theoretical_speedup_by_hand() -> None:
    macs = {"a": 100, "b": 300}
    assert theoretical_speedup(macs, {"a": 1.0, "b": 0.1}) == 400 / 130
    assert theoretical_speedup(macs, {"b": 0.1}) == 400 / 130  # missing layers are dense
    assert theoretical_speedup(macs, {}) == 1.0
    assert theoretical_speedup(macs, {"a": 0.5, "b": 0.5}) == 2.0
    assert theoretical_speedup(macs, {"a": 0.0, "b": 0.0}) == math.inf


def test_theoretical_speedup_rejects_unknown_layer() -> None:
    with pytest.raises(ValueError, match="'c'"):
        theoretical_speedup({"a": 1}, {"a": 0.5, "c": 0.5})


# ---------------------------------------------------------------- model_info


def test_model_info_resnet56_cifar10() -> None:
    info = model_info("resnet56", in_channels=3, num_classes=10, image_size=32)
    assert set(info) == {"model", "parameters", "prunable", "macs_per_image", "layers"}
    assert info["model"] == "resnet56"
    assert info["parameters"] == 853_018
    assert info["prunable"] == 848_944
    assert info["macs_per_image"] == 125_485_696
    assert len(info["layers"]) == 56
    assert info["layers"][0] == {"name": "conv1.weight", "shape": (16, 3, 3, 3), "numel": 432, "macs": 442_368}
    assert info["layers"][-1] == {"name": "fc.weight", "shape": (10, 64), "numel": 640, "macs": 640}
    assert sum(layer["macs"] for layer in info["layers"]) == info["macs_per_image"]


def test_model_info_fashion_mnist_and_options() -> None:
    info = model_info("resnet20", in_channels=1, num_classes=10, image_size=28, width=8)
    model = build_model("resnet20", in_channels=1, width=8)
    assert info["parameters"] == count_parameters(model)
    assert info["macs_per_image"] == total_macs(model, (1, 28, 28))
    with pytest.raises(ValueError, match="unknown model 'resnet21'"):
        model_info("resnet21", 3, 10, 32)


def test_theoretical_speedup_partial_densities_by_hand():  # (it shared the name of the test above, which it hid)

    macs = {"a": 100, "b": 300}
    assert theoretical_speedup(macs, {"a": 0.5, "b": 0.1}) == pytest.approx(400 / (50 + 30))
    assert theoretical_speedup(macs, {"a": 0.5}) == pytest.approx(400 / (50 + 300))  # a missing layer is dense
    assert theoretical_speedup(macs, {"a": 0.0, "b": 0.0}) == float("inf")
    with pytest.raises(ValueError, match=r"density given for layers without a MAC count: \['c'\]"):
        theoretical_speedup(macs, {"c": 0.5})


def test_layer_macs_of_a_model_without_parameters_is_empty_and_runs_on_the_cpu() -> None:
    # no parameter to take the device and dtype from: a CPU tensor of the default dtype goes through
    assert layer_macs(nn.Sequential(nn.ReLU(), nn.Flatten()), (1, 2, 2)) == {}


def test_layer_macs_feeds_the_models_own_dtype_and_prints_nothing(capsys) -> None:
    # a float64 model would reject a float32 input: the dummy image takes the parameters' dtype
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 2 * 2, 3)).double()
    macs = layer_macs(model, (1, 4, 4))
    # conv: 2 x 2 x 2 outputs x (1 x 3 x 3) each = 72; linear: 8 x 3 = 24
    assert macs == {"0.weight": 72, "2.weight": 24}
    assert all(type(v) is int for v in macs.values())  # whole multiply-adds, not FLOPs / 2 as a float
    assert capsys.readouterr().out == ""  # FlopCounterMode's table is not printed


def test_model_info_passes_num_classes_and_dropout_through() -> None:
    info = model_info("resnet20", in_channels=3, num_classes=100, image_size=32)
    assert info["layers"][-1] == {"name": "fc.weight", "shape": (100, 64), "numel": 6400, "macs": 6400}
    with pytest.raises(ValueError, match=r"^model 'resnet20' has no dropout; pass dropout=None \(got 0.1\)$"):
        model_info("resnet20", 3, 10, 32, dropout=0.1)
