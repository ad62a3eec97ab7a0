"""Reproducible, resumable benchmark runs: ``clvlab bench CONFIG.toml``.

A config names datasets, models (with methods, priors and options), seeds and the
holdout split. Every (dataset, seed, model) *cell* is fitted and evaluated on the holdout
in a fresh process, so its peak memory is its own; its result is written atomically to
``OUTPUT/cells/<cell>.json`` as soon as it finishes. A re-run skips finished cells, so an
interrupted run resumes where it stopped and no finished result is lost. When all cells
are done, ``results.csv`` and ``results.md`` are written (atomically) from the cell files.

The same config and seeds give the same numbers (timings and memory aside). For
simulated datasets the true parameters are known, and parameter recovery is scored:
the relative error of each estimate and whether the interval holds the truth.

Config example (TOML)::

    [run]
    output = "bench-out"
    seeds = [1, 2]

    [[datasets]]
    name = "cdnow-sample"
    source = "cdnow_sample"          # cdnow_sample | cdnow_master | simulated
    calibration_end = "1997-09-30"
    observation_end = "1998-06-30"

    [[datasets]]
    name = "sim-5k"
    source = "simulated"
    n_customers = 5000
    params = { r = 0.8, alpha = 6.0, a = 0.9, b = 3.0 }
    calibration_weeks = 39
    observation_weeks = 78

    [[models]]
    name = "bgnbd-mle"
    method = "mle"

    [[models]]
    name = "bgnbd-nuts-flat"
    method = "nuts"
    options = { draws = 500, tune = 500 }
    priors = { r = { dist = "HalfFlat" } }
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import time
import tomllib
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clvlab._atomic import atomic_path
from clvlab.errors import ClvlabError
from clvlab.progress import progress_bar

__all__ = ["load_config", "run_bench"]

_SOURCES = ("cdnow_sample", "cdnow_master", "simulated")
_METHODS = ("mle", "nuts", "advi", "map")


def load_config(path: str | Path) -> dict[str, Any]:
    """Read and check a benchmark config; errors name the offending entry."""
    try:
        with open(path, "rb") as handle:
            config = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ClvlabError(f"cannot read benchmark config {path}: {exc}") from exc
    run = config.setdefault("run", {})
    run.setdefault("output", str(Path(path).with_suffix("")) + "-results")
    run.setdefault("seeds", [0])
    for i, dataset in enumerate(config.get("datasets", [])):
        if dataset.get("source") not in _SOURCES:
            raise ClvlabError(f"datasets[{i}]: source must be one of {_SOURCES}")
        dataset.setdefault("name", f"{dataset['source']}-{i}")
    for i, model in enumerate(config.get("models", [])):
        if model.get("method", "mle") not in _METHODS:
            raise ClvlabError(f"models[{i}]: method must be one of {_METHODS}")
        model.setdefault("name", f"bgnbd-{model.get('method', 'mle')}-{i}")
    if not config.get("datasets") or not config.get("models"):
        raise ClvlabError(f"{path}: a config needs at least one [[datasets]] and [[models]]")
    return config


def _dataset(
    spec: Mapping[str, Any], seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """The RFM table, the transaction log it came from, and the true parameters."""
    from clvlab import datasets
    from clvlab.data import rfm_summary

    source = spec["source"]
    if source == "simulated":
        truth = {k: float(v) for k, v in spec.get("params", {}).items()}
        simulate: Any = datasets.simulate_transactions
        log = simulate(
            int(spec.get("n_customers", 5000)),
            **truth,
            acquisition_periods=float(spec.get("acquisition_weeks", 12)),
            observation_periods=float(spec.get("observation_weeks", 78)),
            seed=seed,
        )
        start = np.datetime64("2020-01-01")
        cal_end = start + np.timedelta64(int(7 * float(spec.get("calibration_weeks", 39))), "D")
        rfm = rfm_summary(
            log,
            monetary_value_col="spend",
            calibration_end=str(cal_end),
            observation_end=log.attrs["clvlab"]["observation_end"],
        )
        return rfm, log, truth
    log = datasets.load_cdnow_sample() if source == "cdnow_sample" else datasets.load_cdnow_master()
    rfm = rfm_summary(
        log,
        monetary_value_col="spend",
        calibration_end=spec.get("calibration_end", "1997-09-30"),
        observation_end=spec.get("observation_end", "1998-06-30"),
    )
    return rfm, log, {}


def _run_cell(dataset: dict[str, Any], model_spec: dict[str, Any], seed: int) -> dict[str, Any]:
    """Fit and evaluate one cell (runs in a fresh process)."""
    import warnings

    from clvlab import BetaGeo, Prior, SamplingWarning, evaluate

    rfm, log, truth = _dataset(dataset, seed)
    priors = {k: Prior.from_dict(v) for k, v in model_spec.get("priors", {}).items()}
    model = BetaGeo(priors=priors)
    method = model_spec.get("method", "mle")
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SamplingWarning)
        model.fit(rfm, method=method, seed=seed, progress=False, **model_spec.get("options", {}))
    fit_seconds = time.perf_counter() - started
    ev = evaluate(model, rfm, seed=seed, transactions=log)
    result: dict[str, Any] = {
        "dataset": dataset["name"],
        "model": model_spec["name"],
        "method": method,
        "seed": seed,
        "customers": model.n_customers_,
        "fit_seconds": fit_seconds,
        **{k: float(v) for k, v in ev.metrics.items()},
        "sampling_warnings": len([w for w in caught if issubclass(w.category, SamplingWarning)]),
    }
    for key, value in model.fit_info_.get("diagnostics", {}).items():
        result[f"diag_{key}"] = value
    estimate, lower, upper = (
        dict(zip(map(str, model.params_.index), model.params_[c].to_numpy(float), strict=True))
        for c in ("estimate", "lower", "upper")
    )
    for name, value in truth.items():
        result[f"rel_error_{name}"] = float(estimate[name]) / value - 1
        result[f"covered_{name}"] = bool(lower[name] <= value <= upper[name])
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _cell_id(dataset: str, seed: int, model: str) -> str:
    return f"{dataset}__seed{seed}__{model}".replace("/", "_")


def run_bench(config_path: str | Path, *, progress: bool = True) -> pd.DataFrame:
    """Run (or resume) every cell of the config and write the result tables.

    Returns the results table, one row per cell.
    """
    config = load_config(config_path)
    out = Path(config["run"]["output"])
    if not out.is_absolute():
        out = Path(config_path).parent / out
    cells_dir = out / "cells"
    cells_dir.mkdir(parents=True, exist_ok=True)
    cells = [
        (dataset, model, int(seed))
        for dataset in config["datasets"]
        for seed in config["run"]["seeds"]
        for model in config["models"]
    ]
    todo = [
        c
        for c in cells
        if not (cells_dir / f"{_cell_id(c[0]['name'], c[2], c[1]['name'])}.json").exists()
    ]
    print(f"{len(cells)} cells, {len(cells) - len(todo)} already done, {len(todo)} to run")
    context = multiprocessing.get_context("spawn")
    for dataset, model, seed in progress_bar(todo, "bench", enable=progress, total=len(todo)):
        cell = _cell_id(dataset["name"], seed, model["name"])
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            result = pool.submit(_run_cell, dataset, model, seed).result()
        with atomic_path(cells_dir / f"{cell}.json") as tmp:
            tmp.write_text(json.dumps(result, indent=1, sort_keys=True))
        print(f"  done: {cell} ({result['fit_seconds']:.1f} s)", flush=True)
    rows = [
        json.loads((cells_dir / f"{_cell_id(d['name'], s, m['name'])}.json").read_text())
        for d, m, s in cells
    ]
    table = pd.DataFrame(rows)
    with atomic_path(out / "results.csv") as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(out / "results.md") as tmp:
        tmp.write_text(_markdown(table))
    print(f"wrote {out / 'results.csv'} and {out / 'results.md'}")
    return table


def _markdown(table: pd.DataFrame) -> str:
    from clvlab.evaluate.compare import HEADLINE_METRICS

    wanted = (
        *("dataset", "seed", "model", "fit_seconds", "peak_mb"),
        *HEADLINE_METRICS,
        *("diag_max_r_hat", "diag_min_ess_bulk"),
    )
    columns = [c for c in wanted if c in table.columns]
    columns += [c for c in table.columns if c.startswith(("rel_error_", "covered_"))]
    shown = table[columns].copy()
    header = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    lines = []
    for _, row in shown.iterrows():
        cells = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return header + "\n".join(lines) + "\n"
