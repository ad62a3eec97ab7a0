"""The base class of every purchase model: one contract, declared once.

A purchase model names its formula module (``formulas``, with the functions of
:mod:`clvlab.formulas.contract`), its lifetimes fitter and its default priors. This class
derives the rest: validation and folding on ``(frequency, recency, T)``, the likelihood
for both fitting paths, lifetimes' arguments and time scaling, and (through
:class:`~clvlab.predict.customer.PurchasePredictions`) every prediction. Adding a model
takes one formula module, one small subclass and their tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from clvlab.data.folding import fold, folded_weights, is_folded_on
from clvlab.formulas.contract import check_contract, is_discrete
from clvlab.models.base import BaseModel, FitData
from clvlab.predict.customer import PurchasePredictions, history_table
from clvlab.priors import Prior

__all__ = ["PurchaseModel", "purchase_models"]

_PURCHASE_MODELS: dict[str, type[PurchaseModel]] = {}


class PurchaseModel(PurchasePredictions, BaseModel):
    """A purchase model of the BG/NBD family on ``(x, t_x, T)``; subclasses declare
    ``name``, ``display_name``, ``formulas``, ``lifetimes_fitter``, ``scale_params`` and
    :meth:`default_priors`."""

    loglik_columns = ("x", "t_x", "T")
    #: parameters in lifetimes' scaled time (divided by the longest ``T``)
    scale_params: ClassVar[tuple[str, ...]] = ()
    #: a discrete-time model (BG/BB): histories and horizons in whole opportunities, on
    #: tables from :func:`clvlab.opportunity_summary` (the formula module's ``DISCRETE``)
    discrete: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if "formulas" in cls.__dict__:
            check_contract(cls.formulas)
            cls.param_names = tuple(cls.formulas.PARAMS)
            cls.discrete = is_discrete(cls.formulas)
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            _PURCHASE_MODELS[cls.name] = cls

    @classmethod
    def loglik(cls, ops: Any, columns: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
        """The individual log-likelihood of the model's formula module."""
        return cls.formulas.loglik(ops, columns["x"], columns["t_x"], columns["T"], **params)

    def prepare(self, rfm: pd.DataFrame) -> FitData:
        """Validate the table as every prediction does
        (:func:`clvlab.predict.customer.history_table`: whole opportunities for a
        discrete-time model) and fold customers on ``(frequency, recency, T)``.

        A table already folded on those columns (:func:`clvlab.spark.fold`: metadata
        ``folded_on``, a ``weight`` per row) is taken with its weights: the same rows and
        weights as folding the customers here."""
        table = history_table(self.formulas, rfm, self.display_name)
        on = ("frequency", "recency", "T")
        weights = folded_weights(table) if is_folded_on(table, on) else None
        folded = fold(table, on, weights)
        columns = {
            "x": folded.column("frequency"),
            "t_x": folded.column("recency"),
            "T": folded.column("T"),
        }
        return FitData(columns, folded.weights, folded)

    def lifetimes_scale(self, data: FitData) -> np.ndarray:
        """lifetimes' fitters measure time in units of the longest ``T``, so their
        internal time-scale parameters (``scale_params``) are ours divided by ``max(T)``."""
        scale = 1.0 / float(np.max(data.columns["T"]))
        return np.array([scale if n in self.scale_params else 1.0 for n in self.param_names])

    def lifetimes_arguments(self, data: FitData) -> dict[str, np.ndarray]:
        """``frequency``, ``recency`` and ``T`` for the lifetimes fitter's ``fit``."""
        c = data.columns
        return {"frequency": c["x"], "recency": c["t_x"], "T": c["T"]}

    def default_priors(self, data: FitData) -> dict[str, Prior]:
        """Weakly informative priors, the same rule for every purchase model.

        - a time scale (``scale_params``: ``alpha``, and ``beta`` for Pareto/NBD) gets
          ``LogNormal(log(mean T), 2)``: centred on the mean observation length, so the
          same whatever time unit the RFM uses; sigma = 2 spans a factor of about 50
          either way;
        - every other (shape) parameter gets ``LogNormal(0, 1.5)``: 95% prior mass in
          about [0.05, 19], from very heterogeneous to nearly homogeneous populations,
          ruling out the degenerate extremes where the likelihood is flat.
        """
        mean_t = float(np.average(data.columns["T"], weights=data.weights))
        scale = Prior("LogNormal", mu=float(np.log(max(mean_t, 1e-9))), sigma=2.0)
        shape = Prior("LogNormal", mu=0.0, sigma=1.5)
        return {n: scale if n in self.scale_params else shape for n in self.param_names}


def purchase_models() -> dict[str, type[PurchaseModel]]:
    """The registered purchase models by name (``"bgnbd"``, ``"mbgnbd"``, ``"pnbd"``),
    for the CLI, bench configs and model files."""
    return dict(_PURCHASE_MODELS)
