"""Shared fixtures."""
from pathlib import Path

import pytest

from sparselib.config import Runtime
from sparselib.presets import get_preset
from sparselib.sweep import sweep


@pytest.fixture(scope="session")
def smoke_sweep(tmp_path_factory):
    """The whole `smoke` study, run for real by a sweep on a local Dask cluster of 2 workers (well under a minute):
    ``(results root, the sweep's report)``."""
    root = tmp_path_factory.mktemp("smoke-results")
    runtime = Runtime(results=str(root), progress=False, device="cpu")
    report = sweep(get_preset("smoke").configs(), runtime, workers=2, progress=False)
    return root, report


@pytest.fixture(scope="session")
def smoke_results(smoke_sweep) -> Path:
    """A results root holding the whole `smoke` study."""
    return smoke_sweep[0]
