"""Reproducible, resumable benchmark runs: ``clvlab bench CONFIG.toml``.

A config names datasets, models (with methods, priors and options), seeds and the
holdout split. Every (dataset, seed, model) *cell* is fitted and evaluated on the holdout
in a fresh process, so its peak memory is its own; its result is written atomically to
``OUTPUT/cells/<cell>.json`` as soon as it finishes. A re-run skips finished cells, so an
interrupted run resumes where it stopped and no finished result is lost. When all cells
are done, ``results.csv`` and ``results.md`` are written (atomically) from the cell files.

Each ``[[models]]`` entry names a purchase model of :func:`clvlab.purchase_models`
(``model = "bgnbd"``, the default, ``"mbgnbd"`` or ``"pnbd"``) and a fitting method of
every model (``method = "mle"``, the default, ``"nuts"``, ``"advi"`` or ``"map"``), with
optional ``options`` (keyword arguments of the model's ``fit``) and ``priors``. The
default cell name is ``"<model>-<method>-<index>"``. The whole config is checked before
any cell runs: an unknown source, model, method, fit option or prior, or two entries with
the same name, raise :class:`~clvlab.errors.ArgumentError` naming the known choices.

Models run on datasets of their kind: continuous-time models (``bgnbd``, ``mbgnbd``,
``pnbd``) on ``cdnow_sample``, ``cdnow_master`` and ``simulated`` logs; BG/BB (``bgbb``)
on ``simulated_opportunities`` (a cohort's yearly histories with a holdout, drawn from
BG/BB at ``params``, default Fader, Hardie & Shang 2010;
:func:`clvlab.data.simulate_discrete.simulate_opportunities`); the shifted-beta-geometric
model (``sbg``) on ``fh07_retention`` (Fader & Hardie 2007 Table 1: years 1-7, holdout
years 8-12; :func:`clvlab.datasets.load_retention_histories`). A config that pairs a
model with a dataset of another kind is refused. Discrete and contractual cells have no
tracking (no day-level log).

The same config and seeds give the same numbers (timings and memory aside). Simulated
datasets are drawn from BG/NBD (:func:`clvlab.simulate_transactions`) or BG/BB, so their
true parameters are known. Parameter recovery (the relative error of each estimate,
``rel_error_<name>``, and whether the interval holds the truth, ``covered_<name>``) is
scored only for cells whose purchase model is the one that generated the data (BG/NBD
for ``simulated``, BG/BB for ``simulated_opportunities``):
MBG/NBD's ``a`` and ``b`` have the same names but another meaning (dropout is also
possible right after the first purchase), and Pareto/NBD has other dropout parameters, so
their estimates are not estimates of the simulation's truth.

Config example (TOML)::

    [run]
    output = "bench-out"
    seeds = [1, 2]

    [[datasets]]
    name = "cdnow-sample"
    source = "cdnow_sample"          # cdnow_sample | cdnow_master | simulated (see above)
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
    model = "bgnbd"                  # a key of clvlab.purchase_models()
    method = "mle"

    [[models]]
    name = "pnbd-mle"
    model = "pnbd"
    method = "mle"

    [[models]]
    name = "bgnbd-nuts-flat"
    method = "nuts"
    options = { draws = 500, tune = 500 }
    priors = { r = { dist = "HalfFlat" } }
"""

from __future__ import annotations

import inspect
import json
import multiprocessing
import resource
import time
import tomllib
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from clvlab._atomic import atomic_path
from clvlab.arguments import check_count, check_positive
from clvlab.errors import ArgumentError, ClvlabError
from clvlab.formulas.contract import is_contractual, is_discrete
from clvlab.models.base import METHODS
from clvlab.models.purchase import PurchaseModel, purchase_models
from clvlab.priors import Prior
from clvlab.progress import progress_bar

__all__ = ["load_config", "run_bench"]

#: Each dataset source and the kind of purchase model it suits (:func:`_kind`).
_SOURCE_KINDS = {
    "cdnow_sample": "continuous",
    "cdnow_master": "continuous",
    "simulated": "continuous",
    # BG/BB histories with a holdout, drawn at chosen parameters (default FHS 2010)
    "simulated_opportunities": "discrete",
    # Fader & Hardie (2007) Table 1: 2,000 subscribers, years 1-7 and the real 8-12
    "fh07_retention": "contractual",
}
_SOURCES = tuple(_SOURCE_KINDS)
#: The purchase model of the default ``[[models]]`` entry.
_DEFAULT_MODEL = "bgnbd"
#: The purchase model that :func:`clvlab.simulate_transactions` draws from: the only
#: one whose estimates are scored against a simulated dataset's true parameters.
_SIMULATED_BY = {"simulated": "bgnbd", "simulated_opportunities": "bgbb"}
#: ``fit`` arguments that every cell sets itself.
_CELL_FIT_ARGUMENTS = ("self", "rfm", "method", "seed", "progress")


def load_config(path: str | Path) -> dict[str, Any]:
    """Read and check a benchmark config, filling in the defaults.

    Every entry is checked before anything runs, so a typo cannot stop a long run half-way.

    Raises
    ------
    ClvlabError
        When the file cannot be read or is not TOML.
    ArgumentError
        Naming the offending entry (``datasets[0]``, ``models[2]``) and the known choices:
        an unknown dataset source, purchase model, method, fit option or parameter; a
        prior the model cannot take; two entries with the same name; no dataset or model.
    """
    try:
        with open(path, "rb") as handle:
            config = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ClvlabError(f"cannot read benchmark config {path}: {exc}") from exc
    run = config.setdefault("run", {})
    run.setdefault("output", str(Path(path).with_suffix("")) + "-results")
    seeds = run.setdefault("seeds", [0])
    if not isinstance(seeds, list) or not seeds:
        raise ArgumentError(f"run.seeds must be a list of integers such as [1, 2], got {seeds!r}")
    run["seeds"] = [check_count(f"run.seeds[{i}]", s, minimum=0) for i, s in enumerate(seeds)]
    if not config.get("datasets") or not config.get("models"):
        raise ArgumentError(f"{path}: a config needs at least one [[datasets]] and [[models]]")
    for kind in ("datasets", "models"):
        entries = config[kind]
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ArgumentError(
                f"{path}: {kind} must be an array of tables, one [[{kind}]] section per entry"
            )
    for i, dataset in enumerate(config["datasets"]):
        _check_dataset(i, dataset)
    for i, model in enumerate(config["models"]):
        _check_model(i, model)
    for i, model in enumerate(config["models"]):
        kind = _kind(model["model"])
        for dataset in config["datasets"]:
            if _SOURCE_KINDS[dataset["source"]] != kind:
                suits = [k for k, v in _SOURCE_KINDS.items() if v == kind]
                raise ArgumentError(
                    f"models[{i}]: {model['model']!r} is a {kind}-time model, but dataset "
                    f"{dataset['name']!r} ({dataset['source']}) is "
                    f"{_SOURCE_KINDS[dataset['source']]}: every model runs on every dataset, "
                    f"so put it in a config whose datasets are of source {suits}"
                )
    for kind in ("datasets", "models"):
        names = [entry["name"] for entry in config[kind]]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ArgumentError(
                f"{kind}: the names {repeated} are used more than once, so their cells "
                "would overwrite each other; give each entry its own name"
            )
    return config


def _check_dataset(i: int, dataset: dict[str, Any]) -> None:
    """Check ``datasets[i]`` and set its default name."""
    if dataset.get("source") not in _SOURCES:
        raise ArgumentError(
            f"datasets[{i}]: source must be one of {list(_SOURCES)}, got {dataset.get('source')!r}"
        )
    if dataset["source"] == "simulated_opportunities":
        known = purchase_models()[_SIMULATED_BY["simulated_opportunities"]].param_names
        _check_simulation(i, dataset, known, "BG/BB's parameters", "{ alpha = 1.2, delta = 2.8 }")
        for key in ("calibration", "holdout"):
            if key in dataset:
                check_count(f"datasets[{i}].{key}", dataset[key])
    if dataset["source"] == "simulated":
        from clvlab.models.gamma_gamma import GammaGamma

        known = (
            *purchase_models()[_SIMULATED_BY["simulated"]].param_names,
            *GammaGamma.param_names,
        )
        _check_simulation(
            i,
            dataset,
            known,
            "the simulation's parameters",
            "{ r = 0.8, alpha = 6.0, a = 0.9, b = 3.0 }",
        )
        for key in ("acquisition_weeks", "calibration_weeks", "observation_weeks"):
            if key in dataset:
                check_positive(f"datasets[{i}].{key}", dataset[key])
    dataset.setdefault("name", f"{dataset['source']}-{i}")


def _check_simulation(
    i: int, dataset: dict[str, Any], known: Sequence[str], whose: str, example: str
) -> None:
    """A simulated dataset's ``params`` (a table of ``known`` names, each positive) and
    ``n_customers``."""
    params = dataset.get("params", {})
    if not isinstance(params, dict) or any(k not in known for k in params):
        raise ArgumentError(
            f"datasets[{i}]: params must be a table of {whose} {list(known)}, such as "
            f"{example}; got {params!r}"
        )
    for key, value in params.items():
        check_positive(f"datasets[{i}].params.{key}", value)
    check_count(f"datasets[{i}].n_customers", dataset.get("n_customers", 5000))


def _check_model(i: int, spec: dict[str, Any]) -> None:
    """Check ``models[i]`` against the registry and the model's ``fit``, and set its
    defaults (``model``, ``method``, ``name``)."""
    known = purchase_models()
    name = spec.setdefault("model", _DEFAULT_MODEL)
    if not isinstance(name, str) or name not in known:
        raise ArgumentError(
            f"models[{i}]: unknown purchase model {name!r}; use one of {sorted(known)} "
            "(clvlab.purchase_models())"
        )
    method = spec.setdefault("method", "mle")
    if method not in METHODS:
        raise ArgumentError(f"models[{i}]: unknown method {method!r}; use one of {list(METHODS)}")
    cls = known[name]
    allowed = [p for p in inspect.signature(cls.fit).parameters if p not in _CELL_FIT_ARGUMENTS]
    options = spec.get("options", {})
    bad = sorted(str(k) for k in options if k not in allowed) if isinstance(options, dict) else None
    if bad is None or bad:
        raise ArgumentError(
            f"models[{i}]: options must be a table of {cls.__name__}.fit arguments, one of "
            f"{allowed}; got {options!r}"
        )
    try:
        _model(spec)
    except ArgumentError as exc:
        raise ArgumentError(f"models[{i}]: {exc}") from exc
    spec.setdefault("name", f"{name}-{method}-{i}")


def _kind(model_name: str) -> str:
    """``"continuous"``, ``"discrete"`` (BG/BB) or ``"contractual"`` (sBG)."""
    formulas = purchase_models()[model_name].formulas
    if is_contractual(formulas):
        return "contractual"
    return "discrete" if is_discrete(formulas) else "continuous"


def _model(spec: Mapping[str, Any]) -> PurchaseModel:
    """The unfitted purchase model of a ``[[models]]`` entry, with its priors."""
    priors = spec.get("priors", {})
    if not isinstance(priors, dict):
        raise ArgumentError(
            f'priors must be a table such as {{ r = {{ dist = "HalfFlat" }} }}, got {priors!r}'
        )
    cls = purchase_models()[spec["model"]]
    return cls(priors={k: Prior.from_dict(v) for k, v in priors.items()})


def _dataset(
    spec: Mapping[str, Any], seed: int
) -> tuple[pd.DataFrame, pd.DataFrame | None, dict[str, float]]:
    """The RFM table, the transaction log it came from (``None`` for the discrete and
    contractual sources, which have no day-level log to track), and the true
    parameters."""
    from clvlab import datasets
    from clvlab.data import rfm_summary
    from clvlab.data.simulate_discrete import simulate_opportunities

    source = spec["source"]
    if source == "fh07_retention":
        return datasets.load_retention_histories(), None, {}
    if source == "simulated_opportunities":
        table = simulate_opportunities(
            int(spec.get("n_customers", 5000)),
            **{k: float(v) for k, v in spec.get("params", {}).items()},
            calibration=int(spec.get("calibration", 6)),
            holdout=int(spec.get("holdout", 5)),
            seed=seed,
        )
        return table, None, dict(table.attrs["clvlab"]["params"])
    if source == "simulated":
        simulate: Any = datasets.simulate_transactions
        log = simulate(
            int(spec.get("n_customers", 5000)),
            **{k: float(v) for k, v in spec.get("params", {}).items()},
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
        # every true parameter, the simulator's defaults included
        truth = {k: float(v) for k, v in log.attrs["clvlab"]["params"].items()}
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

    from clvlab import SamplingWarning, evaluate

    rfm, log, truth = _dataset(dataset, seed)
    model = _model(model_spec)
    method = model_spec["method"]
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SamplingWarning)
        model.fit(rfm, method=method, seed=seed, progress=False, **model_spec.get("options", {}))
    fit_seconds = time.perf_counter() - started
    ev = evaluate(model, rfm, seed=seed, transactions=log)
    result: dict[str, Any] = {
        "dataset": dataset["name"],
        "model": model_spec["name"],
        "purchase_model": model_spec["model"],
        "method": method,
        # "nuts" when a degenerate maximum-likelihood fit fell back to NUTS
        "fit_method": model.method_,
        "seed": seed,
        "customers": model.n_customers_,
        "fit_seconds": fit_seconds,
        **{k: float(v) for k, v in ev.metrics.items()},
        "sampling_warnings": len([w for w in caught if issubclass(w.category, SamplingWarning)]),
    }
    for key, value in model.fit_info_.get("diagnostics", {}).items():
        result[f"diag_{key}"] = value
    result.update(_recovery(model, model_spec["model"], dataset["source"], truth))
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _recovery(
    model: PurchaseModel, purchase_model: str, source: str, truth: Mapping[str, float]
) -> dict[str, Any]:
    """Relative error and interval coverage of each true parameter, for a model fitted to
    data simulated from it; nothing for another model (see the module docstring)."""
    if not truth or purchase_model != _SIMULATED_BY.get(source):
        return {}
    estimate, lower, upper = (
        dict(zip(map(str, model.params_.index), model.params_[c].to_numpy(float), strict=True))
        for c in ("estimate", "lower", "upper")
    )
    out: dict[str, Any] = {}
    for name in model.param_names:
        out[f"rel_error_{name}"] = float(estimate[name]) / truth[name] - 1
        out[f"covered_{name}"] = bool(lower[name] <= truth[name] <= upper[name])
    return out


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
    """The results as a markdown table: the headline metrics, then parameter recovery;
    ``fit_method`` only when a fit fell back from its method; "–" where a cell has no
    value (no LOO for an MLE, no recovery for another model or for real data)."""
    from clvlab.evaluate.compare import HEADLINE_METRICS

    fell_back = "fit_method" in table and bool((table["fit_method"] != table["method"]).any())
    wanted = (
        *("dataset", "seed", "model", "purchase_model", "method"),
        *(("fit_method",) if fell_back else ()),
        *("fit_seconds", "peak_mb"),
        *HEADLINE_METRICS,
        *("diag_max_r_hat", "diag_min_ess_bulk"),
    )
    columns = [c for c in wanted if c in table.columns]
    columns += [c for c in table.columns if c.startswith(("rel_error_", "covered_"))]
    shown = table[columns].copy()
    header = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    lines = []
    for _, row in shown.iterrows():
        cells = [_cell_text(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return header + "\n".join(lines) + "\n"


def _cell_text(value: Any) -> str:
    if isinstance(value, float) and np.isnan(value):
        return "–"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
