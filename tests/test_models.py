"""Tests for sparselib.models: exact sizes (SPEC §2), block arithmetic against functional references, names."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sparselib.models import (
    BasicBlock,
    CifarResNet,
    OptionAShortcut,
    WideBlock,
    WideResNet,
    build_model,
    check_model_name,
)


def _numel(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _conv_linear_weights(model: nn.Module) -> int:
    return sum(m.weight.numel() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


@pytest.fixture(scope="module")
def wrn28_10() -> nn.Module:
    torch.manual_seed(0)
    return build_model("wrn28_10", num_classes=100)


def _randomise_bn(model: nn.Module, seed: int) -> None:
    """Give every BatchNorm non-trivial affine parameters and running statistics."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(c, generator=gen))
                m.running_mean.copy_(torch.randn(c, generator=gen))
                m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)


def _bn(x: torch.Tensor, bn: nn.BatchNorm2d) -> torch.Tensor:
    return F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)


# ---------------------------------------------------------------- exact sizes


def test_resnet56_parameter_counts_match_spec() -> None:
    model = build_model("resnet56")
    # Hand count: stem 3*16*9; stage 1: 18 convs 16*16*9; stage 2: 16*32*9 + 17 * 32*32*9;
    # stage 3: 32*64*9 + 17 * 64*64*9; classifier 64*10.
    prunable = 3 * 16 * 9 + 18 * 16 * 16 * 9 + (16 * 32 * 9 + 17 * 32 * 32 * 9) + (32 * 64 * 9 + 17 * 64 * 64 * 9)
    prunable += 64 * 10
    # BatchNorm weight+bias: stem 16, then 18 BNs per stage of 16, 32, 64 channels; classifier bias 10.
    other = 2 * (16 + 18 * 16 + 18 * 32 + 18 * 64) + 10
    assert prunable == 848_944
    assert prunable + other == 853_018
    assert _conv_linear_weights(model) == 848_944
    assert _numel(model) == 853_018


def test_wrn28_10_parameter_count_matches_hand_computation(wrn28_10: nn.Module) -> None:
    # n = 4 blocks per stage, widths 160/320/640. Per stage: first conv1 (in -> out, 3x3), 1x1 shortcut (in -> out),
    # and 7 more 3x3 out -> out convs.
    def stage(c_in: int, c_out: int) -> int:
        return c_in * c_out * 9 + c_in * c_out + 7 * c_out * c_out * 9

    convs = 3 * 16 * 9 + stage(16, 160) + stage(160, 320) + stage(320, 640)
    prunable = convs + 640 * 100
    # BN channels per stage: bn1 of block 1 sees c_in, every other BN sees c_out (7 of them); plus the final BN.
    bn_channels = (16 + 7 * 160) + (160 + 7 * 320) + (320 + 7 * 640) + 640
    total = prunable + 2 * bn_channels + 100
    assert prunable == 36_518_832
    assert total == 36_536_884
    assert _conv_linear_weights(wrn28_10) == prunable
    assert _numel(wrn28_10) == total
    assert round(total / 1e5) / 10 == 36.5


@pytest.mark.parametrize("depth", [8, 20, 32, 56])
def test_resnet_depth_counts_weighted_layers(depth: int) -> None:
    model = build_model(f"resnet{depth}")
    weighted = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(weighted) == depth
    n = (depth - 2) // 6
    assert [len(model.layer1), len(model.layer2), len(model.layer3)] == [n, n, n]


def test_wrn16_4_structure() -> None:
    model = build_model("wrn16_4")
    assert isinstance(model, WideResNet)
    assert [len(model.layer1), len(model.layer2), len(model.layer3)] == [2, 2, 2]
    assert model.layer1[0].conv1.weight.shape == (64, 16, 3, 3)
    assert model.layer2[0].conv1.weight.shape == (128, 64, 3, 3)
    assert model.layer3[0].shortcut.weight.shape == (256, 128, 1, 1)
    assert model.layer3[1].shortcut is None
    assert model.fc.weight.shape == (10, 256)
    # 3x3 convs + the three 1x1 shortcuts + the classifier.
    assert sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules()) == 1 + 12 + 3 + 1


def test_no_conv_bias_and_bn_init() -> None:
    for model in (build_model("resnet8"), build_model("wrn10_2")):
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                assert m.bias is None
            if isinstance(m, nn.BatchNorm2d):
                assert torch.equal(m.weight, torch.ones_like(m.weight))
                assert torch.equal(m.bias, torch.zeros_like(m.bias))
        assert model.fc.bias is not None


def test_conv_init_is_kaiming_fan_out() -> None:
    torch.manual_seed(0)
    model = build_model("resnet20")
    weight = model.layer2[0].conv1.weight  # 32 x 16 x 3 x 3: 4,608 samples; fan_out 288, fan_in 144
    expected_std = (2.0 / (32 * 9)) ** 0.5
    assert abs(weight.std().item() / expected_std - 1.0) < 0.05
    assert abs(weight.mean().item()) < 0.05 * expected_std


# ---------------------------------------------------------------- blocks


def test_option_a_shortcut_has_no_parameters_and_subsamples_and_pads() -> None:
    shortcut = OptionAShortcut(16, 32, stride=2)
    assert list(shortcut.parameters()) == [] and list(shortcut.buffers()) == []
    x = torch.randn(2, 16, 32, 32)
    out = shortcut(x)
    assert out.shape == (2, 32, 16, 16)
    assert torch.equal(out[:, :16], x[:, :, ::2, ::2])
    assert torch.equal(out[:, 16:], torch.zeros(2, 16, 16, 16))
    # Odd sizes (Fashion-MNIST's 7x7 stage input) round up like a stride-2 padded 3x3 conv.
    assert shortcut(torch.randn(1, 16, 7, 7)).shape == (1, 32, 4, 4)


def test_basic_block_stride2_matches_functional_reference() -> None:
    torch.manual_seed(1)
    block = BasicBlock(16, 32, stride=2)
    _randomise_bn(block, seed=2)
    block.eval()
    # Only the two convs and two BNs hold parameters: the shortcut is free.
    assert _numel(block) == 16 * 32 * 9 + 32 * 32 * 9 + 4 * 32
    x = torch.randn(3, 16, 10, 10)
    out = F.relu(_bn(F.conv2d(x, block.conv1.weight, stride=2, padding=1), block.bn1))
    out = _bn(F.conv2d(out, block.conv2.weight, padding=1), block.bn2)
    shortcut = torch.cat([x[:, :, ::2, ::2], torch.zeros(3, 16, 5, 5)], dim=1)
    expected = F.relu(out + shortcut)
    with torch.no_grad():
        got = block(x)
    assert got.shape == (3, 32, 5, 5)
    torch.testing.assert_close(got, expected)


def test_basic_block_identity_shortcut() -> None:
    torch.manual_seed(3)
    block = BasicBlock(8, 8).eval()
    assert isinstance(block.shortcut, nn.Identity)
    x = torch.randn(2, 8, 6, 6)
    out = _bn(F.conv2d(F.relu(_bn(F.conv2d(x, block.conv1.weight, padding=1), block.bn1)), block.conv2.weight,
                       padding=1), block.bn2)
    with torch.no_grad():
        torch.testing.assert_close(block(x), F.relu(out + x))


def test_wide_block_matches_functional_reference() -> None:
    torch.manual_seed(4)
    block = WideBlock(8, 16, stride=2, dropout=0.3)
    _randomise_bn(block, seed=5)
    block.eval()
    x = torch.randn(2, 8, 9, 9)
    pre = F.relu(_bn(x, block.bn1))
    out = F.conv2d(pre, block.conv1.weight, stride=2, padding=1)
    out = F.conv2d(F.relu(_bn(out, block.bn2)), block.conv2.weight, padding=1)
    expected = out + F.conv2d(pre, block.shortcut.weight, stride=2)
    with torch.no_grad():
        got = block(x)
    assert got.shape == (2, 16, 5, 5)
    torch.testing.assert_close(got, expected)

    same = WideBlock(16, 16, stride=1, dropout=0.0).eval()
    assert same.shortcut is None
    y = torch.randn(2, 16, 5, 5)
    inner = F.conv2d(F.relu(_bn(y, same.bn1)), same.conv1.weight, padding=1)
    inner = F.conv2d(F.relu(_bn(inner, same.bn2)), same.conv2.weight, padding=1)
    with torch.no_grad():
        torch.testing.assert_close(same(y), inner + y)


# ---------------------------------------------------------------- forward shapes


def test_resnet20_width8_fashion_mnist_shapes() -> None:
    torch.manual_seed(0)
    model = build_model("resnet20", in_channels=1, num_classes=10, width=8)
    assert isinstance(model, CifarResNet)
    assert model.conv1.weight.shape == (8, 1, 3, 3)
    assert model.fc.weight.shape == (10, 32)
    for batch in (1, 5):
        assert model(torch.randn(batch, 1, 28, 28)).shape == (batch, 10)


def test_wrn_fashion_mnist_input() -> None:
    model = build_model("wrn10_1", in_channels=1, num_classes=10)
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_wrn28_10_forward_batch2(wrn28_10: nn.Module) -> None:
    wrn28_10.eval()
    with torch.no_grad():
        logits = wrn28_10(torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, 100)
    assert torch.isfinite(logits).all()


# ---------------------------------------------------------------- dropout


def test_wrn_dropout_default_and_override() -> None:
    rates = lambda m: {d.p for d in m.modules() if isinstance(d, nn.Dropout)}  # noqa: E731
    assert rates(build_model("wrn10_1")) == {0.3}
    assert rates(build_model("wrn10_1", dropout=0.5)) == {0.5}
    assert len([d for d in build_model("wrn16_1").modules() if isinstance(d, nn.Dropout)]) == 6


def test_wrn_dropout_active_in_train_inactive_in_eval() -> None:
    torch.manual_seed(0)
    model = build_model("wrn10_2", dropout=0.3)
    x = torch.randn(4, 3, 16, 16)
    model.train()
    with torch.no_grad():
        a, b = model(x), model(x)
    assert not torch.allclose(a, b)
    model.eval()
    with torch.no_grad():
        c, d = model(x), model(x)
    assert torch.equal(c, d)


def test_wrn_dropout_zero_is_deterministic_in_train_mode() -> None:
    torch.manual_seed(0)
    model = build_model("wrn10_2", dropout=0.0).train()
    x = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(model(x), model(x))


# ---------------------------------------------------------------- names


@pytest.mark.parametrize("name,convs,shortcuts", [
    ("resnet8", 7, 0), ("resnet20", 19, 0), ("resnet56", 55, 0), ("resnet110", 109, 0),
    ("wrn10_1", 7, 2), ("wrn16_4", 13, 3), ("wrn28_10", 25, 3)])
def test_valid_names_build_the_architecture_they_name(name: str, convs: int, shortcuts: int) -> None:
    """A name is valid and builds what it says: ResNet-(6n+2) has 6n+1 3x3 convolutions (option-A shortcuts have
    no weights) and a classifier; WRN-(6n+4)-k has 6n+1 3x3 convolutions (n blocks per stage) plus a 1x1 shortcut
    where the shape changes (here: where the width does), and a classifier.  Built on the meta device: no memory
    for WRN-28-10."""
    check_model_name(name)
    with torch.device("meta"):
        model = build_model(name)
    kernels = [m.kernel_size for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert kernels.count((3, 3)) == convs and kernels.count((1, 1)) == shortcuts
    assert sum(isinstance(m, torch.nn.Linear) for m in model.modules()) == 1


@pytest.mark.parametrize(
    "name",
    ["resnet21", "resnet2", "resnet", "resnet020", "ResNet20", "resnet20 ", "wrn28", "wrn27_10", "wrn4_1",
     "wrn28_0", "wrn28-10", "vgg16", ""],
)
def test_bad_names_rejected_with_message(name: str) -> None:
    allowed = "use resnet<6n+2> (e.g. resnet20, resnet56) or wrn<6n+4>_<k> (e.g. wrn28_10, wrn16_4)"
    pattern = re.escape(f"unknown model {name!r}") + ".*" + re.escape(allowed)
    with pytest.raises(ValueError, match=pattern):
        check_model_name(name)
    with pytest.raises(ValueError, match=pattern):
        build_model(name)


def test_resnet21_message_exact_prefix() -> None:
    with pytest.raises(ValueError) as info:
        build_model("resnet21")
    message = str(info.value)
    assert message.startswith("unknown model 'resnet21'")
    assert message.endswith("use resnet<6n+2> (e.g. resnet20, resnet56) or wrn<6n+4>_<k> (e.g. wrn28_10, wrn16_4)")


def test_bad_options_rejected() -> None:
    with pytest.raises(ValueError, match="width must be None"):
        build_model("wrn16_4", width=8)
    with pytest.raises(ValueError, match="no dropout"):
        build_model("resnet20", dropout=0.1)
    with pytest.raises(ValueError, match="dropout must be in"):
        build_model("wrn16_4", dropout=1.0)
    with pytest.raises(ValueError, match="width must be >= 1"):
        build_model("resnet20", width=0)
    with pytest.raises(ValueError, match="option-A"):
        OptionAShortcut(32, 16, stride=2)
