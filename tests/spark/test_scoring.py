"""Scoring on Spark: equal to the pandas predict_customers, independent of the
partitioning, with the same errors, and written atomically."""

from __future__ import annotations

import filelock
import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.errors import (
    ArgumentError,
    DataValidationError,
    ExportError,
    NotFittedError,
    UnitMismatchError,
)
from clvlab.export.files import lock_path
from clvlab.export.frames import chunks
from clvlab.export.schema import CUSTOMERS
from clvlab.spark import export_spark, predict_customers, write_parquet, write_table
from clvlab.spark._arrow import quiet

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

SETTINGS = {"horizon": 12.0, "unit": "M", "discount_rate": 0.01, "seed": 7, "run_id": "r1"}


@pytest.fixture(scope="module")
def cdnow():
    rfm = clvlab.datasets.load_cdnow_summary()
    bg = clvlab.BetaGeo().fit(rfm, seed=0, progress=False, n_draws=300)
    gg = clvlab.GammaGamma().fit(rfm, seed=0, progress=False, n_draws=300)
    return rfm, bg, gg


def _sdf(spark, rfm: pd.DataFrame, partitions: int = 2):
    frame = rfm.reset_index()
    frame["customer_id"] = frame["customer_id"].astype(str)
    with quiet():
        return spark.createDataFrame(frame).repartition(partitions)


def _local(table) -> pd.DataFrame:
    with quiet():
        return table.toPandas().set_index("customer_id").sort_index()


@pytest.fixture(scope="module")
def scored(spark, cdnow):
    rfm, bg, gg = cdnow
    out = {}
    for parts in (1, 2, 8):
        preds = predict_customers(
            bg, gg, _sdf(spark, rfm, parts), meta=rfm.attrs["clvlab"], n_buckets=16, **SETTINGS
        )
        out[parts] = (preds, _local(preds.table))
    yield out
    for preds, _ in out.values():
        preds.unpersist()


def test_equal_to_pandas_predict_customers(cdnow, scored) -> None:
    # oracle: the pandas clvlab.predict_customers on the same table, models and settings
    rfm, bg, gg = cdnow
    ref = clvlab.predict_customers(bg, gg, rfm, **SETTINGS)
    expected = next(chunks(ref, CUSTOMERS, len(rfm))).set_index("customer_id").sort_index()
    preds, got = scored[2]
    assert list(preds.table.columns) == CUSTOMERS.names
    assert got.index.tolist() == expected.index.tolist()
    for col in expected.columns:
        if expected[col].dtype == np.float64:
            assert got[col].dtype == np.float64
            np.testing.assert_allclose(got[col], expected[col], rtol=1e-9, atol=0)
        else:
            assert got[col].astype(str).tolist() == expected[col].astype(str).tolist(), col
    run = preds.run
    assert run["customers"] == ref.run["customers"] == 2357
    for key in ("total_clv_estimate", "total_clv_lower", "total_clv_upper"):
        assert run[key] == pytest.approx(ref.run[key], rel=1e-9)
    for key in ("horizon", "horizon_unit", "ci_prob", "interval", "method", "calibration_end"):
        assert run[key] == ref.run[key]
    simple, ref_simple = run["simple_clv"], ref.run["simple_clv"]
    assert simple["retention"]["events"] == ref_simple["retention"]["events"]
    assert simple["retention"]["rate"] == pytest.approx(ref_simple["retention"]["rate"], rel=1e-12)
    for key, value in ref_simple["totals"].items():
        assert simple["totals"][key] == pytest.approx(value, rel=1e-12)
    pd.testing.assert_frame_equal(preds.parameters, ref.parameters)


def test_same_numbers_for_1_2_and_8_partitions(scored) -> None:
    base_run, base = scored[1][0].run, scored[1][1]
    for parts in (2, 8):
        preds, got = scored[parts]
        pd.testing.assert_frame_equal(got, base, check_exact=True)
        for key in ("customers", "total_clv_estimate", "total_clv_lower", "total_clv_upper"):
            assert preds.run[key] == base_run[key]


def test_parquet_folder_round_trip_and_replace(tmp_path, scored) -> None:
    preds, got = scored[2]
    folder = tmp_path / "scores"
    written = write_parquet(preds, folder)
    back = pd.read_parquet(folder).set_index("customer_id").sort_index()
    pd.testing.assert_frame_equal(
        back.drop(columns="as_of"), got.drop(columns="as_of"), check_exact=True
    )
    runs = pd.read_parquet(written["runs"])
    assert runs["customers"].tolist() == [2357]
    assert runs["total_clv_estimate"].tolist() == [preds.run["total_clv_estimate"]]
    # written again: replaced whole, no temporary folder left
    write_parquet(preds, folder)
    assert len(pd.read_parquet(folder)) == 2357
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_parquet_folder_unchanged_when_the_write_fails(spark, tmp_path, scored) -> None:
    from pyspark.sql import functions as F

    preds, _ = scored[2]
    folder = tmp_path / "scores"
    write_parquet(preds, folder)
    before = sorted(p.name for p in folder.iterdir())

    def boom(value):  # no type hints: a plain (row-at-a-time) Python UDF
        raise RuntimeError("disk full (simulated)")

    with quiet():
        failing = F.udf(boom, "double")
    broken = type(preds)(
        preds.table.withColumn("clv_estimate", failing("clv_estimate")), preds.run, preds.parameters
    )
    with pytest.raises(ExportError, match="nothing was changed"):
        write_parquet(broken, folder)
    assert sorted(p.name for p in folder.iterdir()) == before
    assert len(pd.read_parquet(folder)) == 2357
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_parquet_folder_refuses_a_concurrent_writer_and_foreign_folders(tmp_path, scored) -> None:
    preds, _ = scored[2]
    folder = tmp_path / "scores"
    with (
        filelock.FileLock(lock_path(folder)),
        pytest.raises(ExportError, match="held its lock file"),
    ):
        write_parquet(preds, folder, lock_timeout=0.2)
    assert not folder.exists()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    with pytest.raises(ExportError, match="a folder clvlab did not write"):
        write_parquet(preds, other)
    assert [p.name for p in other.iterdir()] == ["keep.txt"]


def test_export_targets_stream_the_rows(tmp_path, scored) -> None:
    preds, got = scored[2]
    target = tmp_path / "clv.parquet"
    export_spark(preds, target, long=True, chunk_rows=500)
    back = clvlab.read_export(target).set_index("customer_id").sort_index()
    np.testing.assert_array_equal(back["clv_upper"], got["clv_upper"])
    assert len(clvlab.read_export(target, "long")) == 4 * 2357
    url = f"sqlite:///{tmp_path / 'clv.db'}"
    export_spark(preds, url, chunk_rows=700)
    sql = clvlab.read_export(url).set_index("customer_id").sort_index()
    np.testing.assert_array_equal(sql["probability_alive_lower"], got["probability_alive_lower"])
    assert clvlab.read_export(url, "runs")["customers"].tolist() == [2357]


def test_spark_table(spark, scored) -> None:
    preds, _ = scored[2]
    written = write_table(preds, "clv_scores_test", mode="overwrite")
    assert spark.table(written["customers"]).count() == 2357
    assert spark.table(written["runs"]).collect()[0]["customers"] == 2357
    with pytest.raises(ExportError, match="already holds run 'r1'"):
        write_table(preds, "clv_scores_test")
    spark.sql("DROP TABLE IF EXISTS clv_scores_test")
    spark.sql("DROP TABLE IF EXISTS clv_scores_test_runs")
    spark.sql("DROP TABLE IF EXISTS clv_scores_test_parameters")


def test_bad_inputs_raise_the_pandas_errors(spark, cdnow) -> None:
    rfm, bg, gg = cdnow
    sdf = _sdf(spark, rfm)
    meta = rfm.attrs["clvlab"]
    with pytest.raises(NotFittedError):
        predict_customers(clvlab.BetaGeo(), gg, sdf, meta=meta)
    with pytest.raises(UnitMismatchError, match="in weeks"):
        predict_customers(bg, gg, sdf, meta={**meta, "time_unit": "D"})
    with pytest.raises(ArgumentError, match="horizon"):
        predict_customers(bg, gg, sdf, meta=meta, horizon=-1.0)
    with pytest.raises(DataValidationError, match=r"'monetary_value'.*missing"):
        predict_customers(bg, gg, sdf.drop("monetary_value"), meta=meta)
    with pytest.raises(ArgumentError, match="models are swapped"):
        predict_customers(gg, bg, sdf, meta=meta)


def test_bad_rows_are_counted_over_all_buckets(spark, cdnow) -> None:
    # 3 customers get recency > T: validate_rfm's rule, counted over every bucket
    rfm, bg, gg = cdnow
    bad = rfm.copy()
    bad.iloc[[0, 500, 1500], bad.columns.get_loc("recency")] = 100.0
    with pytest.raises(DataValidationError, match=r"'recency'.*\(3 rows") as info:
        predict_customers(bg, gg, _sdf(spark, bad), meta=rfm.attrs["clvlab"], n_buckets=8)
    assert info.value.n_rows == 3
