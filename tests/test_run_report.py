"""The report of one run (sparselib.run_report), on committed runs of the book's study: key numbers as percentages in a fixed
order, the training figure (with the dense run an IMP run starts from), the per-layer figure."""
import json
from pathlib import Path

import pytest

from sparselib.run_report import epoch_line, key_numbers, layer_figure, training_figure
from sparselib.storage import RunFolder

MINI = Path(__file__).resolve().parents[1] / "results" / "fmnist"


def _finished(method: str) -> RunFolder:
    for config in sorted(MINI.glob("*/config.json")):
        folder = RunFolder(config.parent)
        if json.loads(config.read_text())["method"] == method and folder.finished:
            return folder
    pytest.skip(f"no finished fmnist {method} run in this checkout")


def test_key_numbers_are_percentages_in_a_fixed_order():
    folder = _finished("gmp")
    m = folder.read_metrics()
    rows = key_numbers(folder)
    assert [k for k, _ in rows] == [
        "run", "top-1 accuracy (test set)", "validation accuracy", "sparsity reached (prunable weights)",
        "sparsity of all parameters", "theoretical speedup", "prunable weights kept", "multiply-adds per image",
        "epochs", "training time"]
    values = dict(rows)
    assert values["top-1 accuracy (test set)"] == f"{100 * m['top1']:.2f} %"
    goal = folder.read_config()["goal_sparsity"]
    assert values["sparsity reached (prunable weights)"] == f"{100 * m['sparsity_prunable']:.2f} % (goal {100 * goal:g} %)"
    assert values["run"].startswith("GMP") and m["run_id"] in values["run"]


def test_training_figure_shows_the_dense_run_an_imp_run_starts_from():
    folder = _finished("imp")
    m = folder.read_metrics()
    dense = RunFolder(folder.path.parent / m["reference_run_id"])
    fig = training_figure(folder)
    val = next(t for t in fig.data if t.name == "validation")
    n_dense, n_imp = len(dense.read_history()), len(folder.read_history())
    assert list(val.x) == list(range(1, n_dense + n_imp + 1))  # the dense epochs first, then IMP's
    assert [round(v, 6) for v in val.y[-n_imp:]] == [round(100 * r["val_acc"], 6) for r in folder.read_history()]
    lr = next(t for t in fig.data if t.name == "learning rate")
    assert len(lr.x) == len(dense.read_lrs()) + len(folder.read_lrs()) and max(lr.x) == pytest.approx(n_dense + n_imp)
    assert any(t.name == "validation right after pruning" for t in fig.data)
    assert [(s.x0, s.x1) for s in fig.layout.shapes] == [(0, n_dense)] * 3  # shaded in each panel
    assert f"{100 * m['top1']:.2f} %" in fig.layout.title.text


def test_layer_figure_has_one_bar_per_prunable_layer():
    folder = _finished("str")
    stats = folder.read_mask_stats()
    (bars,) = layer_figure(folder).data
    assert len(bars.y) == len(stats)
    assert [round(x, 6) for x in bars.x] == [round(100 * (1 - s["kept"] / s["numel"]), 6) for s in stats]


def test_epoch_line():
    row = {"epoch": 3, "lr": 0.01, "train_loss": 0.41234, "train_acc": 0.842, "val_acc": 0.861, "sparsity": 0.9,
           "train_time_s": 48.2}
    assert epoch_line(row, 6) == ("epoch 3/6: loss 0.412, train 84.2 %, validation 86.1 %, sparsity 90.0 %, lr 0.01, "
                                  "48 s")
