"""Each rule where sparselib follows the study's authors' code (SPEC §6; GitHub ZIB-IOL/BIMP), checked on tiny
models against values worked out by hand, and the metadata that the methods page's fidelity table reads."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sparselib.allocation import magnitude_masks
from sparselib.config import RunConfig
from sparselib.masks import Masks
from sparselib.methods import get_method, ordered_methods
from sparselib.presets import get_preset
from sparselib.resolve import resolve
from sparselib.schedules import RetrainContext, retrain_schedule
from sparselib.state import Reference, TrainState


def bn_toy():
    """Three layers with BatchNorm: Linear(3→2) (6 weights + 2 biases), BatchNorm1d(2) (2 + 2), Linear(2→1)
    (2 weights + 1 bias): 15 parameters, 8 of them prunable."""
    return nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2), nn.Linear(2, 1))


def toy_state(method, goal, args=None, *, model=None, epochs=4, weight_decay=0.1, lr=0.1, reference=None):
    cfg = RunConfig(method=method, goal_sparsity=goal, epochs=epochs, method_args=args or {}, lr=lr,
                    weight_decay=weight_decay, lr_milestones=())
    model = model if model is not None else bn_toy()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                          weight_decay=cfg.weight_decay)
    state = TrainState(cfg, model, opt, Masks(model), torch.device("cpu"), 2, [lr] * (2 * epochs), {},
                       reference=reference)
    state.evaluate = lambda split: 0.5  # no data here: a pruning step's accuracy measurement is not what is tested
    m = resolve(cfg).build()
    m.on_train_start(state)
    return m, state


def set_values(model, values):
    """Set every parameter, in the model's order, from a flat list."""
    with torch.no_grad():
        i = 0
        for p in model.parameters():
            p.copy_(torch.tensor(values[i:i + p.numel()]).view_as(p))
            i += p.numel()


def grads(model):
    return [float(v) for p in model.parameters() for v in p.grad.reshape(-1)]


#            L1.weight (6)                   L1.bias     BN.weight    BN.bias      L2.weight    L2.bias
GRADS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.05, 0.9, 0.8, 0.01, 0.02, 0.03, 0.7, 0.04, 0.06]


# -- 1. GSM ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scope, kept", [
    # k = int((1 − 0.5) · 8) = 4.  All parameters: the 4 largest |θ·g| are 0.9 (L1 bias), 0.8 (BN weight),
    # 0.7 (L2 weight), 0.6 (L1 weight): a bias and a BatchNorm weight keep their gradient, 3 L1 weights lose it.
    ("all", {7, 8, 12, 5}),
    # prunable weights only: 0.7, 0.6, 0.5, 0.4; biases and BatchNorm untouched
    ("prunable", {12, 5, 4, 3} | {6, 7, 8, 9, 10, 11, 14}),
])
def test_gsm_keeps_the_gradient_of_the_top_k_saliencies_over_the_authors_set(scope, kept):
    m, state = toy_state("gsm", 0.5, {"scope": scope})
    set_values(state.model, [1.0] * 15)  # θ = 1: the saliency |θ·g| is |g|
    for p, g in zip(state.model.parameters(), torch.tensor(GRADS).split([6, 2, 2, 2, 2, 1])):
        p.grad = g.view_as(p).clone()
    m.after_backward(state)
    g = torch.tensor(GRADS)  # float32, as the gradients are
    expected = torch.where(torch.tensor([i in kept for i in range(15)]), g, torch.zeros(()))
    assert torch.equal(torch.cat([p.grad.reshape(-1) for p in state.model.parameters()]), expected)


def test_gsm_keeps_int_of_the_density_times_n_prunable():
    m, state = toy_state("gsm", 0.9)  # 8 prunable: int(0.1 · 8) = int(0.8000000000000002) = 0
    assert m.n_keep == 0
    m, state = toy_state("gsm", 0.3)  # int(0.7 · 8) = int(5.6) = 5 (n − round(0.3 · 8) would keep 6)
    assert m.n_keep == 5


# -- 2. LC -----------------------------------------------------------------------------------------------------------
#            L1.weight (6)                        L1.bias      BN.weight    BN.bias      L2.weight     L2.bias
THETA = [0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.05, -0.9, 0.8, 0.01, -0.02, 0.03, 0.7, -0.04, 0.06]


@pytest.mark.parametrize("scope, exempt, group_wd", [
    # the top int(0.5 · 8) = 4 of |θ| over all 15: −0.9 (L1 bias), 0.8 (BN weight), 0.7 (L2 weight), −0.6 (L1 weight);
    # every other entry decays — BatchNorm and biases too — and the optimizer's own weight decay is off everywhere
    ("all", {7, 8, 12, 5}, [0.0]),
    # prunable only: the top 4 prunable (0.7, −0.6, 0.5, −0.4) are exempt, the other prunable decay through LC,
    # biases and BatchNorm through the optimizer's ordinary weight decay (so LC adds nothing to them)
    ("prunable", {12, 5, 4, 3} | {6, 7, 8, 9, 10, 11, 14}, [0.0, 0.1]),
])
def test_lc_decays_every_entry_but_the_top_k_of_the_authors_set(scope, exempt, group_wd):
    m, state = toy_state("lc", 0.5, {"scope": scope}, weight_decay=0.1)
    set_values(state.model, THETA)
    assert sorted({g["weight_decay"] for g in state.optimizer.param_groups}) == group_wd
    for p in state.model.parameters():
        p.grad = torch.zeros_like(p)
    m.after_backward(state)
    expected = [0.0 if i in exempt else 0.1 * t for i, t in enumerate(THETA)]
    assert grads(state.model) == pytest.approx(expected, rel=1e-6, abs=0)


# -- 3. DST and 5. CS: the explicit 0.5·wd·Σw² ------------------------------------------------------------------------
def conv_toy():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 2), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2 * 2 * 2, 3))


def latent_weights(state):
    return list(state.masks.params)


@pytest.mark.parametrize("method, args, extra_group_wd, optimizer_wd", [
    ("dst", {"penalty": 0.0}, 0.1, 0.1),                                     # weights 2 × wd, thresholds 1 ×
    ("cs", {"penalty": 0.0}, 0.1, 0.1),                                      # HEAD: logits decay too
    ("cs", {"penalty": 0.0, "weight_decay_rule": "first-commit"}, 0.0, 0.0),  # 8f2b836: only the explicit term
])
def test_the_authors_explicit_weight_term_on_top_of_the_optimizers_weight_decay(method, args, extra_group_wd,
                                                                                 optimizer_wd):
    m, state = toy_state(method, 0.0, args, model=conv_toy(), weight_decay=0.1)
    groups = state.optimizer.param_groups
    assert [g["weight_decay"] for g in groups] == [optimizer_wd, extra_group_wd]
    ws = latent_weights(state)
    loss = m.extra_loss(state)
    expected = 0.5 * 0.1 * sum(float((w.detach() ** 2).sum()) for w in ws)
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-6)
    loss.backward()
    for w in ws:  # d/dw of 0.5·wd·Σw² = wd·w, added to what the optimizer's weight decay does
        assert torch.allclose(w.grad, 0.1 * w.detach(), rtol=1e-6, atol=0)


def test_dst_without_the_authors_term_has_only_the_optimizers_weight_decay():
    m, state = toy_state("dst", 0.0, {"penalty": 0.0, "weight_penalty": False}, model=conv_toy())
    assert m.extra_loss(state) is None


# -- 4. GMP allow_recovering ---------------------------------------------------------------------------------------
def test_gmp_allow_recovering_keeps_dense_values_aside_and_lets_a_pruned_weight_return():
    model = nn.Sequential(nn.Linear(4, 1, bias=False))
    m, state = toy_state("gmp", 0.75, {"allow_recovering": True}, model=model, weight_decay=0.1, lr=0.1)
    w = state.masks.params[0]
    with torch.no_grad():
        w.copy_(torch.tensor([[0.1, -0.2, 0.3, -0.4]]))
    m.recompute(state, 0.5)  # keeps the 2 largest |w|: −0.4 and 0.3
    assert state.masks.masks[0].tolist() == [[False, False, True, True]]
    assert model[0].weight[0].tolist() == pytest.approx([0.0, 0.0, 0.3, -0.4])  # the forward's weight
    assert w[0].tolist() == pytest.approx([0.1, -0.2, 0.3, -0.4])                # dense values kept aside
    # one SGD step: pruned entries get no loss gradient, only weight decay (and momentum, empty here: the first
    # Nesterov step moves by lr·(1 + μ)·wd·w)
    x = torch.ones(2, 4)
    state.optimizer.zero_grad()
    model(x).sum().backward()
    m.after_backward(state)
    state.optimizer.step()
    m.after_step(state)
    assert w[0, :2].tolist() == pytest.approx([0.1 * (1 - 0.1 * 1.9 * 0.1), -0.2 * (1 - 0.1 * 1.9 * 0.1)])
    # a pruned weight whose kept-aside value is now large comes back when the mask is recomputed from scratch
    with torch.no_grad():
        w[0, 0] = 5.0
    m.recompute(state, 0.75)
    assert state.masks.masks[0].tolist() == [[True, False, False, False]]
    m.on_train_end(state)
    state.masks.apply()
    assert isinstance(model[0].weight, nn.Parameter) and model[0].weight is w
    assert w[0].tolist() == pytest.approx([5.0, 0.0, 0.0, 0.0])  # the final model: pruned weights exactly zero


def test_gmp_without_recovering_only_extends_its_mask():
    model = nn.Sequential(nn.Linear(4, 1, bias=False))
    m, state = toy_state("gmp", 0.75, model=model)
    w = state.masks.params[0]
    with torch.no_grad():
        w.copy_(torch.tensor([[0.1, -0.2, 0.3, -0.4]]))
    state.epoch = 1
    m.on_epoch_start(state)  # GMP's first target over 4 epochs: 0.75 − 0.75·(1 − 1/3)³ = 0.5278 → 2 pruned
    assert w[0].tolist() == pytest.approx([0.0, 0.0, 0.3, -0.4])


# -- 6. BIMP's last-cycle ALLR floor ---------------------------------------------------------------------------------
def test_bimp_last_cycle_allr_floor_divides_by_the_dense_budget(monkeypatch):
    import sparselib.methods.bimp as bimp

    seen = []
    real = bimp.retrain_schedule
    monkeypatch.setattr(bimp, "retrain_schedule", lambda name, T, lrs, ctx: seen.append((name, ctx)) or
                        real(name, T, lrs, ctx))
    m, state = toy_state("bimp", 0.9, {"n_train_budget": 3, "pruning_interval": 1}, epochs=6, model=conv_toy())
    for epoch in range(6):
        state.epoch = epoch
        m.on_epoch_start(state)
    assert [name for name, _ in seen] == ["llr", "llr", "allr"]
    last = seen[-1][1]
    assert (last.retrain_epochs, last.train_epochs) == (1.0, 3.0)  # floor min(1/3, 1)·maxLR, not 1/6
    ctx = RetrainContext(distance=0.0, pruned_fraction=0.5, retrain_epochs=1.0, train_epochs=3.0)
    assert max(retrain_schedule("allr", 20, [0.1], ctx)) == pytest.approx(0.1 / 3)


# -- 7. SLR after a dense warm-up ------------------------------------------------------------------------------------
def test_slr_replaces_the_dense_warmup_by_max_lr_before_compressing():
    dense = [0.01, 0.05, 0.1, 0.1, 0.01, 0.01]  # a warm-up of 2 iterations, then a step schedule
    # T = 3 (no retraining warm-up: 3 // 10 = 0): entries i·6//3 = 0, 2, 4 of [0.1, 0.1, 0.1, 0.1, 0.01, 0.01]
    assert retrain_schedule("slr", 3, dense) == [0.1, 0.1, 0.01]
    assert retrain_schedule("slr", 3, [0.1, 0.1, 0.1, 0.1, 0.01, 0.01]) == [0.1, 0.1, 0.01]


# -- 8. STR: one weight decay, tuned with s_initial ------------------------------------------------------------------
def test_str_has_one_weight_decay_and_the_paper_presets_tune_it_with_s_initial():
    m, state = toy_state("str", 0.0, {"s_initial": -2.0}, model=conv_toy(), weight_decay=3e-3)
    assert [g["weight_decay"] for g in state.optimizer.param_groups] == [3e-3, 3e-3]  # weights + BN, thresholds
    for name in ("paper-c10", "paper-c100"):
        runs = [c for c in get_preset(name).configs() if c.method == "str"]
        assert all("s_weight_decay" not in c.method_args for c in runs)
        assert len({c.weight_decay for c in runs}) >= 2 and len({c.method_args["s_initial"] for c in runs}) >= 2


# -- 9. momentum across IMP's phases and BIMP's cycles ---------------------------------------------------------------
@pytest.mark.parametrize("method, args, epochs, prune_epochs", [
    ("imp", {"n_phases": 2, "epochs_per_phase": 1, "schedule": "llr"}, 4, (0, 1)),
    ("bimp", {"n_train_budget": 2, "pruning_interval": 1}, 4, (2, 3)),
])
def test_momentum_carries_over_between_pruning_steps_masked(method, args, epochs, prune_epochs):
    model = conv_toy()
    ref = Reference.from_weights(model.state_dict(), RunConfig(epochs=2, lr_milestones=()), 2)
    m, state = toy_state(method, 0.9, args, model=model, epochs=epochs, reference=ref)
    x, y = torch.randn(4, 1, 3, 3), torch.tensor([0, 1, 2, 0])
    state.epoch = prune_epochs[0]
    m.on_epoch_start(state)
    state.optimizer.zero_grad()
    F.cross_entropy(model(x), y).backward()
    m.after_backward(state)
    state.optimizer.step()
    m.after_step(state)
    before = [state.optimizer.state[p]["momentum_buffer"].clone() for p in model.parameters()]
    state.epoch = prune_epochs[1]
    m.on_epoch_start(state)  # the next pruning step
    for p, b in zip(model.parameters(), before):
        buf = state.optimizer.state[p]["momentum_buffer"]
        masks = dict(zip(map(id, state.masks.params), state.masks.masks))
        expected = b * masks[id(p)] if id(p) in masks else b  # kept: carried over; newly pruned: zeroed
        assert torch.equal(buf, expected)
    assert any(bool((b != 0).any()) for b in before)


# -- 10. DPF recomputes its mask when the target changes -------------------------------------------------------------
def test_dpf_recomputes_its_mask_right_when_the_target_changes():
    model = conv_toy()
    # 6 epochs, a step every 2: targets 0 (epochs 0-1), GMP's first at epoch 2, the goal at epoch 4
    m, state = toy_state("dpf", 0.5, {"pruning_interval": 2}, model=model, epochs=6)
    for epoch in (0, 1):
        state.epoch = epoch
        m.on_epoch_start(state)
        assert all(bool(b.all()) for b in m.buffers)  # target 0: nothing masked
    state.epoch = 2
    m.on_epoch_start(state)  # a new target: a new mask at once (not at the next 16-step mark)
    expected = magnitude_masks(state.masks.params, m.target(2))
    assert m.target(2) > 0 and all(torch.equal(b, e) for b, e in zip(m.buffers, expected))
    with torch.no_grad():
        state.masks.params[0].mul_(-3.0).add_(0.5)  # new weights: a recompute would change the mask
    kept = [b.clone() for b in m.buffers]
    assert not all(torch.equal(k, e) for k, e in zip(kept, magnitude_masks(state.masks.params, m.target(3))))
    state.epoch = 3
    m.on_epoch_start(state)  # the target holds: no recompute (the 16-step cadence does the rest)
    assert all(torch.equal(b, k) for b, k in zip(m.buffers, kept))


# -- the methods page's table -----------------------------------------------------------------------------------------
def test_every_method_says_which_rule_it_follows():
    for cls in ordered_methods():
        assert cls.follows, f"{cls.name} does not say whether it follows the authors' code or the paper"
        if cls.name != "rigl":  # RigL is not in the study, so not in the authors' code
            assert cls.authors_code, f"{cls.name} does not name the authors' file it follows"
    for name in ("gsm", "lc", "cs", "dst", "imp", "bimp", "dpf"):
        assert get_method(name).version >= 2  # changed rules: their old runs are stale


def test_the_fidelity_table_has_one_row_per_method_from_its_module():
    from sparselib.tables import fidelity_table

    html = fidelity_table()
    methods = ordered_methods()
    assert html.count("<tr><th>") == len(methods) + 1  # the header row and one per method
    for cls in methods:
        if cls.authors_code:
            assert cls.authors_code in html
    assert "scope=&quot;prunable&quot;" in html and "first-commit" in html
