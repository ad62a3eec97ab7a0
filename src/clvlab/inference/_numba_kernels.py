"""The numba side of :mod:`clvlab.inference.kernels` (imported only when a kernel runs).

Every function is compiled with ``cache=True``: numba stores the machine code next to
this file (or in ``NUMBA_CACHE_DIR``), so only the first fit of an installation pays
for compiling.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types

from clvlab.inference.kernels import HEADER  # the buffer layout is documented there

jit = numba.njit(cache=True, error_model="numpy")


@jit
def digamma(x: float) -> float:
    """psi(x) for x > 0: recurrence up to 10, then the asymptotic series."""
    acc = 0.0
    while x < 10.0:
        acc -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    series = f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f * (1 / 132)))))
    return acc + math.log(x) - 0.5 / x - series


@jit
def lbeta(a: float, b: float) -> float:
    """ln B(a, b)."""
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


@jit
def array(buf: np.ndarray, i: int) -> np.ndarray:
    """The ``i``-th data array of a buffer packed by :func:`kernels.kernel_data`."""
    table = HEADER + 3 * int(buf[1])
    start = int(buf[table + 2 * i])
    return buf[start : start + int(buf[table + 2 * i + 1])]


@jit
def prior(code: float, p1: float, p2: float, th: float) -> tuple[float, float]:
    """log prior density of theta and its derivative in theta (PyMC's densities)."""
    lt = math.log(th)
    if code == 0.0:  # HalfFlat
        return 0.0, 0.0
    if code == 1.0:  # LogNormal(mu, sigma)
        z = (lt - p1) / p2
        return -lt - math.log(p2) - 0.5 * math.log(2 * math.pi) - 0.5 * z * z, -(1.0 + z / p2) / th
    if code == 2.0:  # Gamma(alpha, beta)
        return p1 * math.log(p2) - math.lgamma(p1) + (p1 - 1) * lt - p2 * th, (p1 - 1) / th - p2
    if code == 3.0:  # HalfNormal(sigma)
        return 0.5 * math.log(2 / math.pi) - math.log(p1) - 0.5 * (th / p1) ** 2, -th / (p1 * p1)
    if code == 4.0:  # Exponential(lam)
        return math.log(p1) - p1 * th, -p1
    if code == 5.0:  # HalfCauchy(beta)
        z = th / p1
        return math.log(2 / math.pi) - math.log(p1) - math.log1p(z * z), -2 * z / (p1 * (1 + z * z))
    if code == 6.0:  # InverseGamma(alpha, beta)
        return p1 * math.log(p2) - math.lgamma(p1) - (p1 + 1) * lt - p2 / th, -(
            p1 + 1
        ) / th + p2 / (th * th)
    # Weibull(alpha, beta)
    z = th / p2
    return math.log(p1) - math.log(p2) + (p1 - 1) * math.log(z) - z**p1, (p1 - 1) / th - p1 * z ** (
        p1 - 1
    ) / p2


# Row loops are written so LLVM vectorises them (SIMD): no libm calls, no branches that
# cannot become selects. exp and log1p are evaluated by the polynomials below, accurate
# to a few units in the last place on the ranges used (checked in the tests).
VECTOR = {"reassoc", "contract", "nsz", "arcp"}  # fastmath without giving up NaN/inf
vjit = numba.njit(cache=True, error_model="numpy", fastmath=VECTOR)
LN2_HI, LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e00
EXP_ARG_MAX = 40.0  # exp(-40) = 4e-18 is below half an ulp of 1: log1p and sigmoid exact


@vjit
def _exp_poly(x: float) -> float:
    """exp(x) for |x| <= ln(2) / 2: Taylor polynomial of degree 12 (error < 2e-16),
    written out so that it compiles to straight-line code."""
    p = 1 / 479001600
    p = p * x + 1 / 39916800
    p = p * x + 1 / 3628800
    p = p * x + 1 / 362880
    p = p * x + 1 / 40320
    p = p * x + 1 / 5040
    p = p * x + 1 / 720
    p = p * x + 1 / 120
    p = p * x + 1 / 24
    p = p * x + 1 / 6
    p = p * x + 1 / 2
    p = p * x + 1.0
    return p * x + 1.0


@vjit
def _log1p_unit(e: float) -> float:
    """log(1 + e) for 0 <= e <= 1, as 2 atanh(s) with |s| <= 0.172 (series to s**23)."""
    high = e > 0.41421356237309503  # 1 + e > sqrt(2): use log((1 + e) / 2) + ln 2
    s = (e - 1.0) / (e + 3.0) if high else e / (2.0 + e)
    s2 = s * s
    p = 1 / 23
    p = p * s2 + 1 / 21
    p = p * s2 + 1 / 19
    p = p * s2 + 1 / 17
    p = p * s2 + 1 / 15
    p = p * s2 + 1 / 13
    p = p * s2 + 1 / 11
    p = p * s2 + 1 / 9
    p = p * s2 + 1 / 7
    p = p * s2 + 1 / 5
    p = p * s2 + 1 / 3
    p = p * s2 + 1.0
    return 2.0 * s * p + (LN2_HI + LN2_LO if high else 0.0)


@vjit
def _exp_neg(y: float) -> float:
    """exp(-y) for 0 <= y < 64 ln 2: 2**-k exp(-r) with |r| <= ln(2) / 2, where the
    power of two is built from the bits of k by exact multiplications (no libm call and
    no bit casts, so loops calling this vectorise)."""
    k = np.floor(y * INV_LN2 + 0.5)
    m = np.int64(k)
    scale = 0.5 if m & 1 else 1.0
    scale *= 0.25 if m & 2 else 1.0
    scale *= 2.0**-4 if m & 4 else 1.0
    scale *= 2.0**-8 if m & 8 else 1.0
    scale *= 2.0**-16 if m & 16 else 1.0
    scale *= 2.0**-32 if m & 32 else 1.0
    return scale * _exp_poly(-((y - k * LN2_HI) - k * LN2_LO))


@vjit
def _sum_rows(
    lo: int,
    hi: int,
    rx: float,
    w: np.ndarray,
    T_i: np.ndarray,
    tx_i: np.ndarray,
    log_T: np.ndarray,
    inv_T: np.ndarray,
    log_tx: np.ndarray,
    inv_tx: np.ndarray,
    log_odds: float,
) -> tuple[float, float, float, float]:
    """Rows ``lo:hi`` of one x > 0: weighted sums of -(r+x) ln(alpha+T) + softplus(d)
    and of its derivatives in r and alpha, and of sigmoid(d) (the weight of the
    "dropped out" term)."""
    s_l = s_dr = s_dalpha = s_dead = 0.0
    for i in range(lo, hi):
        jt, jx = np.uint64(T_i[i]), np.uint64(tx_i[i])
        lT, iT, ltx, itx = log_T[jt], inv_T[jt], log_tx[jx], inv_tx[jx]
        di = log_odds + rx * (lT - ltx)  # d = D - A
        ei = _exp_neg(min(abs(di), EXP_ARG_MAX))
        dead = (1.0 if di > 0 else ei) / (1.0 + ei)  # sigmoid(d)
        wi = w[i]
        s_l += wi * (-rx * lT + max(di, 0.0) + _log1p_unit(ei))  # + softplus(d)
        s_dr += wi * (-lT + dead * (lT - ltx))
        s_dalpha += wi * rx * (-iT + dead * (iT - itx))
        s_dead += wi * dead
    return s_l, s_dr, s_dalpha, s_dead


@vjit
def _sum_rows_alive(
    lo: int,
    hi: int,
    rx: float,
    w: np.ndarray,
    T_i: np.ndarray,
    log_T: np.ndarray,
    inv_T: np.ndarray,
) -> tuple[float, float, float]:
    """Rows ``lo:hi`` of x = 0, where only the "alive" term exists."""
    s_l = s_dr = s_dalpha = 0.0
    for i in range(lo, hi):
        jt = np.uint64(T_i[i])
        s_l -= w[i] * rx * log_T[jt]
        s_dr -= w[i] * log_T[jt]
        s_dalpha -= w[i] * rx * inv_T[jt]
    return s_l, s_dr, s_dalpha


@jit
def bgnbd(buf: np.ndarray, th: np.ndarray, g: np.ndarray, modified: bool) -> float:
    """Weighted BG/NBD log-likelihood at ``th = (r, alpha, a, b)``, Fader, Hardie & Lee
    (2005) eq. 6 in the form of Hardie's note 027; adds its gradient in ``th`` to ``g``.

    With ``A = lnB(a, b+x) - (r+x) ln(alpha+T)`` and ``d = ln(a/(b+x-1)) + (r+x)
    [ln(alpha+T) - ln(alpha+t_x)]`` the row term is ``A + softplus(d)``; the derivative of
    ``softplus(d)`` is ``sigmoid(d) dd/dtheta``, and d/da ln B(a, c) = psi(a) - psi(a + c).

    ``modified``: the MBG/NBD likelihood (Batislam, Denizel & Filiztekin 2007, eq. 6),
    which is the same with ``b + 1`` in place of ``b`` in the row terms (the normaliser
    keeps ``B(a, b)``: ``B(a, b+x+1)`` and ``B(a+1, b+x)``, so ``d = ln(a/(b+x)) + ...``)
    and the "dropped out" term present at ``x = 0`` too.
    """
    r, alpha, a, b = th[0], th[1], th[2], th[3]
    b_rows = b + 1.0 if modified else b
    x_u, bounds, T_u, T_i = array(buf, 0), array(buf, 1), array(buf, 2), array(buf, 3)
    tx_u, tx_i, w, w_x = array(buf, 4), array(buf, 5), array(buf, 6), array(buf, 7)
    log_T = np.log(alpha + T_u)
    inv_T = 1.0 / (alpha + T_u)
    log_tx = np.log(alpha + tx_u)
    inv_tx = 1.0 / (alpha + tx_u)
    psi_b, psi_ab, psi_r = digamma(b), digamma(a + b), digamma(r)
    head_const = -math.lgamma(r) + r * math.log(alpha) - lbeta(a, b)
    total = g_r = g_alpha = g_a = g_b = 0.0
    for k in range(len(x_u)):
        x = x_u[k]
        rx = r + x
        lo, hi = int(bounds[k]), int(bounds[k + 1])
        s_w = w_x[k]
        if x > 0 or modified:
            log_odds = math.log(a / (b_rows + x - 1.0))
            s_l, s_dr, s_dalpha, s_dead = _sum_rows(
                lo, hi, rx, w, T_i, tx_i, log_T, inv_T, log_tx, inv_tx, log_odds
            )
            g_a += s_dead / a
            g_b -= s_dead / (b_rows + x - 1.0)
        else:
            s_l, s_dr, s_dalpha = _sum_rows_alive(lo, hi, rx, w, T_i, log_T, inv_T)
        psi_abx = digamma(a + b_rows + x)
        total += s_w * (math.lgamma(rx) + head_const + lbeta(a, b_rows + x)) + s_l
        g_r += s_w * (digamma(rx) - psi_r + math.log(alpha)) + s_dr
        g_alpha += s_w * r / alpha + s_dalpha
        g_a += s_w * (psi_ab - psi_abx)
        g_b += s_w * (psi_ab - psi_b + digamma(b_rows + x) - psi_abx)
    g[0] += g_r
    g[1] += g_alpha
    g[2] += g_a
    g[3] += g_b
    return total


@jit
def gamma_gamma(buf: np.ndarray, th: np.ndarray, g: np.ndarray) -> float:
    """Weighted Gamma-Gamma log-likelihood at ``th = (p, q, v)``, Fader & Hardie (2013)
    eq. 3, summed per ``x`` group; adds its gradient in ``th`` to ``g``."""
    p, q, v = th[0], th[1], th[2]
    x_u, bounds, m, w = array(buf, 0), array(buf, 1), array(buf, 2), array(buf, 3)
    w_x, wlogm_x = array(buf, 4), array(buf, 5)  # per x: sums of w and of w ln(m)
    log_v = math.log(v)
    const = -math.lgamma(q) + q * log_v
    psi_q = digamma(q)
    total = g_p = g_q = g_v = 0.0
    for k in range(len(x_u)):
        x = x_u[k]
        px = p * x
        lx = math.log(x)
        psi_sum, psi_px = digamma(px + q), digamma(px)
        s_w, s_lm = w_x[k], wlogm_x[k]
        s_lvm = s_inv = 0.0
        for i in range(int(bounds[k]), int(bounds[k + 1])):
            s_lvm += w[i] * math.log(v + x * m[i])
            s_inv += w[i] / (v + x * m[i])
        total += s_w * (math.lgamma(px + q) - math.lgamma(px) + px * lx + const)
        total += (px - 1.0) * s_lm - (px + q) * s_lvm
        g_p += x * (s_w * (psi_sum - psi_px + lx) + s_lm - s_lvm)
        g_q += s_w * (psi_sum - psi_q + log_v) - s_lvm
        g_v += s_w * q / v - (px + q) * s_inv
    g[0] += g_p
    g[1] += g_q
    g[2] += g_v
    return total


@jit
def bgbb(buf: np.ndarray, th: np.ndarray, g: np.ndarray) -> float:
    """Weighted BG/BB log-likelihood at ``th = (alpha, beta, gamma, delta)``, Fader,
    Hardie & Shang (2010) eq. 5; adds its gradient in ``th`` to ``g``.

    Per row ``l = -lnB(alpha, beta) - lnB(gamma, delta) + logsumexp(A, D_0, ...,
    D_{n-t_x-1})`` with ``A = lnB(alpha+x, beta+n-x) + lnB(gamma, delta+n)`` and
    ``D_i = lnB(alpha+x, beta+t_x-x+i) + lnB(gamma+1, delta+t_x+i)``; the derivative of
    the logsumexp is the softmax-weighted derivative of its terms, and
    d/dp ln B(p, q) = psi(p) - psi(p + q).
    """
    al, be, ga, de = th[0], th[1], th[2], th[3]
    x_a, tx_a, n_a, w_a = array(buf, 0), array(buf, 1), array(buf, 2), array(buf, 3)
    psi_ab, psi_gd = digamma(al + be), digamma(ga + de)
    head = -lbeta(al, be) - lbeta(ga, de)
    d_head = (
        -(digamma(al) - psi_ab),
        -(digamma(be) - psi_ab),
        -(digamma(ga) - psi_gd),
        -(digamma(de) - psi_gd),
    )
    total = 0.0
    g0 = g1 = g2 = g3 = 0.0
    w_sum = 0.0
    for k in range(len(x_a)):
        x, tx, n, w = x_a[k], tx_a[k], n_a[k], w_a[k]
        a_term = lbeta(al + x, be + n - x) + lbeta(ga, de + n)
        top = a_term
        for i in range(int(n - tx)):
            top = max(top, lbeta(al + x, be + tx - x + i) + lbeta(ga + 1.0, de + tx + i))
        # softmax weights of the terms and their derivatives, accumulated in one pass
        e = math.exp(a_term - top)
        psi_ax = digamma(al + x)
        s = e
        s0 = e * (psi_ax - digamma(al + be + n))
        s1 = e * (digamma(be + n - x) - digamma(al + be + n))
        s2 = e * (digamma(ga) - digamma(ga + de + n))
        s3 = e * (digamma(de + n) - digamma(ga + de + n))
        for i in range(int(n - tx)):
            m = tx + i
            e = math.exp(lbeta(al + x, be + m - x) + lbeta(ga + 1.0, de + m) - top)
            s += e
            s0 += e * (psi_ax - digamma(al + be + m))
            s1 += e * (digamma(be + m - x) - digamma(al + be + m))
            s2 += e * (digamma(ga + 1.0) - digamma(ga + de + m + 1.0))
            s3 += e * (digamma(de + m) - digamma(ga + de + m + 1.0))
        total += w * (top + math.log(s))
        g0 += w * s0 / s
        g1 += w * s1 / s
        g2 += w * s2 / s
        g3 += w * s3 / s
        w_sum += w
    g[0] += g0 + w_sum * d_head[0]
    g[1] += g1 + w_sum * d_head[1]
    g[2] += g2 + w_sum * d_head[2]
    g[3] += g3 + w_sum * d_head[3]
    return total + w_sum * head


@jit
def sbg(buf: np.ndarray, th: np.ndarray, g: np.ndarray) -> float:
    """Weighted shifted-beta-geometric log-likelihood at ``th = (alpha, beta)``, Fader &
    Hardie (2007) eq. 5 per row; adds its gradient in ``th`` to ``g``.

    A subscriber after ``n`` opportunities (``x = n``) has ``l = lnB(alpha, beta + n) -
    lnB(alpha, beta)`` (eq. 3), one who cancelled at opportunity ``x + 1`` has ``l =
    lnB(alpha + 1, beta + x) - lnB(alpha, beta)`` (eq. 2); d/dp ln B(p, q) = psi(p) -
    psi(p + q). These are BG/BB's dropout terms (:func:`bgbb`) with a renewal at every
    opportunity alive.
    """
    al, be = th[0], th[1]
    x_a, n_a, w_a = array(buf, 0), array(buf, 2), array(buf, 3)
    psi_ab = digamma(al + be)
    head = -lbeta(al, be)
    d_head_a, d_head_b = -(digamma(al) - psi_ab), -(digamma(be) - psi_ab)
    total = 0.0
    g0 = g1 = 0.0
    w_sum = 0.0
    for k in range(len(x_a)):
        x, n, w = x_a[k], n_a[k], w_a[k]
        if x > n - 0.5:
            psi_all = digamma(al + be + n)
            total += w * lbeta(al, be + n)
            g0 += w * (digamma(al) - psi_all)
            g1 += w * (digamma(be + n) - psi_all)
        else:
            psi_all = digamma(al + be + x + 1.0)
            total += w * lbeta(al + 1.0, be + x)
            g0 += w * (digamma(al + 1.0) - psi_all)
            g1 += w * (digamma(be + x) - psi_all)
        w_sum += w
    g[0] += g0 + w_sum * d_head_a
    g[1] += g1 + w_sum * d_head_b
    return total + w_sum * head


@jit
def log_density(buf: np.ndarray, u: np.ndarray, grad: np.ndarray) -> float:
    """Log-posterior at the log-parameters ``u`` (likelihood + priors + the Jacobian
    ``sum(u)`` of ``theta = exp(u)``); writes its gradient in ``u`` to ``grad``."""
    n = int(buf[1])
    th = np.exp(u)
    g = np.zeros(n)
    if buf[0] == 1.0:
        total = bgnbd(buf, th, g, False)
    elif buf[0] == 3.0:
        total = bgnbd(buf, th, g, True)
    elif buf[0] == 4.0:
        total = bgbb(buf, th, g)
    elif buf[0] == 5.0:
        total = sbg(buf, th, g)
    elif buf[0] == 2.0:
        total = gamma_gamma(buf, th, g)
    else:  # no kernel for this model code (kernels.supports refuses it before this)
        for k in range(n):
            grad[k] = np.nan
        return np.nan
    for k in range(n):
        base = HEADER + 3 * k
        lp, dlp = prior(buf[base], buf[base + 1], buf[base + 2], th[k])
        total += lp + u[k]  # the prior and the Jacobian of theta = exp(u)
        grad[k] = th[k] * (g[k] + dlp) + 1.0
    return total


logp_sig = types.int64(
    types.uint64,
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.voidptr,
)


@numba.cfunc(logp_sig, cache=True, error_model="numpy")
def logp_cfunc(dim, x_, grad_, logp_, user_data_):  # type: ignore[no-untyped-def]
    """nutpie's C log-density callback: 0 on success, 3/4 for a non-finite gradient or
    value (nutpie treats the point as divergent), -1 for a dimension mismatch."""
    head = numba.carray(user_data_, (HEADER,), dtype=np.float64)
    if dim != int(head[1]):
        return -1
    buf = numba.carray(user_data_, (int(head[3]),), dtype=np.float64)
    x = numba.carray(x_, (dim,))
    grad = numba.carray(grad_, (dim,))
    logp = numba.carray(logp_, (1,))
    value = log_density(buf, x, grad)
    logp[0] = value
    for k in range(dim):
        if not np.isfinite(grad[k]):
            return 3
    if not np.isfinite(value):
        return 4
    return 0


expand_sig = types.int64(
    types.uint64,
    types.uint64,
    types.CPointer(types.double),
    types.CPointer(types.double),
    types.voidptr,
)


@numba.cfunc(expand_sig, cache=True)
def expand_cfunc(dim, expanded, x_, out_, user_data_):  # type: ignore[no-untyped-def]
    """nutpie's C expansion callback: the stored draws are ``theta = exp(u)``."""
    if dim != expanded:
        return -1
    x = numba.carray(x_, (dim,))
    out = numba.carray(out_, (dim,))
    for k in range(dim):
        out[k] = math.exp(x[k])
    return 0
