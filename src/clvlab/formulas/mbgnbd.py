"""MBG/NBD formulas (Batislam, Denizel & Filiztekin 2007), written once for every backend.

The modified BG/NBD lets a customer drop out right after each purchase *including* the
first (time 0) one: with ``x`` repeat purchases the "alive" term carries ``(1 - p)^(x+1)``
and a customer with ``x = 0`` may already be gone. Notation as in
:mod:`clvlab.formulas.bgnbd`: ``r, alpha`` (Gamma purchase rate), ``a, b`` (Beta dropout
probability).

All conditional quantities use one fact: given alive at ``T``, the posterior of
``(lambda, p)`` is ``Gamma(r + x, alpha + T) x Beta(a, b + x + 1)``, and from ``T`` on the
customer behaves like a new **BG/NBD** customer with those parameters (no dropout at
``T`` itself). A new MBG/NBD customer is dead at once with probability ``a / (a + b)``
and otherwise a new BG/NBD customer with ``(r, alpha, a, b + 1)``. So every prediction
reuses the BG/NBD formulas of :mod:`clvlab.formulas.bgnbd` (one formula in one place).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from clvlab.formulas import bgnbd
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


def loglik(
    ops: Ops, x: Array, t_x: Array, T: Array, r: Array, alpha: Array, a: Array, b: Array
) -> Array:
    """MBG/NBD individual log-likelihood, Batislam, Denizel & Filiztekin (2007) eq. 6.

    .. math::

        \\ell = \\ln\\Gamma(r+x) - \\ln\\Gamma(r) + r\\ln\\alpha - \\ln B(a, b)
              + \\operatorname{logaddexp}\\big(\\ln B(a, b+x+1) - (r+x)\\ln(\\alpha+T),\\;
                \\ln B(a+1, b+x) - (r+x)\\ln(\\alpha+t_x)\\big)

    Unlike BG/NBD, the second ("dropped after the last purchase") term is present at
    ``x = 0`` too (then ``t_x = 0``).

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> p = dict(r=0.525, alpha=6.183, a=0.891, b=1.614)
    >>> round(float(loglik(numpy_ops, 2, 30.43, 38.86, **p)), 4)
    -9.4856
    """
    at = ops.per_value
    rx = r + x
    head = at(lambda v: ops.gammaln(r + v), x) - ops.gammaln(r) + r * ops.log(alpha)
    head = head - ops.betaln(a, b)
    alive = at(lambda v: ops.betaln(a, b + v + 1), x) - rx * at(lambda v: ops.log(alpha + v), T)
    dead = at(lambda v: ops.betaln(a + 1, b + v), x) - rx * at(lambda v: ops.log(alpha + v), t_x)
    return head + ops.logaddexp(alive, dead)


def probability_alive(
    ops: Ops, x: Array, t_x: Array, T: Array, r: Array, alpha: Array, a: Array, b: Array
) -> Array:
    """P(alive at T | x, t_x, T), Batislam, Denizel & Filiztekin (2007) eq. 8.

    .. math:: P = 1 / \\big(1 + \\tfrac{a}{b+x}
              (\\tfrac{\\alpha+T}{\\alpha+t_x})^{r+x}\\big)

    in log-odds form (no overflow for heavy buyers).

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> p = dict(r=0.525, alpha=6.183, a=0.891, b=1.614)
    >>> round(float(probability_alive(numpy_ops, 0, 0.0, 38.86, **p)), 4)
    0.3897
    """
    at = ops.per_value
    log_odds_dead = (
        ops.log(a)
        - at(lambda v: ops.log(b + v), x)
        + (r + x) * (at(lambda v: ops.log(alpha + v), T) - at(lambda v: ops.log(alpha + v), t_x))
    )
    return ops.expit(-log_odds_dead)


def probability_alive_after(
    ops: Ops, t: Array, x: Array, t_x: Array, T: Array, r: Array, alpha: Array, a: Array, b: Array
) -> Array:
    """P(alive at T + t | x, t_x, T): alive at T and no dropout in the next ``t``.

    P(alive) times the BG/NBD survival ``E[exp(-lambda p t)]`` under the posterior
    ``Gamma(r + x, alpha + T) x Beta(a, b + x + 1)``, i.e.
    :func:`clvlab.formulas.bgnbd.probability_alive_after` for a customer with no history
    and those parameters.
    """
    alive = probability_alive(ops, x, t_x, T, r, alpha, a, b)
    survive = bgnbd.probability_alive_after(ops, t, 0.0, 0.0, 0.0, r + x, alpha + T, a, b + x + 1)
    return alive * survive


def expected_purchases_new(ops: Ops, t: Array, r: Array, alpha: Array, a: Array, b: Array) -> Array:
    """E[X(t)] for a customer just acquired, Batislam, Denizel & Filiztekin (2007) eq. 9.

    .. math:: \\frac{b}{a-1}\\Big[1 - \\Big(\\frac{\\alpha}{\\alpha+t}\\Big)^r
              {}_2F_1\\big(r, b+1; a+b; \\tfrac{t}{\\alpha+t}\\big)\\Big]
              = \\frac{b}{a+b}\\,E_{BG}[X(t);\\, r, \\alpha, a, b+1]

    (alive after the first purchase with probability ``b / (a + b)``, and then a BG/NBD
    customer with ``b + 1``), evaluated by :func:`clvlab.formulas.bgnbd.expected_purchases_new`.

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> p = dict(r=0.525, alpha=6.183, a=0.891, b=1.614)
    >>> round(float(expected_purchases_new(numpy_ops, 39.0, **p)), 4)
    1.183
    """
    return b / (a + b) * bgnbd.expected_purchases_new(ops, t, r, alpha, a, b + 1)


def conditional_expected_purchases(
    ops: Ops, t: Array, x: Array, t_x: Array, T: Array, r: Array, alpha: Array, a: Array, b: Array
) -> Array:
    """E[Y(t) | x, t_x, T], Batislam, Denizel & Filiztekin (2007) eq. 10.

    .. math:: P_{alive}\\,\\frac{a+b+x}{a-1}\\Big[1 - \\Big(\\frac{\\alpha+T}{\\alpha+T+t}
              \\Big)^{r+x} {}_2F_1\\big(r+x, b+x+1; a+b+x; \\tfrac{t}{\\alpha+T+t}\\big)\\Big]

    i.e. P(alive) times the BG/NBD new-customer expectation with ``(r + x, alpha + T, a,
    b + x + 1)``. ``t`` broadcasts (period ends along a trailing axis for CLV).

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> p = dict(r=0.525, alpha=6.183, a=0.891, b=1.614)
    >>> round(float(conditional_expected_purchases(numpy_ops, 39, 2, 30.43, 38.86, **p)), 4)
    1.263
    """
    alive = probability_alive(ops, x, t_x, T, r, alpha, a, b)
    return alive * purchases_if_alive(ops, t, **alive_parameters(x, T, r, alpha, a, b))


def alive_parameters(x: Array, T: Array, r: Array, alpha: Array, a: Array, b: Array) -> dict:
    """The parameters of a customer alive at ``T``: ``(r + x, alpha + T, a, b + x + 1)``.

    The alive term of the likelihood is ``lambda^x e^{-lambda T} (1 - p)^(x + 1)``
    (Batislam, Denizel & Filiztekin 2007, eq. 6), so given alive ``p ~ Beta(a, b + x +
    1)``; from ``T`` on the customer is a new *BG/NBD* customer with these parameters.
    """
    return {"r": r + x, "alpha": alpha + T, "a": a, "b": b + x + 1}


# A customer alive now has no dropout at the current time: its process is the BG/NBD
# new-customer one, under alive_parameters.
purchases_if_alive = bgnbd.purchases_if_alive
probability_of_purchases_if_alive_upto = bgnbd.probability_of_purchases_if_alive_upto


def discounted_purchases_if_alive(
    x: np.ndarray, T: np.ndarray, params: Mapping[str, Any], ends: np.ndarray, discounts: np.ndarray
) -> np.ndarray:
    """The discounted purchases of a customer alive at ``T`` for CLV: BG/NBD's
    (:func:`clvlab.formulas.bgnbd.discounted_purchases_if_alive`, whose alive parameters
    are ``(r + x, alpha + T, a, b + x)``) with ``b + 1`` in place of ``b``."""
    shifted = {**params, "b": np.asarray(params["b"], dtype=float) + 1.0}
    return bgnbd.discounted_purchases_if_alive(x, T, shifted, ends, discounts)


def probability_of_purchases_new_upto(
    ops: Ops, t: Array, n_max: int, r: Array, alpha: Array, a: Array, b: Array
) -> Array:
    """P(X(t) = n) for n = 0..n_max along a new last axis, for a customer just acquired.

    Batislam, Denizel & Filiztekin (2007) eq. 11, written as

    .. math:: \\frac{a}{a+b}\\,\\delta_{n=0} + \\frac{b}{a+b}\\,P_{BG}(X(t) = n;\\,
              r, \\alpha, a, b + 1)

    with :func:`clvlab.formulas.bgnbd.probability_of_purchases_new_upto` (NumPy only).

    Examples
    --------
    >>> from clvlab.formulas._ops import numpy_ops
    >>> p = dict(r=0.525, alpha=6.183, a=0.891, b=1.614)
    >>> round(float(probability_of_purchases_new_upto(numpy_ops, 39.0, 3, **p)[0]), 4)
    0.5825
    """
    a_, b_ = (np.asarray(v, dtype=float)[..., None] for v in (a, b))
    out = (
        b_ / (a_ + b_) * bgnbd.probability_of_purchases_new_upto(ops, t, n_max, r, alpha, a, b + 1)
    )
    out[..., 0] += (a_ / (a_ + b_))[..., 0]
    return np.clip(out, 0.0, 1.0)


def probability_of_purchases_new(
    ops: Ops, t: Array, n: int, r: Array, alpha: Array, a: Array, b: Array
) -> Array:
    """P(X(t) = n) for a customer just acquired (Batislam et al. 2007 eq. 11); see
    :func:`probability_of_purchases_new_upto`."""
    return probability_of_purchases_new_upto(ops, t, n, r, alpha, a, b)[..., n]


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
    """P(Y(t) = n | x, t_x, T) for n = 0..n_max along a new last axis (NumPy only).

    .. math:: (1 - P_{alive})\\,\\delta_{n=0} + P_{alive}\\,P_{BG}(X(t) = n;\\;
              r+x, \\alpha+T, a, b+x+1)

    the MBG/NBD analogue of Fader & Hardie's conditional PMF of the BG/NBD (2007 note).
    """
    alive = probability_alive(ops, x, t_x, T, r, alpha, a, b)
    new = bgnbd.probability_of_purchases_new_upto(ops, t, n_max, r + x, alpha + T, a, b + x + 1)
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
    a: Array,
    b: Array,
) -> Array:
    """P(Y(t) = n | x, t_x, T); see :func:`conditional_probability_of_purchases_upto`."""
    return conditional_probability_of_purchases_upto(ops, t, n, x, t_x, T, r, alpha, a, b)[..., n]


def draw_latent_state(
    rng: np.random.Generator,
    x: Array,
    t_x: Array,
    T: Array,
    params: Mapping[str, Array],
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's purchase rate and remaining purchases after T, given history.

    Alive at T with probability :func:`probability_alive`; if alive, ``lambda ~ Gamma(r +
    x, alpha + T)`` and ``p ~ Beta(a, b + x + 1)`` (the alive term of the likelihood is
    ``lambda^x e^{-lambda T} (1 - p)^(x+1)``), and the customer drops out right after
    ``M ~ Geometric(p)`` further purchases. Returns ``(lambda, M)``, ``M = 0`` when dead
    (the state of :func:`clvlab.formulas.bgnbd.process_state`, shared with BG/NBD).
    """
    return bgnbd.process_state(rng, probability_alive, alive_parameters, x, t_x, T, params)


def simulate_counts(
    rng: np.random.Generator,
    t: Array,
    x: Array,
    t_x: Array,
    T: Array,
    params: Mapping[str, Array],
) -> np.ndarray:
    """Realised purchases in ``(T, T + t]`` for every draw and customer
    (:func:`clvlab.formulas.bgnbd.counts_from_state` of :func:`draw_latent_state`)."""
    return bgnbd.counts_from_state(rng, t, *draw_latent_state(rng, x, t_x, T, params))
