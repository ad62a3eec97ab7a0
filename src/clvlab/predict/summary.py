"""Reduce per-customer draws to summaries, chunk by chunk.

A prediction for ``n`` items (customers or folded rows) and ``d`` parameter draws is
never held as one ``d x n`` array: items are processed in chunks sized to a memory
budget, each chunk's draws are reduced to mean, sd and interval bounds at once, and
only per-draw column totals are kept across chunks (for the interval of a total).
Memory is therefore ``O(d x chunk + n)``, whatever the number of customers.

Two intervals are named apart:

- ``lower``/``upper``: the interval of the **expected value** across parameter draws
  (parameter uncertainty only);
- ``pred_lower``/``pred_upper``: the **predictive** interval of the realised quantity,
  simulated from the model for each draw, so it also holds the randomness of
  purchasing itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clvlab.inference.draws import IntervalKind, interval
from clvlab.progress import progress_bar

__all__ = ["ReducedDraws", "chunk_size_for", "reduce_draws", "to_frame"]

DEFAULT_BUDGET_BYTES = 256 * 2**20
DrawFn = Callable[[slice], np.ndarray]


def chunk_size_for(n_draws: int, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> int:
    """Items per chunk so that a few ``n_draws x chunk`` float64 arrays fit the budget."""
    return max(1, int(budget_bytes // (8 * 6 * max(n_draws, 1))))


@dataclass
class ReducedDraws:
    """Per-item summaries and per-draw totals of one predicted quantity."""

    mean: np.ndarray
    sd: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    total_draws: np.ndarray
    pred_lower: np.ndarray | None = None
    pred_upper: np.ndarray | None = None
    draws: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def reduce_draws(
    draw_fn: DrawFn,
    n_items: int,
    n_draws: int,
    *,
    ci_prob: float,
    kind: IntervalKind = "eti",
    predictive_fn: Callable[[slice, np.random.Generator], np.ndarray] | None = None,
    seed: int | None = None,
    keep_draws: bool = False,
    weights: np.ndarray | None = None,
    chunk_size: int | None = None,
    progress: bool = False,
    desc: str = "predict",
) -> ReducedDraws:
    """Evaluate ``draw_fn`` chunk by chunk and reduce each chunk as it comes.

    Parameters
    ----------
    draw_fn
        Maps a slice of items to their values under every draw, shape ``(n_draws, k)``.
    predictive_fn
        Optional: maps a slice and a random generator to simulated realised values,
        shape ``(n_draws, k)``; its equal-tailed ``ci_prob`` interval is reported.
    keep_draws
        Also return every draw, shape ``(n_draws, n_items)`` (small data only).
    weights
        How many customers each item stands for (folded rows), for the per-draw totals.
    """
    size = chunk_size or chunk_size_for(n_draws)
    mean = np.empty(n_items)
    sd = np.empty(n_items)
    lower = np.empty(n_items)
    upper = np.empty(n_items)
    pred_lo = np.empty(n_items) if predictive_fn else None
    pred_hi = np.empty(n_items) if predictive_fn else None
    totals = np.zeros(n_draws)
    kept = np.empty((n_draws, n_items)) if keep_draws else None
    rng = np.random.default_rng(seed)
    starts = range(0, n_items, size)
    for start in progress_bar(starts, desc, enable=progress, total=len(starts)):
        part = slice(start, min(start + size, n_items))
        values = np.asarray(draw_fn(part), dtype=float)
        mean[part] = values.mean(axis=0)
        sd[part] = values.std(axis=0, ddof=1) if n_draws > 1 else 0.0
        lower[part], upper[part] = interval(values, ci_prob, kind)
        totals += values.sum(axis=1) if weights is None else values @ weights[part]
        if kept is not None:
            kept[:, part] = values
        if predictive_fn is not None and pred_lo is not None and pred_hi is not None:
            simulated = predictive_fn(part, rng)
            pred_lo[part], pred_hi[part] = interval(simulated, ci_prob, "eti")
    return ReducedDraws(mean, sd, lower, upper, totals, pred_lo, pred_hi, kept)


def to_frame(
    reduced: ReducedDraws,
    index: pd.Index,
    *,
    point: np.ndarray | None,
    meta: dict[str, Any],
    ci_prob: float,
    kind: IntervalKind,
) -> pd.DataFrame:
    """The tidy per-customer table: ``estimate, sd, lower, upper`` (+ predictive bounds).

    ``estimate`` is ``point`` when given (the plug-in value at the MLE) and the mean of
    the draws otherwise (Bayesian fits). The lower and upper bounds are widened to
    include the estimate (a plug-in value can lie outside a skewed draw interval).
    """
    estimate = reduced.mean if point is None else np.asarray(point, dtype=float)
    columns: dict[str, np.ndarray] = {
        "estimate": estimate,
        "sd": reduced.sd,
        "lower": np.minimum(reduced.lower, estimate),
        "upper": np.maximum(reduced.upper, estimate),
    }
    if reduced.pred_lower is not None and reduced.pred_upper is not None:
        columns["pred_lower"] = np.minimum(reduced.pred_lower, columns["lower"])
        columns["pred_upper"] = np.maximum(reduced.pred_upper, columns["upper"])
    frame = pd.DataFrame(columns, index=index)
    tot_lo, tot_hi = interval(reduced.total_draws, ci_prob, kind)
    frame.attrs["clvlab"] = {
        **meta,
        "ci_prob": ci_prob,
        "interval": kind,
        "estimate": "plug-in at the MLE" if point is not None else "posterior mean",
        "total": {
            "estimate": float(np.sum(estimate)),
            "lower": float(tot_lo),
            "upper": float(tot_hi),
        },
    }
    return frame
