"""Simulate discrete-time histories from BG/BB (Fader, Hardie & Shang 2010).

Each customer makes a trial transaction at opportunity 0. ``p ~ Beta(alpha, beta)`` is
his chance to transact at an opportunity while alive and ``theta ~ Beta(gamma, delta)``
his chance to become inactive at the start of each opportunity, so he is alive at the
first ``L`` of the later opportunities with ``P(L >= l) = (1 - theta)^l``
(:func:`clvlab.formulas._beta_geometric.remaining_opportunities`, one opportunity
earlier). The calibration summary and the holdout count come straight from the draws.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from clvlab.arguments import check_count, check_positive
from clvlab.formulas._beta_geometric import remaining_opportunities

__all__ = ["simulate_opportunities"]

#: Fader, Hardie & Shang (2010): BG/BB on the donations data.
FHS_2010 = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


def simulate_opportunities(
    n_customers: int,
    *,
    alpha: float = FHS_2010["alpha"],
    beta: float = FHS_2010["beta"],
    gamma: float = FHS_2010["gamma"],
    delta: float = FHS_2010["delta"],
    calibration: int = 6,
    holdout: int = 5,
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """A BG/BB cohort's ``(x, t_x, n)`` table with a holdout, drawn from the model.

    Parameters
    ----------
    n_customers
        Customers in the cohort (all with a trial transaction at opportunity 0).
    alpha, beta, gamma, delta
        BG/BB parameters (defaults: Fader, Hardie & Shang 2010 on the donations data).
    calibration, holdout
        Opportunities after the trial in the calibration period (``n``, default 6 as in
        the donations data) and in the holdout (default 5).
    seed
        Seed or generator.

    Returns
    -------
    pandas.DataFrame
        ``frequency``, ``recency``, ``T`` (= ``calibration``), ``frequency_holdout`` and
        ``duration_holdout`` per customer, with ``kind="discrete"``, ``time_unit="Y"``
        and the true parameters (``params``) in ``attrs["clvlab"]``.

    Examples
    --------
    >>> table = simulate_opportunities(1000, seed=1)
    >>> bool((table["frequency"] <= table["recency"]).all()), int(table["T"].max())
    (True, 6)
    """
    n = check_count("n_customers", n_customers)
    params = {
        "alpha": check_positive("alpha", alpha),
        "beta": check_positive("beta", beta),
        "gamma": check_positive("gamma", gamma),
        "delta": check_positive("delta", delta),
    }
    cal = check_count("calibration", calibration)
    hold = check_count("holdout", holdout, minimum=0)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    p = rng.beta(params["alpha"], params["beta"], n)
    theta = rng.beta(params["gamma"], params["delta"], n)
    alive_for = remaining_opportunities(rng, theta) - 1.0  # opportunities 1..L alive
    k = np.arange(1, cal + hold + 1, dtype=float)
    buys = (rng.random((n, cal + hold)) < p[:, None]) & (k[None, :] <= alive_for[:, None])
    in_cal = buys[:, :cal]
    x = in_cal.sum(axis=1)
    last = np.where(x > 0, cal - np.argmax(in_cal[:, ::-1], axis=1), 0)
    table = pd.DataFrame(
        {
            "frequency": x.astype(np.int64),
            "recency": last.astype(np.int64),
            "T": np.full(n, cal, dtype=np.int64),
            "frequency_holdout": buys[:, cal:].sum(axis=1).astype(np.int64),
            "duration_holdout": np.full(n, float(hold)),
        },
        index=pd.RangeIndex(1, n + 1, name="customer_id"),
    )
    table.attrs["clvlab"] = {
        "kind": "discrete",
        "time_unit": "Y",
        "grain": "Y",
        "params": params,
        "source": "simulated BG/BB (clvlab.data.simulate_discrete)",
    }
    return table
