"""Ranked comparison of fitted models on the holdout, with simple baselines.

Baselines (no model): the **run rate**, each customer's calibration purchase rate
``frequency / T`` times the holdout length, and the **population mean**, the mean
calibration rate of all customers times the holdout length. A model that does not beat
them shows it in the table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from clvlab.data.rfm import validate_rfm
from clvlab.evaluate.holdout import _errors, evaluate
from clvlab.models.beta_geo import BetaGeo

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


def compare(
    models: Sequence[BetaGeo],
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

    Returns a DataFrame indexed by name, sorted by ``rank_by`` (lower is better), with
    a ``rank`` column. Baselines have no log score, coverage or fit time. With the
    ``transactions`` the RFM came from, the table also has the tracking error of the
    cumulative repeat purchases (see :func:`clvlab.tracking`).
    """
    table = validate_rfm(rfm, holdout=True)
    labels = (
        list(names)
        if names is not None
        else [f"{m.display_name} {m.method_.upper()}" for m in models]
    )
    rows = {}
    for label, model in zip(labels, models, strict=True):
        metrics = evaluate(
            model,
            rfm,
            seed=seed,
            transactions=transactions,
            customer_id_col=customer_id_col,
            datetime_col=datetime_col,
        ).metrics
        metrics["fit_seconds"] = float(model.fit_info_.get("seconds", np.nan))
        rows[label] = metrics
    actual = table["frequency_holdout"].to_numpy(dtype=float)
    horizon = table["duration_holdout"].to_numpy(dtype=float)
    x, T = table["frequency"].to_numpy(dtype=float), table["T"].to_numpy(dtype=float)
    run_rate = np.where(T > 0, x / np.where(T > 0, T, 1.0), 0.0) * horizon
    population = np.full(len(x), np.mean(np.where(T > 0, x / np.where(T > 0, T, 1.0), 0.0)))
    for label, predicted in (
        ("baseline: run rate", run_rate),
        ("baseline: population mean", population * horizon),
    ):
        metrics = _errors(predicted, actual, "purchases_")
        metrics.update(predicted_total=float(predicted.sum()), actual_total=float(actual.sum()))
        rows[label] = metrics
    frame = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=_COLUMNS)
    frame = frame.dropna(axis=1, how="all").sort_values(rank_by)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    frame.index.name = "model"
    frame.attrs["clvlab"] = {"quantity": "comparison", "rank_by": rank_by}
    return frame
