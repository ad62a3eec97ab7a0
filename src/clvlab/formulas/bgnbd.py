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

from collections.abc import Mapping
from typing import Any

import numpy as np

from clvlab.formulas import _bg_discounted
from clvlab.formulas._alive import alive_or_dead_pmf
from clvlab.formulas._ops import Ops

__all__ = [
    "PARAMS",
    "alive_parameters",
    "conditional_expected_purchases",
    "conditional_probability_of_purchases",
    "conditional_probability_of_purchases_upto",
    "discounted_purchases_if_alive",
    "draw_latent_state",
    "expected_purchases_new",
    "loglik",
    "probability_alive",
    "probability_alive_after",
    "probability_of_purchases_if_alive_upto",
    "probability_of_purchases_new",
    "probability_of_purchases_new_upto",
    "purchases_if_alive",
    "simulate_counts",
]

Array = Any
PARAMS = ("r", "alpha", "a", "b")


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
              = P_{alive}(T)\\,(1 - z)^a\\,{}_2F_1(a + b - r, a; a + b + x; z),
              \\quad z = \\tfrac{t}{\\alpha + T + t}

    which reduces to Fader, Hardie & Lee (2005) eq. 11 at ``t = 0``. The right-hand side
    is Pfaff's transformation (DLMF 15.8.1): its first two parameters do not grow with
    ``x`` and ``z`` stays in ``[0, 1)``, so it is accurate for heavy buyers, where the left
    form has a huge first parameter and a large negative argument.
    """
    alive = probability_alive(ops, x, t_x, T, r, alpha, a, b)
    log_1mz = -ops.log1p(t / (alpha + T))
    z = t / (alpha + T + t)
    c = a + b + x
    survive = ops.exp(a * log_1mz) * (1 + a / c * ops.hyp2f1_tail(a + b - r, a, c, z))
    # E[exp(-lambda p t)] lies in [0, 1]; the clip only removes rounding
    return alive * ops.minimum(ops.maximum(survive, 0.0), 1.0)


def expected_purchases_new(ops: Ops, t: Array, r: Array, alpha: Array, a: Array, b: Array) -> Array:
    """E[X(t)] for a customer just acquired, Fader, Hardie & Lee (2005) eq. 7.

    .. math:: \\frac{a+b-1}{a-1}\\Big[1 - \\big(\\tfrac{\\alpha}{\\alpha+t}\\big)^r
              {}_2F_1\\big(r, b; a+b-1; z\\big)\\Big],\\quad z = \\tfrac{t}{\\alpha+t}

    evaluated after Euler's transformation (DLMF 15.8.1),
    ``(1-z)^r 2F1(r, b; a+b-1; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b-1; z)``, as

    .. math:: (a+b-1)\\Big[\\frac{-\\operatorname{expm1}((a-1)L)}{a-1}
              - e^{(a-1)L}\\,\\frac{{}_2F_1(a+b-1-r, a-1; a+b-1; z) - 1}{a-1}\\Big],
              \\quad L = \\ln(1 - z)

    For the conditional expectation (eq. 10) the parameters are ``(r + x, alpha + T, a,
    b + x)``: then the first two parameters of the transformed function do not depend on
    ``x`` at all, where eq. 7 as written has ``(1-z)^(r+x)`` underflow against a
    hypergeometric factor that overflows. The bracket has no cancellation at small ``t``
    and a finite limit at ``a = 1`` (``-L`` for the first term), where eq. 7's factor
    ``(a+b-1)/(a-1)`` is singular. Valid for every ``a > 0`` (for ``a < 1`` by analytic
    continuation, as in lifetimes).

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> p = dict(r=0.242593, alpha=4.413532, a=0.792886, b=2.425752)
    >>> round(float(expected_purchases_new(numpy_ops, 39.0, **p)), 6)  # lifetimes: 1.195017
    1.195017
    """
    log_1mz = -ops.log1p(t / alpha)  # L = ln(alpha / (alpha + t))
    z = t / (alpha + t)
    shift = a - 1
    safe = ops.where(shift == 0, 1.0, shift)
    first = ops.where(shift == 0, -log_1mz, -ops.expm1(shift * log_1mz) / safe)
    c = a + b - 1
    tail = ops.exp(shift * log_1mz) * ops.hyp2f1_tail(c - r, shift, c, z)
    # a count: the bracket is positive, the clip only removes rounding at t -> 0
    return ops.maximum(c * first - tail, 0.0)


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


def alive_parameters(x: Array, T: Array, r: Array, alpha: Array, a: Array, b: Array) -> dict:
    """The parameters of a customer alive at ``T``: ``(r + x, alpha + T, a, b + x)``.

    Given alive at ``T`` after ``x`` repeat purchases, ``lambda ~ Gamma(r + x, alpha + T)``
    and ``p ~ Beta(a, b + x)``, and from ``T`` on the customer is a new BG/NBD customer
    with those parameters (Fader, Hardie & Lee 2005, derivation of eq. 10).
    """
    return {"r": r + x, "alpha": alpha + T, "a": a, "b": b + x}


def discounted_purchases_if_alive(
    x: np.ndarray, T: np.ndarray, params: Mapping[str, Any], ends: np.ndarray, discounts: np.ndarray
) -> np.ndarray:
    """``sum_k d_k [N(t_k) - N(t_{k-1})]`` per ``(x, T)`` pair, with ``N`` eq. 9 under
    :func:`alive_parameters`: the compiled series of
    :func:`clvlab.formulas._bg_discounted.discounted_purchases_if_alive`."""
    return _bg_discounted.discounted_purchases_if_alive(
        x, T, params, ends, discounts, expected_purchases_new
    )


def draw_latent_state(
    rng: np.random.Generator, x: Array, t_x: Array, T: Array, params: Mapping[str, Array]
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's purchase rate and remaining purchases, given history, per draw.

    Alive at T with probability P(alive) (FHL 2005 eq. 11); if alive, ``lambda ~ Gamma(r +
    x, alpha + T)`` and ``p ~ Beta(a, b + x)`` (:func:`alive_parameters`), and the customer
    drops out after ``M ~ Geometric(p)`` further purchases. Returns ``(lambda, M)`` with
    ``M = 0`` when dead.
    """
    return process_state(rng, probability_alive, alive_parameters, x, t_x, T, params)


def process_state(
    rng: np.random.Generator,
    alive_probability: Any,
    alive_parameters_of: Any,
    x: Array,
    t_x: Array,
    T: Array,
    params: Mapping[str, Array],
) -> tuple[np.ndarray, np.ndarray]:
    """``(lambda, M)`` of customers who are alive with ``alive_probability(ops, x, t_x,
    T, r, alpha, a, b)`` and then follow the BG/NBD process with
    ``alive_parameters_of(x, T, r, alpha, a, b)``: ``lambda ~ Gamma(r', alpha')``,
    dropout after ``M ~ Geometric(p)`` purchases with ``p ~ Beta(a', b')``; ``M = 0``
    when dead. The latent state of BG/NBD and of MBG/NBD (whose alive customers follow
    the BG/NBD process)."""
    from clvlab.formulas._ops import numpy_ops

    r, alpha, a, b = (np.asarray(params[n], dtype=float) for n in PARAMS)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    shape = np.broadcast_shapes(r.shape, alpha.shape, a.shape, b.shape, x.shape, T.shape)
    alive = rng.random(shape) < alive_probability(numpy_ops, x, t_x, T, r, alpha, a, b)
    q = alive_parameters_of(x, T, r, alpha, a, b)
    lam = rng.gamma(np.broadcast_to(q["r"], shape)) / np.broadcast_to(q["alpha"], shape)
    drop = rng.beta(np.broadcast_to(q["a"], shape), np.broadcast_to(q["b"], shape))
    # p = 0 to rounding (huge b + x) means "never drops": a geometric of p = 1e-300
    remaining = rng.geometric(np.clip(drop, 1e-300, 1.0)).astype(float)
    return lam, np.where(alive, remaining, 0.0)


def simulate_counts(
    rng: np.random.Generator,
    t: Array,
    x: Array,
    t_x: Array,
    T: Array,
    params: Mapping[str, Array],
) -> np.ndarray:
    """Realised purchases in ``(T, T + t]`` for every draw and customer
    (:func:`counts_from_state` of :func:`draw_latent_state`)."""
    return counts_from_state(rng, t, *draw_latent_state(rng, x, t_x, T, params))


def counts_from_state(
    rng: np.random.Generator, t: Array, lam: np.ndarray, remaining: np.ndarray
) -> np.ndarray:
    """``min(Poisson(lambda t), M)``: the purchases of customers with rate ``lambda`` who
    drop out after ``M`` more. When ``t`` is a 1-D increasing array of period ends, the
    result has a trailing axis of cumulative counts up to each end, from one Poisson
    path per customer."""
    ends = np.asarray(t, dtype=float)
    if ends.ndim == 0:
        return np.minimum(rng.poisson(lam * ends), remaining).astype(float)
    steps = np.diff(ends, prepend=0.0)
    path = np.cumsum(rng.poisson(lam[..., None] * steps), axis=-1)
    return np.minimum(path, remaining[..., None]).astype(float)


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

    The bracket is the probability that a negative binomial count is at least ``n``,
    which is the regularized incomplete beta function ``I_z(n, r)`` with
    ``z = t / (alpha + t)``; with it one ``n`` costs O(1) in memory and time whatever its
    size (the terms are combined in log space, so a heavy buyer's posterior ``r + x``
    does not underflow). NumPy backend only.
    """
    from scipy import special

    if n == 0:
        return probability_of_purchases_new_upto(ops, t, 0, r, alpha, a, b)[..., 0]
    r, alpha, a, b, t = (np.asarray(v, dtype=float) for v in (r, alpha, a, b, t))
    with np.errstate(divide="ignore"):  # t = 0: ln z = -inf, P(X = n >= 1) = 0
        log_z = np.log(t) - np.log(alpha + t)
        log_nb = (
            special.gammaln(r + n)
            - special.gammaln(r)
            - special.gammaln(n + 1.0)
            - r * np.log1p(t / alpha)
            + n * log_z
        )
        log_tail = np.log(special.betainc(float(n), r, np.exp(log_z)))
    log_beta = special.betaln(a, b)
    alive = np.exp(special.betaln(a, b + n) - log_beta + log_nb)
    dropped = np.exp(special.betaln(a + 1.0, b + n - 1.0) - log_beta + log_tail)
    return np.clip(alive + dropped, 0.0, 1.0)


def probability_of_purchases_new_upto(
    ops: Ops, t: Array, n_max: int, r: Array, alpha: Array, a: Array, b: Array
) -> Array:
    """P(X(t) = n) for n = 0..n_max along a new last axis (eq. 8 for all n at once).

    The finite sum of eq. 8 is a cumulative sum of negative-binomial terms, so the whole
    PMF costs O(n_max) rather than O(n_max**2). The negative-binomial terms are built in
    log space as a running sum, ln NB(n) = ln NB(n-1) + ln((r+n-1) z / n), so that
    ``(alpha / (alpha + t))**r``, which underflows for a heavy buyer's posterior
    ``r + x``, never multiplies the later terms as a 0; the Beta function ratio is the
    running product B(a, b+n) / B(a, b) = prod_{j<n} (b+j) / (a+b+j), which avoids
    evaluating log-gamma functions on the whole (draws x rows x n) array. NumPy backend
    only.
    """

    r, alpha, a, b, t = (np.asarray(v, dtype=float)[..., None] for v in (r, alpha, a, b, t))
    n = np.arange(1, n_max + 1, dtype=float)
    with np.errstate(divide="ignore"):  # t = 0: ln z = -inf, NB(n >= 1) = 0
        log_z = np.log(t) - np.log(alpha + t)
    shape = np.broadcast_shapes(r.shape, alpha.shape, a.shape, b.shape, t.shape)
    shape = (*shape[:-1], n_max + 1)
    nb = np.empty(shape)
    nb[..., 0] = (-r * ops.log1p(t / alpha))[..., 0]  # ln (alpha / (alpha + t))^r
    nb[..., 1:] = np.log((r + n - 1) / n) + log_z
    np.cumsum(nb, axis=-1, out=nb)
    np.exp(nb, out=nb)
    beta = np.empty(shape)  # B(a, b+n) / B(a, b)
    beta[..., 0] = 1.0
    beta[..., 1:] = (b + n - 1) / (a + b + n - 1)
    np.cumprod(beta, axis=-1, out=beta)
    out = beta * nb
    # P(NB >= n) for n >= 1, as 1 - P(NB < n); rounding may leave it a hair below 0
    above = np.maximum(1 - np.cumsum(nb[..., :-1], axis=-1), 0.0)
    # B(a+1, b+n-1) / B(a, b) = B(a, b+n-1) / B(a, b) * a / (a+b+n-1)
    out[..., 1:] += beta[..., :-1] * a / (a + b + n - 1) * above
    return np.minimum(out, 1.0)


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
    # a convex combination of two probabilities; the clip only removes rounding
    return ops.minimum(alive * new + (1 - alive) * (1.0 if n == 0 else 0.0), 1.0)


def conditional_probability_of_purchases_upto(
    ops: Ops,
    t: Array,
    n_max: int,
    x: Array,
    t_x: Array,
    T: Array,
    r: Array,
    alpha: Array,
    a: Array,
    b: Array,
) -> Array:
    """P(Y(t) = n | x, t_x, T) for n = 0..n_max along a new last axis (NumPy only); see
    :func:`conditional_probability_of_purchases`."""
    alive = probability_alive(ops, x, t_x, T, r, alpha, a, b)
    new = probability_of_purchases_new_upto(ops, t, n_max, r + x, alpha + T, a, b + x)
    return alive_or_dead_pmf(alive, new)


# A BG/NBD customer is alive when acquired, so the process of a customer alive now (with
# the parameters of alive_parameters) is the new-customer one: eq. 9 and eq. 8.
purchases_if_alive = expected_purchases_new
probability_of_purchases_if_alive_upto = probability_of_purchases_new_upto
