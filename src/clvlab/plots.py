"""Diagnostic plots (matplotlib). Results go in, an Axes comes out.

A plot never fits or predicts: each function draws a table that another clvlab function
computed (named in its docstring), on ``ax`` or on a new figure when ``ax`` is None. What
is drawn is the table's values, unchanged: a table that cannot be drawn truthfully (a
missing column, no rows, a NaN or infinite value, an interval whose lower bound lies above
its upper bound) is refused with a :class:`~clvlab.errors.DataValidationError` naming the
column and the rows, and a wrong argument (not a clvlab result, not a matplotlib Axes, a
count ``n`` below 1) with an :class:`~clvlab.errors.ArgumentError`.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from clvlab._imports import import_quietly
from clvlab._plot_checks import (
    _axes,
    _check_ax,
    _check_flag,
    _even_edges,
    _level,
    _meta,
    _numbers,
    _ordered,
    _table,
    _unit,
)
from clvlab.arguments import check_count
from clvlab.data.ids import id_texts

# the plots of the decision tables (clvlab.decisions), drawn by the same rules
from clvlab.decision_plots import (
    plot_acquisition,
    plot_forecast,
    plot_groups,
    plot_segments,
)
from clvlab.errors import ArgumentError, DataValidationError

# the survival and retention of a contract (clvlab.ShiftedBetaGeo)
from clvlab.retention_plots import plot_survival
from clvlab.units import _UNIT_NAMES

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from clvlab.evaluate.holdout import Evaluation
    from clvlab.models.base import BaseModel
    from clvlab.predict.table import CustomerPredictions

__all__ = [
    "plot_acquisition",
    "plot_calibration_holdout",
    "plot_clv_distribution",
    "plot_comparison",
    "plot_forecast",
    "plot_frequency_check",
    "plot_frequency_recency",
    "plot_groups",
    "plot_parameters",
    "plot_segments",
    "plot_survival",
    "plot_top_customers",
    "plot_tracking",
]


# ---- plots ----------------------------------------------------------------------------
def plot_frequency_recency(matrix: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Heat map of :func:`clvlab.frequency_recency_matrix`.

    Cell ``(i, j)`` is drawn centred on frequency ``matrix.index[i]`` and recency
    ``matrix.columns[j]``. Empty cells (NaN) are allowed only where the grid has them on
    purpose, in the cells no customer can be in: frequency 0 with a recency above 0, and
    a frequency above 0 with recency 0.

    Raises
    ------
    ArgumentError
        ``matrix`` is not a DataFrame, or is another clvlab table; ``ax`` is not an Axes.
    DataValidationError
        No cells; labels that are not numbers in equal increasing steps; a NaN in a
        possible cell, an infinite or negative value, or a P(alive) above 1.
    """
    source = "clvlab.frequency_recency_matrix(model, T=...)"
    plot = "plot_frequency_recency"
    _check_ax(ax)
    matrix = _table(
        matrix, plot, source, (), quantities=("expected_purchases", "probability_alive")
    )
    if matrix.shape[1] == 0:
        raise DataValidationError(
            "recency", "the matrix has no columns: there is nothing to plot", hint=f"use {source}"
        )
    labels = {}
    for name, axis in (("frequency", matrix.index), ("recency", matrix.columns)):
        try:
            labels[name] = np.asarray(axis, dtype=float)
        except (TypeError, ValueError) as exc:
            raise DataValidationError(
                name,
                f"labels must be numbers (got {list(axis[:4])})",
                hint=f"build the grid with {source}",
            ) from exc
        if not np.all(np.isfinite(labels[name])):
            raise DataValidationError(name, "labels must be finite", hint=f"use {source}")
    frequency, recency = labels["frequency"], labels["recency"]
    x_edges = _even_edges(recency, "recency", source)
    y_edges = _even_edges(frequency, "frequency", source)
    try:
        values = matrix.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(
            "cells", "hold values that are not numbers", hint=f"use {source}"
        ) from exc
    meta = _meta(matrix)
    quantity = meta.get("quantity")
    # the grid's impossible cells: no repeat purchase but a recency above 0, or the reverse
    empty_ok = (frequency[:, None] == 0) != (recency[None, :] == 0)
    if meta.get("discrete"):  # opportunities: x transactions need a recency of x or more
        empty_ok = empty_ok | (frequency[:, None] > recency[None, :])
    if meta.get("contractual"):  # consecutive renewals: x equals the recency
        empty_ok = empty_ok | (frequency[:, None] != recency[None, :])
    cells = [
        (np.isnan(values) & ~empty_ok, "is NaN in a cell that a customer can be in"),
        (np.isinf(values), "is infinite"),
        (values < 0, "is negative"),
    ]
    if quantity == "probability_alive":
        cells.append((values > 1, "is a P(alive) above 1"))
    for bad, rule in cells:
        if bad.any():
            where = [f"({frequency[i]:g}, {recency[j]:g})" for i, j in np.argwhere(bad)[:5]]
            count = int(bad.sum())
            raise DataValidationError(
                "cells",
                f"the value {rule} ({count} {'cell' if count == 1 else 'cells'})",
                0,
                where,
                hint=f"recompute the grid with {source}",
                example_label="(frequency, recency) cells",
            )
    if quantity == "expected_purchases":
        label = f"expected purchases in the next {meta.get('t', 1):g} {_unit(meta)}"
    elif quantity == "probability_alive":
        label = "P(alive)"
    else:
        label = str(quantity) if quantity else "value"
    ax = _axes(ax, (6.5, 5.5))
    image = ax.imshow(
        values,
        origin="lower",
        aspect="auto",
        cmap="viridis",
        interpolation="nearest",
        extent=(x_edges[0], x_edges[1], y_edges[0], y_edges[1]),
    )
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.set_xlabel(f"recency (time of last purchase, {_unit(meta)})")
    ax.set_ylabel("frequency (repeat purchases)")
    at_T = f" (T = {meta['T']:g} {_unit(meta)})" if isinstance(meta.get("T"), int | float) else ""
    ax.set_title(f"{label} by frequency and recency{at_T}")
    return ax


def plot_calibration_holdout(evaluation: Evaluation, *, ax: Axes | None = None) -> Axes:
    """Mean holdout purchases by calibration frequency, actual against predicted, with
    the model mean's interval over parameter draws (from :func:`clvlab.evaluate`).

    Frequency groups without customers (``customers == 0``) have no mean and are not drawn.

    Raises
    ------
    ArgumentError
        ``evaluation`` is not an :class:`~clvlab.evaluate.holdout.Evaluation`; ``ax`` is
        not an Axes.
    DataValidationError
        ``evaluation.by_frequency`` lacks a column, has no customers, holds a NaN,
        infinite or negative mean, or an inverted interval.
    """
    from clvlab.evaluate.holdout import Evaluation

    _check_ax(ax)
    source = "clvlab.evaluate(model, rfm)"
    if not isinstance(evaluation, Evaluation):
        raise ArgumentError(
            "plot_calibration_holdout draws the Evaluation returned by clvlab.evaluate "
            f"(the whole object, not a table of it), got {type(evaluation).__name__}"
        )
    table = _table(
        evaluation.by_frequency, "plot_calibration_holdout", source, ("actual", "predicted")
    )
    if "customers" in table:
        counts = _numbers(table, "customers", source=source, nonnegative=True)
        table = table[counts > 0]
        if len(table) == 0:
            raise DataValidationError(
                "customers",
                "is 0 in every frequency group: there is nothing to plot",
                hint=f"pass the evaluation returned by {source}",
            )
    columns = ["actual", "predicted"]
    band = "predicted_lower" in table and "predicted_upper" in table
    if band:
        columns += ["predicted_lower", "predicted_upper"]
    values = {c: _numbers(table, c, source=source, nonnegative=True) for c in columns}
    if band:
        _ordered(table, "predicted_lower", "predicted_upper", source=source)
    ax = _axes(ax)
    pos = np.arange(len(table), dtype=float)
    ax.plot(pos, values["actual"], "o-", color="black", label="actual")
    ax.plot(pos, values["predicted"], "s--", color="C0", label=f"{evaluation.model} (model)")
    if band:
        ax.vlines(
            pos,
            values["predicted_lower"],
            values["predicted_upper"],
            color="C0",
            linewidth=6,
            alpha=0.3,
            label=f"{_level(_meta(table))} of the model mean",
        )
    ax.set_xticks(pos, [str(i) for i in table.index])
    ax.set_xlabel("purchases in the calibration period")
    ax.set_ylabel("mean purchases in the holdout")
    ax.set_title(f"Calibration against holdout ({str(evaluation.method).upper()})")
    ax.legend()
    return ax


def plot_tracking(track: pd.DataFrame, *, cumulative: bool = True, ax: Axes | None = None) -> Axes:
    """Repeat purchases per period, actual against model, from :func:`clvlab.tracking`
    (or ``clvlab.evaluate(...).tracking``), with the model's interval; the calibration end
    is marked.

    Raises
    ------
    ArgumentError
        ``track`` is not a DataFrame, ``cumulative`` not a bool, ``ax`` not an Axes.
    DataValidationError
        A missing column, no periods, period ends that are not dates, a NaN, infinite or
        negative count, or an inverted interval.
    """
    source = "clvlab.tracking(model, rfm, transactions)"
    cumulative = _check_flag("cumulative", cumulative)
    _check_ax(ax)
    prefix = "cumulative_" if cumulative else ""
    columns = [f"{prefix}{c}" for c in ("actual", "expected", "expected_lower", "expected_upper")]
    track = _table(track, "plot_tracking", source, ["end", *columns], quantities=("tracking",))
    try:
        ends = pd.to_datetime(track["end"]).to_numpy(dtype="datetime64[ns]")
    except (TypeError, ValueError, OverflowError) as exc:
        raise DataValidationError(
            "end", "holds values that are not dates", hint=f"pass the table from {source}"
        ) from exc
    if np.isnat(ends).any():
        bad = np.isnat(ends)
        raise DataValidationError(
            "end",
            "is missing (NaT)",
            int(bad.sum()),
            track.index[bad][:5],
            hint=f"pass the table from {source}",
            example_label="periods",
        )
    values = {
        c: _numbers(track, c, source=source, label="periods", nonnegative=True) for c in columns
    }
    lower, upper = columns[2], columns[3]
    _ordered(track, lower, upper, source=source, label="periods")
    meta = _meta(track)
    calibration_end = meta.get("calibration_end")
    marker = None
    if calibration_end:
        try:
            marker = pd.Timestamp(calibration_end)
        except (TypeError, ValueError) as exc:
            raise DataValidationError(
                "calibration_end",
                f"recorded in the table's attrs is not a date: {calibration_end!r}",
                hint=f"pass the table from {source}",
            ) from exc
    ax = _axes(ax, (8.0, 4.5))
    ax.plot(ends, values[columns[0]], color="black", label="actual")
    ax.plot(ends, values[columns[1]], "--", color="C0", label="model")
    ax.fill_between(ends, values[lower], values[upper], color="C0", alpha=0.25, label=_level(meta))
    if marker is not None:
        ax.axvline(marker, color="grey", linestyle=":")  # type: ignore[arg-type]
        ax.annotate(
            " calibration end",
            (marker, 0.95),
            xycoords=("data", "axes fraction"),
            color="grey",
            va="top",
        )
    kind = "cumulative" if cumulative else "per-period"
    ax.tick_params(axis="x", labelrotation=30)
    ax.set_xlabel("period end")
    ax.set_ylabel(f"{kind} repeat purchases")
    ax.set_title(f"Tracking {kind} repeat purchases, with the model's {_level(meta)}")
    ax.legend()
    return ax


def _check_model(model: Any, name: str) -> BaseModel:
    from clvlab.models.base import BaseModel

    if not isinstance(model, BaseModel):
        raise ArgumentError(
            f"{name} must be a fitted clvlab model (e.g. clvlab.BetaGeo().fit(rfm)), "
            f"got {type(model).__name__}"
        )
    model.check_fitted()
    return model


def _finite_params(model: BaseModel, name: str) -> pd.DataFrame:
    params = model.params_
    for column in ("estimate", "lower", "upper"):
        values = params[column].to_numpy(dtype=float)
        bad = ~np.isfinite(values)
        if bad.any():
            raise DataValidationError(
                column,
                f"of {name}.params_ is not finite, so it cannot be drawn",
                int(bad.sum()),
                params.index[bad][:5],
                hint="see the fit's quality in summary() and refit (another method, or "
                "penalizer=) before plotting",
                example_label="parameters",
            )
    return params


def plot_parameters(
    model: BaseModel,
    *,
    reference: BaseModel | None = None,
    axes: Any = None,
) -> np.ndarray:
    """Each parameter's distribution (posterior, or Laplace/bootstrap draws for an MLE
    fit; density by ArviZ), with the model's own estimate and interval from
    ``model.params_`` (the values of ``summary()``, at its ``ci_prob`` and interval kind)
    and ``reference``'s overlaid (e.g. the MLE over the posterior). ``axes`` takes one
    Axes per parameter. Returns the array of Axes.

    Raises
    ------
    ArgumentError
        ``model`` or ``reference`` is not a clvlab model, or ``reference`` has other
        parameters; ``axes`` is not one Axes per parameter.
    NotFittedError
        A model is not fitted.
    DataValidationError
        An estimate or interval bound in ``params_`` is not finite.
    """
    model = _check_model(model, "model")
    names = list(model.param_names)
    if reference is not None:
        reference = _check_model(reference, "reference")
        if list(reference.param_names) != names:
            raise ArgumentError(
                f"reference is a {type(reference).__name__} with parameters "
                f"{list(reference.param_names)}; it must be a fit of the same model as "
                f"`model` ({type(model).__name__}: {names})"
            )
    if axes is not None:
        given = np.atleast_1d(np.asarray(axes, dtype=object)).ravel()
        for one in given:
            _check_ax(one, "axes")
        if len(given) != len(names):
            raise ArgumentError(
                f"axes must hold one Axes per parameter ({len(names)}: {names}), got "
                f"{len(given)}; e.g. axes=plt.subplots(1, {len(names)})[1]"
            )
        axes = given
    params = _finite_params(model, "model")
    ref_params = None if reference is None else _finite_params(reference, "reference")
    draws = model.parameter_draws()
    for i, name in enumerate(names):
        column = draws[:, i]
        if not np.all(np.isfinite(column)) or np.ptp(column) == 0:
            raise DataValidationError(
                name,
                "draws are not finite or all equal, so they have no density to draw "
                f"({len(column)} draws, first {column[0]!r})",
                hint="its estimate and interval are in model.params_; refit with "
                "uncertainty='laplace' or a Bayesian method for a distribution to plot",
                example_label="parameters",
            )
    az = import_quietly("arviz")
    with warnings.catch_warnings():
        # ArviZ 0.23 calls a matplotlib helper in a way matplotlib 3.11 deprecates.
        warnings.filterwarnings("ignore", "Passing a dict or None as alias_mapping")
        result = az.plot_posterior(
            model.draws_,
            var_names=names,
            hdi_prob="hide",
            point_estimate=None,
            ax=axes,
            figsize=(3.2 * len(names), 3.2),
            textsize=9,
        )
    out = np.atleast_1d(result).ravel()
    own_level = _level({"ci_prob": model.ci_prob}, model.interval_kind)
    own = f"{model.method_.upper()} estimate, {own_level}"
    for ax, name in zip(out, names, strict=True):
        row = params.loc[name]
        ax.plot([row["lower"], row["upper"]], [0.0, 0.0], color="black", lw=3, label=own)
        ax.plot([row["estimate"]], [0.0], "o", color="black")
    if reference is not None and ref_params is not None:
        level = _level({"ci_prob": reference.ci_prob}, reference.interval_kind)
        for ax, name in zip(out, names, strict=True):
            row = ref_params.loc[name]
            ax.axvline(row["estimate"], color="C3", label=f"{reference.method_.upper()} estimate")
            ax.axvspan(
                row["lower"],
                row["upper"],
                color="C3",
                alpha=0.15,
                label=f"{reference.method_.upper()} {level}",
            )
    out[0].legend(loc="upper right", fontsize=7)
    for ax, name in zip(out, names, strict=True):
        ax.set_xlabel(name)
        ax.set_ylabel("density")
    return out


def plot_frequency_check(check: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Observed frequency histogram (bars) against its prior or posterior predictive
    (mean and interval), from :func:`clvlab.frequency_check`.

    Raises
    ------
    ArgumentError
        ``check`` is not a DataFrame, or another clvlab table; ``ax`` is not an Axes.
    DataValidationError
        A missing column, no rows, a NaN, infinite or negative count, or an inverted
        interval.
    """
    source = "clvlab.frequency_check(model, rfm)"
    _check_ax(ax)
    columns = ("observed", "mean", "lower", "upper")
    check = _table(check, "plot_frequency_check", source, columns, quantities=("frequency_check",))
    values = {c: _numbers(check, c, source=source, nonnegative=True) for c in columns}
    _ordered(check, "lower", "upper", source=source)
    meta = _meta(check)
    kind = str(meta.get("kind", "predictive"))
    ax = _axes(ax)
    pos = np.arange(len(check), dtype=float)
    ax.bar(pos, values["observed"], color="0.7", label="observed")
    ax.vlines(
        pos, values["lower"], values["upper"], color="C0", label=f"{kind} predictive {_level(meta)}"
    )
    ax.plot(pos, values["mean"], "o", color="C0", label=f"{kind} predictive mean")
    ax.set_xticks(pos, [str(i) for i in check.index])
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel("customers")
    ax.set_title(f"{kind.capitalize()} predictive check of the frequency histogram")
    ax.legend()
    return ax


def _clv_frame(values: Any, plot: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The CLV ``estimate, lower, upper`` per customer and the run's settings, from
    :func:`clvlab.clv` output or :class:`~clvlab.CustomerPredictions`."""
    from clvlab.predict.table import CustomerPredictions

    source = "clvlab.clv(...) or clvlab.predict_customers(...)"
    if isinstance(values, CustomerPredictions):
        table = _table(
            values.table, plot, source, ("clv_estimate", "clv_lower", "clv_upper"), ("clv",)
        )
        frame = pd.DataFrame(
            {c: table[f"clv_{c}"] for c in ("estimate", "lower", "upper")}, index=table.index
        )
        meta = {k: values.run.get(k) for k in ("ci_prob", "interval", "horizon")}
        meta["unit"] = values.run.get("horizon_unit")
    else:
        if not isinstance(values, pd.DataFrame):
            raise ArgumentError(f"{plot} draws the output of {source}, got {type(values).__name__}")
        frame = _table(values, plot, source, ("estimate", "lower", "upper"), ("clv",))
        meta = _meta(frame)
    for column in ("estimate", "lower", "upper"):
        _numbers(frame, column, source=source, label="customer ids")
    _ordered(frame, "lower", "upper", source=source, label="customer ids")
    return frame, meta


def _clv_words(meta: dict[str, Any]) -> str:
    horizon, unit = meta.get("horizon"), meta.get("unit")
    if isinstance(horizon, int | float) and unit:
        return f"CLV over {horizon:g} {_UNIT_NAMES.get(unit, unit)}"
    return "CLV"


def plot_clv_distribution(
    values: pd.DataFrame | CustomerPredictions,
    *,
    bins: int = 60,
    log: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Histogram of the CLV estimates across customers (from :func:`clvlab.clv` or
    :func:`clvlab.predict_customers`) in ``bins`` bins, with the mean and median marked.

    With ``log`` the bins are log-spaced from the smallest to the largest positive
    estimate; customers with a CLV of 0 or less cannot appear on a log axis, and the
    title counts them.

    Raises
    ------
    ArgumentError
        ``values`` is neither; ``bins`` is not an integer >= 1; ``log`` not a bool;
        ``ax`` not an Axes.
    DataValidationError
        A missing column, no customers, a NaN or infinite value, or an inverted interval.
    """
    bins = check_count("bins", bins)
    log = _check_flag("log", log)
    _check_ax(ax)
    frame, meta = _clv_frame(values, "plot_clv_distribution")
    estimate = frame["estimate"].to_numpy(dtype=float)
    positive = estimate[estimate > 0]
    ax = _axes(ax)
    title = f"{_clv_words(meta)} across {len(estimate):,} customers"
    if log and len(positive):
        low, high = float(positive.min()), float(positive.max())
        edges = np.geomspace(low, high, bins + 1) if high > low else np.array([low / 2, low * 2])
        edges[0], edges[-1] = min(edges[0], low), max(edges[-1], high)  # no rounding loss
        ax.hist(positive, bins=list(edges), color="C0", alpha=0.8)
        ax.set_xscale("log")
        hidden = len(estimate) - len(positive)
        if hidden:
            title += f" ({hidden:,} with CLV <= 0 not on the log axis)"
    else:
        ax.hist(estimate, bins=bins, color="C0", alpha=0.8)
    mean, median = float(np.mean(estimate)), float(np.median(estimate))
    ax.axvline(mean, color="C3", label=f"mean {mean:,.2f}")
    ax.axvline(median, color="C2", ls="--", label=f"median {median:,.2f}")
    ax.set_xlabel(f"{_clv_words(meta)}: estimate per customer")
    ax.set_ylabel("customers")
    ax.set_title(title)
    ax.legend()
    return ax


def plot_top_customers(
    values: pd.DataFrame | CustomerPredictions, *, n: int = 20, ax: Axes | None = None
) -> Axes:
    """The ``n`` customers with the highest CLV estimate (all of them when there are
    fewer), highest at the top, with their intervals. Ties keep the table's order.

    Raises
    ------
    ArgumentError
        ``values`` is not :func:`clvlab.clv` output or CustomerPredictions; ``n`` is not
        an integer >= 1; ``ax`` is not an Axes.
    DataValidationError
        A missing column, no customers, a NaN or infinite value, or an inverted interval.
    """
    n = check_count("n", n)
    _check_ax(ax)
    frame, meta = _clv_frame(values, "plot_top_customers")
    top = frame.nlargest(n, "estimate", keep="first").iloc[::-1]
    ax = _axes(ax, (7.0, 0.3 * len(top) + 1.5))
    pos = np.arange(len(top), dtype=float)
    level = _level(meta)
    ax.hlines(pos, top["lower"].to_numpy(float), top["upper"].to_numpy(float), color="C0")
    ax.plot(top["estimate"].to_numpy(float), pos, "o", color="C0")
    ax.set_yticks(pos, list(id_texts(top.index)))
    ax.set_xlabel(f"{_clv_words(meta)}: estimate and {level}")
    ax.set_ylabel("customer")
    ax.set_title(f"Top {len(top):,} customers by {_clv_words(meta)}")
    return ax


def plot_comparison(
    comparison: pd.DataFrame, *, metric: str | None = None, ax: Axes | None = None
) -> Axes:
    """Bar chart of one metric of :func:`clvlab.compare` (default: its ranking metric),
    in the table's order (best first by the ranking metric, drawn top down); baselines
    in grey. Models without the metric (baselines have no log score) are left out, and
    the title counts them.

    Raises
    ------
    ArgumentError
        ``comparison`` is not a DataFrame, ``metric`` not one of its columns, ``ax`` not
        an Axes.
    DataValidationError
        No rows, no model with the metric, or an infinite or non-numeric value.
    """
    source = "clvlab.compare(models, rfm)"
    _check_ax(ax)
    if not isinstance(comparison, pd.DataFrame):
        raise ArgumentError(
            f"plot_comparison draws the table returned by {source}, got {type(comparison).__name__}"
        )
    comparison = _table(comparison, "plot_comparison", source, (), quantities=("comparison",))
    metric = _meta(comparison).get("rank_by", "purchases_rmse") if metric is None else metric
    numeric = [str(c) for c in comparison.columns if c != "rank"]
    if not isinstance(metric, str) or metric not in comparison.columns or metric == "rank":
        raise ArgumentError(f"metric must be one of the table's metrics {numeric}, got {metric!r}")
    column = comparison[metric]
    shown = comparison.loc[column.notna().to_numpy()]
    if len(shown) == 0:
        raise DataValidationError(
            metric,
            "is NaN for every model: there is nothing to plot",
            hint=f"choose another metric of {numeric}",
        )
    values = _numbers(shown, metric, source=source, label="models")
    ax = _axes(ax, (7.0, 0.45 * len(shown) + 1.5))
    names = [str(name) for name in shown.index][::-1]
    colors = ["0.6" if name.startswith("baseline") else "C0" for name in names]
    ax.barh(np.arange(len(shown)), values[::-1], color=colors)
    ax.set_yticks(np.arange(len(shown)), names)
    ax.set_xlabel(metric)
    ax.set_ylabel("model")
    left_out = len(comparison) - len(shown)
    note = f" ({left_out} without it not shown)" if left_out else ""
    ax.set_title(f"Model comparison on the holdout: {metric}{note}")
    return ax
