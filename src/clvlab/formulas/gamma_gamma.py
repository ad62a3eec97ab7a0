"""Gamma-Gamma spend formulas (Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary
Value"), written once for every backend.

A customer's ``x`` repeat purchases have mean value ``m`` (z-bar). Individual values are
``Gamma(p, nu)`` (shape, rate) and ``nu ~ Gamma(q, v)`` across customers.
"""

from __future__ import annotations

from typing import Any

from clvlab.formulas._ops import Ops

__all__ = ["conditional_expected_spend", "expected_spend_new", "loglik"]

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
    mean ``m``; for ``x = 0`` it is the population mean.

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> round(float(conditional_expected_spend(numpy_ops, 2, 22.35, 6.25, 3.74, 15.44)), 1)
    24.7
    """
    del ops  # rational function: identical in every backend
    return p * (v + x * m) / (p * x + q - 1)


def expected_spend_new(ops: Ops, p: Array, q: Array, v: Array) -> Array:
    """Population mean spend per transaction, ``p v / (q - 1)`` (Fader & Hardie 2013)."""
    del ops
    return p * v / (q - 1)
