"""RigL (Evci et al. 2020): its drop-and-grow rule on hand-made tensors, its cosine schedule, and on a real run the
exact per-layer sparsity after every update, with each update checked against a brute-force ranking."""
import math

import pytest
import torch

from sparselib.allocation import erk_masks
from sparselib.config import Runtime
from sparselib.methods.rigl import RigL, drop_and_grow, drop_fraction_at
from sparselib.presets import get_preset
from sparselib.data import dataset_info
from sparselib.runner import model_for, run, run_folder
from sparselib.topk import n_kept

SMOKE = get_preset("smoke")


def test_drop_and_grow_by_hand():
    w = torch.tensor([0.5, -0.1, 0.0, 0.0, 0.3, 0.0])
    mask = torch.tensor([True, True, False, False, True, False])
    g = torch.tensor([9.0, 0.1, 0.2, -0.8, 9.0, 0.5])
    new, grown = drop_and_grow(w, g, mask, 3, 1)
    # drops the smallest active |w| (index 1), grows the largest |grad| among the rest (index 3)
    assert new.tolist() == [True, False, False, True, True, False] and grown.tolist() == [False] * 3 + [True] + [False] * 2
    # a just-dropped connection can come back when its gradient is the largest (Algorithm 1: grow among all not kept)
    new, grown = drop_and_grow(w, torch.tensor([0.0, 5.0, 0.2, 0.8, 0.0, 0.5]), mask, 3, 1)
    assert new.tolist() == mask.tolist() and grown.tolist() == [False, True, False, False, False, False]


def test_drop_fraction_decays_with_a_cosine_to_zero_at_the_end_step():
    assert drop_fraction_at(0, 0.3, 100) == pytest.approx(0.3)
    assert drop_fraction_at(50, 0.3, 100) == pytest.approx(0.15)
    assert drop_fraction_at(25, 0.3, 100) == pytest.approx(0.15 * (1 + math.cos(math.pi / 4)))
    assert drop_fraction_at(100, 0.3, 100) == 0.0 and drop_fraction_at(150, 0.3, 100) == 0.0


def _brute_force(w, g, mask, n, k):
    """The update by sorting: keep the n - k largest |w| of the active entries, grow the k largest |g| of the rest
    (ties to the earlier entry)."""
    w, g, mask = w.reshape(-1), g.reshape(-1), mask.reshape(-1)
    active = [i for i in range(len(w)) if mask[i]]
    keep = sorted(active, key=lambda i: (-abs(float(w[i])), i))[:n - k]
    rest = [i for i in range(len(w)) if i not in set(keep)]
    grow = sorted(rest, key=lambda i: (-abs(float(g[i])), i))[:k]
    out = torch.zeros(len(w), dtype=torch.bool)
    out[keep + grow] = True
    return out, set(grow)


def test_rigl_run_keeps_the_sparsity_exact_and_each_update_follows_the_rule(tmp_path, monkeypatch):
    seen = []
    real_update = RigL.update

    def checked_update(self, state, fraction):
        masks = state.masks
        before = [(p.detach().clone(), p.grad.detach().clone(), m.clone()) for p, m in zip(masks.params, masks.masks)]
        real_update(self, state, fraction)
        for (w, g, m), n, m_new, p in zip(before, self.counts, masks.masks, masks.params):
            k = int(round(fraction * n))
            expected, grown = _brute_force(w, g, m, n, k)
            assert torch.equal(m_new.reshape(-1), expected)
            assert int(m_new.sum()) == n                      # the layer keeps its number of weights
            assert all(float(p.detach().reshape(-1)[i]) == 0.0 for i in grown)  # grown weights start at 0
            assert bool((p[~m_new] == 0).all())
        seen.append(fraction)

    monkeypatch.setattr(RigL, "update", checked_update)
    cfg = SMOKE.config("rigl", 0.9)  # update_interval 8, 4 epochs
    metrics = run(cfg, Runtime(results=str(tmp_path), progress=False, device="cpu"), log=lambda *_: None)
    assert len(seen) >= 3 and seen == sorted(seen, reverse=True)  # the cosine decay, update after update
    stats = run_folder(cfg, Runtime(results=str(tmp_path))).read_mask_stats()
    n = sum(r["numel"] for r in stats)
    assert sum(r["kept"] for r in stats) == n_kept(n, 0.9)
    assert metrics["sparsity_prunable"] == pytest.approx(1 - n_kept(n, 0.9) / n)
    # each layer kept ERK's count (allocation.erk_masks on the model's weight shapes) from start to end
    model = model_for(cfg, dataset_info(cfg.dataset))
    weights = [p for name, p in model.named_parameters() if name in {r["name"] for r in stats}]
    expected = [int(m.sum()) for m in erk_masks([torch.rand(w.shape) for w in weights], 0.9)]
    assert [r["kept"] for r in stats] == expected
