"""The command line: info, methods, presets, run (and its errors)."""
import pytest

from sparselib.cli import main


def test_info_resnet56_prints_spec_numbers(capsys):
    main(["info", "resnet56", "--dataset", "cifar10"])
    out = capsys.readouterr().out
    assert "125,485,696" in out and "853,018" in out and "848,944" in out


def test_info_any_model_and_dataset(capsys):
    main(["info", "resnet20", "--dataset", "fashion_mnist", "--width", "8"])
    out = capsys.readouterr().out
    assert "1x28x28" in out and "multiply-adds" in out


def test_methods_prints_the_overview(capsys):
    main(["methods"])
    out = capsys.readouterr().out
    for name in ("dense", "imp", "gmp", "explicit", "schedule"):
        assert name in out


def test_presets_lists_smoke_and_mini(capsys):
    main(["presets"])
    out = capsys.readouterr().out
    assert "smoke" in out and "mini" in out


@pytest.mark.parametrize("argv, message", [
    (["run", "--preset", "smoke", "--method", "magic"], "unknown method 'magic'"),
    (["run", "--preset", "smoke", "--method", "gmp", "--sparsity", "1.5"], "goal_sparsity"),
    (["run", "--preset", "nope"], "unknown preset 'nope'"),
    (["run", "--preset", "smoke", "--method", "imp", "--sparsity", "0.9", "--arg", "schedule=xyz"], "schedule"),
    (["run", "--preset", "smoke", "--set", "epochs=0"], "epochs"),
    (["run", "--preset", "smoke", "--set", "colour=red"], "colour"),
])
def test_bad_input_fails_before_any_work(argv, message, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(argv + ["--results", str(tmp_path)])
    assert message in str(e.value)
    assert not any(tmp_path.iterdir())


def test_missing_data_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["run", "--preset", "mini", "--data", str(tmp_path / "nowhere"), "--results", str(tmp_path / "r"),
              "--no-progress"])
    assert "nowhere" in str(e.value)


def test_run_twice_second_is_a_no_op(tmp_path, capsys):
    argv = ["run", "--preset", "smoke", "--method", "gmp", "--sparsity", "0.9", "--results", str(tmp_path),
            "--no-progress"]
    main(argv)
    capsys.readouterr()
    main(argv)
    assert "already finished" in capsys.readouterr().out


def test_speed_options_reach_the_run(tmp_path):
    import json

    main(["run", "--preset", "smoke", "--method", "dense", "--set", "epochs=1", "--set", "lr_milestones=[]",
          "--results", str(tmp_path), "--no-progress", "--device", "cpu", "--precision", "bf16", "--channels-last",
          "--compile", "aot_eager"])
    (metrics,) = tmp_path.glob("smoke/*/metrics.json")
    m = json.loads(metrics.read_text())
    assert (m["precision"], m["channels_last"], m["compile"]) == ("bf16", True, "aot_eager")
