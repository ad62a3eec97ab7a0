"""Parameter draws: the one output every fitting method produces.

Draws are an :class:`xarray.Dataset` with one variable per parameter and dimensions
``(chain, draw)``, as in ArviZ. A point estimate is a reduction of the draws, never the
other way round; intervals record their kind (``eti`` or ``hdi``) and ``ci_prob``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from clvlab.arguments import check_ci_prob
from clvlab.errors import ArgumentError

__all__ = [
    "IntervalKind",
    "draws_from_arrays",
    "interval",
    "stack_draws",
    "summarize_columns",
    "summarize_draws",
]

IntervalKind = Literal["eti", "hdi"]


def draws_from_arrays(values: Mapping[str, np.ndarray]) -> xr.Dataset:
    """Build a draws Dataset from arrays shaped ``(chain, draw)``.

    Examples
    --------
    >>> import numpy as np
    >>> ds = draws_from_arrays({"r": np.ones((2, 3))})
    >>> dict(ds.sizes)
    {'chain': 2, 'draw': 3}
    """
    data = {}
    for name, arr in values.items():
        arr = np.asarray(arr, dtype=float)
        if arr.ndim != 2:
            raise ValueError(f"draws of {name!r} must have shape (chain, draw), got {arr.shape}")
        data[name] = (("chain", "draw"), arr)
    sizes = next(iter(values.values())).shape
    return xr.Dataset(data, coords={"chain": np.arange(sizes[0]), "draw": np.arange(sizes[1])})


def stack_draws(draws: xr.Dataset, names: Sequence[str]) -> np.ndarray:
    """Parameter draws as one array of shape ``(chain * draw, len(names))``."""
    return np.stack([draws[n].to_numpy().reshape(-1) for n in names], axis=-1)


def interval(
    samples: np.ndarray,
    ci_prob: float,
    kind: IntervalKind = "eti",
    axis: int = 0,
    *,
    discrete: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the ``ci_prob`` interval of ``samples`` along ``axis``.

    ``eti`` is the equal-tailed interval (quantiles ``(1 - ci_prob) / 2`` and
    ``(1 + ci_prob) / 2``); ``hdi`` is the narrowest interval holding ``ci_prob`` of the
    samples (for unimodal distributions, the highest-density interval).

    ``discrete=True`` (simulated counts) takes the equal-tailed bounds from the inverse
    of the empirical CDF, so they are values the samples take (whole purchases).

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = interval(np.arange(101.0), 0.9)
    >>> round(float(lo), 6), round(float(hi), 6)
    (5.0, 95.0)
    """
    ci_prob = check_ci_prob(ci_prob)
    samples = np.moveaxis(np.asarray(samples, dtype=float), axis, 0)
    if kind == "eti":
        if samples.shape[0] == 0:
            raise ArgumentError("an interval needs at least one sample, got none")
        flat = samples.reshape(samples.shape[0], -1)
        _, _, lo, hi, _ = summarize_columns(flat, ci_prob, discrete=discrete)
        shape = samples.shape[1:]
        # NumPy scalars for one-dimensional samples, as np.quantile gives
        return lo.reshape(shape)[()], hi.reshape(shape)[()]
    if kind == "hdi":
        ordered = np.sort(samples, axis=0)
        n = ordered.shape[0]
        width = max(int(np.floor(ci_prob * n)), 1)
        widths = ordered[width:] - ordered[: n - width]
        best = np.argmin(widths, axis=0)
        lo = np.take_along_axis(ordered, best[None], axis=0)[0]
        hi = np.take_along_axis(ordered, (best + width)[None], axis=0)[0]
        return lo, hi
    raise ArgumentError(f"interval kind must be 'eti' or 'hdi', got {kind!r}")


def summarize_columns(
    values: np.ndarray,
    ci_prob: float,
    *,
    discrete: bool = False,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, sd (``ddof=1``, 0 for one draw), equal-tailed ``ci_prob`` interval of every
    column of ``values`` (shape ``(draws, items)``), and the per-draw totals
    ``values @ weights`` (weights 1 when omitted), in one compiled pass.

    The bounds equal ``np.quantile(values, [(1 - p) / 2, (1 + p) / 2], axis=0)`` bit for
    bit (but for the sign of a zero among tied ``0.0`` and ``-0.0``), with
    ``method="inverted_cdf"`` when ``discrete`` (simulated counts: an interval of counts
    ends on counts, not between two neighbouring order statistics).
    A column holding a NaN gets NaN throughout, as in NumPy. See
    :mod:`clvlab.inference._draw_summary_numba` for how it is fast.

    Examples
    --------
    >>> import numpy as np
    >>> mean, sd, lo, hi, totals = summarize_columns(np.arange(101.0)[:, None], 0.9)
    >>> float(mean[0]), round(float(lo[0]), 9), round(float(hi[0]), 9), float(totals[100])
    (50.0, 5.0, 95.0, 100.0)
    """
    from clvlab.inference._draw_summary_numba import column_summaries

    ci_prob = check_ci_prob(ci_prob)
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[0] == 0:
        raise ArgumentError(f"values must have shape (draws >= 1, items), got {values.shape}")
    w = np.ones(values.shape[1]) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (values.shape[1],):
        raise ArgumentError(f"weights must have shape ({values.shape[1]},), got {w.shape}")
    q_lo, q_hi = (1 - ci_prob) / 2, (1 + ci_prob) / 2
    return column_summaries(values, q_lo, q_hi, bool(discrete), w)


def summarize_draws(
    draws: xr.Dataset, names: Sequence[str], ci_prob: float, kind: IntervalKind = "eti"
) -> pd.DataFrame:
    """Posterior mean, sd and interval of each parameter, indexed by name."""
    flat = stack_draws(draws, names)
    lo, hi = interval(flat, ci_prob, kind)
    return pd.DataFrame(
        {"estimate": flat.mean(axis=0), "sd": flat.std(axis=0, ddof=1), "lower": lo, "upper": hi},
        index=pd.Index(list(names), name="parameter"),
    )
