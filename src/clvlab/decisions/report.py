"""All the decision tables of one run, computed together, for display and export."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from clvlab.decisions.acquisition import acquisition
from clvlab.decisions.forecast import revenue_forecast
from clvlab.decisions.groups import GroupComparison, compare_groups
from clvlab.decisions.segments import value_segments

if TYPE_CHECKING:
    from clvlab.predict.customer import PurchasePredictions, SpendPredictions

__all__ = ["Decisions", "decide"]


@dataclass
class Decisions:
    """The decision tables of one run; any of them may be absent.

    Attributes
    ----------
    segments
        From :func:`clvlab.value_segments`.
    groups
        From :func:`clvlab.compare_groups`.
    forecast
        From :func:`clvlab.revenue_forecast`.
    acquisition
        From :func:`clvlab.acquisition`.
    """

    segments: pd.DataFrame | None = None
    groups: GroupComparison | None = None
    forecast: pd.DataFrame | None = None
    acquisition: pd.DataFrame | None = None

    def _repr_html_(self) -> str:
        parts = ["<h4>Decisions</h4>"]
        if self.segments is not None:
            meta = self.segments.attrs["clvlab"]
            sizes = ", ".join(f"{k}: {v:,}" for k, v in meta["tier_sizes"].items())
            parts.append(
                f"<p><b>Segments</b> ({meta['uncertainty']} uncertainty): {sizes}; "
                f"{meta['at_risk']['customers']:,} customers at risk.</p>"
            )
            means = self.segments.groupby("tier", observed=True)["tier_probability"].mean()
            parts.append(means.to_frame("mean probability of own tier").to_html())
        if self.groups is not None:
            parts.append(self.groups._repr_html_())
        if self.forecast is not None:
            parts.append("<p><b>Revenue forecast</b></p>" + self.forecast.to_html(index=False))
        if self.acquisition is not None:
            parts.append("<p><b>Acquisition (new-customer value against CAC)</b></p>")
            parts.append(self.acquisition.to_html())
        return "".join(parts)


def decide(
    purchase: PurchasePredictions,
    spend: SpendPredictions,
    rfm: pd.DataFrame,
    *,
    horizon: float = 12.0,
    unit: str = "M",
    discount_rate: float = 0.0,
    margin: float = 1.0,
    segments: bool = True,
    quantiles: Sequence[float] | None = None,
    thresholds: Sequence[float] | None = None,
    group_by: str | pd.Series | None = "cohort",
    cac: float | Mapping[Any, float] | pd.Series | pd.DataFrame | None = None,
    forecast: bool = True,
    new_customers: float | None = None,
    seed: int | None = None,
    time_unit: str | None = None,
) -> Decisions:
    """Segments, group comparison, revenue forecast and acquisition of one run.

    The settings are those of :func:`clvlab.predict_customers` (the forecast covers
    ``horizon`` periods of ``unit``, rounded up, and is undiscounted); ``group_by``
    ``None`` skips the groups, ``cac`` ``None`` the acquisition table,
    ``segments=False`` and ``forecast=False`` the others. ``seed`` seeds every random
    step: the groups' sampling term and the forecast's predictive simulation.
    """
    common: dict[str, Any] = {
        "horizon": horizon,
        "unit": unit,
        "discount_rate": discount_rate,
        "margin": margin,
        "time_unit": time_unit,
    }
    result = Decisions()
    if segments:
        result.segments = value_segments(
            purchase, spend, rfm, quantiles=quantiles, thresholds=thresholds, **common
        )
    if group_by is not None:
        result.groups = compare_groups(purchase, spend, rfm, group_by, seed=seed, **common)
    if forecast:
        periods = int(-(-float(horizon) // 1))
        result.forecast = revenue_forecast(
            purchase,
            spend,
            rfm,
            periods=periods,
            unit=unit,
            new_customers=new_customers,
            seed=seed,
            time_unit=time_unit,
            predictive_draws=200,
        )
    if cac is not None:
        result.acquisition = acquisition(
            purchase,
            spend,
            cac,
            horizon=horizon,
            unit=unit,
            discount_rate=discount_rate,
            margin=margin,
        )
    return result
