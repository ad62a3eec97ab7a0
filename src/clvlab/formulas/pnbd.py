"""Pareto/NBD formulas (Schmittlein, Morrison & Colombo 1987), written once for every backend.

Notation follows Fader & Hardie's notes: ``x`` repeat purchases, ``t_x`` the time of the
last one, ``T`` the length of observation; ``r, alpha`` the Gamma heterogeneity of the
purchase rate ``lambda``, ``s, beta`` the Gamma heterogeneity of the dropout rate ``mu``.
Every function takes the array backend ``ops`` and broadcasts, so parameters may carry
leading (chain, draw) axes.

The likelihood's "dead" term (Fader & Hardie 2005, "A Note on Deriving the Pareto/NBD
Model and Related Expressions", eqs. 18-22) is the integral

.. math:: I = \\int_{t_x}^{T} (\\alpha+\\tau)^{-(r+x)} (\\beta+\\tau)^{-(s+1)}\\,d\\tau,
          \\qquad A_0 = (r+s+x)\\,I,

which the note writes as a difference of two Gauss hypergeometric functions
``2F1(r+s+x, s+1; r+s+x+1; z)`` (for ``alpha >= beta``). That form is ill-conditioned
exactly where a likelihood explores: ``z`` close to 1 (``alpha >> beta`` or
``alpha << beta``), ``r+s+x`` large, and ``T - t_x`` tiny (a difference of two nearly
equal terms). Here ``I`` is evaluated as a log-concave integral instead (see
:func:`_log_quadrature`): after the substitution ``omega = log(min(alpha, beta) + tau)``
the log-integrand is concave for every parameter value, so its maximum and a window
holding all but ``exp(-40)`` of the mass follow in closed form, and a fixed Gauss-Legendre
rule on that window is exact to about 1e-12 relative (tested against mpmath at
50 digits). The rule uses only elementary functions, so the same code runs on NumPy, on
pytensor (gradient for NUTS) and on autograd (exact Hessian for the MLE's covariance),
with no ``hyp2f1`` at all.

All conditional quantities use one fact: given that a customer with history
``(x, t_x, T)`` is alive at ``T``, ``lambda`` and ``mu`` are independent with posteriors
``Gamma(r + x, alpha + T)`` and ``Gamma(s, beta + T)``, and from ``T`` on the customer
behaves like a new Pareto/NBD customer with those parameters (memorylessness of the
exponential lifetime). Conditional formulas therefore reuse the new-customer ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from clvlab.formulas._alive import alive_or_dead_pmf
from clvlab.formulas._interval_grid import IntervalGrid, log_integrals
from clvlab.formulas._ops import Ops
from clvlab.formulas._schedule import discounted_alive_process

__all__ = [
    "PARAMS",
    "alive_parameters",
    "conditional_expected_purchases",
    "conditional_probability_of_purchases",
    "conditional_probability_of_purchases_upto",
    "discounted_purchases_if_alive",
    "draw_latent_state",
    "expected_purchases_new",
    "log_dead_integral",
    "loglik",
    "loglik_on_grid",
    "probability_alive",
    "probability_alive_after",
    "probability_of_purchases_if_alive_upto",
    "probability_of_purchases_new",
    "probability_of_purchases_new_upto",
    "purchases_if_alive",
    "simulate_counts",
]

Array = Any
PARAMS = ("r", "alpha", "s", "beta")

#: Gauss-Legendre rule per panel
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(16)


def _side(panels: int) -> tuple[np.ndarray, np.ndarray]:
    """One side of the maximum in ``panels`` equal panels of the 16-point rule: node
    positions as fractions of the side's length, and their weights as shares of it."""
    fractions = np.concatenate([(2 * p + 1 + _NODES) / (2 * panels) for p in range(panels)])
    return fractions, np.tile(_WEIGHTS / (2 * panels), panels)


def _rule(panels: int) -> tuple[np.ndarray, ...]:
    """Both sides of the maximum as one row of nodes (the left side's, then the right
    side's): each node's position as a fraction of the left and of the right side's
    length, and its weight as a share of each side's length (zero on the other side)."""
    fractions, shares = _side(panels)
    none = np.zeros_like(fractions)
    return (
        np.concatenate([fractions, none]),
        np.concatenate([none, fractions]),
        np.concatenate([shares, none]),
        np.concatenate([none, shares]),
    )


#: panels per side of :func:`log_dead_integral` (the likelihood): its windows are short
#: and its integrand smooth on them, 2 x 16 nodes per side give ~1e-13 (64 per row)
_PANELS = 2
#: that rule's node positions as fractions of one side's length, and their weights (read
#: by :mod:`clvlab.formulas._pnbd_numba`, the compiled copy of the rule)
_FRACTIONS, _SHARES = _side(_PANELS)
_LOGLIK_RULE = _rule(_PANELS)
#: the PMF's windows are long (the integral runs from tau = 0): 3 panels per side
_PMF_RULE = _rule(3)
#: the window keeps the integrand within exp(-_DROP) of its maximum
_DROP = 40.0
#: smallest slope or curvature used to size the window (keeps quotients finite)
_TINY = 1e-100


def _sqrt(ops: Ops, value: Array) -> Array:
    return ops.exp(0.5 * ops.log(value))


def _log_quadrature(
    ops: Ops,
    psi: Callable[[Array, Callable[[Array], Array]], Array],
    dpsi: Callable[[Array], Array],
    d2psi: Callable[[Array], Array],
    lo: Array,
    hi: Array,
    mode: Array,
    rule: tuple[np.ndarray, ...] = _PMF_RULE,
) -> Array:
    """``log of the integral of exp(psi(w)) over [lo, hi]`` for a concave ``psi``.

    ``psi(w, pad)`` evaluates the exponent at ``w``, which has one trailing axis more
    than the data when ``pad`` (applied to every captured array) adds it.

    ``mode`` is the maximiser of ``psi`` on ``[lo, hi]`` (an end point when ``psi`` is
    monotone there). Concavity gives, for ``d >= h >= 0``,
    ``psi(mode + d) <= psi(mode) + psi'(mode + h) (d - h)``, so the integrand is below
    ``exp(-40)`` of its maximum beyond ``mode + h + 40 / |psi'(mode + h)|``; the window
    uses the better of ``h = 0`` and ``h = sqrt(40 / |psi''(mode)|)`` on each side
    (at most 1.5 times wider than needed for a Gaussian peak, exact for a linear
    ``psi``). Each side of the maximum is cut into equal panels of a 16-point
    Gauss-Legendre rule (``rule``, from :func:`_rule`: 2 panels per side for the
    likelihood, 3 for the PMF), evaluated relative to ``psi(mode)`` (no overflow), both
    sides in one array of nodes. In ``omega = log(...)`` coordinates the integrands have
    complex singularities at distance ``pi`` from the real axis, which bounds the panel
    length that a fixed rule resolves: the likelihood's log-integral is exact to ~1e-12
    relative on the hard points of the tests with 64 nodes per row (96 give ~1e-14 at
    1.5 times the cost of every NUTS step), the PMF's to ~1e-8 with 96 (its windows are
    longer). The window's position has no derivative; where it reaches ``lo`` or ``hi``
    the derivative flows through them.
    """

    def same(v: Array) -> Array:
        return v

    wh = ops.stop_gradient(mode)
    top = ops.stop_gradient(psi(wh, same))
    curv = ops.maximum(-ops.stop_gradient(d2psi(wh)), _TINY)
    h = _sqrt(ops, _DROP / curv)

    def reach(slope_at_mode: Array, room: Array, slope_at: Callable[[Array], Array]) -> Array:
        step = ops.minimum(h, room)
        one = _DROP / ops.maximum(slope_at_mode, _TINY)
        two = step + _DROP / ops.maximum(slope_at(step), _TINY)
        return ops.stop_gradient(ops.minimum(one, two))

    right = reach(-dpsi(wh), hi - wh, lambda step: -dpsi(wh + step))
    left = reach(dpsi(wh), wh - lo, lambda step: dpsi(wh - step))
    a = ops.maximum(lo, wh - left)
    b = ops.minimum(hi, wh + right)
    pad = _padder(ops)
    # both sides of the maximum in one array of nodes (one graph for the integrand and its
    # derivative, not one per side); each side's length is signed by side, not by
    # comparison, so an empty side keeps its end's derivative
    left, right, left_shares, right_shares = rule
    nodes = pad(wh) + pad(a - wh) * left + pad(b - wh) * right
    terms = ops.exp(psi(nodes, pad) - pad(top))
    total = ops.sum(terms * (pad(wh - a) * left_shares + pad(b - wh) * right_shares), axis=-1)
    # the tiny addend keeps the log finite (and its derivative) when lo == hi
    return top + ops.log(total + 1e-300)


def _padder(ops: Ops) -> Callable[[Array], Array]:
    """A function adding a trailing axis of length 1 on the backend of ``ops``.

    Belongs in :mod:`clvlab.formulas._ops` (``ops.expand_last``)."""
    name = getattr(ops, "name", "numpy")
    if name == "pytensor":
        import pytensor.tensor as pt

        return lambda v: pt.shape_padright(pt.as_tensor_variable(v))
    if name == "autograd":
        import autograd.numpy as anp

        return lambda v: anp.expand_dims(v, -1)
    return lambda v: np.expand_dims(np.asarray(v), -1)


def log_dead_integral(
    ops: Ops, x: Array, t_x: Array, T: Array, r: Array, alpha: Array, s: Array, beta: Array
) -> Array:
    """``log I``, ``I = int_{t_x}^T (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau``.

    The Pareto/NBD "dead" term; Fader & Hardie (2005 note) eq. 22's ``A_0`` equals
    ``(r + s + x) I``. With ``L = max(alpha, beta)``, ``S = min(alpha, beta)``,
    ``d = L - S``, ``e_L`` the exponent of ``L + tau`` and ``k + 1`` that of
    ``S + tau`` (``(r + x, s)`` when ``alpha >= beta``, else ``(s + 1, r + x - 1)``), the
    substitution ``omega = log(S + tau)`` gives

    .. math:: I = \\int_{\\log(S+t_x)}^{\\log(S+T)} \\exp\\big(-e_L \\log(d + e^\\omega)
              - k\\,\\omega\\big)\\,d\\omega,

    whose exponent is concave (its second derivative is ``-e_L d e^w / (d + e^w)^2``),
    with its maximum at ``log(-k d / (r + s + x))`` when ``k < 0`` and at the lower end
    otherwise. The integral is taken by :func:`_log_quadrature`, in offsets from the
    lower end so that ``T - t_x`` tiny keeps its relative precision. ``-inf`` when
    ``t_x == T`` (to ``log(1e-300)`` in value, so the derivative stays finite).
    """
    zero = 0.0 * (x + t_x + T)  # gives every branch of ``where`` the data's shape
    ge = alpha >= beta + zero
    small = ops.where(ge, beta + zero, alpha + zero)
    d = ops.where(ge, alpha - beta + zero, beta - alpha + zero)
    e_l = ops.where(ge, r + x + zero, s + 1.0 + zero)
    k = ops.where(ge, s + zero, r + x - 1.0 + zero)
    m = r + s + x
    base = small + t_x
    log_base = ops.log(base)
    width = ops.log1p((T - t_x) / base)

    # (L + tau) / (S + t_x) = c + exp(off): the exponent's constant -(e_L + k) log(S + t_x)
    # is taken out of the integral, so that each node sees three numbers per row only
    # (c, e_L, k: the derivative then sums three node arrays per row, not five)
    c = d / base

    def share(off: Array) -> Array:  # (S + tau) / (L + tau) at offset ``off``
        grown = ops.exp(off)
        return grown / (c + grown)

    def psi(off: Array, pad: Callable[[Array], Array]) -> Array:
        return -pad(e_l) * ops.log(pad(c) + ops.exp(off)) - pad(k) * off

    def dpsi(off: Array) -> Array:
        return -e_l * share(off) - k

    def d2psi(off: Array) -> Array:
        q = share(off)
        return -e_l * q * (1 - q)

    ratio = ops.maximum(-k, 0.0) * c / m  # exp(mode offset) when k < 0
    mode = ops.minimum(ops.log(ops.maximum(ratio, 1.0)), width)
    scale = -(e_l + k) * log_base
    return scale + _log_quadrature(ops, psi, dpsi, d2psi, 0.0, width, mode, _LOGLIK_RULE)


def _log_alive_term(ops: Ops, x: Array, T: Array, r: Array, alpha: Array, s: Array, beta: Array):  # type: ignore[no-untyped-def]
    at = ops.per_value
    return -(r + x) * at(lambda v: ops.log(alpha + v), T) - s * at(lambda v: ops.log(beta + v), T)


def _log_dead_term(
    ops: Ops, x: Array, t_x: Array, T: Array, r: Array, alpha: Array, s: Array, beta: Array
) -> Array:
    """``log s + log I``, exactly ``-inf`` where ``t_x == T`` (no time to die unseen).

    The integral is evaluated on ``[t_x, t_x + 1]`` there and then replaced (the
    "double where"), so that no derivative of any order flows through the empty
    interval's ``log 0``: the Hessian of the MLE's Laplace step stays finite.

    On the NumPy backends (predictions over many draws) the same rule runs compiled, in
    :func:`clvlab.formulas._pnbd_numba.log_dead_term`, which the tests check against
    this definition.
    """
    if getattr(ops, "name", None) in ("numpy", "numpy-gather"):
        from clvlab.formulas._pnbd_numba import log_dead_term

        return log_dead_term(x, t_x, T, r, alpha, s, beta)
    empty = t_x >= T
    upper = ops.where(empty, t_x + 1.0, T)
    dead = ops.log(s) + log_dead_integral(ops, x, t_x, upper, r, alpha, s, beta)
    return ops.where(empty, -np.inf, dead)


def _log_odds_alive(
    ops: Ops, x: Array, t_x: Array, T: Array, r: Array, alpha: Array, s: Array, beta: Array
) -> Array:
    """log(alive term / dead term) of the likelihood (Fader & Hardie 2005 note, eq. 36)."""
    alive = _log_alive_term(ops, x, T, r, alpha, s, beta)
    dead = _log_dead_term(ops, x, t_x, T, r, alpha, s, beta)
    return alive - dead


def loglik(
    ops: Ops, x: Array, t_x: Array, T: Array, r: Array, alpha: Array, s: Array, beta: Array
) -> Array:
    """Pareto/NBD individual log-likelihood, Fader & Hardie (2005 note) eqs. 18-22.

    .. math::

        \\ell = \\ln\\Gamma(r+x) - \\ln\\Gamma(r) + r\\ln\\alpha + s\\ln\\beta
              + \\operatorname{logaddexp}\\big(-(r+x)\\ln(\\alpha+T) - s\\ln(\\beta+T),\\;
                \\ln s + \\ln I\\big)

    with ``I = A_0 / (r + s + x)`` from :func:`log_dead_integral` (stable in value and
    derivative on every backend; no hypergeometric function).

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> p = dict(r=0.5534, alpha=10.5802, s=0.6061, beta=11.6562)
    >>> round(float(loglik(numpy_ops, 2, 30.43, 38.86, **p)), 4)
    -9.5545
    """
    dead = _log_dead_term(ops, x, t_x, T, r, alpha, s, beta)
    return _loglik_given_dead(ops, x, T, dead, r, alpha, s, beta)


def _loglik_given_dead(
    ops: Ops, x: Array, T: Array, dead: Array, r: Array, alpha: Array, s: Array, beta: Array
) -> Array:
    """:func:`loglik` from its dead term ``log s + log I``."""
    at = ops.per_value
    head = at(lambda v: ops.gammaln(r + v), x) - ops.gammaln(r) + r * ops.log(alpha)
    head = head + s * ops.log(beta)
    alive = _log_alive_term(ops, x, T, r, alpha, s, beta)
    return head + ops.logaddexp(alive, dead)


def loglik_on_grid(
    ops: Ops,
    grid: IntervalGrid,
    x: Array,
    T: Array,
    r: Array,
    alpha: Array,
    s: Array,
    beta: Array,
) -> Array:
    """:func:`loglik` of the rows ``grid.rows`` of a table, whose ``x`` and ``T`` are
    given here, with ``I`` on nodes the rows share (:mod:`clvlab.formulas._interval_grid`).

    The same formula (Fader & Hardie 2005 note, eqs. 18-22) with ``I`` taken in ``tau``
    directly: its integrand ``(alpha+tau)^-(r+x) (beta+tau)^-(s+1)`` decreases in
    ``tau``, and ``log(alpha + tau)``, ``log(beta + tau)`` are evaluated once per node.
    Used for fitting, where it is ~13 times cheaper than :func:`loglik` on CDNOW;
    ``tests/formulas/test_interval_grid.py`` checks the two agree.
    """

    def psi(group_x: Array, tau: Array) -> Array:
        return -(r + group_x) * ops.log(alpha + tau) - (s + 1.0) * ops.log(beta + tau)

    dead = ops.log(s) + log_integrals(ops, grid, psi)
    return _loglik_given_dead(ops, x, T, dead, r, alpha, s, beta)


def probability_alive(
    ops: Ops, x: Array, t_x: Array, T: Array, r: Array, alpha: Array, s: Array, beta: Array
) -> Array:
    """P(alive at T | x, t_x, T), Fader & Hardie (2005 note) eq. 36, in log-odds form.

    .. math:: P = \\Big(1 + \\frac{s\\,(\\alpha+T)^{r+x}(\\beta+T)^s\\,A_0}{r+s+x}\\Big)^{-1}
              = \\operatorname{expit}\\big(-(r+x)\\ln(\\alpha+T) - s\\ln(\\beta+T)
              - \\ln s - \\ln I\\big)

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> p = dict(r=0.5534, alpha=10.5802, s=0.6061, beta=11.6562)
    >>> round(float(probability_alive(numpy_ops, 0, 0.0, 38.86, **p)), 4)
    0.295
    """
    return ops.expit(_log_odds_alive(ops, x, t_x, T, r, alpha, s, beta))


def probability_alive_after(
    ops: Ops,
    t: Array,
    x: Array,
    t_x: Array,
    T: Array,
    r: Array,
    alpha: Array,
    s: Array,
    beta: Array,
) -> Array:
    """P(alive at T + t | x, t_x, T): alive at T, and the lifetime lasts ``t`` longer.

    Given alive at T, ``mu ~ Gamma(s, beta + T)``, so ``E[exp(-mu t)] = ((beta + T) /
    (beta + T + t))^s`` (the Pareto/NBD survivor function, Schmittlein, Morrison &
    Colombo 1987, eq. 2, with updated ``beta``):

    .. math:: P_{alive}(T)\\,\\Big(\\frac{\\beta+T}{\\beta+T+t}\\Big)^{s}
    """
    alive = probability_alive(ops, x, t_x, T, r, alpha, s, beta)
    return alive * ops.exp(-s * ops.log1p(t / (beta + T)))


def expected_purchases_new(
    ops: Ops, t: Array, r: Array, alpha: Array, s: Array, beta: Array
) -> Array:
    """E[X(t)] for a customer just acquired, Fader & Hardie (2005 note) eq. 27.

    .. math:: \\frac{r\\beta}{\\alpha(s-1)}
              \\Big[1 - \\Big(\\frac{\\beta}{\\beta+t}\\Big)^{s-1}\\Big]
              = \\frac{r\\beta}{\\alpha}\\,\\frac{-\\operatorname{expm1}(-(s-1)\\,
              \\operatorname{log1p}(t/\\beta))}{s-1}

    evaluated in the right-hand form, which has no cancellation at small ``t`` and the
    finite limit ``r beta / alpha * log1p(t / beta)`` at ``s = 1``.

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> p = dict(r=0.5534, alpha=10.5802, s=0.6061, beta=11.6562)
    >>> round(float(expected_purchases_new(numpy_ops, 39.0, **p)), 4)
    1.2131
    """
    log_grow = ops.log1p(t / beta)
    shift = s - 1
    safe = ops.where(shift == 0, 1.0, shift)
    factor = ops.where(shift == 0, log_grow, -ops.expm1(-shift * log_grow) / safe)
    return r * beta / alpha * factor


def conditional_expected_purchases(
    ops: Ops,
    t: Array,
    x: Array,
    t_x: Array,
    T: Array,
    r: Array,
    alpha: Array,
    s: Array,
    beta: Array,
) -> Array:
    """E[Y(t) | x, t_x, T], purchases in ``(T, T + t]``, Fader & Hardie (2005 note) eq. 41.

    .. math:: P_{alive}\\,\\frac{(r+x)(\\beta+T)}{(\\alpha+T)(s-1)}
              \\Big[1 - \\Big(\\frac{\\beta+T}{\\beta+T+t}\\Big)^{s-1}\\Big]

    i.e. P(alive) times :func:`expected_purchases_new` with the posterior parameters
    ``(r + x, alpha + T, s, beta + T)``. ``t`` broadcasts: pass the ends of cash-flow
    periods along a trailing axis (``t[None, :]`` against column vectors) and take
    differences for the purchases per period.

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> p = dict(r=0.5534, alpha=10.5802, s=0.6061, beta=11.6562)
    >>> round(float(conditional_expected_purchases(numpy_ops, 39, 2, 30.43, 38.86, **p)), 4)
    1.4551
    """
    alive = probability_alive(ops, x, t_x, T, r, alpha, s, beta)
    return alive * purchases_if_alive(ops, t, **alive_parameters(x, T, r, alpha, s, beta))


def alive_parameters(x: Array, T: Array, r: Array, alpha: Array, s: Array, beta: Array) -> dict:
    """The parameters of a customer alive at ``T``: ``(r + x, alpha + T, s, beta + T)``.

    The alive term of the likelihood, ``lambda^x e^{-lambda T} e^{-mu T}``, factorises, so
    ``lambda ~ Gamma(r + x, alpha + T)`` and ``mu ~ Gamma(s, beta + T)`` given alive, and
    the exponential lifetime is memoryless (Fader & Hardie 2005 note, eq. 41).
    """
    return {"r": r + x, "alpha": alpha + T, "s": s, "beta": beta + T}


def discounted_purchases_if_alive(
    x: np.ndarray,
    T: np.ndarray,
    params: Mapping[str, Any],
    ends: np.ndarray,
    discounts: np.ndarray,
) -> np.ndarray:
    """``sum_k d_k [N(t_k) - N(t_{k-1})]`` per ``(x, T)`` pair, with ``N`` eq. 27 under
    :func:`alive_parameters`. Eq. 27 has only elementary functions, so this is the closed
    form period by period, one vectorised pass per period end."""
    return discounted_alive_process(
        alive_parameters, purchases_if_alive, PARAMS, x, T, params, ends, discounts
    )


def _log_dead_pmf(t: Array, n: np.ndarray, r: Array, alpha: Array, s: Array, beta: Array) -> Array:
    """log of the "died before t with n purchases" part of P(X(t) = n), NumPy only.

    .. math:: \\frac{\\Gamma(r+n)}{\\Gamma(r)\\,n!}\\,\\alpha^r s\\beta^s
              \\int_0^t \\tau^n (\\alpha+\\tau)^{-(r+n)} (\\beta+\\tau)^{-(s+1)}\\,d\\tau

    (Fader & Hardie 2006 note, "Deriving the conditional PMF of the Pareto/NBD model",
    eq. 10 before its hypergeometric evaluation). In ``omega = log tau`` the exponent
    ``(n+1) omega - (r+n) log(alpha+e^w) - (s+1) log(beta+e^w)`` is concave, with a
    slope falling from ``n + 1`` to ``-(r + s)``: its maximum is found by bisection and
    the integral by :func:`_log_quadrature`.
    """
    from scipy import special

    from clvlab.formulas._ops import numpy_ops as ops

    t, r, alpha, s, beta = np.broadcast_arrays(
        *(np.asarray(v, dtype=float)[..., None] for v in (t, r, alpha, s, beta))
    )
    la, lb = np.log(alpha), np.log(beta)

    def psi(w: Array, pad: Callable[[Array], Array]) -> Array:
        rate, lead, rest = pad(n + 1.0 + 0 * r), pad(r + n), pad(s + 1)
        return rate * w - lead * np.logaddexp(pad(la), w) - rest * np.logaddexp(pad(lb), w)

    def dpsi(w: Array) -> Array:
        return (n + 1) - (r + n) * special.expit(w - la) - (s + 1) * special.expit(w - lb)

    def d2psi(w: Array) -> Array:
        qa, qb = special.expit(w - la), special.expit(w - lb)
        return -(r + n) * qa * (1 - qa) - (s + 1) * qb * (1 - qb)

    total = r + n + s + 1
    low = np.minimum(la, lb) + np.log((n + 1) / total) - 1.0  # slope > 0 here
    high = np.maximum(la, lb) + np.log((n + 1) / (r + s)) + 1.0  # slope < 0 here
    log_t = np.log(t)
    high = np.minimum(high, log_t)
    low = np.minimum(low, log_t)
    for _ in range(50):
        mid = 0.5 * (low + high)
        up = dpsi(mid) > 0
        low = np.where(up, mid, low)
        high = np.where(up, high, mid)
    mode = np.minimum(0.5 * (low + high), log_t)
    with np.errstate(divide="ignore"):
        log_int = _log_quadrature(ops, psi, dpsi, d2psi, -np.inf, log_t, mode)
    head = special.gammaln(r + n) - special.gammaln(r) - special.gammaln(n + 1)
    return head + r * la + np.log(s) + s * lb + log_int


def probability_of_purchases_new_upto(
    ops: Ops,
    t: Array,
    n_max: int,
    r: Array,
    alpha: Array,
    s: Array,
    beta: Array,
    *,
    compiled: bool = True,
) -> Array:
    """P(X(t) = n) for n = 0..n_max along a new last axis, for a customer just acquired.

    Fader & Hardie (2006 note, "Deriving the conditional PMF of the Pareto/NBD model"):
    alive at ``t`` with ``n`` purchases, or dead at ``tau < t`` after ``n`` purchases,

    .. math:: P(X(t)=n) = \\frac{\\Gamma(r+n)}{\\Gamma(r)\\,n!}
              \\Big(\\frac{\\alpha}{\\alpha+t}\\Big)^r \\Big(\\frac{t}{\\alpha+t}\\Big)^n
              \\Big(\\frac{\\beta}{\\beta+t}\\Big)^s + D_n(t)

    The first term is a negative-binomial probability built as a running product; the
    dead part ``D_n`` (see :func:`_log_dead_pmf`) is a log-concave integral per ``n``.
    NumPy backend only; the result is clipped to [0, 1] against rounding.

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> p = dict(r=0.5534, alpha=10.5802, s=0.6061, beta=11.6562)
    >>> pmf = probability_of_purchases_new_upto(numpy_ops, 39.0, 400, **p)
    >>> round(float(pmf.sum()), 6), round(float(pmf[0]), 4)
    (1.0, 0.5936)
    """
    if compiled:  # the same rule, compiled: clvlab.formulas._pnbd_pmf_numba
        from clvlab.formulas import _pnbd_pmf_numba

        return _pnbd_pmf_numba.probability_of_purchases_new_upto(t, n_max, r, alpha, s, beta)
    del ops  # NumPy only: the quadrature's bisection is not a symbolic graph
    n = np.arange(n_max + 1, dtype=float)
    t = np.asarray(t, dtype=float)
    later = t > 0
    t = np.where(later, t, 1.0)  # t = 0 is the point mass at n = 0, filled in below
    r_, alpha_, s_, beta_, t_ = (
        np.asarray(v, dtype=float)[..., None] for v in (r, alpha, s, beta, t)
    )
    log_q = np.log(t_ / (alpha_ + t_))
    log_nb = _log_gamma_ratio(r_, n) + r_ * -np.log1p(t_ / alpha_) + np.where(n > 0, n * log_q, 0.0)
    alive = np.exp(log_nb - s_ * np.log1p(t_ / beta_))
    dead = np.exp(_log_dead_pmf(t, n, r, alpha, s, beta))
    return np.where(later[..., None], np.clip(alive + dead, 0.0, 1.0), (n == 0).astype(float))


def _log_gamma_ratio(r: Array, n: np.ndarray) -> Array:
    """log Gamma(r + n) / (Gamma(r) n!)."""
    from scipy import special

    return special.gammaln(r + n) - special.gammaln(r) - special.gammaln(n + 1)


def probability_of_purchases_new(
    ops: Ops, t: Array, n: int, r: Array, alpha: Array, s: Array, beta: Array
) -> Array:
    """P(X(t) = n) for a customer just acquired (Fader & Hardie 2006 note); see
    :func:`probability_of_purchases_new_upto`."""
    return probability_of_purchases_new_upto(ops, t, n, r, alpha, s, beta)[..., n]


def conditional_probability_of_purchases_upto(
    ops: Ops,
    t: Array,
    n_max: int,
    x: Array,
    t_x: Array,
    T: Array,
    r: Array,
    alpha: Array,
    s: Array,
    beta: Array,
) -> Array:
    """P(Y(t) = n | x, t_x, T) for n = 0..n_max along a new last axis.

    .. math:: (1 - P_{alive})\\,\\delta_{n=0} + P_{alive}\\,P_{new}(X(t) = n;\\;
              r+x, \\alpha+T, s, \\beta+T)

    which equals eq. 16 of Fader & Hardie (2006 note, "Deriving the conditional PMF of the
    Pareto/NBD model") without its hypergeometric functions. NumPy backend only.
    """
    alive = probability_alive(ops, x, t_x, T, r, alpha, s, beta)
    new = probability_of_purchases_new_upto(ops, t, n_max, r + x, alpha + T, s, beta + T)
    return alive_or_dead_pmf(alive, new)


def conditional_probability_of_purchases(
    ops: Ops,
    t: Array,
    n: int,
    x: Array,
    t_x: Array,
    T: Array,
    r: Array,
    alpha: Array,
    s: Array,
    beta: Array,
) -> Array:
    """P(Y(t) = n | x, t_x, T) (Fader & Hardie 2006 note, eq. 16); see
    :func:`conditional_probability_of_purchases_upto`."""
    return conditional_probability_of_purchases_upto(ops, t, n, x, t_x, T, r, alpha, s, beta)[
        ..., n
    ]


def draw_latent_state(
    rng: np.random.Generator,
    x: Array,
    t_x: Array,
    T: Array,
    params: Mapping[str, Array],
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's purchase rate and remaining lifetime after T, given history.

    The customer is alive at T with probability :func:`probability_alive`. Given alive,
    the posterior is ``lambda ~ Gamma(r + x, alpha + T)`` and ``mu ~ Gamma(s, beta + T)``,
    independent (the likelihood of an alive customer, ``lambda^x e^{-lambda T}
    e^{-mu T}``, factorises), and the remaining lifetime is ``Exponential(mu)``; with
    ``mu`` integrated out it is Lomax: ``(beta + T) (U^(-1/s) - 1)``. A dead customer has
    remaining lifetime 0, and then ``lambda`` (drawn from the same Gamma) plays no role.

    Parameters
    ----------
    rng : numpy.random.Generator
        The random source.
    x, t_x, T : array_like
        The customers' histories.
    params : mapping
        ``r, alpha, s, beta``, scalars or arrays that broadcast against ``x`` (for
        example ``(chain, draw, 1)``).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``lambda`` and the remaining lifetime, both of the broadcast shape.
    """
    from clvlab.formulas._ops import numpy_ops

    r, alpha, s, beta = (np.asarray(params[n], dtype=float) for n in PARAMS)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    shape = np.broadcast_shapes(r.shape, alpha.shape, s.shape, beta.shape, x.shape, T.shape)
    alive = rng.random(shape) < probability_alive(numpy_ops, x, t_x, T, r, alpha, s, beta)
    lam = rng.gamma(np.broadcast_to(r + x, shape)) / np.broadcast_to(alpha + T, shape)
    # Lomax by inversion, in log space: U^(-1/s) - 1 = expm1(-log(U) / s)
    u = rng.random(shape)
    life = np.broadcast_to(beta + T, shape) * np.expm1(-np.log(u) / np.broadcast_to(s, shape))
    return lam, np.where(alive, life, 0.0)


def simulate_counts(
    rng: np.random.Generator,
    t: Array,
    x: Array,
    t_x: Array,
    T: Array,
    params: Mapping[str, Array],
) -> np.ndarray:
    """Realised purchases in ``(T, T + t]`` for every draw and customer.

    ``Poisson(lambda * min(t, remaining lifetime))`` with the state of
    :func:`draw_latent_state`. When ``t`` is a 1-D increasing array of period ends, the
    result has a trailing axis of cumulative counts up to each end, from one path per
    customer (increments are independent Poisson counts over the alive part of each
    period), so the periods of a CLV stay consistent.
    """
    lam, life = draw_latent_state(rng, x, t_x, T, params)
    ends = np.asarray(t, dtype=float)
    if ends.ndim == 0:
        return rng.poisson(lam * np.minimum(ends, life)).astype(float)
    exposure = np.minimum(ends, life[..., None])
    steps = np.diff(exposure, axis=-1, prepend=0.0)
    return np.cumsum(rng.poisson(lam[..., None] * steps), axis=-1).astype(float)


# The lifetime is memoryless, so a customer alive now is a new customer under
# alive_parameters: eq. 27 and the new-customer PMF.
purchases_if_alive = expected_purchases_new
probability_of_purchases_if_alive_upto = probability_of_purchases_new_upto
