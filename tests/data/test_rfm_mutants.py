"""Tests written to kill mutants of clvlab.data.rfm that survived `make mutation`.

Every expected value is a hand computation on the small log below (dates and amounts
chosen so that each column has a distinct, checkable value).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvlab

LOG = pd.DataFrame(
    {
        "customer_id": ["a", "a", "a", "b", "a", "a", "c"],
        "date": [
            "2020-01-01",  # a: first purchase day (two lines, 15 in total)
            "2020-01-01",
            "2020-01-08",  # a: the one repeat day of calibration (20)
            "2020-01-15",  # b: one purchase only
            "2020-02-05",  # a: holdout (30)
            "2020-02-06",  # a: holdout (12)
            "2020-02-10",  # c: first seen in the holdout, so not in the cohort
        ],
        "spend": [10.0, 5.0, 20.0, 8.0, 30.0, 12.0, 3.0],
    }
)


def _summary(**kwargs: object) -> pd.DataFrame:
    return clvlab.rfm_summary(
        LOG.copy(),
        monetary_value_col="spend",
        calibration_end="2020-01-31",
        observation_end="2020-02-29",
        **kwargs,  # type: ignore[arg-type]
    )


def test_every_column_in_days_including_the_holdout_spend() -> None:
    rfm = _summary(time_unit="D")
    assert list(rfm.index) == ["a", "b"] and rfm.index.name == "customer_id"
    # hand computation, days from each customer's first purchase to 2020-01-31
    expected = pd.DataFrame(
        {
            "frequency": [1, 0],  # a: one repeat day; b: none
            "recency": [7.0, 0.0],  # a: Jan 1 -> Jan 8
            "T": [30.0, 16.0],  # Jan 1 -> Jan 31, Jan 15 -> Jan 31
            "monetary_value": [20.0, 0.0],  # repeat days only: the first day is left out
            "frequency_holdout": [2, 0],  # a: Feb 5 and Feb 6
            "monetary_value_holdout": [21.0, 0.0],  # (30 + 12) / 2 purchase days
            "duration_holdout": [29.0, 29.0],  # Jan 31 -> Feb 29 (2020 is a leap year)
        },
        index=pd.Index(["a", "b"], name="customer_id"),
    )
    pd.testing.assert_frame_equal(rfm[expected.columns], expected, check_dtype=False)
    assert rfm["frequency"].dtype == np.int64
    assert rfm["frequency_holdout"].dtype == np.int64


def test_weekly_resolution_counts_whole_weeks_from_the_first_day() -> None:
    rfm = _summary(time_unit="W", resolution="W")
    # hand computation: weeks of 7 days from 2020-01-01 (day // 7): a buys in weeks 0
    # and 1, b in week 2; the calibration ends in week 30 // 7 = 4; a's holdout days
    # (days 35 and 36) are both in week 5, so they count once, with 42 spent that week.
    assert rfm.loc["a", "frequency"] == 1
    assert rfm.loc["a", "recency"] == pytest.approx(1.0)
    assert rfm.loc["a", "T"] == pytest.approx(4.0)
    assert rfm.loc["b", "T"] == pytest.approx(2.0)
    assert rfm.loc["a", "frequency_holdout"] == 1
    assert rfm.loc["a", "monetary_value_holdout"] == pytest.approx(42.0)
    # duration_holdout stays exact time: 29 days = 29 / 7 weeks
    assert rfm.loc["a", "duration_holdout"] == pytest.approx(29 / 7)
