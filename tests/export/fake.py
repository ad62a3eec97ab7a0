"""Predictions with made-up numbers, for tests of the export layer alone (no fitting)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from clvlab import CustomerPredictions
from clvlab.predict.table import METRICS


def fake_predictions(n: int, run_id: str, seed: int = 0) -> CustomerPredictions:
    rng = np.random.default_rng(seed)
    columns = {}
    for metric in METRICS:
        estimate = rng.gamma(2.0, 10.0, n)
        columns[f"{metric}_estimate"] = estimate
        columns[f"{metric}_lower"] = estimate * 0.8
        columns[f"{metric}_upper"] = estimate * 1.3
    # the simple formula's point values: historic (past repeat revenue) and simple CLV
    columns["historic_clv"] = rng.gamma(2.0, 20.0, n)
    columns["simple_clv"] = rng.gamma(2.0, 8.0, n)
    table = pd.DataFrame(columns, index=pd.Index(np.arange(n) + 10_000, name="customer_id"))
    run = {
        "run_id": run_id,
        "created_at": dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC),
        "clvlab_version": "test",
        "purchase_model": "bgnbd",
        "spend_model": "gamma_gamma",
        "method": "mle",
        "horizon": 12.0,
        "horizon_unit": "M",
        "ci_prob": 0.9,
        "interval": "eti",
        "discount_rate": 0.01,
        "margin": 1.0,
        "time_unit": "W",
        "first_transaction": dt.date(1997, 1, 1),
        "calibration_end": dt.date(1997, 9, 30),
        "observation_end": dt.date(1998, 6, 30),
        "customers": n,
        "total_clv_estimate": float(table["clv_estimate"].sum()),
        "total_clv_lower": float(table["clv_lower"].sum()),
        "total_clv_upper": float(table["clv_upper"].sum()),
    }
    parameters = pd.DataFrame(
        {
            "model": ["bgnbd"] * 4,
            "parameter": ["r", "alpha", "a", "b"],
            "estimate": [0.24, 4.41, 0.79, 2.43],
            "lower": [0.22, 3.83, 0.54, 1.50],
            "upper": [0.26, 5.08, 1.17, 3.91],
        }
    )
    return CustomerPredictions(table, run, parameters)


def export_big(target: str, n: int) -> None:
    """Entry point of the kill test's child process."""
    from clvlab import export

    export(fake_predictions(n, "new", seed=1), target, long=True, chunk_rows=20_000)


def export_until_killed(target: str, n: int) -> None:
    """Entry point of the kill test's child process: export ``n`` customers, and once
    two chunks of the customer table are written, say so (one line on stdout) and wait
    on stdin, which the parent never writes: it kills this process instead. The sync
    point is deterministic; no timing is involved."""
    import sys

    from clvlab import export

    module = sys.modules["clvlab.export"]
    real_chunks = module.chunks

    def chunks(*args: object, **kwargs: object) -> object:
        spec = args[1]
        for number, frame in enumerate(real_chunks(*args, **kwargs)):
            if spec.name == "customers" and number == 2:
                print("writing", flush=True)
                sys.stdin.read()
            yield frame

    module.chunks = chunks
    export(fake_predictions(n, "new", seed=1), target, long=True, chunk_rows=1000)


def export_worker(parquet: str, csv: str, index: int, barrier: object) -> None:
    """One of the concurrent exporters: run ``r<index>`` to both targets, starting
    together with the others (``barrier``), in alternating target order."""
    from clvlab import export

    predictions = fake_predictions(600 + 50 * index, f"r{index}", seed=index)
    barrier.wait()  # type: ignore[attr-defined]
    targets = [parquet, csv] if index % 2 == 0 else [csv, parquet]
    for target in targets:
        export(predictions, target, long=True, chunk_rows=100)
