"""Time units: a model is only ever used on an RFM table in the unit it was fitted in.

Issue 12, item 2: a model fitted on a weekly RFM table predicted on a monthly table of
the same log gave a CLV total of 12,349 against 11,079 without complaint. clvlab does
not convert; every prediction refuses the mismatch with ``UnitMismatchError``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.errors import ArgumentError, UnitMismatchError
from clvlab.predict.engine import summary_table
from clvlab.units import check_time_units, model_time_unit


def _rfm(log: pd.DataFrame, unit: str) -> pd.DataFrame:
    return clvlab.rfm_summary(
        log,
        customer_id_col="customer_id",
        datetime_col="date",
        monetary_value_col="spend",
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
        time_unit=unit,
    )


@pytest.fixture(scope="module")
def weekly(cdnow_sample: pd.DataFrame) -> pd.DataFrame:
    return _rfm(cdnow_sample, "W")


@pytest.fixture(scope="module")
def monthly(cdnow_sample: pd.DataFrame) -> pd.DataFrame:
    return _rfm(cdnow_sample, "M")


@pytest.fixture(scope="module")
def models(weekly: pd.DataFrame) -> tuple[clvlab.BetaGeo, clvlab.GammaGamma]:
    return (
        clvlab.BetaGeo().fit(weekly, seed=1, progress=False, n_draws=200),
        clvlab.GammaGamma().fit(weekly, seed=1, progress=False, n_draws=200),
    )


MISMATCH = r"fitted on an RFM table in weeks \('W'\), but this RFM table is in months \('M'\)"


def test_model_records_its_unit(models: tuple[clvlab.BetaGeo, clvlab.GammaGamma]) -> None:
    bg, gg = models
    assert bg.fit_info_["data"]["time_unit"] == "W"
    assert model_time_unit(bg) == model_time_unit(gg) == "W"


def test_weekly_model_on_monthly_table_is_refused_not_silently_wrong(
    models: tuple[clvlab.BetaGeo, clvlab.GammaGamma],
    weekly: pd.DataFrame,
    monthly: pd.DataFrame,
    cdnow_sample: pd.DataFrame,
) -> None:
    bg, gg = models
    before = monthly.copy()
    with pytest.raises(UnitMismatchError, match=MISMATCH) as info:
        clvlab.clv(bg, gg, monthly, horizon=12, unit="M")
    message = str(info.value)
    assert "nothing was converted" in message and "time_unit='W'" in message
    pd.testing.assert_frame_equal(monthly, before)  # nothing mutated
    # The fix the message gives works: the table rebuilt in weeks gives the weekly total.
    rebuilt = _rfm(cdnow_sample, "W")
    total = clvlab.clv(bg, gg, rebuilt, horizon=12, unit="M").attrs["clvlab"]["total"]
    expected = clvlab.clv(bg, gg, weekly, horizon=12, unit="M").attrs["clvlab"]["total"]
    assert total["estimate"] == expected["estimate"]
    # So does the other fix, refitting on the monthly table: BG/NBD's alpha scales with
    # the time unit (FHL 2005: lambda ~ Gamma(r, alpha) is a rate per unit), so the MLE in
    # months gives the same 12-month CLV up to the optimiser's tolerance.
    bg_m = clvlab.BetaGeo().fit(monthly, seed=1, progress=False, n_draws=200)
    gg_m = clvlab.GammaGamma().fit(monthly, seed=1, progress=False, n_draws=200)
    assert bg_m.params_.loc["alpha", "estimate"] == pytest.approx(
        bg.params_.loc["alpha", "estimate"] * 7 / (365.25 / 12), rel=1e-3
    )
    refit = clvlab.clv(bg_m, gg_m, monthly, horizon=12, unit="M").attrs["clvlab"]["total"]
    assert refit["estimate"] == pytest.approx(expected["estimate"], rel=1e-3)


CALLS: dict[str, Callable[[Any, Any, pd.DataFrame, pd.DataFrame], Any]] = {
    "expected_purchases": lambda bg, gg, rfm, log: bg.expected_purchases(rfm, 4),
    "expected_purchases_predictive": lambda bg, gg, rfm, log: bg.expected_purchases(
        rfm, 4, predictive=True, seed=1
    ),
    "probability_alive": lambda bg, gg, rfm, log: bg.probability_alive(rfm),
    "probability_alive_t": lambda bg, gg, rfm, log: bg.probability_alive(rfm, t=3),
    "probability_of_purchases": lambda bg, gg, rfm, log: bg.probability_of_purchases(rfm, 4, 1),
    "clv": lambda bg, gg, rfm, log: clvlab.clv(bg, gg, rfm),
    "predict_customers": lambda bg, gg, rfm, log: clvlab.predict_customers(bg, gg, rfm),
    "evaluate": lambda bg, gg, rfm, log: clvlab.evaluate(bg, rfm, max_draws=20),
    "evaluate_spend": lambda bg, gg, rfm, log: clvlab.evaluate(
        bg, rfm, spend_model=gg, max_draws=20
    ),
    "compare": lambda bg, gg, rfm, log: clvlab.compare([bg], rfm),
    "tracking": lambda bg, gg, rfm, log: clvlab.tracking(bg, rfm, log, max_draws=20),
    "frequency_check": lambda bg, gg, rfm, log: clvlab.frequency_check(bg, rfm, n_draws=5),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_every_prediction_checks_the_unit(
    call: str,
    models: tuple[clvlab.BetaGeo, clvlab.GammaGamma],
    monthly: pd.DataFrame,
    cdnow_sample: pd.DataFrame,
) -> None:
    bg, gg = models
    before = monthly.copy()
    with pytest.raises(UnitMismatchError, match=MISMATCH):
        CALLS[call](bg, gg, monthly, cdnow_sample)
    pd.testing.assert_frame_equal(monthly, before)


def test_the_check_survives_save_and_load(
    models: tuple[clvlab.BetaGeo, clvlab.GammaGamma], monthly: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "bg.nc"
    models[0].save(str(path))
    loaded = clvlab.load(str(path))
    assert model_time_unit(loaded) == "W"
    with pytest.raises(UnitMismatchError, match=MISMATCH):
        loaded.expected_purchases(monthly, 4)  # type: ignore[attr-defined]


def test_purchase_and_spend_models_in_different_units_are_refused(
    models: tuple[clvlab.BetaGeo, clvlab.GammaGamma], weekly: pd.DataFrame, monthly: pd.DataFrame
) -> None:
    bg, _ = models
    gg_monthly = clvlab.GammaGamma().fit(monthly, seed=1, progress=False, n_draws=50)
    for call in (
        lambda: clvlab.clv(bg, gg_monthly, weekly),
        lambda: clvlab.predict_customers(bg, gg_monthly, weekly),
        lambda: clvlab.evaluate(bg, weekly, spend_model=gg_monthly, max_draws=20),
    ):
        with pytest.raises(
            UnitMismatchError,
            match=r"BG/NBD model was fitted on an RFM table in weeks \('W'\) but the "
            r"Gamma-Gamma model on one in months \('M'\).*Fit both models on the same",
        ):
            call()
    # Gamma-Gamma alone has no time parameter: its spend prediction does not depend on
    # the table's unit (Fader & Hardie 2013, eq. 5 uses x and m only).
    np.testing.assert_array_equal(
        summary_table(gg_monthly.expected_spend(weekly))["estimate"],
        summary_table(gg_monthly.expected_spend(monthly))["estimate"],
    )


def test_table_without_a_unit_needs_it_stated(
    models: tuple[clvlab.BetaGeo, clvlab.GammaGamma], weekly: pd.DataFrame
) -> None:
    bg, gg = models
    bare = weekly.copy()
    bare.attrs = {}
    calls = {
        "expected_purchases": lambda table, **kw: bg.expected_purchases(table, 4, **kw),
        "probability_alive": lambda table, **kw: bg.probability_alive(table, t=2, **kw),
        "probability_of_purchases": lambda table, **kw: bg.probability_of_purchases(
            table, 4, 2, **kw
        ),
        "clv": lambda table, **kw: clvlab.clv(bg, gg, table, **kw),
    }
    for name, call in calls.items():
        with pytest.raises(
            UnitMismatchError,
            match=r"does not record its time unit.*fitted in weeks \('W'\).*"
            r"pass time_unit='W'",
        ):
            call(bare)
        # stating it as the message says gives the result on the recorded table
        stated = summary_table(call(bare, time_unit="weeks"))
        recorded = summary_table(call(weekly))
        pd.testing.assert_series_equal(stated["estimate"], recorded["estimate"], obj=name)
    pc = clvlab.predict_customers(bg, gg, bare, time_unit="W", seed=1)
    pd.testing.assert_frame_equal(pc.table, clvlab.predict_customers(bg, gg, weekly, seed=1).table)
    assert pc.run["time_unit"] == "W"


def test_stated_unit_must_agree_with_the_recorded_one(
    models: tuple[clvlab.BetaGeo, clvlab.GammaGamma], weekly: pd.DataFrame
) -> None:
    bg, gg = models
    with pytest.raises(UnitMismatchError, match=r"time_unit='M' contradicts.*weeks \('W'\)"):
        bg.expected_purchases(weekly, 4, time_unit="M")
    with pytest.raises(UnitMismatchError, match=r"time_unit='D' contradicts"):
        clvlab.clv(bg, gg, weekly, time_unit="D")
    with pytest.raises(ArgumentError, match=r"unknown time unit 'fortnight'"):
        bg.expected_purchases(weekly, 4, time_unit="fortnight")


def test_no_unit_anywhere_is_accepted_for_predictions_but_clv_needs_one(
    weekly: pd.DataFrame,
) -> None:
    bare = weekly.copy()
    bare.attrs = {}
    bg = clvlab.BetaGeo().fit(bare, seed=1, progress=False, n_draws=50)
    gg = clvlab.GammaGamma().fit(bare, seed=1, progress=False, n_draws=50)
    assert model_time_unit(bg) is None
    # nothing to check against: the user's own convention is kept (t in the table's unit)
    assert check_time_units(bare, bg) is None
    assert np.isfinite(summary_table(bg.expected_purchases(bare, 4))["estimate"]).all()
    # CLV converts calendar periods, so it needs the unit
    with pytest.raises(ArgumentError, match=r"pass time_unit= with the unit"):
        clvlab.clv(bg, gg, bare)
    with pytest.raises(ArgumentError, match=r"pass time_unit= with the unit"):
        clvlab.predict_customers(bg, gg, bare)
    ok = clvlab.clv(bg, gg, bare, time_unit="W")
    assert ok.attrs["clvlab"]["time_unit"] == "W"


def test_recorded_unit_in_results(
    models: tuple[clvlab.BetaGeo, clvlab.GammaGamma], weekly: pd.DataFrame
) -> None:
    bg, gg = models
    assert summary_table(bg.expected_purchases(weekly, 4)).attrs["clvlab"]["time_unit"] == "W"
    assert bg.expected_purchases_new_customer(4.0).attrs["clvlab"]["time_unit"] == "W"
    assert clvlab.predict_customers(bg, gg, weekly, seed=1).run["time_unit"] == "W"
    grid = clvlab.frequency_recency_matrix(bg, T=30.0, max_frequency=3, n_recency=3)
    assert grid.attrs["clvlab"]["time_unit"] == "W"
