"""PSIS-LOO's Pareto-k warning goes into the evaluation's own diagnostics (issue 12,
item 10): a notebook shows no ArviZ warning, and the result says which customers make
elpd_loo unreliable. Tests run with warnings as errors, so an escaped warning fails."""

from __future__ import annotations

import pandas as pd
import pytest

import clvlab
from clvlab.evaluate import loo


def _with_heavy_buyer(rfm: pd.DataFrame) -> pd.DataFrame:
    """150 CDNOW-sample customers and one who bought 120 times in 38 weeks: an
    influential observation, whose leave-one-out posterior differs from the full one."""
    small = rfm.iloc[:150]
    heavy = pd.DataFrame(
        {
            "frequency": [120],
            "recency": [38.0],
            "T": [38.5],
            "monetary_value": [20.0],
            "frequency_holdout": [30],
            "monetary_value_holdout": [20.0],
            "duration_holdout": [small["duration_holdout"].iloc[0]],
        },
        index=pd.Index([90001], name=small.index.name),
    )
    table = pd.concat([small, heavy])
    table.attrs = rfm.attrs
    return table


@pytest.fixture(scope="module")
def data(cdnow_sample_rfm: pd.DataFrame) -> pd.DataFrame:
    return _with_heavy_buyer(cdnow_sample_rfm)


def test_loo_records_the_pareto_k_warning(data: pd.DataFrame) -> None:
    # Laplace draws of a fit on few customers are wide enough for PSIS to struggle on
    # the heavy buyer; loo() needs only draws, whatever their method.
    model = clvlab.BetaGeo().fit(data.iloc[:150], seed=1, progress=False, n_draws=400)
    result = loo(model, data)
    assert result["customers_k_above_0.7"] == 1 and result["pareto_k_max"] > 0.7
    assert "Pareto distribution is greater than" in result["warning"]
    calm = loo(model, data.iloc[:150])
    assert calm["warning"] is None and calm["customers_k_above_0.7"] == 0


def test_evaluate_and_compare_report_it_without_warning(data: pd.DataFrame) -> None:
    model = clvlab.BetaGeo().fit(
        data, method="nuts", draws=500, tune=500, chains=2, seed=3, progress=False
    )
    ev = clvlab.evaluate(model, data, max_draws=100)
    diag = ev.diagnostics["loo"]
    assert diag["customers_k_above_0.7"] == 1 and diag["pareto_k_max"] > 0.7
    assert "Pareto" in diag["warning"]
    assert ev.metrics["elpd_loo"] == ev.loo["elpd_loo"]
    html = ev._repr_html_()
    assert "1 customers have Pareto k above 0.7" in html
    table = clvlab.compare([model], data, names=["nuts"])
    assert table.attrs["clvlab"]["diagnostics"]["nuts"]["loo"] == diag
    # an MLE evaluation has no LOO and no diagnostics
    mle = clvlab.BetaGeo().fit(data, seed=1, progress=False, n_draws=100)
    assert clvlab.evaluate(mle, data, max_draws=50).diagnostics == {}
