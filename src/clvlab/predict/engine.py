"""One code path from parameter draws to a per-customer summary table.

Every per-customer prediction of every model goes through :func:`predict_frame`: the
customers are folded on the columns the quantity depends on, the quantity is evaluated
for each folded row under every parameter draw (chunk by chunk, see
:mod:`clvlab.predict.summary`), reduced, and mapped back to customers. For an MLE fit the
``estimate`` is the plug-in value at the MLE (equal to lifetimes and the papers); for a
Bayesian fit it is the posterior mean.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import xarray as xr

from clvlab.arguments import check_ci_prob, check_count, check_interval_kind
from clvlab.data.folding import fold
from clvlab.inference.draws import IntervalKind
from clvlab.predict import summary as _summary
from clvlab.predict.summary import record_total, reduce_draws, to_frame

if TYPE_CHECKING:
    from clvlab.inference.spec import FittedModel

__all__ = ["DrawSource", "Formula", "param_columns", "predict_frame"]

Formula = Callable[[Mapping[str, np.ndarray], Mapping[str, Any]], np.ndarray]
Simulator = Callable[[Mapping[str, np.ndarray], Mapping[str, Any], np.random.Generator], np.ndarray]


def param_columns(draws: np.ndarray, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Parameter draws ``(n, k)`` as a dict of ``(n, 1)`` columns that broadcast over rows."""
    return {name: draws[:, i : i + 1] for i, name in enumerate(names)}


def summary_table(result: pd.DataFrame | tuple[pd.DataFrame, xr.DataArray]) -> pd.DataFrame:
    """The summary table of a prediction called without ``return_draws``."""
    if not isinstance(result, pd.DataFrame):  # pragma: no cover - return_draws is off
        raise TypeError("expected a summary table; call without return_draws=True")
    return result


EVALUATION_DRAWS = 400
"""Default number of draws for evaluation summaries (predictive PMFs, tracking)."""


def thinned_param_columns(model: FittedModel, max_draws: int) -> dict[str, np.ndarray]:
    """Up to ``max_draws`` of the model's parameter draws, evenly spaced over all of
    them, as :func:`param_columns`."""
    draws = model.parameter_draws()
    idx = np.round(np.linspace(0, len(draws) - 1, min(max_draws, len(draws)))).astype(int)
    return param_columns(draws[idx], model.param_names)


@dataclass(frozen=True)
class DrawSource:
    """Parameter draws to predict from, with the settings of the fit(s) they come from.

    Attributes
    ----------
    params
        Each parameter's draws as an ``(n_draws, 1)`` column.
    point
        Plug-in parameter values (MLE fits), or ``None`` to use posterior means.
    chains, draws_per_chain
        Shape of the draws, for returning raw draws with dims (chain, draw, ...).
    method, model
        Recorded in the result's metadata.
    ci_prob, kind
        Default interval settings.
    """

    params: dict[str, np.ndarray]
    point: dict[str, float] | None
    chains: int
    draws_per_chain: int
    method: str
    model: str
    ci_prob: float
    kind: IntervalKind

    @property
    def n_draws(self) -> int:
        return self.chains * self.draws_per_chain

    @classmethod
    def from_model(cls, model: FittedModel) -> DrawSource:
        """The draws of one fitted model."""
        model.check_fitted()
        return cls(
            params=param_columns(model.parameter_draws(), model.param_names),
            point=model.point_params() if model.method_ == "mle" else None,
            chains=int(model.draws_.sizes["chain"]),
            draws_per_chain=int(model.draws_.sizes["draw"]),
            method=model.method_,
            model=model.name,
            ci_prob=model.ci_prob,
            kind=model.interval_kind,
        )


def predict_frame(
    source: FittedModel | DrawSource,
    table: pd.DataFrame,
    fold_on: Sequence[str],
    formula: Formula,
    *,
    quantity: str,
    meta: Mapping[str, Any],
    ci_prob: float | None = None,
    kind: IntervalKind | None = None,
    simulate: Simulator | None = None,
    seed: int | None = None,
    return_draws: bool = False,
    progress: bool = False,
    item_cost: int = 1,
) -> pd.DataFrame | tuple[pd.DataFrame, xr.DataArray]:
    """Summarise ``formula`` over the draws of ``source`` for every customer of ``table``.

    ``formula(columns, params)`` receives folded columns (sliced to a chunk) and
    parameters either as floats (plug-in) or as ``(n_draws, 1)`` arrays. ``item_cost``
    is how many ``n_draws``-long arrays the formula builds per row (``n + 1`` for a PMF
    evaluated up to ``n``); chunks shrink accordingly to stay within the memory budget.
    """
    src = source if isinstance(source, DrawSource) else DrawSource.from_model(source)
    seed = None if seed is None else check_count("seed", seed, minimum=0)
    # a model's own settings are checked too: they may have been set after construction
    ci = check_ci_prob(src.ci_prob if ci_prob is None else ci_prob)
    ik = cast(
        IntervalKind,
        check_interval_kind(src.kind, "interval_kind")
        if kind is None
        else check_interval_kind(kind, "kind"),
    )
    folded = fold(table, tuple(fold_on))
    cols = {c: folded.column(c) for c in fold_on}
    params = src.params
    n_draws = src.n_draws

    def sliced(part: slice) -> dict[str, np.ndarray]:
        return {k: v[part] for k, v in cols.items()}

    def draw_fn(part: slice) -> np.ndarray:
        return np.broadcast_to(formula(sliced(part), params), (n_draws, part.stop - part.start))

    predictive = None
    if simulate is not None:
        sim = simulate

        def predictive(part: slice, rng: np.random.Generator) -> np.ndarray:
            return sim(sliced(part), params, rng)

    reduced = reduce_draws(
        draw_fn,
        len(folded),
        n_draws,
        ci_prob=ci,
        kind=ik,
        predictive_fn=predictive,
        seed=seed,
        keep_draws=return_draws,
        weights=folded.weights,
        chunk_size=_summary.chunk_size_for(n_draws * max(int(item_cost), 1)),
        progress=progress,
        desc=quantity,
    )
    record_total(quantity, reduced)
    point = None
    if src.point is not None:
        point = np.asarray(formula(cols, src.point), dtype=float)
    # unfold: every per-row array is mapped back to customers
    inv = folded.inverse
    reduced.mean, reduced.sd = reduced.mean[inv], reduced.sd[inv]
    reduced.lower, reduced.upper = reduced.lower[inv], reduced.upper[inv]
    if reduced.pred_lower is not None and reduced.pred_upper is not None:
        reduced.pred_lower, reduced.pred_upper = reduced.pred_lower[inv], reduced.pred_upper[inv]
    frame = to_frame(
        reduced,
        table.index,
        point=None if point is None else np.broadcast_to(point, len(folded))[inv],
        meta={"quantity": quantity, "method": src.method, "model": src.model, **meta},
        ci_prob=ci,
        kind=ik,
    )
    if not return_draws:
        return frame
    assert reduced.draws is not None
    full = reduced.draws[:, inv].reshape(src.chains, src.draws_per_chain, -1)
    array = xr.DataArray(
        full,
        dims=("chain", "draw", "customer_id"),
        coords={"customer_id": table.index.to_numpy()},
        name=quantity,
    )
    return frame, array
