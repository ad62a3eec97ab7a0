"""Plots of a contract's survival and retention (:meth:`clvlab.ShiftedBetaGeo.survival_curve`).

Drawn by the rules of :mod:`clvlab.plots`: the function takes the table another
function computed, checks it (finite, in [0, 1], intervals in order) and refuses what it
cannot draw truthfully.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from clvlab import _plot_checks as _base
from clvlab.errors import ArgumentError, DataValidationError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_survival"]

_SOURCE = "model.survival_curve(periods) of a fitted clvlab.ShiftedBetaGeo"


def plot_survival(
    curve: pd.DataFrame,
    *,
    metric: str = "survival",
    observed: pd.Series | Sequence[float] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Survival (or retention) of a cohort per period, with its interval band, and the
    observed shares beside it.

    Parameters
    ----------
    curve
        The table of :meth:`clvlab.ShiftedBetaGeo.survival_curve` (periods 0, 1, ...).
    metric
        ``"survival"`` (default; FH07 eq. 3) or ``"retention"`` (eq. 6, from period 1).
    observed
        Observed shares in [0, 1] per period (a Series indexed by period, or a sequence
        for periods 0, 1, ...), for example a cohort's survivors over its size; drawn as
        points. Periods beyond the curve are refused.
    ax
        The Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The band is ``ax.collections[0]``, the estimate ``ax.lines[0]`` and the observed
        points ``ax.lines[1]``.

    Raises
    ------
    ArgumentError
        ``curve`` is not a survival curve, ``metric`` is unknown, ``ax`` is not an Axes.
    DataValidationError
        A value outside [0, 1], NaN or infinite, an inverted interval, or observed shares
        that are not in [0, 1] or lie beyond the curve's periods.
    """
    if metric not in ("survival", "retention"):
        raise ArgumentError(f"metric must be 'survival' or 'retention', got {metric!r}")
    _base._check_ax(ax)
    columns = [metric, f"{metric}_lower", f"{metric}_upper"]
    table = _base._table(curve, "plot_survival", _SOURCE, columns)
    meta = _base._meta(table)
    if meta.get("quantity") not in (None, "survival_curve"):
        raise ArgumentError(
            f"plot_survival draws the table returned by {_SOURCE}, got a "
            f"{meta.get('quantity')!r} table"
        )
    values = {c: _share(table, c) for c in columns}
    _base._ordered(table, columns[1], columns[2], source=_SOURCE, label="periods")
    period = np.asarray(table.index, dtype=float)
    start = 1 if metric == "retention" else 0
    keep = period >= start
    ax = _base._axes(ax, (7.0, 4.5))
    level = _base._level(meta)
    ax.fill_between(
        period[keep],
        values[columns[1]][keep],
        values[columns[2]][keep],
        color="C0",
        alpha=0.25,
        label=level,
    )
    ax.plot(period[keep], values[metric][keep], color="C0", label=f"{meta.get('model', 'sBG')}")
    if observed is not None:
        shares = _observed(observed, period)
        ax.plot(shares.index.to_numpy(dtype=float), shares.to_numpy(), "ko", label="observed")
    unit = _base._unit(meta)
    ax.set_xlabel(f"period ({unit})" if unit else "period")
    ax.set_ylabel("share still active" if metric == "survival" else "retention rate")
    ax.set_ylim(0.0, 1.02)
    ax.legend()
    return ax


def _share(table: pd.DataFrame, column: str) -> np.ndarray:
    return _base._fractions(
        table,
        column,
        source=_SOURCE,
        label="periods",
        rule="is above 1, which no share of customers can be",
    )


def _observed(observed: Any, period: np.ndarray) -> pd.Series:
    series = observed if isinstance(observed, pd.Series) else pd.Series(list(observed))
    try:
        values = series.to_numpy(dtype=float)
        index = np.asarray(series.index, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(
            "observed", "holds values that are not numbers", hint="pass shares in [0, 1]"
        ) from exc
    bad = ~np.isfinite(values) | (values < 0) | (values > 1)
    if bad.any():
        raise DataValidationError(
            "observed",
            "is not a share in [0, 1] (divide the survivors by the cohort's size)",
            int(bad.sum()),
            list(series.index[bad][:5]),
            hint="pass e.g. survivors / survivors[0]",
            example_label="periods",
        )
    beyond = ~np.isin(index, period)
    if beyond.any():
        raise DataValidationError(
            "observed",
            "has periods the curve does not cover",
            int(beyond.sum()),
            list(series.index[beyond][:5]),
            hint="project the curve far enough: model.survival_curve(periods=...)",
            example_label="periods",
        )
    return pd.Series(values, index=index)
