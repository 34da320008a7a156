"""Masks and global magnitude pruning: exact counts, ordering, monotonicity, and the zero invariant."""
import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from sparselib.allocation import magnitude_masks
from sparselib.masks import Masks, prune_magnitude, sparsity_of
from sparselib.storage import load_torch, save_torch


def small_net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(8, 5))


def test_prunable_are_conv_and_linear_weights_only():
    m = Masks(small_net())
    assert m.names == ["0.weight", "3.weight", "7.weight"]


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.5, 0.9, 0.98, 0.999])
def test_exact_pruned_count_and_threshold_order(sparsity):
    torch.manual_seed(1)
    weights = [torch.randn(7, 5), torch.randn(300), torch.randn(3, 3, 3, 3)]
    n = sum(w.numel() for w in weights)
    masks = magnitude_masks(weights, sparsity)
    pruned = sum(int((~m).sum()) for m in masks)
    assert pruned == round(sparsity * n)
    mags = torch.cat([w.abs().flatten() for w in weights])
    keep = torch.cat([m.flatten() for m in masks])
    if 0 < pruned < n:
        assert mags[~keep].max() < mags[keep].min()  # pruned |w| <= threshold < kept |w|


def test_exact_count_with_ties():
    weights = [torch.ones(10), torch.full((10,), 2.0)]
    masks = magnitude_masks(weights, 0.25)  # 5 of the ten 1.0-weights must go, no more
    assert int((~masks[0]).sum()) == 5 and bool(masks[1].all())


def test_matches_pytorch_global_unstructured():
    net_a, net_b = small_net(3), small_net(3)
    ours = Masks(net_a)
    prune_magnitude(ours, 0.8)
    params = [(net_b[0], "weight"), (net_b[3], "weight"), (net_b[7], "weight")]
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=0.8)
    for (module, _), mine in zip(params, ours.masks):
        assert torch.equal(module.weight_mask.bool(), mine)


def test_masks_only_shrink_across_cycles():
    net = small_net()
    masks = Masks(net)
    previous = [torch.ones_like(m) for m in masks.masks]
    for target in (0.3, 0.6, 0.9):
        with torch.no_grad():  # training in between moves weights: kept ones may become small
            for p in masks.params:
                p.add_(torch.randn_like(p) * 0.5)
        prune_magnitude(masks, target)
        for old, new in zip(previous, masks.masks):
            assert not bool((new & ~old).any())
        kept = sum(int(m.sum()) for m in masks.masks)
        assert kept == sum(m.numel() for m in masks.masks) - round(target * sum(m.numel() for m in masks.masks))
        previous = [m.clone() for m in masks.masks]


def reference_masks(weights, sparsity, current=None):
    """The straightforward version: one concatenated score vector and torch.kthvalue; ties kept in order."""
    scores = torch.cat([w.abs().flatten().float() for w in weights])
    if current is not None:
        scores[~torch.cat([m.flatten() for m in current])] = -1.0
    k = round(sparsity * scores.numel())
    keep = torch.ones(scores.numel(), dtype=torch.bool)
    if k:
        t = torch.kthvalue(scores, k).values
        keep = scores > t
        surplus = int((~keep).sum()) - k
        if surplus > 0:
            keep[torch.nonzero(scores == t).flatten()[:surplus]] = True
    return list(keep.split([w.numel() for w in weights]))


def _layers(seed, sizes, ties=False):
    g = torch.Generator().manual_seed(seed)
    out = [torch.randn(n, generator=g) for n in sizes]
    if ties:  # few distinct magnitudes: many ties at any threshold, and exact zeros
        out = [torch.randint(-3, 4, (n,), generator=g).float() for n in sizes]
    return out


@pytest.mark.parametrize("sample,max_cands", [(1 << 20, 1 << 22), (64, 1 << 22), (64, 0), (1, 0)])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("sparsity", [0.05, 0.5, 0.9, 0.999])
def test_threshold_search_matches_kthvalue(monkeypatch, sample, max_cands, ties, sparsity):
    """Every path of the layer-by-layer search (sample bracket, candidates, bisection fallback) gives exactly the
    masks of the single-kthvalue version, with and without earlier masks and ties."""
    import sparselib.topk as M

    monkeypatch.setattr(M, "_SAMPLE", sample)
    monkeypatch.setattr(M, "_MAX_CANDIDATES", max_cands)
    weights = _layers(int(sparsity * 1000), [1000, 37, 5000, 1], ties)
    for current in (None, reference_masks(weights, sparsity / 2)):
        got = magnitude_masks(weights, sparsity, current=current)
        want = reference_masks(weights, sparsity, current)
        assert all(torch.equal(g.flatten(), w) for g, w in zip(got, want))


def test_threshold_search_with_biased_sample(monkeypatch):
    """A layout the strided sample misreads (every sampled entry large) still gives the exact masks."""
    import sparselib.topk as M

    monkeypatch.setattr(M, "_SAMPLE", 100)
    w = torch.rand(10_000) * 0.01
    w[::100] = 10.0 + torch.rand(100)  # exactly the entries the stride-100 sample sees
    for sparsity in (0.5, 0.995):
        got = magnitude_masks([w.view(100, 100)], sparsity)[0]
        assert torch.equal(got.flatten(), reference_masks([w], sparsity)[0])


def test_channels_last_weights_are_ranked_in_logical_order():
    w = torch.randn(8, 4, 3, 3)
    got = magnitude_masks([w.to(memory_format=torch.channels_last)], 0.6)[0]
    assert torch.equal(got, magnitude_masks([w], 0.6)[0])


def test_rejects_sparsity_outside_unit_interval():
    with pytest.raises(ValueError, match="sparsity"):
        magnitude_masks([torch.randn(4)], 1.0)


def _train_steps(net, masks, opt, steps, x, y):
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        masks.mask_grads()
        opt.step()
        masks.apply()


def test_zeros_survive_sgd_momentum_weight_decay_and_checkpoint(tmp_path):
    net = small_net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    masks = Masks(net)
    torch.manual_seed(0)
    x, y = torch.randn(16, 3, 8, 8), torch.randint(0, 5, (16,))
    _train_steps(net, masks, opt, 5, x, y)  # momentum buffers exist before pruning
    prune_magnitude(masks, 0.9, opt)
    _train_steps(net, masks, opt, 50, x, y)
    for p, m in zip(masks.params, masks.masks):
        assert bool((p[~m] == 0).all())
        assert bool((opt.state[p]["momentum_buffer"][~m] == 0).all())
    assert sparsity_of(net)[0] == pytest.approx(round(0.9 * sum(p.numel() for p in masks.params))
                                                / sum(p.numel() for p in masks.params))
    save_torch(tmp_path / "ck.pt", {"model": net.state_dict(), "masks": masks.state_dict(),
                                    "optimizer": opt.state_dict()})
    state = load_torch(tmp_path / "ck.pt")
    net2 = small_net(5)
    net2.load_state_dict(state["model"])
    masks2 = Masks(net2)
    masks2.load_state_dict(state["masks"])
    opt2 = torch.optim.SGD(net2.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    opt2.load_state_dict(state["optimizer"])
    _train_steps(net2, masks2, opt2, 10, x, y)
    for p, m in zip(masks2.params, masks.masks):
        assert bool((p[~m] == 0).all())


def test_grad_masking_alone_keeps_zeros():
    """With the gradient of pruned entries zeroed, SGD's momentum and weight decay cannot move a zero weight."""
    net = small_net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    masks = Masks(net)
    prune_magnitude(masks, 0.7, opt)
    x, y = torch.randn(8, 3, 8, 8), torch.randint(0, 5, (8,))
    for _ in range(20):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        masks.mask_grads()
        opt.step()  # no masks.apply()
    for p, m in zip(masks.params, masks.masks):
        assert bool((p[~m] == 0).all())


def test_pruned_state_dict_round_trips_through_torch_prune():
    net = small_net()
    masks = Masks(net)
    prune_magnitude(masks, 0.75)
    state = copy.deepcopy(net.state_dict())
    other = small_net(9)
    other.load_state_dict(state)
    modules = {"0.weight": other[0], "3.weight": other[3], "7.weight": other[7]}
    for name, mask in masks.as_dict().items():
        prune.custom_from_mask(modules[name], "weight", mask)
        assert torch.equal(modules[name].weight, state[name])  # masking changed nothing: zeros are already there
    for module in modules.values():
        prune.remove(module, "weight")
    back = other.state_dict()
    assert back.keys() == state.keys()
    assert all(torch.equal(back[k], state[k]) for k in state)


def test_sparsity_over_prunable_and_all_parameters():
    net = nn.Sequential(nn.Linear(4, 2), nn.BatchNorm1d(2))  # 8 weights, 2 bias, 2+2 BN
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[0., 1, 0, 2], [3, 0, 0, 4]]))
        net[0].bias.zero_()
    prunable, total = sparsity_of(net)
    assert prunable == 4 / 8
    assert total == (4 + 2 + 0 + 2) / 14  # BN weight=1, bias=0


def test_mask_state_round_trips_and_statistics_are_measured_on_the_weights():
    net = small_net()
    masks = Masks(net)
    assert masks.state_dict()["active"] is False
    fresh = Masks(small_net())
    fresh.load_state_dict(masks.state_dict())  # an inactive state leaves the new masks inactive
    assert fresh.active is False
    keep = [torch.rand(p.shape, generator=torch.Generator().manual_seed(i)) > 0.5
            for i, p in enumerate(masks.params)]
    masks.set(dict(zip(masks.names, keep)))  # by name
    masks.apply()
    state = masks.state_dict()
    assert state["active"] is True and list(state["masks"]) == masks.names
    assert all(m.device.type == "cpu" and m.dtype == torch.bool for m in state["masks"].values())
    fresh.load_state_dict(state)
    assert fresh.active and all(torch.equal(a, b) for a, b in zip(fresh.masks, keep))
    assert masks.as_dict().keys() == set(masks.names) or list(masks.as_dict()) == masks.names
    with torch.no_grad():
        masks.params[0].view(-1)[torch.nonzero(keep[0].reshape(-1))[0]] = 0.0  # a kept weight that is exactly 0
    density = masks.density()
    for (name, p), k in zip(zip(masks.names, masks.params), keep):
        assert density[name] == pytest.approx(float((p != 0).sum()) / p.numel())
    stats = masks.stats()
    assert [s["name"] for s in stats] == masks.names
    first = stats[0]
    assert first["numel"] == masks.params[0].numel() and first["kept"] == int(keep[0].sum())
    assert first["nonzero"] == first["kept"] - 1  # measured on the weights: the zeroed kept weight counts


@pytest.mark.parametrize("ties", [False, True])
def test_the_sample_bracket_finds_the_threshold_without_bisection(monkeypatch, ties):
    """On an unskewed distribution the strided sample's bracket holds the k-th key (6 standard deviations of a sample
    quantile's rank either side), so the search needs its one counting pass and no bisection; the key is exact."""
    import sparselib.topk as M

    monkeypatch.setattr(M, "_SAMPLE", 256)
    monkeypatch.setattr(M._Keys, "count_le", lambda self, t: pytest.fail("the bracket missed: bisection ran"))
    g = torch.Generator().manual_seed(3)
    scores = [torch.randint(0, 40, (n,), generator=g).float() if ties else torch.rand(n, generator=g)
              for n in (20_000, 3_000, 11)]
    keys = M._Keys(scores, None, cache=True)
    flat = torch.cat(list(keys))
    for k in (1, 2, 100, 11_505, 23_010, 23_011):
        assert M._kth_smallest_low_memory(keys, k) == int(torch.kthvalue(flat, k).values)


def test_sparsity_of_named_layers_and_of_tiny_models():
    net = nn.Sequential(nn.Linear(2, 1, bias=False), nn.Linear(1, 1, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[0.0, 5.0]]))
        net[1].weight.zero_()
    assert sparsity_of(net, names=["1.weight"]) == (1.0, 2 / 3)  # one weight, zero: fully sparse
    assert sparsity_of(net, names=["0.weight"]) == (0.5, 2 / 3)
    assert sparsity_of(net, names=[]) == (0.0, 2 / 3)           # nothing prunable: 0, not a division by zero
    assert sparsity_of(nn.Sequential()) == (0.0, 0.0)


def test_masks_over_named_parameters_keep_the_given_names_and_order():
    net = small_net()
    masks = Masks(net, names=["7.weight", "1.weight"])  # any parameters, in the given order (BN weight included)
    assert masks.names == ["7.weight", "1.weight"]
    assert masks.params[0] is net[7].weight and masks.params[1] is net[1].weight
    assert [tuple(m.shape) for m in masks.masks] == [(5, 8), (8,)] and all(bool(m.all()) for m in masks.masks)
    assert Masks(net, names=iter(["3.weight"])).names == ["3.weight"]  # any iterable, made a list
    assert Masks(net, names=[]).names == []


def test_set_converts_masks_to_bool_on_the_weights_device():
    net = nn.Linear(2, 2, bias=False)
    masks = Masks(net)
    masks.set([torch.tensor([[1.0, 0.0], [0.0, 2.0]])])  # a float mask: non-zero = kept
    assert masks.masks[0].dtype == torch.bool
    assert masks.masks[0].tolist() == [[True, False], [False, True]]
    assert masks.state_dict()["masks"]["weight"].dtype == torch.bool
    meta = Masks(nn.Linear(2, 2, bias=False, device="meta"))  # a device other than the masks' (CPU) one
    meta.set({"weight": torch.ones(2, 2, dtype=torch.bool)})
    assert meta.masks[0].device.type == "meta" and meta.masks[0].dtype == torch.bool


def _two_layer_net():
    net = nn.Sequential(nn.Linear(4, 1, bias=False), nn.Linear(1, 4, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, -2.0, 3.0, -4.0]]))
        net[1].weight.copy_(torch.tensor([[10.0], [-20.0], [30.0], [-40.0]]))
    return net


def test_prune_magnitude_passes_the_allocation_on():
    # 8 weights to sparsity 0.5: 4 kept.  Global: the 4 largest |w| overall, all of layer 1 (10..40).
    masks = Masks(_two_layer_net())
    prune_magnitude(masks, 0.5)
    assert [m.flatten().tolist() for m in masks.masks] == [[False] * 4, [True] * 4]
    # uniform: every layer to 0.5, so each keeps its own 2 largest (|3|, |-4| and |30|, |-40|)
    masks = Masks(_two_layer_net())
    prune_magnitude(masks, 0.5, allocation="uniform")
    assert [m.flatten().tolist() for m in masks.masks] == [[False, False, True, True]] * 2
    assert masks.params[0].flatten().tolist() == [0.0, 0.0, 3.0, -4.0]


def test_prune_magnitude_zeroes_the_momentum_of_the_pruned_entries():
    net = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, -2.0, 3.0, -4.0]]))
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    opt.state[net.weight]["momentum_buffer"] = torch.full((1, 4), 7.0)
    masks = Masks(net)
    prune_magnitude(masks, 0.5, opt)  # keeps |3| and |-4|
    assert opt.state[net.weight]["momentum_buffer"].tolist() == [[0.0, 0.0, 7.0, 7.0]]
    assert net.weight.tolist() == [[0.0, 0.0, 3.0, -4.0]]


def test_sparsity_of_adds_up_every_prunable_layer_and_divides_by_the_true_count():
    net = nn.Sequential(nn.Linear(2, 1, bias=False), nn.Linear(1, 1, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[0.0, 5.0]]))
        net[1].weight.copy_(torch.tensor([[0.0]]))
    assert sparsity_of(net) == (2 / 3, 2 / 3)  # zeros 1 + 1 of weights 2 + 1, both layers prunable
    one = nn.Linear(1, 1, bias=False)  # a model of a single scalar parameter, which is zero
    with torch.no_grad():
        one.weight.zero_()
    assert sparsity_of(one) == (1.0, 1.0)


def test_masks_are_not_in_force_until_set():
    """Before the first set() (or pruning) the masks are inactive: apply() and a magnitude prune ignore them."""
    net = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, -2.0, 3.0, -4.0]]))
    masks = Masks(net)
    masks.masks[0][0, 3] = False  # edited by hand, never set: not in force
    masks.apply()
    assert net.weight.tolist() == [[1.0, -2.0, 3.0, -4.0]]
    prune_magnitude(masks, 0.25)  # 1 of 4 pruned, the smallest |w| = 1; -4 is not taken as already pruned
    assert masks.masks[0].tolist() == [[False, True, True, True]]
    assert net.weight.tolist() == [[0.0, -2.0, 3.0, -4.0]]
