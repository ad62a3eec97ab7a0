"""Dates are read one way per column, at day resolution, and never wrap around.

Expected days are written out by hand from the calendar in each test; RFM values are
day differences computed by hand (time_unit="D", so recency and T are day counts).
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import clvlab
from clvlab.data.transactions import FIRST_DAY, LAST_DAY, parse_dates
from clvlab.errors import ArgumentError


def _days(values: object, **kwargs: object) -> list[str]:
    """Days of a one-customer log, as ISO text, via the public validator."""
    log = pd.DataFrame({"customer_id": 1, "date": values})
    cols = clvlab.validate_transactions(log, "customer_id", "date", **kwargs)  # type: ignore[arg-type]
    return [str(d) for d in cols.days]


def _raises(match: str, values: object, **kwargs: object) -> clvlab.DataValidationError:
    log = pd.DataFrame({"customer_id": np.arange(len(values)), "date": values})  # type: ignore[arg-type]
    before = log.copy(deep=True)
    with pytest.raises(clvlab.DataValidationError, match=match) as info:
        clvlab.rfm_summary(log, time_unit="D", **kwargs)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(log, before)  # the caller's frame is untouched
    return info.value


# --- out-of-range dates: refused by name, never wrapped ---------------------------------

FAR = ["2020-01-05", "2020-01-09", "9999-12-31", "1500-01-01"]


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(FAR, dtype=object),
        pd.Series([dt.datetime.fromisoformat(d) for d in FAR], dtype=object),
        pd.Series([dt.date.fromisoformat(d) for d in FAR], dtype=object),
        pd.Series(np.array(FAR, dtype="datetime64[s]")),
        pd.Series(np.array(FAR, dtype="datetime64[ms]")),
        pd.Series(np.array(FAR, dtype="datetime64[us]")),
    ],
    ids=["text", "datetime", "date", "datetime64[s]", "datetime64[ms]", "datetime64[us]"],
)
def test_dates_outside_the_nanosecond_range_are_refused_not_wrapped(column: pd.Series) -> None:
    # Before the fix 9999-12-31 came out as 1816-03-29 and 1500-01-01 as 2084-07-20.
    log = pd.DataFrame({"customer_id": [1, 1, 2, 3], "date": column})
    before = log.copy(deep=True)
    with pytest.raises(
        clvlab.DataValidationError,
        match=re.escape(
            "column 'date': date is outside the supported range 1677-09-22 to 2262-04-11 "
            "(2 rows, customer ids 2, 3; values "
        )
        + r"'?9999-12-31[^,]*, '?1500-01-01[^)]*\)\. .*invalid='drop'",
    ):
        clvlab.rfm_summary(log, time_unit="D")
    with pytest.warns(clvlab.DataQualityWarning, match="dropped 2 of 4 rows"):
        rfm = clvlab.rfm_summary(log, time_unit="D", invalid="drop")
    pd.testing.assert_frame_equal(log, before)
    # customer 1 bought on 2020-01-05 and 2020-01-09: one repeat 4 days later
    assert list(rfm.index) == [1]
    assert rfm.loc[1].to_dict() == {"frequency": 1, "recency": 4.0, "T": 4.0}
    meta = clvlab.rfm_metadata(rfm)
    assert (meta["first_transaction"], meta["last_transaction"]) == ("2020-01-05", "2020-01-09")
    assert meta["dropped_rows"] == {
        "date: date is outside the supported range 1677-09-22 to 2262-04-11": 2
    }


def test_the_range_ends_are_exact_days() -> None:
    # 1677-09-22 to 2262-04-11 is 213,502 days (oracle: Python's datetime.date
    # arithmetic); pandas.Timestamp.min/max are 1677-09-21 00:12 and 2262-04-11 23:47.
    assert (dt.date(2262, 4, 11) - dt.date(1677, 9, 22)).days == 213_502
    assert pd.Timestamp(str(FIRST_DAY)) >= pd.Timestamp.min
    assert pd.Timestamp(str(LAST_DAY)) <= pd.Timestamp.max
    log = pd.DataFrame(
        {"customer_id": [1, 1], "date": np.array(["1677-09-22", "2262-04-11"], "datetime64[s]")}
    )
    rfm = clvlab.rfm_summary(log, time_unit="D")
    assert rfm.loc[1].to_dict() == {"frequency": 1, "recency": 213_502.0, "T": 213_502.0}


@pytest.mark.parametrize("name", ["observation_end", "calibration_end"])
@pytest.mark.parametrize(
    "value", ["9999-12-31", np.datetime64("1500-01-01"), dt.date(9999, 12, 31)], ids=str
)
def test_far_end_arguments_are_refused(name: str, value: object) -> None:
    log = pd.DataFrame({"customer_id": [1, 1], "date": ["2020-01-01", "2020-02-01"]})
    with pytest.raises(clvlab.DataValidationError, match=rf"'{name}': .*outside the supported"):
        clvlab.rfm_summary(log, **{name: value})  # type: ignore[arg-type]


@given(
    st.integers(
        min_value=int(np.datetime64("0001-01-01", "s").astype(np.int64)),
        max_value=int(np.datetime64("9999-12-31T23:59:59", "s").astype(np.int64)),
    )
)
def test_any_datetime64_s_value_is_its_own_day_or_refused(seconds: int) -> None:
    # The day of a datetime64[s] value is numpy's own floor to days; it must come out
    # unchanged or be flagged out of range, never as another day.
    stamp = np.datetime64(seconds, "s")
    for column in (pd.Series(np.array([stamp])), pd.Series([str(stamp)], dtype=object)):
        parsed = parse_dates(column, "date")
        day = stamp.astype("datetime64[D]")
        if FIRST_DAY <= day <= LAST_DAY:
            assert parsed.days[0] == day and not parsed.out_of_range[0]
        else:
            assert np.isnat(parsed.days[0]) and parsed.out_of_range[0]


# --- numbers need a stated meaning ---------------------------------------------------------


def test_integer_dates_need_a_format_or_a_unit() -> None:
    # Before the fix 20200105 was read as 20,200,105 ns after 1970: every customer on
    # 1970-01-01 with frequency 0.
    err = _raises(
        r"'date': dates are numbers \(int64\) and their meaning is not stated.*"
        r"values 20200105, 20200107.*Pass datetime_format='%Y%m%d'",
        [20200105, 20200107],
    )
    assert err.example_values == [20200105, 20200107]
    assert not err.droppable
    _raises(
        r"dates are numbers.*values 1578182400, 1578528000\)\. Pass date_unit=.*'s' "
        r"\(seconds\).*these look like date_unit='s'",
        [1578182400, 1578528000],
    )


def test_integer_dates_with_their_format_or_unit() -> None:
    # 2020-01-05 is 18,266 days after 1970-01-01 (= 1,578,182,400 s); 2020-01-09 is 4 later.
    expected = ["2020-01-05", "2020-01-09"]
    assert _days([20200105, 20200109], datetime_format="%Y%m%d") == expected
    assert _days([20200105.0, 20200109.0], datetime_format="%Y%m%d") == expected
    assert _days([1578182400, 1578528000], date_unit="s") == expected
    assert _days([1578182400123, 1578528000999], date_unit="ms") == expected
    assert _days([1578182400 * 10**6, 1578528000 * 10**6], date_unit="us") == expected
    assert _days([1578182400 * 10**9, 1578528000 * 10**9], date_unit="ns") == expected
    assert _days([18266, 18270], date_unit="D") == expected
    assert _days([18266.5, 18270.9], date_unit="D") == expected
    assert _days(["1578182400", "1578528000"], date_unit="s") == expected
    assert _days(pd.array([1578182400, 1578528000], dtype="Int64"), date_unit="s") == expected
    # before 1970 the day is floored: -1 s is 1969-12-31 23:59:59
    assert _days([-1, 0], date_unit="s") == ["1969-12-31", "1970-01-01"]


def test_numeric_dates_out_of_range_are_refused() -> None:
    _raises(
        r"outside the supported range.*\(2 rows, customer ids 0, 1; values 1e\+300, -1e\+17\)",
        [1e300, -1e17],
        date_unit="s",
    )
    _raises(
        r"outside the supported range.*\(1 row, customer id 0; value 9223372036854775807\)",
        [2**63 - 1, 0],
        date_unit="D",
    )


def test_numbers_mixed_with_text_are_refused() -> None:
    _raises(
        r"mixes numbers and text.*values 20200105, '2020-01-06'",
        pd.Series([20200105, "2020-01-06"], dtype=object),
    )
    assert _days(pd.Series([20200105, "20200106"], dtype=object), datetime_format="%Y%m%d") == [
        "2020-01-05",
        "2020-01-06",
    ]


# --- text: one convention per column --------------------------------------------------------


def test_day_first_is_read_for_the_whole_column() -> None:
    # Before the fix the ambiguous values were read month-first and the others day-first,
    # so this log spanned January to May. 13 and 20 cannot be months: day-first for all.
    values = ["01/02/2020", "13/02/2020", "05/03/2020", "20/03/2020"]
    assert _days(values) == ["2020-02-01", "2020-02-13", "2020-03-05", "2020-03-20"]
    log = pd.DataFrame({"customer_id": 1, "date": values})
    rfm = clvlab.rfm_summary(log, time_unit="D")
    # 2020-02-01 to 2020-03-20: 28 + 20 = 48 days (2020 is a leap year)
    assert rfm.loc[1].to_dict() == {"frequency": 3, "recency": 48.0, "T": 48.0}
    assert "day-first" in clvlab.rfm_metadata(rfm)["dates_read_as"]


def test_dotted_dates_keep_their_order() -> None:
    # Before the fix these came out as 2020-05-01 and 2020-01-25: reversed.
    assert _days(["05.01.2020", "25.01.2020"]) == ["2020-01-05", "2020-01-25"]
    assert _days(["1/2/2020 10:30", "25/12/2020 08:00"]) == ["2020-02-01", "2020-12-25"]
    assert _days(["12-25-2020", "01-02-2021"]) == ["2020-12-25", "2021-01-02"]


def test_ambiguous_dates_need_dayfirst_or_a_format() -> None:
    values = ["01/02/2020", "03/04/2020", "01/02/2020", "05/05/2020"]
    err = _raises(
        r"'date': dates are ambiguous: every value reads as a valid date both day-first "
        r"and month-first.*\(3 rows; values '01/02/2020', '03/04/2020'\)\. "
        r"Pass dayfirst=True if '01/02/2020' is day 1 of month 2",
        values,
    )
    assert err.n_rows == 3  # 05/05/2020 reads the same both ways
    assert not err.droppable  # a column-wide problem: invalid="drop" does not apply
    assert _days(values, dayfirst=True)[:2] == ["2020-02-01", "2020-04-03"]
    assert _days(values, dayfirst=False)[:2] == ["2020-01-02", "2020-03-04"]
    assert _days(values, datetime_format="%d/%m/%Y")[:2] == ["2020-02-01", "2020-04-03"]


def test_dayfirst_is_applied_to_every_value() -> None:
    # dayfirst=False cannot read 13/02/2020: that row is reported, not read day-first
    _raises(
        r"date cannot be parsed as format '%m/%d/%Y' \(month-first, given by dayfirst\).*"
        r"\(1 row, customer id 0; value '13/02/2020'\)",
        ["13/02/2020", "02/03/2020"],
        dayfirst=False,
    )


def test_no_single_order_is_refused() -> None:
    _raises(
        r"no single day/month order fits the column: '13/02/2020' can only be day-first "
        r"and '02/25/2020' only month-first",
        ["13/02/2020", "02/25/2020", "01/01/2020"],
    )


def test_a_column_of_iso_and_other_formats_is_read_one_way() -> None:
    # most values are ISO: the others are reported, not read by another convention
    _raises(
        r"date cannot be parsed as ISO 8601 \(YYYY-MM-DD\), the column's convention "
        r"\(1 row, customer id 2; value '13/02/2020'\)",
        ["2020-01-05", "2020-02-01", "13/02/2020"],
    )
    _raises(
        r"date cannot be parsed as format '%d %b %Y' \(inferred from '5 Jan 2020'\).*"
        r"value '2020-02-25'",
        ["5 Jan 2020", "2020-02-25", "7 Mar 2020"],
    )
    _raises(r"neither ISO 8601 .* nor in a format that can be inferred", ["soon", "later"])


def test_mixed_format_argument_is_refused() -> None:
    log = pd.DataFrame({"customer_id": [1], "date": ["2020-01-01"]})
    with pytest.raises(ArgumentError, match="datetime_format='mixed' reads every value"):
        clvlab.rfm_summary(log, datetime_format="mixed")
    for kwargs, match in [
        ({"date_unit": "h"}, "date_unit must be one of"),
        ({"dayfirst": "yes"}, "dayfirst must be True, False or None"),
        ({"date_unit": "s", "datetime_format": "%Y"}, "not both"),
        ({"datetime_format": 5}, "datetime_format must be a format string"),
    ]:
        with pytest.raises(ArgumentError, match=match):
            clvlab.rfm_summary(log, **kwargs)  # type: ignore[arg-type]


def test_iso_text_ignores_dayfirst() -> None:
    assert _days(["2020-01-05", "2020-01-13"], dayfirst=True) == ["2020-01-05", "2020-01-13"]


def test_ambiguous_end_argument_follows_the_column_rules() -> None:
    log = pd.DataFrame({"customer_id": [1, 1], "date": ["2020-01-01", "2020-01-05"]})
    with pytest.raises(clvlab.DataValidationError, match="'observation_end': dates are ambiguous"):
        clvlab.rfm_summary(log, observation_end="01/02/2020", dayfirst=None, datetime_format=None)
    rfm = clvlab.rfm_summary(log, observation_end="01/02/2020", dayfirst=True, time_unit="D")
    # day-first: 2020-01-01 to 2020-01-05, observed to 2020-02-01 (31 days)
    assert rfm.loc[1].to_dict() == {"frequency": 1, "recency": 4.0, "T": 31.0}
    with pytest.raises(clvlab.DataValidationError, match="'observation_end': must be a date"):
        clvlab.rfm_summary(log, observation_end=20200201, dayfirst=True)


# --- time zones: the UTC day -------------------------------------------------------------


def test_mixed_offsets_are_converted_to_utc_days() -> None:
    # 10:00+01:00 is 09:00Z on Jan 1; 23:30-05:00 on Jan 2 is 04:30Z on Jan 3.
    assert _days(["2020-01-01T10:00+01:00", "2020-01-02T23:30-05:00"]) == [
        "2020-01-01",
        "2020-01-03",
    ]
    mixed = pd.Series(
        [
            dt.datetime(2020, 1, 1, 23, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            dt.datetime(2020, 1, 2, tzinfo=dt.UTC),
        ],
        dtype=object,
    )
    assert _days(mixed) == ["2020-01-02", "2020-01-02"]


def test_offsets_on_some_values_only_are_refused() -> None:
    _raises(
        r"some dates carry a time-zone offset and others do not.*\(1 row; values "
        r"'2020-01-01T10:00\+01:00', '2020-01-02T10:00'\)",
        ["2020-01-01T10:00+01:00", "2020-01-02T10:00"],
    )


def test_aware_column_counts_the_utc_day() -> None:
    # 20:00 in New York on Jan 1 (EST, UTC-5) is 01:00Z on Jan 2
    local = pd.Series(pd.to_datetime(["2020-01-01 20:00", "2020-01-05 09:00"]))
    aware = local.dt.tz_localize("America/New_York")
    assert _days(aware) == ["2020-01-02", "2020-01-05"]
    assert _days(aware.dt.tz_localize(None)) == ["2020-01-01", "2020-01-05"]  # the local day


# --- every representation gives the same RFM ------------------------------------------------

_day_numbers = st.integers(min_value=10_000, max_value=20_000)  # 1997-05-19 .. 2024-10-04


@given(
    st.lists(st.tuples(st.integers(0, 6), _day_numbers), min_size=1, max_size=40),
    st.integers(0, 86_399),
)
def test_every_representation_gives_the_same_rfm(rows: list[tuple[int, int]], second: int) -> None:
    ids = np.array([r[0] for r in rows])
    days = np.array([r[1] for r in rows], dtype="datetime64[D]")
    stamps = days.astype("datetime64[s]") + np.int64(second)
    representations: list[tuple[object, dict[str, object]]] = [
        (pd.Series(days.astype(str)), {}),
        (pd.Series(np.datetime_as_string(stamps)), {}),
        (pd.Series(stamps), {}),
        (pd.Series(stamps.astype("datetime64[ns]")), {}),
        (pd.Series(stamps.astype(object), dtype=object), {}),
        (pd.Series(stamps.astype(np.int64)), {"date_unit": "s"}),
        (pd.Series(days.astype(np.int64)), {"date_unit": "D"}),
        (
            pd.Series(np.char.replace(days.astype(str), "-", "").astype(np.int64)),
            {"datetime_format": "%Y%m%d"},
        ),
        (pd.Series(pd.to_datetime(stamps).strftime("%d.%m.%Y")), {"dayfirst": True}),
        (pd.Series(stamps).dt.tz_localize("UTC"), {}),
    ]
    results = []
    for column, kwargs in representations:
        log = pd.DataFrame({"customer_id": ids, "date": column})
        results.append(clvlab.rfm_summary(log, time_unit="D", **kwargs))  # type: ignore[arg-type]
    for result in results[1:]:
        pd.testing.assert_frame_equal(
            result[["frequency", "recency", "T"]], results[0][["frequency", "recency", "T"]]
        )
    # and the days are the given ones: recency is the day span of each customer
    first = pd.Series(days).groupby(ids).min()
    last = pd.Series(days).groupby(ids).max()
    span = ((last - first).dt.days).astype(float)
    np.testing.assert_array_equal(results[0]["recency"].to_numpy(), span.loc[results[0].index])


@given(
    st.lists(_day_numbers, min_size=1, max_size=12),
    st.sampled_from(["/", ".", "-"]),
    st.booleans(),
)
def test_numeric_day_month_text_is_right_or_refused(
    numbers: list[int], sep: str, dayfirst: bool
) -> None:
    # Written day-first or month-first, a column comes back as the true days, or is
    # refused as ambiguous: never as other dates.
    days = np.array(numbers, dtype="datetime64[D]")
    fmt = f"%d{sep}%m{sep}%Y" if dayfirst else f"%m{sep}%d{sep}%Y"
    text = pd.Series(pd.to_datetime(days).strftime(fmt))
    try:
        parsed = parse_dates(text, "date")
    except clvlab.DataValidationError as err:
        assert "ambiguous" in str(err)
    else:
        np.testing.assert_array_equal(parsed.days, days)
    # with the order stated it is always right
    np.testing.assert_array_equal(parse_dates(text, "date", dayfirst=dayfirst).days, days)


def test_inputs_of_every_kind_are_not_modified() -> None:
    columns = [
        pd.Series(np.array(["2020-01-01", "2020-02-01"], "datetime64[s]")),
        pd.Series([20200101, 20200201]),
        pd.Series(["01/01/2020", "13/01/2020"]),
        pd.Series(["2020-01-01T10:00+01:00", "2020-01-02T23:30-05:00"]),
    ]
    for column, kwargs in zip(columns, [{}, {"datetime_format": "%Y%m%d"}, {}, {}], strict=True):
        log = pd.DataFrame({"customer_id": [1, 1], "date": column})
        before = log.copy(deep=True)
        clvlab.rfm_summary(log, **kwargs)  # type: ignore[arg-type]
        pd.testing.assert_frame_equal(log, before)
