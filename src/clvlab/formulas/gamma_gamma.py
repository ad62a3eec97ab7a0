"""Gamma-Gamma spend formulas (Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary
Value"), written once for every backend.

A customer's ``x`` repeat purchases have mean value ``m`` (z-bar). Individual values are
``Gamma(p, nu)`` (shape, rate) and ``nu ~ Gamma(q, v)`` across customers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from clvlab.errors import ConvergenceError
from clvlab.formulas._ops import Ops

__all__ = [
    "conditional_expected_spend",
    "draw_spend_rate",
    "expected_spend_new",
    "loglik",
    "spend_line",
]

Array = Any


def loglik(ops: Ops, x: Array, m: Array, p: Array, q: Array, v: Array) -> Array:
    """Log-density of the mean spend ``m`` of ``x`` purchases, Fader & Hardie (2013) eq. 3.

    .. math::

        \\ln f(\\bar z \\mid x) = \\ln\\Gamma(px+q) - \\ln\\Gamma(px) - \\ln\\Gamma(q)
            + q\\ln v + (px-1)\\ln\\bar z + px\\ln x - (px+q)\\ln(v + x\\bar z)

    Defined for ``x > 0`` and ``m > 0``.
    """
    at = ops.per_value  # terms of one data column: once per distinct value
    px = p * x
    per_x = at(lambda u: ops.gammaln(p * u + q) - ops.gammaln(p * u) + p * u * ops.log(u), x)
    return (
        per_x
        - ops.gammaln(q)
        + q * ops.log(v)
        + (px - 1) * ops.log(m)
        - (px + q) * ops.log(v + x * m)
    )


def conditional_expected_spend(ops: Ops, x: Array, m: Array, p: Array, q: Array, v: Array) -> Array:
    """E[Z | x, m], Fader & Hardie (2013) eq. 5: ``p (v + x m) / (p x + q - 1)``.

    A weighted mean of the population mean ``p v / (q - 1)`` and the customer's own
    mean ``m``; for ``x = 0`` it is the population mean. It is ``E[p / nu]`` with
    ``nu ~ Gamma(p x + q, v + x m)``, which is finite only when ``p x + q > 1``: where a
    parameter draw has ``p x + q <= 1`` (for ``x = 0``: ``q <= 1``) the expected spend is
    infinite, and a :class:`~clvlab.errors.ConvergenceError` says so instead of returning
    the formula's negative value.

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> round(float(conditional_expected_spend(numpy_ops, 2, 22.35, 6.25, 3.74, 15.44)), 1)
    24.7
    """
    # the line's coefficients depend on x only: once per distinct x on backends that
    # evaluate per value (a prediction over draws has 60 distinct x for 9,500 rows)
    intercept, slope = ops.per_value(lambda u: np.stack(spend_line(u, p, q, v)), x)
    return intercept + slope * m


def spend_line(x: Array, p: Array, q: Array, v: Array) -> tuple[Array, Array]:
    """``(c0, c1)`` with ``E[Z | x, m] = c0 + c1 m`` (Fader & Hardie 2013 eq. 5):
    ``c0 = p v / (p x + q - 1)`` and ``c1 = p x / (p x + q - 1)``.

    The expected spend is affine in the customer's mean spend ``m`` with coefficients
    that depend on ``x`` only, so a sum of expected spend over many customers needs
    only their count and the sum of their ``m`` per ``x``: what the decision tables use
    to sum over customers without visiting each one per draw. Refuses (as
    :func:`conditional_expected_spend`) a draw with ``p x + q <= 1``.

    Examples
    --------
    >>> c0, c1 = spend_line(2, 6.25, 3.74, 15.44)
    >>> round(float(c0 + c1 * 22.35), 1)
    24.7
    """
    shape = p * x + q
    _check_finite_mean(shape)
    return p * v / (shape - 1), p * x / (shape - 1)


def expected_spend_new(ops: Ops, p: Array, q: Array, v: Array) -> Array:
    """Population mean spend per transaction, ``p v / (q - 1)`` (Fader & Hardie 2013)."""
    del ops
    _check_finite_mean(q)
    return p * v / (q - 1)


def _check_finite_mean(shape: Array) -> None:
    """Refuse a spend whose posterior shape ``p x + q`` is at most 1 (infinite mean)."""
    import numpy as np

    values = np.asarray(shape, dtype=float)
    bad = int(np.count_nonzero(~(values > 1)))
    if bad:
        raise ConvergenceError(
            f"Gamma-Gamma expected spend is infinite for {bad} of {values.size} "
            "(parameter draw, customer) pairs: p * frequency + q <= 1 there, so the spend "
            "distribution has no finite mean (q <= 1 means spend is too heavy-tailed for "
            "the model). Fix: cap or drop extreme monetary_value outliers and refit, or use "
            "a prior on q that keeps it above 1"
        )


def draw_spend_rate(
    rng: np.random.Generator, x: Array, m: Array, params: Mapping[str, Array]
) -> np.ndarray:
    """Draws of each customer's ``nu`` given ``x`` purchases of mean value ``m``:
    ``Gamma(q + p x, v + x m)`` (shape, rate; Fader & Hardie 2013, eq. 4's posterior).
    Parameters broadcast against the data, e.g. ``(n_draws, 1)`` against ``(rows,)``."""
    p, q, v = params["p"], params["q"], params["v"]
    shape = np.broadcast_shapes(np.shape(p), np.shape(x))
    return rng.gamma(np.broadcast_to(q + p * x, shape)) / (v + x * m)
