"""What the purchase-model contract suites share: the registry's names, the fits, and
the customers they are checked on.

The suites (``tests/test_model_family.py``, ``tests/models/test_family_oracles.py``)
parametrize over :func:`clvlab.purchase_models`, so a newly registered model is checked
without editing them, in the spirit of scikit-learn's ``parametrize_with_checks``. Each
model gets data of its kind (:func:`kind`): continuous-time models the CDNOW sample in
weeks, discrete-time ones (BG/BB) the donations cohort in yearly opportunities
(:func:`donations_log`).
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd

import clvlab
from clvlab.formulas import bgbb, numpy_ops
from clvlab.formulas.contract import is_contractual, is_discrete

__all__ = [
    "BAYES_FIT",
    "CONTINUOUS",
    "CONTRACT_HISTORIES",
    "DISCRETE_HISTORIES",
    "FHS_2010",
    "HEAVY_BUYER",
    "HISTORIES",
    "NAMES",
    "columns",
    "contracts_log",
    "contracts_rfm",
    "donations_log",
    "donations_rfm",
    "fit_bayes",
    "fit_mle",
    "formula_params",
    "histories",
    "kind",
    "loglik_per_customer",
]

#: Every registered purchase model, by name (sorted, so test ids are stable).
NAMES: tuple[str, ...] = tuple(sorted(clvlab.purchase_models()))

#: Customer 1516 of the CDNOW sample: x = 26, t_x = 30.86, T = 31 weeks (the heavy buyer
#: of the R package BTYD's walkthrough; its row in clvlab.datasets.load_cdnow_summary()).
HEAVY_BUYER = (26.0, 30.86, 31.0)

#: Histories ``(x, t_x, T)`` in weeks that span the CDNOW sample: one-time buyers, a light
#: and a lapsed buyer, a regular, the heavy buyer, and a very heavy, very recent one.
HISTORIES = np.array(
    [
        (0.0, 0.0, 39.0),
        (0.0, 0.0, 5.0),
        (1.0, 2.0, 38.0),
        (2.0, 30.43, 38.86),
        (7.0, 35.0, 39.0),
        HEAVY_BUYER,
        (60.0, 38.9, 39.0),
    ]
)

#: Sampler settings of the tiny Bayesian fits (NUTS, one short chain).
BAYES_FIT: dict[str, Any] = {"method": "nuts", "draws": 100, "tune": 100, "chains": 1}


#: Histories ``(x, t_x, n)`` in yearly opportunities spanning the donations cohort (6
#: calibration opportunities): lapsed, light, regular and every-year donors, and a long
#: history of 30 opportunities.
DISCRETE_HISTORIES = np.array(
    [
        (0.0, 0.0, 6.0),
        (0.0, 0.0, 1.0),
        (1.0, 1.0, 6.0),
        (2.0, 6.0, 6.0),
        (4.0, 5.0, 6.0),
        (6.0, 6.0, 6.0),
        (20.0, 29.0, 30.0),
    ]
)

#: BG/BB on the donations data, Fader, Hardie & Shang (2010), section 4.
FHS_2010 = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


#: Renewal histories ``(x, t_x = x, n)`` in yearly opportunities: cancelled at the first,
#: a new subscriber, cancelled after 3 of 6, subscribers of 6 and 30 years, and one who
#: cancelled after 999 of 1,000.
CONTRACT_HISTORIES = np.array(
    [
        (0.0, 0.0, 6.0),
        (0.0, 0.0, 1.0),
        (3.0, 3.0, 6.0),
        (6.0, 6.0, 6.0),
        (30.0, 30.0, 30.0),
        (1.0, 1.0, 1.0),
        (999.0, 999.0, 1000.0),
    ]
)

#: Fader & Hardie (2007) Table 1: customers of two cohorts of 1,000 still active at the
#: end of years 0-12.
FH07_TABLE1 = {
    "regular": [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173],
    "high_end": [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394],
}

Kind = Literal["continuous", "discrete", "contractual"]


def kind(name: str) -> Kind:
    """The data kind of the registered model ``name``."""
    formulas = clvlab.purchase_models()[name].formulas
    if is_contractual(formulas):
        return "contractual"
    return "discrete" if is_discrete(formulas) else "continuous"


#: The registered continuous-time models (the CDNOW oracles of
#: ``tests/models/test_family_oracles.py``; BG/BB's are in ``tests/formulas/test_bgbb.py``
#: and ``tests/models/test_bgbb_model.py``).
CONTINUOUS: tuple[str, ...] = tuple(n for n in NAMES if kind(n) == "continuous")


def histories(
    which: str = "continuous",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, t_x, T)`` of :data:`HISTORIES` (or :data:`DISCRETE_HISTORIES` for
    ``"discrete"``, :data:`CONTRACT_HISTORIES` for ``"contractual"``) as three float
    arrays."""
    table = {"discrete": DISCRETE_HISTORIES, "contractual": CONTRACT_HISTORIES}
    x, t_x, T = table.get(which, HISTORIES).T
    return x.copy(), t_x.copy(), T.copy()


def donations_log(seed: int = 16) -> pd.DataFrame:
    """A yearly transaction log whose calibration summary is the donations data.

    Each of the 11,104 donors of ``clvlab.datasets.load_donations()`` gives in 1995 (the
    trial year), in ``1995 + t_x`` and in the ``x - 1`` years right after 1995, so
    that ``clvlab.opportunity_summary(..., calibration_end="2001-12-31")`` gives back
    their ``(x, t_x, n = 6)``. The holdout years 2002-2006 are simulated from BG/BB at
    the published estimates (:data:`FHS_2010`, ``bgbb.simulate_counts``), and every
    gift has a Gamma-Gamma amount (seeded).
    """
    rows = clvlab.datasets.load_donations()
    donors = rows.loc[rows.index.repeat(rows["weight"])].reset_index(drop=True)
    x, t_x, n = (donors[c].to_numpy(dtype=np.int64) for c in ("frequency", "recency", "periods"))
    rng = np.random.default_rng(seed)
    ids, years = [np.arange(len(donors))], [np.full(len(donors), 1995)]
    for k in range(1, int(n.max()) + 1):
        # opportunity k has a gift when it is the last one or among the first x - 1
        gift = (x > 0) & ((k == t_x) | (k < x))
        ids.append(np.flatnonzero(gift))
        years.append(np.full(int(gift.sum()), 1995 + k))
    draws = {p: np.array([v]) for p, v in FHS_2010.items()}
    ends = np.arange(1.0, 6.0)
    holdout = bgbb.simulate_counts(
        rng, ends, x.astype(float), t_x.astype(float), n.astype(float), draws
    )
    per_year = np.diff(holdout, axis=-1, prepend=0.0)
    for k in range(per_year.shape[-1]):
        gift = per_year[:, k] > 0
        ids.append(np.flatnonzero(gift))
        years.append(np.full(int(gift.sum()), 2002 + k))
    customer = np.concatenate(ids)
    year = np.concatenate(years)
    # Gamma-Gamma spend (Fader & Hardie 2013): each donor's rate nu ~ Gamma(3, 1/10),
    # each gift ~ Gamma(4, nu)
    nu = rng.gamma(3.0, 0.1, len(donors))
    return pd.DataFrame(
        {
            "customer_id": customer + 1,
            "date": pd.to_datetime(pd.Series(year).astype(str) + "-06-30").to_numpy(),
            "spend": np.round(rng.gamma(4.0, 1.0 / nu[customer]), 2) + 0.01,
        }
    )


def donations_rfm(log: pd.DataFrame) -> pd.DataFrame:
    """The discrete-time table of :func:`donations_log`: calibration 1996-2001 (6
    yearly opportunities after the 1995 trial), holdout 2002-2006."""
    return clvlab.opportunity_summary(
        log,
        monetary_value_col="spend",
        grain="Y",
        calibration_end="2001-12-31",
        observation_end="2006-12-31",
    )


def contracts_log(seed: int = 7) -> pd.DataFrame:
    """A yearly log of the payments of Fader & Hardie (2007) Table 1's 2,000 customers.

    Each customer pays when signing up (2000-06-30) and at every renewal, one year apart,
    as many times as Table 1 says (its survivors per year give each customer's number of
    renewals up to year 12); the payment is the customer's plan price, seeded Gamma-Gamma
    amounts (each customer's rate nu ~ Gamma(3, 1/10), each payment ~ Gamma(4, nu)).
    """
    rng = np.random.default_rng(seed)
    renewals = []
    for counts in FH07_TABLE1.values():
        c = np.asarray(counts)
        lost = np.r_[c[:-1] - c[1:], c[-1]]  # cancel at opportunity t = 1..12, or never
        renewals.append(np.repeat(np.arange(len(lost)), lost))
    total = np.concatenate(renewals)
    customer = np.repeat(np.arange(len(total)), total + 1)
    year = np.concatenate([np.arange(r + 1) for r in total])
    nu = rng.gamma(3.0, 0.1, len(total))
    return pd.DataFrame(
        {
            "customer_id": customer + 1,
            "date": pd.to_datetime(pd.Series(2000 + year).astype(str) + "-06-30").to_numpy(),
            "spend": np.round(rng.gamma(4.0, 1.0 / nu[customer]), 2) + 0.01,
        }
    )


def contracts_rfm(log: pd.DataFrame) -> pd.DataFrame:
    """The renewal table of :func:`contracts_log`: calibration years 1-7 (Fader & Hardie
    2007 fit years 0-7), holdout years 8-12. A customer's renewals are his calibration
    opportunities with a payment, all consecutive, so :func:`clvlab.opportunity_summary`
    gives ``t_x = x`` and marks the table contractual."""
    table = clvlab.opportunity_summary(
        log,
        monetary_value_col="spend",
        grain="Y",
        start="2000-07-01",
        calibration_end="2007-06-30",
        observation_end="2012-06-30",
    )
    table.attrs["clvlab"] = {**table.attrs["clvlab"], "contractual": True}
    return table


def fit_mle(name: str, rfm: pd.DataFrame, **kwargs: Any) -> clvlab.PurchaseModel:
    """The registered model ``name`` fitted by MLE (Laplace draws, seed 1)."""
    settings = {"seed": 1, "progress": False, "n_draws": 200, **kwargs}
    model = clvlab.purchase_models()[name]().fit(rfm, **settings)
    assert isinstance(model, clvlab.PurchaseModel)
    return model


def fit_bayes(name: str, rfm: pd.DataFrame) -> clvlab.PurchaseModel:
    """The registered model ``name`` fitted by a tiny NUTS run (:data:`BAYES_FIT`).

    One chain of 100 draws is too short for clvlab's convergence checks, which then warn
    (SamplingWarning); that is the expected outcome of a deliberately tiny fit, so it is
    silenced here and only here.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", clvlab.SamplingWarning)
        model = clvlab.purchase_models()[name]().fit(rfm, seed=3, progress=False, **BAYES_FIT)
    assert isinstance(model, clvlab.PurchaseModel)
    return model


def formula_params(model: clvlab.PurchaseModel) -> dict[str, float]:
    """The point estimate as the keyword arguments of the model's formulas."""
    point = model.point_params()
    return {name: point[name] for name in model.formulas.PARAMS}


def columns(rfm: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, t_x, T)`` of an RFM table, customer by customer (unfolded)."""
    return tuple(rfm[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))  # type: ignore[return-value]


def loglik_per_customer(model: clvlab.PurchaseModel, rfm: pd.DataFrame) -> np.ndarray:
    """The model's formula log-likelihood of every customer at the point estimate."""
    x, t_x, T = columns(rfm)
    return np.asarray(model.formulas.loglik(numpy_ops, x, t_x, T, **formula_params(model)))
