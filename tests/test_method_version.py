"""A method's behaviour version is part of its runs' identity: bumping it makes that method's runs stale (the
audit says which, and which to make) while every other run keeps its id."""
import pytest

from sparselib.config import ConfigError, RunConfig, Runtime
from sparselib.methods import get_method
from sparselib.presets import get_preset
from sparselib.resolve import resolve
from sparselib.runner import run
from sparselib.sweep import audit

SMOKE = get_preset("smoke")


def test_version_one_is_not_part_of_the_identity_and_a_bump_is():
    cfg = RunConfig(method="gmp", goal_sparsity=0.9)
    assert cfg.replace(method_version=1) == cfg and cfg.replace(method_version=1).run_id == cfg.run_id
    assert cfg.replace(method_version=2).run_id != cfg.run_id
    assert "method_version" in cfg.replace(method_version=2).non_default()


def test_bumping_a_method_makes_its_runs_stale_and_keeps_the_others(tmp_path, monkeypatch):
    study = [c for c in SMOKE.configs() if c.method in ("dense", "gmp", "dpf")]
    rt = Runtime(results=str(tmp_path), progress=False, device="cpu")
    for c in study:
        run(c, rt, log=lambda _: None)
    before = audit(study, tmp_path, "smoke")
    assert not before.unfinished and not before.stale and not before.mismatched
    def ids(configs, method):
        return sorted(c.run_id for c in configs if c.method == method)

    monkeypatch.setattr(get_method("gmp"), "version", get_method("gmp").version + 1)
    bumped = [resolve(c.replace(method_version=None)).cfg for c in study]
    assert len(ids(study, "gmp")) == 2  # GMP's two smoke runs (with and without allow_recovering)
    assert not set(ids(bumped, "gmp")) & set(ids(study, "gmp"))
    assert all(ids(bumped, m) == ids(study, m) for m in ("dense", "dpf"))
    after = audit(bumped, tmp_path, "smoke")
    assert sorted(after.stale) == ids(study, "gmp")
    assert sorted(r.cfg.run_id for r in after.unfinished) == ids(bumped, "gmp")
    message = after.describe("smoke")
    assert all(i in message for i in ids(bumped, "gmp") + ids(study, "gmp")) and "sweep smoke" in message


def test_a_config_of_another_version_is_refused(monkeypatch):
    cfg = SMOKE.config("gmp", 0.9)
    monkeypatch.setattr(get_method("gmp"), "version", 3)
    with pytest.raises(ConfigError, match="method_version=2 of method 'gmp'.*version 3"):
        resolve(cfg.replace(method_version=2))
    assert resolve(cfg).cfg.method_version == 3  # a config without a version is resolved to the current one
