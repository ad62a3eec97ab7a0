"""Diagnostic plots (matplotlib). Results go in, an Axes comes out.

A plot never fits or predicts: each function draws a table that another clvlab function
computed (named in its docstring), on ``ax`` or on a new figure when ``ax`` is None.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from clvlab._imports import import_quietly
from clvlab.errors import ClvlabError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from clvlab.evaluate.holdout import Evaluation
    from clvlab.models.base import BaseModel
    from clvlab.predict.table import CustomerPredictions

__all__ = [
    "plot_calibration_holdout",
    "plot_clv_distribution",
    "plot_comparison",
    "plot_frequency_check",
    "plot_frequency_recency",
    "plot_parameters",
    "plot_top_customers",
    "plot_tracking",
]


def _axes(ax: Axes | None, figsize: tuple[float, float] = (7.0, 4.5)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=figsize)
    return new


def _meta(frame: pd.DataFrame) -> dict[str, Any]:
    meta = frame.attrs.get("clvlab", {})
    return meta if isinstance(meta, dict) else {}


def plot_frequency_recency(matrix: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Heat map of :func:`clvlab.predict.checks.frequency_recency_matrix`."""
    ax = _axes(ax, (6.5, 5.5))
    meta = _meta(matrix)
    quantity = meta.get("quantity", "value")
    recency = matrix.columns.to_numpy(dtype=float)
    frequency = matrix.index.to_numpy(dtype=float)
    image = ax.imshow(
        matrix.to_numpy(dtype=float),
        origin="lower",
        aspect="auto",
        cmap="viridis",
        extent=(recency[0], recency[-1], frequency[0] - 0.5, frequency[-1] + 0.5),
    )
    label = (
        f"expected purchases in the next {meta.get('t', 1):g} periods"
        if quantity == "expected_purchases"
        else "P(alive)"
    )
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.set_xlabel("recency (time of last purchase)")
    ax.set_ylabel("frequency (repeat purchases)")
    ax.set_title(f"{label} by frequency and recency (T = {meta.get('T', float('nan')):g})")
    return ax


def plot_calibration_holdout(evaluation: Evaluation, *, ax: Axes | None = None) -> Axes:
    """Mean holdout purchases by calibration frequency, actual against predicted with
    the interval over parameter draws (from :func:`clvlab.evaluate`)."""
    ax = _axes(ax)
    table = evaluation.by_frequency
    pos = np.arange(len(table))
    ax.plot(pos, table["actual"], "o-", color="black", label="actual")
    ax.plot(pos, table["predicted"], "s--", color="C0", label=f"{evaluation.model} (model)")
    if "predicted_lower" in table:
        ci = _meta(table).get("ci_prob", 0.9)
        ax.fill_between(
            pos,
            table["predicted_lower"],
            table["predicted_upper"],
            color="C0",
            alpha=0.25,
            label=f"{ci:.0%} interval",
        )
    ax.set_xticks(pos, table.index)
    ax.set_xlabel("purchases in the calibration period")
    ax.set_ylabel("mean purchases in the holdout")
    ax.set_title(f"Calibration against holdout ({evaluation.method.upper()})")
    ax.legend()
    return ax


def plot_tracking(track: pd.DataFrame, *, cumulative: bool = True, ax: Axes | None = None) -> Axes:
    """Repeat purchases per period, actual against model, from :func:`clvlab.tracking`;
    the calibration end is marked."""
    ax = _axes(ax, (8.0, 4.5))
    prefix = "cumulative_" if cumulative else ""
    ends = pd.to_datetime(track["end"])
    ax.plot(ends, track[f"{prefix}actual"], color="black", label="actual")
    ax.plot(ends, track[f"{prefix}expected"], "--", color="C0", label="model")
    ax.fill_between(
        ends,
        track[f"{prefix}expected_lower"],
        track[f"{prefix}expected_upper"],
        color="C0",
        alpha=0.25,
        label=f"{_meta(track).get('ci_prob', 0.9):.0%} interval",
    )
    calibration_end = _meta(track).get("calibration_end")
    if calibration_end:
        ax.axvline(pd.Timestamp(calibration_end), color="grey", linestyle=":")  # type: ignore[arg-type]
        ax.annotate(
            " calibration end",
            (pd.Timestamp(calibration_end), ax.get_ylim()[1] * 0.95),
            color="grey",
            va="top",
        )
    kind = "cumulative" if cumulative else "per-period"
    ax.tick_params(axis="x", labelrotation=30)
    ax.set_xlabel("period end")
    ax.set_ylabel(f"{kind} repeat purchases")
    ax.set_title(f"Tracking {kind} repeat purchases")
    ax.legend()
    return ax


def plot_parameters(
    model: BaseModel,
    *,
    reference: BaseModel | None = None,
    axes: Any = None,
) -> np.ndarray:
    """Each parameter's distribution (posterior, or Laplace/bootstrap draws for an MLE
    fit) through ArviZ, with ``reference``'s estimate and interval overlaid (e.g. the
    MLE over the posterior). Returns the array of Axes."""
    model.check_fitted()
    az = import_quietly("arviz")
    names = list(model.param_names)
    with warnings.catch_warnings():
        # ArviZ 0.23 calls a matplotlib helper in a way matplotlib 3.11 deprecates.
        warnings.filterwarnings("ignore", "Passing a dict or None as alias_mapping")
        result = az.plot_posterior(
            model.draws_,
            var_names=names,
            hdi_prob=model.ci_prob,
            ax=axes,
            point_estimate="mean",
            figsize=(3.2 * len(names), 3.2),
            textsize=9,
        )
    out = np.atleast_1d(result).ravel()
    if reference is not None:
        reference.check_fitted()
        params = reference.params_
        for ax, name in zip(out, names, strict=True):
            ax.axvline(params.loc[name, "estimate"], color="C3", label=reference.method_.upper())
            ax.axvspan(params.loc[name, "lower"], params.loc[name, "upper"], color="C3", alpha=0.15)
        out[0].legend(loc="upper right", fontsize=8)
    for ax, name in zip(out, names, strict=True):
        ax.set_xlabel(name)
        ax.set_ylabel("density")
    return out


def plot_frequency_check(check: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Observed frequency histogram against its prior or posterior predictive, from
    :func:`clvlab.predict.checks.frequency_check`."""
    ax = _axes(ax)
    meta = _meta(check)
    pos = np.arange(len(check))
    ax.bar(pos, check["observed"], color="0.7", label="observed")
    err = np.vstack([check["mean"] - check["lower"], check["upper"] - check["mean"]])
    ax.errorbar(
        pos,
        check["mean"],
        yerr=err,
        fmt="o",
        color="C0",
        capsize=3,
        label=f"{meta.get('kind', 'posterior')} predictive ({meta.get('ci_prob', 0.9):.0%})",
    )
    ax.set_xticks(pos, check.index)
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel("customers")
    ax.set_title(f"{str(meta.get('kind', 'posterior')).capitalize()} predictive check")
    ax.legend()
    return ax


def _clv_frame(values: pd.DataFrame | CustomerPredictions) -> pd.DataFrame:
    from clvlab.predict.table import CustomerPredictions

    if isinstance(values, CustomerPredictions):
        table = values.table
        return pd.DataFrame(
            {c: table[f"clv_{c}"] for c in ("estimate", "lower", "upper")}, index=table.index
        )
    if not {"estimate", "lower", "upper"} <= set(values.columns):
        raise ClvlabError("expected clvlab.clv() output or CustomerPredictions")
    return values


def plot_clv_distribution(
    values: pd.DataFrame | CustomerPredictions,
    *,
    bins: int = 60,
    log: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Histogram of the CLV estimates across customers (from :func:`clvlab.clv` or
    :func:`clvlab.predict_customers`), with the mean and median marked."""
    ax = _axes(ax)
    estimate = _clv_frame(values)["estimate"].to_numpy(dtype=float)
    positive = estimate[estimate > 0]
    if log and len(positive):
        edges = np.geomspace(max(positive.min(), 1e-2), positive.max(), bins)
        ax.hist(positive, bins=list(edges), color="C0", alpha=0.8)
        ax.set_xscale("log")
    else:
        ax.hist(estimate, bins=bins, color="C0", alpha=0.8)
    ax.axvline(float(np.mean(estimate)), color="C3", label=f"mean {np.mean(estimate):,.1f}")
    ax.axvline(float(np.median(estimate)), color="C2", ls="--", label="median")
    ax.set_xlabel("CLV estimate per customer")
    ax.set_ylabel("customers")
    ax.set_title(f"CLV across {len(estimate):,} customers")
    ax.legend()
    return ax


def plot_top_customers(
    values: pd.DataFrame | CustomerPredictions, *, n: int = 20, ax: Axes | None = None
) -> Axes:
    """The ``n`` customers with the highest CLV estimate, with their intervals."""
    ax = _axes(ax, (7.0, 0.3 * n + 1.5))
    top = _clv_frame(values).nlargest(n, "estimate").iloc[::-1]
    pos = np.arange(len(top))
    err = np.vstack([top["estimate"] - top["lower"], top["upper"] - top["estimate"]])
    ax.errorbar(top["estimate"], pos, xerr=err, fmt="o", color="C0", capsize=3)
    ax.set_yticks(pos, [str(i) for i in top.index])
    ax.set_xlabel("CLV (estimate and interval)")
    ax.set_ylabel("customer")
    ax.set_title(f"Top {len(top)} customers by CLV")
    return ax


def plot_comparison(
    comparison: pd.DataFrame, *, metric: str | None = None, ax: Axes | None = None
) -> Axes:
    """Bar chart of one metric of :func:`clvlab.compare` (default: its ranking metric),
    best first; baselines in grey."""
    metric = metric or _meta(comparison).get("rank_by", "purchases_rmse")
    if metric not in comparison:
        raise ClvlabError(f"the comparison has no column {metric!r}")
    ax = _axes(ax, (7.0, 0.45 * len(comparison) + 1.5))
    table = comparison[metric].dropna().iloc[::-1]
    colors = ["0.6" if str(name).startswith("baseline") else "C0" for name in table.index]
    ax.barh(np.arange(len(table)), table.to_numpy(dtype=float), color=colors)
    ax.set_yticks(np.arange(len(table)), [str(i) for i in table.index])
    ax.set_xlabel(metric)
    ax.set_ylabel("model")
    ax.set_title(f"Model comparison on the holdout: {metric}")
    return ax
