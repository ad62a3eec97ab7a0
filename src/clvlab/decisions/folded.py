"""Sums over many customers per draw, computed per distinct history instead of per
customer.

A customer's expected values depend on the history ``(x, t_x, T)`` and, for spend, on
the mean spend ``m`` only through the affine form ``E[Z | x, m] = c_0(x) + c_1(x) m``
(Fader & Hardie 2013 eq. 5, :func:`clvlab.formulas.gamma_gamma.spend_line`). So for a
set of customers sharing a history ``h``, with ``n_h`` customers and ``M_h = sum m``,

.. math:: \\sum_{i \\in h} P_i(\\text{alive})\\,E[Z_i]\\,N_i
          = P_h(\\text{alive})\\,N_h\\,(c_0(x_h)\\,n_h + c_1(x_h)\\,M_h)

exactly, and a group total per draw costs one term per distinct (history, group) key
rather than one per customer: on 1M simulated customers there are about 12,000 such
histories. This is the same sum the per-customer formula gives, term by term.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from clvlab.decisions.value import CustomerValue, parallel_sum, sum_by

__all__ = ["FoldedSums"]

#: Elements (draws x keys) of one chunk of keys.
_CHUNK_ELEMENTS = 2**21


class FoldedSums:
    """The customers of ``value`` folded on (history, group) with their count and their
    sum of ``m``, to sum expected values over groups per draw.

    Parameters
    ----------
    value
        The paired draws and customers.
    codes, n_groups
        Each customer's group code in ``0..n_groups-1`` (all zeros: one group).
    """

    def __init__(self, value: CustomerValue, codes: np.ndarray, n_groups: int) -> None:
        self.value = value
        self.n_groups = int(n_groups)
        key = value.row_code.astype(np.int64) * self.n_groups + np.asarray(codes, np.int64)
        unique, inverse = np.unique(key, return_inverse=True)
        self.row = unique // self.n_groups
        self.group = unique % self.n_groups
        m = value.table["monetary_value"].to_numpy(dtype=float)
        self.count = np.bincount(inverse, minlength=len(unique)).astype(float)
        self.sum_m = np.bincount(inverse, weights=m, minlength=len(unique))
        self.pair = value.row_pair[self.row]
        x_unique, self.x_code = np.unique(value.row_x[self.row], return_inverse=True)
        self.x_unique = x_unique

    @property
    def n_keys(self) -> int:
        return len(self.row)

    def _chunks(self, n_draws: int) -> list[slice]:
        size = max(1, _CHUNK_ELEMENTS // max(n_draws, 1))
        return [slice(lo, min(lo + size, self.n_keys)) for lo in range(0, self.n_keys, size)]

    def _spend(self, p: Mapping[str, Any], keys: slice) -> np.ndarray:
        """``sum_{i in key} E[Z_i] = c_0 n + c_1 M`` per draw and key."""
        c0, c1 = self.value.spend.formulas.spend_line(self.x_unique, p["p"], p["q"], p["v"])
        xc = self.x_code[keys]
        c0 = np.broadcast_to(c0, (np.shape(p["p"])[0], len(self.x_unique)))[:, xc]
        c1 = np.broadcast_to(c1, (np.shape(p["p"])[0], len(self.x_unique)))[:, xc]
        return c0 * self.count[keys] + c1 * self.sum_m[keys]

    def group_sums(self, p: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Per draw and group ``(n_draws, n_groups)``: the sums of CLV, of the expected
        purchases over the horizon, of P(alive) and of the expected spend per purchase."""
        v = self.value
        alive_all = v.alive_by_row(p)
        discounted, in_horizon = v.discounted_by_pair(p), v.in_horizon_by_pair(p)
        chunks = self._chunks(alive_all.shape[0])

        def work(i: int) -> dict[str, np.ndarray]:
            keys = chunks[i]
            alive = alive_all[:, self.row[keys]]
            spend = self._spend(p, keys)
            groups = self.group[keys]
            return {
                "clv": sum_by(
                    v.margin * alive * discounted[:, self.pair[keys]] * spend,
                    groups,
                    self.n_groups,
                ),
                "purchases": sum_by(
                    alive * in_horizon[:, self.pair[keys]] * self.count[keys],
                    groups,
                    self.n_groups,
                ),
                "alive": sum_by(alive * self.count[keys], groups, self.n_groups),
                "spend": sum_by(spend, groups, self.n_groups),
            }

        return parallel_sum(len(chunks), work)

    def pair_weights(self, p: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Per draw and ``(x, T)`` pair ``(n_draws, n_pairs)`` (one group only): the sums
        of P(alive) (``"alive"``) and of P(alive) E[Z] (``"value"``) over its
        customers, the weights of the per-period schedule in a forecast."""
        v = self.value
        alive_all = v.alive_by_row(p)
        chunks = self._chunks(alive_all.shape[0])

        def work(i: int) -> dict[str, np.ndarray]:
            keys = chunks[i]
            alive = alive_all[:, self.row[keys]]
            pairs = self.pair[keys]
            return {
                "alive": sum_by(alive * self.count[keys], pairs, v.n_pairs),
                "value": sum_by(alive * self._spend(p, keys), pairs, v.n_pairs),
            }

        return parallel_sum(len(chunks), work)
