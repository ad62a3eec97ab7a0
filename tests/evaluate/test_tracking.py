"""Aggregate tracking of cumulative repeat purchases (FHL 2005, Figure 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab._imports import import_quietly


@pytest.fixture(scope="module")
def fitted(cdnow_sample_rfm: pd.DataFrame) -> clvlab.BetaGeo:
    return clvlab.BetaGeo().fit(cdnow_sample_rfm, seed=1, progress=False, n_draws=200)


@pytest.fixture(scope="module")
def track(
    fitted: clvlab.BetaGeo, cdnow_sample_rfm: pd.DataFrame, cdnow_sample: pd.DataFrame
) -> pd.DataFrame:
    return clvlab.tracking(fitted, cdnow_sample_rfm, cdnow_sample, max_draws=100)


def test_actual_counts_match_lifetimes_and_rfm(
    track: pd.DataFrame,
    fitted: clvlab.BetaGeo,
    cdnow_sample_rfm: pd.DataFrame,
    cdnow_sample: pd.DataFrame,
) -> None:
    # 78 weekly periods from 1997-01-01 to 1998-06-30, 39 of them in the holdout.
    assert len(track) == 78 and int(track["holdout"].sum()) == 39
    rfm = cdnow_sample_rfm
    at_cal_end = track.loc[~track["holdout"], "cumulative_actual"].iloc[-1]
    # The RFM's repeat purchases, calibration and holdout (BTYD walkthrough: 1,882
    # holdout purchases), are the same purchases counted per week.
    assert at_cal_end == rfm["frequency"].sum()
    assert track["cumulative_actual"].iloc[-1] - at_cal_end == 1882
    # Oracle: lifetimes.utils.expected_cumulative_transactions counts the same actuals.
    lifetimes = import_quietly("lifetimes")
    from lifetimes.utils import expected_cumulative_transactions

    oracle = lifetimes.BetaGeoFitter()
    oracle.params_ = pd.Series(fitted.point_params())[["r", "alpha", "a", "b"]]
    reference = expected_cumulative_transactions(
        oracle, cdnow_sample, "date", "customer_id", t=546, freq="D", freq_multiplier=7
    )
    np.testing.assert_array_equal(track["cumulative_actual"], reference["actual"])
    # lifetimes measures each customer's age to the day *after* the period's last day,
    # one day more than clvlab, which measures it to the last day as rfm_summary measures
    # T. Over the holdout the curves then agree to 0.5%, lifetimes' being the higher.
    ours, theirs = track["cumulative_expected"].iloc[39:], reference["predicted"].iloc[39:]
    np.testing.assert_allclose(ours, theirs, rtol=5e-3)
    assert (ours < theirs).all()


def test_expected_curve_sums_new_customer_expectations(
    track: pd.DataFrame, fitted: clvlab.BetaGeo, cdnow_sample_rfm: pd.DataFrame
) -> None:
    # At the calibration end every customer's age is its T, so the cohort's expected
    # repeat purchases are sum_i E[X(T_i)] (FHL 2005 eq. 9), computed customer by customer.
    per_customer = fitted.expected_purchases_new_customer(cdnow_sample_rfm["T"].to_numpy())
    at_cal_end = track.loc[~track["holdout"], "cumulative_expected"].iloc[-1]
    assert at_cal_end == pytest.approx(per_customer["estimate"].sum(), rel=1e-10)
    np.testing.assert_allclose(track["expected"].cumsum(), track["cumulative_expected"], rtol=1e-12)
    assert (track["cumulative_expected_lower"] <= track["cumulative_expected"]).all()
    assert (track["cumulative_expected"] <= track["cumulative_expected_upper"]).all()


def test_evaluate_reports_tracking(
    fitted: clvlab.BetaGeo, cdnow_sample_rfm: pd.DataFrame, cdnow_sample: pd.DataFrame
) -> None:
    ev = clvlab.evaluate(fitted, cdnow_sample_rfm, transactions=cdnow_sample, max_draws=50)
    assert ev.tracking is not None and len(ev.tracking) == 78
    # FHL 2005 Figure 2: the model tracks the cumulative curve to within a few percent.
    assert 0 < ev.metrics["tracking_mape_holdout"] < 0.05
    assert abs(ev.metrics["tracking_cumulative_error"]) < 0.05


def test_tracking_needs_the_rfm_log(
    fitted: clvlab.BetaGeo, cdnow_sample_rfm: pd.DataFrame, cdnow_sample: pd.DataFrame
) -> None:
    some = cdnow_sample[cdnow_sample["customer_id"] != cdnow_sample["customer_id"].iloc[0]]
    with pytest.raises(clvlab.ClvlabError, match="1 customers of the RFM table"):
        clvlab.tracking(fitted, cdnow_sample_rfm, some)
