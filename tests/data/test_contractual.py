"""The contractual data layer of the shifted-beta-geometric model: cohort survival counts
(Fader & Hardie 2007, Table 1) and subscriptions folded into renewal histories, their
refusals, and how ShiftedBetaGeo reads them (weights, metadata, recency = frequency).

Every expected number is either from Fader & Hardie (2007), "How to Project Customer
Retention", Journal of Interactive Marketing 21(1), 76-90 (FH07), or a hand computation
written next to it.
"""

from __future__ import annotations

import copy
import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import betaln

import clvlab
from clvlab.data.contractual import cohort_histories, subscription_summary, validate_contracts
from clvlab.errors import ArgumentError, DataQualityWarning, DataValidationError
from clvlab.formulas import sbg
from clvlab.formulas._ops import numpy_ops

HISTORY = ["frequency", "recency", "T", "weight"]

# FH07 Table 1, years 0-12 (the shipped dataset is checked against this copy below).
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]


def _rows(table: pd.DataFrame) -> list[tuple[int, int, int, int]]:
    return [tuple(int(v) for v in row) for row in table[HISTORY].to_numpy()]


# --- cohort_histories: FH07 Table 1 ------------------------------------------------------


def test_dataset_is_fh07_table1() -> None:
    # FH07 Table 1, as printed (regular and high end cohorts, years 0-12)
    data = clvlab.datasets.load_retention_cohorts()
    assert data.index.tolist() == list(range(13))
    assert data["regular"].tolist() == REGULAR
    assert data["high_end"].tolist() == HIGH_END


def test_fh07_regular_calibration_rows() -> None:
    # FH07 fit years 0-7. Customers lost per year = n_{t-1} - n_t from Table 1:
    # 1000-631=369, 631-468=163, 468-382=86, 382-326=56, 326-289=37, 289-262=27,
    # 262-241=21: cancelled at opportunity t, so x = t - 1 renewals, T = 7; the 241
    # still active at year 7 have x = T = 7.
    table = cohort_histories(clvlab.datasets.load_retention_cohorts()["regular"], periods=7)
    assert _rows(table) == [
        (0, 0, 7, 369),
        (1, 1, 7, 163),
        (2, 2, 7, 86),
        (3, 3, 7, 56),
        (4, 4, 7, 37),
        (5, 5, 7, 27),
        (6, 6, 7, 21),
        (7, 7, 7, 241),
    ]
    assert table.attrs["clvlab"]["kind"] == "discrete"
    assert table.attrs["clvlab"]["contractual"] is True
    assert table.attrs["clvlab"]["time_unit"] == "Y"
    for col in HISTORY:
        assert table[col].dtype == np.int64


def test_fh07_both_cohorts_in_a_frame() -> None:
    # high end, years 0-7 (FH07 Table 1): 1000-869=131, 869-743=126, 743-653=90,
    # 653-593=60, 593-551=42, 551-517=34, 517-491=26, 491 still active.
    table = cohort_histories(clvlab.datasets.load_retention_cohorts(), periods=7)
    high = table[table["cohort"] == "high_end"]
    assert _rows(high) == [
        (0, 0, 7, 131),
        (1, 1, 7, 126),
        (2, 2, 7, 90),
        (3, 3, 7, 60),
        (4, 4, 7, 42),
        (5, 5, 7, 34),
        (6, 6, 7, 26),
        (7, 7, 7, 491),
    ]
    # each cohort's weights add up to its 1,000 customers (FH07 Table 1, year 0)
    assert table.groupby("cohort")["weight"].sum().to_dict() == {"high_end": 1000, "regular": 1000}


def test_all_twelve_years_and_truncation() -> None:
    # all of Table 1 (T = 12): the holdout years add 241-223=18, 223-207=16,
    # 207-194=13, 194-183=11, 183-173=10 lost, and 173 still active at year 12
    full = cohort_histories(REGULAR)
    assert _rows(full)[7:] == [
        (7, 7, 12, 18),
        (8, 8, 12, 16),
        (9, 9, 12, 13),
        (10, 10, 12, 11),
        (11, 11, 12, 10),
        (12, 12, 12, 173),
    ]
    assert int(full["weight"].sum()) == 1000
    # periods=2 keeps years 0-2: 369 lost at 1, 163 at 2, 468 active (the docstring)
    assert _rows(cohort_histories(REGULAR, periods=2)) == [
        (0, 0, 2, 369),
        (1, 1, 2, 163),
        (2, 2, 2, 468),
    ]
    # periods equal to the whole table changes nothing
    pd.testing.assert_frame_equal(cohort_histories(REGULAR, periods=12), full)


def test_younger_cohort_with_nan_tail() -> None:
    # "old" counted to period 3, "young" (signed up two periods later) to period 1.
    # Hand: old loses 100-80=20, 80-60=20, 60-50=10, 50 active at T=3;
    # young loses 200-150=50 at period 1, 150 active at T=1.
    frame = pd.DataFrame({"old": [100, 80, 60, 50], "young": [200, 150, np.nan, np.nan]})
    before = frame.copy(deep=True)
    table = cohort_histories(frame)
    assert table["cohort"].tolist() == ["old"] * 4 + ["young"] * 2
    assert _rows(table) == [
        (0, 0, 3, 20),
        (1, 1, 3, 20),
        (2, 2, 3, 10),
        (3, 3, 3, 50),
        (0, 0, 1, 50),
        (1, 1, 1, 150),
    ]
    assert table.groupby("cohort")["weight"].sum().to_dict() == {"old": 100, "young": 200}
    pd.testing.assert_frame_equal(frame, before)
    # periods=2 cuts the old cohort only; the young one has fewer periods anyway
    cut = cohort_histories(frame, periods=2)
    assert _rows(cut) == [
        (0, 0, 2, 20),
        (1, 1, 2, 20),
        (2, 2, 2, 60),
        (0, 0, 1, 50),
        (1, 1, 1, 150),
    ]


def test_mapping_series_and_numpy_inputs_agree() -> None:
    # the same cohort as a list, a tuple, numpy ints, a Series and a mapping
    expected = _rows(cohort_histories([10, 5, 3]))
    assert expected == [(0, 0, 2, 5), (1, 1, 2, 2), (2, 2, 2, 3)]  # 10-5, 5-3, 3 active
    for same in (
        (10, 5, 3),
        np.array([10, 5, 3], dtype=np.int64),
        [np.int32(10), np.int64(5), np.uint8(3)],
        pd.Series([10, 5, 3]),
        pd.Series([10.0, 5.0, 3.0], index=[2001, 2002, 2003]),  # consecutive years
        {"only": [10, 5, 3]},
    ):
        assert _rows(cohort_histories(same)) == expected


def test_empty_histories_are_left_out() -> None:
    # nobody lost at period 2 and everybody gone by period 3: 10-6=4 lost at 1,
    # 6-6=0 at 2 (no row), 6 at 3, 0 active (no row)
    assert _rows(cohort_histories([10, 6, 6, 0])) == [(0, 0, 3, 4), (2, 2, 3, 6)]


@settings(max_examples=50)
@given(
    n0=st.integers(1, 5_000),
    shares=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=15),
    alpha=st.floats(0.05, 20.0),
    beta=st.floats(0.05, 20.0),
)
def test_fold_property_and_fh07_likelihood(
    n0: int, shares: list[float], alpha: float, beta: float
) -> None:
    # a random non-increasing sequence n_0 >= n_1 >= ... >= n_tau of whole counts
    counts = [n0]
    for share in shares:
        counts.append(int(np.floor(counts[-1] * share)))
    tau = len(counts) - 1
    table = cohort_histories(counts)
    x, t_x, T, w = (table[c].to_numpy() for c in HISTORY)
    assert int(w.sum()) == n0
    assert (w > 0).all()
    assert (x <= T).all() and (tau == T).all()
    assert (x == t_x).all()
    validate_contracts(table)  # the model's own rules accept it
    # FH07 eq. 5: LL = sum_t (n_{t-1} - n_t) ln P(T = t) + n_tau ln S(tau), with
    # P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta) (eq. 2) and
    # S(t) = B(alpha, beta + t) / B(alpha, beta) (eq. 3), written out here directly
    n = np.asarray(counts, dtype=float)
    t = np.arange(1, tau + 1)
    direct = np.sum((n[:-1] - n[1:]) * (betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta))) + n[
        -1
    ] * (betaln(alpha, beta + tau) - betaln(alpha, beta))
    ours = np.sum(
        w * sbg.loglik(numpy_ops, x.astype(float), t_x.astype(float), T.astype(float), alpha, beta)
    )
    assert np.isfinite(ours)
    assert ours == pytest.approx(direct, rel=1e-9, abs=1e-9)


# --- cohort_histories: refusals -----------------------------------------------------------


@pytest.mark.parametrize(
    ("survivors", "match"),
    [
        ([1000, 1100, 900], r"cohort 'cohort' rises from 1000 to 1100 at period 1.*only loses"),
        ([1000, -1], r"has -1 customers at period 1: counts are whole numbers"),
        ([1000, 500.5], r"has 500.5 customers at period 1.*not shares"),
        ([1, 0.63, 0.4], r"has 0.63 customers at period 1.*not shares"),
        ([0, 0, 0], r"starts with 0 customers at period 0.*cohort's size"),
        ([1000, np.nan, 300], r"missing count at period 1 before later counts"),
        ([np.nan, 1000, 300], r"missing count at period 0 before later counts"),
        (["1000", "631"], r"holds '1000' \(text\) at period 0.*pandas.to_numeric"),
        (["a", "b"], r"holds 'a' \(text\) at period 0"),
        ([True, False], r"holds True \(a boolean\) at period 0"),
        ([10 + 0j, 5], r"\(a complex\) at period 0"),
        ([pd.Timestamp("2020-01-01"), 5], r"\(a Timestamp\) at period 0"),
        ([1000], r"has 1 counted period\(s\).*at least one renewal opportunity"),
        ([1000, np.nan], r"has 1 counted period\(s\).*leave out a cohort"),
        ([None, None], r"has 0 counted period\(s\)"),
        ([1e20, 5e19], r"has 1e\+20 customers.*2\*\*53"),
        ([10**20, 10**19], r"has 1e\+20 customers.*2\*\*53"),
        ([10, 5, np.inf], r"has inf customers at period 2"),
        ({}, r"holds no cohort"),
        (pd.DataFrame(), r"holds no cohort"),
        (pd.DataFrame({"a": []}, dtype=float), r"holds no cohort"),
        ({"a": 10}, r"cohort 'a' is not one sequence of counts"),
        ({"a": "105"}, r"cohort 'a' is not one sequence of counts"),
        (np.array([[10, 5], [8, 4]]), r"not one sequence of counts \(it has shape \(2, 2\)\)"),
        ([[10, 5], [8]], r"holds \[10, 5\] \(a list\) at period 0"),
        ("1000", r"must be counts per period.*got str"),
        ({10, 5}, r"must be counts per period.*got set"),
        (iter([10, 5]), r"must be counts per period.*got list_iterator"),
    ],
)
def test_cohort_histories_refuses(survivors: object, match: str) -> None:
    with pytest.raises(DataValidationError, match=match) as info:
        cohort_histories(survivors)  # type: ignore[arg-type]
    assert info.value.column == "survivors"


def test_refuses_frames_in_the_wrong_order() -> None:
    # rows read as periods 0, 1, 2: a shuffled or gapped period index is refused
    shuffled = pd.DataFrame({"a": [10, 5, 3]}, index=[0, 2, 1])
    with pytest.raises(DataValidationError, match=r"indexed by periods 0, 2, 1.*sort_index"):
        cohort_histories(shuffled)
    with pytest.raises(DataValidationError, match=r"indexed by periods 0, 1, 1"):
        cohort_histories(pd.DataFrame({"a": [10, 5, 3]}, index=[0, 1, 1]))
    with pytest.raises(DataValidationError, match=r"the counts are indexed by periods 0, 1, 3"):
        cohort_histories(pd.Series([10, 5, 3], index=[0, 1, 3]))
    with pytest.raises(DataValidationError, match=r"cohort 'a' are indexed by periods 5, 4"):
        cohort_histories({"a": pd.Series([10, 5], index=[5, 4])})
    dup = pd.DataFrame([[10, 10], [5, 4]], columns=["a", "a"])
    with pytest.raises(DataValidationError, match=r"cohort 'a' appears in more than one column"):
        cohort_histories(dup)
    # a column of period numbers read as a cohort starts with 0 customers: the hint says
    # where it belongs
    with pytest.raises(DataValidationError, match=r"starts with 0 customers.*belongs in the index"):
        cohort_histories(pd.DataFrame({"year": [0, 1, 2], "a": [10, 5, 3]}))


@pytest.mark.parametrize(
    ("periods", "match"),
    [
        (True, r"periods must be an integer >= 1, got True \(bool\).*periods=7"),
        (0, r"periods must be an integer >= 1, got 0.*periods=7"),
        (-1, r"periods must be an integer >= 1, got -1"),
        (2.5, r"periods must be an integer >= 1, got 2.5"),
        ("3", r"got '3' \(str\)"),
        (np.nan, r"got nan"),
        (13, r"periods=13 is beyond the counts: the longest cohort is counted to period 12"),
    ],
)
def test_cohort_histories_refuses_periods(periods: object, match: str) -> None:
    # periods is an argument, checked by the shared check_count (ArgumentError)
    with pytest.raises(ArgumentError, match=match):
        cohort_histories(REGULAR, periods=periods)  # type: ignore[arg-type]


def test_periods_accepts_whole_numbers_of_any_type() -> None:
    expected = _rows(cohort_histories(REGULAR, periods=7))
    assert _rows(cohort_histories(REGULAR, periods=np.int64(7))) == expected
    assert _rows(cohort_histories(REGULAR, periods=7.0)) == expected


def test_cohort_histories_refuses_unknown_unit() -> None:
    with pytest.raises(ArgumentError, match=r"unknown grain 'fortnight'"):
        cohort_histories(REGULAR, time_unit="fortnight")
    assert cohort_histories(REGULAR, time_unit="month").attrs["clvlab"]["time_unit"] == "M"


# --- subscription_summary: hand computations ---------------------------------------------


def _subs(starts: list, ends: list, **kwargs: object) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"customer_id": list(range(1, len(starts) + 1)), "start": starts, "end": ends}
    )
    return subscription_summary(frame, **kwargs)  # type: ignore[arg-type]


def _xt(table: pd.DataFrame) -> list[tuple[int, int]]:
    assert (table["frequency"] == table["recency"]).all()
    return [(int(x), int(n)) for x, n in table[["frequency", "T"]].to_numpy()]


def test_docstring_example_by_hand() -> None:
    # 1: start 2020-01-15, renewals 02-15, 03-15, 04-15 before the cancellation on
    #    04-20 -> x = 3; renewal days up to 06-30: 02-15 ... 06-15 -> n = 5
    # 2: start 2020-03-01, active: renewals 04-01, 05-01, 06-01 -> x = n = 3
    table = _subs(["2020-01-15", "2020-03-01"], ["2020-04-20", None], observation_end="2020-06-30")
    assert _xt(table) == [(3, 5), (3, 3)]
    assert table.index.name == "customer_id"
    assert table.index.tolist() == [1, 2]
    meta = table.attrs["clvlab"]
    assert (meta["kind"], meta["contractual"], meta["time_unit"]) == ("discrete", True, "M")
    assert meta["observation_end"] == "2020-06-30"


def test_monthly_end_of_month_and_leap_days() -> None:
    # 1: start 2020-01-31 (leap year), active to 2020-06-30: renewals clipped to the
    #    month's end 02-29, 03-31, 04-30, 05-31, 06-30 -> x = n = 5
    # 2: start 2019-01-31, cancelled 2019-03-01: renewal 2019-02-28 is before it -> x = 1;
    #    renewal days up to 2020-06-30: 17 (2019-02-28 ... 2020-06-30) -> n = 17
    # 3: start 2020-01-31, cancelled 2020-02-29, which is its first renewal day: no
    #    renewal that day -> x = 0, n = 5 (as 1)
    # 4: start 2020-03-31 active: 04-30, 05-31, 06-30 -> x = n = 3 (each clipped from
    #    the start's day 31, not from the previous renewal)
    table = _subs(
        ["2020-01-31", "2019-01-31", "2020-01-31", "2020-03-31"],
        [None, "2019-03-01", "2020-02-29", None],
        observation_end="2020-06-30",
    )
    assert _xt(table) == [(5, 5), (1, 17), (0, 5), (3, 3)]
    assert table["cohort"].tolist() == ["2020-01", "2019-01", "2020-01", "2020-03"]


def test_yearly_from_february_29() -> None:
    # start 2020-02-29: renewals 2021-02-28, 2022-02-28, 2023-02-28, 2024-02-29
    # 1: active to 2024-02-29 -> 4; 2: active to 2024-02-28 -> 3 (2024-02-29 not yet);
    # 3: cancelled 2021-02-28 (its first renewal day) -> x = 0, n = 3 up to 2024-02-28
    table = _subs(
        ["2020-02-29", "2020-02-29"], [None, "2021-02-28"], period="Y", observation_end="2024-02-29"
    )
    assert _xt(table) == [(4, 4), (0, 4)]
    table = _subs(["2020-02-29"], [None], period="Y", observation_end="2024-02-28")
    assert _xt(table) == [(3, 3)]
    assert table["cohort"].tolist() == ["2020"]


def test_quarterly() -> None:
    # 1: start 2020-11-30: renewals 2021-02-28 (clipped), 2021-05-30, 2021-08-30;
    #    observed to 2021-08-29 -> x = n = 2
    # 2: start 2020-01-01, cancelled 2020-07-01 = its second renewal day: renewal
    #    2020-04-01 only -> x = 1; renewal days to 2021-08-29: 2020-04-01, 07-01, 10-01,
    #    2021-01-01, 04-01, 07-01 -> n = 6
    table = _subs(
        ["2020-11-30", "2020-01-01"], [None, "2020-07-01"], period="Q", observation_end="2021-08-29"
    )
    assert _xt(table) == [(2, 2), (1, 6)]
    assert table["cohort"].tolist() == ["2020-Q4", "2020-Q1"]


def test_weekly_and_daily() -> None:
    # weekly from Wednesday 2020-01-01: renewals 01-08, 01-15, 01-22, 01-29
    # 1: cancelled 01-15 (a renewal day) -> x = 1; n = 4 up to 01-29; 2: active -> 4
    # cohort: the ISO week's Monday, 2019-12-30
    weekly = _subs(
        ["2020-01-01", "2020-01-01"], ["2020-01-15", None], period="W", observation_end="2020-01-29"
    )
    assert _xt(weekly) == [(1, 4), (4, 4)]
    assert weekly["cohort"].tolist() == ["2019-12-30", "2019-12-30"]
    # daily from 2020-01-01 to 2020-01-05: renewals 01-02 ... 01-05 -> 4 when active;
    # cancelled on its start day -> x = 0 (n = 4); cancelled 01-03 -> x = 1 (01-02)
    daily = _subs(
        ["2020-01-01"] * 3,
        [None, "2020-01-01", "2020-01-03"],
        period="D",
        observation_end="2020-01-05",
    )
    assert _xt(daily) == [(4, 4), (0, 4), (1, 4)]
    assert daily["cohort"].tolist() == ["2020-01-01"] * 3


def test_cancelled_before_first_renewal_and_defaults() -> None:
    # 1: start 2020-01-15, cancelled 2020-02-10, before its first renewal (02-15):
    #    x = 0; its cancellation is observed, so n >= 1; observation_end defaults to the
    #    latest date, 2020-03-20, with renewal days 02-15, 03-15 -> n = 2
    # 2: start 2020-02-20 active: renewal 03-20 (= the default end, inclusive) -> 1
    # 3: start 2020-03-20 active: no renewal day yet -> x = n = 0
    table = _subs(["2020-01-15", "2020-02-20", "2020-03-20"], ["2020-02-10", None, None])
    assert _xt(table) == [(0, 2), (1, 1), (0, 0)]
    assert table.attrs["clvlab"]["observation_end"] == "2020-03-20"
    # a cancellation before the first renewal whose renewal day is after the end:
    # start 2020-03-01, cancelled 2020-03-10, observed to 2020-03-20 -> x = 0, n = 1
    assert _xt(_subs(["2020-03-01"], ["2020-03-10"], observation_end="2020-03-20")) == [(0, 1)]


def test_empty_end_text_means_active() -> None:
    # "" and "  " are empty ends, as None: start 2020-01-01, observed to 2020-03-05:
    # renewals 02-01, 03-01 -> x = n = 2; 3: cancelled 2020-03-05 -> x = 2, n = 3
    table = _subs(["2020-01-01"] * 3, ["", "  ", "2020-03-05"], observation_end="2020-03-05")
    assert _xt(table) == [(2, 2), (2, 2), (2, 3)]
    assert _xt(_subs(["2020-01-01"], [""], observation_end="2020-03-05")) == [(2, 2)]


def test_dayfirst_tz_and_formats() -> None:
    # day-first text: 01/02/2020 is 1 February, 03/04/2020 is 3 April
    table = subscription_summary(
        pd.DataFrame(
            {
                "customer_id": ["a", "b"],
                "start": ["01/02/2020", "03/04/2020"],
                "end": [None, "05/06/2020"],
            }
        ),
        dayfirst=True,
    )
    # b: start 3 April, renewals 3 May, 3 June; cancelled 5 June -> x = 2; the default
    # end is 5 June, renewal days up to it: 2, and the cancellation at opportunity 3 is
    # observed -> n = 3. a: renewals 1 Mar, 1 Apr, 1 May, 1 Jun -> 4.
    assert _xt(table) == [(4, 4), (2, 3)]
    assert table["cohort"].tolist() == ["2020-02", "2020-04"]
    # aware datetimes give their UTC day: 2020-01-31 23:30 New York is 2020-02-01 UTC
    aware = pd.Series(pd.to_datetime(["2020-01-31 23:30", "2020-01-01 00:00"])).dt.tz_localize(
        "America/New_York"
    )
    table = subscription_summary(
        pd.DataFrame({"customer_id": [1, 2], "start": aware, "end": [pd.NaT, pd.NaT]}),
        observation_end="2020-03-01",
    )
    # 1: start 2020-02-01 UTC, renewal 03-01 -> 1; 2: start 2020-01-01 05:00 UTC,
    # renewals 02-01, 03-01 -> 2
    assert _xt(table) == [(1, 1), (2, 2)]
    assert table["cohort"].tolist() == ["2020-02", "2020-01"]
    # integer dates with their format; an empty (NaN) end in a float column is active
    table = subscription_summary(
        pd.DataFrame(
            {"customer_id": [1, 2], "start": [20200101, 20200201], "end": [np.nan, 20200301]}
        ),
        datetime_format="%Y%m%d",
    )
    # 1: renewals 02-01, 03-01 up to 2020-03-01 -> 2; 2: cancelled on its first
    # renewal day 03-01 -> x = 0, n = 1
    assert _xt(table) == [(2, 2), (0, 1)]


def test_caller_frame_is_not_mutated() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": [3, 1, 2],
            "start": ["2020-01-31", "2020-02-29", "2020-03-15"],
            "end": ["", None, "2020-05-01"],
            "plan": ["a", "b", "c"],
        },
        index=[10, 20, 30],
    )
    before = copy.deepcopy(frame)
    subscription_summary(frame, observation_end="2020-12-31")
    pd.testing.assert_frame_equal(frame, before)
    assert frame.dtypes.equals(before.dtypes)


def _brute_force(start: pd.Timestamp, end: pd.Timestamp | None, obs: pd.Timestamp, period: str):
    """Renewal days start + k periods (k >= 1) by pandas' DateOffset / Timedelta, one at a
    time: x = those before the cancellation, n = those up to obs (at least x + 1 when
    cancelled)."""
    step = {
        "M": pd.DateOffset(months=1),
        "Q": pd.DateOffset(months=3),
        "Y": pd.DateOffset(months=12),
    }
    days = []
    k = 1
    while True:
        if period in step:
            day = start + step[period] * k  # each from the start: day clipped to month end
        else:
            day = start + pd.Timedelta(days=7 if period == "W" else 1) * k
        if day > obs:
            break
        days.append(day)
        k += 1
    if end is None:
        return len(days), len(days)
    x = sum(day < end for day in days)
    return x, max(len(days), x + 1)


def _end(
    start: pd.Timestamp, spec: int | tuple[str, int] | None, period: str
) -> pd.Timestamp | None:
    if spec is None:
        return None
    if isinstance(spec, int):
        return start + pd.Timedelta(days=spec)
    k = spec[1]  # on the k-th renewal day
    months = {"M": 1, "Q": 3, "Y": 12}
    if period in months:
        return start + pd.DateOffset(months=months[period] * k)
    return start + pd.Timedelta(days=(7 if period == "W" else 1) * k)


@settings(max_examples=50)
@given(
    period=st.sampled_from(["M", "Q", "Y", "W", "D"]),
    subs=st.lists(
        st.tuples(
            st.dates(dt.date(2015, 1, 1), dt.date(2021, 12, 31)),
            # no end, an end some days after the start, or exactly on a renewal day
            st.one_of(
                st.none(), st.integers(0, 2_000), st.tuples(st.just("on"), st.integers(1, 30))
            ),
        ),
        min_size=1,
        max_size=12,
    ),
    extra=st.integers(0, 800),
)
def test_renewals_match_brute_force(
    period: str, subs: list[tuple[dt.date, int | tuple[str, int] | None]], extra: int
) -> None:
    starts = [pd.Timestamp(s) for s, _ in subs]
    ends = [_end(start, spec, period) for start, (_, spec) in zip(starts, subs, strict=True)]
    latest = max([*starts, *(e for e in ends if e is not None)])
    obs = latest + pd.Timedelta(days=extra)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(len(subs))],
            "start": [s.strftime("%Y-%m-%d") for s in starts],
            "end": [None if e is None else e.strftime("%Y-%m-%d") for e in ends],
        }
    )
    table = subscription_summary(frame, period=period, observation_end=obs.strftime("%Y-%m-%d"))
    expected = [_brute_force(s, e, obs, period) for s, e in zip(starts, ends, strict=True)]
    assert _xt(table) == expected
    assert (table["frequency"] <= table["T"]).all()


# --- subscription_summary: refusals -------------------------------------------------------


def _frame(**columns: list) -> pd.DataFrame:
    base = {"customer_id": [1, 2], "start": ["2020-01-01", "2020-02-01"], "end": [None, None]}
    base.update(columns)
    return pd.DataFrame(base)


@pytest.mark.parametrize(
    ("frame", "kwargs", "column", "match"),
    [
        (
            pd.DataFrame({"customer_id": [1], "start": ["2020-01-01"]}),
            {},
            "end",
            r"column not found.*end_col='end'",
        ),
        (_frame(), {"start_col": "begin"}, "begin", r"column not found.*start_col='begin'"),
        (_frame(customer_id=[1, 1]), {}, "customer_id", r"appears more than once.*customer id 1"),
        (_frame(customer_id=[1, 1.0]), {}, "customer_id", r"appears more than once"),
        (_frame(customer_id=[1, "1"]), {}, "customer_id", r"same text form '1'"),
        (_frame(customer_id=[1, None]), {}, "customer_id", r"is missing \(1 row, index label 1\)"),
        (
            _frame(start=["2020-01-01", None]),
            {},
            "start",
            r"is missing or unreadable.*customer id 2",
        ),
        (
            _frame(start=["2020-01-01", "garbage"]),
            {},
            "start",
            r"is missing or unreadable.*customer id 2",
        ),
        (_frame(end=[None, "garbage"]), {}, "end", r"value 'garbage'"),
        (
            _frame(end=["2020-01-01", "2019-12-31"]),
            {},
            "end",
            r"is before the start \(1 row, customer id 2\).*swap",
        ),
        (
            _frame(end=[None, "9999-12-31"]),
            {},
            "end",
            r"outside the supported range 1677-09-22 to 2262-04-11.*customer id 2",
        ),
        (
            _frame(start=["1500-01-01", "2020-01-01"]),
            {},
            "start",
            r"outside the supported range 1677-09-22 to 2262-04-11.*customer id 1",
        ),
        (
            _frame(start=["01/02/2020", "03/04/2020"]),
            {},
            "start",
            r"ambiguous.*dayfirst=True",
        ),
        (
            _frame(),
            {"observation_end": "2020-01-15"},
            "observation_end",
            r"2020-01-15 is before 1 subscription date\(s\), e.g. customer 2 \(since 2020-02-01\)",
        ),
        (
            _frame(end=["2020-03-01", None]),
            {"observation_end": "2020-02-15"},
            "observation_end",
            r"before 1 subscription date\(s\), e.g. customer 1 \(2020-01-01 to 2020-03-01\)",
        ),
        (_frame(), {"observation_end": "01/02/2021"}, "observation_end", r"ambiguous"),
        (_frame(), {"observation_end": 5}, "observation_end", r"must be a date, got 5"),
        (_frame(start=[20200101, 20200201]), {}, "start", r"numbers.*datetime_format='%Y%m%d'"),
        (_frame(end=[True, False]), {}, "end", r"booleans"),
        (
            pd.DataFrame({"customer_id": [], "start": [], "end": []}),
            {},
            "customer_id",
            r"subscriptions table is empty",
        ),
        ([1, 2, 3], {}, "<subscriptions>", r"expected a pandas DataFrame, got list"),
    ],
)
def test_subscription_summary_refuses(
    frame: pd.DataFrame, kwargs: dict, column: str, match: str
) -> None:
    before = copy.deepcopy(frame)
    with pytest.raises(DataValidationError, match=match) as info:
        subscription_summary(frame, **kwargs)
    assert info.value.column == column
    if isinstance(frame, pd.DataFrame):
        pd.testing.assert_frame_equal(frame, before)


def test_ambiguous_dates_read_with_dayfirst() -> None:
    # the refused frame above, with dayfirst=True: 1 February and 3 April 2020,
    # observed to 3 April: 1 renews 1 Mar, 1 Apr -> 2; 2 starts that day -> 0
    table = subscription_summary(_frame(start=["01/02/2020", "03/04/2020"]), dayfirst=True)
    assert _xt(table) == [(2, 2), (0, 0)]


def test_subscription_summary_refuses_unknown_period() -> None:
    with pytest.raises(ArgumentError, match=r"unknown grain 'fortnight'"):
        subscription_summary(_frame(), period="fortnight")


# --- validate_contracts and ShiftedBetaGeo -----------------------------------------------

FIT = {"seed": 1, "progress": False, "n_draws": 200}


@pytest.fixture(scope="module")
def regular7() -> pd.DataFrame:
    """FH07 Table 1, regular cohort, years 0-7 (the paper's calibration years)."""
    return cohort_histories(clvlab.datasets.load_retention_cohorts()["regular"], periods=7)


def test_folded_equals_unfolded_and_fh07_estimates(regular7: pd.DataFrame) -> None:
    folded = clvlab.ShiftedBetaGeo().fit(regular7, **FIT)
    unfolded_table = (
        regular7.loc[regular7.index.repeat(regular7["weight"])]
        .drop(columns="weight")
        .reset_index(drop=True)
    )
    assert len(unfolded_table) == 1000  # FH07 Table 1: 1,000 customers
    unfolded = clvlab.ShiftedBetaGeo().fit(unfolded_table, **FIT)
    a = folded.params_["estimate"]
    b = unfolded.params_["estimate"]
    assert np.allclose(a.to_numpy(), b.to_numpy(), rtol=1e-6, atol=1e-6)
    # FH07 (section 4): regular cohort alpha = 0.704, beta = 1.182
    assert round(float(a["alpha"]), 3) == 0.704
    assert round(float(a["beta"]), 3) == 1.182


def test_fh07_high_end_estimates() -> None:
    table = cohort_histories(clvlab.datasets.load_retention_cohorts()["high_end"], periods=7)
    est = clvlab.ShiftedBetaGeo().fit(table, **FIT).params_["estimate"]
    # FH07 (section 4): high end cohort alpha = 0.668, beta = 3.806
    assert round(float(est["alpha"]), 3) == 0.668
    assert round(float(est["beta"]), 3) == 3.806


def test_weights_match_integer_replication(regular7: pd.DataFrame) -> None:
    # a row with weight 0 changes nothing; splitting a row's weight over two rows
    # (here the 241 survivors as 200 + 41) gives the same fit
    base = clvlab.ShiftedBetaGeo().fit(regular7, **FIT).params_["estimate"]
    extra = pd.DataFrame(
        {"cohort": ["regular", "regular"], "frequency": [3, 7], "recency": [3, 7], "T": [7, 7]}
    )
    extra["weight"] = [0, 41]
    split = regular7.copy()
    split.loc[7, "weight"] = 200
    split = pd.concat([split, extra], ignore_index=True)
    split.attrs = dict(regular7.attrs)
    est = clvlab.ShiftedBetaGeo().fit(split, **FIT).params_["estimate"]
    assert np.allclose(est.to_numpy(), base.to_numpy(), rtol=1e-6)


def test_recency_not_frequency_is_refused(regular7: pd.DataFrame) -> None:
    bad = regular7.copy()
    bad.loc[1, "recency"] = 5  # 1 renewal, "last" at opportunity 5
    with pytest.raises(
        DataValidationError, match=r"recency.*differs from frequency.*cohort_histories"
    ):
        clvlab.ShiftedBetaGeo().fit(bad, **FIT)
    bad = regular7.copy()
    bad.loc[2, "recency"] = 1  # fewer opportunities than renewals
    with pytest.raises(DataValidationError, match=r"exceeds recency.*cohort_histories"):
        clvlab.ShiftedBetaGeo().fit(bad, **FIT)
    bad = regular7.astype({"recency": float})
    bad.loc[1, "recency"] = 0.5
    with pytest.raises(DataValidationError, match=r"not a whole number.*cohort_histories") as info:
        clvlab.ShiftedBetaGeo().fit(bad, **FIT)
    assert "opportunity_summary" not in str(info.value)  # not the BG/BB table's fix


def test_continuous_rfm_is_refused(cdnow_sample_rfm: pd.DataFrame) -> None:
    with pytest.raises(
        DataValidationError, match=r"records kind 'rfm'.*continuous time.*cohort_histories"
    ):
        clvlab.ShiftedBetaGeo().fit(cdnow_sample_rfm, **FIT)
    with pytest.raises(DataValidationError, match=r"records kind 'rfm'"):
        validate_contracts(cdnow_sample_rfm.assign(weight=1.0))


def test_noncontractual_discrete_table_is_refused() -> None:
    # a BG/BB table whose histories happen to have t_x = x: every donor gave in each
    # year up to the last (2019, 2020 after a 2018 trial), then went silent; silence is
    # not an observed cancellation
    log = pd.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2],
            "date": ["2018-05-01", "2019-05-01", "2020-05-01", "2018-06-01", "2019-06-01"],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        table = clvlab.opportunity_summary(log, grain="Y", observation_end="2021-12-31")
    assert (table["frequency"] == table["recency"]).all()
    with pytest.raises(
        DataValidationError, match=r"noncontractual discrete-time.*not an observed cancellation"
    ):
        clvlab.ShiftedBetaGeo().fit(table, **FIT)
    # marked contractual (its renewals are consecutive payments), it is accepted
    table.attrs["clvlab"] = {**table.attrs["clvlab"], "contractual": True}
    assert validate_contracts(table)["T"].tolist() == [3.0, 3.0]


@pytest.mark.parametrize(
    "model", [clvlab.BetaGeoBetaBinom, clvlab.BetaGeo, clvlab.ModifiedBetaGeo, clvlab.ParetoNBD]
)
def test_noncontractual_models_refuse_a_contractual_table(model: type) -> None:
    # FH07's subscribers: a cancellation is observed, which a noncontractual model would
    # read as a silence (alive or gone). Every method and every prediction refuses it.
    table = clvlab.datasets.load_retention_histories()
    with pytest.raises(DataValidationError, match=r"contractual history.*ShiftedBetaGeo"):
        model().fit(table, **FIT)
    fitted = clvlab.ShiftedBetaGeo().fit(table, **FIT)  # the right model takes it
    assert fitted.params_.loc["alpha", "estimate"] > 0
    rows = clvlab.datasets.load_donations().rename(columns={"periods": "T"})
    donors = rows.loc[rows.index.repeat(rows.pop("weight"))].reset_index(drop=True)
    donations = clvlab.BetaGeoBetaBinom().fit(donors, **FIT)
    with pytest.raises(DataValidationError, match=r"contractual history"):
        donations.probability_alive(table)
    # and so do the holdout evaluation and the comparison (FH07's holdout years)
    with pytest.raises(DataValidationError, match=r"contractual history"):
        clvlab.evaluate(donations, table)
    with pytest.raises(DataValidationError, match=r"contractual history"):
        clvlab.compare([donations], table)
    # the input is not changed by the refusal
    assert table.attrs["clvlab"]["contractual"] is True


def test_hand_built_table_without_metadata_is_accepted(regular7: pd.DataFrame) -> None:
    plain = pd.DataFrame(regular7[HISTORY].to_numpy(), columns=HISTORY)
    assert plain.attrs == {}
    est = clvlab.ShiftedBetaGeo().fit(plain, **FIT).params_["estimate"]
    assert round(float(est["alpha"]), 3) == 0.704  # FH07, regular cohort


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        ([-1, 1, 1, 1, 1, 1, 1, 1], r"not a whole number of customers.*customer id 0; value -1"),
        ([0.5, 1, 1, 1, 1, 1, 1, 1], r"not a whole number of customers.*value 0.5"),
        ([np.nan, 1, 1, 1, 1, 1, 1, 1], r"not a whole number of customers.*value nan"),
        ([np.inf, 1, 1, 1, 1, 1, 1, 1], r"not a whole number of customers.*value inf"),
        ([1e300] * 8, r"from 0 to 2\*\*53 \(8 rows"),
        ([0] * 8, r"sums to 0: no customer to fit.*positive weight"),
        ([True] * 8, r"holds True/False, not numbers of customers"),
    ],
)
def test_bad_weights_are_refused(regular7: pd.DataFrame, weights: list, match: str) -> None:
    bad = regular7.copy()
    bad["weight"] = weights
    before = bad.copy(deep=True)
    with pytest.raises(DataValidationError, match=match) as info:
        clvlab.ShiftedBetaGeo().fit(bad, **FIT)
    assert info.value.column == "weight"
    pd.testing.assert_frame_equal(bad, before)


def test_fit_refuses_a_non_table() -> None:
    with pytest.raises(DataValidationError, match=r"expected a pandas DataFrame, got list"):
        clvlab.ShiftedBetaGeo().fit([1, 2, 3], **FIT)  # type: ignore[arg-type]


def test_subscription_table_fits_like_its_cohort_counts(regular7: pd.DataFrame) -> None:
    # FH07 Table 1's regular cohort as 1,000 yearly subscriptions from 2000-01-01,
    # observed to 2007-01-01 (7 renewal days): the customers lost in year t cancel on
    # 1 December of year 2000 + t - 1, before their t-th renewal day (x = t - 1);
    # the 241 still active have no end (x = 7).
    lost = regular7["weight"].to_numpy()[:-1]  # 369, 163, 86, 56, 37, 27, 21
    ends: list[str | None] = []
    for t, count in enumerate(lost, start=1):
        ends += [f"{1999 + t}-12-01"] * int(count)
    ends += [None] * int(regular7["weight"].iloc[-1])
    subs = pd.DataFrame({"customer_id": np.arange(len(ends)), "start": "2000-01-01", "end": ends})
    table = subscription_summary(subs, period="Y", observation_end="2007-01-01")
    assert _xt(table.iloc[[0, 369, 532, -1]]) == [(0, 7), (1, 7), (2, 7), (7, 7)]
    assert (table["T"] == 7).all()
    ours = clvlab.ShiftedBetaGeo().fit(table, **FIT).params_["estimate"]
    theirs = clvlab.ShiftedBetaGeo().fit(regular7, **FIT).params_["estimate"]
    assert np.allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-6)
    # FH07 (section 4): regular cohort alpha = 0.704, beta = 1.182
    assert (round(float(ours["alpha"]), 3), round(float(ours["beta"]), 3)) == (0.704, 1.182)


def test_no_renewal_opportunity_yet_is_refused() -> None:
    # two subscriptions that start on the observation day: T = 0 for both (no renewal
    # day yet), which carries no information on alpha, beta
    table = subscription_summary(
        pd.DataFrame({"customer_id": [1, 2], "start": ["2020-01-01"] * 2, "end": [None, None]})
    )
    assert _xt(table) == [(0, 0), (0, 0)]
    with pytest.raises(DataValidationError, match=r"'T': is 0 for every customer.*observation_end"):
        clvlab.ShiftedBetaGeo().fit(table, **FIT)


def test_new_subscribers_do_not_change_the_fit(regular7: pd.DataFrame) -> None:
    # rows with T = 0 add ln S(0) = 0 to the log-likelihood (FH07 eq. 3: S(0) = 1)
    base = clvlab.ShiftedBetaGeo().fit(regular7, **FIT).params_["estimate"]
    new = pd.DataFrame(
        {"cohort": ["new"], "frequency": [0], "recency": [0], "T": [0], "weight": [500]}
    )
    more = pd.concat([regular7, new], ignore_index=True)
    more.attrs = dict(regular7.attrs)
    est = clvlab.ShiftedBetaGeo().fit(more, **FIT).params_["estimate"]
    assert np.allclose(est.to_numpy(), base.to_numpy(), rtol=1e-6)


def test_cohort_labels_before_1970() -> None:
    # period labels count from 1970 in numpy; days before it are labelled by their own
    # calendar period (1969-12-31 is in 1969 Q4, in the ISO week of Monday 1969-12-29)
    frame = pd.DataFrame(
        {"customer_id": [1, 2], "start": ["1969-12-31", "1970-01-01"], "end": [None, ""]}
    )
    labels = {
        period: subscription_summary(frame, period=period)["cohort"].tolist()
        for period in ("Y", "Q", "M", "W", "D")
    }
    assert labels == {
        "Y": ["1969", "1970"],
        "Q": ["1969-Q4", "1970-Q1"],
        "M": ["1969-12", "1970-01"],
        "W": ["1969-12-29", "1969-12-29"],
        "D": ["1969-12-31", "1970-01-01"],
    }
