"""Compiled loops of the value segments (numba, cached on disk): each customer's value
under a block of draws, the order statistics of each draw's values, and the count of
draws in which each customer lies above each tier bound.

They compute nothing a model defines: the factors come from
:class:`clvlab.decisions.value.CustomerValue`, which forms them from the contract.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["count_above", "gather_line", "order_statistics"]

#: Customers whose values locate the order statistics approximately, before the exact
#: pass over every customer.
PROBE = 16_384


@numba.njit(cache=True, nogil=True)
def gather_line(
    per_row: np.ndarray,
    row_code: np.ndarray,
    c0: np.ndarray,
    c1: np.ndarray,
    x_code: np.ndarray,
    m: np.ndarray,
    out: np.ndarray,
) -> None:
    """``out[j, i] = per_row[j, row_code[i]] * (c0[j, x_code[i]] + c1[j, x_code[i]] m[i])``:
    a factor per distinct history times the spend line per distinct ``x``."""
    for j in range(out.shape[0]):
        for i in range(out.shape[1]):
            k = x_code[i]
            out[j, i] = per_row[j, row_code[i]] * (c0[j, k] + c1[j, k] * m[i])


@numba.njit(cache=True, nogil=True)
def _windows(
    values: np.ndarray, lo: np.ndarray, hi: np.ndarray, buffer: np.ndarray, found: np.ndarray
) -> np.ndarray:
    """For each bracket ``b``: the number of ``values <= lo[b]`` (returned), and the
    values in ``(lo[b], hi[b]]`` copied to ``buffer[b]`` (their number in ``found[b]``;
    ``-1`` if the buffer is too small). One pass over ``values`` for every bracket."""
    below = np.zeros(len(lo), dtype=np.int64)
    found[:] = 0
    for v in values:
        for b in range(len(lo)):
            if v <= lo[b]:
                below[b] += 1
            elif v <= hi[b] and found[b] >= 0:
                if found[b] == buffer.shape[1]:
                    found[b] = -1
                else:
                    buffer[b, found[b]] = v
                    found[b] += 1
    return below


def order_statistics(values: np.ndarray, ranks: np.ndarray, probe: np.ndarray) -> np.ndarray:
    """``np.sort(values, axis=1)[:, ranks]`` without sorting: per row, the order
    statistics are bracketed by those of the ``probe`` columns (a random subset), the
    values in every bracket collected in one pass and partitioned; a bracket that misses
    (rare: it spans about eight standard errors of the probe's quantile) falls back to
    partitioning the whole row. Exact in every case."""
    n = values.shape[1]
    ranks = np.asarray(ranks, dtype=np.int64)
    out = np.empty((values.shape[0], len(ranks)))
    m = len(probe)
    share = (ranks + 0.5) / n
    spread = 4.0 * np.sqrt(share * (1 - share) / m) + 2.0 / m
    lo_rank = np.clip(np.floor((share - spread) * m).astype(np.int64), 0, m - 1)
    hi_rank = np.clip(np.ceil((share + spread) * m).astype(np.int64), 0, m - 1)
    kth = np.unique(np.concatenate([lo_rank, hi_rank]))
    capacity = int(min(n, np.ceil(np.max(hi_rank - lo_rank + 2) / m * n * 2 + 64)))
    buffer = np.empty((len(ranks), capacity))
    found = np.zeros(len(ranks), dtype=np.int64)
    for j in range(values.shape[0]):
        row = values[j]
        sample = np.partition(row[probe], kth)
        lo = np.where(lo_rank > 0, sample[lo_rank], -np.inf)
        hi = np.where(hi_rank < m - 1, sample[hi_rank], np.inf)
        below = _windows(row, lo, hi, buffer, found)
        for b, rank in enumerate(ranks):
            if found[b] > 0 and below[b] <= rank < below[b] + found[b]:
                k = rank - below[b]
                out[j, b] = np.partition(buffer[b, : found[b]], k)[k]
            else:
                out[j, b] = np.partition(row, rank)[rank]
    return out


@numba.njit(cache=True, nogil=True)
def count_above(values: np.ndarray, edges: np.ndarray, above: np.ndarray) -> None:
    """``above[b, i] += #{j : values[j, i] > edges[j, b]}``."""
    for j in range(values.shape[0]):
        for i in range(values.shape[1]):
            v = values[j, i]
            for b in range(edges.shape[1]):
                if v > edges[j, b]:
                    above[b, i] += 1
