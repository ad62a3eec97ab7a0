"""RFM summary and holdout split against published CDNOW numbers and lifetimes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.inference._lifetimes import lifetimes_module


def test_cdnow_sample_counts(cdnow_sample_rfm: pd.DataFrame) -> None:
    # Source: Fader, Hardie & Lee (2005) CDNOW sample: 2,357 customers, 2,457 repeat
    # purchases in weeks 1-39, 1,411 customers with none, 1,882 in weeks 40-78.
    rfm = cdnow_sample_rfm
    assert len(rfm) == 2357
    assert int(rfm["frequency"].sum()) == 2457
    assert int((rfm["frequency"] == 0).sum()) == 1411
    assert int(rfm["frequency_holdout"].sum()) == 1882


def test_cdnow_customer_one(cdnow_sample_rfm: pd.DataFrame) -> None:
    # Source: Fader, Hardie & Lee (2005) / Hardie's CDNOW summary file: customer 1 has
    # x = 2, t_x = 30.43, T = 38.86 weeks, and a mean repeat spend of 22.35.
    row = cdnow_sample_rfm.loc[1]
    assert row["frequency"] == 2
    assert row["recency"] == pytest.approx(30.43, abs=0.005)
    assert row["T"] == pytest.approx(38.86, abs=0.005)
    assert row["monetary_value"] == pytest.approx(22.35, abs=0.005)
    assert row["duration_holdout"] == pytest.approx(39.0)


def test_matches_published_summary(
    cdnow_sample_rfm: pd.DataFrame, cdnow_summary: pd.DataFrame
) -> None:
    # Source: the CDNOW summary file shipped with lifetimes (values rounded to 2 d.p.).
    ours = cdnow_sample_rfm.loc[cdnow_summary.index]
    np.testing.assert_array_equal(ours["frequency"], cdnow_summary["frequency"])
    for col in ("recency", "T", "monetary_value"):
        np.testing.assert_allclose(ours[col], cdnow_summary[col], atol=0.0051)


def test_matches_lifetimes_calibration_and_holdout(
    cdnow_sample: pd.DataFrame, cdnow_sample_rfm: pd.DataFrame
) -> None:
    # Oracle: lifetimes.utils.calibration_and_holdout_data with daily periods / 7.
    utils = lifetimes_module("lifetimes.utils")
    ref = utils.calibration_and_holdout_data(
        cdnow_sample,
        "customer_id",
        "date",
        calibration_period_end="1997-09-30",
        observation_period_end="1998-06-30",
        freq="D",
        freq_multiplier=7,
        monetary_value_col="spend",
    )
    ours = cdnow_sample_rfm.loc[ref.index]
    np.testing.assert_array_equal(ours["frequency"], ref["frequency_cal"])
    np.testing.assert_allclose(ours["recency"], ref["recency_cal"], rtol=1e-12)
    np.testing.assert_allclose(ours["T"], ref["T_cal"], rtol=1e-12)
    np.testing.assert_allclose(ours["monetary_value"], ref["monetary_value_cal"], rtol=1e-12)
    np.testing.assert_array_equal(ours["frequency_holdout"], ref["frequency_holdout"])
    np.testing.assert_allclose(ours["duration_holdout"], ref["duration_holdout"])


def test_holdout_monetary_value_sums_same_day_purchases(
    cdnow_sample: pd.DataFrame, cdnow_sample_rfm: pd.DataFrame
) -> None:
    # lifetimes averages raw holdout rows but day-sums calibration rows; clvlab day-sums
    # both, so a "purchase" means the same thing in both periods. Independent check:
    hold = cdnow_sample[(cdnow_sample["date"] > "1997-09-30")]
    per_day = hold.groupby(["customer_id", "date"])["spend"].sum()
    expected = per_day.groupby(level="customer_id").mean()
    ours = cdnow_sample_rfm["monetary_value_holdout"]
    np.testing.assert_allclose(ours.loc[expected.index], expected, rtol=1e-12)
    assert (ours.drop(expected.index) == 0).all()


def test_matches_lifetimes_summary_without_split(cdnow_sample: pd.DataFrame) -> None:
    # Oracle: lifetimes.utils.summary_data_from_transaction_data, daily periods.
    utils = lifetimes_module("lifetimes.utils")
    ref = utils.summary_data_from_transaction_data(
        cdnow_sample, "customer_id", "date", monetary_value_col="spend", freq="D"
    )
    ours = clvlab.rfm_summary(cdnow_sample, monetary_value_col="spend", time_unit="D")
    ours = ours.loc[ref.index]
    np.testing.assert_array_equal(ours["frequency"], ref["frequency"])
    for col in ("recency", "T", "monetary_value"):
        np.testing.assert_allclose(ours[col], ref[col], rtol=1e-12)


def test_metadata_records_unit_and_dates(cdnow_sample_rfm: pd.DataFrame) -> None:
    meta = clvlab.rfm_metadata(cdnow_sample_rfm)
    assert meta["time_unit"] == "W"
    assert meta["calibration_end"] == "1997-09-30"
    assert meta["observation_end"] == "1998-06-30"
    assert meta["first_transaction"] == "1997-01-01"
    # the CDNOW 1/10 sample has 6,919 transaction lines (lifetimes' cdnow_sample.csv, from
    # Hardie's CDNOW_sample.txt)
    assert meta["n_transactions"] == 6919


def test_same_day_purchases_count_once_and_sum() -> None:
    log = pd.DataFrame(
        {
            "id": ["a", "a", "a", "a"],
            "when": ["2021-01-01 09:00", "2021-01-08 10:00", "2021-01-08 18:00", "2021-01-15"],
            "amount": [5.0, 1.0, 2.0, 6.0],
        }
    )
    rfm = clvlab.rfm_summary(log, "id", "when", "amount", time_unit="D")
    assert rfm.loc["a", "frequency"] == 2
    assert rfm.loc["a", "recency"] == 14.0
    assert rfm.loc["a", "T"] == 14.0
    # repeat days are worth 3 (1 + 2 on one day) and 6: mean 4.5
    assert rfm.loc["a", "monetary_value"] == 4.5


@pytest.mark.parametrize(("unit", "days"), [("D", 1.0), ("W", 7.0), ("M", 30.4375), ("Y", 365.25)])
def test_time_units_are_calendar_exact(unit: str, days: float) -> None:
    log = pd.DataFrame({"customer_id": [1, 1], "date": ["2020-01-01", "2020-03-01"]})
    rfm = clvlab.rfm_summary(log, time_unit=unit, observation_end="2020-12-31")
    assert rfm.loc[1, "recency"] == pytest.approx(60 / days)
    assert rfm.loc[1, "T"] == pytest.approx(365 / days)


def test_customers_acquired_after_calibration_are_counted_not_hidden() -> None:
    log = pd.DataFrame(
        {"customer_id": [1, 1, 2], "date": ["2020-01-01", "2020-02-01", "2020-03-01"]}
    )
    rfm = clvlab.rfm_summary(
        log, calibration_end="2020-01-15", observation_end="2020-03-31", time_unit="D"
    )
    assert list(rfm.index) == [1]
    assert rfm.loc[1, "frequency_holdout"] == 1
    assert clvlab.rfm_metadata(rfm)["n_customers_after_calibration"] == 1


def test_input_frame_is_not_modified(cdnow_sample: pd.DataFrame) -> None:
    before = cdnow_sample.copy(deep=True)
    clvlab.rfm_summary(cdnow_sample, monetary_value_col="spend", calibration_end="1997-09-30")
    pd.testing.assert_frame_equal(cdnow_sample, before)


def test_simulated_log_matches_lifetimes() -> None:
    # Oracle: lifetimes' summary on a simulated log with string ids and times of day.
    log = clvlab.simulate_transactions(300, seed=7)
    log["customer_id"] = "c" + log["customer_id"].astype(str)
    end = log.attrs["clvlab"]["observation_end"]
    utils = lifetimes_module("lifetimes.utils")
    ref = utils.summary_data_from_transaction_data(
        log,
        "customer_id",
        "date",
        "spend",
        observation_period_end=end,
        freq="D",
        freq_multiplier=7,
    )
    ours = clvlab.rfm_summary(log, monetary_value_col="spend", observation_end=end).loc[ref.index]
    np.testing.assert_array_equal(ours["frequency"], ref["frequency"])
    for col in ("recency", "T", "monetary_value"):
        np.testing.assert_allclose(ours[col], ref[col], rtol=1e-12)


def test_weekly_resolution_matches_period_counting() -> None:
    log = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 2],
            # day 0, day 3 (same week 0), day 9 (week 1), day 30 (week 4); customer 2 day 15
            "date": ["2020-01-01", "2020-01-04", "2020-01-10", "2020-01-31", "2020-01-16"],
        }
    )
    rfm = clvlab.rfm_summary(log, observation_end="2020-02-12", resolution="W")
    # the log starts 2020-01-01; 2020-02-12 is day 42, week 6
    assert rfm.loc[1].to_dict() == {"frequency": 2, "recency": 4.0, "T": 6.0}
    assert rfm.loc[2].to_dict() == {"frequency": 0, "recency": 0.0, "T": 4.0}
    assert clvlab.rfm_metadata(rfm)["resolution"] == "W"
    with pytest.raises(clvlab.DataValidationError, match="resolution"):
        clvlab.rfm_summary(log, resolution="M")
