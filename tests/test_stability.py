"""What the final prune costs (issue: measure pruning stability): every run records the validation accuracy right
before and right after its final prune — the last pruning step that removed weights, else the final hard prune at
the end of training — and the relative norm of what that prune removed; BatchNorm recalibration after pruning."""
import pytest
import torch
from torch import nn

from sparselib.config import RunConfig, Runtime
from sparselib.data import DATASETS, Split, TensorLoader
from sparselib.masks import Masks
from sparselib.presets import get_preset
from sparselib.resolve import resolve
from sparselib.runner import run, run_folder
from sparselib.state import TrainState, relative_change

SMOKE = get_preset("smoke")


def rt(path):
    return Runtime(results=str(path), progress=False, device="cpu")


def test_relative_change_by_hand():
    before = [torch.tensor([3.0, 0.0]), torch.tensor([[4.0]])]
    after = [torch.tensor([0.0, 0.0]), torch.tensor([[4.0]])]
    assert relative_change(before, after) == pytest.approx(3.0 / 5.0)
    assert relative_change([torch.zeros(2)], [torch.zeros(2)]) == 0.0


def test_imp_final_prune_is_its_last_pruning_step(tmp_path):
    cfg = SMOKE.config("imp", 0.9)  # 2 phases of 1 epoch
    m = run(cfg, rt(tmp_path), log=lambda *_: None)
    hist = run_folder(cfg, rt(tmp_path)).read_history()
    assert m["final_prune_epoch"] == 2 and hist[1]["phase"] == 2
    assert m["final_prune_val_before"] == pytest.approx(hist[0]["val_acc"])     # the end of phase 1
    assert m["final_prune_val_after"] == pytest.approx(hist[1]["pruned_val_acc"])
    assert m["final_prune_removed_norm"] == pytest.approx(hist[1]["pruned_norm"]) and m["final_prune_removed_norm"] > 0
    dense = run_folder(resolve(cfg).reference, rt(tmp_path))
    assert hist[0]["pre_prune_val_acc"] == pytest.approx(dense.read_metrics()["val_top1"])  # the dense run's


@pytest.mark.parametrize("method,goal,args", [("gsm", 0.9, None), ("cs", 0.0, None), ("dnw", 0.9, None)])
def test_final_hard_prune_is_measured_at_the_end(tmp_path, method, goal, args):
    cfg = SMOKE.config(method, goal, method_args=args)
    m = run(cfg, rt(tmp_path), log=lambda *_: None)
    hist = run_folder(cfg, rt(tmp_path)).read_history()
    assert m["final_prune_epoch"] is None                       # at the end of training
    assert m["final_prune_val_before"] == pytest.approx(hist[-1]["val_acc"])
    assert m["final_prune_val_after"] == pytest.approx(m["val_top1"])
    if method == "dnw":  # its forward pass always used the top-k: the final prune removes nothing, changes nothing
        assert m["final_prune_removed_norm"] == 0.0 and m["final_prune_val_before"] == m["final_prune_val_after"]
    else:
        assert 0 < m["final_prune_removed_norm"] < 1


def _bn_state(n_images, batch):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, bias=False), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(),
                          nn.Linear(3 * 6 * 6, 10))
    cfg = RunConfig(dataset="fashion_mnist", bn_recalibration=n_images, batch_size=batch)
    g = torch.Generator().manual_seed(3)
    split = Split(torch.randint(0, 256, (n_images, 1, 8, 8), dtype=torch.uint8, generator=g),
                  torch.zeros(n_images, dtype=torch.long))
    info = DATASETS["fashion_mnist"]
    loader = TensorLoader(split, info, batch, train=False)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    state = TrainState(cfg, model, opt, Masks(model), torch.device("cpu"), 1, [0.1], {"calibration": loader})
    return state, model, loader


@pytest.mark.parametrize("batch", [64, 32])  # one batch, or two equal ones (a cumulative average)
def test_recalibrated_running_means_equal_the_batch_means_of_the_calibration_data(batch):
    state, model, loader = _bn_state(64, batch)
    bn = model[1]
    bn.running_mean.fill_(5.0)
    bn.running_var.fill_(7.0)
    model.train(False)
    state.recalibrate_bn()
    x = torch.cat([xb for xb, _ in loader])
    with torch.no_grad():
        features = model[0](x)
    assert torch.allclose(bn.running_mean, features.mean(dim=(0, 2, 3)), atol=1e-6)
    if batch == 64:  # one batch: the unbiased variance of the whole calibration set
        assert torch.allclose(bn.running_var, features.var(dim=(0, 2, 3), unbiased=True), rtol=1e-5)
    assert bn.momentum == 0.1 and not model.training and not bn.training  # modes and momentum restored
    assert all(p.grad is None for p in model.parameters())


def test_bn_recalibration_is_off_by_default_and_part_of_the_identity():
    cfg = SMOKE.config("imp", 0.9)
    assert "bn_recalibration" not in cfg.non_default()
    assert cfg.replace(bn_recalibration=256).run_id != cfg.run_id
    # a dense run never prunes: IMP with recalibration starts from the same dense run as IMP without
    assert resolve(cfg.replace(bn_recalibration=256)).reference == resolve(cfg).reference


def test_recalibrated_run_records_the_accuracy_before_and_after_recalibration(tmp_path):
    cfg = SMOKE.config("imp", 0.9, bn_recalibration=64)
    m = run(cfg, rt(tmp_path), log=lambda *_: None)
    hist = run_folder(cfg, rt(tmp_path)).read_history()
    assert all("pruned_val_acc_raw" in row and "pruned_val_acc" in row for row in hist)
    assert "final_prune_val_after_raw" in m
    plain = run(SMOKE.config("imp", 0.9), rt(tmp_path), log=lambda *_: None)
    # BatchNorm's running statistics never change a training step: the same weights, so the same sparsity
    assert m["sparsity_prunable"] == plain["sparsity_prunable"]
    assert hist[0]["pruned_val_acc_raw"] == pytest.approx(
        run_folder(SMOKE.config("imp", 0.9), rt(tmp_path)).read_history()[0]["pruned_val_acc"])
