"""Acquisition budgets: what a newly acquired customer is worth, and CAC against it.

The value of one customer acquired today, over ``K`` cash-flow periods of one ``unit``
each (the last may be partial), is

.. math::

    V_k = \\text{margin} \\times \\sum_{j=1}^{k} d_j \\,
          \\big(E[X(t_j)] - E[X(t_{j-1})]\\big) \\times E[Z],
    \\qquad k = 1, \\dots, K,

where ``E[X(t)]`` is the purchase model's expected number of purchases of a new customer
(its contract function ``expected_purchases_new``; for BG/NBD Fader, Hardie & Lee 2005,
eq. 7), ``E[Z] = p v / (q - 1)`` the Gamma-Gamma population mean spend per transaction
(Fader & Hardie 2013) and ``d_j = (1 + \\text{discount rate})^{-j}`` the discount factor
of period ``j``, applied at the end of the period as in :func:`clvlab.clv`.

``V_K``, the value over the whole horizon, is the most one can pay to acquire a customer
and still break even within the horizon: the ceiling for the customer acquisition cost
(CAC). Everything is computed **draw by draw** on the purchase model's draws paired with
the spend model's (:func:`clvlab.predict.clv.paired_source`), so every interval holds the
uncertainty of both models.

Given a CAC, :func:`cac_summary` reduces the draws of ``V_1..V_K`` to the CLV:CAC ratio,
the probability that the customer is worth more than they cost, and the payback period
(the first period whose cumulative value covers the CAC), with intervals. A draw that does
not pay back within the horizon is right-censored: it is counted as "more than ``K``
periods", never as NaN or infinity.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from clvlab.arguments import (
    check_ci_prob,
    check_interval_kind,
    check_positive,
    check_probability,
    check_rate,
)
from clvlab.data.ids import id_texts
from clvlab.errors import (
    ArgumentError,
    ClvlabError,
    ConvergenceError,
    DataValidationError,
    UnitMismatchError,
)
from clvlab.formulas import numpy_gather_ops as ops
from clvlab.inference.draws import IntervalKind, interval
from clvlab.predict.clv import cash_flow_schedule, check_model_pair, paired_source
from clvlab.units import check_time_units, model_time_unit, normalize_unit

if TYPE_CHECKING:
    from clvlab.predict.customer import PurchasePredictions, SpendPredictions

__all__ = [
    "NewCustomerValueDraws",
    "acquisition",
    "cac_summary",
    "new_customer_value",
    "new_customer_value_draws",
    "read_cac",
]

#: The group name of a single CAC value.
ALL_GROUP = "all"

#: The most values (``n_draws x K``) one per-draw path may hold: 80 MB of float64.
MAX_PATH_VALUES = 10_000_000

#: The columns of :func:`cac_summary`'s result, in order.
SUMMARY_COLUMNS = (
    "value_estimate",
    "value_lower",
    "value_upper",
    "ratio_estimate",
    "ratio_lower",
    "ratio_upper",
    "p_value_exceeds_cac",
    "payback_estimate",
    "payback_lower",
    "payback_upper",
    "payback_estimate_censored",
    "payback_lower_censored",
    "payback_upper_censored",
    "p_payback_within_horizon",
)

_CAC_FIX = (
    "give every group a CAC that is a finite number > 0 (plain digits, no currency sign "
    "or thousands separator), e.g. 'search,45.5'"
)


@dataclass(frozen=True)
class NewCustomerValueDraws:
    """The cumulative discounted value of one newly acquired customer, per period and draw.

    Attributes
    ----------
    cumulative
        ``(n_draws, K)``: ``V_k`` of each paired parameter draw (see the module docstring).
    point
        ``(K,)``: ``V_k`` at the plug-in parameters of two MLE fits, or ``None`` (Bayesian
        fits, whose estimate is the posterior mean of ``cumulative``).
    purchases, purchases_point
        The same for the expected purchases within each period, ``E[X(t_k)] -
        E[X(t_{k-1})]`` (undiscounted).
    period_end
        ``(K,)``: the end of each period in ``unit`` (``1, 2, ..., horizon``).
    settings
        ``horizon``, ``unit``, ``discount_rate``, ``margin``, ``time_unit`` (the models'),
        ``method``, ``model``, ``ci_prob`` and ``interval`` (the fits' default interval
        settings) and ``estimate`` (how the estimate is defined).
    """

    cumulative: np.ndarray
    point: np.ndarray | None
    purchases: np.ndarray
    purchases_point: np.ndarray | None
    period_end: np.ndarray
    settings: dict[str, Any]

    @property
    def n_periods(self) -> int:
        """``K``, the number of cash-flow periods."""
        return int(self.cumulative.shape[1])


def _model_unit(
    purchase: PurchasePredictions, spend: SpendPredictions, time_unit: str | None
) -> str:
    """The time unit the models were fitted in, checked against ``time_unit`` if given."""
    fitted = model_time_unit(purchase)
    name = getattr(purchase, "display_name", type(purchase).__name__)
    stated = None if time_unit is None else normalize_unit(time_unit)
    if stated is not None and fitted is not None and stated != fitted:
        raise UnitMismatchError(
            f"time_unit={time_unit!r} contradicts the {name} model, which was fitted on an "
            f"RFM table in {fitted!r}; omit time_unit= (the model records its unit)"
        )
    unit = stated or fitted
    if unit is None:
        raise ArgumentError(
            f"the {name} model was fitted on an RFM table that records no time unit, so "
            "the horizon cannot be converted into the model's time; pass time_unit= with "
            "the unit of that table's recency and T (e.g. time_unit='W'), or fit on a table "
            "built by clvlab.rfm_summary, which records it"
        )
    # the spend model, when it records a unit, must come from a table in the same unit
    check_time_units(None, purchase, spend, time_unit=unit)
    return unit


def new_customer_value_draws(
    purchase: PurchasePredictions,
    spend: SpendPredictions,
    *,
    horizon: float = 12.0,
    unit: str = "M",
    discount_rate: float = 0.0,
    margin: float = 1.0,
    time_unit: str | None = None,
) -> NewCustomerValueDraws:
    """Per-draw cumulative discounted value of one newly acquired customer.

    The building block of :func:`new_customer_value` and :func:`acquisition`, for code
    that needs the draws themselves (e.g. a comparison across groups, which passes
    ``cumulative`` and ``point`` to :func:`cac_summary`).

    Parameters
    ----------
    purchase, spend
        A fitted purchase model (any of :func:`clvlab.purchase_models`) and a fitted
        :class:`~clvlab.GammaGamma`, in this order.
    horizon, unit
        Number of cash-flow periods (finite, > 0; the last one may be partial) and their
        unit: ``"D"``, ``"W"``, ``"M"`` (365.25/12 days) or ``"Y"`` (365.25 days).
    discount_rate
        Per period of ``unit`` (see :func:`clvlab.per_period_rate`): finite and > -1.
    margin
        Profit margin applied to spend, in ``(0, 1]``.
    time_unit
        The unit the models were fitted in; only needed when their RFM table recorded
        none (a table built by hand). It must agree with the unit the models record.

    Returns
    -------
    NewCustomerValueDraws
        ``cumulative[j, k-1]`` is ``V_k`` (module docstring: Fader, Hardie & Lee 2005
        eq. 7 for BG/NBD's ``E[X(t)]``, via each model's ``expected_purchases_new``;
        Fader & Hardie 2013 for ``E[Z] = p v / (q - 1)``) under paired draw ``j``.

    Raises
    ------
    ArgumentError
        A bad horizon, unit, rate or margin; the models swapped or of the wrong kind.
    NotFittedError
        A model is not fitted.
    UnitMismatchError
        The models were fitted in different time units, or ``time_unit`` contradicts them.
    ConvergenceError
        The Gamma-Gamma fit has ``q <= 1`` (in some draw): spend has no finite mean.
    """
    caller = "new_customer_value"
    check_model_pair(purchase, spend, caller)
    unit = normalize_unit(unit)
    horizon = check_positive("horizon", horizon)
    discount_rate = check_rate("discount_rate", discount_rate)
    margin = check_probability("margin", margin, open_low=True)
    model_unit = _model_unit(purchase, spend, time_unit)
    source = paired_source(purchase, spend)
    n_periods = math.ceil(horizon)
    if n_periods * source.n_draws > MAX_PATH_VALUES:
        raise ArgumentError(
            f"horizon={horizon:g} periods of {unit!r} under {source.n_draws} parameter draws "
            f"makes {n_periods * source.n_draws:,} values per quantity, more than the cap of "
            f"{MAX_PATH_VALUES:,} that keeps memory bounded; use a coarser unit (e.g. "
            "unit='M' or 'Y'), a shorter horizon, or refit with fewer draws"
        )
    ends, discounts = cash_flow_schedule(
        horizon, unit, model_unit, discount_rate, purchase_model=purchase
    )
    names = tuple(purchase.formulas.PARAMS)

    def path(params: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """Per-period purchases and cumulative value, ``(..., K)``."""
        grid = ends if np.ndim(params[names[0]]) == 0 else ends[None, :]
        cumulative = purchase.formulas.expected_purchases_new(
            ops, grid, **{n: params[n] for n in names}
        )
        per_period = np.diff(np.asarray(cumulative, dtype=float), axis=-1, prepend=0.0)
        try:
            mean_spend = spend.formulas.expected_spend_new(
                ops, params["p"], params["q"], params["v"]
            )
        except ConvergenceError as exc:
            raise ConvergenceError(
                f"{caller}: the value of a new customer needs the Gamma-Gamma population "
                f"mean spend p v / (q - 1), which is infinite where q <= 1. {exc}"
            ) from exc
        value = margin * np.cumsum(discounts * per_period, axis=-1) * mean_spend
        return per_period, value

    purchases, cumulative = path(source.params)
    bad = int(np.count_nonzero(~np.all(np.isfinite(cumulative), axis=1)))
    if bad:
        raise ConvergenceError(
            f"{caller}: the value of a new customer is not a finite number under {bad} of "
            f"{len(cumulative)} parameter draws of the {source.model} fit; its parameters "
            "lie at an extreme. Refit (e.g. with a penalizer, or more informative priors), "
            "or check the fit with model.summary()"
        )
    purchases_point = point = None
    if source.point is not None:
        purchases_point, point = path(source.point)
    period_end = np.minimum(np.arange(1, len(ends) + 1, dtype=float), horizon)
    settings = {
        "horizon": horizon,
        "unit": unit,
        "discount_rate": discount_rate,
        "margin": margin,
        "time_unit": model_unit,
        "method": source.method,
        "model": source.model,
        "ci_prob": source.ci_prob,
        "interval": source.kind,
        "estimate": "plug-in at the MLE" if point is not None else "posterior mean",
        "pairing": f"draw j of {purchase.display_name} with draw j of Gamma-Gamma",
    }
    return NewCustomerValueDraws(
        cumulative=cumulative,
        point=point,
        purchases=purchases,
        purchases_point=purchases_point,
        period_end=period_end,
        settings=settings,
    )


def _interval_settings(
    ci_prob: Any, kind: Any, defaults: Mapping[str, Any]
) -> tuple[float, IntervalKind]:
    """``ci_prob`` and ``kind``, checked, or the fits' defaults (checked as well)."""
    ci = check_ci_prob(defaults["ci_prob"] if ci_prob is None else ci_prob)
    ik = (
        check_interval_kind(defaults["interval"], "interval_kind")
        if kind is None
        else check_interval_kind(kind, "kind")
    )
    return ci, cast(IntervalKind, ik)


def _bounds(
    values: np.ndarray, ci_prob: float, kind: IntervalKind, *, discrete: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`clvlab.inference.draws.interval` along the draws (axis 0); one draw is its
    own interval."""
    if len(values) == 1:
        return values[0].astype(float), values[0].astype(float)
    return interval(values, ci_prob, kind, discrete=discrete)


def new_customer_value(
    purchase: PurchasePredictions,
    spend: SpendPredictions,
    *,
    horizon: float = 12.0,
    unit: str = "M",
    discount_rate: float = 0.0,
    margin: float = 1.0,
    ci_prob: float | None = None,
    kind: IntervalKind | None = None,
    time_unit: str | None = None,
) -> pd.DataFrame:
    """The value of one newly acquired customer, period by period: the ceiling for CAC.

    .. math:: V_k = \\text{margin} \\sum_{j \\le k} d_j \\big(E[X(t_j)] -
              E[X(t_{j-1})]\\big)\\, \\frac{p v}{q - 1}

    with ``E[X(t)]`` the purchase model's new-customer form (BG/NBD: Fader, Hardie & Lee
    2005, eq. 7) and ``p v / (q - 1)`` the Gamma-Gamma mean spend (Fader & Hardie 2013),
    computed on the paired draws of both models, so the interval holds both models'
    uncertainty. The last row, ``V_K``, is the value over the horizon: acquiring a
    customer for more than that does not pay back within the horizon.

    Parameters
    ----------
    purchase, spend, horizon, unit, discount_rate, margin, time_unit
        As in :func:`new_customer_value_draws`.
    ci_prob, kind
        Interval probability in ``(0, 1)`` and kind (``"eti"`` or ``"hdi"``); the purchase
        model's settings when omitted.

    Returns
    -------
    pandas.DataFrame
        One row per period: ``period`` (int, 1..K), ``period_end`` (float, in ``unit``),
        ``purchases`` (expected purchases within the period, estimate),
        ``value_estimate``, ``value_lower``, ``value_upper`` (cumulative discounted value
        ``V_k``). The estimate is the plug-in value at the MLE for MLE fits and the
        posterior mean for Bayesian fits; the bounds are the draws' interval, widened to
        include the estimate. ``attrs["clvlab"]`` holds the settings and ``total`` (the
        last row's estimate, lower and upper).

    Raises
    ------
    ArgumentError, NotFittedError, UnitMismatchError, ConvergenceError
        As :func:`new_customer_value_draws`; also a bad ``ci_prob`` or ``kind``.

    Examples
    --------
    >>> import clvlab
    >>> rfm = clvlab.datasets.load_cdnow_summary()
    >>> bg = clvlab.BetaGeo().fit(rfm, seed=1, progress=False, n_draws=200)
    >>> gg = clvlab.GammaGamma().fit(rfm, seed=2, progress=False, n_draws=200)
    >>> table = new_customer_value(bg, gg, horizon=12, unit="M")
    >>> table[["period", "value_estimate"]].shape
    (12, 2)
    >>> bool(table["value_estimate"].is_monotonic_increasing)
    True
    """
    draws = new_customer_value_draws(
        purchase,
        spend,
        horizon=horizon,
        unit=unit,
        discount_rate=discount_rate,
        margin=margin,
        time_unit=time_unit,
    )
    ci, ik = _interval_settings(ci_prob, kind, draws.settings)
    lo, hi = _bounds(draws.cumulative, ci, ik)
    estimate = draws.cumulative.mean(axis=0) if draws.point is None else draws.point
    purchases = draws.purchases.mean(axis=0) if draws.purchases_point is None else None
    if purchases is None:
        purchases = cast(np.ndarray, draws.purchases_point)
    lower, upper = np.minimum(lo, estimate), np.maximum(hi, estimate)
    frame = pd.DataFrame(
        {
            "period": np.arange(1, draws.n_periods + 1, dtype=np.int64),
            "period_end": draws.period_end,
            "purchases": np.asarray(purchases, dtype=float),
            "value_estimate": np.asarray(estimate, dtype=float),
            "value_lower": lower,
            "value_upper": upper,
        }
    )
    settings = {k: v for k, v in draws.settings.items() if k not in ("ci_prob", "interval")}
    frame.attrs["clvlab"] = {
        "quantity": "new_customer_value",
        **settings,
        "ci_prob": ci,
        "interval": ik,
        "total": {
            "estimate": float(estimate[-1]),
            "lower": float(lower[-1]),
            "upper": float(upper[-1]),
        },
    }
    return frame


def _value_array(values: Any) -> np.ndarray:
    """``cumulative_value_draws`` as a finite float ``(n_draws, K)`` array, or an error."""
    if isinstance(values, str | bytes) or (
        isinstance(values, np.ndarray) and values.dtype.kind not in "iuf"
    ):
        raise ArgumentError(
            "cumulative_value_draws must be a numeric array of shape (n_draws, K), got "
            f"{type(values).__name__}"
        )
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(
            "cumulative_value_draws must be a numeric array of shape (n_draws, K); pass "
            "NewCustomerValueDraws.cumulative"
        ) from exc
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ArgumentError(
            "cumulative_value_draws must have shape (n_draws, K) with n_draws >= 1 and "
            f"K >= 1 (one row per draw, one column per period), got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.all(np.isfinite(array), axis=1)))
        raise ArgumentError(
            f"cumulative_value_draws holds NaN or infinite values in {bad} of "
            f"{array.shape[0]} draws; pass finite values (drop or fix those draws)"
        )
    return array


def cac_summary(
    cumulative_value_draws: np.ndarray,
    cac: float,
    *,
    ci_prob: float,
    kind: IntervalKind,
    point: np.ndarray | None = None,
) -> dict[str, float | int | bool]:
    """CLV:CAC ratio, P(value > CAC) and payback period, from per-draw cumulative value.

    Parameters
    ----------
    cumulative_value_draws
        ``(n_draws, K)``: cumulative (discounted) value at the end of periods ``1..K``
        under each parameter draw, such as :attr:`NewCustomerValueDraws.cumulative`. Any
        finite values (``K >= 1``).
    cac
        The acquisition cost of one customer, in the same currency: finite and > 0.
    ci_prob, kind
        Interval probability in ``(0, 1)`` and kind, ``"eti"`` or ``"hdi"``.
    point
        ``(K,)`` plug-in cumulative value (an MLE fit), or ``None``. When given, every
        ``*_estimate`` is computed from it; otherwise the value and ratio estimates are
        posterior means and the payback estimate the posterior median.

    Returns
    -------
    dict
        ``value_estimate``, ``value_lower``, ``value_upper`` (float)
            Value over the horizon, ``V_K``.
        ``ratio_estimate``, ``ratio_lower``, ``ratio_upper`` (float)
            CLV:CAC ratio ``V_K / cac``, its interval from the per-draw ratios.
        ``p_value_exceeds_cac`` (float in [0, 1])
            Share of draws with ``V_K > cac``.
        ``payback_estimate``, ``payback_lower``, ``payback_upper`` (int in 1..K)
            Payback period: per draw, the first period ``k`` with ``V_k >= cac``. The
            bounds are the interval of these whole periods (for ``"eti"`` the
            ``(1 -+ ci_prob) / 2`` quantiles of the empirical CDF, ``inverted_cdf``),
            and the estimate their median (or the plug-in path's payback with
            ``point``). Draws that never pay back count as beyond the horizon.
        ``payback_estimate_censored``, ``payback_lower_censored``, ``payback_upper_censored`` (bool)
            ``True`` when that figure lies beyond the horizon: the reported ``K`` then
            means "more than ``K`` periods" (right-censored), never NaN or infinity.
        ``p_payback_within_horizon`` (float in [0, 1])
            Share of draws with ``V_k >= cac`` for some ``k <= K``. It is at least
            ``p_value_exceeds_cac`` (which is strict: ``>``).

    Every estimate lies within its bounds: bounds are widened to include a plug-in
    estimate outside the draws' interval, as in :func:`clvlab.clv`.

    Raises
    ------
    ArgumentError
        A non-numeric, non-finite or non-2-D array; a ``point`` of another length or not
        finite; a CAC that is not a finite number > 0; a bad ``ci_prob`` or ``kind``.

    Examples
    --------
    >>> import numpy as np
    >>> draws = np.array([[40.0, 80.0, 120.0], [20.0, 40.0, 60.0], [60.0, 120.0, 180.0]])
    >>> s = cac_summary(draws, 70.0, ci_prob=0.9, kind="eti")
    >>> s["p_value_exceeds_cac"], s["payback_estimate"], s["payback_upper_censored"]
    (0.6666666666666666, 2, True)
    """
    values = _value_array(cumulative_value_draws)
    cac = check_positive("cac", cac)
    ci = check_ci_prob(ci_prob)
    ik = cast(IntervalKind, check_interval_kind(kind, "kind"))
    n_periods = values.shape[1]
    plug_in = None
    if point is not None:
        plug_in = _value_array(np.atleast_2d(point))
        if plug_in.shape != (1, n_periods):
            raise ArgumentError(
                f"point must hold one value per period ({n_periods}), like "
                f"cumulative_value_draws' columns, got shape {np.shape(point)}"
            )

    def payback(paths: np.ndarray) -> np.ndarray:
        """First period (1-based) whose cumulative value covers the CAC; ``K + 1`` when
        none does (beyond the horizon)."""
        covered = paths >= cac
        return np.where(covered.any(axis=1), covered.argmax(axis=1) + 1, n_periods + 1)

    final = values[:, -1]
    periods = payback(values)
    if plug_in is None:
        value_estimate = float(final.mean())
        payback_estimate = int(np.quantile(periods, 0.5, method="inverted_cdf"))
    else:
        value_estimate = float(plug_in[0, -1])
        payback_estimate = int(payback(plug_in)[0])
    with np.errstate(over="ignore"):
        ratio = final / cac
        ratio_estimate = float(np.float64(value_estimate) / cac)
    if not (np.all(np.isfinite(ratio)) and math.isfinite(ratio_estimate)):
        raise ArgumentError(
            f"cac={cac!r} is so small that value / cac overflows the floating-point range; "
            "give the CAC in the currency unit of the values (e.g. 45.5, not 4.55e-320)"
        )
    value_lo, value_hi = _bounds(final, ci, ik)
    ratio_lo, ratio_hi = _bounds(ratio, ci, ik)
    pay_lo, pay_hi = _bounds(periods.astype(float), ci, ik, discrete=True)
    pay_lo_i = min(int(pay_lo), payback_estimate)
    pay_hi_i = max(int(pay_hi), payback_estimate)
    result: dict[str, float | int | bool] = {
        "value_estimate": value_estimate,
        "value_lower": min(float(value_lo), value_estimate),
        "value_upper": max(float(value_hi), value_estimate),
        "ratio_estimate": ratio_estimate,
        "ratio_lower": min(float(ratio_lo), ratio_estimate),
        "ratio_upper": max(float(ratio_hi), ratio_estimate),
        "p_value_exceeds_cac": float(np.mean(final > cac)),
        "payback_estimate": min(payback_estimate, n_periods),
        "payback_lower": min(pay_lo_i, n_periods),
        "payback_upper": min(pay_hi_i, n_periods),
        "payback_estimate_censored": payback_estimate > n_periods,
        "payback_lower_censored": pay_lo_i > n_periods,
        "payback_upper_censored": pay_hi_i > n_periods,
        "p_payback_within_horizon": float(np.mean(periods <= n_periods)),
    }
    return result


def _cac_table(groups: Any, costs: Any, where: str) -> pd.DataFrame:
    """Validated ``group`` (text) and ``cac`` (float) columns, from raw group names and
    raw costs (numbers, or text as read from a CSV)."""
    groups = pd.Series(np.asarray(groups, dtype=object), dtype=object)
    raw = pd.Series(np.asarray(costs, dtype=object), dtype=object)
    if len(groups) == 0:
        raise ArgumentError(
            f"{where} holds no group; give at least one (group, CAC) pair, or one number "
            "for all customers"
        )
    missing_group = groups.isna().to_numpy() | (groups.astype(str).str.strip() == "").to_numpy()
    if missing_group.any():
        raise DataValidationError(
            "group",
            f"{where}: every group needs a name, but some are missing or empty",
            int(missing_group.sum()),
            hint="name every channel or cohort (e.g. 'search', '2024-Q1')",
        )
    names = pd.Series(id_texts(groups.to_numpy()), dtype=object)
    duplicated = names.duplicated(keep=False).to_numpy()
    if duplicated.any():
        shown = sorted(set(names[duplicated]))
        raise DataValidationError(
            "group",
            f"{where}: group names must be unique (in their text form), but some repeat",
            int(duplicated.sum()),
            examples=shown,
            example_label="groups",
            hint="give each group one CAC: merge or rename the repeated rows",
        )
    blank = (
        raw.isna().to_numpy() | raw.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy()
    )
    if blank.any():
        raise DataValidationError(
            "cac",
            f"{where}: a CAC is missing",
            int(blank.sum()),
            examples=list(names[blank]),
            example_label="groups",
            hint=_CAC_FIX,
        )
    booleans = raw.map(lambda v: isinstance(v, bool | np.bool_)).to_numpy()
    text = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
    numeric = pd.to_numeric(text.where(~booleans), errors="coerce").to_numpy(dtype=float)
    is_nan_text = text.map(lambda v: isinstance(v, str) and v.lower() in ("nan", "-nan", "+nan"))
    unreadable = np.isnan(numeric) & ~is_nan_text.to_numpy()
    if unreadable.any():
        raise DataValidationError(
            "cac",
            f"{where}: a CAC must be a number",
            int(unreadable.sum()),
            examples=list(names[unreadable]),
            example_label="groups",
            example_values=list(raw[unreadable]),
            hint=_CAC_FIX,
        )
    bad = ~np.isfinite(numeric) | (numeric <= 0)
    if bad.any():
        raise DataValidationError(
            "cac",
            f"{where}: a CAC must be a finite number > 0 (a zero, negative, NaN or "
            "infinite cost has no payback)",
            int(bad.sum()),
            examples=list(names[bad]),
            example_label="groups",
            example_values=list(numeric[bad]),
            hint=_CAC_FIX,
        )
    return pd.DataFrame({"group": names.to_numpy(), "cac": numeric})


def _cac_input(cac: Any) -> pd.DataFrame:
    """Any accepted form of ``cac`` as a validated ``group, cac`` table."""
    if isinstance(cac, pd.DataFrame):
        absent = [c for c in ("group", "cac") if c not in cac.columns]
        if absent:
            raise DataValidationError(
                absent[0],
                f"the CAC table lacks the column(s) {absent} (it has {list(cac.columns)})",
                hint="give a table with a 'group' column (channel or cohort names) and a "
                "'cac' column (cost per acquired customer)",
            )
        return _cac_table(cac["group"].to_numpy(), cac["cac"].to_numpy(), "the CAC table")
    if isinstance(cac, pd.Series):
        return _cac_table(cac.index.to_numpy(), cac.to_numpy(), "the CAC series")
    if isinstance(cac, Mapping):
        return _cac_table(list(cac.keys()), list(cac.values()), "the CAC mapping")
    if isinstance(cac, numbers.Real | np.ndarray) and not isinstance(cac, bool | np.bool_):
        return pd.DataFrame({"group": [ALL_GROUP], "cac": [check_positive("cac", cac)]})
    raise ArgumentError(
        f"cac must be a number > 0, a mapping or pandas Series of group name -> CAC, or a "
        f"table with columns 'group' and 'cac' (see read_cac), got {type(cac).__name__}"
    )


def read_cac(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read per-channel or per-cohort acquisition costs from a CSV file.

    The file is UTF-8 text with a header row naming a ``group`` column (channel or cohort
    names, read as text) and a ``cac`` column (the cost of acquiring one customer), e.g.::

        group,cac
        search,45.5
        social,30

    Other columns are ignored.

    Returns
    -------
    pandas.DataFrame
        ``group`` (str) and ``cac`` (float), in the file's order, ready for
        :func:`acquisition`.

    Raises
    ------
    ArgumentError
        ``path`` is not a path, does not exist or is a folder.
    ClvlabError
        The file cannot be read as CSV.
    DataValidationError
        A missing column or group name, a repeated group, or a CAC that is missing, not
        a number, or not finite and > 0 (the message names the groups).
    """
    if isinstance(path, bool) or not isinstance(path, str | os.PathLike):
        raise ArgumentError(
            f"path must be a str or os.PathLike naming a CSV file, got {type(path).__name__}"
        )
    if not os.path.exists(path):
        raise ArgumentError(f"no CAC file at {os.fspath(path)!s}; check the path")
    if os.path.isdir(path):
        raise ArgumentError(
            f"CAC file {os.fspath(path)!s} is a folder; give a CSV file with columns group,cac"
        )
    try:
        # header=None: a row with more fields than the header is an error, never an
        # implicit index column that would shift every value one column to the right
        raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, ValueError) as exc:
        text = str(exc).strip().splitlines()
        reason = text[0] if text else type(exc).__name__
        raise ClvlabError(
            f"cannot read the CAC file {os.fspath(path)!s} as CSV: {reason}. Give a UTF-8 "
            "CSV file with a header row and the columns group,cac"
        ) from exc
    header = [str(name) for name in raw.iloc[0]]
    where = f"the CAC file {os.fspath(path)!s}"
    for name in ("group", "cac"):
        if name not in header:
            raise DataValidationError(
                name,
                f"{where} lacks the column {name!r} (its header has {header})",
                hint="the first line must name the columns, e.g. 'group,cac'",
            )
        if header.count(name) > 1:
            raise DataValidationError(
                name,
                f"{where} names the column {name!r} {header.count(name)} times in its header",
                hint="keep one 'group' and one 'cac' column",
            )
    rows = raw.iloc[1:]
    return _cac_table(
        rows.iloc[:, header.index("group")].to_numpy(),
        rows.iloc[:, header.index("cac")].to_numpy(),
        where,
    )


def acquisition(
    purchase: PurchasePredictions,
    spend: SpendPredictions,
    cac: float | Mapping[Any, float] | pd.Series | pd.DataFrame,
    *,
    horizon: float = 12.0,
    unit: str = "M",
    discount_rate: float = 0.0,
    margin: float = 1.0,
    ci_prob: float | None = None,
    kind: IntervalKind | None = None,
    time_unit: str | None = None,
) -> pd.DataFrame:
    """CLV:CAC ratio, P(CLV > CAC) and payback period of a newly acquired customer.

    The value compared with each CAC is the value of one newly acquired customer
    (:func:`new_customer_value`, over ``horizon`` periods of ``unit``). The models are
    fitted on all customers together, so that value is the same for every channel or
    cohort and only the CAC differs between rows; to compare the value of customers of
    different groups, use the group comparison, which fits or predicts per group.

    Parameters
    ----------
    purchase, spend
        A fitted purchase model and a fitted :class:`~clvlab.GammaGamma`, in this order.
    cac
        The cost of acquiring one customer: one number > 0 (row ``"all"``), a mapping or
        :class:`pandas.Series` of group name -> CAC, or a table with columns ``group``
        and ``cac`` (:func:`read_cac` reads one from a CSV file). Group names are used in
        their text form (``1`` and ``"1"`` are the same group, and refused together).
    horizon, unit, discount_rate, margin, time_unit
        As in :func:`new_customer_value_draws`. The payback period counts periods of
        ``unit``.
    ci_prob, kind
        Interval probability and kind; the purchase model's settings when omitted.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``group`` (str), one row per CAC in the given order: ``cac`` (float)
        and the figures of :func:`cac_summary` (``value_*`` and ``ratio_*`` float,
        ``p_*`` float in [0, 1], ``payback_*`` int in 1..K, ``payback_*_censored`` bool:
        ``True`` means "more than K periods"). ``attrs["clvlab"]`` holds the settings,
        ``periods`` (K) and ``total`` (the new-customer value over the horizon).

    Raises
    ------
    ArgumentError
        A CAC that is not a number > 0 (single value), an empty mapping or table, a bad
        horizon, unit, rate, margin, ``ci_prob`` or ``kind``; models swapped.
    DataValidationError
        Per group: a missing or repeated group name, a CAC that is missing, not a
        number, zero, negative, NaN or infinite; a table without ``group``/``cac``.
    NotFittedError, UnitMismatchError, ConvergenceError
        As :func:`new_customer_value_draws` (e.g. a Gamma-Gamma fit with ``q <= 1``).

    Examples
    --------
    >>> import clvlab
    >>> rfm = clvlab.datasets.load_cdnow_summary()
    >>> bg = clvlab.BetaGeo().fit(rfm, seed=1, progress=False, n_draws=200)
    >>> gg = clvlab.GammaGamma().fit(rfm, seed=2, progress=False, n_draws=200)
    >>> table = acquisition(bg, gg, {"search": 10.0, "social": 1000.0})
    >>> table.index.tolist(), table["payback_estimate_censored"].tolist()
    (['search', 'social'], [False, True])
    """
    costs = _cac_input(cac)
    draws = new_customer_value_draws(
        purchase,
        spend,
        horizon=horizon,
        unit=unit,
        discount_rate=discount_rate,
        margin=margin,
        time_unit=time_unit,
    )
    ci, ik = _interval_settings(ci_prob, kind, draws.settings)
    rows = [
        cac_summary(draws.cumulative, float(c), ci_prob=ci, kind=ik, point=draws.point)
        for c in costs["cac"]
    ]
    frame = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    frame.insert(0, "cac", costs["cac"].to_numpy(dtype=float))
    frame.index = pd.Index(costs["group"].to_numpy(dtype=object), name="group")
    for name in ("payback_estimate", "payback_lower", "payback_upper"):
        frame[name] = frame[name].astype(np.int64)
    for name in ("payback_estimate_censored", "payback_lower_censored", "payback_upper_censored"):
        frame[name] = frame[name].astype(bool)
    settings = {k: v for k, v in draws.settings.items() if k not in ("ci_prob", "interval")}
    final = draws.cumulative[:, -1]
    estimate = float(final.mean()) if draws.point is None else float(draws.point[-1])
    lo, hi = _bounds(final, ci, ik)
    frame.attrs["clvlab"] = {
        "quantity": "acquisition",
        **settings,
        "ci_prob": ci,
        "interval": ik,
        "periods": draws.n_periods,
        "payback_unit": draws.settings["unit"],
        "value": "new-customer value (models pooled across groups: only CAC differs)",
        "total": {
            "estimate": estimate,
            "lower": min(float(lo), estimate),
            "upper": max(float(hi), estimate),
        },
    }
    return frame
