"""Layer-wise allocation (sparselib.allocation) and the one exact top-k helper (sparselib.topk): hand-computed
values on small models, PyTorch's own global pruning, and the fast and low-memory paths agreeing entry by entry."""
import pytest
import torch
import torch.nn.utils.prune as torch_prune
from torch import nn

import sparselib.topk as topk_module
from sparselib.allocation import ALLOCATIONS, apportion, erk_densities, lamp_scores, magnitude_masks
from sparselib.topk import keep_largest


def kept(masks):
    return [int(m.sum()) for m in masks]


# -- the top-k helper ------------------------------------------------------------------------------------------------
def test_keep_largest_keeps_exactly_k_and_breaks_ties_by_position():
    scores = [torch.tensor([1.0, 3.0, 2.0]), torch.tensor([[2.0, 2.0], [0.5, 3.0]])]
    # k = 4: the two 3s, then two of the three 2s — the earliest ones (layer order, then position)
    got = keep_largest(scores, 4)
    assert got[0].tolist() == [False, True, True] and got[1].tolist() == [[True, False], [False, True]]
    assert kept(keep_largest(scores, 0)) == [0, 0] and kept(keep_largest(scores, 7)) == [3, 4]


def test_excluded_entries_rank_below_all_others():
    scores = [torch.tensor([5.0, 1.0, 0.0, 4.0])]
    exclude = [torch.tensor([True, False, False, False])]
    assert keep_largest(scores, 2, exclude=exclude)[0].tolist() == [False, True, False, True]
    # the zero score still outranks the excluded 5: excluded entries go first
    assert keep_largest(scores, 3, exclude=exclude)[0].tolist() == [False, True, True, True]


@pytest.mark.parametrize("bad", [-1, 8, 2.0, True])
def test_keep_largest_rejects_impossible_k(bad):
    with pytest.raises(ValueError, match="k="):
        keep_largest([torch.ones(7)], bad)


@pytest.mark.parametrize("seed", range(4))
def test_fast_and_low_memory_paths_give_identical_masks(monkeypatch, seed):
    g = torch.Generator().manual_seed(seed)
    sizes = [1000, 37, 5000, 1]
    scores = [torch.randint(0, 5, (n,), generator=g).float() for n in sizes]  # heavy ties
    exclude = [torch.rand(n, generator=g) < 0.3 for n in sizes]
    monkeypatch.setattr(topk_module, "_SAMPLE", 64)  # force the bracket + candidate path on small data
    for k in (1, 500, 3019, 6037):
        a = keep_largest(scores, k, exclude=exclude)
        b = keep_largest(scores, k, exclude=exclude, low_memory=True)
        assert all(torch.equal(x, y) for x, y in zip(a, b)) and sum(kept(a)) == k


# -- the allocations ------------------------------------------------------------------------------------------------
def toy_weights():
    """A three-layer toy: conv 2->4 (3x3, 72 weights), conv 4->8 (3x3, 288), linear 8->10 (80); 440 in all."""
    g = torch.Generator().manual_seed(0)
    return [torch.randn(4, 2, 3, 3, generator=g), torch.randn(8, 4, 3, 3, generator=g), torch.randn(10, 8, generator=g)]


def test_erk_densities_by_hand():
    # Σdims/Πdims: 12/72, 18/288, 18/80.  At overall density 1/2 (220 of 440 weights): ε = 220/48 would give the
    # linear layer 1.031 > 1, so it stays dense (80) and ε = (220 - 80)/(12 + 18) = 14/3 for the convs:
    # 14/3 · 12/72 = 7/9 of 72 = 56 weights, 14/3 · 18/288 = 7/24 of 288 = 84 weights.
    d = erk_densities([(4, 2, 3, 3), (8, 4, 3, 3), (10, 8)], 0.5)
    assert d == pytest.approx([7 / 9, 7 / 24, 1.0])
    assert kept(magnitude_masks(toy_weights(), 0.5, allocation="erk")) == [56, 84, 80]


def test_lamp_scores_and_masks_by_hand():
    w = [torch.tensor([1.0, -2.0, 3.0]), torch.tensor([0.5, 4.0]), torch.tensor([2.0, 2.0, 1.0])]
    # w² / (sum of w² of the entries at least as large): layer 1: 1/14, 4/13, 9/9; layer 2: 0.25/16.25, 1;
    # layer 3 (the tie ranked by position): 4/8, 4/4, 1/9
    assert lamp_scores(w[0]).tolist() == pytest.approx([1 / 14, 4 / 13, 1.0])
    assert lamp_scores(w[1]).tolist() == pytest.approx([0.25 / 16.25, 1.0])
    assert lamp_scores(w[2]).tolist() == pytest.approx([0.5, 1.0, 1 / 9])
    # keep 4 of 8: the three scores of 1, then 0.5 — where global magnitude would keep 4, 3, 2 and 2
    got = magnitude_masks(w, 0.5, allocation="lamp")
    assert [m.tolist() for m in got] == [[False, False, True], [False, True], [True, True, False]]
    assert [m.tolist() for m in magnitude_masks(w, 0.5)] == [[False, True, True], [False, True], [True, False, False]]


@pytest.mark.parametrize("sparsity", [0.1, 0.5, 0.9, 0.97])
def test_uniform_gives_every_layer_its_sparsity_within_one_weight(sparsity):
    weights = toy_weights()
    masks = magnitude_masks(weights, sparsity, allocation="uniform")
    n = sum(w.numel() for w in weights)
    assert sum(kept(masks)) == n - round(sparsity * n)
    for w, k in zip(weights, kept(masks)):
        assert abs(k - (1 - sparsity) * w.numel()) <= 1
        # inside a layer it is magnitude pruning: every kept weight is at least as large as every pruned one
    for w, m in zip(weights, masks):
        if 0 < m.sum() < m.numel():
            assert w.abs()[m].min() >= w.abs()[~m].max()


def test_global_equals_torch_global_unstructured():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.Conv2d(4, 8, 3), nn.Flatten(), nn.Linear(8, 10))
    weights = [model[0].weight, model[1].weight, model[3].weight]
    ours = magnitude_masks([w.detach().clone() for w in weights], 0.7)
    torch_prune.global_unstructured([(model[0], "weight"), (model[1], "weight"), (model[3], "weight")],
                                    pruning_method=torch_prune.L1Unstructured, amount=0.7)
    theirs = [model[0].weight_mask, model[1].weight_mask, model[3].weight_mask]
    assert all(torch.equal(a, b.bool()) for a, b in zip(ours, theirs))


@pytest.mark.parametrize("allocation", sorted(ALLOCATIONS))
def test_every_allocation_is_exact_and_only_shrinks_earlier_masks(allocation):
    weights = toy_weights()
    n = sum(w.numel() for w in weights)
    first = magnitude_masks(weights, 0.5, allocation=allocation)
    second = magnitude_masks([w * m for w, m in zip(weights, first)], 0.8, allocation=allocation, current=first)
    assert sum(kept(first)) == n - round(0.5 * n) and sum(kept(second)) == n - round(0.8 * n)
    assert all(not (b & ~a).any() for a, b in zip(first, second))


def test_unknown_allocation_names_the_choices():
    with pytest.raises(ValueError, match="global, uniform, erk, lamp"):
        magnitude_masks(toy_weights(), 0.5, allocation="random")


def test_apportion_hits_the_total_and_respects_sizes():
    assert apportion([2.5, 2.5, 5.0], [3, 3, 5], 10) == [3, 2, 5]  # the earlier layer wins the tie
    assert apportion([0.2, 0.3], [1, 1], 1) == [0, 1]
    assert sum(apportion([1.7, 3.3, 0.9], [2, 4, 1], 6)) == 6


def test_erk_caps_every_layer_that_would_exceed_density_one_and_all_dense_is_all_dense():
    # at density 0.9 (396 of 440): ε = 396/48 = 8.25 caps the linear layer (1.856) and the first conv (1.375); the
    # second conv keeps 396 - 80 - 72 = 244 of 288
    d = erk_densities([(4, 2, 3, 3), (8, 4, 3, 3), (10, 8)], 0.9)
    assert d == pytest.approx([1.0, 244 / 288, 1.0])
    assert erk_densities([(4, 2, 3, 3), (10, 8)], 1.0) == [1.0, 1.0]  # nothing left to share: every layer dense
    assert erk_densities([(2, 3)], 0.5) == pytest.approx([0.5])


@pytest.mark.parametrize("allocation", ["uniform", "erk", "lamp"])
def test_layerwise_allocations_prune_the_already_pruned_entries_first(allocation):
    """With earlier masks, an entry pruned before stays pruned, even where its (kept-aside) magnitude is large."""
    weights = toy_weights()
    first = magnitude_masks(weights, 0.5, allocation=allocation)
    bigger = [w.clone() for w in weights]
    for w, m in zip(bigger, first):
        w[~m] = 1000.0  # the pruned entries now look like the largest ones
    second = magnitude_masks(bigger, 0.6, allocation=allocation, current=first)
    assert all(not (b & ~a).any() for a, b in zip(first, second))
    free = magnitude_masks(bigger, 0.6, allocation=allocation)  # without earlier masks they would be kept
    assert any((f & ~a).any() for a, f in zip(first, free))


@pytest.mark.parametrize("allocation", sorted(ALLOCATIONS))
def test_both_threshold_paths_give_the_same_allocation(allocation):
    weights = toy_weights()
    fast = magnitude_masks(weights, 0.7, allocation=allocation, low_memory=False)
    assert all(torch.equal(a, b) for a, b in zip(fast, magnitude_masks(weights, 0.7, allocation=allocation)))


def test_magnitude_masks_names_a_bad_sparsity():
    with pytest.raises(ValueError, match=r"sparsity=1\.0 must lie in \[0, 1\)"):
        magnitude_masks(toy_weights(), 1.0)


# -- exact messages, edge cases and the threshold path ---------------------------------------------------------------
def test_apportion_gives_leftovers_by_fractional_part_not_by_share():
    # floors 2 and 0, one unit left: the 0.9 fraction outranks the 0.2 one although 2.2 is the larger share
    assert apportion([2.2, 0.9], [5, 5], 3) == [2, 1]


def test_apportion_never_fills_a_layer_past_its_size():
    # floors 1 (the layer is full) and 0, one unit left: the full layer has the larger fraction but cannot take it
    assert apportion([1.9, 0.5], [1, 2], 2) == [1, 1]


def test_apportion_names_an_impossible_total():
    with pytest.raises(ValueError, match=r"^cannot keep 3 weights in layers of sizes \[1, 1\]$"):
        apportion([1.0, 1.0], [1, 1], 3)


def test_apportion_takes_back_overshooting_shares_from_the_last_layers_first():
    # floors 3, 3, 3 = 9 for a total of 7: two units come back, one each from the last and the middle layer
    assert apportion([3.0, 3.0, 3.0], [3, 3, 3], 7) == [3, 2, 2]
    # floors 3, 1, 0 = 4 for a total of 2: the empty last layer gives nothing, the middle one its single unit, the first
    # one the other unit
    assert apportion([3.0, 1.0, 0.0], [3, 1, 1], 2) == [2, 0, 0]


def test_erk_densities_of_no_layers_and_of_a_one_weight_layer():
    assert erk_densities([], 0.5) == []
    # one layer of shape (1,): Σdims/Πdims = 1, so ε = density · 1 / 1 and its density is the overall one
    assert erk_densities([(1,)], 0.5) == [0.5]
    assert erk_densities([(1,)], 0.25) == [0.25]


def test_erk_caps_layers_over_several_rounds_and_keeps_the_earlier_ones_dense():
    # shapes (1,1), (2,2), (8,8): sizes 1, 4, 64 (69 in all), Σdims/Πdims 2, 1, 1/4, Σdims 2, 4, 16 (22 in all).
    # At density 0.3125 the budget is 0.3125 · 69 = 21.5625 weights.
    # round 1: ε = 21.5625/22 ≈ 0.98: only (1,1) exceeds 1 (≈ 1.96), (2,2) gets ≈ 0.98;
    # round 2: ε = (21.5625 - 1)/(4 + 16) ≈ 1.03: now (2,2) exceeds 1 as well;
    # round 3: ε = (21.5625 - 1 - 4)/16 = 1.03515625: (8,8) gets 1.03515625/4 = 0.2587890625 = 16.5625/64.
    d = erk_densities([(1, 1), (2, 2), (8, 8)], 0.3125)
    assert d == pytest.approx([1.0, 1.0, 16.5625 / 64])
    # through the masks: keep 69 - round(0.68 · 69) = 69 - 47 = 22: the same three rounds (ε = 22/22, then 21/20 > 1
    # caps (2,2)) leave (8,8) with 22 - 1 - 4 = 17 weights
    g = torch.Generator().manual_seed(0)
    weights = [torch.randn(1, 1, generator=g), torch.randn(2, 2, generator=g), torch.randn(8, 8, generator=g)]
    assert kept(magnitude_masks(weights, 0.68, allocation="erk")) == [1, 4, 17]


def test_lamp_scores_the_weights_as_masked_by_the_current_masks():
    # the first layer's pruned entry still holds 10 (as after a step that has not re-applied the mask): LAMP scores
    # the masked layer [0, 1, 2] (0, 1/5, 1), not [10, 1, 2] (1, 1/105, 4/104); the second layer [3, 1] scores 1, 1/10.
    # Keep 3 of 5, the pruned entry first out: the scores 1, 1, 1/5 win over 1/10.
    weights = [torch.tensor([10.0, 1.0, 2.0]), torch.tensor([3.0, 1.0])]
    current = [torch.tensor([False, True, True]), torch.tensor([True, True])]
    got = magnitude_masks(weights, 0.4, allocation="lamp", current=current)
    assert [m.tolist() for m in got] == [[False, True, True], [True, False]]


def test_lamp_ranks_already_pruned_entries_below_zero_weights():
    # masked: [0, 0, 1], LAMP scores 0, 0, 1.  The tie at 0 would go to the earlier (pruned) entry; it must go to the
    # unpruned zero weight instead.  Keep 3 - round(0.3 · 3) = 2.
    weights = [torch.tensor([5.0, 0.0, 1.0])]
    got = magnitude_masks(weights, 0.3, allocation="lamp", current=[torch.tensor([False, True, True])])
    assert got[0].tolist() == [False, True, True]


@pytest.fixture
def threshold_paths(monkeypatch):
    """Records which of the two threshold searches of sparselib.topk each call uses ("fast" or "low_memory")."""
    used = []
    for path in ("fast", "low_memory"):
        real = getattr(topk_module, f"_kth_smallest_{path}")

        def spy(*args, _real=real, _path=path):
            used.append(_path)
            return _real(*args)

        monkeypatch.setattr(topk_module, f"_kth_smallest_{path}", spy)
    return used


@pytest.mark.parametrize("allocation", ["global", "lamp"])
def test_global_thresholds_take_the_low_memory_path_unless_told_otherwise(threshold_paths, allocation):
    weights = toy_weights()
    magnitude_masks(weights, 0.5, allocation=allocation)
    assert threshold_paths == ["low_memory"]
    magnitude_masks(weights, 0.5, allocation=allocation, low_memory=False)
    assert threshold_paths == ["low_memory", "fast"]
    # the rules themselves have the same default
    ALLOCATIONS[allocation](weights, 0.5)
    ALLOCATIONS[allocation](weights, 0.5, None, False)
    assert threshold_paths == ["low_memory", "fast", "low_memory", "fast"]
