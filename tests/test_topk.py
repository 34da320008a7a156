"""sparselib.topk: the exact top-k selection and its two threshold searches.

Expected values are worked out by hand (the keys are the float32 bit patterns, computed here with ``struct``) or
come from PyTorch's own sort/kthvalue over the concatenation.  The low-memory search is driven through every branch
on small, adversarial layouts (``_SAMPLE`` and ``_MAX_CANDIDATES`` shrunk), and its cost is observed by counting the
exact selections (``torch.kthvalue``: how many keys, which rank) and the bisection's counting passes.  The MPS/CUDA
device handling is checked on CPU tensors that report a fake device (a torch function mode plays the device: it
refuses ``kthvalue`` on "mps", as MPS does, and records every copy to the host)."""
import struct

import pytest
import torch
from torch.overrides import TorchFunctionMode

import sparselib.topk as M
from sparselib.topk import authors_kept, keep_largest, n_kept

_KTHVALUE = torch.kthvalue  # the real one, for oracles while torch.kthvalue is spied on


def key_of(x: float) -> int:
    """The int32 bit pattern of float32 ``x`` (by struct, independent of torch)."""
    return struct.unpack("<i", struct.pack("<f", x))[0]


def float_with_key(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<i", bits))[0]


def oracle_masks(scores, k, exclude=None):
    """The k largest, excluded entries ranked below all (-1), ties to the earlier entry: a stable descending sort."""
    vals = [s.detach().float().abs().reshape(-1).clone() for s in scores]
    if exclude is not None:
        for v, e in zip(vals, exclude):
            v[e.reshape(-1)] = -1.0
    flat = torch.cat(vals)
    keep = torch.zeros(flat.numel(), dtype=torch.bool)
    keep[torch.sort(flat, descending=True, stable=True).indices[:k]] = True
    return [m.view(s.shape) for m, s in zip(keep.split([s.numel() for s in scores]), scores)]


def kth_smallest_key(scores, k, exclude=None):
    """Oracle: PyTorch's kthvalue over the concatenated keys."""
    vals = []
    for i, s in enumerate(scores):
        key = s.float().abs().reshape(-1).view(torch.int32).clone()
        if exclude is not None:
            key[exclude[i].reshape(-1)] = -1
        vals.append(key)
    return int(_KTHVALUE(torch.cat(vals), k).values)


@pytest.fixture
def passes(monkeypatch):
    """Records each exact selection, as (number of keys, rank), and each counting pass of the bisection (threshold)."""
    log = {"kthvalue": [], "count_le": []}

    def kthvalue(input, k, *args, **kwargs):
        log["kthvalue"].append((input.numel(), k))
        return _KTHVALUE(input, k, *args, **kwargs)

    real_count_le = M._Keys.count_le

    def count_le(self, t):
        log["count_le"].append(t)
        return real_count_le(self, t)

    monkeypatch.setattr(torch, "kthvalue", kthvalue)
    monkeypatch.setattr(M._Keys, "count_le", count_le)
    return log


# -- keep_largest: hand-computed selections --------------------------------------------------------------------------
TIE_SCORES = [[[0.5, 2.0], [2.0, 1.0]], [2.0, 3.0, 0.5]]
# flattened order: t0 = 0.5, 2.0, 2.0, 1.0 | t1 = 2.0, 3.0, 0.5;
# the 2.0s rank t0[0,1], t0[1,0], t1[0]; the 0.5s t0[0,0], t1[2]
TIE_KEPT = {
    1: ([[0, 0], [0, 0]], [0, 1, 0]),
    2: ([[0, 1], [0, 0]], [0, 1, 0]),
    3: ([[0, 1], [1, 0]], [0, 1, 0]),
    4: ([[0, 1], [1, 0]], [1, 1, 0]),
    5: ([[0, 1], [1, 1]], [1, 1, 0]),
    6: ([[1, 1], [1, 1]], [1, 1, 0]),
}


@pytest.mark.parametrize("low_memory", [False, True])
@pytest.mark.parametrize("k", sorted(TIE_KEPT))
def test_keep_largest_by_hand_with_ties_across_tensors(k, low_memory):
    scores = [torch.tensor(s) for s in TIE_SCORES]
    got = keep_largest(scores, k, low_memory=low_memory)
    want = [torch.tensor(w, dtype=torch.bool) for w in TIE_KEPT[k]]
    assert [g.dtype for g in got] == [torch.bool, torch.bool]
    assert all(torch.equal(g, w) for g, w in zip(got, want))
    assert all(torch.equal(g, o) for g, o in zip(got, oracle_masks(scores, k)))


EXCL_KEPT = {  # non-excluded 4 (t0[3]), 3 (t1[0]), 1 (t0[1]), 0 (t0[2]); then the excluded t0[0] (a 5), t1[1]
    1: ([0, 0, 0, 1], [0, 0]),
    2: ([0, 0, 0, 1], [1, 0]),
    3: ([0, 1, 0, 1], [1, 0]),
    4: ([0, 1, 1, 1], [1, 0]),
    5: ([1, 1, 1, 1], [1, 0]),
}


@pytest.mark.parametrize("low_memory", [False, True])
@pytest.mark.parametrize("k", sorted(EXCL_KEPT))
def test_excluded_entries_go_first_and_among_themselves_by_position(k, low_memory):
    scores = [torch.tensor([5.0, 1.0, 0.0, 4.0]), torch.tensor([3.0, 3.0])]
    exclude = [torch.tensor([True, False, False, False]), torch.tensor([False, True])]
    got = keep_largest(scores, k, exclude=exclude, low_memory=low_memory)
    want = [torch.tensor(w, dtype=torch.bool) for w in EXCL_KEPT[k]]
    assert all(torch.equal(g, w) for g, w in zip(got, want))


@pytest.mark.parametrize("low_memory", [False, True])
def test_k_zero_keeps_nothing_and_k_all_keeps_everything(low_memory):
    scores = [torch.tensor([[1.0, 0.0, 2.0]]), torch.tensor([3.0]), torch.zeros(2, 2, 1)]
    exclude = [torch.tensor([[False, True, False]]), torch.tensor([True]), torch.zeros(2, 2, 1, dtype=torch.bool)]
    for ex in (None, exclude):
        none = keep_largest(scores, 0, exclude=ex, low_memory=low_memory)
        every = keep_largest(scores, 8, exclude=ex, low_memory=low_memory)
        assert [m.shape for m in none] == [m.shape for m in every] == [s.shape for s in scores]
        assert all(m.dtype == torch.bool and not m.any() for m in none)
        assert all(m.dtype == torch.bool and m.all() for m in every)


@pytest.mark.parametrize("low_memory", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_keep_largest_matches_a_stable_sort_with_ties_and_exclusions(monkeypatch, seed, low_memory):
    monkeypatch.setattr(M, "_SAMPLE", 16)  # a real strided sample on small tensors
    g = torch.Generator().manual_seed(seed)
    sizes = [(7, 9), (40,), (3, 2, 5), (1,)]
    scores = [torch.randint(0, 6, s, generator=g).float() * (-1) ** seed for s in sizes]  # heavy ties; signs ignored
    exclude = [torch.rand(s, generator=g) < 0.25 for s in sizes]
    n = sum(s.numel() for s in scores)
    for k in (1, 2, 17, 50, n - 1, n):
        for ex in (None, exclude):
            got = keep_largest(scores, k, exclude=ex, low_memory=low_memory)
            assert all(torch.equal(a, b) for a, b in zip(got, oracle_masks(scores, k, ex)))
            assert sum(int(m.sum()) for m in got) == k


def test_keep_largest_matches_torch_topk_on_distinct_scores():
    g = torch.Generator().manual_seed(5)
    scores = [torch.rand(6, 4, generator=g), torch.rand(13, generator=g), torch.rand(2, 2, 2, generator=g)]
    flat = torch.cat([s.reshape(-1) for s in scores])
    for k in (1, 10, 29, 44):
        want = torch.zeros(flat.numel(), dtype=torch.bool)
        want[torch.topk(flat, k).indices] = True
        for low_memory in (False, True):
            got = torch.cat([m.reshape(-1) for m in keep_largest(scores, k, low_memory=low_memory)])
            assert torch.equal(got, want)


@pytest.mark.parametrize("bad,shown", [(-1, "-1"), (8, "8"), (2.0, "2.0"), (True, "True"), ("3", "'3'"),
                                       (None, "None")])
def test_keep_largest_rejects_impossible_k_with_one_exact_message(bad, shown):
    for low_memory in (False, True):
        with pytest.raises(ValueError, match=rf"^k={shown} must be an integer in \[0, 7\]$"):
            keep_largest([torch.ones(3), torch.ones(2, 2)], bad, low_memory=low_memory)


def test_exclude_must_have_one_tensor_per_score_tensor():
    with pytest.raises(ValueError, match=r"^exclude has 1 tensors for 2 score tensors$"):
        keep_largest([torch.ones(3), torch.ones(2)], 1, exclude=[torch.zeros(3, dtype=torch.bool)])


def test_kept_counts_by_hand():
    # n_kept rounds the pruned count (round half to even), authors_kept truncates the kept count: they differ by one
    assert n_kept(10, 0.25) == 8 and authors_kept(10, 0.25) == 7   # round(2.5) = 2 pruned; int(7.5) = 7 kept
    assert n_kept(10, 0.35) == 6 and authors_kept(10, 0.35) == 6
    assert authors_kept(1000, 0.9) == 99                           # (1 - 0.9) * 1000 = 99.99999999999997
    assert authors_kept(8, 0.0) == 8 and authors_kept(8, 1.0) == 0


# -- the keys and the strided sample ---------------------------------------------------------------------------------
def test_score_keys_order_like_the_magnitudes_and_excluded_get_minus_one():
    score = torch.tensor([[-2.0, 0.0], [1e-45, float("inf")]])
    key = M.score_key(score, torch.tensor([[False, False], [False, True]]))
    assert key.dtype == torch.int32 and key.tolist() == [key_of(2.0), 0, 1, -1]
    assert M.score_key(score).tolist() == [key_of(2.0), 0, 1, key_of(float("inf"))]


def test_sample_is_every_key_when_there_are_fewer_than_two_sample_sizes():
    scores = [torch.tensor([3.0, 1.0, 2.0]), torch.tensor([[5.0, 0.0], [4.0, 6.0]])]
    exclude = [torch.tensor([False, True, False]), torch.tensor([[False, False], [True, False]])]
    for cache in (False, True):
        got = M._Keys(scores, exclude, cache=cache).sample()
        assert got.tolist() == [-1, -1, 0, key_of(2.0), key_of(3.0), key_of(5.0), key_of(6.0)]


def test_sample_takes_every_stride_th_key_of_each_tensor(monkeypatch):
    monkeypatch.setattr(M, "_SAMPLE", 4)  # 10 keys // 4 = stride 2: positions 0, 2, 4 of the first, 0, 2 of the second
    scores = [torch.arange(10.0, 16.0), torch.arange(20.0, 24.0).view(2, 2)]
    exclude = [torch.tensor([False, False, True, False, False, False]), torch.zeros(2, 2, dtype=torch.bool)]
    got = M._Keys(scores, exclude, cache=False).sample()
    assert got.tolist() == [-1, key_of(10.0), key_of(14.0), key_of(20.0), key_of(22.0)]


# -- the low-memory search: which branch runs, and what it costs ------------------------------------------------------
def hundred_distinct():
    """The values 0..99, shuffled, in three tensors: fewer than 2 * _SAMPLE keys, so the sample is every key (m = n)."""
    flat = torch.randperm(100, generator=torch.Generator().manual_seed(0)).float()
    return [flat[:50].view(5, 10), flat[50:80], flat[80:].view(4, 5)]


# m = n = 100: margin = 6 * sqrt(100 / 4) + 2 = 32 and pos = k - 0.5, so lo = s[int(k - 32.5)] (-2 below index 0: int()
# truncates, so k = 32 gives index 0) and hi = s[ceil(k + 31.5)] (2**31 - 1 from index 100 on).  With distinct keys
# c_le_lo = lo's index + 1 and the exact selection runs over c_le_hi - c_le_lo candidates at rank k - c_le_lo.
BRACKETS = {  # k: (candidates, rank)
    1: (34, 1),     # lo = -2, hi = s[33]
    31: (64, 31),   # lo = -2 (index int(-1.5) = -1), hi = s[63]
    32: (64, 31),   # lo = s[0] (index int(-0.5) = 0), hi = s[64]
    33: (65, 32),   # lo = s[0], hi = s[65]
    50: (65, 32),   # lo = s[17], hi = s[82]
    67: (65, 32),   # lo = s[34], hi = s[99]
    68: (64, 32),   # lo = s[35], hi index 100 = m: above every key
    100: (32, 32),  # lo = s[67]
}


@pytest.mark.parametrize("k", sorted(BRACKETS))
def test_sample_bracket_is_six_standard_deviations_wide(passes, k):
    keys = M._Keys(hundred_distinct(), None, cache=False)
    assert M._kth_smallest_low_memory(keys, k) == key_of(k - 1.0)
    assert passes == {"kthvalue": [BRACKETS[k]], "count_le": []}


def test_candidates_are_gathered_up_to_max_candidates_then_bisection(passes, monkeypatch):
    keys = M._Keys(hundred_distinct(), None, cache=True)
    monkeypatch.setattr(M, "_MAX_CANDIDATES", 65)  # k = 50: exactly 65 candidates (18 keys <= lo, 83 <= hi)
    assert M._kth_smallest_low_memory(keys, 50) == key_of(49.0)
    assert passes == {"kthvalue": [(65, 32)], "count_le": []}
    monkeypatch.setattr(M, "_MAX_CANDIDATES", 64)  # one fewer: bisect between lo and hi instead
    assert M._kth_smallest_low_memory(keys, 50) == key_of(49.0)
    assert passes["kthvalue"] == [(65, 32)] and passes["count_le"]


@pytest.mark.parametrize("low_memory", [False, True])
def test_all_equal_scores_are_found_at_the_bracket_edge_without_any_selection(passes, low_memory):
    # every sampled key is the one key, so from k = 32 on (lo's index int(k - 32.5) >= 0) lo = it and
    # c_lt_lo = 0 < k <= c_le_lo = 100: lo is returned at once (k = 100 - keep + 1; k = 100 keeps 1)
    scores = [torch.full((10, 6), 0.25), torch.full((40,), -0.25)]
    for keep in (1, 2, 50, 69, 99):
        if keep == 99:  # k = 2: lo = -2, hi = s[34]: one selection over all 100 keys
            passes["kthvalue"].clear()
        got = keep_largest(scores, keep, low_memory=low_memory)
        assert torch.equal(torch.cat([m.reshape(-1) for m in got]), torch.arange(100) < keep)  # the earliest ones
        if low_memory and keep == 69:
            assert passes == {"kthvalue": [], "count_le": []}
    if low_memory:
        assert passes == {"kthvalue": [(100, 2)], "count_le": []}
    keys = M._Keys(scores, None, cache=False)
    for k in (1, 100):
        assert M._kth_smallest_low_memory(keys, k) == key_of(0.25)
    assert passes["count_le"] == []


def strided_layout(sampled, unsampled, exclude_unsampled=None):
    """1000 keys in tensors of 600 and 400 (as 60 x 10 and 40 x 10); with _SAMPLE = 100 the stride is 10 and the
    sample is exactly column 0, which holds ``sampled`` (100 values); the other 900 positions hold ``unsampled``."""
    flat = torch.empty(100, 10)
    flat[:, 0] = torch.as_tensor(sampled, dtype=torch.float32)
    flat[:, 1:] = torch.as_tensor(unsampled, dtype=torch.float32).view(100, 9)
    exclude = torch.zeros(100, 10, dtype=torch.bool)
    if exclude_unsampled is not None:
        exclude[:, 1:] = torch.as_tensor(exclude_unsampled).view(100, 9)
    return [flat[:60].clone(), flat[60:].clone()], [exclude[:60].clone(), exclude[60:].clone()]


def shuffled(values, seed=0):
    values = torch.as_tensor(values, dtype=torch.float32)
    return values[torch.randperm(values.numel(), generator=torch.Generator().manual_seed(seed))]


# With m = 100 of n = 1000 keys: pos = (k - 0.5) / 10 and margin = 32, so lo = s[int((k - 0.5) / 10 - 32)] and
# hi = s[ceil((k - 0.5) / 10 + 32)] (above every key from index 100 on).
def test_sample_of_large_keys_over_small_ones_bisects_below_lo(monkeypatch, passes):
    monkeypatch.setattr(M, "_SAMPLE", 100)
    scores, _ = strided_layout(shuffled(1000.0 + torch.arange(100.0)), torch.zeros(900))
    keys = M._Keys(scores, None, cache=False)
    # k = 500: lo = s[17] = 1017, 917 keys below it >= k: bisect over [-2, lo]; the 500th smallest is a zero
    assert M._kth_smallest_low_memory(keys, 500) == 0 and passes["count_le"] and passes["kthvalue"] == []
    # k = 964: lo = s[64] = 1064 with exactly 964 keys below it: the 964th smallest is below lo, found by bisection
    passes["count_le"].clear()
    assert M._kth_smallest_low_memory(keys, 964) == key_of(1063.0) and passes["count_le"]
    # k = 965: 964 keys below lo = 1064 < k <= 965 keys up to it: lo itself, no selection and no bisection
    passes["count_le"].clear()
    assert M._kth_smallest_low_memory(keys, 965) == key_of(1064.0) and passes == {"kthvalue": [], "count_le": []}
    for k in (500, 964, 965):
        assert M._kth_smallest_low_memory(keys, k) == kth_smallest_key(scores, k)


def test_bisection_below_lo_reaches_the_excluded_keys(monkeypatch, passes):
    monkeypatch.setattr(M, "_SAMPLE", 100)
    excluded = (torch.arange(900) % 9) < 4  # 400 of the 900 zeros
    scores, exclude = strided_layout(shuffled(1000.0 + torch.arange(100.0)), torch.zeros(900), excluded)
    keys = M._Keys(scores, exclude, cache=True)
    # k = 350: lo = s[2] = 1002 with 902 keys below it; the 350th smallest key is an excluded entry's -1
    assert M._kth_smallest_low_memory(keys, 350) == -1 == kth_smallest_key(scores, 350, exclude)
    assert M._kth_smallest_low_memory(keys, 401) == 0 == kth_smallest_key(scores, 401, exclude)
    assert passes["count_le"] and passes["kthvalue"] == []
    for keep in (599, 600, 650, 999):  # keep_largest's threshold is the (1000 - keep + 1)-th smallest key
        got = keep_largest(scores, keep, exclude=exclude, low_memory=True)
        assert all(torch.equal(a, b) for a, b in zip(got, oracle_masks(scores, keep, exclude)))


def test_sample_of_small_keys_under_large_ones_bisects_above_hi(monkeypatch, passes):
    monkeypatch.setattr(M, "_SAMPLE", 100)
    scores, _ = strided_layout(shuffled(torch.arange(100.0)), shuffled(1000.0 + torch.arange(900.0), seed=1))
    keys = M._Keys(scores, None, cache=False)
    # k = 500: hi = s[82] = 82 with only 83 keys up to it: bisect over [hi, 2**31 - 1]; the 500th smallest is 1399
    assert M._kth_smallest_low_memory(keys, 500) == key_of(1399.0) == kth_smallest_key(scores, 500)
    assert passes["count_le"] and passes["kthvalue"] == []
    # k = 37: lo = -2, hi = s[36] = 36 with exactly 37 keys up to it; no candidates allowed: bisect over [-2, hi]
    monkeypatch.setattr(M, "_MAX_CANDIDATES", 0)
    assert M._kth_smallest_low_memory(keys, 37) == key_of(36.0) == kth_smallest_key(scores, 37)
    for keep in (1, 463, 501, 964, 999):
        got = keep_largest(scores, keep, low_memory=True)
        assert all(torch.equal(a, b) for a, b in zip(got, oracle_masks(scores, keep)))


def test_huge_outliers_above_the_bracket():
    # 80 ordinary scores and 20 huge ones (1e10 .. 2e11, keys far above 2**30); the sample is every key
    values = shuffled([float(i) for i in range(80)] + [1e10 * i for i in range(1, 21)])
    scores = [values[:64].view(8, 8), values[64:]]
    keys = M._Keys(scores, None, cache=True)
    for k in (80, 81, 90, 100):  # k >= 68: hi is above every key (2**31 - 1)
        assert M._kth_smallest_low_memory(keys, k) == kth_smallest_key(scores, k)
    assert M._kth_smallest_low_memory(keys, 90) == key_of(1e11)
    for keep in (1, 11, 20, 21):
        got = keep_largest(scores, keep, low_memory=True)
        assert all(torch.equal(a, b) for a, b in zip(got, oracle_masks(scores, keep)))


def below(bits):
    """The float32 whose key is ``2**30 - bits`` (2.0 has the key 2**30): 2.0 minus ``bits`` steps."""
    return float_with_key(2 ** 30 - bits)


# Bisection over a key range of exactly 2**30 halves it exactly: 30 counting passes, whatever the answer.  Each case
# puts the bracket end at a key 2**30 away from the other end (-2 below every key, or 2**31 - 1 above every key).
# (sampled, unsampled, _MAX_CANDIDATES or None, k, the k-th smallest key)
POWER_OF_TWO_RANGES = {
    # lo = s[17] = below(2) with 917 keys under it: bisect over [-2, 2**30 - 2]; the answer is lo's neighbour below
    "below lo": ([0.0] * 17 + [below(2)] + [3.0] * 82, [0.0] * 480 + [below(3)] * 420, None, 500, 2 ** 30 - 3),
    # lo = -2, hi = s[36] = below(2) with exactly 37 keys up to it, no candidates: bisect over [-2, hi]; the answer hi
    "up to hi": ([0.0] * 36 + [below(2)] + [3.0] * 63, [5.0] * 900, 0, 37, 2 ** 30 - 2),
    # hi = s[82] = below(1) with 100 keys up to it: bisect over [2**30 - 1, 2**31 - 1]; the answer just above hi ...
    "above hi, near": ([0.0] * 82 + [below(1)] * 18, [2.0] * 395 + [2.0 ** 65] * 505, None, 495, key_of(2.0)),
    # ... or far above it (2**65 has the key 0x60000000, just above the first probe (2**30 - 1 + 2**31 - 1) // 2)
    "above hi, far": ([0.0] * 82 + [below(1)] * 18, [2.0] * 395 + [2.0 ** 65] * 505, None, 500, 0x60000000),
    # k = 700: lo = s[37] = below(1), hi beyond the sample's end: above every key; no candidates: bisect over
    # [2**30 - 1, 2**31 - 1]; the answer just above lo
    "between lo and the top": ([0.0] * 37 + [below(1)] * 63, [2.0] * 900, 0, 700, key_of(2.0)),
}


@pytest.mark.parametrize("case", sorted(POWER_OF_TWO_RANGES))
def test_bisection_over_a_power_of_two_key_range_takes_exactly_log2_passes(monkeypatch, passes, case):
    sampled, unsampled, max_candidates, k, want = POWER_OF_TWO_RANGES[case]
    monkeypatch.setattr(M, "_SAMPLE", 100)
    if max_candidates is not None:
        monkeypatch.setattr(M, "_MAX_CANDIDATES", max_candidates)
    scores, _ = strided_layout(shuffled(sampled), shuffled(unsampled, seed=1))
    assert kth_smallest_key(scores, k) == want
    assert M._kth_smallest_low_memory(M._Keys(scores, None, cache=False), k) == want
    assert passes["kthvalue"] == [] and len(passes["count_le"]) == 30


# -- the device handling: kthvalue is not implemented on MPS, and the fast path must not copy to the host elsewhere ---
class OnFakeDevice(torch.Tensor):
    """CPU data that reports ``kind`` as its device."""
    kind = "mps"

    @property
    def device(self):
        return torch.device(type(self).kind)


class FakeDevice(TorchFunctionMode):
    """Plays an accelerator ``kind`` for OnFakeDevice tensors: ``.cpu()`` returns plain CPU tensors, ``.to(kind)``
    returns fake-device ones, and ``kthvalue`` on a fake-device tensor fails on "mps" (as on real MPS).  ``log`` records
    each host copy, each move and where each kthvalue ran."""

    def __init__(self, kind):
        super().__init__()
        self.kind, self.log = kind, []
        self.cls = type(f"On{kind}", (OnFakeDevice,), {"kind": kind})

    def put(self, t):
        return t.as_subclass(self.cls)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        fake = bool(args) and isinstance(args[0], OnFakeDevice)
        if func is torch.Tensor.cpu:
            self.log.append("cpu")
            return args[0].as_subclass(torch.Tensor)
        if func is torch.Tensor.to:
            device = args[1] if len(args) > 1 else kwargs.get("device")
            self.log.append(f"to {device}")
            if isinstance(device, torch.device) and device.type == self.kind:
                return self.put(args[0].as_subclass(torch.Tensor))
        if func in (torch.kthvalue, torch.Tensor.kthvalue):
            self.log.append(f"kthvalue on {self.kind if fake else 'cpu'}")
            if fake and self.kind == "mps":
                raise NotImplementedError("kthvalue is not implemented on mps")
        return func(*args, **kwargs)


DEVICE_SCORES = [[4.0, 1.0, 3.0], [0.5, 2.0]]  # keys: the 2nd smallest is 1.0, keep 2 keeps the 4 and the 3


def test_fast_threshold_on_mps_selects_on_the_cpu_and_returns_to_mps():
    with FakeDevice("mps") as dev:
        keys = M._Keys([dev.put(torch.tensor(s)) for s in DEVICE_SCORES], None, cache=True)
        t = M._kth_smallest_fast(keys, 2)
        assert dev.log == ["cpu", "kthvalue on cpu", "to mps"]
        assert isinstance(t, OnFakeDevice) and t.device.type == "mps" and int(t) == key_of(1.0)


def test_fast_threshold_on_cuda_selects_on_the_device_without_a_host_copy():
    with FakeDevice("cuda") as dev:
        keys = M._Keys([dev.put(torch.tensor(s)) for s in DEVICE_SCORES], None, cache=True)
        t = M._kth_smallest_fast(keys, 2)
        assert dev.log == ["kthvalue on cuda", "to cuda"]
        assert t.device.type == "cuda" and int(t) == key_of(1.0)


@pytest.mark.parametrize("kind,log", [("mps", ["cpu", "kthvalue on cpu"]), ("cuda", ["kthvalue on cuda"])])
def test_low_memory_candidates_are_selected_on_the_cpu_only_for_mps(kind, log):
    with FakeDevice(kind) as dev:  # 5 keys: the whole sample; lo = -2, hi above all: one selection over all 5
        keys = M._Keys([dev.put(torch.tensor(s)) for s in DEVICE_SCORES], None, cache=False)
        assert M._kth_smallest_low_memory(keys, 2) == key_of(1.0)
        assert dev.log == log


@pytest.mark.parametrize("kind", ["mps", "cuda"])
@pytest.mark.parametrize("low_memory", [False, True])
def test_keep_largest_on_a_fake_device(kind, low_memory):
    with FakeDevice(kind) as dev:
        masks = keep_largest([dev.put(torch.tensor(s)) for s in DEVICE_SCORES], 2, low_memory=low_memory)
        assert [m.device.type for m in masks] == [kind, kind]
        assert [m.tolist() for m in masks] == [[True, False, True], [False, False]]
