"""Ranked comparison of fitted models on the holdout, with simple baselines.

Baselines (no model):

- the **run rate**, each customer's calibration purchase rate ``frequency / T`` times the
  holdout length;
- the **population mean**, the mean calibration rate of all customers times the holdout
  length;
- the **simple formula**, the practitioner's CLV rule in purchase terms
  (:func:`clvlab.decisions.simple.simple_expected_purchases`): each customer's
  calibration rate times the expected retained time over the holdout,
  ``sum_k w_k r^k`` over the holdout's periods of the RFM's time unit (the partial last
  period weighted by its fraction), with the retention ``r`` estimated from the
  calibration table by :func:`clvlab.decisions.simple.retention_rate` (default half-year
  lapse). When ``r`` cannot be estimated (a table with no time unit, or no customer
  observed for half a year), the row is left out and ``attrs["clvlab"]["baselines"]``
  says why.

A model that does not beat them shows it in the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from clvlab.data.rfm import validate_rfm
from clvlab.decisions.simple import simple_expected_purchases
from clvlab.errors import ArgumentError, DataValidationError
from clvlab.evaluate.holdout import _errors, evaluate
from clvlab.predict.customer import PurchasePredictions
from clvlab.units import check_time_units

__all__ = ["HEADLINE_METRICS", "compare"]

#: The metrics of comparison tables (``compare`` and ``clvlab bench``), in their order.
HEADLINE_METRICS = (
    "purchases_mae",
    "purchases_rmse",
    "purchases_bias",
    "purchases_correlation",
    "predicted_total",
    "actual_total",
    "log_score",
    "coverage_90",
    "tracking_mape_holdout",
    "elpd_loo",
)
_COLUMNS = [*HEADLINE_METRICS, "fit_seconds"]
_HIGHER_IS_BETTER = ("purchases_correlation", "log_score", "elpd_loo")
SIMPLE_FORMULA = "baseline: simple formula"


def _simple_formula(
    table: pd.DataFrame, model: PurchasePredictions, horizon: np.ndarray
) -> tuple[np.ndarray | None, dict[str, object]]:
    """The simple-formula baseline's holdout purchases and what it used, or ``None`` and
    the reason when its retention cannot be estimated from ``table``."""
    unit = check_time_units(table, model)
    if unit is None:
        return None, {
            "skipped": "the RFM table and the model record no time unit, so the half-year "
            "lapse of the retention estimate has no length; build the table with "
            "clvlab.rfm_summary, which records it"
        }
    try:
        predicted = simple_expected_purchases(table, horizon, time_unit=unit)
    except (ArgumentError, DataValidationError) as exc:
        return None, {
            "skipped": "the simple formula cannot be computed on this calibration table "
            f"(retention from the default half-year lapse): {exc}"
        }
    return predicted.to_numpy(), dict(predicted.attrs["clvlab"])


def _rank_key(frame: pd.DataFrame, rank_by: str) -> pd.Series:
    """The badness of each row by ``rank_by``, lower being better: the metric itself,
    its negative when higher is better, the distance to the ideal for the bias (0), the
    coverage (0.9) and the predicted total (the actual total)."""
    column = frame[rank_by]
    if rank_by in _HIGHER_IS_BETTER:
        return -column
    if rank_by == "purchases_bias":
        return column.abs()
    if rank_by == "coverage_90":
        return (column - 0.9).abs()
    if rank_by == "predicted_total":
        return (column - frame["actual_total"]).abs()
    return column


def compare(
    models: Sequence[PurchasePredictions],
    rfm: pd.DataFrame,
    *,
    names: Sequence[str] | None = None,
    rank_by: str = "purchases_rmse",
    seed: int | None = 0,
    transactions: pd.DataFrame | None = None,
    customer_id_col: str = "customer_id",
    datetime_col: str = "date",
) -> pd.DataFrame:
    """Evaluate each model on the holdout and rank them with the baselines.

    Returns a DataFrame indexed by name, sorted by ``rank_by`` from best to worst, with
    a ``rank`` column: errors and times rank lowest first; correlation, log score and
    elpd highest first; bias by its distance to 0, ``coverage_90`` by its distance to
    0.9 and ``predicted_total`` by its distance to the actual total. Rows without the
    metric rank last: baselines have no log score, coverage or fit time. With the
    ``transactions`` the RFM came from, the table also has the tracking error of the
    cumulative repeat purchases (see :func:`clvlab.tracking`). The baselines are listed
    in the module docstring; what the simple formula used (its retention, events and
    exposure), or why it was left out, is in ``attrs["clvlab"]["baselines"]``.

    Each model's PSIS-LOO diagnostics (Pareto k) are in ``attrs["clvlab"]["diagnostics"]``,
    keyed by name, rather than in warnings.
    """
    if isinstance(models, PurchasePredictions) or not isinstance(models, Sequence) or not models:
        raise ArgumentError(
            "compare needs a non-empty list of fitted purchase models, e.g. "
            "[bgnbd_model, pareto_model]"
        )
    for model in models:
        if not isinstance(model, PurchasePredictions):
            raise ArgumentError(
                "compare needs fitted purchase models (e.g. BetaGeo, ParetoNBD), got "
                f"{type(model).__name__}"
            )
        model.check_fitted()
    rankable = [c for c in _COLUMNS if c != "actual_total"]
    if rank_by not in rankable:
        raise ArgumentError(f"rank_by must be one of {rankable}, got {rank_by!r}")
    table = validate_rfm(rfm, holdout=True)
    labels = (
        [str(n) for n in names]
        if names is not None
        else [f"{m.display_name} {m.method_.upper()}" for m in models]
    )
    if len(labels) != len(models) or len(set(labels)) != len(labels):
        raise ArgumentError(
            f"names must give one distinct name per model: {len(models)} models, names {labels!r}"
        )
    diagnostics = {}
    rows = {}
    for label, model in zip(labels, models, strict=True):
        evaluation = evaluate(
            model,
            rfm,
            seed=seed,
            transactions=transactions,
            customer_id_col=customer_id_col,
            datetime_col=datetime_col,
        )
        metrics = evaluation.metrics
        if evaluation.diagnostics:
            diagnostics[label] = evaluation.diagnostics
        metrics["fit_seconds"] = float(model.fit_info_.get("seconds", np.nan))
        rows[label] = metrics
    actual = table["frequency_holdout"].to_numpy(dtype=float)
    horizon = table["duration_holdout"].to_numpy(dtype=float)
    x, T = table["frequency"].to_numpy(dtype=float), table["T"].to_numpy(dtype=float)
    run_rate = np.where(T > 0, x / np.where(T > 0, T, 1.0), 0.0) * horizon
    population = np.full(len(x), np.mean(np.where(T > 0, x / np.where(T > 0, T, 1.0), 0.0)))
    simple, simple_meta = _simple_formula(table, models[0], horizon)
    baselines = [
        ("baseline: run rate", run_rate),
        ("baseline: population mean", population * horizon),
    ]
    if simple is not None:
        baselines.append((SIMPLE_FORMULA, simple))
    for label, predicted in baselines:
        metrics = _errors(predicted, actual, "purchases_")
        metrics.update(predicted_total=float(predicted.sum()), actual_total=float(actual.sum()))
        rows[label] = metrics
    frame = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=_COLUMNS)
    frame = frame.dropna(axis=1, how="all")
    if rank_by not in frame:
        raise ArgumentError(
            f"rank_by={rank_by!r} is not available for these models (it needs "
            f"{'transactions=' if rank_by.startswith('tracking') else 'a Bayesian fit'}); "
            f"use one of {list(frame.columns)}"
        )
    order = _rank_key(frame, rank_by).to_numpy()
    frame = frame.iloc[np.argsort(np.where(np.isnan(order), np.inf, order), kind="stable")]
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    frame.index.name = "model"
    frame.attrs["clvlab"] = {
        "quantity": "comparison",
        "rank_by": rank_by,
        "diagnostics": diagnostics,
        "baselines": {SIMPLE_FORMULA: simple_meta},
    }
    return frame
