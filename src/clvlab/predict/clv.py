"""Probabilistic customer lifetime value with uncertainty intervals.

.. math::

    \\mathrm{CLV}_i = \\text{margin} \\times \\sum_{k=1}^{K}
        \\frac{E[Y_i(t_k)] - E[Y_i(t_{k-1})]}{(1 + d)^k} \\times E[Z_i]

over cash-flow periods ``k`` of one ``unit`` each (the last one may be partial), where
``E[Y_i(t)]`` is the BG/NBD conditional expected number of purchases (Fader, Hardie & Lee
2005, eq. 10), ``E[Z_i]`` the Gamma-Gamma conditional expected spend (Fader & Hardie
2013, eq. 5) and ``d`` the discount rate per period; cash flows are discounted at the end
of their period, as in lifetimes' ``customer_lifetime_value``.

The sum is computed **draw by draw**: the ``j``-th BG/NBD draw is paired with the
``j``-th Gamma-Gamma draw, so both sources of parameter uncertainty reach the interval
and spend is never averaged first. The two models' likelihoods do not share parameters,
so their posteriors are independent and any pairing of draws samples the joint posterior;
when the numbers of draws differ, the longer set is thinned evenly to the shorter.

**Units.** The horizon counts cash-flow periods of ``unit`` (``"D"``, ``"W"``, ``"M"`` or
``"Y"``), and ``discount_rate`` is per such period. Periods are converted to the RFM's
time unit with 365.25 days a year and a month of 365.25/12 days; no other factor is used.
Use :func:`per_period_rate` to turn an annual rate into a per-period one.

For speed, ``E[Y(t_k)] = P(alive) x N_k(x, T)`` where ``N_k`` depends only on ``(x, T)``;
the discounted sum of the ``N_k`` is computed once per distinct ``(x, T)`` pair of the
whole table and draw, then gathered for every customer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from clvlab.arguments import check_positive, check_probability, check_rate
from clvlab.data.rfm import validate_rfm
from clvlab.data.validation import Validator
from clvlab.errors import ArgumentError
from clvlab.formulas import numpy_gather_ops as ops
from clvlab.inference.draws import IntervalKind
from clvlab.predict.customer import (
    PurchasePredictions,
    alive_term,
    history,
    history_table,
    whole_opportunities,
)
from clvlab.predict.engine import DrawSource, predict_frame
from clvlab.predict.terms import SharedTerm, distinct, gather
from clvlab.units import check_time_units, convert, normalize_unit

if TYPE_CHECKING:
    from clvlab.predict.customer import SpendPredictions

__all__ = [
    "MAX_PERIODS",
    "cash_flow_schedule",
    "clv",
    "clv_table",
    "paired_source",
    "per_period_rate",
    "simulate_period_values",
]

_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def per_period_rate(annual_rate: float, unit: str) -> float:
    """The per-period rate equivalent to ``annual_rate`` compounded over a 365.25-day year.

    ``annual_rate`` must be finite and > -1; ``unit`` is ``"D"``, ``"W"``, ``"M"`` or
    ``"Y"``.

    Examples
    --------
    >>> round(per_period_rate(0.10, "M"), 6)
    0.007974
    """
    annual_rate = check_rate("annual_rate", annual_rate)
    periods_per_year = convert(1.0, "Y", normalize_unit(unit))
    return float((1.0 + annual_rate) ** (1.0 / periods_per_year) - 1.0)


#: The most cash-flow periods a horizon may span (1,000,000 days is 2,738 years).
MAX_PERIODS = 1_000_000


def cash_flow_schedule(
    horizon: float,
    unit: str,
    time_unit: str,
    discount_rate: float,
    *,
    purchase_model: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Period ends in the RFM's time unit and their discount factors.

    ``horizon`` (finite, > 0) counts periods of ``unit``; the last period may be partial.
    ``discount_rate`` is per period (finite, > -1). More than :data:`MAX_PERIODS`
    periods is refused before any work. For a discrete-time
    ``purchase_model`` (BG/BB) every period end must be a whole number of opportunities
    (:func:`clvlab.predict.customer.whole_opportunities`): ``unit`` the table's time
    unit (or a multiple of it) and a whole ``horizon``, else
    :class:`~clvlab.errors.ArgumentError`.

    Examples
    --------
    >>> ends, disc = cash_flow_schedule(2.5, "M", "W", 0.0)
    >>> ends.round(4).tolist(), disc.tolist()
    ([4.3482, 8.6964, 10.8705], [1.0, 1.0, 1.0])
    """
    horizon = check_positive("horizon", horizon)
    discount_rate = check_rate("discount_rate", discount_rate)
    if math.ceil(horizon) > MAX_PERIODS:
        # before any array: a horizon of 1e9 periods would otherwise exhaust memory
        raise ArgumentError(
            f"horizon={horizon:g} spans more than {MAX_PERIODS:,} cash-flow periods; "
            "express it in a longer unit (e.g. unit='Y')"
        )
    k = np.arange(1, math.ceil(horizon) + 1, dtype=float)
    ends = np.minimum(k, horizon) * convert(1.0, unit, time_unit)
    if purchase_model is not None:
        ends = whole_opportunities(
            purchase_model.formulas,
            f"the end of a cash-flow period (horizon={horizon:g}, unit={unit!r})",
            ends,
            time_unit,
            purchase_model.display_name,
        )
    with np.errstate(over="ignore"):
        discounts = (1.0 + discount_rate) ** -k
    if not np.isfinite(discounts[-1]) or discounts[-1] > 1e300:
        raise ArgumentError(
            f"discount_rate={discount_rate} per period over {len(k)} periods grows the "
            "discount factor past the floating-point range; use a rate whose compounding "
            "stays finite (a negative rate means money later is worth more) or a shorter "
            "horizon"
        )
    return ends, discounts


def check_model_pair(purchase_model: Any, spend_model: Any, caller: str) -> None:
    """Refuse anything but a fitted purchase model followed by a fitted Gamma-Gamma,
    naming which argument should be which (swapped models are an easy mistake)."""
    from clvlab.predict.customer import PurchasePredictions, SpendPredictions

    if isinstance(purchase_model, SpendPredictions) and isinstance(
        spend_model, PurchasePredictions
    ):
        raise ArgumentError(
            f"{caller}: the models are swapped: the first argument is the purchase model "
            f"(e.g. BetaGeo, ParetoNBD) and the second the spend model (GammaGamma); call "
            f"{caller}(purchase_model, spend_model, rfm)"
        )
    for value, wanted, role, position in (
        (
            purchase_model,
            PurchasePredictions,
            "purchase model (a fitted BetaGeo, ModifiedBetaGeo or ParetoNBD)",
            "first",
        ),
        (spend_model, SpendPredictions, "spend model (a fitted GammaGamma)", "second"),
    ):
        if not isinstance(value, wanted):
            raise ArgumentError(
                f"{caller}: the {position} argument must be the {role}, got "
                f"{type(value).__name__}; call {caller}(purchase_model, spend_model, rfm)"
            )
    purchase_model.check_fitted()
    spend_model.check_fitted()


def paired_source(purchase: PurchasePredictions, spend: SpendPredictions) -> DrawSource:
    """The purchase model's draws paired with the spend model's, draw ``j`` with draw
    ``j`` (the longer set thinned evenly to the shorter): the joint posterior of two
    models that share no parameter. Plug-in values (``point``) when both are MLE fits."""
    a, b = DrawSource.from_model(purchase), DrawSource.from_model(spend)
    n = min(a.n_draws, b.n_draws)

    def thin(src: DrawSource) -> dict[str, np.ndarray]:
        idx = np.round(np.linspace(0, src.n_draws - 1, n)).astype(int)
        return {k: v[idx] for k, v in src.params.items()}

    same_shape = a.n_draws == b.n_draws
    point = {**a.point, **b.point} if a.point is not None and b.point is not None else None
    return DrawSource(
        params={**thin(a), **thin(b)},
        point=point,
        chains=a.chains if same_shape else 1,
        draws_per_chain=a.draws_per_chain if same_shape else n,
        method=a.method if a.method == b.method else f"{a.method}+{b.method}",
        model=f"{a.model}+{b.model}",
        ci_prob=a.ci_prob,
        kind=a.kind,
    )


def check_clv_arguments(
    purchase_model: Any,
    spend_model: Any,
    rfm: pd.DataFrame,
    horizon: Any,
    unit: Any,
    discount_rate: Any,
    margin: Any,
    time_unit: str | None,
    caller: str,
) -> tuple[float, str, float, float, str]:
    """The CLV settings, checked: the models in their order, a positive horizon, its
    unit, a finite rate above -1, a margin in (0, 1], and the RFM table's time unit,
    which must be the models' (:func:`clvlab.units.check_time_units`).

    Returns ``(horizon, unit, discount_rate, margin, time_unit)``.

    Raises
    ------
    ArgumentError, UnitMismatchError
        Any of them outside its domain, or the time units disagree or are unknown.
    """
    check_model_pair(purchase_model, spend_model, caller)
    unit = normalize_unit(unit)
    horizon = check_positive("horizon", horizon)
    discount_rate = check_rate("discount_rate", discount_rate)
    margin = check_probability("margin", margin, open_low=True)
    rfm_unit = check_time_units(rfm, purchase_model, spend_model, time_unit=time_unit)
    if rfm_unit is None:
        raise ArgumentError(
            "the RFM table does not record its time unit, and neither do the models; pass "
            "time_unit= with the unit of its recency and T (e.g. time_unit='W'), or build "
            "the table with clvlab.rfm_summary, which records it"
        )
    # a discrete-time model: whole opportunities in the table and in every period end
    history_table(purchase_model.formulas, rfm, purchase_model.display_name)
    cash_flow_schedule(horizon, unit, rfm_unit, discount_rate, purchase_model=purchase_model)
    return horizon, unit, discount_rate, margin, rfm_unit


def clv_table(rfm: pd.DataFrame) -> pd.DataFrame:
    """The validated RFM table CLV needs: :func:`clvlab.validate_rfm` with
    ``monetary_value``, which must be positive for customers with repeat purchases
    (Gamma-Gamma models their mean spend), and below :data:`MAX_MONETARY_VALUE`, so
    that no CLV, total or simulated value overflows to infinity."""
    table = validate_rfm(rfm, monetary=True)
    check = Validator(ids=table.index.to_numpy())
    m = table["monetary_value"].to_numpy()
    check.check(
        "monetary_value",
        "must be positive for customers with frequency > 0 (Gamma-Gamma)",
        (table["frequency"].to_numpy() > 0) & (m <= 0),
    )
    check.check(
        "monetary_value",
        f"exceeds {MAX_MONETARY_VALUE:.0e}, where CLV and its totals would overflow to "
        "infinity; express money in larger units (thousands or millions)",
        m > MAX_MONETARY_VALUE,
    )
    return table


#: The largest mean spend CLV takes: products and sums over purchases, customers and
#: draws stay finite far below the floating-point limit of about 1.8e308.
MAX_MONETARY_VALUE = 1e200


def clv(
    purchase_model: PurchasePredictions,
    spend_model: SpendPredictions,
    rfm: pd.DataFrame,
    *,
    horizon: float = 12.0,
    unit: str = "M",
    discount_rate: float = 0.0,
    margin: float = 1.0,
    time_unit: str | None = None,
    predictive: bool = False,
    ci_prob: float | None = None,
    kind: IntervalKind | None = None,
    seed: int | None = None,
    return_draws: bool = False,
    progress: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, xr.DataArray]:
    """Per-customer CLV over ``horizon`` periods of ``unit``, with intervals.

    Parameters
    ----------
    purchase_model, spend_model
        Fitted :class:`~clvlab.BetaGeo` and :class:`~clvlab.GammaGamma` (any method).
    rfm
        Customers with ``frequency``, ``recency``, ``T`` and ``monetary_value``.
    horizon, unit
        Number of cash-flow periods and their unit (``"M"``: 365.25/12 days).
    discount_rate
        Per period of ``unit`` (see :func:`per_period_rate`): finite and > -1.
    margin
        Profit margin applied to spend: a share of revenue in ``(0, 1]``. A margin of 0,
        above 1 (more profit than revenue) or NaN is refused.
    time_unit
        The RFM's time unit; read from ``rfm.attrs`` when omitted. It must be the unit
        the purchase model was fitted in (and the spend model, if it records one), else
        :class:`~clvlab.errors.UnitMismatchError`: nothing is converted silently.
    predictive
        Also report ``pred_lower``/``pred_upper``: the interval of the realised value,
        simulating purchases period by period and each purchase's value.

    Raises
    ------
    ArgumentError
        A bad horizon, unit, rate, margin, ``ci_prob`` or ``kind``, or the models given
        in the wrong order.
    UnitMismatchError
        The RFM table and the models are in different time units, or the table records
        none and ``time_unit=`` is not given.

    Returns
    -------
    pandas.DataFrame
        ``estimate, sd, lower, upper`` (and predictive bounds) per customer;
        ``attrs["clvlab"]`` holds the settings and the total with its interval. With
        ``return_draws=True`` also the draws, dims ``(chain, draw, customer_id)``.
    """
    horizon, unit, discount_rate, margin, rfm_unit = check_clv_arguments(
        purchase_model, spend_model, rfm, horizon, unit, discount_rate, margin, time_unit, "clv"
    )
    table = clv_table(rfm)
    ends, discounts = cash_flow_schedule(
        horizon, unit, rfm_unit, discount_rate, purchase_model=purchase_model
    )
    source = paired_source(purchase_model, spend_model)
    # P(alive) depends on (x, t_x, T) only and the discounted purchases on (x, T) only:
    # both are computed once per distinct key and parameter draw, then gathered.
    f = purchase_model.formulas
    names = tuple(f.PARAMS)
    pair_code, pair_x, pair_t = distinct(table, ("frequency", "T"))
    row_code, alive = alive_term(f, table)
    table = table.assign(_pair=pair_code, _row=row_code)
    discounted = SharedTerm(
        lambda part, p: f.discounted_purchases_if_alive(
            pair_x[part], pair_t[part], {n: p[n] for n in names}, ends, discounts
        ),
        len(pair_x),
        names,
        by_draws=True,
    )

    def formula(cols: Mapping[str, np.ndarray], p: Mapping[str, Any]) -> np.ndarray:
        x, m = cols["frequency"], cols["monetary_value"]
        spend = spend_model.formulas.conditional_expected_spend(ops, x, m, p["p"], p["q"], p["v"])
        future = gather(discounted(p), cols["_pair"])
        return margin * gather(alive(p), cols["_row"]) * future * spend

    def simulate(
        cols: Mapping[str, np.ndarray], p: Mapping[str, Any], rng: np.random.Generator
    ) -> np.ndarray:
        return margin * _simulate_value(
            purchase_model.formulas, spend_model.formulas, rng, cols, p, ends, discounts
        )

    meta = {
        "horizon": horizon,
        "unit": unit,
        "discount_rate": discount_rate,
        "margin": margin,
        "time_unit": rfm_unit,
        "pairing": f"draw j of {purchase_model.display_name} with draw j of Gamma-Gamma",
    }
    return predict_frame(
        source,
        table,
        (*_COLUMNS, "_pair", "_row"),
        formula,
        quantity="clv",
        meta=meta,
        ci_prob=ci_prob,
        kind=kind,
        simulate=simulate if predictive else None,
        seed=seed,
        return_draws=return_draws,
        progress=progress,
    )


def _simulate_value(
    formulas: Any,
    spend_formulas: Any,
    rng: np.random.Generator,
    cols: Mapping[str, np.ndarray],
    p: Mapping[str, Any],
    ends: np.ndarray,
    discounts: np.ndarray,
) -> np.ndarray:
    """Realised discounted value: :func:`simulate_period_values` discounted period by
    period."""
    value = np.zeros(np.broadcast_shapes(np.shape(p["p"]), np.shape(cols["frequency"])))
    for k, (_, period) in enumerate(
        simulate_period_values(formulas, spend_formulas, rng, cols, p, ends)
    ):
        value += discounts[k] * period
    return value


def simulate_period_values(
    formulas: Any,
    spend_formulas: Any,
    rng: np.random.Generator,
    cols: Mapping[str, np.ndarray],
    p: Mapping[str, Any],
    ends: np.ndarray,
    spend_rate: np.ndarray | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The realised purchases and spend of each customer in each period ending at
    ``ends``, per draw (one pair of ``(n_draws, n_customers)`` arrays per period, in
    order): the purchase model's simulated path of purchases (``formulas.simulate_counts``
    at every period end), the ``n`` purchases of a period worth ``Gamma(n p, nu)`` in
    total, with ``nu`` the customer's spend rate drawn from its Gamma-Gamma posterior
    (Fader & Hardie 2013), or ``spend_rate`` when given (the rate already drawn for
    the customer, e.g. for a first purchase). Only periods with purchases draw a value
    (a gamma of shape 0 is 0 and consumes no random number, so the stream is that of
    drawing them all)."""
    cumulative = formulas.simulate_counts(rng, ends, *history(cols), p)
    counts = np.diff(cumulative, axis=-1, prepend=0.0)
    nu = (
        spend_formulas.draw_spend_rate(rng, cols["frequency"], cols["monetary_value"], p)
        if spend_rate is None
        else spend_rate
    )
    shape_p = np.broadcast_to(p["p"], nu.shape)
    for k in range(len(ends)):
        n = counts[..., k]
        bought = n > 0
        value = np.zeros(nu.shape)
        value[bought] = rng.gamma(n[bought] * shape_p[bought]) / nu[bought]
        yield n, value
