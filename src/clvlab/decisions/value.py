"""Each customer's value under every paired parameter draw, chunk by chunk, for the
decisions built on CLV (segments, group comparisons, revenue forecasts).

The CLV of :func:`clvlab.clv` factors per draw into

.. math:: \\mathrm{CLV}_i = \\text{margin}\\; P_i(\\text{alive})\\; E[Z_i]
          \\sum_{k=1}^{K} d_k\\,[N_{c(i)}(t_k) - N_{c(i)}(t_{k-1})]

with ``N_c`` the expected purchases of a customer alive at ``T`` (the purchase-model
contract, :mod:`clvlab.formulas.contract`), which depends on the customer's ``(x, T)``
pair ``c(i)`` only, and ``E[Z_i]`` the Gamma-Gamma conditional mean spend (Fader &
Hardie 2013, eq. 5). :class:`CustomerValue` evaluates the per-customer factors for a
chunk of customers under every draw, and the per-pair schedule ``N_c(t_k)`` once per
pair and draw, so a business total over any set of customers and periods is a sum of
per-pair weights times the schedule: nothing of size draws x customers x periods is
ever held.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from clvlab._parallel import workers_for
from clvlab.arguments import check_ci_prob, check_interval_kind
from clvlab.errors import ArgumentError
from clvlab.inference.draws import IntervalKind, interval
from clvlab.predict.clv import (
    cash_flow_schedule,
    check_clv_arguments,
    clv_table,
    paired_source,
    simulate_period_values,
)
from clvlab.predict.customer import alive_term
from clvlab.predict.summary import chunk_size_for
from clvlab.predict.terms import SharedTerm, distinct
from clvlab.units import convert

if TYPE_CHECKING:
    from clvlab.predict.customer import PurchasePredictions, SpendPredictions

__all__ = [
    "MAX_EXTRAPOLATION",
    "CustomerValue",
    "Summary",
    "check_extrapolation",
    "for_each_chunk",
    "group_matrix",
    "parallel_sum",
    "sum_by",
    "summarise",
]

Params = Mapping[str, Any]


class CustomerValue:
    """The paired draws of a purchase model and Gamma-Gamma, ready to evaluate each
    customer's CLV factors chunk by chunk.

    Parameters
    ----------
    purchase, spend, rfm, horizon, unit, discount_rate, margin, time_unit
        As for :func:`clvlab.clv`, and checked the same way.
    caller
        The public function's name, for error messages.

    Attributes
    ----------
    table
        The validated RFM table (a copy; the caller's is never modified).
    draws
        Each parameter's paired draws as an ``(n_draws, 1)`` column.
    point
        The plug-in parameter values of MLE fits, else ``None`` (estimates are then
        posterior means).
    ends, discounts
        The cash-flow period ends (in the RFM's time unit) and their discount factors.
    """

    def __init__(
        self,
        purchase: PurchasePredictions,
        spend: SpendPredictions,
        rfm: pd.DataFrame,
        *,
        horizon: float = 12.0,
        unit: str = "M",
        discount_rate: float = 0.0,
        margin: float = 1.0,
        time_unit: str | None = None,
        caller: str = "clv",
    ) -> None:
        horizon, unit, discount_rate, margin, rfm_unit = check_clv_arguments(
            purchase, spend, rfm, horizon, unit, discount_rate, margin, time_unit, caller
        )
        self.purchase, self.spend = purchase, spend
        self.horizon, self.unit = horizon, unit
        self.discount_rate, self.margin, self.time_unit = discount_rate, margin, rfm_unit
        self.table = clv_table(rfm)
        check_extrapolation(horizon, unit, rfm_unit, self.table["T"].to_numpy())
        self.ends, self.discounts = cash_flow_schedule(
            horizon, unit, rfm_unit, discount_rate, purchase_model=purchase
        )
        source = paired_source(purchase, spend)
        self.source = source
        self.draws = source.params
        self.point = source.point
        f = purchase.formulas
        self._names = tuple(f.PARAMS)
        self.pair_code, self._pair_x, self._pair_t = distinct(self.table, ("frequency", "T"))
        self.row_code, self._alive = alive_term(f, self.table)
        self._x = self.table["frequency"].to_numpy(dtype=float)
        self._m = self.table["monetary_value"].to_numpy(dtype=float)
        self._t_x = self.table["recency"].to_numpy(dtype=float)
        self._T = self.table["T"].to_numpy(dtype=float)
        # each distinct history's pair and x, and each customer's code of its x, for
        # sums per history (clvlab.decisions.folded) and the spend line per x
        n_rows = int(self.row_code.max()) + 1
        self.row_pair = np.empty(n_rows, dtype=np.intp)
        self.row_pair[self.row_code] = self.pair_code
        self.row_x = np.empty(n_rows)
        self.row_x[self.row_code] = self._x
        self._x_unique, self._x_code = np.unique(self._x, return_inverse=True)
        ones = np.ones(len(self.ends))
        self._discounted = SharedTerm(
            lambda part, p: f.discounted_purchases_if_alive(
                self._pair_x[part], self._pair_t[part], self._own(p), self.ends, self.discounts
            ),
            self.n_pairs,
            self._names,
        )
        self._in_horizon = SharedTerm(
            lambda part, p: f.discounted_purchases_if_alive(
                self._pair_x[part], self._pair_t[part], self._own(p), self.ends, ones
            ),
            self.n_pairs,
            self._names,
        )

    # -- sizes ------------------------------------------------------------------------
    @property
    def n_customers(self) -> int:
        return len(self.table)

    @property
    def n_pairs(self) -> int:
        return len(self._pair_x)

    @property
    def n_draws(self) -> int:
        return self.source.n_draws

    @property
    def n_periods(self) -> int:
        return len(self.ends)

    @property
    def meta(self) -> dict[str, Any]:
        """The settings every decision table records."""
        return {
            "horizon": self.horizon,
            "unit": self.unit,
            "discount_rate": self.discount_rate,
            "margin": self.margin,
            "time_unit": self.time_unit,
            "method": self.source.method,
            "model": self.source.model,
            "draws": self.n_draws,
        }

    def interval_settings(
        self, ci_prob: float | None, kind: IntervalKind | None
    ) -> tuple[float, IntervalKind]:
        """``ci_prob`` and ``kind`` checked, defaulting to the purchase model's."""
        ci = check_ci_prob(self.source.ci_prob if ci_prob is None else ci_prob)
        ik = check_interval_kind(self.source.kind if kind is None else kind, "kind")
        return ci, ik  # type: ignore[return-value]

    def parameter_sets(self) -> Iterator[tuple[str, Params]]:
        """``("draws", draws)`` and, for MLE fits, ``("point", plug-in values)``."""
        yield "draws", self.draws
        if self.point is not None:
            yield "point", {k: np.full((1, 1), v) for k, v in self.point.items()}

    def _own(self, p: Params) -> dict[str, Any]:
        return {n: p[n] for n in self._names}

    # -- per-customer factors -----------------------------------------------------------
    def chunks(self, n_arrays: int = 6) -> list[slice]:
        """Customer slices sized so ``n_arrays`` arrays of draws x chunk fit the budget."""
        size = max(1, chunk_size_for(self.n_draws * max(n_arrays, 1) // 6))
        return [
            slice(lo, min(lo + size, self.n_customers)) for lo in range(0, self.n_customers, size)
        ]

    def alive(self, p: Params, rows: slice | np.ndarray) -> np.ndarray:
        """P(alive at T) of the customers ``rows`` under ``p``: ``(n_draws, n_rows)``."""
        return self._alive(self._own(p))[..., self.row_code[rows]]

    def spend_per_purchase(self, p: Params, rows: slice | np.ndarray) -> np.ndarray:
        """E[Z | x, m] (Fader & Hardie 2013 eq. 5) of the customers ``rows``: the spend
        model's line ``c_0(x) + c_1(x) m`` (``spend_line``), its coefficients computed
        once per distinct ``x`` and draw."""
        c0, c1 = self.spend.formulas.spend_line(self._x_unique, p["p"], p["q"], p["v"])
        shape = (_n_draws(p), len(self._x_unique))
        code = self._x_code[rows]
        return (
            np.broadcast_to(c0, shape)[:, code]
            + np.broadcast_to(c1, shape)[:, code] * self._m[rows]
        )

    def clv(self, p: Params, rows: slice, alive: np.ndarray, spend: np.ndarray) -> np.ndarray:
        """Each customer's CLV under ``p`` (the formula of :func:`clvlab.clv`)."""
        future = self._discounted(self._own(p))[..., self.pair_code[rows]]
        return self.margin * alive * future * spend

    def clv_of(self, p: Params, rows: slice, out: np.ndarray | None = None) -> np.ndarray:
        """:meth:`clv` of the customers ``rows``, with margin x P(alive) x discounted
        purchases formed once per distinct history and draw, then gathered (into
        ``out``, ``(n_draws, n_rows)``, when given: a buffer reused between calls)."""
        from clvlab.decisions._ranks_numba import gather_line

        per_row = self.margin * self.alive_by_row(p) * self.discounted_by_pair(p)[:, self.row_pair]
        c0, c1 = self.spend.formulas.spend_line(self._x_unique, p["p"], p["q"], p["v"])
        shape = (_n_draws(p), len(self._x_unique))
        if out is None:
            out = np.empty((shape[0], len(self._m[rows])))
        gather_line(
            np.ascontiguousarray(per_row),
            np.ascontiguousarray(self.row_code[rows]),
            np.ascontiguousarray(np.broadcast_to(c0, shape), dtype=float),
            np.ascontiguousarray(np.broadcast_to(c1, shape), dtype=float),
            np.ascontiguousarray(self._x_code[rows]),
            np.ascontiguousarray(self._m[rows]),
            out,
        )
        return out

    def alive_by_row(self, p: Params) -> np.ndarray:
        """P(alive at T) per distinct history ``(x, t_x, T)`` and draw."""
        term = self._alive(self._own(p))
        return np.broadcast_to(term, (_n_draws(p), np.shape(term)[-1]))

    def discounted_by_pair(self, p: Params) -> np.ndarray:
        """The discounted purchases of a customer alive at ``T`` per ``(x, T)`` pair and
        draw: what :func:`clvlab.clv` multiplies by P(alive) and spend."""
        term = self._discounted(self._own(p))
        return np.broadcast_to(term, (_n_draws(p), self.n_pairs))

    def in_horizon_by_pair(self, p: Params) -> np.ndarray:
        """The purchases over the horizon of a customer alive at ``T``, per pair and draw."""
        term = self._in_horizon(self._own(p))
        return np.broadcast_to(term, (_n_draws(p), self.n_pairs))

    def purchases(self, p: Params, rows: slice, alive: np.ndarray) -> np.ndarray:
        """Expected purchases over the horizon, E[Y(t_K) | history] (FHL 2005 eq. 10)."""
        return alive * self._in_horizon(self._own(p))[..., self.pair_code[rows]]

    def cumulative_if_alive(self, p: Params, pairs: slice | np.ndarray) -> np.ndarray:
        """``N_c(t_k)`` for the pairs ``pairs``: ``(n_periods, n_draws, n_pairs)``; the
        expected purchases by each period end of a customer alive at ``T``, through the
        contract's ``discounted_purchases_if_alive`` with one weighting per period end
        (a lower-triangular matrix of ones), so the schedule is evaluated once. Past
        :data:`ONE_PASS_PERIODS` periods that costs ``n_periods ** 2`` (long schedules
        take one weighting at a time), so each period end is evaluated on its own."""
        f = self.purchase.formulas
        x, big_t = self._pair_x[pairs], self._pair_t[pairs]
        shape = (self.n_periods, _n_draws(p), len(x))
        if self.n_periods <= ONE_PASS_PERIODS:
            weights = np.tril(np.ones((self.n_periods, self.n_periods)))
            cumulative = f.discounted_purchases_if_alive(x, big_t, self._own(p), self.ends, weights)
            return np.broadcast_to(cumulative, shape)
        out = np.empty(shape)
        for k, end in enumerate(self.ends):
            out[k] = f.discounted_purchases_if_alive(
                x, big_t, self._own(p), np.array([end]), np.ones(1)
            )
        return out

    def simulate_periods(
        self, p: Params, rows: slice | np.ndarray, rng: np.random.Generator
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Realised purchases and spend per period of the customers ``rows`` (see
        :func:`clvlab.predict.clv.simulate_period_values`)."""
        cols = {
            "frequency": self._x[rows],
            "recency": self._t_x[rows],
            "T": self._T[rows],
            "monetary_value": self._m[rows],
        }
        return simulate_period_values(
            self.purchase.formulas, self.spend.formulas, rng, cols, p, self.ends
        )

    def simulate_value(self, p: Params, rows: slice, rng: np.random.Generator) -> np.ndarray:
        """Realised discounted spend over the horizon (before the margin) of the
        customers ``rows``, one simulated path per draw."""
        total = np.zeros((_n_draws(p), rows.stop - rows.start))
        for k, (_, spent) in enumerate(self.simulate_periods(p, rows, rng)):
            total += self.discounts[k] * spent
        return total


#: Up to this many periods, :meth:`CustomerValue.cumulative_if_alive` weights one
#: evaluation of the schedule (the contract's one-pass limit for a 2-D weighting).
ONE_PASS_PERIODS = 64
#: How far past the longest observed customer history a decision may look.
MAX_EXTRAPOLATION = 5.0


def check_extrapolation(horizon: float, unit: str, time_unit: str, T: np.ndarray) -> None:
    """Refuse a horizon longer than the data allow: more than :data:`MAX_EXTRAPOLATION`
    times the longest customer history ``max(T)``, where the models' forecasts rest on
    parameters that the data cannot have informed."""
    span = float(np.max(T)) if len(T) else 0.0
    length = convert(horizon, unit, time_unit)
    if span <= 0 or length > MAX_EXTRAPOLATION * span:
        limit = convert(MAX_EXTRAPOLATION * span, time_unit, unit)
        raise ArgumentError(
            f"a horizon of {horizon:g} {unit} looks {length:g} {time_unit} ahead, but the "
            f"longest customer history is {span:g} {time_unit}: forecasts beyond "
            f"{MAX_EXTRAPOLATION:g} times the observed span extrapolate past what the data "
            f"can inform; use a horizon of at most {limit:.4g} {unit}, or more history"
        )


def _n_draws(p: Params) -> int:
    """The number of draws of a parameter set (``(n_draws, 1)`` columns)."""
    return int(np.shape(next(iter(p.values())))[0])


def group_matrix(codes: np.ndarray, n_groups: int) -> sp.csr_matrix:
    """The ``(n_rows, n_groups)`` 0/1 matrix of each row's group: ``values @ M`` sums
    each draw's values by group."""
    n = len(codes)
    return sp.csr_matrix(
        (np.ones(n), (np.arange(n), np.asarray(codes, dtype=np.intp))), shape=(n, n_groups)
    )


def sum_by(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """``(n_draws, n_groups)``: each draw's values summed within each group."""
    return np.asarray((group_matrix(codes, n_groups).T @ np.asarray(values).T).T)


def parallel_sum(
    n_chunks: int, work: Callable[[int], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """The sum over chunks of ``work(i)`` (dicts of arrays), on all cores.

    Worker ``w`` sums the chunks ``w, w + W, ...`` in order into its own totals and the
    workers' totals are added in worker order, so the result does not depend on thread
    timing, and at most one chunk per worker is in memory.
    """
    workers = workers_for(n_chunks)

    def run(w: int) -> dict[str, np.ndarray]:
        totals: dict[str, np.ndarray] = {}
        for i in range(w, n_chunks, workers):
            for key, value in work(i).items():
                totals[key] = totals[key] + value if key in totals else np.array(value, dtype=float)
        return totals

    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(run, range(workers)))
    out: dict[str, np.ndarray] = {}
    for part in parts:
        for key, value in part.items():
            out[key] = out[key] + value if key in out else value
    return out


def for_each_chunk(n_chunks: int, work: Callable[[int], None]) -> None:
    """Run ``work(i)`` for every chunk on all cores; each call writes its own rows of
    preallocated outputs, so no result depends on thread timing."""
    with ThreadPoolExecutor(max_workers=workers_for(n_chunks)) as pool:
        for _ in pool.map(work, range(n_chunks)):
            pass


@dataclass(frozen=True)
class Summary:
    """Estimate and interval of quantities over draws (draws on the first axis)."""

    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def columns(self, name: str) -> dict[str, np.ndarray]:
        return {
            f"{name}_estimate": self.estimate,
            f"{name}_lower": self.lower,
            f"{name}_upper": self.upper,
        }


def summarise(
    draws: np.ndarray, point: np.ndarray | None, ci_prob: float, kind: IntervalKind
) -> Summary:
    """The estimate (the plug-in ``point`` of an MLE fit, else the mean of the draws)
    and the ``ci_prob`` interval of ``draws``, widened to include the estimate, as every
    table of :func:`clvlab.clv` is."""
    draws = np.asarray(draws, dtype=float)
    estimate = draws.mean(axis=0) if point is None else np.asarray(point, dtype=float)
    lo, hi = interval(draws, ci_prob, kind)
    return Summary(estimate, np.minimum(lo, estimate), np.maximum(hi, estimate))
