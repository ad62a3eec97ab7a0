"""Every validation rule raises DataValidationError naming column, rule, count and ids."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import clvlab


def _log() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "date": ["2020-01-01", "2020-02-01", "2020-01-10", "2020-01-20"],
            "spend": [10.0, 12.0, 5.0, 7.0],
        }
    )


def _raises(match: str, *args: object, **kwargs: object) -> clvlab.DataValidationError:
    with pytest.raises(clvlab.DataValidationError, match=match) as info:
        clvlab.rfm_summary(*args, **kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, clvlab.ClvlabError)
    return info.value


def test_missing_column() -> None:
    err = _raises("'spend_usd'.*missing", _log(), monetary_value_col="spend_usd")
    assert err.column == "spend_usd"


def test_empty_input() -> None:
    _raises("empty", _log().iloc[:0], monetary_value_col="spend")


def test_null_id() -> None:
    log = _log()
    log.loc[2, "customer_id"] = None
    err = _raises(r"'customer_id': customer id is null \(1 row, index label 2\)", log)
    assert err.n_rows == 1
    assert err.droppable  # a row rule: invalid="drop" removes the row


def test_null_date() -> None:
    log = _log()
    log.loc[[0, 3], "date"] = None
    err = _raises(r"'date': date is null \(2 rows, customer ids a, c\)", log)
    assert err.examples == ["a", "c"]


def test_unparseable_date() -> None:
    log = _log()
    log.loc[1, "date"] = "not a date"
    _raises(
        r"'date': date cannot be parsed as ISO 8601 .*\(1 row, customer id a; value 'not a date'\)",
        log,
    )


@pytest.mark.parametrize(
    ("value", "rule"),
    [(-1.0, "monetary value is negative"), (np.inf, "not finite"), (np.nan, "not finite")],
)
def test_bad_monetary_value(value: float, rule: str) -> None:
    log = _log()
    log.loc[3, "spend"] = value
    err = _raises(rf"'spend': .*{rule}.*\(1 row, customer id c", log, monetary_value_col="spend")
    assert err.column == "spend"


def test_non_numeric_monetary_value() -> None:
    log = _log().astype({"spend": object})
    log.loc[0, "spend"] = "ten"
    _raises(r"'spend': monetary value is not a number \(1 row", log, monetary_value_col="spend")


def test_transaction_after_observation_end() -> None:
    _raises(
        r"'date': transaction after observation_end 2020-01-15 \(2 rows",
        _log(),
        observation_end="2020-01-15",
    )


@pytest.mark.parametrize("when", ["2019-12-01", "2020-02-01", "2021-01-01"])
def test_calibration_end_outside_range(when: str) -> None:
    _raises("'calibration_end'.*outside the data range", _log(), calibration_end=when)


def test_drop_is_explicit_and_reported() -> None:
    log = _log()
    log.loc[3, "spend"] = -5.0
    with pytest.warns(clvlab.DataQualityWarning, match="dropped 1 of 4 rows"):
        rfm = clvlab.rfm_summary(log, monetary_value_col="spend", invalid="drop")
    assert "c" not in rfm.index
    assert clvlab.rfm_metadata(rfm)["dropped_rows"] == {"spend: monetary value is negative": 1}


def test_caller_frame_untouched_on_error() -> None:
    log = _log()
    log.loc[0, "date"] = "garbage"
    before = log.copy()
    with pytest.raises(clvlab.DataValidationError):
        clvlab.rfm_summary(log)
    pd.testing.assert_frame_equal(log, before)


# --- RFM tables a user brings -------------------------------------------------------


def _rfm() -> pd.DataFrame:
    return pd.DataFrame(
        {"frequency": [0, 2, 1], "recency": [0.0, 10.0, 3.0], "T": [20.0, 30.0, 5.0]},
        index=pd.Index(["x", "y", "z"], name="customer_id"),
    )


@pytest.mark.parametrize(
    ("column", "row", "value", "rule"),
    [
        ("recency", "z", 6.0, "exceeds T"),
        ("recency", "x", 1.0, "must be 0 when frequency is 0"),
        ("recency", "y", 0.0, "must be positive when frequency is positive"),
        ("frequency", "y", 1.5, "is not a whole number"),
        ("frequency", "y", -1, "is negative"),
        ("T", "x", -2.0, "is negative"),
        ("T", "y", np.nan, "not finite"),
    ],
)
def test_rfm_rules(column: str, row: str, value: float, rule: str) -> None:
    table = _rfm().astype(float)
    table.loc[row, column] = value
    with pytest.raises(clvlab.DataValidationError, match=re.escape(rule)) as info:
        clvlab.validate_rfm(table)
    assert info.value.n_rows == 1
    assert row in info.value.examples
    assert f"'{column}'" in str(info.value)


def test_rfm_missing_and_empty() -> None:
    with pytest.raises(clvlab.DataValidationError, match=r"'T'.*missing"):
        clvlab.validate_rfm(_rfm().drop(columns="T"))
    with pytest.raises(clvlab.DataValidationError, match="empty"):
        clvlab.validate_rfm(_rfm().iloc[:0])
    with pytest.raises(clvlab.DataValidationError, match=r"'monetary_value'.*missing"):
        clvlab.validate_rfm(_rfm(), monetary=True)


def test_rfm_drop_reports_count() -> None:
    table = _rfm()
    table.loc["z", "recency"] = 9.0
    with pytest.warns(clvlab.DataQualityWarning, match="dropped 1 of 3"):
        out = clvlab.validate_rfm(table, invalid="drop")
    assert list(out.index) == ["x", "y"]
    assert table.loc["z", "recency"] == 9.0  # caller's frame unchanged


def test_published_summary_is_valid(cdnow_summary: pd.DataFrame) -> None:
    out = clvlab.validate_rfm(cdnow_summary, monetary=True)
    assert len(out) == 2357
    assert out["frequency"].dtype == np.int64
