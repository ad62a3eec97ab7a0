"""Revenue forecast of the existing customer base per future period, with intervals,
and optionally of customers still to be acquired.

For period ``k`` ending at ``t_k`` (cash-flow periods of ``unit``, as in
:func:`clvlab.clv`) and draw ``j``, the expected purchases and revenue of the base are

.. math:: P_{kj} = \\sum_i P_{ij}(\\text{alive})\\,[N_{c(i)j}(t_k) - N_{c(i)j}(t_{k-1})],
          \\qquad R_{kj} = \\sum_i P_{ij}(\\text{alive})\\,E_j[Z_i]\\,
          [N_{c(i)j}(t_k) - N_{c(i)j}(t_{k-1})]

(FHL 2005 eq. 10 split by period; Fader & Hardie 2013 eq. 5 for ``E[Z_i]``), so the
revenue over all periods is the undiscounted CLV total with a margin of 1. The sums over
customers are taken per ``(x, T)`` pair first (:mod:`clvlab.decisions.value`), so the
cost is one pass over customers and draws plus one per pair, period and draw.

New customers arriving at ``a_k`` per period (at the start of the period) make their
first purchase on arrival and then buy as the model's new customers do:
``E[X(t)]`` of the contract's ``expected_purchases_new``, each purchase worth the
population mean spend ``p v / (q - 1)``.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from clvlab.arguments import check_count
from clvlab.decisions.folded import FoldedSums
from clvlab.decisions.value import CustomerValue, parallel_sum, summarise
from clvlab.errors import ArgumentError
from clvlab.formulas import numpy_gather_ops as ops
from clvlab.inference.draws import IntervalKind, interval
from clvlab.predict.clv import simulate_period_values

if TYPE_CHECKING:
    from clvlab.predict.customer import PurchasePredictions, SpendPredictions

__all__ = ["FORECAST_COLUMNS", "revenue_forecast"]

#: The columns of the forecast table, after ``period`` and ``period_end``.
FORECAST_COLUMNS = (
    "purchases_estimate",
    "purchases_lower",
    "purchases_upper",
    "purchases_pred_lower",
    "purchases_pred_upper",
    "revenue_estimate",
    "revenue_lower",
    "revenue_upper",
    "revenue_pred_lower",
    "revenue_pred_upper",
)
#: elements (draws x arrivals) of one block of simulated new customers
_NEW_BLOCK_ELEMENTS = 2**20
#: the most new customers (draws x arrivals per period) the predictive interval simulates
MAX_SIMULATED_NEW = 10**8
#: elements (periods x draws x pairs) of one block of the per-period schedule: the
#: pairs of ``(x, T)`` evaluated at once are as many as fit (32 MB of float64)
_BLOCK_ELEMENTS = 2**22


def _arrivals(new_customers: Any, n_periods: int) -> np.ndarray:
    """``a_k`` per period: one rate for every period or one per period."""
    raw = np.atleast_1d(np.asarray(new_customers, dtype=object))
    if not all(
        isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_) for v in raw.flat
    ):
        raise ArgumentError(
            f"new_customers must be numbers (customers acquired per period), got {new_customers!r}"
        )
    rates = raw.astype(float)
    if rates.ndim != 1 or len(rates) not in (1, n_periods):
        raise ArgumentError(
            f"new_customers must be one number of customers acquired in every period, or "
            f"one number per period ({n_periods} values), got shape {np.shape(new_customers)}"
        )
    if not np.all(np.isfinite(rates)) or np.any(rates < 0):
        raise ArgumentError(
            f"new_customers must be finite and >= 0 (customers acquired per period), got "
            f"{rates.tolist()[:5]}"
        )
    return np.broadcast_to(rates, (n_periods,)).astype(float)


def revenue_forecast(
    purchase: PurchasePredictions,
    spend: SpendPredictions,
    rfm: pd.DataFrame,
    *,
    periods: int = 12,
    unit: str = "M",
    new_customers: float | np.ndarray | None = None,
    predictive: bool = True,
    predictive_draws: int = 1000,
    seed: int | None = None,
    time_unit: str | None = None,
    ci_prob: float | None = None,
    kind: IntervalKind | None = None,
) -> pd.DataFrame:
    """Expected purchases and revenue per future period, with intervals.

    Parameters
    ----------
    purchase, spend, rfm, time_unit
        As for :func:`clvlab.clv`.
    periods, unit
        The number of periods and their unit: ``"M"`` (months of 365.25/12 days),
        periods of ``"D"``, ``"W"`` or ``"Y"``.
    new_customers
        Customers acquired per period (one rate, or one per period), or ``None`` for the
        existing base only.
    predictive
        Also report the predictive interval of the realised totals
        (``*_pred_lower``/``*_pred_upper``): for each of ``predictive_draws`` parameter
        draws (evenly thinned), every customer's purchases and their values are
        simulated period by period (above :data:`EXACT_PREDICTIVE_CUSTOMERS` customers,
        the normal approximation of their sum, with its variance estimated from that
        many simulated customers), and new customers arrive as a Poisson process.
    seed
        Seed of the simulation.

    Returns
    -------
    pandas.DataFrame
        One row per period: ``period`` (1..K), ``period_end`` (in ``unit``) and
        :data:`FORECAST_COLUMNS`; without ``predictive`` the predictive columns are
        absent. ``lower``/``upper`` are the interval of the expected value across the
        parameter draws; ``attrs["clvlab"]`` records the settings and the totals over
        the horizon.
    """
    periods = check_count("periods", periods, minimum=1)
    value = CustomerValue(
        purchase,
        spend,
        rfm,
        horizon=float(periods),
        unit=unit,
        time_unit=time_unit,
        caller="revenue_forecast",
    )
    ci, ik = value.interval_settings(ci_prob, kind)
    arrivals = None if new_customers is None else _arrivals(new_customers, periods)
    predictive_draws = check_count("predictive_draws", predictive_draws, minimum=2)
    seed = None if seed is None else check_count("seed", seed, minimum=0)
    simulated = min(predictive_draws, value.n_draws) * (0 if arrivals is None else arrivals.max())
    if predictive and simulated > MAX_SIMULATED_NEW:
        raise ArgumentError(
            f"the predictive interval would simulate {simulated:.3g} new customers per "
            f"period (draws x new_customers), more than {MAX_SIMULATED_NEW:.0e}; pass "
            "predictive=False for the expected values, or fewer predictive_draws"
        )
    n_pairs = value.n_pairs
    # per (x, T) pair and draw, the sums over its customers of P(alive) and of
    # P(alive) x E[Z]: one term per distinct history (clvlab.decisions.folded)
    folded = FoldedSums(value, np.zeros(value.n_customers, dtype=np.intp), 1)

    expected: dict[str, dict[str, np.ndarray]] = {}
    for label, p in value.parameter_sets():
        weights = folded.pair_weights(p)
        purchases = np.zeros((periods, weights["alive"].shape[0]))
        revenue = np.zeros_like(purchases)
        pair_block = max(1, _BLOCK_ELEMENTS // (periods * weights["alive"].shape[0]))
        for lo in range(0, n_pairs, pair_block):
            block = slice(lo, min(lo + pair_block, n_pairs))
            # sums by period end first, differences after: both are linear
            cumulative = value.cumulative_if_alive(p, block)  # (K, draws, pairs)
            purchases += np.einsum("kdc,dc->kd", cumulative, weights["alive"][:, block])
            revenue += np.einsum("kdc,dc->kd", cumulative, weights["value"][:, block])
        purchases = np.diff(purchases, axis=0, prepend=0.0)
        revenue = np.diff(revenue, axis=0, prepend=0.0)
        if arrivals is not None:
            new_purchases, new_revenue = _new_customer_paths(value, p, arrivals)
            purchases, revenue = purchases + new_purchases, revenue + new_revenue
        expected[label] = {"purchases": purchases.T, "revenue": revenue.T}  # (draws, K)

    point = expected.get("point")
    table: dict[str, Any] = {
        "period": np.arange(1, periods + 1, dtype=np.int64),
        "period_end": np.arange(1, periods + 1, dtype=float),
    }
    pred: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if predictive:
        pred = _predictive(value, arrivals, predictive_draws, seed, ci, expected["draws"])
    for name in ("purchases", "revenue"):
        s = summarise(expected["draws"][name], None if point is None else point[name][0], ci, ik)
        table.update(s.columns(name))
        if predictive:
            pred_lo, pred_hi = pred[name]
            low, high = s.lower, s.upper
            if name == "purchases":
                # realised purchases are whole numbers: the expected-value bounds the
                # predictive interval is widened to contain are rounded outwards
                low, high = np.floor(low), np.ceil(high)
            table[f"{name}_pred_lower"] = np.minimum(pred_lo, low)
            table[f"{name}_pred_upper"] = np.maximum(pred_hi, high)
    frame = pd.DataFrame(table)
    frame = frame[["period", "period_end", *[c for c in FORECAST_COLUMNS if c in frame]]]
    totals = {}
    for name in ("purchases", "revenue"):
        draws_total = expected["draws"][name].sum(axis=1)
        est = float(frame[f"{name}_estimate"].sum())
        total_lo, total_hi = interval(draws_total, ci, ik)
        totals[name] = {
            "estimate": est,
            "lower": min(float(total_lo), est),
            "upper": max(float(total_hi), est),
        }
    frame.attrs["clvlab"] = {
        **value.meta,
        "quantity": "forecast",
        "periods": periods,
        "new_customers": None if arrivals is None else arrivals.tolist(),
        "ci_prob": ci,
        "interval": ik,
        "predictive_draws": min(predictive_draws, value.n_draws) if predictive else 0,
        "seed": seed,
        "total": totals,
    }
    return frame


def _new_customer_paths(
    value: CustomerValue, p: Any, arrivals: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Expected purchases and revenue per period ``(K, draws)`` of customers arriving
    at the start of each period: one first purchase on arrival, then ``E[X(t)]`` of a
    new customer (the contract's ``expected_purchases_new``), each purchase worth
    ``p v / (q - 1)`` (Fader & Hardie 2013)."""
    f = value.purchase.formulas
    own = {n: p[n] for n in f.PARAMS}
    starts = np.r_[0.0, value.ends[:-1]]
    n_draws = int(np.shape(p["r"] if "r" in p else p[f.PARAMS[0]])[0])
    purchases = np.zeros((len(starts), n_draws))
    for j, (start, rate) in enumerate(zip(starts, arrivals, strict=True)):
        if rate == 0:
            continue
        since = np.maximum(value.ends[j:] - start, 0.0)
        cumulative = f.expected_purchases_new(ops, since[:, None, None], **own)[..., 0]
        cumulative = np.broadcast_to(cumulative, (len(since), n_draws))
        purchases[j:] += rate * np.diff(cumulative, axis=0, prepend=0.0)
        purchases[j] += rate  # the first purchase, on arrival
    mean_spend = value.spend.formulas.expected_spend_new(ops, p["p"], p["q"], p["v"])
    return purchases, purchases * np.reshape(mean_spend, (1, -1))


#: Above this many customers the predictive interval of the base's totals is the normal
#: approximation of a sum of independent customers, its variance estimated from a random
#: sample of this many simulated customers.
EXACT_PREDICTIVE_CUSTOMERS = 20_000


def _predictive(
    value: CustomerValue,
    arrivals: np.ndarray | None,
    n_draws: int,
    seed: int | None,
    ci_prob: float,
    expected: dict[str, np.ndarray],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Equal-tailed ``ci_prob`` intervals of the realised purchases and revenue per
    period, from one realised total per thinned draw.

    Up to :data:`EXACT_PREDICTIVE_CUSTOMERS` customers every customer is simulated
    (``simulate_counts`` and the Gamma-Gamma spend,
    :func:`clvlab.predict.clv.simulate_period_values`) and summed. Above, given a draw
    the customers are independent, so the total of ``n`` of them is normal to a very
    good approximation (central limit theorem) with the exact expected total and the
    variance ``sum_i Var_i``, estimated without bias from a random sample ``S`` of
    simulated customers as ``(n / |S|) sum_{i in S} (Y_i - E[Y_i])^2``."""
    idx = np.round(np.linspace(0, value.n_draws - 1, min(n_draws, value.n_draws))).astype(int)
    p = {k: v[idx] for k, v in value.draws.items()}
    streams = np.random.SeedSequence(seed).spawn(2)
    if value.n_customers <= EXACT_PREDICTIVE_CUSTOMERS:
        totals = _simulated_base(value, p, streams[0])
    else:
        totals = _normal_base(value, p, streams[0], {k: v[idx] for k, v in expected.items()})
    if arrivals is not None:
        rng = np.random.default_rng(streams[1])
        new_counts, new_revenue = _simulated_new(value, p, arrivals, rng)
        totals["purchases"] = totals["purchases"] + new_counts
        totals["revenue"] = totals["revenue"] + new_revenue
    assert totals["purchases"].shape == (len(idx), value.n_periods)
    return {
        name: interval(totals[name], ci_prob, "eti", discrete=name == "purchases")
        for name in ("purchases", "revenue")
    }


def _simulated_base(
    value: CustomerValue, p: Any, stream: np.random.SeedSequence
) -> dict[str, np.ndarray]:
    """Every customer simulated, summed per draw and period: ``(draws, K)`` each."""
    chunks = value.chunks(n_arrays=4 * value.n_periods)
    streams = stream.spawn(len(chunks))

    def work(i: int) -> dict[str, np.ndarray]:
        counts, spend_ = _simulated_totals(value, p, chunks[i], np.random.default_rng(streams[i]))
        return {"purchases": counts, "revenue": spend_}

    return parallel_sum(len(chunks), work)


def _normal_base(
    value: CustomerValue,
    p: Any,
    stream: np.random.SeedSequence,
    expected: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """One realised total per draw and period from the normal approximation (see
    :func:`_predictive`), the purchases rounded to whole numbers."""
    n, m = value.n_customers, EXACT_PREDICTIVE_CUSTOMERS
    pick, noise, *chunk_streams = stream.spawn(2 + (m + 4095) // 4096)
    sample = np.sort(np.random.default_rng(pick).choice(n, size=m, replace=False))
    pairs, pair_of = np.unique(value.pair_code[sample], return_inverse=True)
    # expected purchases by period of a customer alive at T, per sampled pair and draw
    increments = np.diff(value.cumulative_if_alive(p, pairs), axis=0, prepend=0.0)
    size = 4096
    starts = list(range(0, m, size))

    def work(i: int) -> dict[str, np.ndarray]:
        part = slice(starts[i], min(starts[i] + size, m))
        rows = sample[part]
        alive = value.alive(p, rows)
        spend = value.spend_per_purchase(p, rows)
        rng = np.random.default_rng(chunk_streams[i])
        counts = np.zeros((alive.shape[0], value.n_periods))
        revenue = np.zeros_like(counts)
        for k, (bought, spent) in enumerate(value.simulate_periods(p, rows, rng)):
            mean_count = alive * increments[k][:, pair_of[part]]
            counts[:, k] = ((bought - mean_count) ** 2).sum(axis=1)
            revenue[:, k] = ((spent - mean_count * spend) ** 2).sum(axis=1)
        return {"purchases": counts, "revenue": revenue}

    squares = parallel_sum(len(starts), work)
    rng = np.random.default_rng(noise)
    out = {}
    for name in ("purchases", "revenue"):
        sd = np.sqrt(squares[name] * (n / m))
        out[name] = expected[name] + sd * rng.standard_normal(sd.shape)
    out["purchases"] = np.maximum(np.round(out["purchases"]), 0.0)
    return out


def _simulated_totals(
    value: CustomerValue, p: Any, rows: slice, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Simulated purchases and revenue of the customers ``rows``, summed per draw and
    period: ``(draws, K)`` each."""
    periods = list(value.simulate_periods(p, rows, rng))
    counts = np.stack([n.sum(axis=1) for n, _ in periods], axis=1)
    revenue = np.stack([v.sum(axis=1) for _, v in periods], axis=1)
    return counts, revenue


def _simulated_new(
    value: CustomerValue, p: Any, arrivals: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Simulated purchases and revenue per draw and period of new customers: Poisson
    arrivals at the start of each period, a first purchase on arrival, then the model's
    process from ``T = 0`` (``simulate_counts`` with no history)."""
    f, g = value.purchase.formulas, value.spend.formulas
    n_draws = int(np.shape(p["p"])[0])
    k_periods = len(arrivals)
    counts_total = np.zeros((n_draws, k_periods))
    revenue_total = np.zeros((n_draws, k_periods))
    starts = np.r_[0.0, value.ends[:-1]]
    for j, rate in enumerate(arrivals):
        if rate == 0:
            continue
        arrived = rng.poisson(rate, size=n_draws)
        width = int(arrived.max())
        if width == 0:
            continue
        since = value.ends[j:] - starts[j]
        # blocks of arrivals, so memory stays bounded (draws x block per array)
        block = max(1, _NEW_BLOCK_ELEMENTS // n_draws)
        for lo in range(0, width, block):
            present = np.arange(lo, min(lo + block, width))[None, :] < arrived[:, None]
            zeros = np.zeros(present.shape[1])
            cols = {"frequency": zeros, "recency": zeros, "T": zeros, "monetary_value": zeros}
            # the first purchase, on arrival, is worth one Gamma(p, nu) like any other
            nu_first = g.draw_spend_rate(rng, zeros, zeros, p)
            first = rng.gamma(np.broadcast_to(p["p"], nu_first.shape)) / nu_first
            counts_total[:, j] += present.sum(axis=1)
            revenue_total[:, j] += np.where(present, first, 0.0).sum(axis=1)
            # the same customer's spend rate for the first purchase and the later ones
            later = simulate_period_values(f, g, rng, cols, p, since, spend_rate=nu_first)
            for k, (n, spent) in enumerate(later):
                counts_total[:, j + k] += np.where(present, n, 0.0).sum(axis=1)
                revenue_total[:, j + k] += np.where(present, spent, 0.0).sum(axis=1)
    return counts_total, revenue_total
