"""predict_customers: every BI row comes from it, so each column is checked by number.

Issue 12, item 13: a 12-month horizon passed on as 12 weeks, and P(alive) computed at
T + t, went unnoticed. Each column is compared with the model method it comes from and
with lifetimes as an independent oracle at the horizon converted by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.inference._lifetimes import lifetimes_module
from clvlab.predict.engine import summary_table


@pytest.fixture(scope="module")
def fitted(
    cdnow_sample_rfm: pd.DataFrame,
) -> tuple[clvlab.BetaGeo, clvlab.GammaGamma, pd.DataFrame]:
    bg = clvlab.BetaGeo().fit(cdnow_sample_rfm, seed=1, progress=False, n_draws=300)
    gg = clvlab.GammaGamma().fit(cdnow_sample_rfm, seed=2, progress=False, n_draws=300)
    return bg, gg, cdnow_sample_rfm.iloc[:400]


def test_each_column_equals_its_model_method(
    fitted: tuple[clvlab.BetaGeo, clvlab.GammaGamma, pd.DataFrame],
) -> None:
    bg, gg, rfm = fitted
    before = rfm.copy()
    pc = clvlab.predict_customers(
        bg, gg, rfm, horizon=12, unit="M", discount_rate=0.01, margin=0.3, seed=4
    )
    pd.testing.assert_frame_equal(rfm, before)
    # 12 months of 365.25/12 days in the RFM's weeks: 12 * 30.4375 / 7 = 52.178571 weeks
    weeks = 12 * 30.4375 / 7
    expected = {
        "clv": summary_table(
            clvlab.clv(bg, gg, rfm, horizon=12, unit="M", discount_rate=0.01, margin=0.3, seed=4)
        ),
        "expected_purchases": summary_table(bg.expected_purchases(rfm, weeks)),
        "probability_alive": summary_table(bg.probability_alive(rfm, t=0)),
        "expected_spend": summary_table(gg.expected_spend(rfm)),
    }
    table = pc.table
    assert list(table.index) == list(rfm.index) and table.index.name == "customer_id"
    for metric, frame in expected.items():
        for col in ("estimate", "lower", "upper"):
            np.testing.assert_allclose(
                table[f"{metric}_{col}"], frame[col], rtol=1e-12, err_msg=f"{metric}_{col}"
            )
    # Independent oracle: lifetimes at clvlab's MLE, with the horizon converted by hand.
    lifetimes = lifetimes_module("lifetimes")
    bgf, ggf = lifetimes.BetaGeoFitter(), lifetimes.GammaGammaFitter()
    bgf.params_, ggf.params_ = pd.Series(bg.point_params()), pd.Series(gg.point_params())
    x, tx, T = rfm["frequency"], rfm["recency"], rfm["T"]
    np.testing.assert_allclose(
        table["expected_purchases_estimate"],
        bgf.conditional_expected_number_of_purchases_up_to_time(weeks, x, tx, T),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        table["probability_alive_estimate"], bgf.conditional_probability_alive(x, tx, T), rtol=1e-6
    )
    np.testing.assert_allclose(
        table["expected_spend_estimate"],
        ggf.conditional_expected_average_profit(x, rfm["monetary_value"]),
        rtol=1e-6,
    )
    run = pc.run
    assert run["horizon"] == 12 and run["horizon_unit"] == "M" and run["time_unit"] == "W"
    assert run["margin"] == 0.3 and run["discount_rate"] == 0.01
    assert run["total_clv_estimate"] == pytest.approx(table["clv_estimate"].sum())
    assert run["customers"] == len(rfm)
    # the long table carries the same numbers
    long = pc.long()
    clv_rows = long[long["metric"] == "clv"].set_index("customer_id")
    np.testing.assert_array_equal(clv_rows["estimate"], table["clv_estimate"])
    assert set(long.loc[long["metric"] == "expected_purchases", "horizon"]) == {12.0}
    assert set(long.loc[long["metric"] == "probability_alive", "horizon"]) == {0.0}


def test_other_units_of_the_horizon(
    fitted: tuple[clvlab.BetaGeo, clvlab.GammaGamma, pd.DataFrame],
) -> None:
    bg, gg, rfm = fitted
    rfm = rfm.iloc[:50]
    # 1 year = 365.25 / 7 weeks; 90 days = 90 / 7 weeks (hand conversion)
    for horizon, unit, weeks in ((1, "Y", 365.25 / 7), (90, "D", 90 / 7), (6, "W", 6.0)):
        pc = clvlab.predict_customers(bg, gg, rfm, horizon=horizon, unit=unit, seed=1)
        np.testing.assert_allclose(
            pc.table["expected_purchases_estimate"],
            summary_table(bg.expected_purchases(rfm, weeks))["estimate"],
            rtol=1e-12,
        )


def test_defaults_and_the_run_record(
    fitted: tuple[clvlab.BetaGeo, clvlab.GammaGamma, pd.DataFrame],
) -> None:
    """The documented defaults (12 months, no discount, margin 1) and every field of the
    run record that the export writes (README, export schema: runs table)."""
    bg, gg, rfm = fitted
    pc = clvlab.predict_customers(bg, gg, rfm, seed=4, run_id="r-1")
    explicit = clvlab.predict_customers(
        bg, gg, rfm, horizon=12, unit="M", discount_rate=0.0, margin=1.0, seed=4, run_id="r-1"
    )
    pd.testing.assert_frame_equal(pc.table, explicit.table)
    run = pc.run
    assert run["run_id"] == "r-1"
    assert (run["purchase_model"], run["spend_model"], run["method"]) == (
        "bgnbd",
        "gamma_gamma",
        "mle",
    )
    assert (run["horizon"], run["horizon_unit"], run["time_unit"]) == (12.0, "M", "W")
    assert (run["discount_rate"], run["margin"]) == (0.0, 1.0)
    assert (run["ci_prob"], run["interval"]) == (0.9, "eti")
    assert run["customers"] == len(rfm) == 400
    # the data period recorded by rfm_summary (tests/conftest.py: the CDNOW sample,
    # calibration to 1997-09-30, observation to 1998-06-30; first purchase 1997-01-01)
    assert str(run["first_transaction"]) == "1997-01-01"
    assert str(run["calibration_end"]) == "1997-09-30"
    assert str(run["observation_end"]) == "1998-06-30"
    assert run["created_at"].tzinfo is not None  # a UTC timestamp
    assert run["clvlab_version"] == clvlab.__version__
    # the run's total is the sum of the customers' CLV, with its interval from the draws
    total = clvlab.clv(bg, gg, rfm, seed=4).attrs["clvlab"]["total"]
    assert run["total_clv_estimate"] == pytest.approx(pc.table["clv_estimate"].sum(), rel=1e-12)
    assert (run["total_clv_lower"], run["total_clv_upper"]) == pytest.approx(
        (total["lower"], total["upper"]), rel=1e-12
    )
    assert run["total_clv_lower"] < run["total_clv_estimate"] < run["total_clv_upper"]
    # the parameters table: both models, every parameter, the fitted values
    params = pc.parameters.set_index(["model", "parameter"])
    assert list(params.index) == [("bgnbd", n) for n in bg.param_names] + [
        ("gamma_gamma", n) for n in gg.param_names
    ]
    for model in (bg, gg):
        for col in ("estimate", "lower", "upper"):
            np.testing.assert_allclose(
                params.loc[model.name, col].to_numpy(), model.params_[col].to_numpy(), rtol=0
            )


def test_long_format_holds_every_customer_and_metric(
    fitted: tuple[clvlab.BetaGeo, clvlab.GammaGamma, pd.DataFrame],
) -> None:
    """One row per customer and metric, with the wide table's numbers (README: the long
    export table); the horizon is 0 for the metrics measured at the calibration end."""
    bg, gg, rfm = fitted
    pc = clvlab.predict_customers(bg, gg, rfm, horizon=6, unit="M", seed=4)
    long = pc.long()
    assert list(long.columns) == ["customer_id", "metric", "horizon", "estimate", "lower", "upper"]
    assert len(long) == 4 * len(rfm)
    horizons = {"clv": 6.0, "expected_purchases": 6.0, "probability_alive": 0.0}
    for metric, rows in long.groupby("metric", sort=False):
        assert list(rows["customer_id"]) == list(pc.table.index)
        assert set(rows["horizon"]) == {horizons.get(str(metric), 0.0)}
        for col in ("estimate", "lower", "upper"):
            np.testing.assert_array_equal(rows[col], pc.table[f"{metric}_{col}"])


def test_clv_total_draws_are_the_draws_of_the_run_total(
    fitted: tuple[clvlab.BetaGeo, clvlab.GammaGamma, pd.DataFrame],
) -> None:
    from clvlab.decisions.folded import FoldedSums
    from clvlab.decisions.value import CustomerValue
    from clvlab.inference.draws import interval

    bg, gg, rfm = fitted
    p = clvlab.predict_customers(bg, gg, rfm, horizon=6, discount_rate=0.01, seed=3)
    draws = p.clv_total_draws
    assert draws is not None and draws.shape == (300,)
    # the run's interval of the total is the interval of these draws
    lo, hi = interval(draws, bg.ci_prob, bg.interval_kind)
    assert (lo, hi) == (p.run["total_clv_lower"], p.run["total_clv_upper"])
    # and they equal the decision tables' own sum per draw over distinct histories
    value = CustomerValue(bg, gg, rfm, horizon=6, unit="M", discount_rate=0.01, margin=1.0)
    one = np.zeros(value.n_customers, dtype=np.int64)
    by_history = FoldedSums(value, one, 1).group_sums(value.draws)["clv"][:, 0]
    np.testing.assert_allclose(draws, by_history, rtol=1e-12)
