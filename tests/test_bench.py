"""`clvlab bench`: results tables, reproducibility, and resuming after an interruption."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import clvlab
from clvlab.bench import load_config
from tests._family import CONTINUOUS

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


def _bench(config: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start ``clvlab bench`` in its own process group, output to a file (not a pipe, so
    that killing the group cannot leave a reader waiting on an orphaned writer)."""
    env = {**os.environ, "CLVLAB_PROGRESS": "0"}
    with open(log, "ab") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "clvlab.cli", "bench", str(config)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def _wait(proc: subprocess.Popen[bytes], log: Path, timeout: float = 300) -> None:
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert code == 0, log.read_text()


@pytest.mark.slow
def test_interrupted_run_resumes_without_recomputing(tmp_path: Path) -> None:
    config = tmp_path / "bench.toml"
    config.write_text(CONFIG)
    cells = tmp_path / "out" / "cells"
    log = tmp_path / "log.txt"
    proc = _bench(config, log)
    deadline = time.monotonic() + 300
    while not list(cells.glob("*.json")) and proc.poll() is None:
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    # Kill the whole run (the driver and its cell worker) the moment a cell is finished.
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    finished = {p.name: (p.stat().st_mtime_ns, p.read_text()) for p in cells.glob("*.json")}
    assert 1 <= len(finished) < 4, log.read_text()
    for text in (t for _, t in finished.values()):
        json.loads(text)  # every finished cell file is whole
    assert not (tmp_path / "out" / "results.csv").exists()

    _wait(_bench(config, log), log)
    out = log.read_text()
    assert f"4 cells, {len(finished)} already done" in out
    for name, (mtime, text) in finished.items():
        assert (cells / name).stat().st_mtime_ns == mtime  # not recomputed
        assert (cells / name).read_text() == text
    resumed = pd.read_csv(tmp_path / "out" / "results.csv")
    assert len(resumed) == 4 and set(resumed["seed"]) == {1, 2}

    # The same config and seeds give the same numbers in a fresh, uninterrupted run.
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "bench.toml").write_text(CONFIG)
    _wait(_bench(fresh / "bench.toml", log), log)
    again = pd.read_csv(fresh / "out" / "results.csv")
    pd.testing.assert_frame_equal(resumed.drop(columns=TIMING), again.drop(columns=TIMING))
    md = (tmp_path / "out" / "results.md").read_text()
    assert md.startswith("| dataset |") and md.count("\n") == 6


def test_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[datasets]]\nsource = "nowhere"\n[[models]]\nmethod = "mle"\n')
    with pytest.raises(clvlab.ClvlabError, match=r"datasets\[0\]: source"):
        load_config(bad)
    bad.write_text("not = [valid")
    with pytest.raises(clvlab.ClvlabError, match="cannot read"):
        load_config(bad)


def test_shipped_config_is_valid() -> None:
    """Every continuous-time purchase model by MLE and NUTS, on the CDNOW sample and full
    CDNOW."""
    root = Path(__file__).resolve().parents[1]
    config = load_config(root / "benchmarks" / "model_comparison.toml")
    assert [d["source"] for d in config["datasets"]] == ["cdnow_sample", "cdnow_master"]
    cells = sorted((m["model"], m["method"]) for m in config["models"])
    # every continuous-time model (the bench's datasets are CDNOW; BG/BB is refused)
    assert cells == sorted((m, k) for m in CONTINUOUS for k in ("mle", "nuts"))
    assert all(m["name"] == f"{m['model']}-{m['method']}" for m in config["models"])
