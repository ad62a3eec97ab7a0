"""`clvlab bench`: results tables, reproducibility, and resuming after an interruption."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import clvlab
from clvlab.bench import load_config

CONFIG = """
[run]
output = "out"
seeds = [1, 2]

[[datasets]]
name = "cdnow-sample"
source = "cdnow_sample"
calibration_end = "1997-09-30"
observation_end = "1998-06-30"

[[datasets]]
name = "sim"
source = "simulated"
n_customers = 2000
params = { r = 0.8, alpha = 6.0, a = 0.9, b = 3.0 }

[[models]]
name = "mle"
method = "mle"
options = { n_draws = 200 }
"""

TIMING = ["fit_seconds", "peak_mb"]


def _bench(config: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "CLVLAB_PROGRESS": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "clvlab.cli", "bench", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def test_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[datasets]]\nsource = "nowhere"\n[[models]]\nmethod = "mle"\n')
    with pytest.raises(clvlab.ClvlabError, match=r"datasets\[0\]: source"):
        load_config(bad)
    bad.write_text("not = [valid")
    with pytest.raises(clvlab.ClvlabError, match="cannot read"):
        load_config(bad)


def test_shipped_config_is_valid() -> None:
    root = Path(__file__).resolve().parents[1]
    config = load_config(root / "benchmarks" / "model_comparison.toml")
    assert len(config["datasets"]) == 3 and len(config["models"]) == 4
