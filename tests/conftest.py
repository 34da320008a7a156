"""Shared fixtures."""
from pathlib import Path

import pytest

from sparselib.config import Runtime
from sparselib.presets import get_preset
from sparselib.runner import run


@pytest.fixture(scope="session")
def smoke_results(tmp_path_factory) -> Path:
    """A results root holding the whole `smoke` study, run for real (a few seconds)."""
    root = tmp_path_factory.mktemp("smoke-results")
    runtime = Runtime(results=str(root), progress=False, device="cpu")
    for cfg in get_preset("smoke").configs():
        run(cfg, runtime, log=lambda _: None)
    return root
