"""Tables behind the diagnostic plots: predictive checks and frequency x recency grids.

Each function computes; :mod:`clvlab.plots` only draws what they return.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from clvlab.arguments import check_ci_prob, check_count, check_nonnegative, check_positive
from clvlab.errors import ArgumentError
from clvlab.formulas.contract import is_contractual, is_discrete
from clvlab.inference.draws import interval
from clvlab.predict.customer import PurchasePredictions, history_table, whole_opportunities
from clvlab.predict.engine import summary_table
from clvlab.units import check_time_units, model_time_unit

__all__ = ["frequency_check", "frequency_recency_matrix"]


def frequency_check(
    model: PurchasePredictions,
    rfm: pd.DataFrame,
    *,
    kind: Literal["posterior", "prior"] = "posterior",
    n_draws: int = 200,
    max_frequency: int = 7,
    ci_prob: float = 0.9,
    seed: int | None = None,
) -> pd.DataFrame:
    """Predictive check of the calibration frequency histogram.

    For each of ``n_draws`` parameter draws (from the fit, or from the priors with
    ``kind="prior"``), every customer's repeat purchases over their own ``T`` are
    simulated from the model as new customers (its ``simulate_counts`` from an empty
    history, which is a new customer in every model of the family), and the
    number of customers with 0, 1, ..., ``max_frequency``+ purchases is counted.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``frequency`` (``"0"`` ... ``"7+"``): ``observed``, and the predictive
        ``mean``, ``lower`` and ``upper`` of the count of customers. ``attrs["clvlab"]``
        records ``kind``.
    """
    _check_purchase_model(model, "frequency_check")
    if kind not in ("posterior", "prior"):
        raise ArgumentError(f"kind must be 'posterior' or 'prior', got {kind!r}")
    n_draws = check_count("n_draws", n_draws)
    max_frequency = check_count("max_frequency", max_frequency)
    ci_prob = check_ci_prob(ci_prob)
    table = history_table(model.formulas, rfm, model.display_name)
    rng = np.random.default_rng(seed)
    if kind == "posterior":
        model.check_fitted()
        check_time_units(table, model)
        draws = model.parameter_draws()
        draws = draws[rng.choice(len(draws), size=min(n_draws, len(draws)), replace=False)]
    else:
        draws = model.prior_draws(table, n_draws, seed=int(rng.integers(2**31)))
    exposure = table["T"].to_numpy(dtype=float)
    empty = np.zeros(len(exposure))  # x = t_x = T = 0: a customer just acquired
    bins = max_frequency + 1
    counts = np.empty((len(draws), bins))
    for i, row in enumerate(draws):
        p = dict(zip(model.formulas.PARAMS, row, strict=True))
        simulated = model.formulas.simulate_counts(rng, exposure[:, None], empty, empty, empty, p)[
            :, 0
        ].astype(np.int64)
        counts[i] = np.bincount(np.minimum(simulated, max_frequency), minlength=bins)
    observed = np.bincount(np.minimum(table["frequency"].to_numpy(), max_frequency), minlength=bins)
    lower, upper = interval(counts, ci_prob)
    labels = [str(k) for k in range(max_frequency)] + [f"{max_frequency}+"]
    frame = pd.DataFrame(
        {"observed": observed, "mean": counts.mean(axis=0), "lower": lower, "upper": upper},
        index=pd.Index(labels, name="frequency"),
    )
    frame.attrs["clvlab"] = {"quantity": "frequency_check", "kind": kind, "ci_prob": ci_prob}
    return frame


def frequency_recency_matrix(
    model: PurchasePredictions,
    *,
    quantity: Literal["expected_purchases", "probability_alive"] = "expected_purchases",
    T: float,
    t: float = 1.0,
    max_frequency: int | None = None,
    n_recency: int = 40,
) -> pd.DataFrame:
    """A grid of a prediction over calibration frequency and recency, at one ``T``.

    Rows are frequencies 0..``max_frequency`` (default 40), columns ``n_recency``
    recencies from 0 to ``T`` (in the unit the model was fitted in, which
    ``attrs["clvlab"]["time_unit"]`` records). Cells with ``frequency = 0`` and
    ``recency > 0`` are impossible and left empty (NaN). For a discrete-time model
    (BG/BB) ``T`` and ``t`` are whole numbers of opportunities, the recencies are whole
    (0 to ``T`` in steps of ``ceil(T / (n_recency - 1))``, at most ``n_recency``), and
    cells with ``frequency > recency`` are impossible too (and for a contractual model,
    sBG, every cell with ``frequency != recency``). ``quantity`` is the expected
    purchases in the next ``t`` periods or P(alive), at the model's point estimate.
    """
    _check_purchase_model(model, "frequency_recency_matrix")
    model.check_fitted()
    if quantity not in ("expected_purchases", "probability_alive"):
        raise ArgumentError(
            f"quantity must be 'expected_purchases' or 'probability_alive', got {quantity!r}"
        )
    T = check_positive("T", T)
    t = check_nonnegative("t", t)
    max_frequency = 40 if max_frequency is None else check_count("max_frequency", max_frequency)
    n_recency = check_count("n_recency", n_recency, minimum=2)
    unit = model_time_unit(model)  # the grid is built in the model's own unit
    x = np.arange(max_frequency + 1, dtype=float)
    recency = np.linspace(0.0, T, n_recency)
    discrete = is_discrete(model.formulas)
    if discrete:
        # whole opportunities: T and t whole, recencies the whole numbers of the grid
        T = float(whole_opportunities(model.formulas, "T", T, unit, model.display_name))
        t = float(whole_opportunities(model.formulas, "t", t, unit, model.display_name))
        # a regular grid of whole recencies: steps of ceil(T / (n_recency - 1))
        step = max(1, int(np.ceil(T / (n_recency - 1))))
        recency = np.arange(0.0, T + 1, step)
    xx, rr = np.meshgrid(x, recency, indexing="ij")
    # x > 0 exactly when recency > 0; in discrete time also x <= recency, and for a
    # contract (consecutive renewals) x == recency
    valid = ((xx > 0) == (rr > 0)) & ((xx <= rr) | (not discrete))
    if is_contractual(model.formulas):
        valid &= xx == rr
    grid = pd.DataFrame({"frequency": xx[valid], "recency": rr[valid], "T": float(T)})
    grid["frequency"] = grid["frequency"].astype(np.int64)
    if quantity == "expected_purchases":
        values = summary_table(model.expected_purchases(grid, t, time_unit=unit))
    else:
        values = summary_table(model.probability_alive(grid, time_unit=unit))
    out = np.full(xx.shape, np.nan)
    out[valid] = values["estimate"].to_numpy()
    frame = pd.DataFrame(
        out,
        index=pd.Index(x.astype(int), name="frequency"),
        columns=pd.Index(recency, name="recency"),
    )
    frame.attrs["clvlab"] = {
        "quantity": quantity,
        "T": T,
        "t": t,
        "time_unit": unit,
        "discrete": discrete,
        "contractual": is_contractual(model.formulas),
    }
    return frame


def _check_purchase_model(model: object, caller: str) -> None:
    if not isinstance(model, PurchasePredictions):
        raise ArgumentError(
            f"{caller} needs a purchase model (e.g. clvlab.BetaGeo, clvlab.ParetoNBD), got "
            f"{type(model).__name__}"
        )
