"""Revenue forecast: purchases and revenue per future period, with intervals.

The expected values are recomputed from the per-customer API (``expected_purchases``,
:func:`clvlab.clv`, ``expected_purchases_new_customer``) and summed by hand; the
predictive intervals are checked for containment, whole numbers and reproducibility,
and the simulation behind them against the expected values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clvlab
from clvlab.decisions import forecast as forecast_module
from clvlab.decisions import revenue_forecast
from clvlab.decisions.forecast import (
    FORECAST_COLUMNS,
    _new_customer_paths,
    _simulated_new,
    _simulated_totals,
)
from clvlab.decisions.value import CustomerValue
from clvlab.inference.draws import interval
from tests._family import CONTINUOUS, fit_mle

#: One month in weeks: 365.25 / 12 days of 7 days (clvlab.units' calendar).
MONTH_IN_WEEKS = 365.25 / 12 / 7


@pytest.fixture(scope="module")
def rfm(cdnow_sample_rfm: pd.DataFrame) -> pd.DataFrame:
    """300 CDNOW customers (every 7th)."""
    return cdnow_sample_rfm.iloc[::7].iloc[:300]


def _total_draws(draws) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Per-draw totals over customers of clv's ``(chain, draw, customer_id)`` draws."""
    return draws.sum("customer_id").to_numpy().ravel()


# --- the forecast sums to the undiscounted CLV ---------------------------------------------


@pytest.mark.parametrize("fit", ["mle", "map"])
def test_sum_equals_undiscounted_clv(
    fit: str,
    bg: clvlab.BetaGeo,
    gg: clvlab.GammaGamma,
    bg_map: clvlab.BetaGeo,
    gg_map: clvlab.GammaGamma,
    rfm: pd.DataFrame,
) -> None:
    purchase, spend = (bg, gg) if fit == "mle" else (bg_map, gg_map)
    forecast = revenue_forecast(purchase, spend, rfm, periods=9, predictive=False, ci_prob=0.8)
    table, draws = clvlab.clv(
        purchase, spend, rfm, horizon=9, margin=1, discount_rate=0, ci_prob=0.8, return_draws=True
    )
    # the sum over the periods is the undiscounted CLV total, estimate ...
    assert forecast["revenue_estimate"].sum() == pytest.approx(table["estimate"].sum(), rel=1e-9)
    total = forecast.attrs["clvlab"]["total"]["revenue"]
    assert total["estimate"] == pytest.approx(table.attrs["clvlab"]["total"]["estimate"], rel=1e-9)
    # ... and draw by draw: the interval of the per-draw totals is clv's
    assert total["lower"] == pytest.approx(table.attrs["clvlab"]["total"]["lower"], rel=1e-9)
    assert total["upper"] == pytest.approx(table.attrs["clvlab"]["total"]["upper"], rel=1e-9)
    lo, hi = interval(_total_draws(draws), 0.8, "eti")
    assert total["lower"] == pytest.approx(min(float(lo), total["estimate"]), rel=1e-9)
    assert total["upper"] == pytest.approx(max(float(hi), total["estimate"]), rel=1e-9)
    if fit == "map":  # posterior mean: the mean of the per-draw totals
        assert total["estimate"] == pytest.approx(_total_draws(draws).mean(), rel=1e-9)


def test_periods_are_differences_of_cumulative_predictions(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame
) -> None:
    forecast = revenue_forecast(bg, gg, rfm, periods=4, predictive=False)
    assert forecast["period"].tolist() == [1, 2, 3, 4]
    assert forecast["period_end"].tolist() == [1.0, 2.0, 3.0, 4.0]
    # hand: sum_i E[Y_i(t_k)] (FHL 2005 eq. 10 via expected_purchases, weeks) and the
    # undiscounted CLV totals over k months, differenced period by period
    cumulative = [0.0] + [
        bg.expected_purchases(rfm, k * MONTH_IN_WEEKS)["estimate"].sum() for k in (1, 2, 3, 4)
    ]
    np.testing.assert_allclose(forecast["purchases_estimate"], np.diff(cumulative), rtol=1e-9)
    revenue = [0.0] + [clvlab.clv(bg, gg, rfm, horizon=k)["estimate"].sum() for k in (1, 2, 3, 4)]
    np.testing.assert_allclose(forecast["revenue_estimate"], np.diff(revenue), rtol=1e-9)
    est, lo, hi = (forecast[f"revenue_{s}"] for s in ("estimate", "lower", "upper"))
    assert ((lo <= est) & (est <= hi)).all()


def test_units_of_periods(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame) -> None:
    # one year = 12 months = 365.25/7 weeks: the same total without discounting
    year = revenue_forecast(bg, gg, rfm, periods=1, unit="Y", predictive=False)
    months = revenue_forecast(bg, gg, rfm, periods=12, unit="M", predictive=False)
    assert year["revenue_estimate"].item() == pytest.approx(
        months["revenue_estimate"].sum(), rel=1e-9
    )
    weeks = revenue_forecast(bg, gg, rfm, periods=3, unit="W", predictive=False)
    one = bg.expected_purchases(rfm, 1.0)["estimate"].sum()  # hand: 1 week (the RFM's unit)
    assert weeks["purchases_estimate"].iloc[0] == pytest.approx(one, rel=1e-9)
    assert year.attrs["clvlab"]["unit"] == "Y"


# --- new customers ---------------------------------------------------------------------


def test_new_customers_by_hand(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame
) -> None:
    arrivals = np.array([10.0, 0.0, 4.5])
    base = revenue_forecast(bg, gg, rfm, periods=3, predictive=False)
    grown = revenue_forecast(bg, gg, rfm, periods=3, new_customers=arrivals, predictive=False)

    # hand: customers arriving at the start of month j buy once on arrival, then as new
    # customers, E[X(t)] at the MLE from expected_purchases_new_customer (FHL 2005
    # eq. 7), each purchase worth the population mean p v / (q - 1) (Fader & Hardie 2013)
    def n(t: float) -> float:
        return float(bg.expected_purchases_new_customer(t)["estimate"].iloc[0])

    purchases = np.zeros(3)
    for j, a in enumerate(arrivals):
        start = j * MONTH_IN_WEEKS
        purchases[j] += a
        for k in range(j, 3):
            end, previous = (k + 1) * MONTH_IN_WEEKS, max(k * MONTH_IN_WEEKS, start)
            purchases[k] += a * (n(end - start) - n(previous - start))
    ps = gg.point_params()
    spend = ps["p"] * ps["v"] / (ps["q"] - 1)
    added = grown["purchases_estimate"] - base["purchases_estimate"]
    np.testing.assert_allclose(added, purchases, rtol=1e-9)
    added_revenue = grown["revenue_estimate"] - base["revenue_estimate"]
    np.testing.assert_allclose(added_revenue, purchases * spend, rtol=1e-9)
    assert grown.attrs["clvlab"]["new_customers"] == arrivals.tolist()
    # one rate for every period is that rate repeated; a rate of 0 adds nothing
    same = revenue_forecast(bg, gg, rfm, periods=3, new_customers=2, predictive=False)
    repeated = revenue_forecast(bg, gg, rfm, periods=3, new_customers=[2, 2, 2], predictive=False)
    pd.testing.assert_frame_equal(same, repeated, check_like=True, check_exact=False, rtol=1e-12)
    zero = revenue_forecast(bg, gg, rfm, periods=3, new_customers=0, predictive=False)
    np.testing.assert_allclose(zero["revenue_estimate"], base["revenue_estimate"], rtol=1e-12)


# --- predictive intervals -----------------------------------------------------------------


@pytest.fixture(scope="module")
def predictive(
    bg_map: clvlab.BetaGeo, gg_map: clvlab.GammaGamma, rfm: pd.DataFrame
) -> pd.DataFrame:
    return revenue_forecast(
        bg_map, gg_map, rfm, periods=6, new_customers=3, predictive_draws=100, seed=11
    )


def test_predictive_bounds(predictive: pd.DataFrame) -> None:
    f = predictive
    assert list(f.columns) == ["period", "period_end", *FORECAST_COLUMNS]
    for name in ("purchases", "revenue"):
        # the realised total is at least as uncertain as its expected value
        assert (f[f"{name}_pred_lower"] <= f[f"{name}_lower"]).all()
        assert (f[f"{name}_pred_upper"] >= f[f"{name}_upper"]).all()
        assert (f[f"{name}_pred_lower"] >= 0).all()
    # realised purchases are whole numbers
    for c in ("purchases_pred_lower", "purchases_pred_upper"):
        assert (f[c] == np.floor(f[c])).all()
    assert f.attrs["clvlab"]["predictive_draws"] == 100


def test_predictive_bounds_stay_whole_with_few_draws(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, cdnow_sample_rfm: pd.DataFrame
) -> None:
    # with 2 predictive draws the simulated interval is narrower than the expected
    # value's, whose (fractional) bounds it must contain: they are rounded outwards
    for seed in range(3):
        f = revenue_forecast(bg, gg, cdnow_sample_rfm, periods=3, predictive_draws=2, seed=seed)
        for c in ("purchases_pred_lower", "purchases_pred_upper"):
            assert (f[c] == np.floor(f[c])).all(), (seed, f[c].tolist())
        assert (f["purchases_pred_lower"] <= f["purchases_lower"]).all()
        assert (f["purchases_pred_upper"] >= f["purchases_upper"]).all()


def test_predictive_is_reproducible(
    bg_map: clvlab.BetaGeo, gg_map: clvlab.GammaGamma, rfm: pd.DataFrame, predictive: pd.DataFrame
) -> None:
    again = revenue_forecast(
        bg_map, gg_map, rfm, periods=6, new_customers=3, predictive_draws=100, seed=11
    )
    pd.testing.assert_frame_equal(again, predictive)
    other = revenue_forecast(
        bg_map, gg_map, rfm, periods=6, new_customers=3, predictive_draws=100, seed=12
    )
    assert not np.array_equal(other["revenue_pred_upper"], predictive["revenue_pred_upper"])
    expected_cols = [c for c in FORECAST_COLUMNS if "pred" not in c]
    pd.testing.assert_frame_equal(other[expected_cols], predictive[expected_cols])
    bare = revenue_forecast(bg_map, gg_map, rfm, periods=6, new_customers=3, predictive=False)
    assert not any("pred" in c for c in bare.columns)
    pd.testing.assert_frame_equal(bare[expected_cols], predictive[expected_cols])


@pytest.mark.parametrize("block", [None, 400])
def test_simulation_mean_matches_expected_value(
    bg_map: clvlab.BetaGeo,
    gg_map: clvlab.GammaGamma,
    rfm: pd.DataFrame,
    block: int | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if block is not None:  # new customers simulated 2 at a time (200 draws x 2)
        monkeypatch.setattr(forecast_module, "_NEW_BLOCK_ELEMENTS", block)
    # The predictive interval comes from simulated totals; their mean over draws and
    # replicates must be the expected value (the posterior mean of the expected totals).
    # Tolerance: 4 standard errors of the simulated mean (sd over 5 x 200 simulations
    # / sqrt(1000)), seeded, so the check is exact to rerun and fails only on a bias.
    value = CustomerValue(bg_map, gg_map, rfm, horizon=4, caller="test")
    rows = slice(0, value.n_customers)
    rng = np.random.default_rng(2024)
    arrivals = np.array([5.0, 0.0, 2.0, 8.0])
    base = np.concatenate(
        [np.stack(_simulated_totals(value, value.draws, rows, rng)) for _ in range(5)], axis=1
    )  # (2, 1000, periods): purchases, revenue
    new = np.concatenate(
        [np.stack(_simulated_new(value, value.draws, arrivals, rng)) for _ in range(5)], axis=1
    )
    forecast = revenue_forecast(bg_map, gg_map, rfm, periods=4, predictive=False)
    expected_new = _new_customer_paths(value, value.draws, arrivals)  # (periods, draws) each
    for k, name in enumerate(("purchases", "revenue")):
        sim = base[k]
        se = sim.std(axis=0, ddof=1) / np.sqrt(len(sim))
        gap = np.abs(sim.mean(axis=0) - forecast[f"{name}_estimate"].to_numpy())
        assert (gap < 4 * se).all(), (name, gap / se)
        sim_new = new[k]
        se_new = sim_new.std(axis=0, ddof=1) / np.sqrt(len(sim_new))
        gap_new = np.abs(sim_new.mean(axis=0) - expected_new[k].mean(axis=1))
        assert (gap_new < 4 * se_new + 1e-12).all(), (name, gap_new / se_new)
    # simulated purchases are whole numbers, revenue is not negative
    assert (base[0] == np.floor(base[0])).all() and (base[1] >= 0).all()


# --- every model, types, properties -----------------------------------------------------


# every continuous-time model on CDNOW; BG/BB on its own data: tests/test_model_family.py
@pytest.mark.parametrize("name", CONTINUOUS)
def test_every_purchase_model(
    name: str, gg: clvlab.GammaGamma, cdnow_sample_rfm: pd.DataFrame, rfm: pd.DataFrame
) -> None:
    model = fit_mle(name, cdnow_sample_rfm)
    forecast = revenue_forecast(
        model, gg, rfm, periods=3, new_customers=2, predictive_draws=50, seed=0
    )
    plain = revenue_forecast(model, gg, rfm, periods=3, predictive=False)
    clv = clvlab.clv(model, gg, rfm, horizon=3)["estimate"].sum()
    assert plain["revenue_estimate"].sum() == pytest.approx(clv, rel=1e-9)
    # hand: three cohorts of 2 customers add at least their 6 first purchases
    added = forecast["purchases_estimate"].sum() - plain["purchases_estimate"].sum()
    assert added > 6
    assert np.isfinite(forecast[list(FORECAST_COLUMNS)].to_numpy()).all()


def test_output_types(predictive: pd.DataFrame) -> None:
    assert predictive["period"].dtype == np.int64
    for c in predictive.columns.drop("period"):
        assert predictive[c].dtype == np.float64, c
    assert isinstance(predictive.index, pd.RangeIndex)
    meta = predictive.attrs["clvlab"]
    assert meta["quantity"] == "forecast" and meta["periods"] == 6 and meta["seed"] == 11


customers = st.tuples(
    st.integers(0, 30), st.floats(0.01, 1.0), st.floats(8.0, 39.0), st.floats(1.0, 5000.0)
)


@settings(max_examples=30)
@given(st.lists(customers, min_size=1, max_size=8), st.integers(1, 6))
def test_totals_are_finite_and_not_negative(
    bg: clvlab.BetaGeo,
    gg: clvlab.GammaGamma,
    rows: list[tuple[int, float, float, float]],
    periods: int,
) -> None:
    x = np.array([r[0] for r in rows])
    T = np.array([r[2] for r in rows])
    table = pd.DataFrame(
        {
            "frequency": x,
            "recency": np.where(x > 0, T * np.array([r[1] for r in rows]), 0.0),
            "T": T,
            "monetary_value": np.where(x > 0, [r[3] for r in rows], 0.0),
        },
        index=pd.Index(range(len(rows)), name="customer_id"),
    )
    forecast = revenue_forecast(
        bg, gg, table, periods=periods, time_unit="W", predictive_draws=20, seed=0
    )
    values = forecast[list(FORECAST_COLUMNS)].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all()
    clv = clvlab.clv(bg, gg, table, horizon=periods, time_unit="W")["estimate"].sum()
    assert forecast["revenue_estimate"].sum() == pytest.approx(clv, rel=1e-9)


def test_inputs_are_not_mutated(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame
) -> None:
    table = rfm.copy()
    table.attrs = {"clvlab": dict(rfm.attrs["clvlab"])}
    before = table.copy()
    attrs = {"clvlab": dict(table.attrs["clvlab"])}
    arrivals = np.array([1.0, 2.0])
    revenue_forecast(bg, gg, table, periods=2, new_customers=arrivals, predictive_draws=20, seed=0)
    pd.testing.assert_frame_equal(table, before)
    assert table.attrs == attrs
    assert arrivals.tolist() == [1.0, 2.0]


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"periods": 0}, r"periods must be an integer >= 1, got 0"),
        ({"periods": 2.5}, r"periods must be an integer >= 1, got 2\.5"),
        ({"periods": True}, r"periods must be an integer >= 1, got True"),
        (
            {"periods": 45},
            r"a horizon of 45 M looks .* longest customer history is 38\.8571 W.*at most 44\.68 M",
        ),
        ({"periods": 195, "unit": "W"}, r"at most 194\.3 W"),
        ({"new_customers": -1}, r"new_customers must be finite and >= 0.*got \[-1\.0\]"),
        ({"new_customers": [1, np.nan, 2]}, r"new_customers must be finite and >= 0"),
        ({"new_customers": [1, 2]}, r"one number per period \(3 values\), got shape \(2,\)"),
        ({"new_customers": [[1, 2, 3]]}, r"got shape \(1, 3\)"),
        ({"new_customers": []}, r"one number per period \(3 values\), got shape \(0,\)"),
        ({"new_customers": "10"}, r"new_customers must be numbers .*got '10'"),
        ({"new_customers": True}, r"new_customers must be numbers"),
        ({"predictive_draws": 1}, r"predictive_draws must be an integer >= 2, got 1"),
        (
            {"new_customers": 1e6},
            r"would simulate 2e\+08 new customers per period.*pass predictive=False",
        ),
        ({"seed": -3}, r"seed must be an integer >= 0, got -3"),
        ({"seed": "x"}, r"seed must be an integer >= 0, got 'x'"),
        ({"ci_prob": 1.5}, r"ci_prob must lie strictly between 0 and 1"),
        ({"kind": "median"}, r"kind must be 'eti'"),
        ({"unit": "fortnight"}, r"fortnight"),
    ],
)
def test_refuses_bad_settings(
    bg: clvlab.BetaGeo,
    gg: clvlab.GammaGamma,
    rfm: pd.DataFrame,
    kwargs: dict[str, object],
    match: str,
) -> None:
    settings_: dict[str, object] = {"periods": 3, **kwargs}
    with pytest.raises(clvlab.ArgumentError, match=match):
        revenue_forecast(bg, gg, rfm, **settings_)  # type: ignore[arg-type]


def test_many_new_customers_without_simulation(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame
) -> None:
    # the refusal's fix works: expected values need no simulation; hand: E[X] is linear
    # in the arrival rate, so 10^6 a month adds 10^6 x the purchases of 1 a month
    one = revenue_forecast(bg, gg, rfm, periods=2, new_customers=1, predictive=False)
    many = revenue_forecast(bg, gg, rfm, periods=2, new_customers=1e6, predictive=False)
    none = revenue_forecast(bg, gg, rfm, periods=2, predictive=False)
    added_one = one["purchases_estimate"] - none["purchases_estimate"]
    added_many = many["purchases_estimate"] - none["purchases_estimate"]
    np.testing.assert_allclose(added_many, 1e6 * added_one, rtol=1e-9)


def test_longest_allowed_horizon(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame
) -> None:
    # 5 x 38.857 weeks = 194.29 weeks: 194 weekly periods are allowed
    forecast = revenue_forecast(bg, gg, rfm.iloc[:40], periods=194, unit="W", predictive=False)
    assert len(forecast) == 194 and np.isfinite(forecast["revenue_estimate"]).all()


def test_refuses_bad_models_and_tables(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame
) -> None:
    with pytest.raises(clvlab.ArgumentError, match=r"revenue_forecast: the models are swapped"):
        revenue_forecast(gg, bg, rfm)  # type: ignore[arg-type]
    with pytest.raises(clvlab.ArgumentError, match=r"second argument must be the spend model"):
        revenue_forecast(bg, bg, rfm)  # type: ignore[arg-type]
    with pytest.raises(clvlab.NotFittedError, match=r"not fitted yet"):
        revenue_forecast(clvlab.ParetoNBD(), gg, rfm)
    bare = rfm.copy()
    bare.attrs = {}
    with pytest.raises(
        clvlab.UnitMismatchError, match=r"does not record its time unit.*time_unit='W'"
    ):
        revenue_forecast(bg, gg, bare)
    with pytest.raises(clvlab.UnitMismatchError, match=r"time_unit='D'"):
        revenue_forecast(bg, gg, rfm, time_unit="D")
    bad = rfm.copy()
    bad.loc[bad["frequency"] > 0, "monetary_value"] = 0.0
    with pytest.raises(clvlab.DataValidationError, match=r"monetary_value"):
        revenue_forecast(bg, gg, bad)


def test_normal_approximation_of_a_large_base_matches_the_simulation(
    bg: clvlab.BetaGeo,
    gg: clvlab.GammaGamma,
    cdnow_sample_rfm: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import clvlab.decisions.forecast as forecast

    rfm = cdnow_sample_rfm
    exact = clvlab.revenue_forecast(bg, gg, rfm, periods=6, predictive_draws=200, seed=7)
    # the same base treated as large: the normal approximation of the sum of the
    # customers, its variance estimated from 1,000 of the 2,357 customers simulated
    monkeypatch.setattr(forecast, "EXACT_PREDICTIVE_CUSTOMERS", 1000)
    approx = clvlab.revenue_forecast(bg, gg, rfm, periods=6, predictive_draws=200, seed=7)
    pd.testing.assert_frame_equal(
        exact.drop(columns=[c for c in exact if "pred" in c]),
        approx.drop(columns=[c for c in approx if "pred" in c]),
    )
    for name in ("purchases", "revenue"):
        wide = exact[f"{name}_pred_upper"] - exact[f"{name}_pred_lower"]
        narrow = approx[f"{name}_pred_upper"] - approx[f"{name}_pred_lower"]
        # equal within the Monte Carlo error of 200 draws' 5% and 95% quantiles (~15%)
        np.testing.assert_allclose(narrow, wide, rtol=0.2)
        assert (approx[f"{name}_pred_lower"] <= approx[f"{name}_lower"]).all()
        assert (approx[f"{name}_pred_upper"] >= approx[f"{name}_upper"]).all()
    whole = approx[["purchases_pred_lower", "purchases_pred_upper"]].to_numpy()
    assert (whole == np.round(whole)).all()
