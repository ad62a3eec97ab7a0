"""Terms of the BG/NBD predictions computed once per distinct key and parameter draw.

Every conditional BG/NBD quantity of a customer with history ``(x, t_x, T)`` factors
into P(alive at T), which depends on ``(x, t_x, T)``, and a quantity of a customer alive
at ``T``, which depends on ``(x, T)`` only (Fader, Hardie & Lee 2005, eqs. 10-11). On
CDNOW the 23,570 customers have 8,685 distinct triples but only 979 distinct ``(x, T)``
pairs, so the expensive hypergeometric part is computed per pair and draw and gathered
for every customer. :class:`SharedTerm` computes a term once for all chunks of a
prediction (split across the cores) and :func:`purchases_if_alive` is the (discounted)
expected number of purchases of a customer alive at ``T``.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from clvlab._parallel import workers_for
from clvlab.data.folding import runs_of
from clvlab.formulas import bgnbd
from clvlab.formulas import numpy_gather_ops as ops

__all__ = ["SharedTerm", "distinct", "purchases_if_alive"]


def distinct(table: pd.DataFrame, columns: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    """Codes of each row's distinct ``columns`` tuple, and the distinct values per column.

    Examples
    --------
    >>> codes, x, T = distinct(pd.DataFrame({"x": [1, 1, 2], "T": [5.0, 5.0, 5.0]}), ("x", "T"))
    >>> codes.tolist(), x.tolist(), T.tolist()
    ([0, 0, 1], [1.0, 2.0], [5.0, 5.0])
    """
    codes, values = pd.factorize(pd.MultiIndex.from_arrays([table[c] for c in columns]))
    return (
        np.asarray(codes),
        *(values.get_level_values(i).to_numpy(dtype=float) for i in range(len(columns))),
    )


class SharedTerm:
    """A term computed once per distinct key (all of them at once, split across the
    cores; SciPy's special functions and the compiled series release the GIL) for each
    parameter set, and shared by every chunk. Chunks run in threads, so the first one
    computes it under a lock.

    ``compute(part, params)`` returns the term for the keys ``part`` (a slice), with the
    keys on the last axis.
    """

    def __init__(
        self, compute: Callable[[slice, Mapping[str, Any]], np.ndarray], n_keys: int
    ) -> None:
        self._compute = compute
        self._n = n_keys
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def __call__(self, p: Mapping[str, Any]) -> np.ndarray:
        key = "draws" if np.ndim(next(iter(p.values()))) == 2 else "point"
        with self._lock:
            if key not in self._cache:
                workers = workers_for(self._n)
                bounds = np.linspace(0, self._n, workers + 1).astype(int)
                parts = [slice(lo, hi) for lo, hi in itertools.pairwise(bounds)]
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    blocks = pool.map(lambda part: np.asarray(self._compute(part, p)), parts)
                    self._cache[key] = np.concatenate(list(blocks), axis=-1)
            return self._cache[key]


def purchases_if_alive(
    x: np.ndarray, T: np.ndarray, p: Mapping[str, Any], ends: np.ndarray, discounts: np.ndarray
) -> np.ndarray:
    """sum_k disc_k [N(t_k) - N(t_{k-1})] per ``(x, T)`` pair: the discounted expected
    purchases in the periods ending at ``ends`` of a customer alive at ``T``, with ``N``
    the new-customer expectation (FHL 2005 eq. 9) under the posterior parameters
    ``(r + x, alpha + T, a, b + x)``. One end with discount 1 gives eq. 10 divided by
    P(alive).

    Parameters given as floats (the plug-in estimate of an MLE fit) use the closed form,
    so the estimate equals lifetimes; draws, shaped ``(n_draws, 1)``, use the compiled
    series of :mod:`clvlab.predict._discounted_numba`, shape ``(n_draws, n_pairs)``.
    Schedules of more than ``LONG_SCHEDULE`` (64) periods (daily cash flows over years)
    use that module's checked interpolatory rule, whose cost does not grow with the
    number of periods, for the plug-in estimate too (within 1e-11 of the closed form,
    which it falls back to entry by entry).
    """
    from clvlab.predict._discounted_numba import LONG_SCHEDULE

    if np.ndim(p["r"]) < 2:
        if len(ends) <= LONG_SCHEDULE or np.size(p["r"]) != 1:
            return _closed_form(x, T, p, ends, discounts)
        one = {
            n: np.reshape(np.asarray(p[n], dtype=float), (1, 1)) for n in ("r", "alpha", "a", "b")
        }
        return np.asarray(_compiled(x, T, one, ends, discounts)[0])
    return _compiled(x, T, p, ends, discounts)


def _closed_form(
    x: np.ndarray, T: np.ndarray, p: Mapping[str, Any], ends: np.ndarray, discounts: np.ndarray
) -> np.ndarray:
    """:func:`purchases_if_alive` by the closed form of eq. 9, period by period."""
    r, alpha, a, b = (np.asarray(p[n], dtype=float) for n in ("r", "alpha", "a", "b"))
    total = 0.0
    previous = 0.0
    for end, disc in zip(ends, discounts, strict=True):
        current = bgnbd.expected_purchases_new(ops, end, r + x, alpha + T, a, b + x)
        total = total + disc * (current - previous)
        previous = current
    return np.asarray(total)


def _compiled(
    x: np.ndarray, T: np.ndarray, p: Mapping[str, Any], ends: np.ndarray, discounts: np.ndarray
) -> np.ndarray:
    """:func:`purchases_if_alive` for every draw at once by the compiled series (by its
    checked interpolatory rule for more than ``LONG_SCHEDULE`` periods); entries
    neither covers come from the closed form."""
    from clvlab.predict import _discounted_numba as compiled

    order, x_unique, bounds = runs_of(x)
    T_unique, T_index = np.unique(T[order], return_inverse=True)
    r, alpha, a, b = (
        np.ascontiguousarray(np.ravel(p[n]), dtype=float) for n in ("r", "alpha", "a", "b")
    )
    ends = np.asarray(ends, dtype=float)
    discounts = np.asarray(discounts, dtype=float)
    sorted_out = np.empty((len(r), len(x)))
    pairs = (
        r,
        alpha,
        a,
        b,
        x_unique.astype(float),
        bounds.astype(float),
        T_index.ravel().astype(float),
        T_unique.astype(float),
    )
    long = len(ends) > compiled.LONG_SCHEDULE
    if long:
        nodes, fine, coarse = compiled.long_schedule_rule(ends, discounts)
        compiled.discounted_purchases_rule(
            *pairs,
            nodes,
            fine,
            coarse,
            compiled.chebyshev_cosines(),
            compiled.RULE_TOLERANCE,
            sorted_out,
        )
    else:
        compiled.discounted_purchases(*pairs, ends, discounts, sorted_out)
    out = np.empty_like(sorted_out)
    out[:, order] = sorted_out
    missing = np.isnan(out)
    if missing.any() and long:
        # entry by entry: the same rule with eq. 9's closed form at its nodes, checked
        # the same way, and where that check fails the closed form at every period end
        rows, cols = np.nonzero(missing)
        r, alpha, a, b = (
            np.ravel(np.asarray(p[n], dtype=float))[rows] for n in ("r", "alpha", "a", "b")
        )
        xc, Tc = x[cols], T[cols]
        at_nodes = bgnbd.expected_purchases_new(
            ops, nodes, (r + xc)[:, None], (alpha + Tc)[:, None], a[:, None], (b + xc)[:, None]
        )
        by_rule, by_coarse = at_nodes @ fine, at_nodes @ coarse
        rounding = compiled.ROUNDING * (np.abs(at_nodes) @ np.abs(fine))
        error = np.abs(by_rule - by_coarse) + rounding
        good = error <= compiled.RULE_TOLERANCE * np.abs(by_rule)
        out[rows[good], cols[good]] = by_rule[good]
        bad = ~good
        if bad.any():
            draw = {"r": r[bad], "alpha": alpha[bad], "a": a[bad], "b": b[bad]}
            out[rows[bad], cols[bad]] = _closed_form(xc[bad], Tc[bad], draw, ends, discounts)
    elif missing.any():
        some = missing.any(axis=0)
        closed = _closed_form(x[some], T[some], p, ends, discounts)
        out[:, some] = np.where(missing[:, some], closed, out[:, some])
    return out
