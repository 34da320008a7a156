"""The command line: info, methods, presets, run (and its errors)."""
import os
import re
from pathlib import Path

import pytest

from sparselib.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_info_resnet56_prints_spec_numbers(capsys):
    main(["info", "resnet56", "--dataset", "cifar10"])
    out = capsys.readouterr().out
    assert "125,485,696" in out and "853,018" in out and "848,944" in out


def test_info_any_model_and_dataset(capsys):
    import torch

    from sparselib.models import build_model

    main(["info", "resnet20", "--dataset", "fashion_mnist", "--width", "8"])
    out = capsys.readouterr().out
    model = build_model("resnet20", 1, 10, width=8)
    params = sum(p.numel() for p in model.parameters())  # counted by torch, not by sparselib
    prunable = sum(m.weight.numel() for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    assert "1x28x28" in out and f"parameters        {params:,}" in out and f"prunable weights  {prunable:,}" in out


def test_methods_prints_the_overview(capsys):
    from sparselib.methods import method_names

    main(["methods"])
    out = capsys.readouterr().out
    for name in method_names() + ["explicit", "implicit", "prune-retrain", "schedule"]:
        assert name in out, name


def test_presets_lists_every_preset_with_its_number_of_runs(capsys):
    from sparselib.presets import PRESETS

    main(["presets"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(PRESETS)
    for line, p in zip(lines, PRESETS.values()):
        assert line.split()[:2] == [p.name, str(len(p.configs()))]


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
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # bf16 may be emulated on this CPU (test_speed checks that)
        main(["run", "--preset", "smoke", "--method", "dense", "--set", "epochs=1", "--set", "lr_milestones=[]",
              "--results", str(tmp_path), "--no-progress", "--device", "cpu", "--precision", "bf16",
              "--channels-last", "--compile", "aot_eager"])
    (metrics,) = tmp_path.glob("smoke/*/metrics.json")
    m = json.loads(metrics.read_text())
    assert (m["precision"], m["channels_last"], m["compile"]) == ("bf16", True, "aot_eager")
    cfg = json.loads((metrics.parent / "config.json").read_text())
    assert (cfg["precision"], cfg["channels_last"]) == ("bf16", True)  # part of the run's configuration


# ---------------------------------------------------------------------------------------------
# Every bad input to every subcommand, through the real command line: one line, non-zero, no traceback

BAD_INPUTS = {
    "info: unknown model": ["info", "nosuchnet"],
    "info: unknown dataset": ["info", "resnet56", "--dataset", "nosuchdata"],
    "info: width 0": ["info", "resnet56", "--width", "0"],
    "info: width not a number": ["info", "resnet56", "--width", "wide"],
    "info: width of a WideResNet": ["info", "wrn28_10", "--width", "8"],
    "info: no model": ["info"],
    "run: unknown preset": ["run", "--preset", "nosuch"],
    "run: unknown method": ["run", "--preset", "smoke", "--method", "magic"],
    "run: sparsity out of range": ["run", "--preset", "smoke", "--method", "gmp", "--sparsity", "1.5"],
    "run: sparsity not a number": ["run", "--preset", "smoke", "--method", "gmp", "--sparsity", "most"],
    "run: sparsity for dense": ["run", "--preset", "smoke", "--sparsity", "0.5"],
    "run: negative seed": ["run", "--preset", "smoke", "--seed", "-1"],
    "run: seed not a number": ["run", "--preset", "smoke", "--seed", "x"],
    "run: --arg unknown key": ["run", "--preset", "smoke", "--method", "imp", "--sparsity", "0.9", "--arg", "nokey=1"],
    "run: --arg bad value": ["run", "--preset", "smoke", "--method", "imp", "--sparsity", "0.9", "--arg",
                             "schedule=xyz"],
    "run: --arg bad type": ["run", "--preset", "smoke", "--method", "gsm", "--sparsity", "0.9", "--arg",
                            "momentum=fast"],
    "run: --arg without =": ["run", "--preset", "smoke", "--method", "imp", "--sparsity", "0.9", "--arg", "n_phases"],
    "run: --set unknown field": ["run", "--preset", "smoke", "--set", "colour=red"],
    "run: --set bad value": ["run", "--preset", "smoke", "--set", "epochs=many"],
    "run: --set without =": ["run", "--preset", "smoke", "--set", "epochs"],
    "run: --precision": ["run", "--preset", "smoke", "--precision", "fp8"],
    "run: --compile empty": ["run", "--preset", "smoke", "--compile", ""],
    "run: --device unknown": ["run", "--preset", "smoke", "--device", "quantum"],
    "run: --device absent GPU": ["run", "--preset", "smoke", "--device", "cuda:99"],
    "run: --threads 0": ["run", "--preset", "smoke", "--threads", "0"],
    "run: --results is a file": ["run", "--preset", "smoke", "--results", "{file}"],
    "run: --data missing": ["run", "--preset", "mini", "--data", "{tmp}/nowhere"],
    "run: unknown option": ["run", "--preset", "smoke", "--colour", "red"],
    "sweep: unknown preset": ["sweep", "nosuch"],
    "sweep: an unknown preset among others": ["sweep", "smoke", "nosuch"],
    "sweep: unknown --methods": ["sweep", "smoke", "--methods", "imp,magic", "--dry-run"],
    "sweep: empty --methods": ["sweep", "smoke", "--methods", ",", "--dry-run"],
    "sweep: negative --workers": ["sweep", "smoke", "--workers", "-1"],
    "sweep: unreachable --scheduler": ["sweep", "smoke", "--scheduler", "tcp://127.0.0.1:9", "--connect-timeout",
                                       "0.5"],
    "sweep: malformed --scheduler": ["sweep", "smoke", "--scheduler", "nonsense", "--connect-timeout", "0.5"],
    "sweep: zero --connect-timeout": ["sweep", "smoke", "--scheduler", "tcp://127.0.0.1:9", "--connect-timeout",
                                      "0"],
    "sweep: --resources without =": ["sweep", "smoke", "--resources", "GPU"],
    "sweep: --resources not a number": ["sweep", "smoke", "--resources", "GPU=one"],
    "sweep: --resources negative": ["sweep", "smoke", "--resources", "GPU=-1"],
    "sweep: --results is a file": ["sweep", "smoke", "--results", "{file}", "--workers", "0"],
    "sweep: --data missing": ["sweep", "mini", "--data", "{tmp}/nowhere", "--workers", "0"],
    "methods: unknown name": ["methods", "nosuch"],
    "methods: two names": ["methods", "gsm", "imp"],
    "presets: an argument": ["presets", "mini"],
    "no subcommand": [],
    "unknown subcommand": ["train"],
}


@pytest.fixture(scope="module")
def bad_input_runs(tmp_path_factory):
    """Every case of BAD_INPUTS through the real command line (a subprocess each, a few at a time):
    ``{case: (completed process, its results folder)}``."""
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    def execute(case):
        tmp = tmp_path_factory.mktemp("bad-input")
        file = tmp / "a-file"
        file.write_text("not a folder")
        results = tmp / "results"
        argv = [a.format(tmp=tmp, file=file) for a in BAD_INPUTS[case]]
        if argv and argv[0] in ("run", "sweep") and "--results" not in argv:
            argv += ["--results", str(results)]
        proc = subprocess.run([sys.executable, "-m", "sparselib", *argv], capture_output=True, text=True,
                              timeout=120, cwd=tmp, env={**os.environ, "PYTHONPATH": str(REPO)})
        return case, (proc, results)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(execute, BAD_INPUTS))


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_error_line(case, bad_input_runs):
    """Exit status non-zero, stderr exactly one line starting with "error:", no traceback, and nothing written to
    the results folder."""
    proc, results = bad_input_runs[case]
    assert proc.returncode != 0, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert not results.exists() or not any(results.rglob("*.json")), list(results.rglob("*"))


def test_methods_table_reads_at_100_columns(capsys):
    main(["methods"])
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100, out
    from sparselib.methods import ordered_methods

    names = [line.split()[0] for line in out.splitlines()[1:] if line.strip()][:len(ordered_methods())]
    assert names == [c.name for c in ordered_methods()]  # the registry's order, one line each
    assert "methods NAME" in out


def test_methods_name_shows_one_method_in_detail(capsys):
    main(["methods", "gsm"])
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 100, out
    assert out.startswith("gsm (GSM): Global Sparse Momentum")
    assert re.search(r"^  momentum +0\.99$", out, re.M)  # hyper-parameter and default
    assert re.search(r"what the study searches:\n  momentum +0\.9, 0\.99, 0\.995$", out, re.M)
    assert re.search(r"^reference +Ding et al\. 2019$", out, re.M)
    assert re.search(r"^family +pruning-stable$", out, re.M)
    assert re.search(r"^sparsity +explicit", out, re.M)


def test_sweep_without_a_preset_plans_the_books_study(tmp_path, capsys):
    from sparselib.presets import DEFAULT_STUDY, get_preset

    main(["sweep", "--dry-run", "--results", str(tmp_path / "r")])
    first = capsys.readouterr().out.splitlines()[0]
    n = sum(len(get_preset(p).configs()) for p in DEFAULT_STUDY)
    assert first.startswith(f"preset {'+'.join(DEFAULT_STUDY)}: {n} runs") and " 0 finished" in first
