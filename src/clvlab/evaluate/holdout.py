"""Holdout evaluation of a fitted BG/NBD model (and optionally its spend model).

:func:`evaluate` compares predictions made from the calibration period with what the
customers did in the holdout period (``frequency_holdout``, ``duration_holdout`` and
``monetary_value_holdout`` of :func:`clvlab.rfm_summary`):

- per-customer error of expected purchases: MAE, RMSE, bias and correlation;
- mean holdout purchases by calibration frequency (0, 1, ..., 7+), actual and predicted;
- the log predictive score ``sum_i log P(X_i(t*) = x*_i | history)``;
- interval coverage of the 50/80/90% predictive intervals of the holdout counts. The
  counts are discrete, so two numbers are reported: the share of customers inside the
  discrete predictive interval (which covers *at least* its nominal probability, so it
  over-covers), and the coverage of the randomised PIT (Czado, Gneiting & Held 2009),
  which is exactly uniform under a correct model;
- for Bayesian fits, PSIS-LOO through ArviZ on the folded likelihood (see :func:`loo`).

The predictive distribution integrates over the parameter draws (posterior predictive
for Bayesian fits, the Laplace or bootstrap draws for MLE fits).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from clvlab._imports import import_quietly
from clvlab.arguments import check_ci_prob, check_count
from clvlab.data.folding import fold
from clvlab.data.rfm import validate_rfm
from clvlab.errors import ArgumentError, DataValidationError
from clvlab.evaluate.tracking import tracking, tracking_metrics
from clvlab.formulas import numpy_ops
from clvlab.formulas.contract import is_discrete
from clvlab.inference.draws import interval
from clvlab.predict.customer import PurchasePredictions, SpendPredictions, history_table
from clvlab.predict.engine import (
    EVALUATION_DRAWS,
    param_columns,
    summary_table,
    thinned_param_columns,
)
from clvlab.predict.terms import distinct
from clvlab.units import check_time_units

__all__ = ["Evaluation", "evaluate", "loo", "predictive_pmf"]

CI_PROBS = (0.5, 0.8, 0.9)


@dataclass
class Evaluation:
    """Holdout metrics of one model; ``metrics`` is a flat dict for comparison tables.

    ``diagnostics`` holds what may make a metric unreliable, instead of a warning: for
    PSIS-LOO the largest Pareto k, the number of customers whose k exceeds 0.7 and
    ArviZ's own warning text (``diagnostics["loo"]``). ``by_frequency`` and
    ``by_recency`` compare the mean holdout purchases by calibration frequency and by
    calibration recency (whole opportunities for a discrete-time model; eight equal bins
    of ``[0, max T]`` otherwise), with the predicted mean's interval over the draws.
    """

    model: str
    method: str
    metrics: dict[str, float]
    by_frequency: pd.DataFrame
    coverage: pd.DataFrame
    spend: dict[str, float] = field(default_factory=dict)
    loo: dict[str, Any] = field(default_factory=dict)
    tracking: pd.DataFrame | None = None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    by_recency: pd.DataFrame | None = None

    def _repr_html_(self) -> str:
        from html import escape

        head = f"<h4>{escape(self.model)} ({escape(self.method)}) on the holdout</h4>"
        metrics = (
            pd.Series(self.metrics, name="value")
            .to_frame()
            .to_html(float_format=lambda v: f"{v:.4f}")
        )
        by_frequency = self.by_frequency.to_html(float_format=lambda v: f"{v:.4f}")
        parts = [head, metrics, "<p>interval coverage</p>"]
        parts.append(self.coverage.to_html(float_format=lambda v: f"{v:.3f}"))
        parts += ["<p>mean holdout purchases by calibration frequency</p>", by_frequency]
        if self.by_recency is not None:
            parts.append("<p>mean holdout purchases by calibration recency</p>")
            parts.append(self.by_recency.to_html(float_format=lambda v: f"{v:.4f}"))
        if self.loo:
            parts.append(f"<p>PSIS-LOO: {escape(str(self.loo))}</p>")
        loo_diag = self.diagnostics.get("loo", {})
        if loo_diag.get("warning"):
            parts.append(
                f"<p>PSIS-LOO diagnostic: {loo_diag['customers_k_above_0.7']:,} customers "
                f"have Pareto k above 0.7 (max {loo_diag['pareto_k_max']:.2f}); elpd_loo "
                "may be unreliable for them</p>"
            )
        return "".join(parts)


def _errors(predicted: np.ndarray, actual: np.ndarray, prefix: str) -> dict[str, float]:
    diff = predicted - actual
    # a correlation with a constant (a one-customer table, the population-mean baseline)
    # is undefined: NaN, without numpy's division warning
    spread = len(actual) > 1 and np.ptp(predicted) > 0 and np.ptp(actual) > 0
    corr = float(np.corrcoef(predicted, actual)[0, 1]) if spread else float("nan")
    return {
        f"{prefix}mae": float(np.mean(np.abs(diff))),
        f"{prefix}rmse": float(np.sqrt(np.mean(diff**2))),
        f"{prefix}bias": float(np.mean(diff)),
        f"{prefix}correlation": corr,
    }


def predictive_pmf(
    model: PurchasePredictions,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    t: float | np.ndarray,
    n_max: int,
    *,
    max_draws: int = EVALUATION_DRAWS,
) -> np.ndarray:
    """P(X(t) = n | history) for n = 0..n_max, averaged over (up to ``max_draws``) draws.

    The conditional PMF is ``(1 - P_alive) [n = 0] + P_alive P_new(n)`` (for BG/NBD,
    Fader & Hardie's note on its conditional PMF, 2007), where ``P_new`` is the PMF of a
    customer alive at ``T`` (the model's ``probability_of_purchases_if_alive_upto`` under
    its ``alive_parameters``): it depends on ``(x, T)`` only. ``P_new`` is therefore
    computed once per distinct ``(x, T)`` pair and draw, and the average over draws of
    each row's product is one matrix product per pair.

    Returns shape ``(len(x), n_max + 1)``; the mass above ``n_max`` is the remainder.
    """
    f = model.formulas
    params = thinned_param_columns(model, max_draws)
    n_draws = len(next(iter(params.values())))
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    pair_code, pair_x, pair_T = distinct(pd.DataFrame({"x": x, "T": T}), ("x", "T"))
    alive = f.probability_alive(numpy_ops, x, t_x, T, **params)  # (draws, rows)
    out = np.empty((len(x), n_max + 1))
    order = np.argsort(pair_code, kind="stable")
    bounds = np.searchsorted(pair_code[order], np.arange(len(pair_x) + 1))
    size = max(1, int(2**23 // (n_draws * (n_max + 1))))
    for start in range(0, len(pair_x), size):
        part = slice(start, min(start + size, len(pair_x)))
        new = f.probability_of_purchases_if_alive_upto(
            numpy_ops, t, n_max, **f.alive_parameters(pair_x[part], pair_T[part], **params)
        )  # (draws, pairs in part, n_max + 1)
        for j, pair in enumerate(range(part.start, part.stop)):
            rows = order[bounds[pair] : bounds[pair + 1]]
            out[rows] = alive[:, rows].T @ new[:, j, :] / n_draws
    out[:, 0] += 1.0 - alive.mean(axis=0)
    return np.clip(out, 0.0, 1.0)


def _expected_purchases_estimate(
    model: PurchasePredictions, table: pd.DataFrame, t: float
) -> np.ndarray:
    """The ``estimate`` column of ``model.expected_purchases(table, t)``:
    the plug-in value at the MLE, or the mean over every posterior draw, without the
    interval summaries that evaluation does not use."""
    folded = fold(table, ("frequency", "recency", "T"))
    x, t_x, T = (folded.column(c) for c in ("frequency", "recency", "T"))
    f = model.formulas
    if model.method_ == "mle":
        point = f.conditional_expected_purchases(numpy_ops, t, x, t_x, T, **model.point_params())
        return np.asarray(point, dtype=float)[folded.inverse]
    params = param_columns(model.parameter_draws(), model.param_names)
    expectation = _Expectation(f, t, x, t_x, T, params)
    mean = np.empty(len(x))
    size = max(1, int(2**22 // len(next(iter(params.values())))))
    for start in range(0, len(x), size):
        part = slice(start, start + size)
        mean[part] = expectation.draws(part).mean(axis=0)
    return mean[folded.inverse]


class _Expectation:
    """E[Y(t) | x, t_x, T] of rows under each draw, as the purchase contract factors it:
    P(alive) per row times the expectation of a customer alive at ``T``, which depends on
    ``(x, T)`` only and is computed once per distinct pair (for BG/NBD, Fader, Hardie &
    Lee 2005 eq. 10 = eq. 11 x eq. 9 under the posterior parameters)."""

    def __init__(
        self,
        formulas: Any,
        t: float,
        x: np.ndarray,
        t_x: np.ndarray,
        T: np.ndarray,
        params: Mapping[str, np.ndarray],
    ) -> None:
        self.f, self.x, self.t_x, self.T, self.params = formulas, x, t_x, T, params
        self.pair_code, pair_x, pair_T = distinct(pd.DataFrame({"x": x, "T": T}), ("x", "T"))
        self.if_alive = formulas.discounted_purchases_if_alive(
            pair_x, pair_T, params, np.array([t]), np.array([1.0])
        )

    def draws(self, part: slice = slice(None)) -> np.ndarray:
        """Shape ``(draws, rows in part)``."""
        alive = self.f.probability_alive(
            numpy_ops, self.x[part], self.t_x[part], self.T[part], **self.params
        )
        return np.asarray(alive * self.if_alive[:, self.pair_code[part]])


def _group_mean_interval(
    model: PurchasePredictions,
    table: pd.DataFrame,
    t: float,
    groups: np.ndarray,
    ci_prob: float,
    max_draws: int,
    n_labels: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Interval over parameter draws of each group's mean expected holdout purchases
    (E[Y(t) | history] per customer, averaged within the group under each draw), for
    groups ``0..n_labels - 1``."""
    folded = fold(table.assign(_group=groups), ("frequency", "recency", "T", "_group"))
    x, t_x, T, g = (folded.column(c) for c in ("frequency", "recency", "T", "_group"))
    params = thinned_param_columns(model, max_draws)
    values = _Expectation(model.formulas, t, x, t_x, T, params).draws()
    weights = np.zeros((len(g), n_labels))
    weights[np.arange(len(g)), g.astype(int)] = folded.weights
    sums = values @ weights
    means = sums / np.maximum(weights.sum(axis=0), 1)
    return interval(means, ci_prob)


def _predictive_summaries(
    model: PurchasePredictions,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    t: float,
    k: np.ndarray,
    tails: list[float],
    max_draws: int,
) -> tuple[np.ndarray, np.ndarray, dict[float, np.ndarray]]:
    """Per row: P(X = k), P(X < k) and the predictive quantiles at ``tails``.

    The PMF is first computed up to a small count for every row; only rows whose
    observed count or upper quantile lies beyond it are computed again, further out.
    Most customers buy a few times at most, so this avoids a (rows x draws x max count)
    array sized by the heaviest buyer.
    """
    p_obs, below = np.empty(len(k)), np.empty(len(k))
    quantiles = {q: np.empty(len(k), dtype=int) for q in tails}
    rows = np.arange(len(k))
    n_max = 16
    while len(rows):
        pmf = predictive_pmf(model, x[rows], t_x[rows], T[rows], t, n_max, max_draws=max_draws)
        cdf = np.cumsum(pmf, axis=1)
        kr = k[rows]
        done = (kr < n_max) & ((cdf[:, -2] >= max(tails)) | (n_max >= 4096))
        at = np.arange(len(rows))[done]
        kd = kr[done]
        p_obs[rows[done]] = pmf[at, kd]
        below[rows[done]] = np.where(kd > 0, cdf[at, np.maximum(kd - 1, 0)], 0.0)
        for q in tails:
            quantiles[q][rows[done]] = np.argmax(cdf[done] >= q, axis=1)
        rows = rows[~done]
        n_max *= 4  # the rows left need a longer PMF; most need only the next step
    return p_obs, below, quantiles


def _holdout_table(
    model: PurchasePredictions,
    table: pd.DataFrame,
    t: float,
    actual: np.ndarray,
    predicted: np.ndarray,
    ci_prob: float,
    max_draws: int,
    groups: np.ndarray,
    labels: list[str],
    name: str,
) -> pd.DataFrame:
    """Customers, mean actual and mean predicted holdout purchases per group, with the
    predicted mean's interval over the parameter draws (:func:`_group_mean_interval`)."""
    n = len(labels)
    counts = np.bincount(groups, minlength=n)
    frame = pd.DataFrame(
        {
            "customers": counts,
            "actual": np.bincount(groups, weights=actual, minlength=n) / np.maximum(counts, 1),
            "predicted": np.bincount(groups, weights=predicted, minlength=n)
            / np.maximum(counts, 1),
        },
        index=pd.Index(labels, name=name),
    )
    frame["predicted_lower"], frame["predicted_upper"] = _group_mean_interval(
        model, table, t, groups, ci_prob, max_draws, n
    )
    frame.attrs["clvlab"] = {"ci_prob": ci_prob}
    return frame


#: Most recency groups of a discrete-time model's table (``t_x`` = 0, 1, ..., then "k+").
_MAX_RECENCY_GROUPS = 20


def _recency_groups(
    model: PurchasePredictions, table: pd.DataFrame
) -> tuple[np.ndarray, list[str]]:
    """Each customer's calibration-recency group and the labels: the whole opportunity
    ``t_x`` for a discrete-time model (Fader, Hardie & Shang 2010 compare the holdout by
    recency as well as frequency), at most 20 groups with the last open; for a
    continuous-time model eight equal bins of ``[0, max T]``."""
    recency = table["recency"].to_numpy(dtype=float)
    if is_discrete(model.formulas):
        top = min(int(recency.max(initial=0.0)), _MAX_RECENCY_GROUPS - 1)
        groups = np.minimum(recency, top).astype(int)
        labels = [str(g) for g in range(top)] + [
            f"{top}+" if recency.max(initial=0.0) > top else str(top)
        ]
        return groups, labels
    edges = np.linspace(0.0, float(table["T"].max()), 9)
    groups = np.clip(np.searchsorted(edges, recency, side="right") - 1, 0, 7)
    labels = [f"[{edges[i]:.3g}, {edges[i + 1]:.3g}{']' if i == 7 else ')'}" for i in range(8)]
    return groups, labels


def evaluate(
    model: PurchasePredictions,
    rfm: pd.DataFrame,
    *,
    spend_model: SpendPredictions | None = None,
    ci_probs: tuple[float, ...] = CI_PROBS,
    seed: int | None = 0,
    max_draws: int = EVALUATION_DRAWS,
    transactions: pd.DataFrame | None = None,
    customer_id_col: str = "customer_id",
    datetime_col: str = "date",
) -> Evaluation:
    """Evaluate a fitted purchase model on an RFM table with holdout columns.

    Parameters
    ----------
    model
        A fitted purchase model (:class:`~clvlab.BetaGeo`, :class:`~clvlab.ModifiedBetaGeo`,
        :class:`~clvlab.ParetoNBD`; any method).
    rfm
        Calibration RFM with ``frequency_holdout`` and ``duration_holdout``.
    spend_model
        Optional fitted Gamma-Gamma: adds the error of expected spend against
        ``monetary_value_holdout`` for customers who bought in the holdout.
    ci_probs
        Probabilities of the predictive intervals whose coverage is reported.
    seed
        Seed of the randomised PIT.
    max_draws
        Parameter draws used for the predictive distribution (evenly thinned).
    transactions, customer_id_col, datetime_col
        The log the RFM table was built from. When given, the evaluation also tracks
        cumulative repeat purchases per period over calibration and holdout
        (:func:`clvlab.evaluate.tracking.tracking`) and reports its errors.

    Raises
    ------
    ArgumentError
        ``model`` is not a purchase model (or ``spend_model`` not a GammaGamma), a ``ci_probs``
        entry is not strictly between 0 and 1, or ``max_draws`` is not a whole number >= 1.
    UnitMismatchError
        The RFM table is in another time unit than the model (see
        :func:`clvlab.units.check_time_units`).
    """
    if not isinstance(model, PurchasePredictions):
        hint = (
            " (the spend model goes in spend_model=)" if isinstance(model, SpendPredictions) else ""
        )
        raise ArgumentError(
            f"evaluate needs a fitted purchase model (e.g. BetaGeo, ParetoNBD) as its first "
            f"argument, got {type(model).__name__}{hint}"
        )
    if spend_model is not None and not isinstance(spend_model, SpendPredictions):
        raise ArgumentError(
            f"spend_model must be a fitted GammaGamma, got {type(spend_model).__name__}"
        )
    model.check_fitted()
    if spend_model is not None:
        spend_model.check_fitted()
    if isinstance(ci_probs, str) or not hasattr(ci_probs, "__iter__"):
        raise ArgumentError(f"ci_probs must be a sequence of probabilities, got {ci_probs!r}")
    ci_probs = tuple(check_ci_prob(c, "ci_probs") for c in ci_probs)
    if not ci_probs:
        raise ArgumentError("ci_probs is empty; give at least one, e.g. ci_probs=(0.9,)")
    max_draws = check_count("max_draws", max_draws)
    table = validate_rfm(rfm, holdout=True, monetary=spend_model is not None)
    # the model's own rules for its history table (whole opportunities, consecutive
    # renewals, or no contractual table for a noncontractual model), as in predictions
    history_table(model.formulas, rfm, model.display_name)
    check_time_units(table, model, spend_model)
    actual = table["frequency_holdout"].to_numpy(dtype=float)
    horizon = table["duration_holdout"].to_numpy(dtype=float)
    if not np.allclose(horizon, horizon[0]):
        raise DataValidationError(
            "duration_holdout",
            "differs between customers; evaluate compares one holdout period",
            int(np.sum(~np.isclose(horizon, horizon[0]))),
            table.index[~np.isclose(horizon, horizon[0])][:5],
            hint="build the table with one calibration_end and observation_end",
        )
    predicted = _expected_purchases_estimate(model, table, float(horizon[0]))
    metrics = _errors(predicted, actual, "purchases_")
    metrics["predicted_total"] = float(predicted.sum())
    metrics["actual_total"] = float(actual.sum())

    x = table["frequency"].to_numpy(dtype=float)
    ci = max(ci_probs)
    by_group = partial(
        _holdout_table, model, table, float(horizon[0]), actual, predicted, ci, max_draws
    )
    labels = [str(g) if g < 7 else "7+" for g in range(8)]
    by_frequency = by_group(np.minimum(x, 7).astype(int), labels, "calibration_frequency")
    by_recency = by_group(*_recency_groups(model, table), "calibration_recency")

    folded = fold(table.assign(_actual=actual), ("frequency", "recency", "T", "_actual"))
    fx, ftx, fT, fa = (folded.column(c) for c in ("frequency", "recency", "T", "_actual"))
    k = fa.astype(int)
    tails = sorted({q for ci in ci_probs for q in ((1 - ci) / 2, (1 + ci) / 2)})
    p_obs, below, quantiles = _predictive_summaries(
        model, fx, ftx, fT, horizon[0], k, tails, max_draws
    )
    metrics["log_score"] = float(np.sum(folded.weights * np.log(np.maximum(p_obs, 1e-300))))
    metrics["log_score_per_customer"] = metrics["log_score"] / folded.weights.sum()
    rng = np.random.default_rng(seed)
    pit = below[folded.inverse] + rng.random(len(folded.inverse)) * p_obs[folded.inverse]
    coverage_rows = []
    for ci in ci_probs:
        lo_q, hi_q = (1 - ci) / 2, (1 + ci) / 2
        inside = (k >= quantiles[lo_q]) & (k <= quantiles[hi_q])
        coverage_rows.append(
            {
                "ci_prob": ci,
                "interval_coverage": float(np.sum(folded.weights * inside) / folded.weights.sum()),
                "randomised_pit_coverage": float(np.mean((pit >= lo_q) & (pit <= hi_q))),
            }
        )
        metrics[f"coverage_{round(ci * 100)}"] = coverage_rows[-1]["interval_coverage"]
    coverage = pd.DataFrame(coverage_rows).set_index("ci_prob")

    spend: dict[str, float] = {}
    if spend_model is not None:
        bought = actual > 0
        if "monetary_value_holdout" not in table:
            raise DataValidationError(
                "monetary_value_holdout",
                "is missing: the spend evaluation compares it with the expected spend",
                hint="build the table with rfm_summary(..., monetary_value_col=..., "
                "calibration_end=...), or omit spend_model=",
            )
        expected_spend = summary_table(spend_model.expected_spend(table))["estimate"].to_numpy()
        spend = _errors(
            expected_spend[bought], table["monetary_value_holdout"].to_numpy()[bought], "spend_"
        )
        metrics.update(spend)
    loo_result = loo(model, table) if model.method_ in ("nuts", "advi") else {}
    diagnostics: dict[str, Any] = {}
    if loo_result:
        metrics["elpd_loo"] = loo_result["elpd_loo"]
        diagnostics["loo"] = {
            k: loo_result[k] for k in ("pareto_k_max", "customers_k_above_0.7", "warning")
        }
    track = None
    if transactions is not None:
        track = tracking(
            model,
            rfm,
            transactions,
            customer_id_col=customer_id_col,
            datetime_col=datetime_col,
        )
        metrics.update(tracking_metrics(track))
    return Evaluation(
        model.name,
        model.method_,
        metrics,
        by_frequency,
        coverage,
        spend,
        loo_result,
        track,
        diagnostics,
        by_recency,
    )


def loo(model: PurchasePredictions, rfm: pd.DataFrame) -> dict[str, Any]:
    """PSIS-LOO of a Bayesian fit on the folded likelihood.

    Customers in one folded row have identical data, so leaving any one of them out is
    the same computation: the row's pointwise elpd is computed once (by ArviZ's PSIS on
    the row's log-likelihood draws) and counted once per customer in it. The total is
    therefore exactly the unfolded PSIS-LOO, at the cost of the folded rows. Pareto k is
    reported per row, with the number of customers whose row has k > 0.7.

    ArviZ's warning that some Pareto k are high is not re-issued: it is the reason the
    result reports ``pareto_k_max`` and ``customers_k_above_0.7``, and its text is kept
    in ``"warning"`` (``None`` when ArviZ had nothing to say). Other warnings pass on.
    """
    az = import_quietly("arviz")
    model.check_fitted()
    check_time_units(rfm, model)
    data = model.prepare(rfm)
    pointwise = model.loglik_pointwise(rfm)
    posterior = {n: model.draws_[n].to_numpy() for n in model.param_names}
    idata = az.from_dict(posterior=posterior, log_likelihood={"loglik": pointwise})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = az.loo(idata, pointwise=True)
    pareto_warning = None
    for item in caught:
        text = str(item.message)
        if "Pareto" in text and "shape" in text:
            pareto_warning = " ".join(text.split())
        else:
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    elpd_rows = np.asarray(result.loo_i)
    k = np.asarray(result.pareto_k)
    w = data.weights
    n = float(w.sum())
    mean = float(np.sum(w * elpd_rows) / n)
    variance = float(np.sum(w * (elpd_rows - mean) ** 2) / max(n - 1, 1))
    return {
        "elpd_loo": float(np.sum(w * elpd_rows)),
        "se": float(np.sqrt(n * variance)),
        "pareto_k_max": float(k.max()),
        "customers_k_above_0.7": int(np.sum(w[k > 0.7])),
        "rows": len(w),
        "warning": pareto_warning,
    }
