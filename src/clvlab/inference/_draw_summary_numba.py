"""Per-column mean, sd and equal-tailed interval of a ``(draws, items)`` array, compiled.

The numba side of :func:`clvlab.inference.draws.summarize_columns`. NumPy computes the
same four numbers in several passes over strided columns, and ``np.quantile`` selects
each bound with a general introselect (about 18 ns per value for mean, sd and both
bounds of 2,000 draws). Here each block of columns is transposed once into contiguous
rows, and each row is summarised in three passes:

1. the sum and the count of NaNs, then the sum of squared deviations (two-pass sd);
2. one branch-free pass that copies the values at or below a low threshold and at or
   above a high one into two small buffers. The thresholds are order statistics of an
   evenly spaced sample of the row, at about twice the rank each bound needs;
   every value at or below the low threshold is copied, so the buffer holds a prefix
   of the sorted row, and the order statistics of the bound are those of the buffer;
3. a selection in each small buffer (a branch-free quickselect).

When a buffer turns out too short (an unlucky sample, heavy ties, or a central
quantile), the whole row is selected instead: the result is the same, only slower.

The bounds reproduce ``np.quantile`` bit for bit: its default ``linear`` method (order
statistics ``floor(h)`` and ``floor(h) + 1`` at ``h = (n - 1) q``, combined by NumPy's
``_lerp``) and ``inverted_cdf`` for counts (order statistic ``ceil(n q) - 1``). The one
exception is the sign of a zero bound drawn from tied ``0.0`` and ``-0.0`` (equal
values, whose order neither selection defines). A row holding a NaN gets NaN for every
statistic, as NumPy gives. The tests check all of this against NumPy, with hypothesis.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["column_summaries"]

#: columns transposed together (a block of rows fits the L1 cache at 2,000 draws)
_BLOCK = 16
#: values sampled from each row to place the thresholds
_SAMPLE = 64


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _select(buf: np.ndarray, n: int, k: int) -> float:  # pragma: no cover - compiled
    """The ``k``-th smallest of ``buf[:n]`` (reorders ``buf[:n]``); afterwards every
    value left of ``k`` is at most it, every value right of it at least it.

    Quickselect with a median-of-three pivot and a three-way partition written without
    branches on the data (selects, not jumps: random draws would mispredict half the
    jumps), then an insertion sort once 16 values or fewer are left. The pivot is a
    value of the range, so every round removes at least the values equal to it. As in
    an introselect, orders that defeat the pivot (``1, 2, ..., n - 1, 0`` removes two
    values a round) cannot make it quadratic: after ``2 log2(n) + 16`` rounds the range
    left is merge-sorted, ``O(n log n)``.
    """
    lo, hi = 0, n - 1
    rounds = 2 * int(math.log2(n + 1)) + 16
    while hi - lo > 16:
        rounds -= 1
        if rounds < 0:
            rest = buf[lo : hi + 1].copy()
            buf[lo : hi + 1] = rest[np.argsort(rest, kind="mergesort")]
            return buf[k]
        mid = (lo + hi) >> 1
        a, b, c = buf[lo], buf[mid], buf[hi]
        pivot = max(min(a, b), min(max(a, b), c))
        less_end = lo  # values < pivot to the front
        for i in range(lo, hi + 1):
            v = buf[i]
            less = v < pivot
            t = buf[less_end]
            buf[less_end] = v if less else t
            buf[i] = t if less else v
            less_end += less
        equal_end = less_end  # then the values == pivot
        for i in range(less_end, hi + 1):
            v = buf[i]
            same = v == pivot
            t = buf[equal_end]
            buf[equal_end] = v if same else t
            buf[i] = t if same else v
            equal_end += same
        if k < less_end:
            hi = less_end - 1
        elif k < equal_end:
            return pivot
        else:
            lo = equal_end
    for i in range(lo + 1, hi + 1):
        v = buf[i]
        j = i - 1
        while j >= lo and buf[j] > v:
            buf[j + 1] = buf[j]
            j -= 1
        buf[j + 1] = v
    return buf[k]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _pair(buf: np.ndarray, n: int, k: int) -> tuple[float, float]:  # pragma: no cover
    """The ``k``-th and ``(k+1)``-th smallest of ``buf[:n]`` (the second is the
    ``k``-th again when ``k + 1 == n``)."""
    first = _select(buf, n, k)
    second = first
    if k + 1 < n:
        second = buf[k + 1]
        for i in range(k + 2, n):
            second = min(second, buf[i])
    return first, second


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _bound(
    row: np.ndarray,
    low: np.ndarray,
    n_low: int,
    offset: int,
    q: float,
    discrete: bool,
    work: np.ndarray,
) -> float:  # pragma: no cover - compiled
    """One bound of the row: from ``low[:n_low]``, which holds the sorted row's values
    from position ``offset`` on (or up to ``offset + n_low``), when it holds the order
    statistics needed; else from a selection in a copy of the whole row."""
    d = len(row)
    if discrete:
        index = d * q - 1.0
        k = math.floor(index)
        k = max(k if index - k == 0.0 else k + 1, 0)
        need = 0
        g = 0.0
    else:
        h = (d - 1) * q  # NumPy's virtual index for its linear method
        k = min(max(math.floor(h), 0), d - 1)
        g = h - math.floor(h)
        need = 1 if k + 1 < d else 0
    if offset <= k and k + need < offset + n_low:
        first, second = _pair(low, n_low, k - offset)
    else:
        work[:] = row
        first, second = _pair(work, d, k)
    if discrete:
        return first
    diff = second - first
    # NumPy's _lerp: from the nearer end, so that g = 0 and g = 1 are exact
    return second - diff * (1.0 - g) if g >= 0.5 else first + diff * g


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def _moments(row: np.ndarray) -> tuple[float, float, int]:  # pragma: no cover - compiled
    """Mean, sum of squared deviations and the number of NaNs of ``row``."""
    d = len(row)
    total = 0.0
    nans = 0
    for i in range(d):
        v = row[i]
        nans += v != v
        total += v
    mean = total / d
    squares = 0.0
    for i in range(d):
        e = row[i] - mean
        squares += e * e
    return mean, squares, nans


@numba.njit(cache=True, nogil=True, error_model="numpy")
def column_summaries(
    values: np.ndarray, q_lo: float, q_hi: float, discrete: bool, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover
    """Mean, sd (``ddof=1``; 0 for one draw) and the ``q_lo`` and ``q_hi`` quantiles of
    every column of ``values`` (shape ``(draws, items)``, at least one draw), and the
    per-draw total ``values @ weights``.

    ``discrete``: the quantiles by the inverse of the empirical CDF (``np.quantile``'s
    ``inverted_cdf``), else by linear interpolation (its default).
    """
    d, k = values.shape
    totals = np.zeros(d)
    mean, sd = np.empty(k), np.empty(k)
    lo, hi = np.empty(k), np.empty(k)
    block = np.empty((_BLOCK, d))
    low, high, work = np.empty(d), np.empty(d), np.empty(d)
    m = min(_SAMPLE, d)
    sample = np.empty(m)
    stride = d // m
    # ranks each threshold should reach: about twice the bound's order statistic
    need_lo = min(int(2.0 * q_lo * d) + 8, d)
    need_hi = min(int(2.0 * (1.0 - q_hi) * d) + 8, d)
    s_lo = min(m - 1, (need_lo * m) // d + 1)
    s_hi = max(0, m - 2 - (need_hi * m) // d)
    for j0 in range(0, k, _BLOCK):
        j1 = min(j0 + _BLOCK, k)
        for i in range(d):
            for j in range(j0, j1):
                block[j - j0, i] = values[i, j]
        for j in range(j0, j1):
            row = block[j - j0]
            w = weights[j]
            for i in range(d):
                totals[i] += w * row[i]
            mu, squares, nans = _moments(row)
            if nans > 0:
                mean[j] = sd[j] = lo[j] = hi[j] = np.nan
                continue
            mean[j] = mu
            sd[j] = math.sqrt(squares / (d - 1)) if d > 1 else 0.0
            for i in range(m):
                sample[i] = row[i * stride]
            t_lo = _select(sample, m, s_lo)
            t_hi = _select(sample, m, s_hi)
            n_lo = n_hi = 0
            for i in range(d):  # branch-free copies: no misprediction on random data
                v = row[i]
                low[n_lo] = v
                n_lo += v <= t_lo
                high[n_hi] = v
                n_hi += v >= t_hi
            lo[j] = _bound(row, low, n_lo, 0, q_lo, discrete, work)
            hi[j] = _bound(row, high, n_hi, d - n_hi, q_hi, discrete, work)
    return mean, sd, lo, hi, totals
