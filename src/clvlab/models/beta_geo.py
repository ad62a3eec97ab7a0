"""BG/NBD: the beta-geometric / negative-binomial model of purchasing and dropout."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from clvlab.data.folding import fold
from clvlab.data.rfm import validate_rfm
from clvlab.formulas import bgnbd
from clvlab.models.base import BaseModel, FitData
from clvlab.models.priors import Prior
from clvlab.predict.customer import PurchasePredictions

__all__ = ["BetaGeo"]


class BetaGeo(PurchasePredictions, BaseModel):
    """BG/NBD model (Fader, Hardie & Lee 2005) with parameters ``r, alpha, a, b``.

    Purchase rates are ``Gamma(r, alpha)`` across customers; after each repeat purchase a
    customer drops out with probability ``p ~ Beta(a, b)``. ``alpha`` is in the RFM's
    time unit.

    Default priors (weakly informative; override with ``priors={"r": Prior(...)}``):

    - ``r, a, b ~ LogNormal(0, 1.5)``: shape parameters, 95% prior mass in about
      [0.05, 19]. That covers very heterogeneous (U-shaped) to nearly homogeneous
      populations while ruling out the degenerate extremes where the likelihood is flat.
    - ``alpha ~ LogNormal(log(mean T), 2)``: ``alpha`` is a time scale, so its prior is
      centred on the mean observation length of the data (a mean rate of about ``r``
      purchases per window) and is the same whatever time unit the RFM uses; sigma = 2
      spans a factor of about 50 either way.

    ``Prior("HalfFlat")`` for every parameter gives flat priors.

    Examples
    --------
    >>> import clvlab
    >>> model = clvlab.BetaGeo().fit(clvlab.datasets.load_cdnow_summary(), seed=1,
    ...                              progress=False)
    >>> model.params_["estimate"].round(3).to_dict()
    {'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
    """

    name = "bgnbd"
    display_name = "BG/NBD"
    param_names = ("r", "alpha", "a", "b")
    loglik_columns = ("x", "t_x", "T")
    lifetimes_fitter = "BetaGeoFitter"
    scale_params = ("alpha",)

    @staticmethod
    def loglik(ops: Any, columns: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
        """Fader, Hardie & Lee (2005) eq. 6; see :func:`clvlab.formulas.bgnbd.loglik`."""
        return bgnbd.loglik(ops, columns["x"], columns["t_x"], columns["T"], **params)

    def prepare(self, rfm: pd.DataFrame) -> FitData:
        """Validate the RFM table and fold customers on ``(frequency, recency, T)``."""
        table = validate_rfm(rfm)
        folded = fold(table, ("frequency", "recency", "T"))
        columns = {
            "x": folded.column("frequency"),
            "t_x": folded.column("recency"),
            "T": folded.column("T"),
        }
        return FitData(columns, folded.weights, folded)

    def default_priors(self, data: FitData) -> dict[str, Prior]:
        """See the class docstring for the reasons."""
        mean_t = float(np.average(data.columns["T"], weights=data.weights))
        return {
            "r": Prior("LogNormal", mu=0.0, sigma=1.5),
            "alpha": Prior("LogNormal", mu=float(np.log(max(mean_t, 1e-9))), sigma=2.0),
            "a": Prior("LogNormal", mu=0.0, sigma=1.5),
            "b": Prior("LogNormal", mu=0.0, sigma=1.5),
        }

    def lifetimes_scale(self, data: FitData) -> np.ndarray:
        """lifetimes' ``BetaGeoFitter`` measures time in units of the longest ``T``, so
        its internal ``alpha`` is ``alpha / max(T)``."""
        return np.array([1.0, 1.0 / float(np.max(data.columns["T"])), 1.0, 1.0])

    def lifetimes_arguments(self, data: FitData) -> dict[str, np.ndarray]:
        """``frequency``, ``recency`` and ``T`` for ``BetaGeoFitter.fit``."""
        c = data.columns
        return {"frequency": c["x"], "recency": c["t_x"], "T": c["T"]}
