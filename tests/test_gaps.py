"""Tests that close gaps a mutation run found (bugs planted one at a time that the suite did not catch): sparsity on
the weights themselves after every step, ALLR's measured inputs, crash safety of writes and checkpoints, the edge of
the ±0.25 pp band, the recorded speedup, BIMP's dense phase."""
import json
import math
import os

import pytest
import torch
from torch import nn

import sparselib.storage as storage
from sparselib.config import Runtime
from sparselib.masks import Masks, prune_and_measure
from sparselib.presets import get_preset
from sparselib.resolve import resolve
from sparselib.runner import run, run_folder
from sparselib.schedules import allr_start, lr_bounds, RetrainContext
from sparselib.selection import BAND, select_cells
from sparselib.storage import CheckpointStore, atomic_write_bytes
from sparselib.train import Trainer

SMOKE = get_preset("smoke")


def rt(path):
    return Runtime(results=str(path), progress=False, device="cpu")


# -- sparsity is a property of the weights, after every optimizer step, for every method that holds a mask ---------
def _effective(module: nn.Module, attr: str = "weight") -> torch.Tensor:
    return getattr(module, attr).detach()


#: (method, goal, method_args) whose pruned weights must be exactly zero in the forward pass after every step
HARD_MASKED = [("imp", 0.9, None), ("imp_plus", 0.9, None), ("bimp", 0.9, None), ("gmp", 0.9, None),
               ("rigl", 0.9, None), ("dpf", 0.9, None), ("dnw", 0.9, None)]


@pytest.mark.parametrize("method,goal,args", HARD_MASKED)
def test_pruned_weights_are_zero_after_every_step(tmp_path, monkeypatch, method, goal, args):
    """Checked on the weights the forward pass uses, not on the masks: a method whose gradients or weights escaped
    their mask (no gradient masking, no re-masking after the step) fails here at its first step after a prune; and
    the measured sparsity equals the one the masks claim."""
    checked = {"steps": 0}
    real_step = Trainer.step

    def step_and_check(self, x, y, lr):
        out = real_step(self, x, y, lr)
        s = self.state
        if s.masks.active:
            modules = dict(s.model.named_modules())
            zeros = kept = 0
            # DNW's mask is its current global top-k (state.masks shows it at epoch ends only, for the history)
            current = self.method.keep if method == "dnw" else s.masks.masks
            for name, mask in zip(s.masks.names, current):
                module_name, _, attr = name.rpartition(".")
                w = _effective(modules[module_name], attr)
                assert bool((w[~mask] == 0).all()), f"{method}: {name} has non-zero pruned weights at step {s.step}"
                zeros += int((w == 0).sum())
                kept += int(mask.sum())
            total = sum(m.numel() for m in s.masks.masks)
            assert zeros >= total - kept  # the history's sparsity (from the masks) never hides a regrown weight
            checked["steps"] += 1
        return out

    monkeypatch.setattr(Trainer, "step", step_and_check)
    run(SMOKE.config(method, goal, method_args=args), rt(tmp_path), log=lambda *_: None)
    assert checked["steps"] > 0


# -- ALLR's inputs: d and p as the pruning step measures them ----------------------------------------------------------
def test_prune_and_measure_returns_the_relative_norm_removed_and_the_fraction_pruned():
    model = nn.Sequential(nn.Linear(2, 2, bias=True), nn.Linear(2, 1, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[3.0, -1.0], [0.5, 2.0]]))
        model[0].bias.copy_(torch.tensor([1.0, -1.0]))
        model[1].weight.copy_(torch.tensor([[-4.0, 0.25]]))
    masks = Masks(model)
    # step 1 to 50 %: the three smallest of six weights go (0.25, 0.5, -1): removed² = 0.0625 + 0.25 + 1
    d, p = prune_and_measure(masks, model, 0.5)
    total = 9 + 1 + 0.25 + 4 + 16 + 0.0625 + 1 + 1  # every parameter, biases included
    assert d == pytest.approx(math.sqrt(1.3125 / total)) and p == pytest.approx(3 / 6)
    # step 2 to 5/6 from the 3 kept (3, 2, -4): 2 more go (2 and 3); p is a fraction of the *remaining* weights
    d, p = prune_and_measure(masks, model, 5 / 6)
    assert d == pytest.approx(math.sqrt((4 + 9) / (9 + 4 + 16 + 1 + 1))) and p == pytest.approx(2 / 3)


def test_imp_allr_starts_at_the_value_its_measured_d_and_p_give(tmp_path):
    cfg = SMOKE.config("imp", 0.9, method_args={"schedule": "allr", "n_phases": 2, "epochs_per_phase": 1})
    run(cfg, rt(tmp_path), log=lambda *_: None)
    folder = run_folder(cfg, rt(tmp_path))
    hist, lrs = folder.read_history(), folder.read_lrs()
    dense = run_folder(resolve(cfg).reference, rt(tmp_path))
    max_lr, _ = lr_bounds(dense.read_lrs())
    n = len(lrs) // 2
    p = 1 - (1 - 0.9) ** 0.5  # each phase prunes this fraction of the remaining weights
    for phase, row in enumerate(hist):
        assert row["pruned_fraction"] == pytest.approx(p, rel=1e-3)  # up to the integer count of weights
        ctx = RetrainContext(distance=row["pruned_norm"], pruned_fraction=row["pruned_fraction"],
                             retrain_epochs=1.0, train_epochs=float(dense.read_metrics()["epochs"]))
        assert max(lrs[phase * n:(phase + 1) * n]) == pytest.approx(allr_start(max_lr, ctx), rel=1e-6)


# -- crash safety -----------------------------------------------------------------------------------------------------
def test_a_write_that_crashes_midway_leaves_the_old_file_and_no_debris(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    path.write_text("old")

    def crash(fd):
        raise OSError("power cut")

    monkeypatch.setattr(storage.os, "fsync", crash)  # the data is written, the crash comes before the rename
    with pytest.raises(OSError, match="power cut"):
        atomic_write_bytes(path, b"new and half-written")
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]


def test_checkpoints_keep_the_previous_one_and_fall_back_to_it(tmp_path):
    store = CheckpointStore(tmp_path)
    store.save({"epoch": 1})
    store.save({"epoch": 2})
    assert torch.load(store.prev, weights_only=True)["epoch"] == 1  # the one before is kept
    assert store.load()["epoch"] == 2
    store.path.write_bytes(b"torn")
    with pytest.warns(RuntimeWarning, match="falling back to the previous checkpoint"):
        assert store.load()["epoch"] == 1  # a fallback, not a restart from scratch
    store.save({"epoch": 3})
    assert torch.load(store.prev, weights_only=True)["epoch"] == 1 and store.load()["epoch"] == 3


# -- the edge of the ±0.25 pp band -----------------------------------------------------------------------------------
def _runs(sparsity):
    import pandas as pd

    return pd.DataFrame([{"method": "cs", "config_id": "c", "seed": 0, "sparsity_prunable": sparsity,
                          "sparsity_total": sparsity, "val_top1": 0.5, "top1": 0.5, "theoretical_speedup": 2.0,
                          "relative_time": 1.0, "method_args": "{}", "run_id": "r"}])


def test_the_band_edge_is_inside_and_a_hair_beyond_is_outside():
    goal = 0.25  # 0.25 and 0.0025 are chosen so that goal + BAND is 0.2525 with a rounding *above* the exact edge
    assert 0.2525 - goal > BAND  # floating point puts the edge itself just outside a strict comparison
    assert select_cells(_runs(0.2525), [goal]).iloc[0]["found"]       # inclusive edge (up to 1e-12)
    assert select_cells(_runs(goal - BAND), [goal]).iloc[0]["found"]
    assert not select_cells(_runs(goal + BAND + 1e-9), [goal]).iloc[0]["found"]
    assert not select_cells(_runs(goal - BAND - 1e-9), [goal]).iloc[0]["found"]


# -- the recorded speedup ------------------------------------------------------------------------------------------
def test_recorded_speedup_is_dense_over_sparse_multiply_adds_by_hand(tmp_path):
    cfg = SMOKE.config("gmp", 0.9)
    m = run(cfg, rt(tmp_path), log=lambda *_: None)
    stats = run_folder(cfg, rt(tmp_path)).read_mask_stats()
    # resnet8 width 4 on 3 x 16 x 16 synthetic images: every layer's multiply-adds by hand (output h x w x k² x
    # input channels x output channels; the classifier: inputs x outputs)
    w = cfg.model_width
    by_hand = {"conv1.weight": 16 * 16 * 9 * 3 * w}
    for stage, (c_in, c_out, size) in enumerate([(w, w, 16), (w, 2 * w, 8), (2 * w, 4 * w, 4)], start=1):
        by_hand[f"layer{stage}.0.conv1.weight"] = size * size * 9 * c_in * c_out
        by_hand[f"layer{stage}.0.conv2.weight"] = size * size * 9 * c_out * c_out
    by_hand["fc.weight"] = 4 * w * 10
    assert {r["name"]: r["macs"] for r in stats} == by_hand
    sparse = sum(r["macs"] * r["kept"] / r["numel"] for r in stats)
    assert m["theoretical_speedup"] == pytest.approx(sum(by_hand.values()) / sparse, rel=1e-12)
    assert m["macs_dense"] == sum(by_hand.values())


# -- BIMP's dense phase -------------------------------------------------------------------------------------------------
def test_bimp_dense_phase_decays_linearly_to_zero_over_its_budget(tmp_path):
    cfg = SMOKE.config("bimp", 0.9)
    run(cfg, rt(tmp_path), log=lambda *_: None)
    hp = resolve(cfg).hparams
    lrs = run_folder(cfg, rt(tmp_path)).read_lrs()
    n = len(lrs) // cfg.epochs
    T = hp.n_train_budget * n
    assert lrs[:T] == pytest.approx([cfg.lr * (1 - i / T) for i in range(T)], abs=1e-9)  # over the budget, not all
