"""The whole job in one call: transactions file -> RFM -> fits -> predictions -> export.

:func:`run_pipeline` is what ``clvlab run`` and ``clvlab demo`` call. It reports each
step on standard output, and shows progress bars unless told not to.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from clvlab.data.rfm import rfm_summary
from clvlab.errors import ClvlabError, DataQualityWarning
from clvlab.export import export
from clvlab.models.base import Method
from clvlab.models.beta_geo import BetaGeo
from clvlab.models.gamma_gamma import GammaGamma
from clvlab.predict.table import CustomerPredictions, predict_customers

__all__ = [
    "PURCHASE_MODELS",
    "SPEND_MODELS",
    "PipelineSettings",
    "read_transactions",
    "run_pipeline",
]

_UNIT_NAMES = {"D": "day", "W": "week", "M": "month", "Y": "year"}
PURCHASE_MODELS = {"bgnbd": BetaGeo}
SPEND_MODELS = {"gamma-gamma": GammaGamma}


@dataclass
class PipelineSettings:
    """Everything ``clvlab run`` can set; the defaults are the CLI's."""

    customer_col: str = "customer_id"
    date_col: str = "date"
    amount_col: str = "amount"
    calibration_end: str | None = None
    observation_end: str | None = None
    time_unit: str = "W"
    purchase_model: str = "bgnbd"
    spend_model: str = "gamma-gamma"
    method: Method = "mle"
    horizon: float = 12.0
    horizon_unit: str = "M"
    discount_rate: float = 0.0
    ci_prob: float = 0.9
    seed: int = 0
    draws: int = 1000
    tune: int = 1000
    chains: int = 2
    run_id: str | None = None
    long: bool = False
    table_prefix: str = "clv"
    progress: bool = True
    fit_options: dict[str, Any] = field(default_factory=dict)


def read_transactions(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a transaction log from CSV or Parquet."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".csv", ".gz", ".txt"):
            return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise ClvlabError(f"cannot read transactions from {path}: {exc}") from exc
    raise ClvlabError(f"cannot tell the format of {path}: use a .csv or .parquet file")


def _step(text: str) -> None:
    print(f"== {text}", flush=True)


def _without_zero_spend(rfm: pd.DataFrame) -> pd.DataFrame:
    """Customers whose repeat purchases are all worth 0 cannot enter the Gamma-Gamma
    model; they are removed with a warning that names how many and which."""
    zero = (rfm["frequency"] > 0) & (rfm["monetary_value"] <= 0)
    if not zero.any():
        return rfm
    message = (
        f"excluded {int(zero.sum())} customers whose repeat purchases are worth 0 "
        f"(e.g. {list(rfm.index[zero][:5])}): the Gamma-Gamma spend model and CLV need a "
        "positive mean spend"
    )
    warnings.warn(message, DataQualityWarning, stacklevel=3)
    out = rfm.loc[~zero]
    out.attrs = dict(rfm.attrs)
    return out


def run_pipeline(
    transactions: pd.DataFrame,
    out: str | os.PathLike[str] | None,
    settings: PipelineSettings,
) -> tuple[CustomerPredictions, BetaGeo, GammaGamma]:
    """Summarise, fit, predict and (when ``out`` is given) export; return the results."""
    s = settings
    if s.purchase_model not in PURCHASE_MODELS:
        raise ClvlabError(
            f"unknown purchase model {s.purchase_model!r}; choose from {sorted(PURCHASE_MODELS)}"
        )
    if s.spend_model not in SPEND_MODELS:
        raise ClvlabError(
            f"unknown spend model {s.spend_model!r}; choose from {sorted(SPEND_MODELS)}"
        )
    started = time.perf_counter()
    _step("building the RFM summary")
    rfm = rfm_summary(
        transactions,
        customer_id_col=s.customer_col,
        datetime_col=s.date_col,
        monetary_value_col=s.amount_col,
        time_unit=s.time_unit,
        calibration_end=s.calibration_end,
        observation_end=s.observation_end,
    )
    meta = rfm.attrs["clvlab"]
    print(
        f"{len(rfm):,} customers, {meta['n_transactions']:,} transactions from "
        f"{meta['first_transaction']} to {meta['observation_end']}; calibration to "
        f"{meta['calibration_end']}; {int(rfm['frequency'].sum()):,} repeat purchases"
    )
    rfm = _without_zero_spend(rfm)
    kwargs: dict[str, Any] = {"method": s.method, "seed": s.seed, "progress": s.progress}
    # NUTS runs `chains` chains of `draws`; the other methods draw as many parameter sets
    # (Laplace or variational draws) in one chain.
    if s.method == "nuts":
        kwargs.update(draws=s.draws, tune=s.tune, chains=s.chains)
    elif s.method == "mle":
        kwargs.update(n_draws=s.draws * s.chains)
    else:
        kwargs.update(draws=s.draws * s.chains)
    kwargs.update(s.fit_options)
    models = []
    for cls in (PURCHASE_MODELS[s.purchase_model], SPEND_MODELS[s.spend_model]):
        _step(f"fitting {cls.display_name} by {s.method.upper()}")
        model = cls(ci_prob=s.ci_prob).fit(rfm, **kwargs)
        print(model.summary())
        models.append(model)
    purchase, spend = models
    assert isinstance(purchase, BetaGeo) and isinstance(spend, GammaGamma)
    unit = _UNIT_NAMES.get(s.horizon_unit.upper(), s.horizon_unit)
    _step(f"predicting {s.horizon:g} {unit}s of CLV with {s.ci_prob:.0%} intervals")
    predictions = predict_customers(
        purchase,
        spend,
        rfm,
        horizon=s.horizon,
        unit=s.horizon_unit,
        discount_rate=s.discount_rate,
        seed=s.seed,
        run_id=s.run_id,
        progress=s.progress,
    )
    run = predictions.run
    print(
        f"total CLV {run['total_clv_estimate']:,.0f} ({s.ci_prob:.0%} interval "
        f"{run['total_clv_lower']:,.0f} to {run['total_clv_upper']:,.0f}); run id "
        f"{run['run_id']}"
    )
    if out is not None:
        _step(f"exporting to {_display(out)}")
        written = export(predictions, out, long=s.long, table_prefix=s.table_prefix)
        for table, where in written.items():
            print(f"  {table}: {_display(where)}")
    print(f"done in {time.perf_counter() - started:.0f} s")
    return predictions, purchase, spend


def _display(target: str | os.PathLike[str]) -> str:
    """A target for messages: database URLs without their password."""
    from clvlab.export.sql import safe_url

    text = str(target)
    if "://" not in text:
        return text
    url, _, table = text.partition("#")
    return safe_url(url) + (f" (table {table})" if table else "")
