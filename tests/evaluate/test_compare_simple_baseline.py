"""The simple-formula baseline row of clvlab.compare, against an independent computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.evaluate.compare import SIMPLE_FORMULA

# the default lapse: half a Julian year in weeks, 0.5 x 365.25 / 7
LAPSE_WEEKS = 0.5 * 365.25 / 7


@pytest.fixture(scope="module")
def fitted(cdnow_sample_rfm: pd.DataFrame) -> clvlab.BetaGeo:
    return clvlab.BetaGeo().fit(cdnow_sample_rfm, method="mle", seed=1)


def _by_hand(rfm: pd.DataFrame, weights: np.ndarray) -> tuple[np.ndarray, int, float]:
    """The lapse rule and the retained-time sum written out directly (no clvlab code):
    events = #(t_x + lapse <= T), exposure = sum min(t_x + lapse, T) in weeks,
    r = exp(-events / exposure) a week, purchases = x / T x sum_k w_k r^k."""
    t_x, big_t = rfm["recency"].to_numpy(), rfm["T"].to_numpy()
    events = int(np.sum(t_x + LAPSE_WEEKS <= big_t))
    exposure = float(np.sum(np.minimum(t_x + LAPSE_WEEKS, big_t)))
    r = np.exp(-events / exposure)
    retained = float(np.sum(weights * r ** np.arange(1, len(weights) + 1)))
    return rfm["frequency"].to_numpy() / big_t * retained, events, exposure


def test_simple_formula_row_equals_a_direct_computation(
    fitted: clvlab.BetaGeo, cdnow_sample_rfm: pd.DataFrame
) -> None:
    before = cdnow_sample_rfm.copy()
    table = clvlab.compare([fitted], cdnow_sample_rfm, names=["bgnbd"])
    pd.testing.assert_frame_equal(cdnow_sample_rfm, before)
    assert {"baseline: run rate", "baseline: population mean", SIMPLE_FORMULA} <= set(table.index)
    # the holdout is 273 days = 39 whole weeks: w_k = 1 for k = 1..39
    assert (cdnow_sample_rfm["duration_holdout"] == 39.0).all()
    predicted, events, exposure = _by_hand(cdnow_sample_rfm, np.ones(39))
    actual = cdnow_sample_rfm["frequency_holdout"].to_numpy(dtype=float)
    row = table.loc[SIMPLE_FORMULA]
    assert row["predicted_total"] == pytest.approx(predicted.sum(), rel=1e-10)
    assert row["actual_total"] == actual.sum()
    assert row["purchases_mae"] == pytest.approx(np.mean(np.abs(predicted - actual)), rel=1e-10)
    assert row["purchases_rmse"] == pytest.approx(
        np.sqrt(np.mean((predicted - actual) ** 2)), rel=1e-10
    )
    assert row["purchases_bias"] == pytest.approx(np.mean(predicted - actual), rel=1e-8)
    # proportional to the run rate: the same correlation with the actual purchases
    assert row["purchases_correlation"] == pytest.approx(
        table.loc["baseline: run rate", "purchases_correlation"], rel=1e-10
    )
    assert np.isnan(row["log_score"])  # a baseline has no predictive distribution
    meta = table.attrs["clvlab"]["baselines"][SIMPLE_FORMULA]["retention"]
    assert (meta["events"], meta["unit"], meta["source"]) == (events, "W", "estimated")
    assert meta["exposure"] == pytest.approx(exposure, rel=1e-12)
    assert meta["lapse"] == pytest.approx(LAPSE_WEEKS, rel=1e-12)
    assert list(table["rank"]) == [1, 2, 3, 4]


def test_partial_last_holdout_period_earns_its_fraction(
    fitted: clvlab.BetaGeo, cdnow_sample_rfm: pd.DataFrame
) -> None:
    # a 38.5-week holdout: 38 whole weeks and half of the 39th
    short = cdnow_sample_rfm.assign(duration_holdout=38.5)
    table = clvlab.compare([fitted], short, names=["bgnbd"])
    predicted, _, _ = _by_hand(short, np.r_[np.ones(38), 0.5])
    assert table.loc[SIMPLE_FORMULA, "predicted_total"] == pytest.approx(predicted.sum(), rel=1e-10)


def test_row_is_left_out_with_the_reason_when_no_retention_can_be_estimated(
    fitted: clvlab.BetaGeo, cdnow_sample_rfm: pd.DataFrame
) -> None:
    # halving recency and T: the longest customer has been observed 19.5 weeks < 26.09
    young = cdnow_sample_rfm.assign(
        recency=cdnow_sample_rfm["recency"] / 2, T=cdnow_sample_rfm["T"] / 2
    )
    table = clvlab.compare([fitted], young.iloc[:300], names=["bgnbd"])
    assert SIMPLE_FORMULA not in table.index
    assert {"baseline: run rate", "baseline: population mean"} <= set(table.index)
    reason = table.attrs["clvlab"]["baselines"][SIMPLE_FORMULA]["skipped"]
    assert reason.startswith("the simple formula cannot be computed on this calibration table")
    assert "no customer has been observed for more than lapse=26.0893 periods of 'W'" in reason


def test_row_is_left_out_when_nothing_records_a_time_unit(
    cdnow_sample_rfm: pd.DataFrame,
) -> None:
    bare = cdnow_sample_rfm.iloc[:400].copy()
    bare.attrs = {}
    model = clvlab.BetaGeo().fit(bare, method="mle", seed=1)  # records no unit either
    table = clvlab.compare([model], bare, names=["bgnbd"])
    assert SIMPLE_FORMULA not in table.index
    assert "record no time unit" in table.attrs["clvlab"]["baselines"][SIMPLE_FORMULA]["skipped"]
