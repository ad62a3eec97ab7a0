"""One table of predictions per customer, with the record of the run that made it.

:func:`predict_customers` joins the four per-customer predictions (CLV, expected
purchases, P(alive), expected spend) over one horizon and one interval, and records what
produced them (models, method, parameters, data period). :func:`clvlab.export` writes the
result to files and databases.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from clvlab._version import __version__
from clvlab.data.rfm import rfm_metadata
from clvlab.decisions.simple import simple_clv
from clvlab.predict.clv import check_clv_arguments, clv
from clvlab.predict.customer import PurchasePredictions, SpendPredictions
from clvlab.predict.engine import summary_table
from clvlab.predict.summary import collecting_totals
from clvlab.predict.terms import sharing
from clvlab.units import convert

if TYPE_CHECKING:
    from clvlab.decisions.report import Decisions

__all__ = ["METRICS", "CustomerPredictions", "long_format", "predict_customers"]

METRICS = ("clv", "expected_purchases", "probability_alive", "expected_spend")
"""The predicted quantities, in the column order of the customer table."""
_HORIZON_METRICS = ("clv", "expected_purchases")


@dataclass
class CustomerPredictions:
    """Per-customer predictions and the record of their run.

    Attributes
    ----------
    table
        Indexed by customer id; for each metric of :data:`METRICS` the columns
        ``<metric>_estimate``, ``<metric>_lower`` and ``<metric>_upper``, then
        ``historic_clv`` and ``simple_clv`` (the practitioner's formulas, point values,
        :func:`clvlab.simple_clv`).
    run
        What produced them: ``run_id``, models, method, horizon and its unit, ci_prob,
        interval kind, discount rate, time unit, the data period (``first_transaction``,
        ``calibration_end``, ``observation_end``), the number of customers, the total CLV
        with its interval, the clvlab version and the creation time (UTC).
    parameters
        One row per model parameter: ``model, parameter, estimate, lower, upper``.
    decisions
        The decision tables of the run (:func:`clvlab.decide`), exported with the
        predictions when set.
    clv_total_draws
        The total CLV of these customers under each parameter draw (the draws behind
        ``run["total_clv_lower"]`` and ``run["total_clv_upper"]``); totals of several
        runs over disjoint customers add draw by draw.
    """

    table: pd.DataFrame
    run: dict[str, Any]
    parameters: pd.DataFrame = field(repr=False)
    decisions: Decisions | None = field(default=None, repr=False)
    clv_total_draws: np.ndarray | None = field(default=None, repr=False)

    @property
    def run_id(self) -> str:
        return str(self.run["run_id"])

    def long(self) -> pd.DataFrame:
        """The table in long format (see :func:`long_format`)."""
        return long_format(self.table, self.run["horizon"])

    def _repr_html_(self) -> str:
        run = self.run
        head = (
            f"<h4>CLV predictions: {run['customers']:,} customers, run {run['run_id']}</h4>"
            f"<p>{run['purchase_model']} + {run['spend_model']} by {run['method'].upper()}; "
            f"horizon {run['horizon']:g} {run['horizon_unit']}, {run['ci_prob']:.0%} "
            f"{run['interval']} intervals; data {run['first_transaction']} to "
            f"{run['calibration_end']} (calibration). Total CLV "
            f"{run['total_clv_estimate']:,.0f} ({run['total_clv_lower']:,.0f} to "
            f"{run['total_clv_upper']:,.0f}).</p>"
        )
        top = self.table.nlargest(10, "clv_estimate")
        return head + top.to_html(float_format=lambda v: f"{v:,.3f}")


def long_format(table: pd.DataFrame, horizon: float) -> pd.DataFrame:
    """A customer table in long format: ``customer_id, metric, horizon, estimate, lower,
    upper``, one row per customer and metric.

    ``horizon`` is the CLV and purchase horizon; it is 0 for the metrics measured at the
    end of calibration (P(alive) and expected spend per purchase).
    """
    ids = table.index.to_numpy()
    parts = []
    for metric in METRICS:
        bounds = [table[f"{metric}_{c}"].to_numpy() for c in ("estimate", "lower", "upper")]
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": ids,
                    "metric": metric,
                    "horizon": float(horizon) if metric in _HORIZON_METRICS else 0.0,
                    "estimate": bounds[0],
                    "lower": bounds[1],
                    "upper": bounds[2],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def predict_customers(
    purchase: PurchasePredictions,
    spend: SpendPredictions,
    rfm: pd.DataFrame,
    *,
    horizon: float = 12.0,
    unit: str = "M",
    discount_rate: float = 0.0,
    margin: float = 1.0,
    seed: int | None = None,
    run_id: str | None = None,
    progress: bool = False,
    time_unit: str | None = None,
    retention: float | None = None,
) -> CustomerPredictions:
    """CLV, expected purchases, P(alive) and expected spend for every customer.

    Parameters
    ----------
    purchase, spend
        A fitted purchase model (:class:`~clvlab.BetaGeo`, :class:`~clvlab.ModifiedBetaGeo`,
        :class:`~clvlab.ParetoNBD`) and a fitted :class:`~clvlab.GammaGamma`, fitted by the
        same method. The intervals use ``purchase.ci_prob`` and ``purchase.interval_kind``.
    rfm
        The customers, from :func:`clvlab.rfm_summary` (its metadata gives the time unit
        and the data period). Its time unit must be the one the models were fitted in,
        else :class:`~clvlab.errors.UnitMismatchError` (nothing is converted).
    horizon, unit
        Horizon of CLV and expected purchases, e.g. 12 months (finite, > 0).
    discount_rate, margin
        Per period of ``unit`` (finite, > -1), and the profit margin in ``(0, 1]`` (see
        :func:`clvlab.clv`).
    time_unit
        The RFM table's time unit, for a table that does not record one.
    retention
        Retention per period of ``unit`` for the simple-formula CLV beside the model's
        (``historic_clv`` and ``simple_clv`` columns, :func:`clvlab.simple_clv`);
        estimated from the table by :func:`clvlab.retention_rate` when omitted.
    seed
        Seed of the CLV draws.
    run_id
        Identifies the run in exports; a new UUID when omitted. Exporting again with
        the same id replaces that run's rows.
    """
    # every argument is checked before any work
    horizon, unit, discount_rate, margin, checked = check_clv_arguments(
        purchase, spend, rfm, horizon, unit, discount_rate, margin, time_unit, "predict_customers"
    )
    meta = rfm_metadata(rfm) if isinstance(rfm, pd.DataFrame) else {}
    t = convert(horizon, unit, checked)
    # P(alive) under every draw is computed once for the three predictions that use it
    with sharing(), collecting_totals() as totals:
        values = summary_table(
            clv(
                purchase,
                spend,
                rfm,
                horizon=horizon,
                unit=unit,
                discount_rate=discount_rate,
                margin=margin,
                time_unit=checked,
                seed=seed,
                progress=progress,
            )
        )
        parts = {
            "clv": values,
            "expected_purchases": summary_table(
                purchase.expected_purchases(rfm, t, time_unit=checked)
            ),
            "probability_alive": summary_table(purchase.probability_alive(rfm, time_unit=checked)),
            "expected_spend": summary_table(spend.expected_spend(rfm)),
        }
    columns = {
        f"{name}_{col}": frame[col].to_numpy(dtype=float)
        for name, frame in parts.items()
        for col in ("estimate", "lower", "upper")
    }
    # the practitioner's formula beside the model's, on the same settings
    simple = simple_clv(
        rfm,
        horizon=horizon,
        unit=unit,
        margin=margin,
        discount_rate=discount_rate,
        retention=retention,
        time_unit=checked,
    )
    columns["historic_clv"] = simple["historic_clv"].to_numpy(dtype=float)
    columns["simple_clv"] = simple["simple_clv"].to_numpy(dtype=float)
    table = pd.DataFrame(columns, index=rfm.index.rename("customer_id"))
    total_clv = values.attrs["clvlab"]["total"]
    run = {
        "run_id": run_id or uuid.uuid4().hex,
        "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0),
        "clvlab_version": __version__,
        "purchase_model": purchase.name,
        "spend_model": spend.name,
        "method": purchase.method_,
        "horizon": float(horizon),
        "horizon_unit": unit,
        "ci_prob": float(purchase.ci_prob),
        "interval": purchase.interval_kind,
        "discount_rate": float(discount_rate),
        "margin": float(margin),
        "time_unit": checked,
        "first_transaction": _date(meta.get("first_transaction")),
        "calibration_end": _date(meta.get("calibration_end")),
        "observation_end": _date(meta.get("observation_end")),
        "customers": len(table),
        "total_clv_estimate": float(total_clv["estimate"]),
        "total_clv_lower": float(total_clv["lower"]),
        "total_clv_upper": float(total_clv["upper"]),
        "simple_clv": simple.attrs["clvlab"],
    }
    parameters = pd.concat(
        [
            m.params_[["estimate", "lower", "upper"]]
            .rename_axis("parameter")
            .reset_index()
            .assign(model=m.name)
            for m in (purchase, spend)
        ],
        ignore_index=True,
    )[["model", "parameter", "estimate", "lower", "upper"]]
    return CustomerPredictions(table, run, parameters, clv_total_draws=totals.get("clv"))


def _date(value: object) -> dt.date | None:
    return None if value is None else pd.Timestamp(str(value)).date()
