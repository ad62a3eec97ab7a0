"""Value segments: tiers of customers by CLV, each customer's probability of belonging
to each tier under the posterior, and an "at risk" segment.

A tier by quantile is a statement about ranks: "the top 10%" are the customers whose
CLV exceeds the 90th percentile of all customers' CLV. Under parameter draw ``j`` that
percentile is ``theta_j``, computed over every customer for that draw, so customer
``i`` belongs to the top tier with probability

.. math:: P_i(\\text{top}) = \\frac{1}{J}\\sum_j \\mathbf{1}[\\mathrm{CLV}_{ij} > \\theta_j],

which is often far from 1 for a customer ranked in the top 10% by the point estimate.
Tiers by thresholds the user sets use the same thresholds for every draw. The
probabilities of a customer's tiers sum to 1.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from clvlab._parallel import workers_for
from clvlab.arguments import check_count, check_probability
from clvlab.decisions._ranks_numba import PROBE, count_above, order_statistics
from clvlab.decisions.value import CustomerValue, parallel_sum
from clvlab.errors import ArgumentError
from clvlab.inference.draws import IntervalKind

if TYPE_CHECKING:
    from clvlab.predict.customer import PurchasePredictions, SpendPredictions

__all__ = ["DEFAULT_QUANTILES", "tier_bounds", "value_segments"]

#: Default tiers: the bottom half, the next 40% and the top 10% by CLV.
DEFAULT_QUANTILES = (0.0, 0.5, 0.9, 1.0)
_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
#: Elements (draws x customers) of one block of the pass that finds each draw's
#: percentiles.
_BLOCK_ELEMENTS = 2**23


def _number(value: float, exact: bool = False) -> str:
    """A number as a label part: 6 significant digits, or with ``exact`` the shortest
    text that round-trips (distinct floats give distinct text)."""
    text = repr(float(value)).removesuffix(".0") if exact else f"{value:g}"
    return text.replace(".", "_").replace("-", "m").replace("+", "")


def _tier_labels(kind: str, values: np.ndarray, exact: bool = False) -> list[str]:
    """Default tier labels from the threshold values or the quantile edges."""
    if kind == "threshold":
        labels = [f"clv_upto_{_number(values[0], exact)}"]
        labels += [
            f"clv_{_number(lo, exact)}_{_number(hi, exact)}"
            for lo, hi in itertools.pairwise(values)
        ]
        return [*labels, f"clv_over_{_number(values[-1], exact)}"]
    percent = 100 * values if exact else np.round(100 * values, 6)
    return [f"q{_number(lo, exact)}_{_number(hi, exact)}" for lo, hi in itertools.pairwise(percent)]


def _default_labels(kind: str, values: np.ndarray) -> list[str]:
    """Readable default labels, made exact where rounding would give two tiers one
    name (bounds that agree to 6 significant digits)."""
    for exact in (False, True):
        labels = _tier_labels(kind, values, exact)
        if len(set(labels)) == len(labels):
            return labels
    return [f"tier{k}" for k in range(1, len(labels) + 1)]


def tier_bounds(
    quantiles: Sequence[float] | None, thresholds: Sequence[float] | None
) -> tuple[str, np.ndarray, list[str]]:
    """The kind of tiers (``"quantile"`` or ``"threshold"``), their interior bounds and
    default labels, checked.

    Quantile tiers are given by their edges, which must partition ``[0, 1]``: start at
    0, end at 1 and increase strictly (``(0, 0.5, 0.9, 1)`` gives three tiers).
    Threshold tiers are given by the interior CLV values, finite and increasing
    strictly (``(100, 500)`` gives ``<= 100``, ``100-500`` and ``> 500``).

    Examples
    --------
    >>> tier_bounds((0, 0.5, 0.9, 1), None)[2]
    ['q0_50', 'q50_90', 'q90_100']
    >>> tier_bounds(None, (100, 500))[2]
    ['clv_upto_100', 'clv_100_500', 'clv_over_500']
    """
    if quantiles is not None and thresholds is not None:
        raise ArgumentError(
            "give tiers either as quantiles= (edges partitioning [0, 1]) or as thresholds= "
            "(CLV values), not both"
        )
    if thresholds is not None:
        values = _floats("thresholds", thresholds)
        if len(values) < 1 or not np.all(np.isfinite(values)) or np.any(np.diff(values) <= 0):
            raise ArgumentError(
                f"thresholds must be finite CLV values in strictly increasing order, e.g. "
                f"(100, 500) for three tiers; got {list(thresholds)}"
            )
        return "threshold", values, _default_labels("threshold", values)
    edges = _floats("quantiles", DEFAULT_QUANTILES if quantiles is None else quantiles)
    if (
        len(edges) < 3
        or not np.all(np.isfinite(edges))
        or edges[0] != 0.0
        or edges[-1] != 1.0
        or np.any(np.diff(edges) <= 0)
    ):
        raise ArgumentError(
            "quantiles must be tier edges that partition [0, 1]: start at 0, end at 1 and "
            f"increase strictly, with at least two tiers, e.g. (0, 0.5, 0.9, 1); got "
            f"{edges.tolist()}"
        )
    return "quantile", edges[1:-1], _default_labels("quantile", edges)


def _floats(name: str, values: Any) -> np.ndarray:
    if isinstance(values, str | bytes) or np.ndim(values) != 1:
        raise ArgumentError(f"{name} must be a sequence of numbers, got {values!r}")
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ArgumentError(f"{name} must be a sequence of numbers, got {values!r}") from None


def _check_labels(labels: Sequence[str] | None, default: list[str]) -> list[str]:
    if labels is None:
        return default
    if isinstance(labels, str | bytes):
        raise ArgumentError(
            f"labels must be a sequence of {len(default)} tier names, e.g. "
            f"{default}, got the single string {labels!r}"
        )
    labels = list(labels)
    if len(labels) != len(default):
        raise ArgumentError(f"labels must name the {len(default)} tiers, got {len(labels)}")
    bad = [str(x) for x in labels if not isinstance(x, str) or not _LABEL.match(x)]
    if bad or len(set(labels)) != len(labels):
        raise ArgumentError(
            "tier labels must be distinct identifiers (a letter, then letters, digits or _): "
            f"they become the column names p_<label> in exports; got {labels}"
        )
    return labels


def value_segments(
    purchase: PurchasePredictions,
    spend: SpendPredictions,
    rfm: pd.DataFrame,
    *,
    quantiles: Sequence[float] | None = None,
    thresholds: Sequence[float] | None = None,
    labels: Sequence[str] | None = None,
    at_risk_value_quantile: float = 0.8,
    at_risk_alive_below: float = 0.5,
    horizon: float = 12.0,
    unit: str = "M",
    discount_rate: float = 0.0,
    margin: float = 1.0,
    time_unit: str | None = None,
    uncertainty: Literal["parameters", "predictive"] = "parameters",
    seed: int | None = None,
    ci_prob: float | None = None,
    kind: IntervalKind | None = None,
) -> pd.DataFrame:
    """Tiers by CLV with each customer's probability of each tier, and the at-risk flag.

    Parameters
    ----------
    purchase, spend, rfm, horizon, unit, discount_rate, margin, time_unit
        As for :func:`clvlab.clv`.
    quantiles, thresholds, labels
        The tiers (see :func:`tier_bounds`): edges of quantiles of CLV partitioning
        ``[0, 1]`` (default :data:`DEFAULT_QUANTILES`), or CLV thresholds; ``labels``
        names them from the lowest tier up.
    at_risk_value_quantile, at_risk_alive_below
        The at-risk segment: customers whose past value (the margin on their repeat
        purchases in calibration, ``margin x frequency x monetary_value``) is at or above
        this quantile of all customers' past value, and whose P(alive) estimate is below
        ``at_risk_alive_below``: valuable customers who are probably slipping away.
    uncertainty
        What a customer's tier is uncertain about. ``"parameters"`` (default): the
        expected CLV under each parameter draw, as in :func:`clvlab.clv`'s interval;
        with thousands of customers the parameters are well known and ranks are stable.
        ``"predictive"``: the value each customer will actually bring, simulated per
        draw (purchases period by period, each purchase's value from Gamma-Gamma, seed
        ``seed``): "will this customer really be among the top 10% spenders?", for which
        a top-10% customer by estimate is often far from certain.

    Returns
    -------
    pandas.DataFrame
        Per customer: ``clv_estimate``, ``tier`` (the tier of the estimate),
        ``tier_probability`` (the probability of that tier), ``p_<label>`` for every
        tier (they sum to 1), ``past_value``, ``probability_alive_estimate``,
        ``p_alive_below`` (share of draws with P(alive) below the at-risk level) and
        ``at_risk``. ``attrs["clvlab"]`` records the tiers, the thresholds of the
        estimate and the settings.
    """
    if uncertainty not in ("parameters", "predictive"):
        raise ArgumentError(
            f"uncertainty must be 'parameters' or 'predictive', got {uncertainty!r}"
        )
    kind_of_tiers, bounds, default_labels = tier_bounds(quantiles, thresholds)
    names = _check_labels(labels, default_labels)
    value_q = check_probability("at_risk_value_quantile", at_risk_value_quantile)
    seed = None if seed is None else check_count("seed", seed, minimum=0)
    alive_below = check_probability("at_risk_alive_below", at_risk_alive_below)
    value = CustomerValue(
        purchase,
        spend,
        rfm,
        horizon=horizon,
        unit=unit,
        discount_rate=discount_rate,
        margin=margin,
        time_unit=time_unit,
        caller="value_segments",
    )
    ci, ik = value.interval_settings(ci_prob, kind)
    n, n_draws = value.n_customers, value.n_draws

    # one pass over blocks of draws, each with every customer: a draw's tier bounds
    # are quantiles over all customers, so a block holds its draws for everyone
    block = max(1, _BLOCK_ELEMENTS // max(n, 1))
    starts = list(range(0, n_draws, block))
    streams = np.random.SeedSequence(seed).spawn(len(starts))
    every = slice(0, n)
    # each bound's order statistic (the inverted-CDF quantile: a value a customer has),
    # and a fixed random subset of customers that locates it (_ranks_numba)
    ranks = np.array(
        [
            int(np.quantile(np.arange(n), q, method="inverted_cdf"))
            for q in (bounds if kind_of_tiers == "quantile" else [])
        ],
        dtype=np.intp,
    )
    probe = np.sort(np.random.default_rng(0).choice(n, size=min(n, PROBE), replace=False))

    workers = workers_for(len(starts))

    def work(w: int) -> dict[str, np.ndarray]:
        # each worker takes the blocks w, w + workers, ... with buffers of its own,
        # reused from block to block (fresh 64 MB arrays would cost more than the work)
        values = np.empty((block, n))
        above = np.zeros((len(bounds), n), dtype=np.int64)
        below = np.zeros(len(value.row_x))
        clv_sum = np.zeros(n)
        alive_sum = np.zeros(len(value.row_x))
        for i in range(w, len(starts), workers):
            p = {k: v[starts[i] : starts[i] + block] for k, v in value.draws.items()}
            size = len(p["p"])
            expected = value.clv_of(p, every, out=values[:size])
            if uncertainty == "predictive":
                clv_sum += expected.sum(axis=0)
                rng = np.random.default_rng(streams[i])
                clv = value.margin * value.simulate_value(p, every, rng)
            else:
                clv = expected
                clv_sum += clv.sum(axis=0)
            edges = (
                order_statistics(clv, ranks, probe)
                if kind_of_tiers == "quantile"
                else np.ascontiguousarray(np.broadcast_to(bounds, (size, len(bounds))))
            )
            # draws in which each customer is above each bound (ties: the lower tier)
            count_above(clv, edges, above)
            alive = value.alive_by_row(p)
            below += np.count_nonzero(alive < alive_below, axis=0)
            alive_sum += alive.sum(axis=0)
        return {
            "above": above.astype(float),
            "below": below,
            "clv_sum": clv_sum,
            "alive_sum": alive_sum,
        }

    counted = parallel_sum(workers, work)
    # shares of draws from whole counts: a tier's draws are those above its lower
    # bound and not above its upper one
    above = counted["above"]
    counts = np.concatenate([n_draws - above[:1], above[:-1] - above[1:], above[-1:]])
    probabilities = counts / n_draws
    # each customer's CLV and P(alive) estimate: plug-in at the MLE, else the means
    if value.point is not None:
        estimates = _estimates(value)
        clv_estimate, alive_estimate = estimates["clv"], estimates["alive"]
    else:
        clv_estimate = counted["clv_sum"] / n_draws
        alive_estimate = (counted["alive_sum"] / n_draws)[value.row_code]
    if kind_of_tiers == "quantile":
        estimate_bounds = np.quantile(clv_estimate, bounds, method="inverted_cdf")
    else:
        estimate_bounds = bounds
    table = value.table
    past = (
        value.margin * table["frequency"].to_numpy(float) * table["monetary_value"].to_numpy(float)
    )
    past_cut = float(np.quantile(past, value_q, method="inverted_cdf"))
    own_tier = np.searchsorted(estimate_bounds, clv_estimate, side="left")
    tier_names = np.asarray(names, dtype=object)
    out: dict[str, Any] = {
        "clv_estimate": clv_estimate,
        "tier": pd.Categorical(tier_names[own_tier], categories=names, ordered=True),
        "tier_probability": probabilities[own_tier, np.arange(n)],
    }
    for t, name in enumerate(names):
        out[f"p_{name}"] = probabilities[t]
    out["past_value"] = past
    out["probability_alive_estimate"] = alive_estimate
    out["p_alive_below"] = (counted["below"] / n_draws)[value.row_code]
    out["at_risk"] = (past >= past_cut) & (past > 0) & (alive_estimate < alive_below)
    frame = pd.DataFrame(out, index=table.index)
    frame.attrs["clvlab"] = {
        **value.meta,
        "quantity": "segments",
        "tiers": names,
        "tier_kind": kind_of_tiers,
        "tier_edges": (
            [0.0, *bounds.tolist(), 1.0] if kind_of_tiers == "quantile" else bounds.tolist()
        ),
        "estimate_thresholds": [float(v) for v in estimate_bounds],
        "at_risk": {
            "past_value_quantile": value_q,
            "past_value_at_least": past_cut,
            "probability_alive_below": alive_below,
            "customers": int(frame["at_risk"].sum()),
        },
        "uncertainty": uncertainty,
        "seed": seed,
        "ci_prob": ci,
        "interval": ik,
        "tier_sizes": {name: int((own_tier == t).sum()) for t, name in enumerate(names)},
    }
    return frame


def _estimates(value: CustomerValue) -> dict[str, np.ndarray]:
    """Each customer's CLV and P(alive) at the plug-in parameters of an MLE fit."""
    assert value.point is not None
    p = {k: np.full((1, 1), v) for k, v in value.point.items()}
    every = slice(0, value.n_customers)
    return {
        "clv": value.clv_of(p, every)[0],
        "alive": value.alive_by_row(p)[0][value.row_code],
    }
