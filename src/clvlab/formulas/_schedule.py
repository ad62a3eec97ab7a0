"""The discounted sum of a cumulative schedule over cash-flow periods, shared by every
purchase model's ``discounted_purchases_if_alive``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["discounted_alive_process", "discounted_increments"]


def discounted_increments(cumulative: Iterable[Any], discounts: np.ndarray) -> np.ndarray:
    """``sum_k d_k [N(t_k) - N(t_{k-1})]`` with ``N(t_0) = 0``, from the values
    ``N(t_1), N(t_2), ...`` in order.

    ``discounts`` is one weight per period, or a 2-D ``(n_sets, n_periods)`` array of
    several weightings at once (the cumulative sums up to each period, with a
    lower-triangular matrix of ones); the result then has a leading ``n_sets`` axis.

    Examples
    --------
    >>> discounted_increments([1.0, 3.0, 6.0], np.array([1.0, 0.5, 0.25])).item()
    2.75
    >>> discounted_increments([1.0, 3.0], np.tril(np.ones((2, 2)))).tolist()
    [1.0, 3.0]
    """
    weights = np.asarray(discounts, dtype=float)
    total: Any = 0.0
    previous: Any = 0.0
    for k, current in enumerate(cumulative):
        step = np.asarray(current) - previous
        w = weights[..., k]
        total = total + np.reshape(w, np.shape(w) + (1,) * np.ndim(step)) * step
        previous = current
    return np.asarray(total)


def discounted_alive_process(
    alive_parameters: Any,
    purchases_if_alive: Any,
    names: tuple[str, ...],
    x: np.ndarray,
    T: np.ndarray,
    params: Mapping[str, Any],
    ends: np.ndarray,
    discounts: np.ndarray,
) -> np.ndarray:
    """The contract's ``discounted_purchases_if_alive`` for a model whose
    ``purchases_if_alive`` is a closed form: :func:`discounted_increments` of that form
    under ``alive_parameters(x, T, *params)`` at each period end (one vectorised pass per
    end; NumPy). ``names`` are the model's ``PARAMS``, in order."""
    from clvlab.formulas._ops import numpy_ops

    alive = alive_parameters(
        np.asarray(x, dtype=float),
        np.asarray(T, dtype=float),
        *(np.asarray(params[n], dtype=float) for n in names),
    )
    return discounted_increments(
        (purchases_if_alive(numpy_ops, end, **alive) for end in np.asarray(ends, dtype=float)),
        discounts,
    )
