"""Historic and simple-formula CLV: the practitioner's CLV, computed from the RFM table.

The textbook formula many teams use is *average order value x purchase frequency x
customer lifespan*, adjusted for the gross margin and a retention rate. With a retention
``r`` per period, a discount rate ``d`` per period and a horizon of ``K`` periods, the
expected margin of a customer who buys ``rate`` times a period at ``AOV`` each is

.. math::

    \\mathrm{CLV} = \\text{margin} \\times \\mathrm{AOV} \\times \\text{rate}
        \\times \\sum_{k=1}^{K} w_k \\frac{r^k}{(1 + d)^k},

the finite-horizon form of the retention-adjusted *margin multiple* ``r / (1 + d - r)``
of Gupta & Lehmann (2003, "Customers as assets", Journal of Interactive Marketing 17(1),
9-24), which is its limit as ``K`` grows. Cash flows fall at period ends, as in
:func:`clvlab.clv`; every period has weight ``w_k = 1`` except a partial last one, which
earns its fraction. The services variant is *revenue per period x expected lifespan*,
``1 / (1 - r)`` periods under a constant retention (the mean of a geometric lifetime),
capped at the horizon and undiscounted.

The retention is given, or estimated from the same table by a lapse rule
(:func:`retention_rate`). Everything here is a point formula on the observed history, with
no parameter uncertainty: it is the baseline the models are measured against (see
``benchmarks/simple_formula_holdout.py`` for where it misleads on CDNOW), not a substitute
for :func:`clvlab.clv`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal

import numpy as np
import pandas as pd

from clvlab.arguments import (
    check_count,
    check_positive,
    check_probability,
    check_rate,
    check_times,
)
from clvlab.data.rfm import validate_rfm
from clvlab.errors import ArgumentError, DataValidationError
from clvlab.predict.clv import MAX_PERIODS, cash_flow_schedule
from clvlab.units import check_time_units, convert, normalize_unit

__all__ = [
    "RetentionEstimate",
    "margin_multiple",
    "retention_rate",
    "simple_clv",
    "simple_expected_purchases",
]

Level = Literal["customer", "average"]
LEVELS: Final[tuple[str, ...]] = ("customer", "average")


@dataclass(frozen=True)
class RetentionEstimate:
    """A per-period retention estimated by the lapse rule of :func:`retention_rate`.

    Attributes
    ----------
    rate
        Retention per period of ``unit``: ``exp(-events / exposure)``, in [0, 1].
    events
        Customers counted as lapsed (churn events).
    exposure
        Total time at risk, in periods of ``unit``.
    lapse
        Periods of ``unit`` without a purchase after which a customer counts as lapsed.
    unit
        The period (``"D"``, ``"W"``, ``"M"`` or ``"Y"``).
    customers
        Customers in the table.

    Examples
    --------
    >>> est = RetentionEstimate(rate=0.9, events=1, exposure=9.49, lapse=6.0, unit="M",
    ...                         customers=3)
    >>> float(est)
    0.9
    """

    rate: float
    events: int
    exposure: float
    lapse: float
    unit: str
    customers: int

    def __post_init__(self) -> None:
        # a hand-built estimate is checked like any argument: no NaN or 0/0 can follow
        object.__setattr__(self, "rate", check_probability("rate", self.rate))
        object.__setattr__(self, "exposure", check_positive("exposure", self.exposure))
        object.__setattr__(self, "lapse", check_positive("lapse", self.lapse))
        object.__setattr__(self, "unit", normalize_unit(self.unit))
        customers = check_count("customers", self.customers)
        events = check_count("events", self.events, minimum=0)
        if events > customers:
            raise ArgumentError(
                f"events ({events}) cannot exceed customers ({customers}): each customer "
                "lapses at most once"
            )
        object.__setattr__(self, "customers", customers)
        object.__setattr__(self, "events", events)

    @property
    def hazard(self) -> float:
        """The churn hazard per period, ``events / exposure`` (the MLE under a constant
        hazard)."""
        return self.events / self.exposure

    def per_period(self, unit: str) -> float:
        """The retention over one period of ``unit`` under the same constant hazard:
        ``rate ** (length of one unit in periods of self.unit)``.

        Examples
        --------
        >>> est = RetentionEstimate(0.9, 1, 9.49, 6.0, "M", 3)
        >>> round(est.per_period("Y"), 6) == round(0.9 ** 12, 6)
        True
        """
        return float(self.rate ** convert(1.0, normalize_unit(unit), self.unit))

    def __float__(self) -> float:
        return float(self.rate)

    def as_dict(self) -> dict[str, Any]:
        """The estimate as plain values (for ``attrs`` and export metadata)."""
        return {**asdict(self), "source": "estimated"}


def _table_unit(rfm: pd.DataFrame, time_unit: str | None, caller: str) -> str:
    """The RFM table's time unit (recorded, or stated by ``time_unit=``; both must agree),
    or an :class:`ArgumentError` saying how to give it."""
    unit = check_time_units(rfm, None, time_unit=time_unit)
    if unit is None:
        raise ArgumentError(
            f"{caller}: the RFM table does not record its time unit; pass time_unit= with "
            "the unit of its recency and T (e.g. time_unit='W'), or build the table with "
            "clvlab.rfm_summary, which records it"
        )
    return unit


def _estimate(table: pd.DataFrame, rfm_unit: str, unit: str, lapse: Any) -> RetentionEstimate:
    """The lapse-rule estimate on a validated table (see :func:`retention_rate`)."""
    lapse = convert(0.5, "Y", unit) if lapse is None else check_positive("lapse", lapse)
    scale = convert(1.0, rfm_unit, unit)  # periods of unit per RFM time unit
    t_x = table["recency"].to_numpy(dtype=float) * scale
    big_t = table["T"].to_numpy(dtype=float) * scale
    if not np.any(big_t > 0):
        raise DataValidationError(
            "T",
            "is 0 for every customer, so no time at risk was observed and no retention "
            "can be estimated",
            len(big_t),
            hint="build the table with a calibration_end after the first purchases, or "
            "pass retention= explicitly",
        )
    if not np.any(big_t >= lapse):
        raise ArgumentError(
            f"no customer has been observed for more than lapse={lapse:g} periods of "
            f"{unit!r} (the longest T is {big_t.max():.4g}), so nobody can have lapsed; "
            "pass a shorter lapse= or retention= explicitly"
        )
    lapsed = t_x + lapse <= big_t
    exposure = float(np.minimum(t_x + lapse, big_t).sum())
    events = int(lapsed.sum())
    rate = math.exp(-events / exposure)
    return RetentionEstimate(rate, events, exposure, float(lapse), unit, len(table))


def retention_rate(
    rfm: pd.DataFrame,
    *,
    unit: str = "M",
    lapse: float | None = None,
    time_unit: str | None = None,
) -> RetentionEstimate:
    """Retention per period of ``unit``, estimated from the RFM table by a lapse rule.

    A customer is *lapsed* once they have not bought for ``lapse`` periods. Customer ``i``
    is at risk from the first purchase until ``min(t_x + lapse, T)`` and is one churn
    event when ``t_x + lapse <= T``. Under a constant churn hazard ``lambda`` per period,
    the maximum-likelihood estimate from right-censored exposure is

    .. math::

        \\hat\\lambda = \\frac{\\sum_i 1[t_{x,i} + \\text{lapse} \\le T_i]}
            {\\sum_i \\min(t_{x,i} + \\text{lapse}, T_i)},
        \\qquad \\hat r = e^{-\\hat\\lambda},

    the maximum-likelihood estimate of an exponential lifetime under right censoring
    (events over total time at risk). The lapse date is the last purchase plus
    ``lapse``, so a churned customer's exposure includes the waiting time that reveals
    the churn: the estimate is a business rule, not a model of unobserved dropout.

    Parameters
    ----------
    rfm
        Customers with ``frequency``, ``recency`` and ``T`` (from
        :func:`clvlab.rfm_summary`).
    unit
        The period the retention is per: ``"D"``, ``"W"``, ``"M"`` (365.25/12 days,
        default) or ``"Y"``.
    lapse
        Periods of ``unit`` without a purchase after which a customer counts as lapsed;
        default half a year (``convert(0.5, "Y", unit)``: 6 months, 26.09 weeks).
    time_unit
        The unit of the table's ``recency`` and ``T``; read from ``rfm.attrs`` when
        omitted.

    Returns
    -------
    RetentionEstimate
        ``rate`` (``float(estimate)`` gives it), ``events``, ``exposure``, ``lapse``,
        ``unit`` and ``customers``.

    Raises
    ------
    ArgumentError
        An unknown unit, a ``lapse`` that is not positive and finite, an RFM table with no
        time unit and no ``time_unit=``, or no customer observed for ``lapse`` periods
        (nobody can have lapsed).
    DataValidationError
        The table breaks an RFM rule, or ``T`` is 0 for every customer.

    Examples
    --------
    >>> import pandas as pd
    >>> rfm = pd.DataFrame({"frequency": [2, 0, 1], "recency": [3.0, 0.0, 1.0],
    ...                     "T": [10.0, 10.0, 4.0]})
    >>> est = retention_rate(rfm, unit="M", lapse=6.0, time_unit="M")
    >>> est.events, est.exposure  # lapsed at 9 and 6 <= 10; at risk 9 + 6 + 4
    (2, 19.0)
    >>> round(est.rate, 4)  # exp(-2/19)
    0.9001
    """
    unit = normalize_unit(unit)
    table = validate_rfm(rfm)
    return _estimate(table, _table_unit(table, time_unit, "retention_rate"), unit, lapse)


def margin_multiple(retention: float, horizon: float, discount_rate: float = 0.0) -> float:
    """The retention-adjusted margin multiple over ``horizon`` periods:
    ``sum_{k=1}^{K} w_k r^k / (1 + d)^k`` with ``K = ceil(horizon)``.

    Gupta & Lehmann (2003, "Customers as assets") give its infinite-horizon limit
    ``r / (1 + d - r)``. Cash flows fall at period ends; ``w_k = 1`` except the last
    partial period, ``w_K = horizon - (K - 1)``. The period ends and discount factors come
    from :func:`clvlab.predict.clv.cash_flow_schedule`, as in :func:`clvlab.clv`.

    Parameters
    ----------
    retention
        Retention per period, in [0, 1].
    horizon
        Periods, finite and > 0 (at most 1,000,000).
    discount_rate
        Per period: finite and > -1.

    Examples
    --------
    >>> round(margin_multiple(0.9, 2.5), 4)  # 0.9 + 0.81 + 0.5 x 0.729
    2.0745
    >>> round(margin_multiple(0.8, 600, 0.01), 6) == round(0.8 / (1.01 - 0.8), 6)
    True
    """
    retention = check_probability("retention", retention)
    horizon = check_positive("horizon", horizon)
    ends, discounts = cash_flow_schedule(horizon, "D", "D", discount_rate)
    weights = np.diff(ends, prepend=0.0)
    powers = retention ** np.arange(1, len(ends) + 1, dtype=float)
    return float(np.sum(weights * powers * discounts))


def _rates(x: np.ndarray, big_t: np.ndarray, scale: float) -> np.ndarray:
    """Purchases per period: ``x / T`` (per RFM time unit) times ``scale`` RFM units per
    period; 0 where ``T = 0`` (then ``x = 0`` too)."""
    positive = big_t > 0
    return np.where(positive, x / np.where(positive, big_t, 1.0), 0.0) * scale


def _retention(
    retention: Any, table: pd.DataFrame, rfm_unit: str, unit: str, lapse: Any
) -> tuple[float, dict[str, Any]]:
    """The retention per period of ``unit`` and how it was obtained."""
    if retention is not None and lapse is not None:
        raise ArgumentError(
            "lapse= only applies when the retention is estimated; pass either retention= "
            "or lapse=, not both"
        )
    if retention is None:
        estimate = _estimate(table, rfm_unit, unit, lapse)
        return estimate.rate, estimate.as_dict()
    if isinstance(retention, RetentionEstimate):
        rate = retention.per_period(unit)
        return rate, {**retention.as_dict(), "rate": rate, "estimated_per": retention.unit}
    rate = check_probability("retention", retention)
    return rate, {"rate": rate, "unit": unit, "source": "given"}


def _finite(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` when every value is finite, else a :class:`DataValidationError` (only
    values near the floating-point limit can overflow)."""
    values = frame.to_numpy(dtype=float)
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise DataValidationError(
            "monetary_value",
            "gives a value beyond the floating-point range",
            int(bad.sum()),
            frame.index[bad][:5],
            hint="check the currency unit of monetary_value (express it in thousands, say)",
        )
    return frame


def simple_clv(
    rfm: pd.DataFrame,
    *,
    horizon: float = 12.0,
    unit: str = "M",
    margin: float = 1.0,
    discount_rate: float = 0.0,
    retention: float | RetentionEstimate | None = None,
    lapse: float | None = None,
    level: Level = "customer",
    time_unit: str | None = None,
) -> pd.DataFrame:
    """Historic CLV and the simple-formula CLV of every customer, from the RFM table.

    Columns, for customer ``i`` with ``x`` repeat purchase days, mean repeat value ``m``
    and age ``T`` (all from the calibration period):

    - ``historic_clv`` = margin x x x m: the margin on the repeat purchases already
      observed. The first purchase is excluded, as in the models' CLV, which forecasts
      repeat purchases only, so both columns measure the same kind of purchase.
    - ``order_value``: the average order value used (AOV).
    - ``purchases_per_period``: ``x / T`` converted to purchases per period of ``unit``
      (0 when ``T = 0``).
    - ``simple_clv`` = margin x AOV x rate x :func:`margin_multiple` (r, horizon, d):
      ``sum_{k=1}^{K} w_k r^k / (1 + d)^k`` over ``K = ceil(horizon)`` periods, a partial
      last period earning its fraction (the margin multiple of Gupta & Lehmann 2003,
      over a finite horizon). Cash flows fall at period ends, as in :func:`clvlab.clv`.
    - ``lifespan_clv`` = margin x AOV x rate x min(horizon, 1 / (1 - r)): revenue per
      period times the expected lifespan of a geometric lifetime, undiscounted (the
      services rule of thumb); with ``r = 1`` the lifespan is the horizon. The lifespan
      counts the current period (``r = 0`` gives one period), so undiscounted
      ``lifespan_clv >= simple_clv``.

    Parameters
    ----------
    rfm
        Customers with ``frequency``, ``recency``, ``T`` and ``monetary_value`` (from
        :func:`clvlab.rfm_summary` with a monetary column). Never modified.
    horizon, unit
        Number of periods and their unit (``"M"``: 365.25/12 days).
    margin
        Profit margin, a share of revenue in ``(0, 1]``.
    discount_rate
        Per period of ``unit`` (see :func:`clvlab.per_period_rate`): finite and > -1.
    retention
        Retention per period of ``unit`` in [0, 1], or a :class:`RetentionEstimate`
        (converted to ``unit`` through its constant hazard). Default: estimated from
        ``rfm`` by :func:`retention_rate` with ``lapse``.
    lapse
        The lapse of :func:`retention_rate` in periods of ``unit`` (default half a year);
        only when ``retention`` is not given.
    level
        ``"customer"``: each customer's own AOV (``m``; the population AOV when
        ``x = 0``, where the rate is 0 anyway) and own rate. ``"average"``: the textbook
        aggregate formula, the population AOV ``sum(x m) / sum(x)`` and rate
        ``sum(x) / sum(T)`` for every customer.
    time_unit
        The unit of the table's ``recency`` and ``T``; read from ``rfm.attrs`` when
        omitted.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``rfm``. ``attrs["clvlab"]`` records the quantity, the retention and
        how it was obtained (given, or estimated with its events, exposure and lapse), the
        settings, the margin multiple, the lifespan and the column totals.

    Raises
    ------
    ArgumentError
        A bad horizon, unit, margin, discount rate, retention or level, both
        ``retention=`` and ``lapse=``, a table with no time unit and no ``time_unit=``, or
        a retention that cannot be estimated (see :func:`retention_rate`).
    DataValidationError
        The table breaks an RFM rule (a missing ``monetary_value``, a negative value, ...).

    Examples
    --------
    >>> import pandas as pd
    >>> rfm = pd.DataFrame({"frequency": [2, 0], "recency": [3.0, 0.0], "T": [4.0, 4.0],
    ...                     "monetary_value": [10.0, 0.0]})
    >>> out = simple_clv(rfm, horizon=2, retention=0.5, time_unit="M")
    >>> out["simple_clv"].tolist()  # 10 x 0.5 a month x (0.5 + 0.25)
    [3.75, 0.0]
    >>> out["lifespan_clv"].tolist()  # 10 x 0.5 x min(2, 1 / (1 - 0.5))
    [10.0, 0.0]
    """
    unit = normalize_unit(unit)
    horizon = check_positive("horizon", horizon)
    margin = check_probability("margin", margin, open_low=True)
    discount_rate = check_rate("discount_rate", discount_rate)
    if level not in LEVELS:
        raise ArgumentError(f"level must be one of {list(LEVELS)}, got {level!r}")
    table = validate_rfm(rfm, monetary=True)
    rfm_unit = _table_unit(table, time_unit, "simple_clv")
    r, how = _retention(retention, table, rfm_unit, unit, lapse)
    multiple = margin_multiple(r, horizon, discount_rate)
    lifespan = horizon if r >= 1.0 else min(horizon, 1.0 / (1.0 - r))

    x = table["frequency"].to_numpy(dtype=float)
    m = table["monetary_value"].to_numpy(dtype=float)
    big_t = table["T"].to_numpy(dtype=float)
    scale = convert(1.0, unit, rfm_unit)  # RFM time units per period
    with np.errstate(over="ignore", invalid="ignore"):
        revenue = x * m
        total_x = x.sum()
        population_aov = float(revenue.sum() / total_x) if total_x > 0 else 0.0
        if level == "customer":
            aov = np.where(x > 0, m, population_aov)
            rate = _rates(x, big_t, scale)
        else:
            aov = np.full(len(x), population_aov)
            rate = np.full(len(x), total_x / big_t.sum() * scale if total_x > 0 else 0.0)
        per_period = aov * rate
        out = pd.DataFrame(
            {
                "historic_clv": margin * revenue,
                "order_value": aov,
                "purchases_per_period": rate,
                "simple_clv": margin * per_period * multiple,
                "lifespan_clv": margin * per_period * lifespan,
            },
            index=table.index.copy(),
        )
    _finite(out)
    out.attrs["clvlab"] = {
        "quantity": "simple_clv",
        "retention": how,
        "horizon": horizon,
        "unit": unit,
        "margin": margin,
        "discount_rate": discount_rate,
        "level": level,
        "time_unit": rfm_unit,
        "margin_multiple": multiple,
        "lifespan": lifespan,
        "population_order_value": population_aov,
        "totals": {
            name: float(out[name].sum()) for name in ("historic_clv", "simple_clv", "lifespan_clv")
        },
    }
    return out


def simple_expected_purchases(
    rfm: pd.DataFrame,
    t: Any,
    *,
    retention: float | RetentionEstimate | None = None,
    lapse: float | None = None,
    time_unit: str | None = None,
) -> pd.Series:
    """Repeat purchases in the next ``t`` time units by the simple formula's rule.

    Each customer's calibration rate ``x / T`` times the expected retained time,
    ``sum_{k=1}^{K} w_k r^k`` over ``K = ceil(t)`` periods of the table's own time unit
    (the partial last period weighted by its fraction; :func:`margin_multiple` with no
    discount). This is :func:`simple_clv` in purchase terms; :func:`clvlab.compare`
    scores it on the holdout as the ``"baseline: simple formula"`` row.

    Parameters
    ----------
    rfm
        Customers with ``frequency``, ``recency`` and ``T``.
    t
        Time ahead in the table's time unit: one length, or one per customer (the
        holdout's ``duration_holdout``).
    retention
        Retention per period of the table's time unit in [0, 1], or a
        :class:`RetentionEstimate`; default :func:`retention_rate` in the table's unit.
    lapse
        The lapse of :func:`retention_rate` in the table's time unit (default half a year).
    time_unit
        The unit of ``recency`` and ``T``; read from ``rfm.attrs`` when omitted.

    Returns
    -------
    pandas.Series
        ``expected_purchases`` per customer, indexed like ``rfm``; ``attrs["clvlab"]``
        holds the retention and how it was obtained.

    Examples
    --------
    >>> import pandas as pd
    >>> rfm = pd.DataFrame({"frequency": [2, 0], "recency": [3.0, 0.0], "T": [4.0, 4.0]})
    >>> # 2/4 a week x (0.5 + 0.5^2 + 0.5 x 0.5^3)
    >>> simple_expected_purchases(rfm, 2.5, retention=0.5, time_unit="W").tolist()
    [0.40625, 0.0]
    """
    table = validate_rfm(rfm)
    rfm_unit = _table_unit(table, time_unit, "simple_expected_purchases")
    times = check_times("t", t, allow_zero=False)
    if times.ndim > 1 or times.size not in (1, len(table)):
        raise ArgumentError(
            "t must be one time length or a flat array of one per customer "
            f"({len(table)}), got shape {times.shape}"
        )
    if math.ceil(times.max()) > MAX_PERIODS:
        raise ArgumentError(
            f"t={times.max():g} spans more than {MAX_PERIODS:,} periods of the table's time "
            f"unit {rfm_unit!r}, which the rule sums one by one; build the table in a "
            "longer unit (clvlab.rfm_summary(..., time_unit='W'))"
        )
    times = np.broadcast_to(times.reshape(-1), len(table))
    r, how = _retention(retention, table, rfm_unit, rfm_unit, lapse)
    lengths, where = np.unique(times, return_inverse=True)
    multiples = np.array([margin_multiple(r, length) for length in lengths])
    rate = _rates(table["frequency"].to_numpy(dtype=float), table["T"].to_numpy(dtype=float), 1.0)
    out = pd.Series(rate * multiples[where], index=table.index.copy(), name="expected_purchases")
    out.attrs["clvlab"] = {
        "quantity": "simple_expected_purchases",
        "retention": how,
        "time_unit": rfm_unit,
    }
    return out
