"""The contract's factorisation of a conditional PMF, shared by every purchase model."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["alive_or_dead_pmf"]


def alive_or_dead_pmf(alive: Any, process: Any) -> np.ndarray:
    """P(Y = n) for n = 0..n_max (last axis): dead with probability ``1 - alive`` (no
    purchase), else the ``process`` PMF of a customer alive now
    (:mod:`clvlab.formulas.contract`), clipped to [0, 1] against rounding.

    .. math:: P(Y = n) = (1 - P_{alive})\\,\\delta_{n0} + P_{alive}\\,P_{process}(n)

    Examples
    --------
    >>> alive_or_dead_pmf(0.5, np.array([0.2, 0.8])).tolist()
    [0.6, 0.4]
    """
    alive = np.asarray(alive, dtype=float)[..., None]
    out = alive * np.asarray(process, dtype=float)
    out[..., 0] += 1 - alive[..., 0]
    return np.clip(out, 0.0, 1.0)
