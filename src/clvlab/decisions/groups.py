"""CLV and its parts per group of customers (channel, campaign, country, acquisition
cohort), with intervals, and the differences between groups on paired draws.

This compares the customers a group holds, not the causal effect of the channel or
campaign: a channel whose customers are worth more may simply reach people who would
have bought anyway. Only an experiment (or a causal design) measures the effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from clvlab.arguments import check_count
from clvlab.data.ids import colliding_ids, id_text, id_texts
from clvlab.data.rfm import rfm_metadata, validate_rfm
from clvlab.decisions.folded import FoldedSums
from clvlab.decisions.value import CustomerValue, summarise
from clvlab.errors import ArgumentError, DataValidationError
from clvlab.inference.draws import IntervalKind
from clvlab.units import days_per_unit, normalize_unit

if TYPE_CHECKING:
    from clvlab.predict.customer import PurchasePredictions, SpendPredictions

__all__ = ["GROUP_METRICS", "GroupComparison", "acquisition_cohorts", "compare_groups"]

#: The per-group metrics, in the column order of :attr:`GroupComparison.groups`.
GROUP_METRICS = (
    "clv_total",
    "clv_mean",
    "purchases_mean",
    "probability_alive_mean",
    "spend_mean",
)
#: The metrics whose differences between groups are reported (means: groups differ in size).
DIFFERENCE_METRICS = ("clv_mean", "purchases_mean", "probability_alive_mean", "spend_mean")
_COHORT_PERIODS = {"M": "M", "Q": "Q", "Y": "Y"}


@dataclass
class GroupComparison:
    """Per-group CLV and its parts, and the differences between groups.

    Attributes
    ----------
    groups
        One row per group (index ``group``): ``customers``, ``share`` and, for each of
        :data:`GROUP_METRICS`, ``<metric>_estimate``, ``_lower`` and ``_upper``.
    differences
        One row per (group, metric) against ``reference``: ``group, reference, metric,
        estimate, lower, upper, p_greater`` (the share of paired draws in which the
        group's value exceeds the reference's).
    settings
        Horizon, unit, margin, interval and the column grouped by.
    """

    groups: pd.DataFrame
    differences: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def _repr_html_(self) -> str:
        s = self.settings
        head = (
            f"<h4>CLV by {s['by']}: {len(self.groups)} groups</h4><p>{s['horizon']:g} "
            f"{s['unit']} horizon, {s['ci_prob']:.0%} {s['interval']} intervals, "
            f"differences against {s['reference']!s} on paired draws. These compare "
            "customers, not the causal effect of a campaign.</p>"
        )
        return (
            head
            + self.groups.to_html(float_format=_three)
            + self.differences.to_html(float_format=_three)
        )


def _three(value: float) -> str:
    return f"{value:,.3f}"


def acquisition_cohorts(
    rfm: pd.DataFrame,
    period: str = "M",
    *,
    calibration_end: object = None,
    time_unit: str | None = None,
) -> pd.Series:
    """Each customer's acquisition cohort: the month (``"M"``, labels ``"1997-01"``),
    quarter (``"Q"``, ``"1997Q1"``) or year (``"Y"``) of the first purchase.

    The first purchase is ``T`` time units before the end of calibration, read from the
    table's metadata (:func:`clvlab.rfm_summary` records both) or given as
    ``calibration_end`` and ``time_unit``.
    """
    if period not in _COHORT_PERIODS:
        raise ArgumentError(f"period must be one of {sorted(_COHORT_PERIODS)}, got {period!r}")
    table = validate_rfm(rfm)
    meta = rfm_metadata(rfm)
    end = calibration_end if calibration_end is not None else meta.get("calibration_end")
    unit = meta.get("time_unit") if time_unit is None else time_unit
    if end is None or unit is None:
        missing = " and ".join(
            name for name, value in (("calibration_end", end), ("time_unit", unit)) if value is None
        )
        raise ArgumentError(
            f"acquisition cohorts need the end of calibration and the time unit of T, and "
            f"this RFM table does not record its {missing}; build it with "
            f"clvlab.rfm_summary, or pass by=clvlab.acquisition_cohorts(rfm, "
            f"calibration_end='YYYY-MM-DD', time_unit='W') with the date T is measured to "
            f"and T's unit"
        )
    if meta.get("time_unit") is not None and normalize_unit(unit) != normalize_unit(
        meta["time_unit"]
    ):
        raise ArgumentError(
            f"time_unit={time_unit!r} contradicts the RFM table, which records its time "
            f"unit as {meta['time_unit']!r}; omit time_unit="
        )
    try:
        end_day = pd.Timestamp(str(end)).normalize()
    except (TypeError, ValueError):
        raise ArgumentError(
            f"calibration_end must be a date such as '1997-09-30', got {end!r}"
        ) from None
    days = np.rint(table["T"].to_numpy(dtype=float) * days_per_unit(normalize_unit(unit)))
    first = end_day - pd.to_timedelta(days, unit="D")
    labels = pd.PeriodIndex(first, freq=_COHORT_PERIODS[period]).astype(str)
    return pd.Series(labels, index=rfm.index, name="cohort")


def _labels(
    rfm: pd.DataFrame, by: str | pd.Series, time_unit: str | None = None
) -> tuple[str, pd.Series]:
    """The group of each customer of ``rfm`` and the name of what it is. A Series is
    joined on the ids' one text form (:mod:`clvlab.data.ids`), as exports join them, so
    ids read as text (``"7"``) find the customers of an integer index (``7``)."""
    if isinstance(by, pd.Series):
        name = str(by.name) if by.name is not None else "group"
        keys = pd.Index(id_texts(by.index))
        if keys.has_duplicates:
            duplicated = keys.duplicated()
            raise DataValidationError(
                name,
                "gives more than one group to a customer id",
                int(duplicated.sum()),
                examples=list(by.index[duplicated].unique()[:5]),
                hint="give each customer one group (drop_duplicates on the id)",
            )
        labels = pd.Series(by.array, index=keys).reindex(id_texts(rfm.index))
        labels.index = rfm.index
    elif isinstance(by, str):
        if by in rfm.columns:
            name, labels = by, rfm[by]
        elif by == "cohort":
            return "cohort", acquisition_cohorts(rfm, time_unit=time_unit)
        else:
            raise ArgumentError(
                f"group column {by!r} is not in the RFM table (columns: "
                f"{', '.join(map(str, rfm.columns))}); add it by joining the customer "
                "attribute on the id, pass it as a Series indexed by customer id, or use "
                "by='cohort' for the acquisition month"
            )
    else:
        raise ArgumentError(
            f"by must be a column name, 'cohort' or a Series indexed by customer id, got "
            f"{type(by).__name__}"
        )
    missing = labels.isna().to_numpy()
    if missing.any():
        raise DataValidationError(
            name,
            "has no group for some customers",
            int(missing.sum()),
            examples=list(rfm.index[missing][:5]),
            hint="give every customer a group, e.g. .fillna('unknown')",
        )
    return name, labels


def compare_groups(
    purchase: PurchasePredictions,
    spend: SpendPredictions,
    rfm: pd.DataFrame,
    by: str | pd.Series = "cohort",
    *,
    reference: Any = None,
    horizon: float = 12.0,
    unit: str = "M",
    discount_rate: float = 0.0,
    margin: float = 1.0,
    time_unit: str | None = None,
    sampling: bool = True,
    seed: int | None = 0,
    ci_prob: float | None = None,
    kind: IntervalKind | None = None,
) -> GroupComparison:
    """CLV, expected purchases, P(alive) and spend per group, with intervals, and each
    group's difference from a reference group on paired draws.

    Parameters
    ----------
    purchase, spend, rfm, horizon, unit, discount_rate, margin, time_unit
        As for :func:`clvlab.clv`.
    by
        A column of ``rfm``, a Series of group labels indexed by customer id (extra ids
        are ignored; every customer needs a group), or ``"cohort"``: the month of the
        first purchase (:func:`acquisition_cohorts`).
    reference
        The group the others are compared with; the largest group when omitted.
    sampling
        Whether the intervals of the group means and of their differences also hold
        the chance in which customers each group happened to get (default). Each
        group's customers are then a sample of the customers it brings, and each draw
        of a group mean gets the sampling error of a mean, ``N(0, s^2 / n)`` with ``s``
        the standard deviation of the per-customer values in the group at the
        parameters' estimate (the central limit theorem; groups of one customer get
        none). Without it, the intervals describe these customers only: with thousands
        of customers per group the parameters are well known, so even channels assigned
        at random would then look different. Totals are about these customers and
        never get the sampling term.
    seed
        Seed of the sampling term.

    Returns
    -------
    GroupComparison
        Per group and draw ``j``: ``clv_total = sum_i CLV_ij`` over the group's
        customers, the means of CLV, of the expected purchases over the horizon
        (E[Y(t) | history], FHL 2005 eq. 10), of P(alive) and of the expected spend per
        purchase (Fader & Hardie 2013 eq. 5); estimates are plug-in values at the MLE
        (so a group total is the sum of its customers' :func:`clvlab.clv` estimates) or
        posterior means. A difference is computed draw by draw, so the uncertainty the
        groups share (the same parameters) cancels.

    Notes
    -----
    This compares the customers each group holds, not the causal effect of a campaign
    or channel on them.
    """
    value = CustomerValue(
        purchase,
        spend,
        rfm,
        horizon=horizon,
        unit=unit,
        discount_rate=discount_rate,
        margin=margin,
        time_unit=time_unit,
        caller="compare_groups",
    )
    ci, ik = value.interval_settings(ci_prob, kind)
    name, labels = _labels(rfm, by, value.time_unit)
    labels = labels.reindex(value.table.index)
    try:
        codes, groups = pd.factorize(labels, sort=True)
    except TypeError:  # labels of types that do not order (numbers and text)
        codes, groups = pd.factorize(labels, sort=False)
    clashes = colliding_ids(np.asarray(list(groups), dtype=object))
    if clashes:
        a, b = clashes[0]
        clashing = pd.Index(id_texts(np.asarray(list(groups), dtype=object))).duplicated(False)
        affected = np.isin(codes, np.flatnonzero(clashing))
        raise DataValidationError(
            name,
            f"has different groups with the same text form ({a!r} and {b!r}), which "
            "exports and BI tools would merge",
            int(affected.sum()),
            examples=list(value.table.index[affected][:5]),
            hint="give the groups one type, e.g. .astype(str)",
        )
    n_groups = len(groups)
    counts = np.bincount(codes, minlength=n_groups).astype(float)
    if reference is None:
        ref = int(np.argmax(counts))
    else:
        found = [i for i, g in enumerate(groups) if id_text(g) == id_text(reference)]
        if not found:
            raise ArgumentError(
                f"reference group {reference!r} is not among the groups of {name!r} "
                f"({', '.join(map(str, list(groups)[:10]))}); pass one of them"
            )
        ref = found[0]
    # sums per draw over each group's customers, one term per distinct history
    # (clvlab.decisions.folded): exactly the per-customer sums
    folded = FoldedSums(value, codes, n_groups)
    sums = {label: folded.group_sums(p) for label, p in value.parameter_sets()}

    def metric_draws(s: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {
            "clv_total": s["clv"],
            "clv_mean": s["clv"] / counts,
            "purchases_mean": s["purchases"] / counts,
            "probability_alive_mean": s["alive"] / counts,
            "spend_mean": s["spend"] / counts,
        }

    draws = metric_draws(sums["draws"])
    point = metric_draws(sums["point"]) if "point" in sums else None
    if not isinstance(sampling, bool | np.bool_):
        raise ArgumentError(f"sampling must be True or False, got {sampling!r}")
    if sampling:
        rng = np.random.default_rng(None if seed is None else check_count("seed", seed, minimum=0))
        for metric, se in _standard_errors(value, codes, n_groups).items():
            draws[metric] = draws[metric] + rng.standard_normal(draws[metric].shape) * se
    columns: dict[str, Any] = {"customers": counts.astype(np.int64), "share": counts / counts.sum()}
    for metric in GROUP_METRICS:
        columns.update(
            summarise(draws[metric], None if point is None else point[metric][0], ci, ik).columns(
                metric
            )
        )
    index = pd.Index(list(groups), name="group")
    table = pd.DataFrame(columns, index=index)

    rows = []
    for g in range(n_groups):
        if g == ref:
            continue
        for metric in DIFFERENCE_METRICS:
            diff = draws[metric][:, g] - draws[metric][:, ref]
            pt = None if point is None else point[metric][0, g] - point[metric][0, ref]
            s = summarise(diff[:, None], None if pt is None else np.array([pt]), ci, ik)
            rows.append(
                {
                    "group": groups[g],
                    "reference": groups[ref],
                    "metric": metric,
                    "estimate": float(s.estimate[0]),
                    "lower": float(s.lower[0]),
                    "upper": float(s.upper[0]),
                    "p_greater": float(np.mean(diff > 0)),
                }
            )
    differences = pd.DataFrame(
        rows, columns=["group", "reference", "metric", "estimate", "lower", "upper", "p_greater"]
    )
    settings = {
        **value.meta,
        "quantity": "groups",
        "by": name,
        "reference": groups[ref],
        "ci_prob": ci,
        "interval": ik,
        "estimate": "plug-in at the MLE" if point is not None else "posterior mean",
        "sampling": bool(sampling),
        "seed": seed,
        "note": "compares customers, not the causal effect of a campaign",
    }
    table.attrs["clvlab"] = settings
    differences.attrs["clvlab"] = settings
    return GroupComparison(table, differences, settings)


def _standard_errors(
    value: CustomerValue, codes: np.ndarray, n_groups: int
) -> dict[str, np.ndarray]:
    """The standard error ``s / sqrt(n)`` of each group's mean of every per-customer
    metric, from the values at the parameters' estimate (the plug-in values of an MLE
    fit, else the posterior means); 0 for groups of one customer."""
    p = value.point or {k: float(np.mean(v)) for k, v in value.draws.items()}
    one = {k: np.full((1, 1), v) for k, v in p.items()}
    every = slice(0, value.n_customers)
    alive = value.alive(one, every)
    spend = value.spend_per_purchase(one, every)
    per_customer = {
        "clv_mean": value.clv(one, every, alive, spend)[0],
        "purchases_mean": value.purchases(one, every, alive)[0],
        "probability_alive_mean": alive[0],
        "spend_mean": spend[0],
    }
    n = np.bincount(codes, minlength=n_groups).astype(float)
    out = {}
    for metric, values in per_customer.items():
        mean = np.bincount(codes, weights=values, minlength=n_groups) / n
        squares = np.bincount(codes, weights=(values - mean[codes]) ** 2, minlength=n_groups)
        variance = np.where(n > 1, squares / np.maximum(n - 1, 1), 0.0)
        out[metric] = np.sqrt(variance / n)
    return out


def group_texts(groups: Sequence[Any]) -> list[str]:
    """Group labels in their export text form (ids' one text form)."""
    return list(id_texts(np.asarray(list(groups), dtype=object)))
