"""Config validation (fails before any work, naming the field) and content-addressed identity."""
import pytest

from sparselib.config import ConfigError, RunConfig, dense_config
from sparselib.resolve import resolve


def test_run_id_is_stable_and_depends_only_on_non_defaults():
    a = RunConfig(method="gmp", goal_sparsity=0.9)
    b = RunConfig.from_dict(a.to_dict())
    assert a == b and a.run_id == b.run_id and len(a.run_id) == 12
    assert a.non_default() == {"method": "gmp", "goal_sparsity": 0.9}
    assert RunConfig(method="gmp", goal_sparsity=0.95).run_id != a.run_id
    assert RunConfig(method="gmp", goal_sparsity=0.9, seed=1).run_id != a.run_id


def test_json_round_trip_of_tuples_and_method_args_keeps_identity():
    a = RunConfig(lr_milestones=(3, 5), epochs=6, method="imp", goal_sparsity=0.9,
                  method_args={"schedule": "clr", "n_phases": 2})
    d = a.to_dict()
    assert d["lr_milestones"] == [3, 5]
    b = RunConfig.from_dict(d)
    assert b.lr_milestones == (3, 5) and b.run_id == a.run_id
    # key order of method_args does not matter
    c = a.replace(method_args={"n_phases": 2, "schedule": "clr"})
    assert c.run_id == a.run_id


def test_dense_config_of_imp_is_the_dense_run_of_the_same_setting_and_seed():
    imp = RunConfig(method="imp", goal_sparsity=0.9, seed=3, epochs=7, method_args={"schedule": "ft"})
    dense = dense_config(imp)
    assert dense == RunConfig(seed=3, epochs=7)
    assert dense.run_id == RunConfig(seed=3, epochs=7).run_id


@pytest.mark.parametrize("kwargs, field", [
    ({"method": "magic"}, "method"),
    ({"model": "resnet21"}, "model"),
    ({"dataset": "imagenet"}, "dataset"),
    ({"method": "gmp", "goal_sparsity": 1.0}, "goal_sparsity"),
    ({"method": "gmp", "goal_sparsity": -0.1}, "goal_sparsity"),
    ({"method": "gmp", "goal_sparsity": 0.0}, "goal_sparsity"),
    ({"goal_sparsity": 0.5}, "goal_sparsity"),
    ({"epochs": 0}, "epochs"),
    ({"batch_size": -1}, "batch_size"),
    ({"lr_schedule": "exp"}, "lr_schedule"),
    ({"lr_milestones": (20,)}, "lr_milestones"),
    ({"method": "imp", "goal_sparsity": 0.9, "method_args": {"schedule": "nope"}}, "schedule"),
    ({"method": "imp", "goal_sparsity": 0.9, "method_args": {"phases": 2}}, "phases"),
])
def test_bad_values_fail_early_naming_the_field(kwargs, field):
    """Bad values fail when the config is built (its own fields) or resolved (against the registries)."""
    with pytest.raises(ConfigError, match=field):
        resolve(RunConfig(**kwargs))


def test_messages_list_the_allowed_values():
    with pytest.raises(ConfigError) as e:
        resolve(RunConfig(method="magic"))
    assert "gmp" in str(e.value) and "imp" in str(e.value) and "dense" in str(e.value)
    with pytest.raises(ConfigError) as e:
        resolve(RunConfig(method="imp", goal_sparsity=0.9, method_args={"schedule": "nope"}))
    assert all(s in str(e.value) for s in ("ft", "lrw", "slr", "clr", "llr", "allr"))


def test_unknown_field_in_stored_config_is_reported():
    with pytest.raises(ConfigError, match="colour"):
        RunConfig.from_dict({"colour": "red"})
