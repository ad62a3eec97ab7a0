"""Gamma-Gamma: the model of spend per transaction."""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from clvlab.data.folding import fold, folded_weights, is_folded_on
from clvlab.data.rfm import validate_rfm
from clvlab.data.validation import Validator
from clvlab.errors import DataValidationError
from clvlab.formulas import gamma_gamma
from clvlab.models.base import BaseModel, FitData
from clvlab.predict.customer import SpendPredictions
from clvlab.priors import Prior

__all__ = ["GammaGamma"]


class GammaGamma(SpendPredictions, BaseModel):
    """Gamma-Gamma spend model (Fader & Hardie 2013) with parameters ``p, q, v``.

    Each purchase's value is ``Gamma(p, nu)`` with ``nu ~ Gamma(q, v)`` across customers.
    Only customers with ``frequency > 0`` carry information; they must have a positive
    ``monetary_value`` (the mean of their repeat purchases).

    Default priors (weakly informative):

    - ``p, q ~ LogNormal(0, 1.5)``: shape parameters, 95% prior mass in about [0.05, 19];
    - ``v ~ LogNormal(log(mean spend), 2)``: ``v`` carries the currency unit, so its
      prior is centred on the data's mean repeat spend and is currency-invariant.

    Examples
    --------
    >>> import clvlab
    >>> model = clvlab.GammaGamma().fit(clvlab.datasets.load_cdnow_summary(), seed=1,
    ...                                 progress=False)
    >>> model.params_["estimate"].round(2).to_dict()  # lifetimes: v = 15.4477; F&H print 15.44
    {'p': 6.25, 'q': 3.74, 'v': 15.45}
    """

    name = "gamma_gamma"
    formulas: ClassVar[ModuleType] = gamma_gamma
    display_name = "Gamma-Gamma"
    param_names = ("p", "q", "v")
    loglik_columns = ("x", "m")
    lifetimes_fitter = "GammaGammaFitter"
    scale_params = ("v",)

    @staticmethod
    def loglik(ops: Any, columns: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
        """Fader & Hardie (2013) eq. 3; see :func:`clvlab.formulas.gamma_gamma.loglik`."""
        return gamma_gamma.loglik(ops, columns["x"], columns["m"], **params)

    def prepare(self, rfm: pd.DataFrame) -> FitData:
        """Validate, keep customers with ``frequency > 0``, fold on (frequency, spend).

        A table already folded on ``(frequency, monetary_value)``
        (:func:`clvlab.spark.fold`: metadata ``folded_on``, a ``weight`` per row) is taken
        with its weights: the same rows and weights as folding the customers here."""
        from clvlab.data.validation import require_columns

        folded_input = is_folded_on(rfm, ("frequency", "monetary_value"))
        if folded_input:
            # validate_rfm's rules on these two columns: recency and T are not folded on,
            # and standing in with frequency keeps their own rules true
            require_columns(rfm, ["frequency", "weight"], "folded")
            rfm = rfm.assign(recency=rfm["frequency"], T=rfm["frequency"])
        table = validate_rfm(rfm, monetary=True)
        repeat = table[table["frequency"] > 0]
        if len(repeat) == 0:
            raise DataValidationError(
                "frequency", "no customer has a repeat purchase: Gamma-Gamma needs frequency > 0"
            )
        Validator(ids=repeat.index.to_numpy()).check(
            "monetary_value",
            "must be positive for customers with frequency > 0 (Gamma-Gamma)",
            repeat["monetary_value"].to_numpy() <= 0,
        )
        weights = folded_weights(repeat) if folded_input else None
        folded = fold(repeat, ("frequency", "monetary_value"), weights)
        columns = {"x": folded.column("frequency"), "m": folded.column("monetary_value")}
        return FitData(columns, folded.weights, folded)

    def default_priors(self, data: FitData) -> dict[str, Prior]:
        """See the class docstring for the reasons."""
        mean_m = float(np.average(data.columns["m"], weights=data.weights))
        return {
            "p": Prior("LogNormal", mu=0.0, sigma=1.5),
            "q": Prior("LogNormal", mu=0.0, sigma=1.5),
            "v": Prior("LogNormal", mu=float(np.log(mean_m)), sigma=2.0),
        }

    def lifetimes_arguments(self, data: FitData) -> dict[str, np.ndarray]:
        """``frequency`` and ``monetary_value`` for ``GammaGammaFitter.fit``."""
        return {"frequency": data.columns["x"], "monetary_value": data.columns["m"]}
