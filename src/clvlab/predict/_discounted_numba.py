"""Compiled discounted BG/NBD purchases for CLV (numba, cached on disk).

For every parameter draw ``j`` and distinct ``(x, T)`` pair this computes

.. math:: \\sum_k d_k \\,[N(t_k) - N(t_{k-1})],\\qquad
          N(t) = E[X(t)]\\ \\text{of a new customer with}\\ (r + x, \\alpha + T, a, b + x)

(Fader, Hardie & Lee 2005, eq. 9; :func:`clvlab.formulas.bgnbd.expected_purchases_new`
is the definition, and the tests check this module against it). With
``z = t / (alpha + T + t)``, Euler's transformation of the hypergeometric term gives

.. math:: N(t) = C \\Big[\\frac{-\\operatorname{expm1}(B L)}{B}
          - (1 - z)^{B} \\sum_{n \\ge 1} h_n z^n\\Big],\\quad
          h_1 = \\frac{A}{C},\\ h_{n+1} = h_n \\frac{(A + n)(B + n)}{(C + n)(n + 1)}

with ``A = a + b - 1 - r``, ``B = a - 1``, ``C = a + b + x - 1`` and ``L = ln(1 - z)``.
Three things make it fast: the coefficients ``h_n`` depend on the draw and ``x`` only,
so they are computed once and shared by every ``T`` and period end; the logarithms and
powers depend on the draw and ``(T, t_k)`` only, so they are tabulated per distinct
``T``; and the series for the period ends of one pair is evaluated in lockstep (SIMD).
The form is also stable as ``a -> 1``, where eq. 9's ``(a + b - 1) / (a - 1)`` factor
and its bracket both degenerate.

Where the series does not apply (``C <= 0``, or ``z`` so close to 1 that more than
:data:`MAX_TERMS` terms would be needed) the entry is NaN, and the caller evaluates the
closed form (:func:`clvlab.formulas.bgnbd.expected_purchases_new`, the same Euler-transformed
expression, finite for heavy buyers) instead.
"""

from __future__ import annotations

import math

import numba
import numpy as np

MAX_TERMS = 4000
TOLERANCE = 1e-16


@numba.njit(cache=True, nogil=True, error_model="numpy")
def discounted_purchases(
    r: np.ndarray,
    alpha: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    x_unique: np.ndarray,
    x_bounds: np.ndarray,
    pair_T: np.ndarray,
    T_unique: np.ndarray,
    ends: np.ndarray,
    discounts: np.ndarray,
    out: np.ndarray,
) -> None:
    """Fill ``out[j, i]`` for draws ``j`` and pairs ``i`` (sorted by ``x``; pairs
    ``x_bounds[g]:x_bounds[g + 1]`` have ``x = x_unique[g]``; ``pair_T`` indexes
    ``T_unique``)."""
    n_ends = len(ends)
    n_T = len(T_unique)
    em = np.empty((n_T, n_ends))  # -expm1(B L) / B
    pw = np.empty((n_T, n_ends))  # (1 - z)^B
    zz = np.empty((n_T, n_ends))
    coef = np.empty(MAX_TERMS + 1)
    acc = np.empty(n_ends)
    for j in range(len(r)):
        A = a[j] + b[j] - 1.0 - r[j]
        B = a[j] - 1.0
        for t in range(n_T):
            base = alpha[j] + T_unique[t]
            for k in range(n_ends):
                L = -math.log1p(ends[k] / base)  # ln(1 - z)
                zz[t, k] = ends[k] / (base + ends[k])
                pw[t, k] = math.exp(B * L)
                em[t, k] = -math.expm1(B * L) / B if B != 0.0 else -L
        for g in range(len(x_unique)):
            C = a[j] + b[j] + x_unique[g] - 1.0
            lo, hi = int(x_bounds[g]), int(x_bounds[g + 1])
            if C <= 0.0:
                out[j, lo:hi] = np.nan
                continue
            z_max = 0.0
            for i in range(lo, hi):
                z_max = max(z_max, zz[int(pair_T[i]), n_ends - 1])
            # coefficients until the tail is negligible at the largest z of the group
            coef[0] = 0.0
            h = A / C
            size = MAX_TERMS + 1
            power = z_max
            for n in range(1, MAX_TERMS + 1):
                coef[n] = h
                if abs(h) * power < TOLERANCE * (1.0 - z_max) * z_max and (A + n) * (B + n) < (
                    C + n
                ) * (n + 1):
                    size = n + 1
                    break
                h *= (A + n) * (B + n) / ((C + n) * (n + 1))
                power *= z_max
            if size > MAX_TERMS:
                out[j, lo:hi] = np.nan
                continue
            for i in range(lo, hi):
                t = int(pair_T[i])
                for k in range(n_ends):
                    acc[k] = coef[size - 1]
                for n in range(size - 2, -1, -1):
                    c = coef[n]
                    for k in range(n_ends):
                        acc[k] = acc[k] * zz[t, k] + c
                total = 0.0
                previous = 0.0
                for k in range(n_ends):
                    current = C * (em[t, k] - pw[t, k] * acc[k])
                    total += discounts[k] * (current - previous)
                    previous = current
                out[j, i] = total
