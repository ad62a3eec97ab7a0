"""The discrete-time summary (x, t_x, n) of BG/BB: hand-made logs for each grain, the
donations data, lifetimes as an oracle for weeks and days, refusals and properties."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import clvlab
from clvlab.data.discrete import opportunity_summary
from clvlab.errors import ArgumentError, DataQualityWarning, DataValidationError
from clvlab.inference._lifetimes import lifetimes_module

COLUMNS = ["frequency", "recency", "T", "frequency_holdout", "duration_holdout"]

# customer, date, value. Calibration to 2021-12-31, observation to 2023-12-31.
YEARLY_LOG = pd.DataFrame(
    [
        ("a", "2018-03-01", 10.0),
        ("a", "2018-11-15", 5.0),
        ("a", "2019-06-01", 20.0),
        ("a", "2021-02-01", 30.0),
        ("a", "2021-09-01", 10.0),
        ("a", "2023-05-01", 7.0),
        ("b", "2019-12-31", 15.0),
        ("c", "2020-01-01", 1.0),
        ("c", "2020-12-31", 2.0),
        ("c", "2022-01-01", 3.0),
        ("d", "2022-04-01", 1.0),
        ("d", "2022-04-02", 1.0),
    ],
    columns=["customer_id", "date", "spend"],
)


def _quiet(log: pd.DataFrame, **kwargs: object) -> pd.DataFrame:
    """opportunity_summary with its merge warning silenced (tests of other things)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        return opportunity_summary(log, **kwargs)  # type: ignore[arg-type]


def _check(result: pd.DataFrame, expected: dict[str, tuple[int, ...]]) -> None:
    assert list(result.index) == list(expected)
    for name, row in expected.items():
        assert tuple(int(v) for v in result.loc[name, COLUMNS]) == row, name
    for col in COLUMNS:
        assert result[col].dtype == np.int64


def test_years_by_hand() -> None:
    # Hand computation (years 2018 = trial of a; calibration ends in 2021, holdout
    # 2022-2023, so duration_holdout = 2):
    # a: trial 2018; 2019 and 2021 have transactions -> x = 2, t_x = 2021 - 2018 = 3,
    #    n = 2021 - 2018 = 3; 2023 in holdout -> 1. Merged: 2018-11-15 and 2021-09-01.
    # b: trial 2019 -> x = 0, t_x = 0, n = 2.  c: trial 2020 (two merged into it) ->
    #    x = 0, n = 1, holdout 2022 -> 1.  d: first in 2022, after calibration: not in
    #    the cohort; its 2022-04-02 merges. Merged: 2 + 1 + 1 = 4 of 12.
    with pytest.warns(DataQualityWarning, match=r"merged 4 of 12 transactions into the year"):
        result = opportunity_summary(
            YEARLY_LOG,
            monetary_value_col="spend",
            grain="Y",
            calibration_end="2021-12-31",
            observation_end="2023-12-31",
        )
    _check(result, {"a": (2, 3, 3, 1, 2), "b": (0, 0, 2, 0, 2), "c": (0, 0, 1, 1, 2)})
    # a's repeat years total 20 (2019) and 30 + 10 (2021): mean (20 + 40) / 2 = 30;
    # holdout 7. b and c have no repeat year: 0. c's holdout: 3.
    assert result["monetary_value"].tolist() == [30.0, 0.0, 0.0]
    assert result["monetary_value_holdout"].tolist() == [7.0, 0.0, 3.0]
    meta = clvlab.rfm_metadata(result)
    assert meta["kind"] == "discrete"
    assert meta["time_unit"] == meta["grain"] == "Y"
    assert meta["merged_transactions"] == 4
    assert meta["n_customers_after_calibration"] == 1
    assert meta["n_transactions"] == 12
    assert meta["calibration_end"] == "2021-12-31"
    assert meta["observation_end"] == "2023-12-31"
    # validate_rfm accepts it as it is, with the holdout and monetary columns
    checked = clvlab.validate_rfm(result, monetary=True, holdout=True)
    assert checked["frequency"].tolist() == [2, 0, 0]


def test_quarters_by_hand() -> None:
    # Hand computation, quarters numbered from 2018Q1 = 0: calibration ends 2021Q4 = 15,
    # observation 2023Q4 = 23 (duration_holdout 8).
    # a: 2018Q1 (0, trial), 2018Q4 (3), 2019Q2 (5), 2021Q1 (12), 2021Q3 (14), holdout
    #    2023Q2 -> x = 4, t_x = 14, n = 15, holdout 1.
    # b: 2019Q4 (7) -> x = 0, n = 8.  c: 2020Q1 (8), 2020Q4 (11), holdout 2022Q1 ->
    #    x = 1, t_x = 3, n = 7, holdout 1.  d: both in 2022Q2: 1 merged, not in cohort.
    with pytest.warns(DataQualityWarning, match=r"merged 1 of 12 transactions into the quarter"):
        result = opportunity_summary(
            YEARLY_LOG,
            monetary_value_col="spend",
            grain="Q",
            calibration_end="2021-12-31",
            observation_end="2023-12-31",
        )
    _check(result, {"a": (4, 14, 15, 1, 8), "b": (0, 0, 8, 0, 8), "c": (1, 3, 7, 1, 8)})
    # a's repeat quarters: 5, 20, 30, 10 -> mean 16.25 (hand computation)
    assert result.loc["a", "monetary_value"] == 16.25
    assert clvlab.rfm_metadata(result)["merged_transactions"] == 1


def test_months_by_hand() -> None:
    # Hand computation, months numbered from 2018-01 = 0: calibration ends 2021-12 = 47,
    # observation 2023-12 = 71 (duration_holdout 24).
    # a: 2018-03 (2, trial), 2018-11 (10), 2019-06 (17), 2021-02 (37), 2021-09 (44) ->
    #    x = 4, t_x = 42, n = 45; holdout 2023-05 -> 1.
    # b: 2019-12 (23) -> n = 24.  c: 2020-01 (24), 2020-12 (35), holdout 2022-01 ->
    #    x = 1, t_x = 11, n = 23.  d: both in 2022-04: 1 merged.
    with pytest.warns(DataQualityWarning, match=r"merged 1 of 12 transactions into the month"):
        result = opportunity_summary(
            YEARLY_LOG, grain="M", calibration_end="2021-12-31", observation_end="2023-12-31"
        )
    _check(result, {"a": (4, 42, 45, 1, 24), "b": (0, 0, 24, 0, 24), "c": (1, 11, 23, 1, 24)})


# 2024-01-01 is a Monday. ISO weeks: w0 = 01-01..01-07, w1 = 01-08..01-14,
# w2 = 01-15..01-21, w3 = 01-22..01-28, w4 = 01-29..02-04.
WEEKLY_LOG = pd.DataFrame(
    {
        "customer_id": [1, 1, 1, 1, 1, 2],
        "date": pd.to_datetime(
            ["2024-01-03", "2024-01-07", "2024-01-08", "2024-01-20", "2024-01-30", "2024-01-14"]
        ),
    }
)


def test_iso_weeks_by_hand() -> None:
    # Hand computation: customer 1 trial w0 (Wednesday and Sunday merge: 1 merged), then
    # w1 (Monday 01-08, a new ISO week) and w2 -> x = 2, t_x = 2, n = 2 (calibration
    # ends Sunday 01-21 = end of w2); holdout w4 -> 1 of 2 weeks. Customer 2: trial w1,
    # n = 1.
    with pytest.warns(DataQualityWarning, match=r"merged 1 of 6 transactions into the week"):
        result = opportunity_summary(
            WEEKLY_LOG, grain="W", calibration_end="2024-01-21", observation_end="2024-02-04"
        )
    _check(result, {1: (2, 2, 2, 1, 2), 2: (0, 0, 1, 0, 2)})


def test_weeks_from_sunday_with_start() -> None:
    # Hand computation, weeks from Sunday 2023-12-31: v0 = 12-31..01-06, v1 = 01-07..01-13,
    # v2 = 01-14..01-20, v3 = 01-21..01-27, v4 = 01-28..02-03. Customer 1: trial v0
    # (01-03), v1 (01-07 and 01-08 merge), v2 (01-20) -> x = 2, t_x = 2, n = 2 with
    # calibration to Saturday 01-20; holdout v4 (01-30) -> 1 of 2 weeks (to 02-03).
    # Customer 2: trial v2 (01-14), n = 0.
    with pytest.warns(DataQualityWarning, match=r"merged 1 of 6"):
        result = opportunity_summary(
            WEEKLY_LOG,
            grain="week",
            calibration_end="2024-01-20",
            observation_end="2024-02-03",
            start="2023-12-31",
        )
    _check(result, {1: (2, 2, 2, 1, 2), 2: (0, 0, 0, 0, 2)})


def test_days_by_hand() -> None:
    # Hand computation in days: customer 1 trial 01-03, repeats 01-07, 01-08, 01-20 ->
    # x = 3, t_x = 17, n = 21 - 3 = 18; holdout 01-30 -> 1 of 14 days. Customer 2:
    # trial 01-14, n = 7. No two transactions share a day: nothing merged, no warning.
    result = opportunity_summary(
        WEEKLY_LOG, grain="D", calibration_end="2024-01-21", observation_end="2024-02-04"
    )
    _check(result, {1: (3, 17, 18, 1, 14), 2: (0, 0, 7, 0, 14)})
    assert clvlab.rfm_metadata(result)["merged_transactions"] == 0


def test_fiscal_years_with_start() -> None:
    # Hand computation, fiscal years from 1 April: FY0 = 2018-04..2019-03, FY1 = 2019-04..
    # 2020-03, FY2 = 2020-04..2021-03. a: 2018-03-01 is in FY-1 (trial), 2018-11-15 and
    # 2019-06-01 in FY0 and FY1, 2021-02-01 in FY2 -> x = 3, t_x = 3, n = 3 (calibration
    # to 2021-03-31). b: 2019-12-31 in FY1 -> n = 1. c: 2020-01-01 in FY1, 2020-12-31 in
    # FY2 -> x = 1, t_x = 1, n = 1.
    log = YEARLY_LOG[pd.to_datetime(YEARLY_LOG["date"]) <= "2021-03-31"]
    result = opportunity_summary(log, grain="Y", observation_end="2021-03-31", start="2018-04-01")
    assert result[["frequency", "recency", "T"]].to_dict("index") == {
        "a": {"frequency": 3, "recency": 3, "T": 3},
        "b": {"frequency": 0, "recency": 0, "T": 1},
        "c": {"frequency": 1, "recency": 1, "T": 1},
    }
    assert clvlab.rfm_metadata(result)["start"] == "2018-04-01"


# ------------------------------------------------------------------------- donations


def _donations_log() -> pd.DataFrame:
    """The donations data as a log: a 1995 trial gift for each donor, then one gift in
    each of x of the years 1996-2001 (opportunity k is year 1995 + k), the last in year
    1995 + t_x and the others in the first x - 1 years."""
    rows = clvlab.datasets.load_donations()
    ids, years = [], []
    donor = 0
    for x, t_x, n, weight in rows[["frequency", "recency", "periods", "weight"]].to_numpy():
        assert n == 6
        pattern = [0, *range(1, x), t_x] if x else [0]
        for _ in range(weight):
            ids.extend([donor] * len(pattern))
            years.extend(pattern)
            donor += 1
    dates = pd.to_datetime(
        pd.Series(1995 + np.asarray(years)).astype(str) + "-06-15", format="%Y-%m-%d"
    )
    return pd.DataFrame({"donor": ids, "date": dates})


def test_donations_fold_to_the_shipped_rows() -> None:
    # Source: lifetimes' donations.csv (Fader, Hardie & Shang 2010): 11,104 donors of the
    # 1995 cohort, 6 annual opportunities 1996-2001, 22 distinct (x, t_x, n).
    log = _donations_log()
    rfm = opportunity_summary(log, customer_id_col="donor", grain="Y", observation_end="2001-12-31")
    assert len(rfm) == 11_104
    assert (rfm["T"] == 6).all()
    folded = clvlab.fold(rfm, ("frequency", "recency", "T"))
    ours = folded.rows.rename(columns={"T": "periods"}).astype(np.int64)
    shipped = clvlab.datasets.load_donations()
    pd.testing.assert_frame_equal(
        ours.sort_values(["frequency", "recency"]).reset_index(drop=True),
        shipped.sort_values(["frequency", "recency"]).reset_index(drop=True),
    )
    # the folded map gives every donor back their own row
    np.testing.assert_array_equal(folded.unfold(folded.column("frequency")), rfm["frequency"])


def test_donations_with_a_holdout_split() -> None:
    # Calibration 1996-1998 (n = 3) on the same log, holdout 1999-2001 (3 opportunities).
    # Hand check against the shipped rows: a donor's calibration x counts their years
    # among 1-3, and the holdout counts the rest, so the totals add up to the shipped x.
    log = _donations_log()
    rfm = opportunity_summary(
        log,
        customer_id_col="donor",
        grain="Y",
        calibration_end="1998-12-31",
        observation_end="2001-12-31",
    )
    shipped = clvlab.datasets.load_donations()
    total_x = int((shipped["frequency"] * shipped["weight"]).sum())
    assert int((rfm["frequency"] + rfm["frequency_holdout"]).sum()) == total_x
    assert (rfm["T"] == 3).all() and (rfm["duration_holdout"] == 3).all()
    assert rfm["recency"].max() == 3


# --------------------------------------------------------------------------- lifetimes


@pytest.mark.parametrize(
    ("grain", "cal_end", "obs_end"),
    [("W", "2024-03-03", "2024-05-05"), ("D", "2024-03-01", "2024-04-30")],
)
def test_matches_lifetimes_for_weeks_and_days(grain: str, cal_end: str, obs_end: str) -> None:
    # Oracle: lifetimes.utils.calibration_and_holdout_data with freq="W" (pandas' W-SUN
    # periods, Monday to Sunday, as ISO weeks) and freq="D" counts whole periods between
    # period starts, which is the discrete definition when the ends are period ends.
    rng = np.random.default_rng(7)
    n = 400
    log = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 60, n),
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 121, n), "D"),
            "spend": rng.integers(1, 50, n).astype(float),
        }
    )
    ours = _quiet(
        log,
        monetary_value_col="spend",
        grain=grain,
        calibration_end=cal_end,
        observation_end=obs_end,
    )
    utils = lifetimes_module("lifetimes.utils")
    ref = utils.calibration_and_holdout_data(
        log,
        "customer_id",
        "date",
        calibration_period_end=cal_end,
        observation_period_end=obs_end,
        freq=grain,
        monetary_value_col="spend",
    )
    assert sorted(ours.index) == sorted(ref.index)
    ours = ours.loc[ref.index]
    for mine, theirs in [
        ("frequency", "frequency_cal"),
        ("recency", "recency_cal"),
        ("T", "T_cal"),
        ("frequency_holdout", "frequency_holdout"),
        ("duration_holdout", "duration_holdout"),
    ]:
        np.testing.assert_array_equal(ours[mine].to_numpy(float), ref[theirs].to_numpy(float))
    np.testing.assert_allclose(ours["monetary_value"], ref["monetary_value_cal"])


def test_days_equal_rfm_summary_in_days() -> None:
    # Oracle: rfm_summary(time_unit="D") counts same-day purchases once and measures
    # recency and T in whole days: the discrete summary at grain "D" is the same table.
    rfm = clvlab.rfm_summary(WEEKLY_LOG, time_unit="D", observation_end="2024-02-04")
    ours = opportunity_summary(WEEKLY_LOG, grain="D", observation_end="2024-02-04")
    for col in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(ours[col].to_numpy(float), rfm[col].to_numpy(float))


# ---------------------------------------------------------------------------- folding


def test_fold_groups_equal_histories() -> None:
    # Hand computation on YEARLY_LOG with calibration to 2021-12-31 and no holdout
    # (observation to 2021-12-31 after removing later rows): a (2, 3, 3), b (0, 0, 2),
    # c (0, 0, 1); adding e = b's history (trial 2019) folds e with b.
    log = YEARLY_LOG[pd.to_datetime(YEARLY_LOG["date"]) <= "2021-12-31"]
    extra = pd.DataFrame({"customer_id": ["e"], "date": ["2019-01-05"], "spend": [1.0]})
    rfm = _quiet(pd.concat([log, extra]), grain="Y", observation_end="2021-12-31")
    folded = clvlab.fold(rfm, ("frequency", "recency", "T"))
    rows = {
        tuple(int(v) for v in r[:3]): int(r[3])
        for r in folded.rows[["frequency", "recency", "T", "weight"]].to_numpy()
    }
    assert rows == {(0, 0, 1): 1, (0, 0, 2): 2, (2, 3, 3): 1}


# --------------------------------------------------------------------------- refusals


def test_bad_grain() -> None:
    with pytest.raises(ArgumentError, match=r"unknown grain 'H'.*'Y' \(year\), 'Q' \(quarter\)"):
        opportunity_summary(YEARLY_LOG, grain="H", observation_end="2023-12-31")
    with pytest.raises(ArgumentError, match=r"unknown grain 12"):
        opportunity_summary(YEARLY_LOG, grain=12, observation_end="2023-12-31")  # type: ignore[arg-type]


def test_calibration_end_inside_a_period() -> None:
    message = (
        "column 'calibration_end': 2020-06-30 is inside the year 2020-01-01 to 2020-12-31, "
        "not at its end; an opportunity is a whole year, so calibration_end must be the "
        "last day of a year. Pass calibration_end='2020-12-31' (the end of that year) or "
        "calibration_end='2019-12-31' (the end of the year before)"
    )
    with pytest.raises(DataValidationError, match=re.escape(message)):
        _quiet(YEARLY_LOG, calibration_end="2020-06-30", observation_end="2023-12-31")
    # the suggested end works
    _quiet(YEARLY_LOG, calibration_end="2020-12-31", observation_end="2023-12-31")
    # only ends inside the data range are suggested: 2023's end is observation_end
    with pytest.raises(DataValidationError, match=r"Pass calibration_end='2022-12-31' \(the end"):
        _quiet(YEARLY_LOG, calibration_end="2023-03-31", observation_end="2023-12-31")
    # a quarter: 2021-11-30 is inside 2021Q4
    with pytest.raises(
        DataValidationError, match=r"inside the quarter 2021-10-01 to 2021-12-31, not at its end"
    ):
        _quiet(YEARLY_LOG, grain="Q", calibration_end="2021-11-30", observation_end="2023-12-31")


def test_no_period_end_to_suggest() -> None:
    log = pd.DataFrame({"customer_id": [1, 1], "date": ["2018-05-01", "2018-07-01"]})
    with pytest.raises(DataValidationError, match=r"No year ends between the first transaction"):
        opportunity_summary(log, calibration_end="2018-06-30", observation_end="2018-12-31")


def test_observation_end_inside_a_period() -> None:
    # by default it is the last transaction day (2023-05-01), inside 2023
    with pytest.raises(
        DataValidationError,
        match=re.escape(
            "column 'observation_end': defaults to the last transaction day, 2023-05-01, "
            "which is inside the year 2023-01-01 to 2023-12-31; an opportunity is a whole "
            "year, so observation_end must be the last day of a year. Pass "
            "observation_end='2023-12-31' (the end of that year, if it was observed) or "
            "observation_end='2022-12-31' (the end of the year before) after removing the "
            "transactions after it"
        ),
    ):
        _quiet(YEARLY_LOG, calibration_end="2021-12-31")
    with pytest.raises(DataValidationError, match=r"'observation_end': 2024-01-03 is inside the"):
        _quiet(YEARLY_LOG, observation_end="2024-01-03")


def test_start_not_on_the_first_of_a_month() -> None:
    with pytest.raises(
        DataValidationError,
        match=r"'start': 2020-04-02 is not the first day of a month.*Pass start='2020-04-01'",
    ):
        _quiet(YEARLY_LOG, observation_end="2023-12-31", start="2020-04-02")
    with pytest.raises(DataValidationError, match=r"'start': must be a date, got 5"):
        _quiet(YEARLY_LOG, observation_end="2023-12-31", start=5)


def test_calibration_end_outside_the_data() -> None:
    # the same rule and message as rfm_summary
    with pytest.raises(DataValidationError, match=r"'calibration_end': 2016-12-31 is outside"):
        _quiet(YEARLY_LOG, calibration_end="2016-12-31", observation_end="2023-12-31")
    with pytest.raises(DataValidationError, match=r"'calibration_end': 2023-12-31 is outside"):
        _quiet(YEARLY_LOG, calibration_end="2023-12-31", observation_end="2023-12-31")


@pytest.mark.parametrize(
    ("log", "kwargs", "match"),
    [
        (
            pd.DataFrame({"customer_id": [1, None], "date": ["2020-01-01", "2020-02-01"]}),
            {},
            r"'customer_id': customer id is null \(1 row",
        ),
        (
            pd.DataFrame({"customer_id": [1, 2], "date": ["2020-01-01", None]}),
            {},
            r"'date': date is null \(1 row, customer id 2\)",
        ),
        (
            pd.DataFrame({"customer_id": [1, 2], "date": ["01/02/2020", "03/04/2020"]}),
            {},
            r"'date': dates are ambiguous",
        ),
        (
            pd.DataFrame({"customer_id": [7, "7"], "date": ["2020-01-01", "2020-02-01"]}),
            {},
            r"different customer ids have the same text form '7'",
        ),
        (
            pd.DataFrame({"customer_id": [1], "date": ["2020-01-01"]}),
            {"monetary_value_col": "spend"},
            r"'spend'.*missing",
        ),
        (
            pd.DataFrame({"customer_id": [1], "date": ["2021-01-01"]}),
            {"observation_end": "2020-12-31"},
            r"'date': transaction after observation_end 2020-12-31",
        ),
        (pd.DataFrame({"customer_id": [], "date": []}), {}, r"empty"),
    ],
)
def test_transaction_errors_as_rfm_summary(
    log: pd.DataFrame, kwargs: dict[str, object], match: str
) -> None:
    kwargs = {"observation_end": "2020-12-31", **kwargs}
    with pytest.raises(DataValidationError, match=match):
        opportunity_summary(log, **kwargs)  # type: ignore[arg-type]
    # rfm_summary raises the same
    with pytest.raises(DataValidationError, match=match):
        clvlab.rfm_summary(log, **kwargs)  # type: ignore[arg-type]


def test_invalid_drop_is_recorded() -> None:
    log = pd.DataFrame({"customer_id": [1, 1, 2], "date": ["2019-01-01", "2020-02-01", None]})
    with pytest.warns(DataQualityWarning, match="dropped 1 of 3 rows"):
        rfm = opportunity_summary(log, observation_end="2020-12-31", invalid="drop")
    # Hand computation: customer 1 trial 2019, 2020 -> x = 1, t_x = 1, n = 1.
    assert rfm.loc[1, ["frequency", "recency", "T"]].tolist() == [1, 1, 1]
    assert clvlab.rfm_metadata(rfm)["dropped_rows"] == {"date: date is null": 1}


def test_input_not_mutated() -> None:
    log = YEARLY_LOG.copy()
    before = log.copy()
    _quiet(
        log,
        monetary_value_col="spend",
        grain="M",
        calibration_end="2021-12-31",
        observation_end="2023-12-31",
    )
    pd.testing.assert_frame_equal(log, before)


# ------------------------------------------------------------------------- properties


PANDAS_FREQ = {"Y": "Y", "Q": "Q", "M": "M", "W": "W-SUN", "D": "D"}


@st.composite
def small_logs(draw: st.DrawFn) -> tuple[pd.DataFrame, str, str | None, str]:
    """A random log, a grain, a calibration end (or None) and an observation end, both
    period ends (from pandas' Periods: W-SUN weeks run Monday to Sunday, as ISO weeks)."""
    grain = draw(st.sampled_from(list(PANDAS_FREQ)))
    n = draw(st.integers(1, 25))
    customers = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    offsets = draw(st.lists(st.integers(0, 900), min_size=n, max_size=n))
    days = np.datetime64("2020-01-01") + np.asarray(offsets, dtype="timedelta64[D]")
    periods = pd.Series(pd.to_datetime(days)).dt.to_period(PANDAS_FREQ[grain])
    last = periods.max() + draw(st.integers(0, 2))
    span = (last - periods.min()).n
    back = draw(st.integers(0, span))
    cal_end = None if back == 0 else str((last - back).end_time.date())
    return (
        pd.DataFrame({"customer_id": customers, "date": days}),
        grain,
        cal_end,
        str(last.end_time.date()),
    )


def _reference(log: pd.DataFrame, grain: str, cal_end: str | None, obs_end: str) -> pd.DataFrame:
    """(x, t_x, n, holdout) from pandas Periods, customer by customer (the definition)."""
    freq = PANDAS_FREQ[grain]
    cal = pd.Period(cal_end or obs_end, freq)
    obs = pd.Period(obs_end, freq)
    rows = {}
    for cust, dates in log.groupby("customer_id", sort=False)["date"]:
        periods = sorted(set(dates.dt.to_period(freq)))
        first = periods[0]
        if first > cal:
            continue
        repeat = [p for p in periods[1:] if p <= cal]
        rows[cust] = {
            "frequency": len(repeat),
            "recency": (repeat[-1] - first).n if repeat else 0,
            "T": (cal - first).n,
            "frequency_holdout": sum(p > cal for p in periods),
            "duration_holdout": (obs - cal).n,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


@given(small_logs())
def test_properties(case: tuple[pd.DataFrame, str, str | None, str]) -> None:
    # Oracle: the definition computed customer by customer with pandas Periods.
    log, grain, cal_end, obs_end = case
    before = log.copy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataQualityWarning)
        rfm = opportunity_summary(
            log, grain=grain, calibration_end=cal_end, observation_end=obs_end
        )
    pd.testing.assert_frame_equal(log, before)
    ref = _reference(log, grain, cal_end, obs_end)
    assert list(rfm.index) == list(ref.index)
    x, t_x, n = (rfm[c].to_numpy() for c in ("frequency", "recency", "T"))
    assert ((t_x >= 0) & (t_x <= n)).all()
    assert (x <= t_x).all()
    assert ((x == 0) == (t_x == 0)).all()
    for col in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(rfm[col].to_numpy(), ref[col].to_numpy())
    meta = clvlab.rfm_metadata(rfm)
    distinct = log.assign(p=log["date"].dt.to_period(PANDAS_FREQ[grain]))
    merged = len(log) - len(distinct.drop_duplicates(["customer_id", "p"]))
    assert meta["merged_transactions"] == merged
    assert len(caught) == (1 if merged else 0)
    assert meta["n_customers_after_calibration"] == log["customer_id"].nunique() - len(ref)
    if cal_end is not None:
        hold, dur = rfm["frequency_holdout"].to_numpy(), rfm["duration_holdout"].to_numpy()
        assert ((hold >= 0) & (hold <= dur)).all()
        assert (dur >= 1).all()
        np.testing.assert_array_equal(hold, ref["frequency_holdout"].to_numpy())
        np.testing.assert_array_equal(dur, ref["duration_holdout"].to_numpy())
        clvlab.validate_rfm(rfm, holdout=True)
    else:
        clvlab.validate_rfm(rfm)
    # folding keeps every customer
    assert clvlab.fold(rfm, ("frequency", "recency", "T")).weights.sum() == len(rfm)
