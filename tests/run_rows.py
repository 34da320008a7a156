"""Hand-made rows of the run table (sparselib.results.collect_runs) for tests of the reporting modules."""
import hashlib
import json

from sparselib.config import RunConfig
from sparselib.results import config_id
from sparselib.storage import RunFolder


def run_row(folder="", top1=0.9, sparsity=0.0, cpu=100.0, prunable=1000, speedup=1.0, **fields):
    """One run: every RunConfig field (``fields`` over the defaults), its run and configuration ids, and the given
    results (validation accuracy = test accuracy unless set afterwards)."""
    cfg = RunConfig(**fields).to_dict()
    d = {**cfg, "method_args": json.dumps(cfg["method_args"], sort_keys=True)}
    return {**d, "run_id": hashlib.md5(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12],
            "config_id": config_id(cfg), "top1": top1, "val_top1": top1, "sparsity_prunable": sparsity,
            "sparsity_total": sparsity, "theoretical_speedup": speedup, "relative_time": 1.0, "train_cpu_s": cpu,
            "prunable": prunable, "folder": folder}


def run_folder(path, mask_stats=None, history=None) -> str:
    """A run folder at ``path`` with the given mask statistics and history rows."""
    f = RunFolder(path)
    f.path.mkdir(parents=True)
    if mask_stats is not None:
        f.write_mask_stats(mask_stats)
    if history is not None:
        f.write_history(history)
    return str(f.path)
