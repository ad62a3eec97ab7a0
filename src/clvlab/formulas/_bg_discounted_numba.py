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
LONG_SCHEDULE = 64  # more period ends than this: the rule, not a sum over every end
RULE_NODES = 33  # coarse rule; the fine one has 2 * 33 - 1 nodes
CHEBYSHEV_POINTS = 33  # points of the interpolant of G per draw and x
RULE_TOLERANCE = 1e-11  # relative error accepted from the rule
ROUNDING = 1e-14  # relative rounding of a term of the rule, counted against it


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _series_coefficients(A: float, B: float, C: float, z_max: float, coef: np.ndarray) -> int:
    """Fill ``coef[0:size]`` with ``0, h_1, h_2, ...`` of the series in the module
    docstring, until the tail is negligible at ``z_max``, the largest ``z`` of the pairs
    that share them; return ``size``, or ``MAX_TERMS + 1`` if the series has not
    converged by then."""
    coef[0] = 0.0
    h = A / C
    power = z_max
    for n in range(1, MAX_TERMS + 1):
        coef[n] = h
        if abs(h) * power < TOLERANCE * (1.0 - z_max) * z_max and (A + n) * (B + n) < (C + n) * (
            n + 1
        ):
            return n + 1
        h *= (A + n) * (B + n) / ((C + n) * (n + 1))
        power *= z_max
    return MAX_TERMS + 1


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
    """Fill ``out[s, j, i]`` for weightings ``s`` (rows of ``discounts``, one weight
    per period end), draws ``j`` and pairs ``i`` (sorted by ``x``; pairs
    ``x_bounds[g]:x_bounds[g + 1]`` have ``x = x_unique[g]``; ``pair_T`` indexes
    ``T_unique``). The series is evaluated once for every weighting."""
    n_ends = len(ends)
    n_T = len(T_unique)
    em = np.empty((n_T, n_ends))  # -expm1(B L) / B
    pw = np.empty((n_T, n_ends))  # (1 - z)^B
    zz = np.empty((n_T, n_ends))
    coef = np.empty(MAX_TERMS + 1)
    widest = 0  # the most pairs of one x
    for g in range(len(x_unique)):
        widest = max(widest, int(x_bounds[g + 1]) - int(x_bounds[g]))
    # one lane per (pair, period end) of an x: the Horner steps of every lane are
    # independent, so a long SIMD loop runs them at throughput, not at the latency of
    # one pair's chain of multiply-adds
    lanes_z = np.empty(widest * n_ends)
    acc = np.empty(widest * n_ends)
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
                out[:, j, lo:hi] = np.nan
                continue
            z_max = 0.0
            for i in range(lo, hi):
                z_max = max(z_max, zz[int(pair_T[i]), n_ends - 1])
            size = _series_coefficients(A, B, C, z_max, coef)
            if size > MAX_TERMS:
                out[:, j, lo:hi] = np.nan
                continue
            n_lanes = (hi - lo) * n_ends
            for i in range(lo, hi):
                t = int(pair_T[i])
                for k in range(n_ends):
                    lanes_z[(i - lo) * n_ends + k] = zz[t, k]
            last = coef[size - 1]
            for lane in range(n_lanes):
                acc[lane] = last
            for n in range(size - 2, -1, -1):
                c = coef[n]
                for lane in range(n_lanes):
                    acc[lane] = acc[lane] * lanes_z[lane] + c
            for i in range(lo, hi):
                t = int(pair_T[i])
                row = (i - lo) * n_ends
                previous = 0.0
                for k in range(n_ends):
                    current = C * (em[t, k] - pw[t, k] * acc[row + k])
                    acc[row + k] = current - previous
                    previous = current
                for s in range(discounts.shape[0]):
                    total = 0.0
                    for k in range(n_ends):
                        total += discounts[s, k] * acc[row + k]
                    out[s, j, i] = total


@numba.njit(cache=True, nogil=True, error_model="numpy")
def discounted_purchases_rule(
    r: np.ndarray,
    alpha: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    x_unique: np.ndarray,
    x_bounds: np.ndarray,
    pair_T: np.ndarray,
    T_unique: np.ndarray,
    nodes: np.ndarray,
    q_fine: np.ndarray,
    q_coarse: np.ndarray,
    cheb_cos: np.ndarray,
    tolerance: float,
    out: np.ndarray,
) -> None:
    """:func:`discounted_purchases` for a long schedule by an interpolatory rule.

    ``out[j, i] = sum_m q_fine[m] N(nodes[m])``: the period ends' weights, summed by
    parts, moved onto Chebyshev nodes in ``ln t`` (see
    :func:`clvlab.predict.terms.long_schedule_rule`). ``N`` at the nodes is
    ``C [-expm1(B L) / B - (1 - z)^B G(z)]`` as in :func:`discounted_purchases`, with
    ``G(z) = sum_n h_n z^n`` shared by the pairs of one ``x``: it is summed as a series at
    the ``M`` Chebyshev-Lobatto points of ``v = -ln(1 - z)`` on ``[0, v_max]``
    (``cheb_cos[k, m] = cos(pi k m / (M - 1))``) and interpolated there (``G`` is analytic
    in ``|Im v| < pi``, as ``z = 1`` is at ``v = +inf``).

    Each entry is checked: the coarse rule ``q_coarse`` (every other node) against the
    fine one, plus the interpolation error of ``G`` bounded by its last Chebyshev
    coefficients, plus ``ROUNDING`` times the size of the terms before they cancel, must
    stay within ``tolerance`` of the result; otherwise, and where the
    series does not apply, the entry is NaN and the caller sums the ends exactly.
    """
    n_nodes = len(nodes)
    n_T = len(T_unique)
    M = cheb_cos.shape[0]
    em = np.empty((n_T, n_nodes))  # -expm1(B L) / B
    pw = np.empty((n_T, n_nodes))  # (1 - z)^B
    vv = np.empty((n_T, n_nodes))  # v = -L
    coef = np.empty(MAX_TERMS + 1)
    zc = np.empty(M)
    acc = np.empty(M)
    cheb = np.empty(M)
    b1 = np.empty(n_nodes)
    b2 = np.empty(n_nodes)
    y2 = np.empty(n_nodes)
    for j in range(len(r)):
        A = a[j] + b[j] - 1.0 - r[j]
        B = a[j] - 1.0
        for t in range(n_T):
            base = alpha[j] + T_unique[t]
            for k in range(n_nodes):
                L = -math.log1p(nodes[k] / base)  # ln(1 - z)
                vv[t, k] = -L
                pw[t, k] = math.exp(B * L)
                em[t, k] = -math.expm1(B * L) / B if B != 0.0 else -L
        for g in range(len(x_unique)):
            C = a[j] + b[j] + x_unique[g] - 1.0
            lo, hi = int(x_bounds[g]), int(x_bounds[g + 1])
            if C <= 0.0:
                out[j, lo:hi] = np.nan
                continue
            v_max = 0.0
            for i in range(lo, hi):
                v_max = max(v_max, vv[int(pair_T[i]), 0])
            z_max = -math.expm1(-v_max)
            size = _series_coefficients(A, B, C, z_max, coef)
            if size > MAX_TERMS:
                out[j, lo:hi] = np.nan
                continue
            # G at the Chebyshev-Lobatto points v_m = v_max (1 + cos(pi m / (M - 1))) / 2
            for m in range(M):
                zc[m] = -math.expm1(-0.5 * v_max * (1.0 + cheb_cos[1, m]))
                acc[m] = coef[size - 1]
            for n in range(size - 2, -1, -1):
                c = coef[n]
                for m in range(M):
                    acc[m] = acc[m] * zc[m] + c
            # Chebyshev coefficients (DCT-I), and the interpolation error they imply
            for k in range(M):
                s = 0.0
                for m in range(M):
                    w = 0.5 if m == 0 or m == M - 1 else 1.0
                    s += w * acc[m] * cheb_cos[k, m]
                cheb[k] = s * 2.0 / (M - 1)
            cheb[0] *= 0.5
            cheb[M - 1] *= 0.5
            g_error = 2.0 * (abs(cheb[M - 1]) + abs(cheb[M - 2]) + abs(cheb[M - 3]))
            for i in range(lo, hi):
                t = int(pair_T[i])
                # Clenshaw's recurrence at every node in lockstep
                for k in range(n_nodes):
                    y2[k] = 2.0 * (2.0 * vv[t, k] / v_max - 1.0)
                    b1[k] = 0.0
                    b2[k] = 0.0
                for m in range(M - 1, 0, -1):
                    c = cheb[m]
                    for k in range(n_nodes):
                        b0 = y2[k] * b1[k] - b2[k] + c
                        b2[k] = b1[k]
                        b1[k] = b0
                fine = 0.0
                coarse = 0.0
                spread = 0.0
                size_of = 0.0
                for k in range(n_nodes):
                    G = 0.5 * y2[k] * b1[k] - b2[k] + cheb[0]
                    value = C * (em[t, k] - pw[t, k] * G)
                    fine += q_fine[k] * value
                    coarse += q_coarse[k] * value
                    spread += abs(q_fine[k]) * pw[t, k]
                    size_of += abs(q_fine[k]) * C * (abs(em[t, k]) + pw[t, k] * abs(G))
                # rule error, interpolation error of G, and rounding where the weighted
                # terms cancel (discounts that grow, i.e. a negative discount rate)
                error = abs(fine - coarse) + C * g_error * spread + ROUNDING * size_of
                out[j, i] = fine if error <= tolerance * abs(fine) else np.nan


def long_schedule_rule(
    ends: np.ndarray, discounts: np.ndarray, n_coarse: int = RULE_NODES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes and weights that replace the period ends of a long schedule.

    Summation by parts turns ``sum_k d_k [N(t_k) - N(t_{k-1})]`` (``N(0) = 0``) into
    ``sum_k w_k N(t_k)`` with ``w_k = d_k - d_{k+1}`` and ``d_{K+1} = 0``: one weight vector
    for every pair and draw. ``N`` is analytic off ``(-inf, -(alpha + T)]``, so as a
    function of ``u = ln t`` it is analytic in the strip ``|Im u| < pi`` whatever
    ``alpha + T``, and its polynomial interpolant at Chebyshev-Lobatto points of ``u`` on
    ``[ln t_1, ln t_K]`` converges geometrically (Trefethen, *Approximation Theory and
    Approximation Practice*, ch. 8). With ``l_m`` that interpolant's Lagrange basis,
    ``q_m = sum_k w_k l_m(u_k)``, so ``sum_k w_k N(t_k) ~ sum_m q_m N(s_m)``.

    Returns the ``2 n_coarse - 1`` nodes ``s_m`` (largest first), the weights of that
    rule, and those of the nested ``n_coarse``-point rule (zero at the other nodes), whose
    difference estimates the error.
    """
    ends = np.asarray(ends, dtype=float)
    discounts = np.asarray(discounts, dtype=float)
    weights = discounts - np.append(discounts[1:], 0.0)
    u = np.log(ends)
    n = 2 * n_coarse - 1
    centre, half = 0.5 * (u[-1] + u[0]), 0.5 * (u[-1] - u[0])
    nodes_u = centre + half * np.cos(np.pi * np.arange(n) / (n - 1))
    nodes_u[0], nodes_u[-1] = u[-1], u[0]
    nodes = np.exp(nodes_u)
    nodes[0], nodes[-1] = ends[-1], ends[0]
    fine = _lagrange_weights(u, nodes_u, weights)
    coarse = np.zeros(n)
    coarse[::2] = _lagrange_weights(u, nodes_u[::2], weights)
    return nodes, fine, coarse


def _lagrange_weights(u: np.ndarray, nodes_u: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``sum_k weights_k l_m(u_k)`` for the Lagrange basis ``l_m`` at Chebyshev-Lobatto
    points ``nodes_u``, by the barycentric formula (weights ``(-1)^m``, halved at the
    two ends; Berrut & Trefethen 2004, eq. 5.2)."""
    lam = (-1.0) ** np.arange(len(nodes_u))
    lam[[0, -1]] *= 0.5
    diff = u[:, None] - nodes_u[None, :]
    hit = diff == 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = lam / diff
    rows = hit.any(axis=1)
    terms[rows] = hit[rows].astype(float)
    basis = terms / terms.sum(axis=1, keepdims=True)
    return np.asarray(weights @ basis)


def chebyshev_cosines(n_points: int = CHEBYSHEV_POINTS) -> np.ndarray:
    """``cos(pi k m / (n - 1))`` for the DCT-I of :func:`discounted_purchases_rule`."""
    k = np.arange(n_points)
    return np.cos(np.pi * np.outer(k, k) / (n_points - 1))
