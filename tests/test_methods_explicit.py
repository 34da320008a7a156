"""DPF, GSM and LC (SPEC §6): their defining rules on tiny hand-made models, exact goal sparsity on the smoke preset,
resume after interruption, and hyper-parameter validation."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sparselib.config import ConfigError, RunConfig, Runtime
from sparselib.resolve import resolve
from sparselib.data import DATASETS
from sparselib.allocation import magnitude_masks
from sparselib.masks import Masks
from sparselib.methods import get_method
from sparselib.presets import get_preset
from sparselib.runner import model_for, run, run_dir
from sparselib.storage import load_torch
from sparselib.train import TrainState
from test_runner import interrupt_after

SMOKE = get_preset("smoke")
METHODS = ("dpf", "gsm", "lc")


def rt(path):
    return Runtime(results=str(path), progress=False, device="cpu")


# -- tiny models ------------------------------------------------------------------------------------------------------
def tiny_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Conv2d(3, 4, 2, bias=False), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4, 5))


def tiny_batch(seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(8, 2, 4, 4, generator=g), torch.randint(0, 5, (8,), generator=g)


def tiny_state(method, goal, method_args=None, model=None, weight_decay=1e-3):
    cfg = RunConfig(method=method, goal_sparsity=goal, epochs=4, method_args=method_args or {},
                    weight_decay=weight_decay)
    model = model if model is not None else tiny_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=cfg.momentum, nesterov=cfg.nesterov,
                          weight_decay=cfg.weight_decay)
    state = TrainState(cfg, model, opt, Masks(model), torch.device("cpu"), 10, [0.1] * 40, {})
    m = resolve(cfg).build()
    m.on_train_start(state)
    return m, state


def backward(state, x, y):
    state.optimizer.zero_grad(set_to_none=True)
    F.cross_entropy(state.model(x), y).backward()


def flat(tensors):
    return torch.cat([t.detach().reshape(-1) for t in tensors])


# -- GSM ----------------------------------------------------------------------------------------------------------------
def test_gsm_prunable_scope_keeps_gradients_only_for_the_global_top_q_of_theta_times_grad():
    m, state = tiny_state("gsm", 0.75, {"scope": "prunable"})
    assert all(g["momentum"] == 0.99 for g in state.optimizer.param_groups)
    backward(state, *tiny_batch())
    params = state.masks.params
    before = {id(p): p.grad.clone() for p in state.model.parameters()}
    scores = flat([(p * p.grad).abs() for p in params])
    n = scores.numel()
    q = int((1 - 0.75) * n)
    top = torch.zeros(n, dtype=torch.bool)
    top[torch.topk(scores, q).indices] = True
    m.after_backward(state)
    grads = flat([p.grad for p in params])
    g0 = flat([before[id(p)] for p in params])
    assert torch.equal(grads[top], g0[top])           # the top-Q keep their gradient unchanged
    assert bool((grads[~top] == 0).all())              # all others have none
    assert int((g0[~top] != 0).sum()) > 0              # (and had one before)
    prunable = {id(p) for p in params}
    for p in state.model.parameters():                 # biases untouched
        if id(p) not in prunable:
            assert torch.equal(p.grad, before[id(p)])
    # the others then move only by weight decay and momentum: toward zero
    theta = flat(params).clone()
    state.optimizer.step()
    lr, wd, mom = 0.1, state.cfg.weight_decay, 0.99
    expected = theta[~top] * (1 - lr * wd * (1 + mom))  # first Nesterov step from an empty buffer
    assert torch.allclose(flat(params)[~top], expected, rtol=1e-6, atol=0)


# -- LC -----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lc_wd", [None, 0.05])
def test_lc_prunable_scope_decays_exactly_the_smallest_weights(lc_wd):
    args = {"scope": "prunable"} if lc_wd is None else {"weight_decay": lc_wd, "scope": "prunable"}
    m, state = tiny_state("lc", 0.6, args)
    wd = state.cfg.weight_decay if lc_wd is None else lc_wd
    params = state.masks.params
    # the optimizer's own weight decay is off for prunable weights, on for the rest; every parameter once
    groups = state.optimizer.param_groups
    assert sorted(len(g["params"]) for g in groups) == sorted([len(params), sum(1 for _ in state.model.parameters())
                                                                - len(params)])
    prunable = {id(p) for p in params}
    for g in groups:
        kinds = {id(p) in prunable for p in g["params"]}
        assert len(kinds) == 1
        assert g["weight_decay"] == (0.0 if kinds.pop() else state.cfg.weight_decay)
    # with zero loss gradients, after_backward adds exactly wd·θ on the k smallest |θ| and nothing elsewhere
    for p in state.model.parameters():
        p.grad = torch.zeros_like(p)
    m.after_backward(state)
    theta = flat(params)
    n = theta.numel()
    k = n - int((1 - 0.6) * n)
    drop = torch.zeros(n, dtype=torch.bool)
    drop[torch.topk(theta.abs(), k, largest=False).indices] = True
    grads = flat([p.grad for p in params])
    assert torch.equal(grads[drop], wd * theta[drop])
    assert bool((grads[~drop] == 0).all())
    for p in state.model.parameters():
        if id(p) not in prunable:
            assert bool((p.grad == 0).all())
    # with a loss gradient: the same addition on top of it
    backward(state, *tiny_batch())
    g0 = flat([p.grad for p in params])
    m.after_backward(state)
    assert torch.allclose(flat([p.grad for p in params]) - g0, wd * theta * drop, rtol=0, atol=1e-7)


def test_lc_recomputes_its_projection_every_projection_interval_steps():
    m, state = tiny_state("lc", 0.5, {"projection_interval": 3, "scope": "prunable"})
    params = state.masks.params
    big = params[0]
    for p in state.model.parameters():
        p.grad = torch.zeros_like(p)
    m.after_backward(state)  # step 0: projection computed
    first = flat(m.drop).clone()
    idx = int(torch.nonzero(flat(m.drop)[:big.numel()])[0])  # a decayed entry of the first layer
    with torch.no_grad():
        big.view(-1)[idx] = 100.0  # now the largest weight
    for step in (1, 2):
        state.step = step
        m.after_backward(state)
        assert torch.equal(flat(m.drop), first)
    state.step = 3
    m.after_backward(state)
    assert flat(m.drop)[idx] == 0 and int(flat(m.drop).sum()) == first.numel() - int(0.5 * first.numel())


# -- DPF ----------------------------------------------------------------------------------------------------------------
def test_dpf_masks_forward_feeds_back_all_gradients_and_recomputes_every_16_steps():
    m, state = tiny_state("dpf", 0.5, {"pruning_interval": 1})
    model, params = state.model, state.masks.params
    # the optimizer still holds the very Parameters that are now parametrizations.weight.original
    opt_params = {id(p) for g in state.optimizer.param_groups for p in g["params"]}
    assert all(id(p) in opt_params for p in params)
    originals = [mod.parametrizations.weight.original for mod in model if hasattr(mod, "parametrizations")]
    assert [id(p) for p in originals] == [id(p) for p in params]
    assert m.target(0) == 0.0 and m.target(3) == 0.5  # GMP's schedule, the last reached target in between
    state.epoch = 3
    x, y = tiny_batch()
    initial = [b.clone() for b in m.buffers]
    assert all(bool(b.all()) for b in initial)
    for t in range(1, 33):
        if t == 17:
            # a weight pruned at step 16 grows large in the dense weights: the next recomputation brings it back
            pruned = int(torch.nonzero(~flat(m.buffers))[0])
            offset = 0
            for p in params:
                if pruned < offset + p.numel():
                    with torch.no_grad():
                        p.view(-1)[pruned - offset] = 50.0
                    break
                offset += p.numel()
        backward(state, x, y)
        m.after_backward(state)
        state.optimizer.step()
        m.after_step(state)
        state.step += 1
        if t < 16:
            assert all(torch.equal(b, i) for b, i in zip(m.buffers, initial)), t
        elif t in (16, 32):
            expected = magnitude_masks(list(params), 0.5)  # from the dense weights, not only shrinking
            assert all(torch.equal(b, e) for b, e in zip(m.buffers, expected)), t
            assert int((~flat(m.buffers)).sum()) == round(0.5 * sum(p.numel() for p in params))
            if t == 16:
                at16 = [b.clone() for b in m.buffers]
            else:
                assert bool(flat(m.buffers)[pruned]) and not bool(flat(at16)[pruned])
        elif t > 16:
            assert all(torch.equal(b, a) for b, a in zip(m.buffers, at16)), t
    # the dense weights themselves are not zeroed
    assert int((flat(params) == 0).sum()) == 0
    # forward uses the masked weights: same output as a plain model holding w ⊙ mask
    manual = tiny_model()
    with torch.no_grad():
        for (mod, ref) in zip(model, manual):
            if hasattr(mod, "parametrizations"):
                ref.weight.copy_(mod.parametrizations.weight.original * mod.parametrizations.weight[0].mask)
                if mod.bias is not None:
                    ref.bias.copy_(mod.bias)
    assert torch.equal(model(x), manual(x))
    # backward: the gradient at the masked point reaches every dense weight (straight-through)
    backward(state, x, y)
    F.cross_entropy(manual(x), y).backward()
    manual_grads = [mod.weight.grad for mod in manual if isinstance(mod, (nn.Conv2d, nn.Linear))]
    assert all(torch.allclose(p.grad, g, rtol=1e-6, atol=1e-9) for p, g in zip(params, manual_grads))
    assert int((flat([p.grad for p in params])[~flat(m.buffers)] != 0).sum()) > 0
    # the end: plain weights again (the same Parameters), hard pruned to the goal by dense magnitude
    m.on_train_end(state)
    state.masks.apply()
    assert not any(hasattr(mod, "parametrizations") for mod in model)
    assert all(isinstance(mod.weight, nn.Parameter) for mod in model if isinstance(mod, (nn.Conv2d, nn.Linear)))
    weights = [mod.weight for mod in model if isinstance(mod, (nn.Conv2d, nn.Linear))]
    assert [id(w) for w in weights] == [id(p) for p in params]
    n = sum(p.numel() for p in params)
    assert int((flat(weights) == 0).sum()) == round(0.5 * n)
    assert all(k.endswith(("weight", "bias")) for k in model.state_dict())


# -- smoke runs ---------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("explicit")
    out = {"dense": (SMOKE.config("dense"), run(SMOKE.config("dense"), rt(root), log=lambda _: None))}
    for method in METHODS:
        cfg = SMOKE.config(method, 0.9)
        out[method] = (cfg, run(cfg, rt(root), log=lambda _: None))
    return root, out


@pytest.mark.parametrize("method", METHODS)
def test_smoke_run_reaches_the_goal_exactly_and_the_mask_survives_reloading(smoke_runs, method):
    root, runs = smoke_runs
    cfg, metrics = runs[method]
    folder = run_dir(cfg, rt(root))
    weights = load_torch(folder / "final.pt")
    mask = load_torch(folder / "mask.pt")
    assert not any("parametrizations" in k for k in weights)
    goal_zeros = round(0.9 * metrics["prunable"])
    assert sum(int((weights[k] == 0).sum()) for k in mask) == goal_zeros
    assert sum(int((~m).sum()) for m in mask.values()) == goal_zeros
    model = model_for(cfg, DATASETS[cfg.dataset])
    model.load_state_dict(weights)
    params = dict(model.named_parameters())
    assert all(bool((params[k][~m] == 0).all()) for k, m in mask.items())
    assert sum(int((params[k] == 0).sum()) for k in mask) == goal_zeros
    assert metrics["sparsity_prunable"] == pytest.approx(0.9, abs=1e-3)
    dense_time = runs["dense"][1]["wall_time_s"]
    print(f"{method}: wall time {metrics['wall_time_s']:.3f}s = {metrics['wall_time_s'] / dense_time:.2f}x dense")


@pytest.mark.parametrize("method, args", [("dpf", {}), ("gsm", {}), ("lc", {"projection_interval": 5}),
                                          ("gmp", {"allow_recovering": True})])
def test_interrupted_run_resumes_to_the_same_result(tmp_path, monkeypatch, method, args):
    cfg = SMOKE.config(method, 0.9, method_args=args)
    reference = run(cfg, rt(tmp_path / "a"), log=lambda _: None)
    with monkeypatch.context() as m:
        interrupt_after(m, 2)
        with pytest.raises(KeyboardInterrupt):
            run(cfg, rt(tmp_path / "b"), log=lambda _: None)
    folder = run_dir(cfg, rt(tmp_path / "b"))
    assert (folder / "checkpoint.pt").exists() and not (folder / "metrics.json").exists()
    logs = []
    resumed = run(cfg, rt(tmp_path / "b"), log=logs.append)
    assert any(line.startswith("resuming") for line in logs)
    for key in ("top1", "val_top1", "sparsity_prunable", "epochs"):
        assert resumed[key] == reference[key], key
    a, b = (load_torch(run_dir(cfg, rt(tmp_path / d)) / "final.pt") for d in "ab")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    mask = load_torch(run_dir(cfg, rt(tmp_path / "b")) / "mask.pt")
    assert not any("parametrizations" in k for k in b)
    assert sum(int((b[k] == 0).sum()) for k in mask) == round(0.9 * reference["prunable"])  # exact goal


# -- hyper-parameters -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method, args, field", [
    ("dpf", {"mask_interval": 0}, "mask_interval"),
    ("dpf", {"mask_interval": 2.5}, "mask_interval"),
    ("dpf", {"pruning_interval": 0}, "pruning_interval"),
    ("dpf", {"pruning_interval": 3}, "interval"),  # the smoke setting's 4 epochs fit no GMP schedule with Δ = 3
    ("gsm", {"momentum": 1.5}, "momentum"),
    ("gsm", {"momentum": 0.0}, "momentum"),
    ("gsm", {"momentum": True}, "momentum"),
    ("lc", {"weight_decay": -1e-4}, "weight_decay"),
    ("lc", {"projection_interval": 0}, "projection_interval"),
    ("lc", {"mu": 1.0}, "mu"),
])
def test_bad_hyper_parameters_name_the_field(method, args, field):
    with pytest.raises(ConfigError, match=field):
        SMOKE.config(method, 0.9, method_args=args)


def test_table3_facts_and_defaults():
    for method in METHODS:
        cls = get_method(method)
        assert cls.explicit and cls.pruning_stable and not cls.sparsity_agnostic and not cls.needs_dense
        assert cls.reference
    assert get_method("dpf").Hparams() == get_method("dpf").Hparams(pruning_interval=1, mask_interval=16)
    assert get_method("gsm").Hparams().momentum == 0.99
    assert get_method("lc").Hparams().weight_decay is None
    with pytest.raises(ConfigError, match="goal_sparsity"):
        SMOKE.config("gsm", 0.0)
