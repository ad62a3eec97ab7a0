"""The beta-geometric dropout process, shared by BG/BB and the shifted-beta-geometric model.

A customer is alive at a sequence of opportunities and drops out before each one with
probability ``theta``; ``theta ~ Beta(gamma, delta)`` across customers. Alive at the first
of the next ``t`` opportunities, he is alive at the ``k``-th of them with probability

.. math:: P(\text{alive at } k) = \frac{B(\\gamma, \\delta + k - 1)}{B(\\gamma, \\delta)}

(the survival function of the shifted-beta-geometric distribution, Fader & Hardie 2007
eq. 3, one opportunity later). BG/BB (Fader, Hardie & Shang 2010) transacts at each
opportunity he is alive at with probability ``p``; the shifted-beta-geometric model of a
contract (Fader & Hardie 2007) renews at each one (``p = 1``). The formulas of that
process are written here once: :func:`log_rising` for the ratios of Gamma functions,
:func:`alive_opportunities` for the expected number of opportunities alive at,
:func:`alive_opportunity_probability` for its distribution, and
:func:`remaining_opportunities` for its simulation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from clvlab.formulas._ops import Ops, numpy_ops

__all__ = [
    "alive_opportunities",
    "alive_opportunity_probability",
    "excess",
    "log_rising",
    "remaining_opportunities",
    "survival_ratio",
]

Array = Any

#: Below this argument ``log_rising`` is a difference of ``gammaln``; above it, Stirling.
_STIRLING_FROM = 10.0
#: B_{2k} / (2k (2k - 1)), k = 1..5: the terms of Stirling's series for ln Gamma
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188)


def log_rising(ops: Ops, a: Array, h: Array) -> Array:
    """``ln Gamma(a + h) - ln Gamma(a)`` (the log of the rising factorial ``(a)_h``).

    For ``a >= 10`` from Stirling's series (DLMF 5.11.1) written as a difference,

    .. math:: (a - \\tfrac12)\\,\\operatorname{log1p}(h/a) + h\\ln(a+h) - h
              + \\sum_{k=1}^{5} \\frac{B_{2k}}{2k(2k-1)}\\big((a+h)^{1-2k} - a^{1-2k}\\big)

    (truncation below 1e-13 absolute), which keeps every digit when ``a`` is huge and
    ``h`` small, where ``gammaln(a + h) - gammaln(a)`` cancels; below, that difference.
    Exactly 0 at ``h = 0``. Elementary functions only, so it runs on every backend.

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> round(float(log_rising(numpy_ops, 1e8, 1.0)), 12) == round(float(np.log(1e8)), 12)
    True
    """
    big = a >= _STIRLING_FROM
    safe = ops.where(big, a, _STIRLING_FROM)  # both branches stay finite (gradients)
    grow = ops.log1p(h / safe)  # ln((a + h) / a)
    stirling = (safe - 0.5) * grow + h * (ops.log(safe) + grow) - h
    for k, c in enumerate(_STIRLING, start=1):
        # (a+h)^(1-2k) - a^(1-2k), exactly 0 at h = 0 and without cancellation
        stirling = stirling + c * safe ** (1 - 2 * k) * ops.expm1((1 - 2 * k) * grow)
    small = ops.where(big, 1.0, a)
    direct = ops.gammaln(small + h) - ops.gammaln(small)
    return ops.where(big, stirling, direct)


def _digamma_rise(d: Array, h: Array) -> np.ndarray:
    """``psi(d + h) - psi(d)`` (NumPy): for ``d >= 10`` the difference of the asymptotic
    series (DLMF 5.11.2), ``log1p(h/d) + ((d+h)^-1 - d^-1)/2 - sum_k B_2k/(2k) ((d+h)^-2k
    - d^-2k)``, without the cancellation of two nearly equal ``psi``; below, SciPy's."""
    from scipy import special

    big = d >= _STIRLING_FROM
    safe = np.where(big, d, _STIRLING_FROM)
    grow = np.log1p(h / safe)
    series = grow - 0.5 / safe * np.expm1(-grow)
    for k, c in enumerate((1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132), start=1):
        series = series - c * safe ** (-2.0 * k) * np.expm1(-2 * k * grow)
    small = np.where(big, 1.0, d)
    return np.where(big, series, special.psi(small + h) - special.psi(small))


def excess(d: Array, g: Array, h: Array) -> np.ndarray:
    """``(1 - R) / g`` with ``R = Gamma(d+h) Gamma(d+g) / (Gamma(d) Gamma(d+g+h))``, for
    ``d >= 1`` and ``d + g > 0`` (NumPy).

    The bracket of FHS eqs. 9 and 13 over ``gamma - 1`` (``g``). ``ln R`` is
    ``-(ln Gamma(d+g+h) - ln Gamma(d+g)) + (ln Gamma(d+h) - ln Gamma(d))``; where ``|g|``
    is small against ``d`` that difference cancels, so there it is the Taylor series in
    ``g``, ``ln R = g L``, ``L = -sum_{m=1}^{6} g^(m-1) / m! (psi^(m-1)(d+h) -
    psi^(m-1)(d))`` (relative truncation below ``(g/d)^6``), and ``(1 - R) / g = -L
    exprel(g L)``, which is exact at ``g = 0`` (``gamma = 1``, where eq. 9's factor
    ``1 / (gamma - 1)`` is singular). Elsewhere ``-expm1(ln R) / g`` from
    :func:`log_rising`.
    """
    from scipy import special

    d, g, h = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (d, g, h)))
    near = np.abs(g) < 0.01 * d
    gg = np.where(near, 1.0, g)
    log_ratio = log_rising(numpy_ops, d, h) - log_rising(numpy_ops, d + gg, h)
    far = -np.expm1(log_ratio) / gg
    gn = np.where(near, g, 0.0)
    slope = -_digamma_rise(d, h)
    factorial = 1.0
    for m in range(2, 7):
        factorial *= m
        rise = special.polygamma(m - 1, d + h) - special.polygamma(m - 1, d)
        slope = slope - gn ** (m - 1) / factorial * rise
    taylor = -slope * special.exprel(gn * slope)
    return np.where(near, taylor, far)


def survival_ratio(ops: Ops, gamma: Array, delta: Array, t: Array) -> Array:
    """``B(gamma, delta + t) / B(gamma, delta)``: alive ``t`` more opportunities.

    Fader & Hardie (2007) eq. 3's survival function ``S(t)`` (with ``alpha, beta`` for
    ``gamma, delta``), as ``exp(log_rising(delta, t) - log_rising(gamma + delta, t))``;
    capped at 1 against rounding.
    """
    return ops.minimum(ops.exp(log_rising(ops, delta, t) - log_rising(ops, gamma + delta, t)), 1.0)


def alive_opportunities(ops: Ops, t: Array, gamma: Array, delta: Array) -> Array:
    """Expected number of the next ``t`` opportunities alive at, alive at the first.

    .. math:: \\sum_{k=0}^{t-1} \frac{B(\\gamma, \\delta+k)}{B(\\gamma,\\delta)}
              = 1 + \\delta\\,\frac{1 - \frac{\\Gamma(\\gamma+\\delta)\\,\\Gamma(\\delta+t)}
              {\\Gamma(\\delta+1)\\,\\Gamma(\\gamma+\\delta+t-1)}}{\\gamma - 1}

    for ``t >= 1`` (0 at ``t = 0``): the sum telescopes as in the derivation of Fader,
    Hardie & Shang (2010) eq. 13, and the bracket over ``gamma - 1`` is :func:`excess`
    (finite at ``gamma = 1``).
    """
    later = ops.maximum(t - 1, 0.0)
    expected = 1 + delta * excess(delta + 1, gamma - 1, later)
    return ops.where(t > 0.5, ops.maximum(expected, 0.0), 0.0)


def alive_opportunity_probability(t: Array, j: float, gamma: Array, delta: Array) -> np.ndarray:
    """P(alive at exactly ``j`` of the next ``t`` opportunities | alive at the first).

    ``B(gamma + 1, delta + j - 1) / B(gamma, delta)`` for ``1 <= j < t`` (drops out
    before the ``j + 1``-th; Fader & Hardie 2007 eq. 2 shifted by ``j - 1``),
    ``B(gamma, delta + t - 1) / B(gamma, delta)`` for ``j = t`` (alive at all of them),
    1 for ``j = t = 0`` and 0 otherwise (NumPy).
    """
    t = np.asarray(t, dtype=float)
    g, d = (np.asarray(v, dtype=float) for v in (gamma, delta))
    if j == 0:
        return (t < 0.5).astype(float) + 0 * g + 0 * d
    before = j - 1.0
    stop = (
        g
        / (g + d)
        * np.exp(log_rising(numpy_ops, d, before) - log_rising(numpy_ops, g + d + 1, before))
    )
    last = np.exp(log_rising(numpy_ops, d, before) - log_rising(numpy_ops, g + d, before))
    return np.where(j < t - 0.5, stop, np.where(np.abs(j - t) < 0.5, last, 0.0))


def remaining_opportunities(rng: np.random.Generator, theta: np.ndarray) -> np.ndarray:
    """Number ``K >= 1`` of opportunities alive at, from one known alive on, per ``theta``.

    Geometric, ``P(K > k) = (1 - theta)^k``, drawn by inversion (no integer overflow when
    ``theta`` is tiny): ``K = 1 + floor(ln U / ln(1 - theta))``, ``U`` uniform on (0, 1];
    ``inf`` when ``theta`` is 0 to rounding (never drops out).
    """
    u = 1.0 - rng.random(np.shape(theta))  # in (0, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        later = np.floor(np.log(u) / np.log1p(-np.minimum(theta, 1.0)))
    return 1.0 + np.where(np.isnan(later), 0.0, later)  # u = 1 (0 / 0): K = 1
