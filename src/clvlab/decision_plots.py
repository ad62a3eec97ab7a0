"""Plots of the decision tables (matplotlib). Results go in, an Axes comes out.

Each function draws a table that a function of :mod:`clvlab.decisions` computed (named in
its docstring), on ``ax`` or on a new figure when ``ax`` is None, and never fits or
predicts. What is drawn is the table's values, unchanged, with the interval level the
table records (``ci_prob`` and kind). As in :mod:`clvlab.plots`:

- a table of another kind (its ``attrs["clvlab"]["quantity"]`` names another table, or
  it lacks the columns this plot draws) or a wrong argument is refused with an
  :class:`~clvlab.errors.ArgumentError` that names the table expected;
- a table of the right kind that cannot be drawn truthfully (no rows, a NaN or infinite
  value, a probability outside [0, 1], an interval whose lower bound lies above its
  upper bound) is refused with a :class:`~clvlab.errors.DataValidationError` naming the
  column and the rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from clvlab import _plot_checks as _base
from clvlab.data.ids import id_text, id_texts
from clvlab.errors import ArgumentError, DataValidationError
from clvlab.units import _UNIT_NAMES

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from clvlab.decisions.groups import GroupComparison

__all__ = ["plot_acquisition", "plot_forecast", "plot_groups", "plot_segments"]

#: The plot of each decision table kind (``attrs["clvlab"]["quantity"]``), to redirect a
#: table given to the wrong plot.
_DRAWN_BY = {
    "forecast": "plot_forecast",
    "segments": "plot_segments",
    "groups": "plot_groups",
    "new_customer_value": "plot_acquisition",
    "acquisition": "plot_acquisition (as its cac= argument)",
}

#: What each group metric measures, for the axis label (``{h}``: the horizon in words).
_GROUP_LABELS = {
    "clv_total": "total CLV of the group over {h}",
    "clv_mean": "mean CLV per customer over {h}",
    "purchases_mean": "mean expected purchases per customer over {h}",
    "probability_alive_mean": "mean P(alive) per customer",
    "spend_mean": "mean expected spend per purchase",
}


# ---- checks ---------------------------------------------------------------------------
def _frame(
    value: Any, plot: str, source: str, quantity: str, columns: Sequence[str]
) -> pd.DataFrame:
    """``value`` as a non-empty table of kind ``quantity`` with ``columns``; an
    :class:`ArgumentError` naming the expected table for another kind of table."""
    if not isinstance(value, pd.DataFrame):
        raise ArgumentError(
            f"{plot} draws the table returned by {source}, got {type(value).__name__}"
        )
    recorded = _base._meta(value).get("quantity")
    if recorded is not None and recorded != quantity:
        where = _DRAWN_BY.get(recorded) or _base._PLOT_OF.get(recorded)
        drawn = f", which is drawn by clvlab.plots.{where}" if where else ""
        raise ArgumentError(
            f"{plot} was given a {recorded!r} table{drawn}; pass the table returned by {source}"
        )
    missing = [c for c in columns if c not in value.columns]
    if missing:
        raise ArgumentError(
            f"{plot} draws the table returned by {source}, with the columns {list(columns)}; "
            f"the table given lacks {missing} (it has {[str(c) for c in value.columns][:12]})"
        )
    return _base._table(value, plot, source, columns)


def _probabilities(frame: pd.DataFrame, column: str, *, source: str) -> np.ndarray:
    """A column of probabilities: finite and in [0, 1]."""
    return _base._fractions(
        frame,
        column,
        source=source,
        label="customer ids",
        rule="is a probability above 1, which cannot be plotted as a result",
    )


def _choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ArgumentError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return value


def _unit_words(unit: Any) -> str:
    """``"months"`` for ``"M"``; ``"periods"`` when the table records no unit."""
    return _UNIT_NAMES.get(unit, str(unit)) if isinstance(unit, str) and unit else "periods"


def _singular(unit: Any) -> str:
    return _unit_words(unit).removesuffix("s")


def _horizon_words(meta: Mapping[str, Any]) -> str:
    """``"12 months"`` from a table's recorded horizon and unit."""
    horizon = meta.get("horizon")
    words = _unit_words(meta.get("unit"))
    return f"{horizon:g} {words}" if isinstance(horizon, int | float) else f"the horizon ({words})"


def _predictive_level(meta: Mapping[str, Any]) -> str:
    """The level of the forecast's predictive interval, always equal-tailed."""
    return _base._level(dict(meta), "eti").replace("interval", "predictive interval")


# ---- plots ----------------------------------------------------------------------------
def plot_forecast(
    forecast: pd.DataFrame, *, metric: str = "revenue", ax: Axes | None = None
) -> Axes:
    """Revenue (or purchases) of the customer base per future period, from
    :func:`clvlab.revenue_forecast`: the estimate, the interval of the expected value
    over the parameter draws and, when the table has it, the wider predictive interval
    of the realised value.

    Parameters
    ----------
    forecast
        The table returned by :func:`clvlab.revenue_forecast`.
    metric
        ``"revenue"`` (default, in the currency of the spend) or ``"purchases"``.
    ax
        The Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The predictive band (if any) is ``ax.collections[0]``, the expected-value band
        the next one, the estimate ``ax.lines[0]``, all at ``x = period``.

    Raises
    ------
    ArgumentError
        ``forecast`` is not a forecast table; ``metric`` is not one of the two; ``ax``
        is not an Axes.
    DataValidationError
        No periods, a NaN, infinite or negative value, or an inverted interval.
    """
    source = "clvlab.revenue_forecast(purchase, spend, rfm)"
    plot = "plot_forecast"
    metric = _choice("metric", metric, ("revenue", "purchases"))
    _base._check_ax(ax)
    columns = ["period", *(f"{metric}_{c}" for c in ("estimate", "lower", "upper"))]
    table = _frame(forecast, plot, source, "forecast", columns)
    predictive = [f"{metric}_pred_lower", f"{metric}_pred_upper"]
    has_predictive = all(c in table.columns for c in predictive)
    drawn = columns[1:] + (predictive if has_predictive else [])
    values = {
        c: _base._numbers(table, c, source=source, label="rows", nonnegative=True) for c in drawn
    }
    period = _base._numbers(table, "period", source=source, label="rows")
    _base._ordered(table, columns[2], columns[3], source=source, label="rows")
    if has_predictive:
        _base._ordered(table, *predictive, source=source, label="rows")
    meta = _base._meta(table)
    unit = _singular(meta.get("unit"))
    ax = _base._axes(ax, (8.0, 4.5))
    if has_predictive:
        ax.fill_between(
            period,
            values[predictive[0]],
            values[predictive[1]],
            color="C0",
            alpha=0.15,
            label=f"{_predictive_level(meta)} (realised {metric})",
        )
    ax.fill_between(
        period,
        values[columns[2]],
        values[columns[3]],
        color="C0",
        alpha=0.4,
        label=f"{_base._level(meta)} of the expected {metric}",
    )
    ax.plot(period, values[columns[1]], "o-", color="C0", label="estimate")
    ax.set_xticks(period, [f"{p:g}" for p in period])
    ax.set_xlabel(f"{_unit_words(meta.get('unit'))} after the end of calibration")
    what = "revenue (currency of the spend)" if metric == "revenue" else "repeat purchases"
    ax.set_ylabel(f"{what} per {unit}")
    new = meta.get("new_customers")
    base = "existing customers" + (" and new customers" if new is not None else "")
    ax.set_title(f"{metric.capitalize()} forecast per {unit}: {base}")
    ax.set_ylim(bottom=0)
    ax.legend()
    return ax


def _tier_names(table: pd.DataFrame, source: str) -> list[str]:
    """The tier labels, lowest first: recorded by :func:`clvlab.value_segments`, or the
    categories of the ``tier`` column."""
    recorded = _base._meta(table).get("tiers")
    if isinstance(recorded, list | tuple) and all(isinstance(t, str) for t in recorded):
        names = list(recorded)
    elif isinstance(table["tier"].dtype, pd.CategoricalDtype):
        names = [str(c) for c in table["tier"].cat.categories]
    else:
        raise ArgumentError(
            "plot_segments cannot tell the tiers' order: the table records no tiers and its "
            f"'tier' column is not categorical; pass the table returned by {source}"
        )
    missing = [f"p_{t}" for t in names if f"p_{t}" not in table.columns]
    if missing:
        raise ArgumentError(
            f"plot_segments draws the table returned by {source}, with one p_<tier> column "
            f"per tier; the table given lacks {missing}"
        )
    tiers = table["tier"].astype(object)
    unknown = tiers.isna().to_numpy() | ~tiers.isin(names).to_numpy()
    if unknown.any():
        raise DataValidationError(
            "tier",
            f"is missing or not one of the tiers {names}",
            int(unknown.sum()),
            table.index[unknown][:5],
            hint=f"recompute the table with {source}",
            example_label="customer ids",
        )
    return names


def plot_segments(segments: pd.DataFrame, *, kind: str = "rank", ax: Axes | None = None) -> Axes:
    """How certain each customer's value tier is, from :func:`clvlab.value_segments`.

    ``kind="rank"`` (default): the customers ranked by their CLV estimate (1 = highest)
    against the probability of belonging to the tier of their estimate
    (``tier_probability``), one colour per tier, with the tiers' edges marked. A point
    well below 1 in the top tier is a "top customer" by estimate who may well not be one.

    ``kind="tiers"``: for the customers of each tier of the estimate, the mean
    probability of each tier (the means of the ``p_<tier>`` columns), stacked to 1.

    Parameters
    ----------
    segments
        The table returned by :func:`clvlab.value_segments` (any ``uncertainty``).
    kind
        ``"rank"`` or ``"tiers"``.
    ax
        The Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        With ``kind="rank"``, ``ax.collections[k]`` holds the points of the ``k``-th
        tier present, from the highest tier down; with ``"tiers"``, ``ax.patches`` the
        bars, tier component by component.

    Raises
    ------
    ArgumentError
        ``segments`` is not a segments table; ``kind`` is unknown; ``ax`` not an Axes.
    DataValidationError
        No customers, a NaN or infinite CLV, a probability outside [0, 1], a tier that is
        missing or unknown, or tiers that do not follow the order of the CLV estimates.
    """
    source = "clvlab.value_segments(purchase, spend, rfm)"
    plot = "plot_segments"
    kind = _choice("kind", kind, ("rank", "tiers"))
    _base._check_ax(ax)
    table = _frame(segments, plot, source, "segments", ("clv_estimate", "tier", "tier_probability"))
    names = _tier_names(table, source)
    estimate = _base._numbers(table, "clv_estimate", source=source, label="customer ids")
    own = _probabilities(table, "tier_probability", source=source)
    p = {t: _probabilities(table, f"p_{t}", source=source) for t in names}
    code = pd.Categorical(table["tier"].astype(object), categories=names).codes
    order = np.argsort(-estimate, kind="stable")
    if np.any(np.diff(code[order]) > 0):
        raise DataValidationError(
            "tier",
            "does not follow the order of clv_estimate: a customer with a higher estimate "
            "has a lower tier",
            hint=f"recompute the table with {source}",
        )
    meta = _base._meta(table)
    uncertainty = meta.get("uncertainty", "the table's")
    horizon = _horizon_words(meta)
    present = [k for k in range(len(names) - 1, -1, -1) if np.any(code == k)]
    if kind == "rank":
        ax = _base._axes(ax, (8.0, 4.5))
        rank = np.empty(len(order), dtype=float)
        rank[order] = np.arange(1, len(order) + 1)
        for k in present:
            mine = code == k
            ax.scatter(
                rank[mine],
                own[mine],
                s=6,
                color=f"C{len(names) - 1 - k}",
                alpha=0.6,
                label=f"{names[k]}: {int(mine.sum()):,} customers, mean {own[mine].mean():.2f}",
                rasterized=True,
            )
        for k in present[:-1]:  # the edge below each tier but the lowest present
            edge = float(rank[code == k].max()) + 0.5
            ax.axvline(edge, color="grey", linestyle=":")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(f"customers ranked by CLV estimate over {horizon} (1 = highest)")
        ax.set_ylabel("probability of the tier of the estimate")
        top = present[0]
        ax.set_title(
            f"How sure is each customer's tier? ({uncertainty} uncertainty)\nmean "
            f"probability of their own tier in {names[top]}: {own[code == top].mean():.2f}"
        )
        ax.legend(loc="lower right", markerscale=3)
        return ax
    ax = _base._axes(ax, (7.0, 4.5))
    pos = np.arange(len(present), dtype=float)
    bottom = np.zeros(len(present))
    for j, t in enumerate(reversed(names)):  # the highest tier's share at the bottom
        heights = np.array([p[t][code == k].mean() for k in present])
        ax.bar(pos, heights, bottom=bottom, color=f"C{j}", label=f"P({t})")
        bottom += heights
    ticks = [f"{names[k]}\n({int(np.sum(code == k)):,})" for k in present]
    ax.set_xticks(pos, ticks)
    ax.set_ylim(0, 1.0)
    ax.set_xlabel(f"tier of the CLV estimate over {horizon} (customers)")
    ax.set_ylabel("mean probability of each tier")
    ax.set_title(f"Tier probabilities per tier of the estimate ({uncertainty} uncertainty)")
    ax.legend(loc="upper right", fontsize=8)
    return ax


def plot_groups(
    comparison: GroupComparison | pd.DataFrame,
    *,
    metric: str = "clv_mean",
    differences: bool = False,
    ax: Axes | None = None,
) -> Axes:
    """One metric per group with its interval, from :func:`clvlab.compare_groups`; the
    reference group is marked.

    With ``differences=True`` the plot shows each group's difference from the reference
    instead (``comparison.differences``), whose interval is computed on paired draws: the
    uncertainty the groups share cancels, so it is narrower than two overlapping
    intervals suggest. Either way this compares customers, not the causal effect of a
    campaign or channel.

    Parameters
    ----------
    comparison
        The :class:`~clvlab.decisions.groups.GroupComparison` returned by
        :func:`clvlab.compare_groups`, or its ``groups`` table.
    metric
        One of ``clv_total``, ``clv_mean`` (default), ``purchases_mean``,
        ``probability_alive_mean``, ``spend_mean`` (differences: all but ``clv_total``).
    differences
        Draw the differences from the reference (needs the whole GroupComparison).
    ax
        The Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        Groups from the top down in the table's order: the estimates are
        ``ax.lines[0]``, the intervals ``ax.collections[0]``, the reference's estimate
        (or 0 for differences) the vertical line ``ax.lines[1]``.

    Raises
    ------
    ArgumentError
        ``comparison`` is neither; ``metric`` is unknown (or has no differences);
        ``differences`` is not a bool or was asked of a bare table; ``ax`` not an Axes.
    DataValidationError
        No groups, a NaN or infinite value, or an inverted interval.
    """
    from clvlab.decisions.groups import DIFFERENCE_METRICS, GROUP_METRICS, GroupComparison

    source = "clvlab.compare_groups(purchase, spend, rfm, by=...)"
    plot = "plot_groups"
    differences = _base._check_flag("differences", differences)
    allowed = DIFFERENCE_METRICS if differences else GROUP_METRICS
    metric = _choice("metric", metric, allowed)
    _base._check_ax(ax)
    if isinstance(comparison, GroupComparison):
        groups_table, diff_table = comparison.groups, comparison.differences
        meta = {**_base._meta(groups_table), **comparison.settings}
    elif isinstance(comparison, pd.DataFrame):
        groups_table, diff_table, meta = comparison, None, _base._meta(comparison)
    else:
        raise ArgumentError(
            f"{plot} draws the GroupComparison returned by {source} (or its .groups table), "
            f"got {type(comparison).__name__}"
        )
    by = str(meta.get("by", "group"))
    reference = meta.get("reference")
    level = _base._level(meta)
    horizon = _horizon_words(meta)
    label = _GROUP_LABELS[metric].format(h=horizon)
    if differences:
        if diff_table is None:
            raise ArgumentError(
                f"{plot}(differences=True) needs the whole GroupComparison returned by "
                f"{source}, not its groups table"
            )
        columns = ("group", "reference", "metric", "estimate", "lower", "upper", "p_greater")
        diff = _frame(diff_table, plot, source, "groups", columns)
        table = diff.loc[(diff["metric"] == metric).to_numpy()].set_index("group")
        if len(table) == 0:
            raise DataValidationError(
                "metric",
                f"has no row for {metric!r}: there is no difference to plot (one group only?)",
                hint=f"compare at least two groups with {source}",
            )
        low, high, est = "lower", "upper", "estimate"
        centre = 0.0
        names = [
            f"{g}  P(> ref) {q:.2f}"
            for g, q in zip(id_texts(table.index), table["p_greater"], strict=True)
        ]
        xlabel = f"difference from {reference!s} in {label}, {level}"
        line_label = f"no difference from the reference {reference!s}"
        title = f"{label[:1].upper()}{label[1:]}: difference from {reference!s}, on paired draws"
    else:
        cols = [f"{metric}_{c}" for c in ("estimate", "lower", "upper")]
        table = _frame(groups_table, plot, source, "groups", cols)
        est, low, high = cols
        texts = list(id_texts(table.index))
        ref_text = None if reference is None else id_text(reference)
        names = [f"{t} (reference)" if t == ref_text else t for t in texts]
        if ref_text is None or ref_text not in texts:
            raise DataValidationError(
                "reference",
                f"{reference!r} is not among the groups of the table ({texts[:10]})",
                hint=f"recompute the comparison with {source}",
            )
        centre = float(table[est].to_numpy(dtype=float)[texts.index(ref_text)])
        xlabel = f"{label}, estimate and {level}"
        line_label = f"reference {ref_text}: {centre:,.3g}"
        title = f"{label[:1].upper()}{label[1:]} by {by}"
    values = {c: _base._numbers(table, c, source=source, label="groups") for c in (est, low, high)}
    _base._ordered(table, low, high, source=source, label="groups")
    ax = _base._axes(ax, (7.5, 0.45 * len(table) + 2.0))
    pos = np.arange(len(table), dtype=float)[::-1]  # the table's first group at the top
    ax.plot(values[est], pos, "o", color="C0", label="estimate")
    ax.hlines(pos, values[low], values[high], color="C0", label=level)
    ax.axvline(centre, color="grey", linestyle=":", label=line_label)
    ax.set_yticks(pos, names)
    ax.set_ylim(-0.7, len(table) - 0.3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(by)
    ax.set_title(f"{title}\n(compares customers, not the causal effect of a campaign)")
    ax.legend(fontsize=8)
    return ax


def plot_acquisition(
    value_table: pd.DataFrame,
    *,
    cac: float | Mapping[Any, float] | pd.Series | pd.DataFrame | None = None,
    ax: Axes | None = None,
) -> Axes:
    """The cumulative value of one newly acquired customer per period with its interval,
    from :func:`clvlab.new_customer_value`, against the acquisition cost.

    Parameters
    ----------
    value_table
        The table returned by :func:`clvlab.new_customer_value`.
    cac
        ``None``; one CAC or a mapping (or Series) of group -> CAC, drawn as horizontal
        lines (the value curve crosses a line at the payback period); or the table
        returned by :func:`clvlab.acquisition` for the same horizon, which adds each
        group's payback period as a marker at its CAC with its interval (a payback beyond
        the horizon is marked ``>``).
    ax
        The Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The band is ``ax.collections[0]``, the estimate ``ax.lines[0]``, then one
        horizontal line per CAC; with an acquisition table, the payback intervals are
        ``ax.collections[1]`` and the payback markers the lines after the CAC lines.

    Raises
    ------
    ArgumentError
        ``value_table`` is not a new-customer value table; ``cac`` is not a number > 0, a
        mapping, a Series or an acquisition table, or that table was computed for another
        horizon or unit; ``ax`` is not an Axes.
    DataValidationError
        No periods, a NaN, infinite or negative value, an inverted interval, or a CAC that
        is not finite and > 0.
    """
    from clvlab.decisions.acquisition import _cac_input

    source = "clvlab.new_customer_value(purchase, spend)"
    acq_source = "clvlab.acquisition(purchase, spend, cac)"
    plot = "plot_acquisition"
    _base._check_ax(ax)
    if (
        isinstance(value_table, pd.DataFrame)
        and _base._meta(value_table).get("quantity") == "acquisition"
    ):
        raise ArgumentError(
            f"{plot} draws the table returned by {source}; the table of {acq_source} goes "
            "in its cac= argument"
        )
    columns = ("period", "value_estimate", "value_lower", "value_upper")
    table = _frame(value_table, plot, source, "new_customer_value", columns)
    values = {
        c: _base._numbers(table, c, source=source, label="rows", nonnegative=True)
        for c in columns[1:]
    }
    period = _base._numbers(table, "period", source=source, label="rows")
    _base._ordered(table, "value_lower", "value_upper", source=source, label="rows")
    meta = _base._meta(table)
    unit = meta.get("unit")
    payback: pd.DataFrame | None = None
    if isinstance(cac, pd.DataFrame) and _base._meta(cac).get("quantity") == "acquisition":
        payback = _payback_table(cac, meta, len(table), acq_source)
        costs = pd.DataFrame({"group": id_texts(payback.index), "cac": payback["cac"]})
    elif cac is not None:
        costs = _cac_input(cac)
    ax = _base._axes(ax, (8.0, 4.5))
    level = _base._level(meta)
    ax.fill_between(
        period, values["value_lower"], values["value_upper"], color="C0", alpha=0.3, label=level
    )
    ax.plot(period, values["value_estimate"], "o-", color="C0", label="value estimate")
    if cac is not None:
        for j, (group, cost) in enumerate(zip(costs["group"], costs["cac"], strict=True)):
            name = "CAC" if group == "all" and len(costs) == 1 else f"CAC {group}"
            ax.axhline(float(cost), color=f"C{j + 1}", linestyle="--", label=f"{name}: {cost:,.2f}")
    if payback is not None:
        _draw_payback(ax, payback, f"{len(table)} {_unit_words(unit)}")
    unit_words = _unit_words(unit)
    ax.set_xticks(period, [f"{p:g}" for p in period])
    ax.set_xlabel(f"{unit_words} since acquisition")
    margin = meta.get("margin")
    rate = meta.get("discount_rate")
    parts = []
    if isinstance(margin, int | float) and margin != 1:
        parts.append(f"margin {margin:g}")
    if isinstance(rate, int | float) and rate != 0:
        parts.append(f"discounted at {rate:g} per {_singular(unit)}")
    extra = f" ({', '.join(parts)})" if parts else ""
    ax.set_ylabel(f"cumulative value of one new customer{extra}")
    ax.set_title(f"Value of a new customer over {_horizon_words(meta)}: the ceiling for CAC")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    return ax


def _payback_table(
    cac: pd.DataFrame, meta: Mapping[str, Any], n_periods: int, source: str
) -> pd.DataFrame:
    """The acquisition table, checked against the new-customer value table it is drawn
    with (same horizon, unit and number of periods) and for drawable paybacks."""
    columns = (
        "cac",
        "payback_estimate",
        "payback_lower",
        "payback_upper",
        "payback_estimate_censored",
    )
    table = _frame(cac, "plot_acquisition", source, "acquisition", columns)
    own = _base._meta(table)
    for key in ("horizon", "unit", "discount_rate", "margin"):
        if own.get(key) != meta.get(key):
            raise ArgumentError(
                f"the acquisition table was computed with {key}={own.get(key)!r}, the "
                f"new-customer value table with {key}={meta.get(key)!r}; compute both with "
                "the same horizon, unit, discount_rate and margin"
            )
    if own.get("periods", n_periods) != n_periods:
        raise ArgumentError(
            f"the acquisition table counts {own.get('periods')} periods, the new-customer "
            f"value table {n_periods}; compute both with the same horizon"
        )
    cost = _base._numbers(table, "cac", source=source, label="groups")
    if np.any(cost <= 0):
        raise DataValidationError(
            "cac", "must be > 0", int(np.sum(cost <= 0)), hint=f"use {source}"
        )
    for c in ("payback_estimate", "payback_lower", "payback_upper"):
        values = _base._numbers(table, c, source=source, label="groups")
        outside = (values < 1) | (values > n_periods)
        if outside.any():
            raise DataValidationError(
                c,
                f"lies outside the periods 1..{n_periods}",
                int(outside.sum()),
                table.index[outside][:5],
                hint=f"recompute the table with {source}",
                example_label="groups",
            )
    _base._ordered(table, "payback_lower", "payback_upper", source=source, label="groups")
    return table


def _draw_payback(ax: Axes, table: pd.DataFrame, horizon: str) -> None:
    """Each group's payback period at its CAC: the interval as a segment, the estimate
    as a marker (``>`` when it lies beyond the horizon)."""
    cost = table["cac"].to_numpy(dtype=float)
    ax.hlines(
        cost,
        table["payback_lower"].to_numpy(dtype=float),
        table["payback_upper"].to_numpy(dtype=float),
        colors=[f"C{j + 1}" for j in range(len(table))],
        linewidth=5,
        alpha=0.5,
        label="payback period interval",
    )
    censored = table["payback_estimate_censored"].to_numpy(dtype=bool)
    labels = {
        False: "payback estimate (value reaches the CAC)",
        True: f"payback beyond the horizon (> {horizon})",
    }
    for j, (x, y, beyond) in enumerate(
        zip(table["payback_estimate"].to_numpy(dtype=float), cost, censored, strict=True)
    ):
        ax.plot(
            [x],
            [y],
            ">" if beyond else "D",
            color=f"C{j + 1}",
            markeredgecolor="black",
            label=labels.pop(bool(beyond), None),  # each kind in the legend once
        )
