"""Shifted-beta-geometric formulas (Fader & Hardie 2007, 2010), on the purchase contract.

Fader & Hardie (2007), "How to project customer retention", Journal of Interactive
Marketing 21(1) (FH07); Fader & Hardie (2010), "Customer-base valuation in a contractual
setting: the perils of ignoring heterogeneity", Marketing Science 29(1) (FH10).

A contract comes up for renewal once per period. While subscribed a customer cancels at
each renewal opportunity with probability ``theta``, ``theta ~ Beta(alpha, beta)`` across
customers, so the chance of surviving ``t`` opportunities is FH07 eq. 3,

.. math:: S(t) = \\frac{B(\\alpha, \\beta + t)}{B(\\alpha, \\beta)}.

This is the dropout process of BG/BB (:mod:`clvlab.formulas.bgbb`, with ``gamma, delta =
alpha, beta``) with a "transaction" at every opportunity the customer is alive at: a
renewal. So the model speaks the discrete purchase contract
(:mod:`clvlab.formulas.contract`): a history is ``x`` renewals in ``n`` (``T``)
opportunities, ``t_x = x`` (renewals are consecutive), and ``x < n`` means the customer
cancelled at opportunity ``x + 1``, which a contract observes. "Alive" means, as for
BG/BB, alive at the next opportunity ``n + 1``: a subscriber renews then with the
retention rate ``(beta + n) / (alpha + beta + n)`` (FH07 eq. 6), a cancelled customer
never. Every prediction is that probability times the renewals of a customer alive at the
next opportunity, whose ``theta ~ Beta(alpha, beta + n + 1)`` (:func:`alive_parameters`),
computed with the shared :mod:`clvlab.formulas._beta_geometric` process.

:func:`residual_lifetime` is FH10's discounted expected residual lifetime (DERL, eq. 6).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from clvlab.formulas._alive import alive_or_dead_pmf
from clvlab.formulas._beta_geometric import (
    alive_opportunities,
    alive_opportunity_probability,
    log_rising,
    remaining_opportunities,
    survival_ratio,
)
from clvlab.formulas._ops import Ops, numpy_ops
from clvlab.formulas._schedule import discounted_alive_process

__all__ = [
    "CONTRACTUAL",
    "DISCRETE",
    "PARAMS",
    "alive_parameters",
    "churn_probability",
    "conditional_expected_purchases",
    "conditional_probability_of_purchases",
    "discounted_purchases_if_alive",
    "draw_latent_state",
    "expected_purchases_new",
    "loglik",
    "probability_alive",
    "probability_alive_after",
    "probability_of_purchases_if_alive_upto",
    "probability_of_purchases_new_upto",
    "purchases_if_alive",
    "residual_lifetime",
    "retention_rate",
    "simulate_counts",
    "survival",
]

Array = Any
PARAMS = ("alpha", "beta")
#: Histories and horizons are whole numbers of renewal opportunities.
DISCRETE = True
#: Churn is observed: a history is ``x`` consecutive renewals in ``n`` opportunities.
CONTRACTUAL = True


def survival(ops: Ops, t: Array, alpha: Array, beta: Array) -> Array:
    """S(t) = P(still subscribed after ``t`` renewal opportunities), FH07 eq. 3.

    .. math:: S(t) = \\frac{B(\\alpha, \\beta + t)}{B(\\alpha, \\beta)}
              = \\prod_{i=1}^{t} \\frac{\\beta + i - 1}{\\alpha + \\beta + i - 1}

    Examples
    --------
    >>> round(float(survival(numpy_ops, 1, 0.704, 1.182)), 6)  # beta / (alpha + beta)
    0.626723
    """
    return survival_ratio(ops, alpha, beta, t)


def churn_probability(ops: Ops, t: Array, alpha: Array, beta: Array) -> Array:
    """P(T = t): cancels at renewal opportunity ``t >= 1``, FH07 eq. 2.

    .. math:: P(T = t) = \\frac{B(\\alpha + 1, \\beta + t - 1)}{B(\\alpha, \\beta)}
              = \\frac{\\alpha}{\\alpha+\\beta}\\,
              \\frac{(\\beta)_{t-1}}{(\\alpha+\\beta+1)_{t-1}}

    Examples
    --------
    >>> round(float(churn_probability(numpy_ops, 1, 0.704, 1.182)), 6)  # alpha/(alpha+beta)
    0.373277
    """
    before = ops.maximum(t - 1, 0.0)
    log_p = (
        ops.log(alpha)
        - ops.log(alpha + beta)
        + log_rising(ops, beta, before)
        - log_rising(ops, alpha + beta + 1, before)
    )
    return ops.exp(log_p)


def retention_rate(ops: Ops, t: Array, alpha: Array, beta: Array) -> Array:
    """r_t = S(t) / S(t - 1), the share of those subscribed after ``t - 1`` opportunities
    who renew at the ``t``-th, FH07 eq. 6: ``(beta + t - 1) / (alpha + beta + t - 1)``,
    increasing in ``t`` (the sorting effect of heterogeneity)."""
    return (beta + t - 1) / (alpha + beta + t - 1)


def loglik(ops: Ops, x: Array, t_x: Array, T: Array, alpha: Array, beta: Array) -> Array:
    """Individual log-likelihood of ``x`` renewals in ``n = T`` opportunities, FH07 eq. 4.

    .. math:: \\ln L = \\begin{cases} \\ln S(n) & x = n \\text{ (still subscribed)}\\\\
              \\ln P(T = x + 1) & x < n \\text{ (cancelled at opportunity } x + 1)
              \\end{cases}

    Summed over a cohort's survivor counts ``n_0 \\ge n_1 \\ge \\dots \\ge n_\\tau`` this is
    FH07's ``sum_t (n_{t-1} - n_t) ln P(T = t) + n_tau ln S(tau)``. The opportunity of
    the last renewal, ``t_x``, equals ``x`` for a contract (checked by
    :func:`clvlab.data.contractual.validate_contracts`); the cancellation is at
    ``t_x + 1``. Both branches stay finite, so every backend differentiates it.

    Examples
    --------
    >>> round(float(loglik(numpy_ops, 0, 0, 3, 1.0, 1.0)), 6)  # ln P(T = 1) = ln(1/2)
    -0.693147
    """
    alive = log_rising(ops, beta, T) - log_rising(ops, alpha + beta, T)
    churned = ops.log(churn_probability(ops, t_x + 1, alpha, beta))
    return ops.where(x > T - 0.5, alive, churned)


def probability_alive(ops: Ops, x: Array, t_x: Array, T: Array, alpha: Array, beta: Array) -> Array:
    """P(renews at the next opportunity ``n + 1`` | history): the retention rate
    ``(beta + n) / (alpha + beta + n)`` (FH07 eq. 6 at ``t = n + 1``, the posterior mean of
    ``1 - theta`` after ``n`` renewals) for a subscriber (``x = n``), 0 once cancelled."""
    return ops.where(x > T - 0.5, retention_rate(ops, T + 1, alpha, beta), 0.0)


def probability_alive_after(
    ops: Ops, t: Array, x: Array, t_x: Array, T: Array, alpha: Array, beta: Array
) -> Array:
    """P(renews at opportunity ``n + 1 + t``): ``S(n + 1 + t) / S(n)`` for a subscriber.

    .. math:: P_{alive}\\,\\frac{B(\\alpha, \\beta + n + 1 + t)}{B(\\alpha, \\beta + n + 1)}
    """
    alive = probability_alive(ops, x, t_x, T, alpha, beta)
    return alive * survival_ratio(ops, alpha, beta + T + 1, t)


def alive_parameters(x: Array, T: Array, alpha: Array, beta: Array) -> dict:
    """``theta ~ Beta(alpha, beta + n + 1)`` for a customer who renews at ``n + 1``
    (likelihood ``(1 - theta)^(n + 1)``; FH10 §2, the posterior behind eq. 6)."""
    return {"alpha": alpha + 0 * x, "beta": beta + T + 1}


def purchases_if_alive(ops: Ops, t: Array, alpha: Array, beta: Array) -> Array:
    """Expected renewals at the next ``t`` opportunities of a customer who renews at the
    first: ``sum_{k=0}^{t-1} B(alpha, beta + k) / B(alpha, beta)``
    (:func:`~clvlab.formulas._beta_geometric.alive_opportunities`)."""
    return alive_opportunities(ops, t, alpha, beta)


def conditional_expected_purchases(
    ops: Ops, t: Array, x: Array, t_x: Array, T: Array, alpha: Array, beta: Array
) -> Array:
    """Expected renewals in the next ``t`` opportunities given the history:

    .. math:: E = \\sum_{k=1}^{t} \\frac{S(n + k)}{S(n)} \\quad (x = n), \\qquad 0 \\quad (x < n)

    evaluated as :func:`probability_alive` times :func:`purchases_if_alive` under
    :func:`alive_parameters`.
    """
    alive = probability_alive(ops, x, t_x, T, alpha, beta)
    return alive * purchases_if_alive(ops, t, **alive_parameters(x, T, alpha, beta))


def expected_purchases_new(ops: Ops, t: Array, alpha: Array, beta: Array) -> Array:
    """Expected renewals in the first ``t`` opportunities of a new subscriber,
    ``sum_{k=1}^{t} S(k)`` (FH07 eq. 3 summed): renews at the first with ``beta / (alpha +
    beta)``, then as a customer alive there with ``beta + 1``."""
    return beta / (alpha + beta) * alive_opportunities(ops, t, alpha, beta + 1)


def probability_of_purchases_if_alive_upto(
    ops: Ops, t: Array, n_max: int, alpha: Array, beta: Array
) -> np.ndarray:
    """P(k renewals in the next ``t`` opportunities | renews at the first), k = 0..n_max on
    a new last axis (NumPy): the number of opportunities alive at,
    :func:`~clvlab.formulas._beta_geometric.alive_opportunity_probability`."""
    del ops
    t = np.asarray(t, dtype=float)
    a, b = np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float)
    columns = [alive_opportunity_probability(t, float(k), a, b) for k in range(n_max + 1)]
    return np.minimum(np.stack(np.broadcast_arrays(*columns), axis=-1), 1.0)


def probability_of_purchases_new_upto(
    ops: Ops, t: Array, n_max: int, alpha: Array, beta: Array
) -> np.ndarray:
    """P(k renewals in the first ``t`` opportunities) of a new subscriber, k = 0..n_max:
    cancels at the first (``alpha / (alpha + beta)``, FH07 eq. 2) or renews and continues
    with ``beta + 1`` (NumPy)."""
    a, b = np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float)
    process = probability_of_purchases_if_alive_upto(ops, t, n_max, a, b + 1)
    return alive_or_dead_pmf(b / (a + b), process)


def conditional_probability_of_purchases(
    ops: Ops, t: Array, n: int, x: Array, t_x: Array, T: Array, alpha: Array, beta: Array
) -> np.ndarray:
    """P(``n`` renewals in the next ``t`` opportunities | history) (NumPy): 0 renewals
    for a cancelled customer; for a subscriber, cancels at ``n + 1`` or renews and
    follows :func:`probability_of_purchases_if_alive_upto` under :func:`alive_parameters`.
    """
    alive = probability_alive(ops, x, t_x, T, alpha, beta)
    process = probability_of_purchases_if_alive_upto(
        ops, t, n, **alive_parameters(x, T, alpha, beta)
    )
    return alive_or_dead_pmf(alive, process)[..., n]


def discounted_purchases_if_alive(
    x: np.ndarray,
    T: np.ndarray,
    params: Mapping[str, Any],
    ends: np.ndarray,
    discounts: np.ndarray,
) -> np.ndarray:
    """``sum_k d_k [N(t_k) - N(t_{k-1})]`` per ``(x, n)`` pair, ``N`` =
    :func:`purchases_if_alive` under :func:`alive_parameters` (see the contract).

    With ``ends = 1, 2, ...`` and ``d_k = (1 + d)^{-k}`` this times
    :func:`probability_alive` tends to ``DERL / (1 + d)`` as the horizon grows
    (:func:`residual_lifetime`: FH10 does not discount the next renewal).
    """
    return discounted_alive_process(
        alive_parameters, purchases_if_alive, PARAMS, x, T, params, ends, discounts
    )


def residual_lifetime(renewals: Array, discount_rate: Array, alpha: Array, beta: Array) -> Array:
    """Discounted expected residual lifetime of a customer who has made ``n - 1`` renewals
    (``renewals = n - 1 >= 0``), FH10 eq. 6 (NumPy):

    .. math:: \\text{DERL}(d \\mid n - 1) = \\sum_{t=n}^{\\infty}
              \\frac{S(t)}{S(n-1)}\\frac{1}{(1+d)^{t-n}}
              = \\frac{\\beta+n-1}{\\alpha+\\beta+n-1}\\;
              {}_2F_1\\big(1, \\beta+n; \\alpha+\\beta+n; \\tfrac{1}{1+d}\\big)

    in units of the payment per period; ``discount_rate > 0`` per period (the series
    diverges at 0 when ``alpha <= 1``). The hypergeometric function is SciPy's
    ``hyp2f1``; where that is not finite (``beta + n`` in the hundreds with a small
    ``alpha``), its defining series, whose terms fall at least as fast as
    ``(1 + d)^-k`` (:func:`_hyp2f1_one_series`). Checked against mpmath.

    Examples
    --------
    >>> round(float(residual_lifetime(0, 0.1, 3.80, 15.20)), 2)  # FH10 Table 2, case 1
    3.31
    """
    from scipy import special

    n = np.asarray(renewals, dtype=float) + 1.0
    a, b, d = (np.asarray(v, dtype=float) for v in (alpha, beta, discount_rate))
    z = 1.0 / (1.0 + d)
    with np.errstate(all="ignore"):
        f = np.asarray(special.hyp2f1(1.0, b + n, a + b + n, z), dtype=float)
    bad = ~np.isfinite(f)
    if np.any(bad):
        shape = np.broadcast_shapes(f.shape, n.shape, a.shape, b.shape, d.shape)
        f = np.array(np.broadcast_to(f, shape))
        args = [
            np.broadcast_to(v, shape)[np.broadcast_to(bad, shape)] for v in (b + n, a + b + n, z)
        ]
        f[np.broadcast_to(bad, shape)] = _hyp2f1_one_series(*args)
    return (b + n - 1) / (a + b + n - 1) * f


#: Most terms :func:`_hyp2f1_one_series` sums before it refuses.
_SERIES_TERMS = 2_000_000


def _hyp2f1_one_series(b: np.ndarray, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``2F1(1, b; c; z) = sum_k (b)_k / (c)_k z^k`` for ``0 < b < c`` and ``0 < z < 1``,
    summed until the tail bound ``term / (1 - z)`` is below 1e-17 of the sum (each term
    ratio ``(b + k) z / (c + k)`` is below ``z``).

    Raises
    ------
    ArgumentError
        When that needs more than 2,000,000 terms (a discount rate below about 2e-5 per
        period), naming the fix.
    """
    total = np.ones_like(b)
    term = np.ones_like(b)
    tail = 1.0 / (1.0 - z)
    k = 0
    while np.any(term * tail > 1e-17 * total):
        term = term * (b + k) / (c + k) * z
        total = total + term
        k += 1
        if k > _SERIES_TERMS:
            from clvlab.errors import ArgumentError

            raise ArgumentError(
                "the discounted residual lifetime needs more than 2,000,000 terms of its "
                "series at this discount rate: pass a discount rate of at least 1e-4 per "
                "period (e.g. a yearly rate for yearly renewals)"
            )
    return total


def draw_latent_state(
    rng: np.random.Generator, x: Array, t_x: Array, T: Array, params: Mapping[str, Array]
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's renewal probability (1) and remaining opportunities alive, per draw.

    Renews at ``n + 1`` with :func:`probability_alive`; then ``theta ~ Beta(alpha, beta +
    n + 1)`` (:func:`alive_parameters`) and ``K >= 1`` opportunities alive at, geometric
    (:func:`~clvlab.formulas._beta_geometric.remaining_opportunities`). Returns ``(p, K)``
    as BG/BB's simulator does, with ``p = 1`` and ``K = 0`` when not renewing.
    """
    alpha, beta = (np.asarray(params[n], dtype=float) for n in PARAMS)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    shape = np.broadcast_shapes(alpha.shape, beta.shape, x.shape, t_x.shape, T.shape)
    chance = probability_alive(numpy_ops, x, t_x, T, alpha, beta)
    renews = rng.random(shape) < chance
    q = alive_parameters(x, T, alpha, beta)
    theta = rng.beta(*(np.broadcast_to(q[n], shape) for n in PARAMS))
    return np.ones(shape), np.where(renews, remaining_opportunities(rng, theta), 0.0)


def simulate_counts(
    rng: np.random.Generator, t: Array, x: Array, t_x: Array, T: Array, params: Mapping[str, Array]
) -> np.ndarray:
    """Realised renewals in the next ``t`` opportunities, ``min(t, K)`` with ``K`` from
    :func:`draw_latent_state`; for a 1-D increasing ``t``, cumulative counts at each end
    (a trailing axis) from one path per customer."""
    _, remaining = draw_latent_state(rng, x, t_x, T, params)
    ends = np.asarray(t, dtype=float)
    if ends.ndim == 0:
        return np.minimum(ends, remaining)
    return np.minimum(ends, remaining[..., None])
