"""The checks and helpers every clvlab plot shares: arguments, tables of results (their
columns, numbers, order and interval level) and new axes. Used by :mod:`clvlab.plots`
and :mod:`clvlab.decision_plots`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from clvlab.errors import ArgumentError, DataValidationError
from clvlab.units import _UNIT_NAMES

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: The plot of each table kind (``attrs["clvlab"]["quantity"]``), to redirect a table
#: given to the wrong plot.
_PLOT_OF = {
    "expected_purchases": "plot_frequency_recency",
    "probability_alive": "plot_frequency_recency",
    "frequency_check": "plot_frequency_check",
    "tracking": "plot_tracking",
    "clv": "plot_clv_distribution or plot_top_customers",
    "comparison": "plot_comparison",
}


# ---- argument and table checks ------------------------------------------------------
def _check_ax(ax: Any, name: str = "ax") -> None:
    """Refuse anything but ``None`` or a matplotlib Axes."""
    from matplotlib.axes import Axes

    if ax is not None and not isinstance(ax, Axes):
        raise ArgumentError(
            f"{name} must be a matplotlib Axes or None, got {type(ax).__name__}; pass one "
            f"Axes (e.g. {name}=axes[0] from plt.subplots), or omit it for a new figure"
        )


def _check_flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ArgumentError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _axes(ax: Axes | None, figsize: tuple[float, float] = (7.0, 4.5)) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=figsize)
    return new


def _meta(frame: pd.DataFrame) -> dict[str, Any]:
    meta = frame.attrs.get("clvlab", {})
    return meta if isinstance(meta, dict) else {}


def _table(
    value: Any,
    plot: str,
    source: str,
    columns: Sequence[str],
    quantities: Sequence[str] = (),
) -> pd.DataFrame:
    """``value`` as a non-empty DataFrame that has ``columns``, or a clvlab error that
    names what is wrong and the function whose output the plot draws."""
    if not isinstance(value, pd.DataFrame):
        raise ArgumentError(
            f"{plot} draws the table returned by {source}, got {type(value).__name__}"
        )
    quantity = _meta(value).get("quantity")
    if quantities and quantity in _PLOT_OF and quantity not in quantities:
        raise ArgumentError(
            f"{plot} was given a {quantity!r} table, which is drawn by "
            f"clvlab.plots.{_PLOT_OF[quantity]}; pass the table returned by {source}"
        )
    missing = [c for c in columns if c not in value.columns]
    if missing:
        raise DataValidationError(
            missing[0],
            f"is missing: {plot} needs the columns {list(columns)} "
            f"(the table has {[str(c) for c in value.columns][:12]})",
            hint=f"pass the table returned by {source}",
        )
    if len(value) == 0:
        raise DataValidationError(
            columns[0] if columns else "(table)",
            "the table is empty: there is nothing to plot",
            hint=f"pass the table returned by {source} for at least one row",
        )
    return value


def _numbers(
    frame: pd.DataFrame,
    column: str,
    *,
    source: str,
    label: str = "index labels",
    nonnegative: bool = False,
) -> np.ndarray:
    """A column as finite floats (>= 0 with ``nonnegative``), or a DataValidationError
    naming the rows that break the rule."""
    series = frame[column]
    if not isinstance(series, pd.Series):
        raise DataValidationError(
            column, "appears more than once in the table", hint=f"pass the table from {source}"
        )
    if series.dtype == bool or not (
        pd.api.types.is_numeric_dtype(series) or series.dtype == object
    ):
        raise DataValidationError(
            column, f"is not numeric (dtype {series.dtype})", hint=f"pass the table from {source}"
        )
    try:
        values = series.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(
            column, "holds values that are not numbers", hint=f"pass the table from {source}"
        ) from exc
    for bad, rule in (
        (np.isnan(values), "is NaN"),
        (np.isinf(values), "is infinite"),
        (nonnegative & (values < 0), "is negative"),
    ):
        if bad.any():
            raise DataValidationError(
                column,
                f"{rule}, which cannot be plotted as a result",
                int(bad.sum()),
                frame.index[bad][:5],
                hint=f"recompute the table with {source}, or drop these rows before plotting",
                example_label=label,
            )
    return values


def _fractions(
    frame: pd.DataFrame, column: str, *, source: str, label: str, rule: str
) -> np.ndarray:
    """A column of shares or probabilities: :func:`_numbers` (finite, >= 0) and at most
    1, else a DataValidationError saying ``rule`` for the rows above 1."""
    values = _numbers(frame, column, source=source, label=label, nonnegative=True)
    above = values > 1
    if above.any():
        raise DataValidationError(
            column,
            rule,
            int(above.sum()),
            frame.index[above][:5],
            hint=f"recompute the table with {source}",
            example_label=label,
        )
    return values


def _ordered(
    frame: pd.DataFrame, low: str, high: str, *, source: str, label: str = "index labels"
) -> None:
    """Refuse an interval whose lower bound lies above its upper bound."""
    inverted = frame[low].to_numpy(dtype=float) > frame[high].to_numpy(dtype=float)
    if inverted.any():
        raise DataValidationError(
            low,
            f"lies above {high!r}: the interval is inverted",
            int(inverted.sum()),
            frame.index[inverted][:5],
            hint=f"recompute the table with {source}",
            example_label=label,
        )


def _level(meta: dict[str, Any], kind: str | None = None) -> str:
    """``"90% eti interval"`` from a table's recorded ``ci_prob`` (and interval kind);
    just ``"interval"`` when the table does not record its level."""
    ci = meta.get("ci_prob")
    kind = kind if kind is not None else meta.get("interval")
    words = []
    if isinstance(ci, int | float) and 0 < ci < 1:
        words.append(f"{ci:.0%}")
    if isinstance(kind, str) and kind:
        words.append(kind.upper())
    return " ".join([*words, "interval"])


def _unit(meta: dict[str, Any]) -> str:
    unit = meta.get("time_unit")
    return _UNIT_NAMES.get(unit, str(unit)) if unit else "periods"


def _even_edges(values: np.ndarray, name: str, source: str) -> tuple[float, float]:
    """The outer cell edges of evenly spaced, increasing cell centres ``values``."""
    step = np.diff(values)
    if len(values) == 1:
        return values[0] - 0.5, values[0] + 0.5
    if not (np.all(step > 0) and np.allclose(step, step[0], rtol=1e-9, atol=0.0)):
        raise DataValidationError(
            name,
            "values are not increasing in equal steps, so the cells cannot be drawn on a "
            f"regular grid (first values {values[:4].tolist()})",
            hint=f"build the grid with {source}",
        )
    return values[0] - step[0] / 2, values[-1] + step[0] / 2
