"""BG/NBD formulas (Fader, Hardie & Lee 2005), written once for every backend.

Notation follows the paper: ``x`` repeat purchases, ``t_x`` the time of the last one,
``T`` the length of observation; ``r, alpha`` the Gamma heterogeneity of the purchase
rate, ``a, b`` the Beta heterogeneity of the dropout probability. Every function takes the
array backend ``ops`` (:data:`~clvlab.formulas._ops.numpy_ops` or ``pytensor_ops``) and
broadcasts, so parameters may carry leading (chain, draw) axes.

All conditional quantities use one fact: given that a customer with history
``(x, t_x, T)`` is alive at ``T``, the posterior of ``(lambda, p)`` is
``Gamma(r + x, alpha + T) x Beta(a, b + x)``, and from ``T`` on the customer behaves like a
new BG/NBD customer with those parameters. Conditional formulas therefore reuse the
new-customer ones (Fader, Hardie & Lee 2005, eqs. 7-10).
"""

from __future__ import annotations

from typing import Any

from clvlab.formulas._ops import Ops

__all__ = [
    "conditional_expected_purchases",
    "conditional_probability_of_purchases",
    "expected_purchases_new",
    "loglik",
    "probability_alive",
    "probability_alive_after",
    "probability_of_purchases_new",
    "probability_of_purchases_new_upto",
]

Array = Any


def _log_odds_dead(
    ops: Ops, x: Array, t_x: Array, T: Array, r: Array, alpha: Array, a: Array, b: Array
) -> Array:
    """log[a / (b + x - 1) * ((alpha + T) / (alpha + t_x))**(r + x)], for x > 0.

    The log of the ratio of the "dropped out after the last purchase" term to the
    "still alive" term of the likelihood (Fader, Hardie & Lee 2005, eq. 6).
    """
    at = ops.per_value
    x_pos = ops.maximum(x, 1)
    return (
        ops.log(a)
        - at(lambda v: ops.log(b + ops.maximum(v, 1) - 1), x)
        + (r + x_pos)
        * (at(lambda v: ops.log(alpha + v), T) - at(lambda v: ops.log(alpha + v), t_x))
    )


def loglik(
    ops: Ops, x: Array, t_x: Array, T: Array, r: Array, alpha: Array, a: Array, b: Array
) -> Array:
    """BG/NBD individual log-likelihood, Fader, Hardie & Lee (2005) eq. 6.

    Computed in log space as in Hardie's note 027 ("Implementing the BG/NBD model"):

    .. math::

        \\ell = \\ln\\Gamma(r+x) - \\ln\\Gamma(r) + r\\ln\\alpha - \\ln B(a, b)
               + \\operatorname{logaddexp}\\big(\\ln B(a, b+x) - (r+x)\\ln(\\alpha+T),\\;
                 \\ln B(a+1, b+x-1) - (r+x)\\ln(\\alpha+t_x)\\big)

    where the second term is present only when ``x > 0``. Terms that depend on a single
    data column go through ``ops.per_value``, so a backend can evaluate them once per
    distinct value (the folded CDNOW table has 8,700 rows but 60 distinct ``x``).

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> round(float(loglik(numpy_ops, 0, 0.0, 40.0, 0.25, 4.0, 0.8, 2.5)), 8)
    -0.59947382
    """
    at = ops.per_value  # terms of one data column: once per distinct value
    rx = r + x
    head = at(lambda v: ops.gammaln(r + v), x) - ops.gammaln(r) + r * ops.log(alpha)
    head = head - ops.betaln(a, b)
    alive = at(lambda v: ops.betaln(a, b + v), x) - rx * at(lambda v: ops.log(alpha + v), T)
    dead = at(lambda v: ops.betaln(a + 1, b + ops.maximum(v, 1) - 1), x) - rx * at(
        lambda v: ops.log(alpha + v), t_x
    )
    dead = ops.where(x > 0, dead, -float("inf"))
    return head + ops.logaddexp(alive, dead)


def probability_alive(
    ops: Ops, x: Array, t_x: Array, T: Array, r: Array, alpha: Array, a: Array, b: Array
) -> Array:
    """P(alive at T | x, t_x, T), Fader, Hardie & Lee (2005) eq. 11 (in log-odds form).

    .. math:: P = 1 / \\big(1 + \\delta_{x>0}\\,\\tfrac{a}{b+x-1}
              (\\tfrac{\\alpha+T}{\\alpha+t_x})^{r+x}\\big)
    """
    log_odds = _log_odds_dead(ops, x, t_x, T, r, alpha, a, b)
    return ops.where(x > 0, ops.expit(-log_odds), 1.0)


def probability_alive_after(
    ops: Ops, t: Array, x: Array, t_x: Array, T: Array, r: Array, alpha: Array, a: Array, b: Array
) -> Array:
    """P(alive at T + t | x, t_x, T): alive at T, and no dropout in the next ``t``.

    Given alive at T, dropouts form a Poisson process of rate ``lambda * p``; averaging
    ``exp(-lambda p t)`` over the posterior ``Gamma(r + x, alpha + T)`` and
    ``Beta(a, b + x)`` (Euler's integral for the Gauss hypergeometric function) gives

    .. math:: P_{alive}(T) \\; {}_2F_1\\big(r + x, a; a + b + x; -\\tfrac{t}{\\alpha + T}\\big)

    which reduces to Fader, Hardie & Lee (2005) eq. 11 at ``t = 0``.
    """
    alive = probability_alive(ops, x, t_x, T, r, alpha, a, b)
    return alive * ops.hyp2f1(r + x, a, a + b + x, -t / (alpha + T))


def expected_purchases_new(ops: Ops, t: Array, r: Array, alpha: Array, a: Array, b: Array) -> Array:
    """E[X(t)] for a customer just acquired, Fader, Hardie & Lee (2005) eq. 7.

    .. math:: \\frac{a+b-1}{a-1}\\Big[1 - \\big(\\tfrac{\\alpha}{\\alpha+t}\\big)^r
              {}_2F_1\\big(r, b; a+b-1; \\tfrac{t}{\\alpha+t}\\big)\\Big]

    Requires ``a > 1`` for the closed form as written; SciPy's ``hyp2f1`` continues it
    analytically, as lifetimes does.
    """
    z = t / (alpha + t)
    tail = ops.exp(r * (ops.log(alpha) - ops.log(alpha + t))) * ops.hyp2f1(r, b, a + b - 1, z)
    return (a + b - 1) / (a - 1) * (1 - tail)


def conditional_expected_purchases(
    ops: Ops, t: Array, x: Array, t_x: Array, T: Array, r: Array, alpha: Array, a: Array, b: Array
) -> Array:
    """E[Y(t) | x, t_x, T], Fader, Hardie & Lee (2005) eq. 10.

    Equals P(alive) times :func:`expected_purchases_new` with the posterior parameters
    ``(r + x, alpha + T, a, b + x)``. The hypergeometric term depends on ``(x, T, t)``
    only, not on ``t_x``.

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> p = dict(r=0.242593, alpha=4.413532, a=0.792886, b=2.425752)
    >>> round(float(conditional_expected_purchases(numpy_ops, 39, 2, 30.43, 38.86, **p)), 3)
    1.226
    """
    alive = probability_alive(ops, x, t_x, T, r, alpha, a, b)
    return alive * expected_purchases_new(ops, t, r + x, alpha + T, a, b + x)


def probability_of_purchases_new(
    ops: Ops, t: Array, n: int, r: Array, alpha: Array, a: Array, b: Array
) -> Array:
    """P(X(t) = n) for a customer just acquired, Fader, Hardie & Lee (2005) eq. 8.

    .. math::

        \\frac{B(a, b+n)}{B(a, b)} \\frac{\\Gamma(r+n)}{\\Gamma(r)\\,n!}
        \\Big(\\frac{\\alpha}{\\alpha+t}\\Big)^r \\Big(\\frac{t}{\\alpha+t}\\Big)^n
        + \\delta_{n>0} \\frac{B(a+1, b+n-1)}{B(a, b)} \\Big[1 - \\Big(\\frac{\\alpha}
        {\\alpha+t}\\Big)^r \\sum_{j=0}^{n-1} \\frac{\\Gamma(r+j)}{\\Gamma(r)\\,j!}
        \\Big(\\frac{t}{\\alpha+t}\\Big)^j\\Big]

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> p = dict(r=0.242593, alpha=4.413532, a=0.792886, b=2.425752)
    >>> round(float(probability_of_purchases_new(numpy_ops, 39.0, 0, **p)), 4)
    0.5743
    """
    return probability_of_purchases_new_upto(ops, t, n, r, alpha, a, b)[..., n]


def probability_of_purchases_new_upto(
    ops: Ops, t: Array, n_max: int, r: Array, alpha: Array, a: Array, b: Array
) -> Array:
    """P(X(t) = n) for n = 0..n_max along a new last axis (eq. 8 for all n at once).

    The finite sum of eq. 8 is a cumulative sum of negative-binomial terms, so the whole
    PMF costs O(n_max) rather than O(n_max**2). The Gamma and Beta function ratios are
    built as running products, NB(n) = NB(n-1) (r+n-1) z / n and
    B(a, b+n) / B(a, b) = prod_{j<n} (b+j) / (a+b+j), which avoids evaluating log-gamma
    functions on the whole (draws x rows x n) array. NumPy backend only.
    """
    import numpy as np

    r, alpha, a, b, t = (np.asarray(v, dtype=float)[..., None] for v in (r, alpha, a, b, t))
    n = np.arange(1, n_max + 1, dtype=float)
    z = t / (alpha + t)
    p0 = ops.exp(r * (ops.log(alpha) - ops.log(alpha + t)))
    shape = np.broadcast_shapes(r.shape, alpha.shape, a.shape, b.shape, t.shape)
    shape = (*shape[:-1], n_max + 1)
    nb = np.empty(shape)
    nb[..., 0] = p0[..., 0]
    nb[..., 1:] = (r + n - 1) * z / n
    np.cumprod(nb, axis=-1, out=nb)
    beta = np.empty(shape)  # B(a, b+n) / B(a, b)
    beta[..., 0] = 1.0
    beta[..., 1:] = (b + n - 1) / (a + b + n - 1)
    np.cumprod(beta, axis=-1, out=beta)
    out = beta * nb
    below = np.cumsum(nb[..., :-1], axis=-1)  # sum over j < n, for n >= 1
    # B(a+1, b+n-1) / B(a, b) = B(a, b+n-1) / B(a, b) * a / (a+b+n-1)
    out[..., 1:] += beta[..., :-1] * a / (a + b + n - 1) * (1 - below)
    return out


def conditional_probability_of_purchases(
    ops: Ops,
    t: Array,
    n: int,
    x: Array,
    t_x: Array,
    T: Array,
    r: Array,
    alpha: Array,
    a: Array,
    b: Array,
) -> Array:
    """P(Y(t) = n | x, t_x, T): dead with no purchase, or alive and a "new" customer.

    .. math:: (1 - P_{alive})\\,\\delta_{n=0} + P_{alive}\\,P_{new}(X(t) = n;\\;
              r+x, \\alpha+T, a, b+x)

    (the conditional PMF of Fader & Hardie's note "Deriving the conditional PMF of the
    BG/NBD model", 2007).
    """
    alive = probability_alive(ops, x, t_x, T, r, alpha, a, b)
    new = probability_of_purchases_new(ops, t, n, r + x, alpha + T, a, b + x)
    return alive * new + (1 - alive) * (1.0 if n == 0 else 0.0)
