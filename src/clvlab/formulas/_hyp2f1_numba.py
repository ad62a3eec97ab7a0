"""Compiled series for the Gauss hypergeometric tail (numba, cached on disk).

Imported only when a prediction needs it (see :func:`clvlab.formulas._ops.hyp2f1_tail`).
For ``C > -1`` and ``0 <= z < 1`` this sums

.. math:: U(A, B, C, z) = C\\,\\frac{{}_2F_1(A, B; C; z) - 1}{B}
          = \\sum_{n \\ge 1} \\frac{(A)_n\\,(B + 1)_{n-1}}{(C + 1)_{n-1}\\, n!} z^n

term by term (the Gauss series, DLMF 15.2.1, with the factor ``B / C`` taken out).
Summing the tail directly avoids the cancellation of ``F - 1`` when ``F`` is close to 1
(small ``z`` or large ``C``) and stays finite at ``B = 0`` and ``C = 0``.

Stopping rule: the ratio of consecutive terms is ``z f(n)`` with
``f(n) = (A + n)(B + n) / ((C + n)(n + 1))`` and
``f(n) - 1 = (c_1 n + c_0) / ((C + n)(n + 1))``, ``c_1 = A + B - C - 1``,
``c_0 = AB - C``. Once ``n > -A, -B`` every later ratio lies in
``[0, z (1 + max(c_1, 0) / (C + n) + max(c_0, 0) / ((C + n)(n + 1)))] = [0, rho]``, so
when ``rho < 1`` the remainder is at most ``|term| rho / (1 - rho)``. The sum stops once
that bound is below the rounding of the partial sum; when that needs more than
:data:`MAX_TERMS` terms, or when alternating early terms cancel, the result is NaN and
the caller uses another evaluation.
"""

from __future__ import annotations

import math

import numba

MAX_TERMS = 20000
#: relative size of the neglected remainder
TOLERANCE = 1e-16
#: largest tolerated ratio of the biggest term to the sum (cancellation)
CANCELLATION = 1e4


@numba.vectorize(
    ["float64(float64, float64, float64, float64)"], cache=True, nopython=True, target="cpu"
)
def hyp2f1_tail_series(A: float, B: float, C: float, z: float) -> float:  # pragma: no cover
    """``C (2F1(A, B; C; z) - 1) / B`` by its series, or NaN where it is unusable."""
    if not (C > -1.0 and z >= 0.0 and z < 1.0):
        return math.nan
    if z == 0.0:
        return 0.0
    term = A * z
    total = term
    biggest = abs(term)
    c1 = A + B - C - 1.0
    c0 = A * B - C
    n = 1.0
    while n < MAX_TERMS:
        term *= (A + n) * (B + n) / ((C + n) * (n + 1.0)) * z
        total += term
        n += 1.0
        magnitude = abs(term)
        if magnitude > biggest:
            biggest = magnitude
        if not math.isfinite(total):
            return math.nan
        if n > -A and n > -B:
            # rho = z * bound / ((C + n)(n + 1)) is at least every later ratio; the test
            # magnitude * rho / (1 - rho) <= TOLERANCE * |total| without divisions
            d = (C + n) * (n + 1.0)
            rho_d = z * (d + max(c1, 0.0) * (n + 1.0) + max(c0, 0.0))
            if rho_d < d and magnitude * rho_d <= TOLERANCE * abs(total) * (d - rho_d):
                if biggest > CANCELLATION * abs(total):
                    return math.nan
                return total
    return math.nan
