"""The papermill notebook runs a run through the library (it holds no training logic of its own)."""
import json
from pathlib import Path

import papermill

from sparselib.presets import get_preset

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "train.ipynb"


def test_papermill_train_notebook_makes_the_run(tmp_path):
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(NOTEBOOK), str(out), kernel_name="python3", progress_bar=False,
                               parameters={"method": "gmp", "sparsity": 0.95, "preset": "smoke",
                                           "results": str(tmp_path / "results")})
    cfg = get_preset("smoke").config("gmp", 0.95)
    metrics = json.loads((tmp_path / "results" / "smoke" / cfg.run_id / "metrics.json").read_text())
    assert abs(metrics["sparsity_prunable"] - 0.95) < 1e-3
    assert cfg.run_id in out.read_text()
    code = "".join("".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code")
    assert "backward" not in code and "optimizer" not in code  # the library trains, not the notebook
