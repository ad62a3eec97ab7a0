"""The purchase-model contract: what a formula module provides to everything downstream.

A purchase model (BG/NBD, MBG/NBD, Pareto/NBD, ...) is one module under
:mod:`clvlab.formulas` with the functions below, each written once against the ``ops``
backend where it is part of a likelihood. Its model class (under :mod:`clvlab.models`)
names the module in ``formulas``; predictions, CLV, evaluation, comparison, plots and the
export reach the model only through it, so none of them names a model.

Every continuous-time purchase model of the family rests on one factorisation: a customer
with history ``(x, t_x, T)`` is alive at ``T`` with probability ``P(alive)``, and a
customer alive at ``T`` behaves from then on like a fresh customer of a *process* with
updated parameters, which depend on ``(x, T)`` only (for BG/NBD, Fader, Hardie & Lee 2005,
eqs. 10-11; for Pareto/NBD, the memorylessness of the exponential lifetime). So

.. math:: E[Y(t) \\mid x, t_x, T] = P(\\text{alive}) \\; E_{\\text{alive}}[X(t);\\;
          \\theta'(x, T)],\\qquad
          P(Y(t) = n \\mid \\cdot) = (1 - P(\\text{alive}))\\,\\delta_{n0}
          + P(\\text{alive})\\, P_{\\text{alive}}(X(t) = n;\\; \\theta'(x, T))

and the expensive, hypergeometric part is computed once per distinct ``(x, T)`` pair.

Contract (``params`` are the model's parameters by name, in the order of ``PARAMS``;
every function broadcasts, so parameters may carry leading (chain, draw) axes):

``PARAMS``
    The parameter names.
``DISCRETE`` (optional, default ``False``)
    ``True`` for a discrete-time model (BG/BB): its ``x, t_x, T`` and every horizon
    ``t`` are whole numbers of transaction opportunities, so the prediction layer
    refuses a table or horizon that is not (:func:`is_discrete`).
``CONTRACTUAL`` (optional, default ``False``)
    ``True`` for a contractual model (the shifted-beta-geometric): a discrete-time model
    whose "transactions" are renewals, consecutive from the first opportunity, so that
    ``t_x = x`` and churn is observed (:func:`is_contractual`).
``loglik(ops, x, t_x, T, **params)``
    The individual log-likelihood (every backend: NumPy, pytensor, autograd).
``probability_alive(ops, x, t_x, T, **params)``, ``probability_alive_after(ops, t, ...)``
    P(alive at T), and at T + t.
``conditional_expected_purchases(ops, t, x, t_x, T, **params)``
    E[Y(t) | history].
``conditional_probability_of_purchases(ops, t, n, x, t_x, T, **params)``
    P(Y(t) = n | history) for one ``n`` (NumPy).
``expected_purchases_new(ops, t, **params)``, ``probability_of_purchases_new_upto(ops, t,
n_max, **params)``
    The new-customer forms (the PMF for n = 0..n_max on a new last axis; NumPy).
``alive_parameters(x, T, **params)``
    The parameters ``theta'(x, T)`` of the process of a customer alive at ``T``.
``purchases_if_alive(ops, t, **alive)``, ``probability_of_purchases_if_alive_upto(ops, t,
n_max, **alive)``
    E and PMF of the purchases in the next ``t`` of a customer alive now, given
    ``alive = alive_parameters(...)``.
``discounted_purchases_if_alive(x, T, params, ends, discounts)``
    ``sum_k d_k [N(t_k) - N(t_{k-1})]`` with ``N = purchases_if_alive`` under
    ``alive_parameters(x, T)``: what CLV needs, per draw (rows) and ``(x, T)`` pair
    (columns) when ``params`` are ``(n_draws, 1)`` arrays, or per pair for floats.
    ``discounts`` may be ``(n_sets, n_periods)``, several weightings evaluated at once
    (a leading ``n_sets`` axis in the result): the decisions layer reads the cumulative
    purchases at every period end this way.
``draw_latent_state(rng, x, t_x, T, params)``, ``simulate_counts(rng, t, x, t_x, T, params)``
    The simulator of the predictive intervals: realised purchases in ``(T, T + t]`` per
    draw and customer; for a 1-D increasing ``t`` the cumulative counts at each end, from
    one path per customer.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

__all__ = ["CONTRACT", "check_contract", "is_contractual", "is_discrete"]

#: The functions every purchase-model formula module defines.
CONTRACT = (
    "loglik",
    "probability_alive",
    "probability_alive_after",
    "conditional_expected_purchases",
    "conditional_probability_of_purchases",
    "expected_purchases_new",
    "probability_of_purchases_new_upto",
    "alive_parameters",
    "purchases_if_alive",
    "probability_of_purchases_if_alive_upto",
    "discounted_purchases_if_alive",
    "draw_latent_state",
    "simulate_counts",
)


def check_contract(module: ModuleType) -> ModuleType:
    """Return ``module`` after checking that it has ``PARAMS`` and every function of
    :data:`CONTRACT` (raises ``TypeError`` naming the missing ones: a programming error
    in a new model, caught when its class is defined)."""
    missing = [n for n in CONTRACT if not callable(getattr(module, n, None))]
    params: Any = getattr(module, "PARAMS", None)
    if not isinstance(params, tuple) or not params:
        missing.append("PARAMS")
    if missing:
        raise TypeError(
            f"{module.__name__} does not provide the purchase-model contract: missing "
            f"{', '.join(missing)} (see clvlab.formulas.contract)"
        )
    return module


def is_discrete(module: ModuleType) -> bool:
    """Whether the formula module is of a discrete-time model (its ``DISCRETE``, ``False``
    when it does not say): histories and horizons are whole numbers of opportunities."""
    return bool(getattr(module, "DISCRETE", False))


def is_contractual(module: ModuleType) -> bool:
    """Whether the formula module is of a contractual model (its ``CONTRACTUAL``,
    ``False`` when it does not say): histories are consecutive renewals, ``t_x = x``."""
    return bool(getattr(module, "CONTRACTUAL", False))
