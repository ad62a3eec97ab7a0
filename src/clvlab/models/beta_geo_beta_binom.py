"""BG/BB: the beta-geometric / beta-binomial model of discrete-time purchasing."""

from __future__ import annotations

from types import ModuleType
from typing import ClassVar

import numpy as np

from clvlab.formulas import bgbb
from clvlab.models.base import FitData
from clvlab.models.purchase import PurchaseModel

__all__ = ["BetaGeoBetaBinom"]


class BetaGeoBetaBinom(PurchaseModel):
    """BG/BB model (Fader, Hardie & Shang 2010) with ``alpha, beta, gamma, delta``.

    Time is a sequence of transaction opportunities (one per year, quarter, ...): while
    alive a customer transacts at each opportunity with probability ``p ~ Beta(alpha,
    beta)``, and becomes inactive at the start of each opportunity with probability
    ``theta ~ Beta(gamma, delta)``, across customers. It fits the ``(x, t_x, n)`` table
    of :func:`clvlab.opportunity_summary` (``T`` is ``n``, the number of opportunities
    after the trial one); every horizon is a whole number of opportunities, so use
    ``unit=`` equal to the grain (``unit="Y"`` for yearly opportunities) in
    :func:`clvlab.clv`, :func:`clvlab.predict_customers` and the decision tables. A
    non-whole horizon is refused (:class:`~clvlab.errors.ArgumentError`), as is a table
    whose numbers are not whole opportunities
    (:class:`~clvlab.errors.DataValidationError`, naming ``opportunity_summary``).

    Fitting by ``"mle"`` runs lifetimes' ``BetaGeoBetaBinomFitter`` on the folded rows
    with weights (11,104 donors fold into 22 rows); the likelihood is FHS (2010) eq. 5
    (:func:`clvlab.formulas.bgbb.loglik`). BG/BB has no time-scale parameter.

    Default priors (the rule of :meth:`PurchaseModel.default_priors`): every parameter
    is a Beta shape, ``LogNormal(0, 1.5)``, 95% prior mass in about [0.05, 19].

    Examples
    --------
    >>> import clvlab
    >>> rows = clvlab.datasets.load_donations()
    >>> rfm = rows.loc[rows.index.repeat(rows["weight"])].rename(columns={"periods": "T"})
    >>> rfm = rfm[["frequency", "recency", "T"]].reset_index(drop=True)
    >>> rfm.attrs["clvlab"] = {"kind": "discrete", "time_unit": "Y"}
    >>> model = clvlab.BetaGeoBetaBinom().fit(rfm, seed=1, progress=False)
    >>> model.params_["estimate"].round(3).to_dict()  # FHS 2010: 1.204, 0.750, 0.657, 2.783
    {'alpha': 1.204, 'beta': 0.75, 'gamma': 0.657, 'delta': 2.783}
    """

    name = "bgbb"
    display_name = "BG/BB"
    formulas: ClassVar[ModuleType] = bgbb
    lifetimes_fitter = "BetaGeoBetaBinomFitter"
    #: no parameter carries a time unit: alpha, beta, gamma, delta are Beta shapes
    scale_params = ()

    def lifetimes_arguments(self, data: FitData) -> dict[str, np.ndarray]:
        """``frequency``, ``recency`` and ``n_periods`` for ``BetaGeoBetaBinomFitter.fit``
        (whole numbers, checked by :meth:`prepare`)."""
        c = data.columns
        return {
            "frequency": c["x"].astype(np.int64),
            "recency": c["t_x"].astype(np.int64),
            "n_periods": c["T"].astype(np.int64),
        }
