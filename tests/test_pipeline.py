"""clvlab.pipeline: settings, the target check, run ids and the refusal of results that
are not finite (the API behind ``clvlab run`` and ``clvlab demo``)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import clvlab
from clvlab.errors import ArgumentError, ConvergenceError, ExportError
from clvlab.pipeline import (
    PipelineSettings,
    _check_fit,
    _check_predictions,
    _point_estimates,
    check_settings,
    default_discount_rate,
    preflight,
    run_pipeline,
)


@pytest.fixture(scope="module")
def fitted(
    cdnow_sample_rfm: pd.DataFrame,
) -> tuple[clvlab.BetaGeo, clvlab.GammaGamma, clvlab.CustomerPredictions]:
    rfm = cdnow_sample_rfm
    rfm = rfm[~((rfm["frequency"] > 0) & (rfm["monetary_value"] <= 0))]
    bg = clvlab.BetaGeo().fit(rfm, method="mle", seed=1, progress=False, n_draws=200)
    gg = clvlab.GammaGamma().fit(rfm, method="mle", seed=1, progress=False, n_draws=200)
    predictions = clvlab.predict_customers(bg, gg, rfm, horizon=12, unit="M", seed=1)
    return bg, gg, predictions


def test_default_discount_rate_is_one_percent_a_month() -> None:
    # hand computation: (1 + 0.01) ** (months per period) - 1, a month = 365.25 / 12 days
    assert default_discount_rate("M") == 0.01
    assert default_discount_rate("Y") == pytest.approx(1.01**12 - 1, rel=1e-14)
    assert default_discount_rate("W") == pytest.approx(1.01 ** (7 / 30.4375) - 1, rel=1e-14)
    assert default_discount_rate("D") == pytest.approx(1.01 ** (1 / 30.4375) - 1, rel=1e-14)
    settings = check_settings(PipelineSettings(horizon_unit="Y"))
    assert settings.discount_rate == default_discount_rate("Y")
    # an explicit rate is kept as given, per horizon unit
    assert check_settings(PipelineSettings(discount_rate=0.0)).discount_rate == 0.0


def test_check_settings_returns_a_copy_and_leaves_the_input() -> None:
    given_settings = PipelineSettings(time_unit="years", horizon_unit="m", horizon=3)
    checked = check_settings(given_settings)
    assert (checked.time_unit, checked.horizon_unit, checked.horizon) == ("Y", "M", 3.0)
    assert (given_settings.time_unit, given_settings.horizon_unit) == ("years", "m")
    assert given_settings.discount_rate is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"horizon": "12"}, r"horizon must be a real number, got '12' \(str\)"),
        ({"horizon": math.inf}, r"horizon must be a finite number, got inf"),
        ({"margin": math.nan}, r"margin must be a finite number, got nan"),
        ({"discount_rate": math.nan}, r"discount_rate must be a finite number, got nan"),
        ({"draws": 1.5}, r"draws must be an integer >= 1, got 1\.5"),
        ({"chains": True}, r"chains must be an integer >= 1, got True \(bool\)"),
        ({"n_bootstrap": 1}, r"n_bootstrap must be an integer >= 2, got 1"),
        ({"method": "sgd"}, r"method must be one of \['advi', 'map', 'mle', 'nuts'\]"),
        (
            {"purchase_model": "paretonbd"},
            r"purchase model must be one of \['bgbb', 'bgnbd', 'mbgnbd', 'pnbd', 'sbg'\]",
        ),
        ({"spend_model": "x"}, r"spend model must be one of \['gamma_gamma'\]"),
        ({"uncertainty": "jackknife"}, r"uncertainty must be one of \['bootstrap', 'laplace'\]"),
        ({"time_unit": "H"}, r"unknown time unit 'H'"),
        ({"customer_col": ""}, r"customer_col must be a column name, got ''"),
        ({"run_id": ""}, r"run_id must be a non-empty text, got ''"),
        ({"calibration_end": "31/02/2020"}, r"calibration_end must be a date such as"),
    ],
)
def test_run_pipeline_refuses_bad_settings_before_any_work(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, object],
    message: str,
) -> None:
    settings = PipelineSettings(amount_col="spend", progress=False, **change)  # type: ignore[arg-type]
    log = clvlab.datasets.load_cdnow_sample()
    before = log.copy()
    with pytest.raises(ArgumentError, match=message):
        run_pipeline(log, tmp_path / "p.parquet", settings)
    assert capsys.readouterr().out == ""
    assert list(tmp_path.iterdir()) == []
    pd.testing.assert_frame_equal(log, before)


@given(horizon=st.floats(allow_nan=True, allow_infinity=True, width=64))
def test_check_settings_horizon_is_finite_and_positive_or_refused(horizon: float) -> None:
    settings = PipelineSettings(horizon=horizon)
    if math.isfinite(horizon) and horizon > 0:
        assert check_settings(settings).horizon == horizon
    else:
        with pytest.raises(ArgumentError, match="horizon must be"):
            check_settings(settings)


@given(rate=st.floats(allow_nan=True, allow_infinity=True, width=64))
def test_check_settings_discount_rate_above_minus_one_or_refused(rate: float) -> None:
    settings = PipelineSettings(discount_rate=rate)
    if math.isfinite(rate) and rate > -1:
        assert check_settings(settings).discount_rate == rate
    else:
        with pytest.raises(ArgumentError, match="discount_rate must be"):
            check_settings(settings)


def test_preflight_accepts_good_targets_and_creates_nothing(tmp_path: Path) -> None:
    for target in (
        tmp_path / "p.parquet",
        tmp_path / "p.PQ",
        tmp_path / "new" / "deeper" / "p.csv",
        f"sqlite:///{tmp_path / 'clv.db'}",
        "sqlite://",
    ):
        preflight(target)
    assert list(tmp_path.iterdir()) == []
    # an existing SQLite database is opened and checked, not changed
    db = tmp_path / "clv.db"
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("create table t (x int)")
    content = db.read_bytes()
    preflight(f"sqlite:///{db}")
    assert db.read_bytes() == content


def test_preflight_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    fake = tmp_path / "clv.db"
    fake.write_text("not a database\n" * 200)
    with pytest.raises(ExportError, match=r"cannot connect to sqlite:///.*clv\.db: file is not a"):
        preflight(f"sqlite:///{fake}")
    assert fake.read_text() == "not a database\n" * 200


@pytest.mark.parametrize(
    "target",
    [
        "postgresql://u:p@host:notaport/db",
        "postgresql://u:p@[::1/db",
    ],
)
def test_preflight_refuses_malformed_urls(target: str) -> None:
    with pytest.raises(
        ExportError, match=r"not a database URL|cannot|port of the postgresql URL"
    ) as info:
        preflight(target)
    assert ":p@" not in str(info.value)


def test_check_fit_refuses_non_finite_uncertainty(fitted: tuple) -> None:
    bg, _, _ = fitted
    assert np.isfinite(bg.params_.to_numpy()).all()
    _check_fit(bg, point_estimates_only=False)  # a sound fit passes
    # The degenerate optimum of the issue: a at 0, b large, an infinite Laplace sd
    # (the BG/NBD fit of the retail log in days).
    broken = clvlab.BetaGeo()
    broken.__dict__.update(bg.__dict__)
    broken.params_ = bg.params_.copy()
    broken.params_.loc["b", ["sd", "upper"]] = [np.inf, np.nan]
    with pytest.raises(
        ConvergenceError,
        match=r"BG/NBD fit by MLE is degenerate: the uncertainty of b is not finite "
        # b = 2.426 on the CDNOW sample: Fader, Hardie & Lee (2005), table 1
        r"\(b = 2\.426 \[sd inf, lower [0-9.]+, upper nan\]\).*nothing was exported\. "
        r"Fit by --method nuts.*--point-estimates-only",
    ):
        _check_fit(broken, point_estimates_only=False)
    _check_fit(broken, point_estimates_only=True)  # the user asked for point estimates
    broken.params_.loc["a", "estimate"] = np.nan
    with pytest.raises(ConvergenceError, match=r"non-finite parameter estimates"):
        _check_fit(broken, point_estimates_only=True)
    assert np.isfinite(bg.params_.to_numpy()).all()  # the original is untouched


def test_check_predictions_names_the_customers(fitted: tuple) -> None:
    _, _, predictions = fitted
    _check_predictions(predictions, point_estimates_only=False)
    table = predictions.table.copy()
    table.iloc[[3, 7], table.columns.get_loc("clv_upper")] = np.nan
    broken = clvlab.CustomerPredictions(table, predictions.run, predictions.parameters)
    ids = ", ".join(str(i) for i in table.index[[3, 7]])
    with pytest.raises(
        ConvergenceError,
        match=rf"2 customers would get non-finite predictions \(clv_upper in 2; customer ids "
        rf"{ids}\); nothing was exported",
    ):
        _check_predictions(broken, point_estimates_only=False)
    _check_predictions(broken, point_estimates_only=True)
    table.iloc[0, table.columns.get_loc("probability_alive_estimate")] = np.inf
    with pytest.raises(ConvergenceError, match=r"probability_alive_estimate in 1"):
        _check_predictions(broken, point_estimates_only=True)


def test_point_estimates_empties_every_interval_and_keeps_the_input(fitted: tuple) -> None:
    _, _, predictions = fitted
    before = predictions.table.copy()
    point = _point_estimates(predictions)
    pd.testing.assert_frame_equal(predictions.table, before)
    assert predictions.run["interval"] == "eti"
    for metric in clvlab.predict.table.METRICS:
        pd.testing.assert_series_equal(
            point.table[f"{metric}_estimate"], before[f"{metric}_estimate"]
        )
        assert point.table[[f"{metric}_lower", f"{metric}_upper"]].isna().all().all()
    assert point.run["interval"] == "none" and math.isnan(point.run["total_clv_upper"])
    assert point.run["total_clv_estimate"] == predictions.run["total_clv_estimate"]
    assert point.parameters[["lower", "upper"]].isna().all().all()


def test_run_pipeline_zero_spend_warning_names_ids_as_ids() -> None:
    log = clvlab.datasets.load_cdnow_sample()[["customer_id", "date", "spend"]]
    extra = pd.DataFrame(
        {
            "customer_id": [14527.0] * 3,
            "date": pd.to_datetime(["1997-01-05", "1997-02-05", "1997-03-05"]),
            "spend": [10.0, 0.0, 0.0],
        }
    )
    log = pd.concat([log.astype({"customer_id": float}), extra], ignore_index=True)
    settings = PipelineSettings(
        amount_col="spend", calibration_end="1997-09-30", draws=50, progress=False
    )
    with pytest.warns(
        clvlab.DataQualityWarning,
        match=r"^excluded 1 customer whose repeat purchases are worth 0 \(customer id 14527\)",
    ):
        predictions, _, _ = run_pipeline(log, None, settings)
    assert 14527.0 not in predictions.table.index
    assert predictions.run_id.startswith("run-")
