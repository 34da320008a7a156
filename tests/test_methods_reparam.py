"""The reparameterised methods DNW, CS, STR and DST: their defining rules on hand-made models, exact or implicit
sparsity on the smoke preset, plain exported weights, and resuming after an interruption."""
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sparselib.config import ConfigError, RunConfig, Runtime
from sparselib.resolve import resolve
from sparselib.masks import Masks
from sparselib.methods import METHODS
from sparselib.methods.cs import CSHparams
from sparselib.methods.dst import BinaryStep, DSTHparams
from sparselib.methods.str_ import STRHparams
from sparselib.presets import get_preset
from sparselib.runner import dataset_for, model_for, run, run_dir
from sparselib.storage import load_torch, save_torch
from test_runner import interrupt_after

SMOKE = get_preset("smoke")
REPARAM = ("dnw", "cs", "str", "dst")
# one configuration per method for the run tests (nontrivial sparsity on smoke)
RUN_CONFIGS = {"dnw": (0.9, {}), "cs": (0.0, {"penalty": 1e-3, "beta_final": 2000.0}),
               "str": (0.0, {"s_initial": -1.5}), "dst": (0.0, {"penalty": 0.02})}


def rt(path):
    return Runtime(results=str(path), progress=False, device="cpu")


def tiny_state(method: str, goal: float = 0.0, seed: int = 0, **method_args):
    """A two-layer model, its optimizer and masks, and the method, as the training loop would hold them."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 20), nn.ReLU(), nn.Linear(20, 4))
    cfg = RunConfig(method=method, goal_sparsity=goal, method_args=method_args, epochs=2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=cfg.weight_decay)
    state = SimpleNamespace(cfg=cfg, model=model, optimizer=optimizer, masks=Masks(model), iters_per_epoch=5,
                            step=0, epoch=0)
    method_obj = resolve(cfg).build()
    return state, method_obj


def latent(model):
    return [model[0].parametrizations.weight.original, model[2].parametrizations.weight.original]


# -- the common contract ---------------------------------------------------------------------------------------------
def test_table3_attributes_and_registration():
    for name in REPARAM:
        cls = METHODS[name]
        assert cls.explicit == (name == "dnw")
        assert cls.pruning_stable and not cls.sparsity_agnostic and not cls.needs_dense and cls.reference
        assert f"methods.{'str_' if name == 'str' else name}" in cls.__module__
    for name in ("cs", "str", "dst"):
        with pytest.raises(ConfigError, match="goal_sparsity"):
            SMOKE.config(name, 0.9)
    with pytest.raises(ConfigError, match="goal_sparsity"):
        SMOKE.config("dnw", 0.0)


@pytest.mark.parametrize("make, field", [
    (lambda: CSHparams(beta_final=0.5), "beta_final"), (lambda: CSHparams(penalty=-1.0), "penalty"),
    (lambda: CSHparams(s_initial=float("nan")), "s_initial"), (lambda: STRHparams(s_initial=math.inf), "s_initial"),
    (lambda: STRHparams(s_weight_decay=-1e-4), "s_weight_decay"), (lambda: DSTHparams(penalty=-0.1), "penalty"),
])
def test_hparams_are_validated(make, field):
    with pytest.raises(ValueError, match=field):
        make()


@pytest.mark.parametrize("method", REPARAM)
def test_parametrizations_keep_the_optimizer_bound_and_are_removed_at_the_end(method):
    goal = 0.5 if method == "dnw" else 0.0
    state, m = tiny_state(method, goal)
    weights = list(state.masks.params)
    m.on_train_start(state)
    assert latent(state.model) == weights and all(a is b for a, b in zip(latent(state.model), weights))
    bound = {id(p) for g in state.optimizer.param_groups for p in g["params"]}
    assert all(id(w) in bound for w in weights)
    extra = [p for part in m.parts for p in part.parameters()]
    assert all(id(p) in bound for p in extra) and (len(extra) > 0) == (method != "dnw")
    keys = state.model.state_dict().keys()
    assert any("parametrizations" in k for k in keys)
    if extra:  # the extra learnable tensors live in the model's state_dict, so checkpoints hold them
        assert len(keys) == 4 + len(extra) and len(state.optimizer.param_groups) == 2
        wd = state.optimizer.param_groups[1]["weight_decay"]
        assert wd == state.cfg.weight_decay  # CS (the authors' HEAD), STR and DST: the run's weight decay
    x = torch.randn(8, 6)
    F.cross_entropy(state.model(x), torch.arange(8) % 4).backward()
    state.optimizer.step()
    state.model(x)  # DNW: the top-k is recomputed in the forward pass
    effective = [state.model[0].weight.detach().clone(), state.model[2].weight.detach().clone()]
    m.on_train_end(state)
    assert all(state.model[i].weight is w for i, w in zip((0, 2), weights))  # same Parameter objects
    assert all(a is b for a, b in zip(state.masks.params, weights))
    assert sorted(state.model.state_dict()) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    state.masks.apply()
    for w, e, mask in zip(weights, effective, state.masks.masks):  # the last effective weights, hard-masked
        assert bool((w[~mask] == 0).all()) and torch.equal(w.detach(), e * mask)


# -- DNW -----------------------------------------------------------------------------------------------------------
def test_dnw_forward_uses_exactly_the_global_top_k_and_the_gradient_reaches_all_weights():
    state, m = tiny_state("dnw", 0.7)
    m.on_train_start(state)
    model, ws = state.model, latent(state.model)
    n = sum(w.numel() for w in ws)
    k = n - round(0.7 * n)
    for trial in range(2):
        scores = torch.cat([w.detach().abs().flatten() for w in ws])
        keep = torch.zeros(n, dtype=torch.bool)
        keep[torch.topk(scores, k).indices] = True
        keep = [c.view_as(w) for c, w in zip(keep.split([w.numel() for w in ws]), ws)]
        x = torch.randn(16, 6)
        eff = [(w.detach() * c).requires_grad_() for w, c in zip(ws, keep)]
        ref = F.linear(F.relu(F.linear(x, eff[0], model[0].bias)), eff[1], model[2].bias)
        g = torch.randn_like(ref)
        out = model(x)
        assert torch.equal(out, ref)
        assert sum(int((model[i].weight != 0).sum()) for i in (0, 2)) == k
        state.optimizer.zero_grad()
        (out * g).sum().backward()
        (ref * g).sum().backward()
        for w, e in zip(ws, eff):  # straight-through: the latent weight gets the effective weight's gradient
            assert torch.allclose(w.grad, e.grad)
        pruned_grads = torch.cat([w.grad[e.detach() == 0] for w, e in zip(ws, eff)])
        assert pruned_grads.numel() == n - k and bool((pruned_grads != 0).any())  # pruned weights get gradients too
        with torch.no_grad():  # the top-k is recomputed at the next forward: pruned weights grow back in
            idx = torch.nonzero(~keep[1])[:3]
            ws[1][idx[:, 0], idx[:, 1]] = 5.0


# -- STR -----------------------------------------------------------------------------------------------------------
def test_str_effective_weight_is_the_soft_threshold():
    s0 = math.log(0.25 / 0.75)  # σ(s0) = 0.25
    state, m = tiny_state("str", s_initial=s0)
    with torch.no_grad():
        state.model[0].weight[0, :5] = torch.tensor([0.5, -0.2, 0.05, -0.9, 0.3])
    m.on_train_start(state)
    row = state.model[0].weight[0, :5]
    assert torch.allclose(row, torch.tensor([0.25, 0.0, 0.0, -0.65, 0.05]), atol=1e-6)
    assert torch.equal(row == 0, torch.tensor([False, True, True, False, False]))
    w = latent(state.model)[0]
    assert torch.allclose(state.model[0].weight, torch.sign(w) * torch.relu(w.abs() - 0.25), atol=1e-7)
    state.model(torch.randn(4, 6)).sum().backward()
    assert m.parts[0].s.grad is not None and m.parts[0].s.grad.shape == ()
    m.on_train_end(state)
    assert torch.equal(state.masks.masks[0][0, :5], torch.tensor([True, False, False, True, True]))
    assert torch.allclose(state.model[0].weight[0, :5], torch.tensor([0.25, 0.0, 0.0, -0.65, 0.05]), atol=1e-6)


# -- CS ------------------------------------------------------------------------------------------------------------
def test_cs_soft_mask_penalty_temperature_and_final_mask():
    state, m = tiny_state("cs", s_initial=0.2, beta_final=50.0, penalty=0.01)
    m.on_train_start(state)
    total = 2 * 5
    m.on_epoch_start(state)
    assert m.beta == pytest.approx(50.0 ** (1 / total))
    w = latent(state.model)[0]
    masks = [part.m for part in m.parts]
    with torch.no_grad():
        masks[0][0, :4] = torch.tensor([0.3, -0.1, 0.0, 2.0])
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    expected = w * torch.sigmoid(m.beta * masks[0]) / sig(0.2)
    assert torch.allclose(state.model[0].weight, expected)
    pen = 0.01 * sum(float(torch.sigmoid(m.beta * p.detach()).sum()) for p in masks)
    pen += 0.5 * state.cfg.weight_decay * sum(float(p.detach().square().sum()) for p in latent(state.model))
    assert float(m.extra_loss(state).detach()) == pytest.approx(pen, rel=1e-5)
    for step in range(total):
        state.step = step
        m.after_step(state)
    assert m.beta == pytest.approx(50.0)  # the last iteration trains at beta_final
    soft = state.model[0].weight.detach().clone()  # w · σ(β_final·m) / σ(s_initial)
    assert torch.allclose(soft, w * torch.sigmoid(50.0 * masks[0]) / sig(0.2))
    m.on_train_end(state)
    for mask, logits in zip(state.masks.masks, masks):
        assert torch.equal(mask, logits > 0)
    assert torch.equal(state.masks.masks[0][0, :4], torch.tensor([True, False, False, True]))
    state.masks.apply()  # as the common code does: the last effective weights, masked by 1{m > 0}
    assert torch.equal(state.model[0].weight, soft * (masks[0] > 0))


# -- DST -----------------------------------------------------------------------------------------------------------
def test_dst_surrogate_derivative():
    # SPEC: 2 − 4|x| for |x| ≤ 0.4, 0.4 for 0.4 < |x| ≤ 1, 0 beyond (0.4 at |x| = 1 exactly, as in the authors' code)
    x = torch.tensor([-1.01, -1.0, -0.5, 0.0, 0.3, 0.4, 0.5, 1.0, 1.2], requires_grad=True)
    y = BinaryStep.apply(x)
    assert torch.equal(y, torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0]))
    y.sum().backward()
    assert torch.allclose(x.grad, torch.tensor([0.0, 0.4, 0.4, 2.0, 0.8, 0.4, 0.4, 0.4, 0.0]))


def test_dst_resets_a_layer_left_with_at_most_one_percent():
    state, m = tiny_state("dst", penalty=0.1)
    m.on_train_start(state)
    w0 = latent(state.model)[0]          # 20 x 6 = 120 weights: 1 kept (0.8 %) → reset
    w1 = latent(state.model)[1]          # 4 x 20 = 80 weights: 1 kept (1.25 %) → no reset
    t0, t1 = m.parts[0].t, m.parts[1].t
    with torch.no_grad():
        t0.fill_(10.0)
        t0[3] = w0[3].abs().max() - 1e-4
        t1.fill_(10.0)
        t1[1] = w1[1].abs().max() - 1e-4
    assert int((state.model[0].weight != 0).sum()) == 1 and int((state.model[2].weight != 0).sum()) == 1
    before = t1.detach().clone()
    m.after_step(state)
    assert bool((t0 == 0).all()) and torch.equal(t1, before)
    assert int((state.model[0].weight != 0).sum()) == 120
    penalty = m.extra_loss(state)
    expected = 0.1 * (torch.exp(-t0.detach()).sum() + torch.exp(-t1.detach()).sum())
    expected += 0.5 * state.cfg.weight_decay * sum(w.detach().square().sum() for w in latent(state.model))
    assert float(penalty.detach()) == pytest.approx(float(expected))


# -- runs on the smoke preset --------------------------------------------------------------------------------------
def check_exported(cfg, runtime, metrics):
    """final.pt has plain weights; its zeros are the sparsity the run reports, and they survive save/load."""
    folder = run_dir(cfg, runtime)
    weights = load_torch(folder / "final.pt")
    mask = load_torch(folder / "mask.pt")
    assert not any("parametrizations" in k for k in weights)
    zeros = sum(int((weights[k] == 0).sum()) for k in mask)
    assert metrics["sparsity_prunable"] == zeros / metrics["prunable"]
    assert all(bool((weights[k][~m] == 0).all()) for k, m in mask.items())
    model = model_for(cfg, dataset_for(cfg, runtime).info)
    model.load_state_dict(weights)  # strict: exactly the keys of a plain model
    save_torch(folder / "again.pt", model.state_dict())
    again = load_torch(folder / "again.pt")
    assert sum(int((again[k] == 0).sum()) for k in mask) == zeros
    return zeros


def test_dnw_reaches_the_goal_exactly(tmp_path):
    cfg = SMOKE.config("dnw", 0.9)
    metrics = run(cfg, rt(tmp_path))
    assert check_exported(cfg, rt(tmp_path), metrics) == round(0.9 * metrics["prunable"])


@pytest.mark.parametrize("method, key, grid", [
    ("cs", "penalty", (1e-4, 1e-3, 1e-2)),
    ("str", "s_initial", (-4.0, -2.0, -1.0)),
    ("dst", "penalty", (1e-3, 1e-2, 3e-2)),
])
def test_implicit_sparsity_is_monotone_in_the_main_hyperparameter(tmp_path, method, key, grid):
    reached = []
    for value in grid:
        cfg = SMOKE.config(method, 0.0, method_args={key: value})
        metrics = run(cfg, rt(tmp_path), log=lambda _: None)
        check_exported(cfg, rt(tmp_path), metrics)
        reached.append(metrics["sparsity_prunable"])
    assert 0.0 < reached[0] < reached[1] < reached[2] < 1.0, reached


@pytest.mark.parametrize("method", REPARAM)
def test_interrupted_run_resumes_to_the_same_result(tmp_path, monkeypatch, method):
    goal, args = RUN_CONFIGS[method]
    cfg = SMOKE.config(method, goal, method_args=args)
    reference = run(cfg, rt(tmp_path / "a"), log=lambda _: None)
    check_exported(cfg, rt(tmp_path / "a"), reference)
    assert reference["sparsity_prunable"] > 0.3
    with monkeypatch.context() as m:
        interrupt_after(m, 2)
        with pytest.raises(KeyboardInterrupt):
            run(cfg, rt(tmp_path / "b"), log=lambda _: None)
    folder = run_dir(cfg, rt(tmp_path / "b"))
    checkpoint = load_torch(folder / "checkpoint.pt")
    assert any("parametrizations" in k for k in checkpoint["model"])  # the extra parameters are checkpointed
    logs = []
    resumed = run(cfg, rt(tmp_path / "b"), log=logs.append)
    assert any(line.startswith("resuming") for line in logs)
    for key in ("top1", "val_top1", "sparsity_prunable", "theoretical_speedup", "epochs"):
        assert resumed[key] == reference[key], key
    a = load_torch(run_dir(cfg, rt(tmp_path / "a")) / "final.pt")
    b = load_torch(folder / "final.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    history = (folder / "history.csv").read_text().splitlines()
    assert len(history) == 1 + SMOKE.base.epochs and "sparsity" in history[0]
