"""Discounted expected purchases of a BG/NBD customer alive at ``T``, for CLV.

:func:`discounted_purchases_if_alive` is the part of the CLV that depends on the draw and
on ``(x, T)`` only; the BG/NBD and the MBG/NBD (whose customers, once alive at ``T``,
follow the BG/NBD process) both reach it through their formula modules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from clvlab._runs import runs_of
from clvlab.formulas._ops import numpy_gather_ops as ops
from clvlab.formulas._schedule import discounted_increments

__all__ = ["discounted_purchases_if_alive"]

#: eq. 9 as ``closed_form(ops, t, r, alpha, a, b)``
ClosedForm = Callable[..., Any]


def discounted_purchases_if_alive(
    x: np.ndarray,
    T: np.ndarray,
    p: Mapping[str, Any],
    ends: np.ndarray,
    discounts: np.ndarray,
    closed_form: ClosedForm,
) -> np.ndarray:
    """sum_k disc_k [N(t_k) - N(t_{k-1})] per ``(x, T)`` pair: the discounted expected
    purchases in the periods ending at ``ends`` of a customer alive at ``T``, with ``N``
    the new-customer expectation (FHL 2005 eq. 9) under the posterior parameters
    ``(r + x, alpha + T, a, b + x)``. One end with discount 1 gives eq. 10 divided by
    P(alive).

    Parameters given as floats (the plug-in estimate of an MLE fit) use the closed form,
    so the estimate equals lifetimes; draws, shaped ``(n_draws, 1)``, use the compiled
    series of :mod:`clvlab.formulas._bg_discounted_numba`, shape ``(n_draws, n_pairs)``.
    Schedules of more than ``LONG_SCHEDULE`` (64) periods (daily cash flows over years)
    use that module's checked interpolatory rule, whose cost does not grow with the
    number of periods, for the plug-in estimate too (within 1e-11 of the closed form,
    which it falls back to entry by entry).

    ``discounts`` may be 2-D, ``(n_sets, n_periods)``: several weightings of the same
    schedule at once (e.g. the cumulative purchases at each period end), with a leading
    ``n_sets`` axis in the result; the series is evaluated once for all of them.
    """
    from clvlab.formulas._bg_discounted_numba import LONG_SCHEDULE

    if np.ndim(p["r"]) < 2:
        if len(ends) <= LONG_SCHEDULE or np.size(p["r"]) != 1:
            return _closed_form(x, T, p, ends, discounts, closed_form)
        one = {
            n: np.reshape(np.asarray(p[n], dtype=float), (1, 1)) for n in ("r", "alpha", "a", "b")
        }
        return np.asarray(_compiled(x, T, one, ends, discounts, closed_form)[..., 0, :])
    return _compiled(x, T, p, ends, discounts, closed_form)


def _closed_form(
    x: np.ndarray,
    T: np.ndarray,
    p: Mapping[str, Any],
    ends: np.ndarray,
    discounts: np.ndarray,
    closed_form: ClosedForm,
) -> np.ndarray:
    """:func:`discounted_purchases_if_alive` by the closed form of eq. 9, period by period."""
    r, alpha, a, b = (np.asarray(p[n], dtype=float) for n in ("r", "alpha", "a", "b"))
    return discounted_increments(
        (closed_form(ops, end, r + x, alpha + T, a, b + x) for end in ends), discounts
    )


def _compiled(
    x: np.ndarray,
    T: np.ndarray,
    p: Mapping[str, Any],
    ends: np.ndarray,
    discounts: np.ndarray,
    closed_form: ClosedForm,
) -> np.ndarray:
    """:func:`discounted_purchases_if_alive` for every draw at once by the compiled series (by its
    checked interpolatory rule for more than ``LONG_SCHEDULE`` periods); entries
    neither covers come from the closed form."""
    from clvlab.formulas import _bg_discounted_numba as compiled

    order, x_unique, bounds = runs_of(x)
    T_unique, T_index = np.unique(T[order], return_inverse=True)
    r, alpha, a, b = (
        np.ascontiguousarray(np.ravel(p[n]), dtype=float) for n in ("r", "alpha", "a", "b")
    )
    ends = np.asarray(ends, dtype=float)
    discounts = np.asarray(discounts, dtype=float)
    if discounts.ndim == 2 and len(ends) > compiled.LONG_SCHEDULE:
        # the long-schedule rule takes one weighting at a time
        return np.stack([_compiled(x, T, p, ends, row, closed_form) for row in discounts])
    sets = np.atleast_2d(discounts)
    sorted_out = np.empty((len(sets), len(r), len(x)))
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
            sorted_out[0],
        )
    else:
        compiled.discounted_purchases(*pairs, ends, sets, sorted_out)
    out = np.empty_like(sorted_out)
    out[..., order] = sorted_out
    if discounts.ndim == 2:
        missing_any = np.isnan(out).any(axis=0)
        if missing_any.any():
            some = missing_any.any(axis=0)
            closed = _closed_form(x[some], T[some], p, ends, discounts, closed_form)
            out[..., some] = np.where(np.isnan(out[..., some]), closed, out[..., some])
        return out
    out = out[0]
    missing = np.isnan(out)
    if missing.any() and long:
        # entry by entry: the same rule with eq. 9's closed form at its nodes, checked
        # the same way, and where that check fails the closed form at every period end
        rows, cols = np.nonzero(missing)
        r, alpha, a, b = (
            np.ravel(np.asarray(p[n], dtype=float))[rows] for n in ("r", "alpha", "a", "b")
        )
        xc, Tc = x[cols], T[cols]
        at_nodes = closed_form(
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
            out[rows[bad], cols[bad]] = _closed_form(
                xc[bad], Tc[bad], draw, ends, discounts, closed_form
            )
    elif missing.any():
        some = missing.any(axis=0)
        closed = _closed_form(x[some], T[some], p, ends, discounts, closed_form)
        out[:, some] = np.where(missing[:, some], closed, out[:, some])
    return out
