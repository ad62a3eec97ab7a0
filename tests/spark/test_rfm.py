"""clvlab.spark.rfm_summary equals clvlab.rfm_summary: numbers, metadata and errors.

The oracle of every test is the pandas summary of the same log (the Spark column types
read as their pandas equivalents: TimestampType as a UTC-aware column, DateType as
datetime64[s], text and numbers as they are).
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clvlab
from clvlab.data.ids import id_texts
from clvlab.errors import ArgumentError, DataQualityWarning, DataValidationError
from clvlab.spark import rfm_metadata, rfm_summary
from clvlab.spark._arrow import quiet as quiet_pandas_version

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

CAL, OBS = "1997-09-30", "1998-06-30"


def to_spark(spark, log: pd.DataFrame, parts: int = 2):
    """A Spark DataFrame of ``log`` with ``parts`` partitions, rows in the log's order."""
    with quiet_pandas_version():
        base = spark.createDataFrame(log)
        rows = base.collect()
        return spark.createDataFrame(spark.sparkContext.parallelize(rows, parts), base.schema)


def spark_result(sdf, *args, **kwargs) -> tuple[pd.DataFrame, dict]:
    out = rfm_summary(sdf, *args, **kwargs)
    with quiet_pandas_version():
        frame = out.toPandas()
    id_col = out.columns[0]
    return frame.set_index(id_col).sort_index(), rfm_metadata(out)


def assert_same(spark_df, pandas_log, *args, exact=False, **kwargs) -> pd.DataFrame:
    """The Spark summary equals pandas': counts exactly, times and spend to 1e-12 (times
    exactly with ``exact=True``: both compute them from the same whole day numbers)."""
    got, meta = spark_result(spark_df, *args, **kwargs)
    expected = clvlab.rfm_summary(pandas_log, *args, **kwargs)
    want = expected.copy()
    want.index = pd.Index(id_texts(expected.index), name=expected.index.name)
    want = want.sort_index()
    assert list(got.columns) == list(want.columns)
    assert got.index.tolist() == want.index.tolist()
    for name in want.columns:
        if want[name].dtype == np.int64:
            assert got[name].dtype == np.int64
            np.testing.assert_array_equal(got[name].to_numpy(), want[name].to_numpy())
        elif exact and not name.startswith("monetary_value"):
            np.testing.assert_array_equal(got[name].to_numpy(), want[name].to_numpy())
        else:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-12)
    assert meta == clvlab.rfm_metadata(expected)
    return got


# ---- CDNOW ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cdnow_log(cdnow_sample: pd.DataFrame) -> pd.DataFrame:
    # the Spark timestamp is an instant: its pandas twin is the UTC-aware column
    return cdnow_sample.assign(date=cdnow_sample["date"].dt.tz_localize("UTC"))


@pytest.fixture(scope="module")
def cdnow_spark(spark, cdnow_log: pd.DataFrame):
    return to_spark(spark, cdnow_log, 2).cache()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"monetary_value_col": "spend", "calibration_end": CAL, "observation_end": OBS},
        {},
        {"monetary_value_col": "spend", "resolution": "W", "calibration_end": CAL},
        {"monetary_value_col": "spend", "time_unit": "D"},
    ],
    ids=["calibration-spend", "plain", "weekly-grain", "days"],
)
def test_cdnow_equals_pandas(cdnow_spark, cdnow_log, kwargs) -> None:
    # oracle: clvlab.rfm_summary on the same log; recency and T bit for bit, spend (added
    # in Spark's order) to 1e-12
    got = assert_same(cdnow_spark, cdnow_log, "customer_id", "date", exact=True, **kwargs)
    assert len(got) == 2357  # the CDNOW 1/10 sample's customers (lifetimes' file)


# ---- simulated edge cases --------------------------------------------------------------------


def edge_log() -> pd.DataFrame:
    """One customer buying once; same-day repeats; purchases on calibration_end and on
    observation_end; customers whose first purchase is after calibration_end."""
    rows = [
        ("solo", "2020-01-01", 5.0),
        ("rep", "2020-01-02", 1.0),
        ("rep", "2020-01-02", 2.5),
        ("rep", "2020-01-02", 0.25),
        ("rep", "2020-01-09", 4.0),
        ("rep", "2020-01-31", 3.0),  # on calibration_end: calibration
        ("edge", "2020-01-10", 2.0),
        ("edge", "2020-02-01", 7.0),  # the day after calibration_end: holdout
        ("edge", "2020-02-29", 1.0),  # on observation_end
        ("late", "2020-02-03", 9.0),  # first purchase after calibration_end
        ("late", "2020-02-10", 9.0),
        ("solo", "2020-01-01", 0.0),
    ]
    return pd.DataFrame(rows, columns=["customer_id", "date", "spend"])


EDGE_KW = {
    "monetary_value_col": "spend",
    "calibration_end": "2020-01-31",
    "observation_end": "2020-02-29",
}


def as_kind(log: pd.DataFrame, kind: str) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(log for Spark, its pandas twin, extra arguments) with the dates as ``kind``."""
    text = log["date"]
    if kind == "text":
        return log, log, {}
    if kind == "timestamp":
        stamps = pd.to_datetime(text).dt.tz_localize("UTC") + pd.Timedelta(hours=23)
        twin = log.assign(date=stamps)
        return twin, twin, {}
    if kind == "date":
        days = pd.to_datetime(text).dt.date
        return log.assign(date=days), log.assign(date=pd.to_datetime(text).astype("M8[s]")), {}
    if kind == "yyyymmdd":
        numbers = text.str.replace("-", "").astype(np.int64)
        return log.assign(date=numbers), log.assign(date=numbers), {"datetime_format": "%Y%m%d"}
    assert kind == "epoch_days"
    days = (pd.to_datetime(text) - pd.Timestamp("1970-01-01")).dt.days.astype(np.int64)
    return log.assign(date=days), log.assign(date=days), {"date_unit": "D"}


@pytest.mark.parametrize(
    ("kind", "parts"),
    [
        ("text", 1),
        ("text", 2),
        ("text", 8),
        ("timestamp", 8),
        ("date", 2),
        ("yyyymmdd", 2),
        ("epoch_days", 3),
    ],
)
def test_edge_cases_equal_pandas_for_every_date_type_and_partitioning(spark, kind, parts) -> None:
    spark_log, pandas_log, extra = as_kind(edge_log(), kind)
    got = assert_same(to_spark(spark, spark_log, parts), pandas_log, **EDGE_KW, **extra)
    # hand check: 'rep' buys on 3 days up to 2020-01-31, 3.75 then 4 then 3
    assert got.loc["rep", "frequency"] == 2 and got.loc["rep", "monetary_value"] == 3.5
    assert "late" not in got.index


@pytest.mark.parametrize("ids", ["int", "float", "text"])
def test_id_types_give_pandas_text_ids(spark, ids) -> None:
    log = edge_log()
    codes = {"solo": 7, "rep": 14527, "edge": 3, "late": 99}
    numeric = log["customer_id"].map(codes)
    log["customer_id"] = {
        "int": numeric,
        "float": numeric.astype(float),
        "text": log["customer_id"],
    }[ids]
    got = assert_same(to_spark(spark, log, 3), log, **EDGE_KW)
    assert "14527" in got.index or ids == "text"  # never "14527.0"


def test_text_dates_day_first_are_read_as_pandas_reads_them(spark) -> None:
    # 13/02/2020 can only be day-first: pandas reads the whole column day-first
    log = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 2],
            "date": ["01/02/2020", "13/02/2020", "05/02/2020", "02/03/2020"],
        }
    )
    assert_same(to_spark(spark, log, 4), log)


logs = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.integers(0, 60),
        st.sampled_from([0.0, 0.1, 0.7, 2.5, 19.99, 1e3]),
    ),
    min_size=1,
    max_size=30,
)


@pytest.mark.slow
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=logs, cut=st.integers(0, 59), parts=st.sampled_from([1, 3]))
def test_random_logs_equal_pandas(spark, rows, cut, parts) -> None:
    start = pd.Timestamp("2021-03-01")
    log = pd.DataFrame(
        {
            "customer_id": [f"c{c}" for c, _, _ in rows],
            "date": [(start + pd.Timedelta(days=d)).strftime("%Y-%m-%d") for _, d, _ in rows],
            "spend": [v for _, _, v in rows],
        }
    )
    first = min(d for _, d, _ in rows)
    last = max(d for _, d, _ in rows)
    kwargs: dict = {"monetary_value_col": "spend", "observation_end": "2021-05-15"}
    if first <= cut < 75:
        kwargs["calibration_end"] = (start + pd.Timedelta(days=cut)).strftime("%Y-%m-%d")
    assert last <= 75
    assert_same(to_spark(spark, log, parts), log, **kwargs)


# ---- errors: the same type and message as pandas -------------------------------------------


def base_log() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f"],
            "date": [
                "2020-01-01",
                "2020-01-05",
                "2020-01-06",
                "2020-02-01",
                "2020-02-02",
                "2020-03-01",
            ],
            "spend": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )


def _set(column, positions, value):
    def change(log: pd.DataFrame) -> pd.DataFrame:
        log = log.astype({column: object})
        for position in positions:
            log.at[position, column] = value
        return log

    return change


ERROR_CASES = {
    "missing column": (lambda log: log.drop(columns="spend"), {"monetary_value_col": "spend"}),
    "null id": (_set("customer_id", [1, 4], None), {}),
    "null date": (_set("date", [0, 5], None), {}),
    "unreadable date": (_set("date", [2, 5], "2020-13-45"), {}),
    "out of range": (_set("date", [3, 5], "9999-12-31"), {}),
    "negative spend": (_set("spend", [1, 5], -1.0), {"monetary_value_col": "spend"}),
    "nan spend": (_set("spend", [0, 5], float("nan")), {"monetary_value_col": "spend"}),
    "after observation_end": (lambda log: log, {"observation_end": "2020-02-01"}),
    "ambiguous": (
        lambda log: log.assign(
            date=[
                "01/02/2020",
                "03/04/2020",
                "05/06/2020",
                "01/01/2020",
                "02/02/2020",
                "07/08/2020",
            ]
        ),
        {},
    ),
    "no single order": (
        lambda log: log.assign(
            date=[
                "13/02/2020",
                "03/04/2020",
                "05/06/2020",
                "01/01/2020",
                "02/02/2020",
                "02/28/2020",
            ]
        ),
        {},
    ),
    "numbers without unit": (lambda log: log.assign(date=np.arange(6) + 18_000), {}),
    "mixed offsets": (
        lambda log: log.assign(date=[*["2020-01-01T10:00+01:00"] * 3, *["2020-01-02T10:00"] * 3]),
        {},
    ),
    "bad time unit": (lambda log: log, {"time_unit": "fortnight"}),
    "bad policy": (lambda log: log, {"invalid": "ignore"}),
    "bad resolution": (lambda log: log, {"resolution": "M"}),
    "calibration outside": (lambda log: log, {"calibration_end": "2021-01-01"}),
    "both format and unit": (lambda log: log, {"datetime_format": "%Y", "date_unit": "s"}),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_bad_logs_raise_the_pandas_error(spark, case) -> None:
    change, kwargs = ERROR_CASES[case]
    log = change(base_log())
    with pytest.raises((DataValidationError, ArgumentError)) as expected:
        clvlab.rfm_summary(log, **kwargs)
    sdf = to_spark(spark, log, 3)
    with pytest.raises(type(expected.value)) as got:
        rfm_summary(sdf, **kwargs)
    assert str(got.value) == str(expected.value)


def test_drop_gives_the_pandas_warning_rows_and_metadata(spark) -> None:
    log = base_log()
    log = _set("spend", [1], -1.0)(
        _set("date", [2], "9999-12-31")(_set("customer_id", [5], None)(log))
    )
    kwargs = {"monetary_value_col": "spend", "invalid": "drop"}
    with pytest.warns(DataQualityWarning) as expected:
        clvlab.rfm_summary(log, **kwargs)
    sdf = to_spark(spark, log, 6)  # one row per partition: each partition drops all or nothing
    with pytest.warns(DataQualityWarning) as got:
        out = rfm_summary(sdf, **kwargs)
    assert [str(w.message) for w in got] == [str(w.message) for w in expected]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        assert_same(sdf, log, **kwargs)
    assert rfm_metadata(out)["dropped_rows"] == {
        "customer_id: customer id is null": 1,
        "date: date is outside the supported range 1677-09-22 to 2262-04-11": 1,
        "spend: monetary value is negative": 1,
    }


def test_refuses_a_pandas_frame_and_names_the_pandas_function() -> None:
    with pytest.raises(
        DataValidationError, match=r"expected a Spark DataFrame.*clvlab\.rfm_summary"
    ):
        rfm_summary(base_log())


def test_metadata_survives_select_and_parquet(spark, tmp_path) -> None:
    out = rfm_summary(to_spark(spark, edge_log(), 2), **EDGE_KW)
    meta = rfm_metadata(out)
    assert meta["time_unit"] == "W" and meta["n_customers_after_calibration"] == 1
    out.select("customer_id", "frequency").write.parquet(str(tmp_path / "rfm"))
    assert rfm_metadata(spark.read.parquet(str(tmp_path / "rfm"))) == meta
    assert rfm_metadata(spark.range(1)) == {}


def test_timestamps_far_from_1970_keep_their_day(spark) -> None:
    # Arrow would read these through nanoseconds: the day numbers keep them exact
    stamps = [dt.datetime(2262, 4, 11, 23, 59, 59, 999999), dt.datetime(1677, 9, 22, 0, 0, 1)]
    log = pd.DataFrame({"customer_id": ["x", "y"], "date": stamps})
    twin = log.assign(date=log["date"].astype("M8[us]").dt.tz_localize("UTC"))
    assert_same(to_spark(spark, twin, 2), twin, time_unit="D")
