"""Reduce per-customer draws to summaries, chunk by chunk.

A prediction for ``n`` items (customers or folded rows) and ``d`` parameter draws is
never held as one ``d x n`` array: items are processed in chunks sized to a memory
budget, each chunk's draws are reduced to mean, sd and interval bounds at once, and
only per-draw column totals are kept across chunks (for the interval of a total).
Memory is therefore ``O(d x chunk x cores + n)``, whatever the number of customers.
Chunks are evaluated on all cores (NumPy and SciPy release the GIL); each chunk has its
own random stream spawned from the seed, so results do not depend on thread timing.

Two intervals are named apart:

- ``lower``/``upper``: the interval of the **expected value** across parameter draws
  (parameter uncertainty only);
- ``pred_lower``/``pred_upper``: the **predictive** interval of the realised quantity,
  simulated from the model for each draw, so it also holds the randomness of
  purchasing itself.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from clvlab._parallel import workers_for
from clvlab.inference.draws import IntervalKind, interval, summarize_columns
from clvlab.progress import progress_bar

__all__ = [
    "ReducedDraws",
    "chunk_size_for",
    "collecting_totals",
    "record_total",
    "reduce_draws",
    "to_frame",
]

DEFAULT_BUDGET_BYTES = 32 * 2**20
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
    starts = list(range(0, n_items, size))
    # one independent random stream per chunk: results do not depend on thread timing
    streams = np.random.SeedSequence(seed).spawn(len(starts))

    def work(i: int) -> tuple[slice, np.ndarray | None, Any]:
        part = slice(starts[i], min(starts[i] + size, n_items))
        values = np.asarray(draw_fn(part), dtype=float)
        w = None if weights is None else weights[part]
        if kind == "eti":  # mean, sd, both bounds and the totals in one compiled pass
            stats = summarize_columns(values, ci_prob, weights=w)
        else:
            stats = (
                values.mean(axis=0),
                values.std(axis=0, ddof=1) if n_draws > 1 else np.zeros(values.shape[1]),
                *interval(values, ci_prob, kind),
                values.sum(axis=1) if w is None else values @ w,
            )
        pred = None
        if predictive_fn is not None:
            simulated = np.asarray(predictive_fn(part, np.random.default_rng(streams[i])))
            # simulated counts (purchases) get bounds that are counts
            counts = bool(np.all(simulated == np.floor(simulated)))
            pred = interval(simulated, ci_prob, "eti", discrete=counts)
        return part, (values if kept is not None else None), (stats, pred)

    # NumPy and SciPy release the GIL in their loops: chunks run on all cores, and at
    # most ``workers`` chunks are in memory at once.
    workers = workers_for(len(starts))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(work, range(len(starts)))
        for part, values, (stats, pred) in progress_bar(
            results, desc, enable=progress, total=len(starts)
        ):
            mean[part], sd[part], lower[part], upper[part], chunk_total = stats
            totals += chunk_total
            if kept is not None and values is not None:
                kept[:, part] = values
            if pred is not None and pred_lo is not None and pred_hi is not None:
                pred_lo[part], pred_hi[part] = pred
    return ReducedDraws(mean, sd, lower, upper, totals, pred_lo, pred_hi, kept)


_TOTALS: contextvars.ContextVar[dict[str, np.ndarray] | None] = contextvars.ContextVar(
    "clvlab_total_draws", default=None
)


@contextlib.contextmanager
def collecting_totals() -> Iterator[dict[str, np.ndarray]]:
    """Within this block, every prediction records its per-draw total over customers
    (:attr:`ReducedDraws.total_draws`) in the yielded dict, by quantity: a caller that
    needs the distribution of a total (a Spark bucket adding its CLV to the run's)
    takes it from the prediction instead of computing the draws a second time."""
    store: dict[str, np.ndarray] = {}
    token = _TOTALS.set(store)
    try:
        yield store
    finally:
        _TOTALS.reset(token)


def record_total(quantity: str, reduced: ReducedDraws) -> None:
    """Record ``reduced``'s per-draw totals under ``quantity`` in the enclosing
    :func:`collecting_totals` block, if any."""
    store = _TOTALS.get()
    if store is not None:
        store[quantity] = reduced.total_draws


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
    include the estimate (a plug-in value can lie outside a skewed draw interval), and
    the predictive bounds to include the interval. ``attrs["clvlab"]["clamped_rows"]``
    counts, per bound, the rows that this widening moved; elsewhere the bounds are the
    raw quantiles of the draws (or of the simulated values).
    """
    estimate = reduced.mean if point is None else np.asarray(point, dtype=float)
    columns: dict[str, np.ndarray] = {
        "estimate": estimate,
        "sd": reduced.sd,
        "lower": np.minimum(reduced.lower, estimate),
        "upper": np.maximum(reduced.upper, estimate),
    }
    clamped = {
        "lower": int(np.sum(reduced.lower > estimate)),
        "upper": int(np.sum(reduced.upper < estimate)),
    }
    if reduced.pred_lower is not None and reduced.pred_upper is not None:
        columns["pred_lower"] = np.minimum(reduced.pred_lower, columns["lower"])
        columns["pred_upper"] = np.maximum(reduced.pred_upper, columns["upper"])
        clamped["pred_lower"] = int(np.sum(reduced.pred_lower > columns["lower"]))
        clamped["pred_upper"] = int(np.sum(reduced.pred_upper < columns["upper"]))
    frame = pd.DataFrame(columns, index=index)
    tot_lo, tot_hi = interval(reduced.total_draws, ci_prob, kind)
    frame.attrs["clvlab"] = {
        **meta,
        "ci_prob": ci_prob,
        "interval": kind,
        "estimate": "plug-in at the MLE" if point is not None else "posterior mean",
        "clamped_rows": clamped,
        "total": {
            "estimate": float(np.sum(estimate)),
            "lower": float(tot_lo),
            "upper": float(tot_hi),
        },
    }
    return frame
