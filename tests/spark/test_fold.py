"""clvlab.spark.fold: the distinct rows and weights of clvlab.fold, and the same fits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.errors import ArgumentError, DataValidationError, UnitMismatchError
from clvlab.spark import fold, rfm_summary
from clvlab.spark._arrow import quiet
from clvlab.spark.folding import SPEND_COLUMNS

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

KW = {
    "monetary_value_col": "spend",
    "calibration_end": "1997-09-30",
    "observation_end": "1998-06-30",
}


@pytest.fixture(scope="module")
def pandas_rfm(cdnow_sample: pd.DataFrame) -> pd.DataFrame:
    log = cdnow_sample.assign(date=cdnow_sample["date"].dt.tz_localize("UTC"))
    return clvlab.rfm_summary(log, "customer_id", "date", **KW)


@pytest.fixture(scope="module")
def spark_rfm(spark, cdnow_sample: pd.DataFrame):
    with quiet():
        sdf = spark.createDataFrame(cdnow_sample)
    return rfm_summary(sdf, "customer_id", "date", **KW).cache()


@pytest.fixture(scope="module")
def folds(spark_rfm) -> dict[str, pd.DataFrame]:
    return {"purchase": fold(spark_rfm), "spend": fold(spark_rfm, SPEND_COLUMNS)}


@pytest.mark.parametrize(
    ("which", "columns"), [("purchase", ("frequency", "recency", "T")), ("spend", SPEND_COLUMNS)]
)
def test_rows_and_weights_equal_clvlab_fold(folds, pandas_rfm, which, columns) -> None:
    # oracle: clvlab.fold on the pandas RFM of the same log
    expected = clvlab.fold(pandas_rfm, columns)
    got = folds[which]
    assert list(got.columns) == [*columns, "weight"]
    if which == "purchase":  # counts and whole-day times: the same rows, bit for bit
        for name in [*columns, "weight"]:
            np.testing.assert_array_equal(
                got[name].to_numpy(dtype=float), expected.rows[name].to_numpy(dtype=float)
            )
    else:
        # Spark adds a customer's spend in its own order (equal to 1e-12), so two values
        # pandas finds equal may differ in the last bit and fold apart: the customers'
        # values, unfolded and sorted, agree to 1e-12
        def unfolded(rows: pd.DataFrame) -> np.ndarray:
            weights = rows["weight"].to_numpy(dtype=np.int64)
            values = rows[list(columns)].to_numpy(dtype=float)
            out = np.repeat(values, weights, axis=0)
            return out[np.lexsort(out.T[::-1])]

        np.testing.assert_allclose(unfolded(got), unfolded(expected.rows), rtol=1e-12)
        assert abs(len(got) - len(expected)) <= 0.01 * len(expected)
    assert got["weight"].sum() == len(pandas_rfm) == 2357
    assert got.attrs["clvlab"]["time_unit"] == "W"
    assert got.attrs["clvlab"]["folded_on"] == list(columns)


@pytest.mark.parametrize("name", ["BetaGeo", "ModifiedBetaGeo", "ParetoNBD", "GammaGamma"])
def test_mle_fit_on_the_spark_fold_equals_the_pandas_fit(folds, pandas_rfm, name) -> None:
    table = folds["spend" if name == "GammaGamma" else "purchase"]
    got = getattr(clvlab, name)().fit(table, seed=3, progress=False)
    want = getattr(clvlab, name)().fit(pandas_rfm, seed=3, progress=False)
    if name == "GammaGamma":  # spend equal to 1e-12 (see above): the fit to 1e-8
        pd.testing.assert_frame_equal(got.params_, want.params_, rtol=1e-8)
        np.testing.assert_allclose(got.parameter_draws(), want.parameter_draws(), rtol=1e-8)
    else:
        pd.testing.assert_frame_equal(got.params_, want.params_, check_exact=True)
        np.testing.assert_array_equal(got.parameter_draws(), want.parameter_draws())
    assert got.n_customers_ == want.n_customers_
    assert got.fit_info_["data"] == want.fit_info_["data"]


def test_map_fit_on_the_spark_fold_equals_the_pandas_fit(folds, pandas_rfm) -> None:
    got = clvlab.BetaGeo().fit(folds["purchase"], method="map", seed=1, progress=False, draws=50)
    want = clvlab.BetaGeo().fit(pandas_rfm, method="map", seed=1, progress=False, draws=50)
    pd.testing.assert_frame_equal(got.params_, want.params_, check_exact=True)


def test_the_fold_keeps_the_unit_for_predictions(folds, pandas_rfm) -> None:
    model = clvlab.BetaGeo().fit(folds["purchase"], progress=False)
    monthly = pandas_rfm.copy()
    monthly.attrs["clvlab"] = {**monthly.attrs["clvlab"], "time_unit": "M"}
    with pytest.raises(UnitMismatchError, match="weeks"):
        model.expected_purchases(monthly, 4.0)


def test_bad_arguments_and_tables_are_refused(spark_rfm, folds) -> None:
    with pytest.raises(ArgumentError, match="columns must be"):
        fold(spark_rfm, ("frequency",))
    with pytest.raises(DataValidationError, match="more than 10 distinct rows"):
        fold(spark_rfm, max_rows=10)
    with pytest.raises(DataValidationError, match="'monetary_value': required RFM column"):
        fold(spark_rfm.drop("monetary_value"), SPEND_COLUMNS)
    bad = folds["purchase"].copy()
    bad.loc[0, "weight"] = -1.0
    with pytest.raises(DataValidationError, match="'weight': must be a finite, positive"):
        clvlab.BetaGeo().fit(bad, progress=False)
    with pytest.raises(DataValidationError, match="'monetary_value': required RFM column"):
        clvlab.GammaGamma().fit(folds["purchase"], progress=False)


def test_a_seeded_sample_of_customers_is_folded_the_same_for_any_partitioning(
    spark_rfm, pandas_rfm
) -> None:
    # Gamma-Gamma's monetary means hardly fold: a hashed sample of the customers keeps
    # the driver's table small, the same whatever the partitioning
    one = fold(spark_rfm.coalesce(1), SPEND_COLUMNS, sample=1000, seed=5)
    four = fold(spark_rfm.repartition(4), SPEND_COLUMNS, sample=1000, seed=5)
    pd.testing.assert_frame_equal(one, four)
    kept = one.attrs["clvlab"]["sample"]
    assert kept["of"] == 2357 and kept["customers"] == one["weight"].sum()
    # a Bernoulli(1000 / 2357) sample: within 5 binomial standard errors of 1000 (by hand)
    assert abs(kept["customers"] - 1000) < 5 * np.sqrt(2357 * 0.424 * 0.576)
    other = fold(spark_rfm, SPEND_COLUMNS, sample=1000, seed=6)
    assert not one.equals(other)  # another seed, another sample
    # every sampled row is a customer's row of the full table
    full = clvlab.fold(pandas_rfm, SPEND_COLUMNS).rows
    same_x = one["frequency"].to_numpy()[:, None] == full["frequency"].to_numpy()[None, :]
    close_m = np.isclose(
        one["monetary_value"].to_numpy()[:, None],
        full["monetary_value"].to_numpy()[None, :],
        rtol=1e-12,
        atol=0.0,
    )
    assert (same_x & close_m).any(axis=1).all()  # spend equal to 1e-12, see above
    fit = clvlab.GammaGamma().fit(one, seed=1, progress=False)
    assert np.isfinite(fit.params_["estimate"]).all()
    # a sample at least as large as the table keeps every customer
    everyone = fold(spark_rfm, SPEND_COLUMNS, sample=10_000)
    assert everyone["weight"].sum() == 2357 and everyone.attrs["clvlab"]["sample"]["of"] == 2357
    with pytest.raises(clvlab.ArgumentError, match="sample"):
        fold(spark_rfm, SPEND_COLUMNS, sample=0)
