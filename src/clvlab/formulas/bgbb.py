"""BG/BB formulas (Fader, Hardie & Shang 2010), written once for every backend.

Fader, Hardie & Shang (2010), "Customer-base analysis in a discrete-time noncontractual
setting", Marketing Science 29(6) (FHS below). Time is a sequence of transaction
opportunities. A customer has ``x`` transactions in ``n`` opportunities, the last at
opportunity ``t_x`` (``t_x = 0`` when ``x = 0``); in the signatures of the purchase-model
contract (:mod:`clvlab.formulas.contract`) ``T`` is ``n`` and a horizon ``t`` is a whole
number ``n*`` of future opportunities. ``p ~ Beta(alpha, beta)`` is the probability of a
transaction at an opportunity while alive, ``theta ~ Beta(gamma, delta)`` the probability
of becoming inactive at the start of each opportunity, so that a customer is alive at
opportunity ``t`` with probability ``(1 - theta)^t``.

The factorisation of the contract, in discrete time: "alive" means alive at the *next*
opportunity ``n + 1`` (P(alive) is FHS eq. 11, as in the paper and BTYD). Given that, the
posterior factorises (the likelihood of such a customer is ``p^x (1-p)^(n-x)
(1-theta)^(n+1)``) into

.. math:: p \\sim \\text{Beta}(\\alpha + x, \\beta + n - x),\\qquad
          \\theta \\sim \\text{Beta}(\\gamma, \\delta + n + 1),

(:func:`alive_parameters`), and from then on the customer follows the *alive process*: he
is alive at the first of the next ``t`` opportunities, transacts at each opportunity he is
alive at with probability ``p``, and survives each later opportunity with probability
``1 - theta``. A new customer (``x = n = 0``) is alive at opportunity 1 with probability
``delta / (gamma + delta)`` and then follows the alive process with ``delta + 1``; the
new-customer forms (FHS eqs. 7 and 9) are therefore the same mixture as the conditional
ones (FHS eqs. 13 and 18).

Every function takes the array backend ``ops`` and broadcasts, so parameters may carry
leading (chain, draw) axes. Ratios of Gamma functions are taken as differences of
:func:`log_rising` (``ln Gamma(a + h) - ln Gamma(a)``, accurate for a huge ``a``, where a
difference of two ``gammaln`` would lose the digits of a heavy ``delta + n``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from clvlab.formulas._alive import alive_or_dead_pmf
from clvlab.formulas._beta_geometric import (
    alive_opportunities,
    alive_opportunity_probability,
    excess,
    log_rising,
    remaining_opportunities,
    survival_ratio,
)
from clvlab.formulas._ops import Ops
from clvlab.formulas._schedule import discounted_alive_process

__all__ = [
    "DISCRETE",
    "PARAMS",
    "alive_parameters",
    "conditional_expected_purchases",
    "conditional_probability_of_purchases",
    "conditional_probability_of_purchases_upto",
    "discounted_purchases_if_alive",
    "draw_latent_state",
    "expected_purchases_new",
    "log_rising",
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
PARAMS = ("alpha", "beta", "gamma", "delta")
#: A discrete-time model: histories and horizons are whole numbers of opportunities.
DISCRETE = True


def _column(value: Array) -> Array:
    """A data column as a float array (a symbolic pytensor column is kept as it is)."""
    if isinstance(value, (int, float, np.number, np.ndarray, list, tuple)):
        return np.asarray(value, dtype=float)
    return value


def _gaps(ops: Ops, t_x: Array, T: Array) -> Array:
    """``0, 1, ..., max(n - t_x) - 1``: the index ``i`` of the likelihood's finite sum.

    Its length is read from the data when the data are values (NumPy arrays, pytensor
    constants as built by :func:`clvlab.formulas._ops.pytensor_ops_gathering`); for
    symbolic pytensor columns it is a symbolic ``arange``.
    """
    values = [v if isinstance(v, np.ndarray) else getattr(v, "data", None) for v in (T, t_x)]
    if not all(isinstance(v, np.ndarray) for v in values):
        import pytensor.tensor as pt  # symbolic columns: the length is known at run time

        return pt.arange(pt.maximum(pt.max(T - t_x), 1.0))
    gap = np.asarray(values[0], dtype=float) - np.asarray(values[1], dtype=float)
    return np.arange(max(int(np.ceil(np.max(gap, initial=0.0))), 1), dtype=float)


def _gammaln_rise(ops: Ops, a: Array, h: Array) -> Array:
    """``ln Gamma(a + h) - ln Gamma(a)`` as a plain difference of ``gammaln`` (the
    likelihood's form: a small graph for pytensor; see :func:`_log_terms`)."""
    return ops.gammaln(a + h) - ops.gammaln(a)


def _log_terms(
    ops: Ops,
    x: Array,
    t_x: Array,
    T: Array,
    alpha: Array,
    beta: Array,
    gamma: Array,
    delta: Array,
    rise: Any = log_rising,
) -> tuple[Array, Array, Array]:
    """``(head, alive, dead)`` with the likelihood ``exp(head) (exp(alive) + exp(dead))``.

    ``head = ln B(alpha + x, beta) / B(alpha, beta)`` shared by both terms; ``alive`` the
    log of the rest of FHS eq. 5's first term (alive at ``n``), ``dead`` of its finite sum
    over ``i = 0..n - t_x - 1`` (inactive from opportunity ``t_x + i + 1``), ``-inf`` when
    the sum is empty (``t_x = n``).

    The sum has a data-dependent number of terms. It is written as a fixed-size masked sum
    over ``i = 0..max(n - t_x) - 1`` on a new last axis, which every backend
    differentiates. Its terms fall with ``i`` (each ratio of consecutive terms is below
    1), so they are scaled by the first one: the scaled terms lie in (0, 1], the first is
    exactly 1, and the log of the sum needs no search for a maximum.

    ``rise`` computes ``ln Gamma(a + h) - ln Gamma(a)``: :func:`log_rising` (exact to
    rounding for a huge ``delta + n``) for the predictions, :func:`_gammaln_rise` for the
    likelihood, whose pytensor graph (value and gradient) then compiles in a third of the
    time; its absolute error is about ``1e-16 (delta + n) ln(delta + n)``, below 1e-9 up
    to ``delta + n = 1e6``, far inside what a fit can resolve.
    """
    at = ops.per_value
    x, t_x, T = (_column(v) for v in (x, t_x, T))
    gd = gamma + delta
    head = at(lambda v: rise(ops, alpha, v), x) - at(lambda v: rise(ops, alpha + beta, v), t_x)
    # alive at n: B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n)/B(gamma, delta)
    alive = (
        rise(ops, beta, T - x)
        - at(lambda v: rise(ops, alpha + beta, v), T)
        + at(lambda v: rise(ops, alpha + beta, v), t_x)
        + at(lambda v: rise(ops, delta, v) - rise(ops, gd, v), T)
    )
    # i = 0: B(alpha+x, beta+t_x-x)/B(alpha, beta) B(gamma+1, delta+t_x)/B(gamma, delta)
    first = (
        rise(ops, beta, t_x - x)
        + ops.log(gamma)
        - ops.log(gd)
        + at(lambda v: rise(ops, delta, v) - rise(ops, gd + 1, v), t_x)
    )
    # the terms i = 1, 2, ... relative to the first, on a new last axis
    base = 0 * x + 0 * t_x + 0 * T

    def lift(v: Array) -> Array:
        return (v + base)[..., None]

    i = _gaps(ops, t_x, T)
    b, c, d = lift(beta + t_x - x), lift(alpha + beta + t_x), lift(delta + t_x)
    relative = (
        rise(ops, b, i) - rise(ops, c, i) + rise(ops, d, i) - rise(ops, d + lift(gamma) + 1, i)
    )
    terms = ops.where(i < lift(T - t_x) - 0.5, ops.exp(relative), 0.0)
    some = T - t_x > 0.5
    total = ops.where(some, ops.sum(terms, axis=-1), 1.0)  # log(1) where masked (gradients)
    dead = ops.where(some, first + ops.log(total), -float("inf"))
    return head, alive, dead


def loglik(
    ops: Ops,
    x: Array,
    t_x: Array,
    T: Array,
    alpha: Array,
    beta: Array,
    gamma: Array,
    delta: Array,
) -> Array:
    """BG/BB individual log-likelihood, FHS (2010) eq. 5.

    .. math::

        L = \\frac{B(\\alpha+x, \\beta+n-x)}{B(\\alpha,\\beta)}
            \\frac{B(\\gamma, \\delta+n)}{B(\\gamma,\\delta)}
          + \\sum_{i=0}^{n-t_x-1} \\frac{B(\\alpha+x, \\beta+t_x-x+i)}{B(\\alpha,\\beta)}
            \\frac{B(\\gamma+1, \\delta+t_x+i)}{B(\\gamma,\\delta)}

    as lifetimes' ``BetaGeoBetaBinomFitter._loglikelihood`` computes it, but in log space
    throughout (``ln L = head + logaddexp(alive, dead)``, see :func:`_log_terms`): the
    finite sum is a fixed-size masked sum up to ``max(n - t_x)`` terms, each scaled by the
    first, so pytensor and autograd differentiate it and no term underflows at
    ``n = 1,000``. ``T`` is ``n``; every argument is a whole number of opportunities.

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> p = dict(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
    >>> round(float(loglik(numpy_ops, 0, 0, 6, **p)), 6)  # lifetimes: -1.167262
    -1.167262
    """
    head, alive, dead = _log_terms(ops, x, t_x, T, alpha, beta, gamma, delta, _gammaln_rise)
    return head + ops.logaddexp(alive, dead)


def probability_alive(
    ops: Ops,
    x: Array,
    t_x: Array,
    T: Array,
    alpha: Array,
    beta: Array,
    gamma: Array,
    delta: Array,
) -> Array:
    """P(alive at opportunity n + 1 | x, t_x, n), FHS (2010) eq. 11.

    .. math:: \\frac{B(\\alpha+x, \\beta+n-x)}{B(\\alpha,\\beta)}
              \\frac{B(\\gamma, \\delta+n+1)}{B(\\gamma,\\delta)} \\Big/ L
              = \\operatorname{expit}(\\text{alive} - \\text{dead})\\,
              \\frac{\\delta+n}{\\gamma+\\delta+n}

    (P(alive at n) from the two terms of eq. 5 in log-odds form, times the chance of
    surviving the start of opportunity n + 1). lifetimes'
    ``conditional_probability_alive(1, ...)``.
    """
    _, alive, dead = _log_terms(ops, x, t_x, T, alpha, beta, gamma, delta)
    alive_now = ops.expit(alive - dead)
    return alive_now * (delta + T) / (gamma + delta + T)


def probability_alive_after(
    ops: Ops,
    t: Array,
    x: Array,
    t_x: Array,
    T: Array,
    alpha: Array,
    beta: Array,
    gamma: Array,
    delta: Array,
) -> Array:
    """P(alive at opportunity n + 1 + t | x, t_x, n): alive at n + 1, then ``t`` more.

    .. math:: P_{alive}\\,\\frac{B(\\gamma, \\delta+n+1+t)}{B(\\gamma, \\delta+n+1)}

    (FHS 2010 eq. 11 with ``delta + n + 1 + t``; lifetimes'
    ``conditional_probability_alive(1 + t, ...)``). Equals :func:`probability_alive` at
    ``t = 0`` and falls with ``t``.
    """
    alive = probability_alive(ops, x, t_x, T, alpha, beta, gamma, delta)
    return alive * survival_ratio(ops, gamma, delta + T + 1, t)


def expected_purchases_new(
    ops: Ops, t: Array, alpha: Array, beta: Array, gamma: Array, delta: Array
) -> Array:
    """E[X(n)] over the first ``n = t`` opportunities of a new customer, FHS (2010) eq. 9.

    .. math:: \\frac{\\alpha}{\\alpha+\\beta}\\,\\frac{\\delta}{\\gamma-1}
              \\Big[1 - \\frac{\\Gamma(\\gamma+\\delta)\\,\\Gamma(1+\\delta+n)}
              {\\Gamma(\\gamma+\\delta+n)\\,\\Gamma(1+\\delta)}\\Big]

    with the bracket over ``gamma - 1`` evaluated by
    :func:`~clvlab.formulas._beta_geometric.excess` (finite at
    ``gamma = 1``). lifetimes' ``expected_number_of_transactions_in_first_n_periods`` is
    the PMF of eq. 7 (:func:`probability_of_purchases_new_upto`), whose mean this is.

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> p = dict(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)
    >>> round(float(expected_purchases_new(numpy_ops, 1, **p)), 6)  # E[p] E[1 - theta]
    0.49849
    """
    mean_p = alpha / (alpha + beta)
    return ops.maximum(mean_p * delta * excess(delta + 1, gamma - 1, t), 0.0)


def purchases_if_alive(
    ops: Ops, t: Array, alpha: Array, beta: Array, gamma: Array, delta: Array
) -> Array:
    """E[X] over the next ``t`` opportunities of a customer alive at the first of them.

    ``p ~ Beta(alpha, beta)``, ``theta ~ Beta(gamma, delta)`` (the parameters of
    :func:`alive_parameters`); alive at the ``k``-th of them with ``(1 - theta)^(k-1)``:

    .. math:: \\frac{\\alpha}{\\alpha+\\beta}\\sum_{k=0}^{t-1}
              \\frac{B(\\gamma, \\delta+k)}{B(\\gamma,\\delta)}
              = \\frac{\\alpha}{\\alpha+\\beta}\\Big(1 + \\delta\\,
              \\frac{1 - \\frac{\\Gamma(\\gamma+\\delta)\\,\\Gamma(\\delta+t)}
              {\\Gamma(\\delta+1)\\,\\Gamma(\\gamma+\\delta+t-1)}}{\\gamma - 1}\\Big)

    for ``t >= 1`` (0 at ``t = 0``): ``E[p]`` times
    :func:`~clvlab.formulas._beta_geometric.alive_opportunities`. Times
    :func:`probability_alive` this is FHS (2010) eq. 13.
    """
    return alpha / (alpha + beta) * alive_opportunities(ops, t, gamma, delta)


def conditional_expected_purchases(
    ops: Ops,
    t: Array,
    x: Array,
    t_x: Array,
    T: Array,
    alpha: Array,
    beta: Array,
    gamma: Array,
    delta: Array,
) -> Array:
    """E[X(n, n + n*) | x, t_x, n], transactions in the next ``n* = t`` opportunities,
    FHS (2010) eq. 13.

    .. math:: \\frac{1}{L}\\frac{B(\\alpha+x+1, \\beta+n-x)}{B(\\alpha,\\beta)}
              \\frac{\\delta}{\\gamma-1}\\frac{\\Gamma(\\gamma+\\delta)}{\\Gamma(1+\\delta)}
              \\Big[\\frac{\\Gamma(1+\\delta+n)}{\\Gamma(\\gamma+\\delta+n)}
              - \\frac{\\Gamma(1+\\delta+n+n^*)}{\\Gamma(\\gamma+\\delta+n+n^*)}\\Big]

    evaluated as :func:`probability_alive` times :func:`purchases_if_alive` under
    :func:`alive_parameters`.
    """
    alive = probability_alive(ops, x, t_x, T, alpha, beta, gamma, delta)
    return alive * purchases_if_alive(ops, t, **alive_parameters(x, T, alpha, beta, gamma, delta))


def alive_parameters(
    x: Array, T: Array, alpha: Array, beta: Array, gamma: Array, delta: Array
) -> dict:
    """The posterior of a customer alive at opportunity ``n + 1``:
    ``(alpha + x, beta + n - x, gamma, delta + n + 1)``.

    Alive at ``n + 1`` after ``x`` transactions in ``n`` opportunities, the likelihood is
    ``p^x (1-p)^(n-x) (1-theta)^(n+1)``, so ``p ~ Beta(alpha + x, beta + n - x)`` and
    ``theta ~ Beta(gamma, delta + n + 1)``, independent (FHS 2010, derivation of eqs.
    11-13). ``delta + n`` would be the posterior of a customer alive at ``n``, one
    dropout chance earlier than the P(alive) of eq. 11.
    """
    return {"alpha": alpha + x, "beta": beta + T - x, "gamma": gamma, "delta": delta + T + 1}


def discounted_purchases_if_alive(
    x: np.ndarray,
    T: np.ndarray,
    params: Mapping[str, Any],
    ends: np.ndarray,
    discounts: np.ndarray,
) -> np.ndarray:
    """``sum_k d_k [N(t_k) - N(t_{k-1})]`` per ``(x, n)`` pair, with ``N`` the closed form
    of :func:`purchases_if_alive` under :func:`alive_parameters`; ``ends`` are whole
    numbers of opportunities, ``discounts`` one weight per end or ``(n_sets, n_ends)``.

    With ``ends = 1, 2, ...`` and ``d_k = (1 + d)^{-k}``, as the horizon grows this times
    :func:`probability_alive` tends to the discounted expected residual transactions of
    FHS (2010) eq. 15,

    .. math:: \\text{DERT}(d) = \\frac{B(\\alpha+x+1, \\beta+n-x)}{B(\\alpha,\\beta)}
              \\frac{B(\\gamma, \\delta+n+1)}{B(\\gamma,\\delta)\\,(1+d)}
              \\frac{{}_2F_1(1, \\delta+n+1; \\gamma+\\delta+n+1; \\tfrac{1}{1+d})}{L}.
    """
    return discounted_alive_process(
        alive_parameters, purchases_if_alive, PARAMS, x, T, params, ends, discounts
    )


def _binomial_mixture(
    t: Array, n_max: int, alpha: Array, beta: Array, weights_of: Any
) -> np.ndarray:
    """``sum_j P(J = j) P(BetaBinomial(j; alpha, beta) = k)`` for k = 0..n_max (last axis).

    ``weights_of(j)`` gives ``P(J = j)`` (broadcasting with the parameters) for
    ``j = 0..max(t)``: the number of opportunities at which the customer is alive. NumPy.
    """
    from clvlab.formulas._ops import numpy_ops as ops

    t = np.asarray(t, dtype=float)
    alpha, beta = (np.asarray(v, dtype=float)[..., None] for v in (alpha, beta))
    k = np.arange(n_max + 1, dtype=float)
    out: Any = np.zeros(np.broadcast_shapes(alpha.shape, beta.shape, t[..., None].shape, k.shape))
    top = int(np.max(t, initial=0.0))
    log_k_fact = log_rising(ops, 1.0, k)
    for j in range(top + 1):
        weight = np.asarray(weights_of(float(j)), dtype=float)[..., None]
        room = np.maximum(j - k, 0.0)
        log_bb = (
            log_rising(ops, 1.0, float(j))
            - log_k_fact
            - log_rising(ops, 1.0, room)
            + log_rising(ops, alpha, k)
            + log_rising(ops, beta, room)
            - log_rising(ops, alpha + beta, float(j))
        )
        out = out + weight * np.exp(np.where(k <= j, log_bb, -np.inf))
    return np.minimum(out, 1.0)


def probability_of_purchases_if_alive_upto(
    ops: Ops, t: Array, n_max: int, alpha: Array, beta: Array, gamma: Array, delta: Array
) -> np.ndarray:
    """P(X = k) for k = 0..n_max over the next ``t`` opportunities of a customer alive at
    the first of them (the PMF of :func:`purchases_if_alive`; NumPy).

    He is alive at ``J`` of them: ``P(J = j) = B(gamma + 1, delta + j - 1) / B(gamma,
    delta)`` for ``1 <= j < t`` (inactive from the ``j + 1``-th) and ``B(gamma, delta +
    t - 1) / B(gamma, delta)`` for ``j = t``; given ``J``, ``X`` is beta-binomial
    ``(J; alpha, beta)``. This is FHS (2010) eq. 7's sum over ``i`` shifted by one
    opportunity (the customer is known alive at the first), and under
    :func:`alive_parameters` it gives FHS eq. 18 by the mixture of the contract.
    """
    del ops  # NumPy only: a loop over the opportunities

    def weights_of(j: float) -> np.ndarray:
        return alive_opportunity_probability(t, j, gamma, delta)

    return _binomial_mixture(t, n_max, alpha, beta, weights_of)


def probability_of_purchases_new_upto(
    ops: Ops, t: Array, n_max: int, alpha: Array, beta: Array, gamma: Array, delta: Array
) -> np.ndarray:
    """P(X(n) = k) for k = 0..n_max (new last axis) over the first ``n = t`` opportunities
    of a new customer, FHS (2010) eq. 7 (NumPy):

    .. math:: \\binom{n}{k}\\frac{B(\\alpha+k, \\beta+n-k)}{B(\\alpha,\\beta)}
              \\frac{B(\\gamma,\\delta+n)}{B(\\gamma,\\delta)}
              + \\sum_{i=k}^{n-1}\\binom{i}{k}\\frac{B(\\alpha+k,\\beta+i-k)}{B(\\alpha,\\beta)}
              \\frac{B(\\gamma+1,\\delta+i)}{B(\\gamma,\\delta)}

    evaluated as inactive before opportunity 1 (``gamma / (gamma + delta)``, no
    transaction) or alive at it and then :func:`probability_of_purchases_if_alive_upto`
    with ``delta + 1``.
    """
    g, d = (np.asarray(v, dtype=float) for v in (gamma, delta))
    process = probability_of_purchases_if_alive_upto(ops, t, n_max, alpha, beta, g, d + 1)
    return alive_or_dead_pmf(d / (g + d), process)


def probability_of_purchases_new(
    ops: Ops, t: Array, n: int, alpha: Array, beta: Array, gamma: Array, delta: Array
) -> np.ndarray:
    """P(X(t) = n) for a new customer, FHS (2010) eq. 7; see
    :func:`probability_of_purchases_new_upto`."""
    return probability_of_purchases_new_upto(ops, t, n, alpha, beta, gamma, delta)[..., n]


def conditional_probability_of_purchases_upto(
    ops: Ops,
    t: Array,
    n_max: int,
    x: Array,
    t_x: Array,
    T: Array,
    alpha: Array,
    beta: Array,
    gamma: Array,
    delta: Array,
) -> np.ndarray:
    """P(X(n, n + n*) = k | x, t_x, n) for k = 0..n_max along a new last axis (NumPy).

    .. math:: (1 - P_{alive})\\,\\delta_{k0}
              + P_{alive}\\,P_{alive\\,process}(X = k;\\ \\alpha+x, \\beta+n-x,
              \\gamma, \\delta+n+1)

    which equals FHS (2010) eq. 18 (derived here from the latent state: inactive by
    ``n + 1``, or alive then with the posterior of :func:`alive_parameters`).
    """
    alive = probability_alive(ops, x, t_x, T, alpha, beta, gamma, delta)
    process = probability_of_purchases_if_alive_upto(
        ops, t, n_max, **alive_parameters(x, T, alpha, beta, gamma, delta)
    )
    return alive_or_dead_pmf(alive, process)


def conditional_probability_of_purchases(
    ops: Ops,
    t: Array,
    n: int,
    x: Array,
    t_x: Array,
    T: Array,
    alpha: Array,
    beta: Array,
    gamma: Array,
    delta: Array,
) -> np.ndarray:
    """P(X(n, n + n*) = k | x, t_x, n) for one ``k`` (here ``n``), FHS (2010) eq. 18; see
    :func:`conditional_probability_of_purchases_upto`."""
    return conditional_probability_of_purchases_upto(
        ops, t, n, x, t_x, T, alpha, beta, gamma, delta
    )[..., n]


def draw_latent_state(
    rng: np.random.Generator,
    x: Array,
    t_x: Array,
    T: Array,
    params: Mapping[str, Array],
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's transaction probability and remaining opportunities alive, per draw.

    Alive at ``n + 1`` with :func:`probability_alive` (FHS 2010 eq. 11); if alive,
    ``p ~ Beta(alpha + x, beta + n - x)`` and ``theta ~ Beta(gamma, delta + n + 1)``
    (:func:`alive_parameters`), and the number ``K >= 1`` of opportunities from ``n + 1``
    on at which he is alive is geometric, ``P(K > k) = (1 - theta)^k``, drawn by inversion
    (no integer overflow when ``theta`` is tiny). Returns ``(p, K)`` with ``K = 0`` when
    inactive.
    """
    from clvlab.formulas._ops import numpy_ops

    alpha, beta, gamma, delta = (np.asarray(params[n], dtype=float) for n in PARAMS)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    shape = np.broadcast_shapes(alpha.shape, beta.shape, gamma.shape, delta.shape, x.shape)
    shape = np.broadcast_shapes(shape, t_x.shape, T.shape)
    chance = probability_alive(numpy_ops, x, t_x, T, alpha, beta, gamma, delta)
    alive = rng.random(shape) < chance
    q = alive_parameters(x, T, alpha, beta, gamma, delta)
    p = rng.beta(*(np.broadcast_to(q[n], shape) for n in ("alpha", "beta")))
    theta = rng.beta(*(np.broadcast_to(q[n], shape) for n in ("gamma", "delta")))
    return p, np.where(alive, remaining_opportunities(rng, theta), 0.0)


def simulate_counts(
    rng: np.random.Generator,
    t: Array,
    x: Array,
    t_x: Array,
    T: Array,
    params: Mapping[str, Array],
) -> np.ndarray:
    """Realised transactions in the next ``t`` opportunities for every draw and customer.

    ``Binomial(min(t, K), p)`` with the state ``(p, K)`` of :func:`draw_latent_state`.
    When ``t`` is a 1-D increasing array of whole numbers, the result has a trailing axis
    of cumulative counts up to each end, from one path per customer (independent binomial
    counts over the alive opportunities of each period).
    """
    p, remaining = draw_latent_state(rng, x, t_x, T, params)
    ends = np.asarray(t, dtype=float)
    if ends.ndim == 0:
        return rng.binomial(np.minimum(ends, remaining).astype(np.int64), p).astype(float)
    exposure = np.minimum(ends, remaining[..., None])
    steps = np.diff(exposure, axis=-1, prepend=0.0).astype(np.int64)
    increments = rng.binomial(steps, np.broadcast_to(p[..., None], steps.shape))
    return np.cumsum(increments, axis=-1).astype(float)
