"""Per-customer predictions against lifetimes (oracle) and published values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import clvlab
from clvlab.inference._lifetimes import lifetimes_module


@pytest.fixture(scope="module")
def bg(cdnow_summary: pd.DataFrame) -> clvlab.BetaGeo:
    return clvlab.BetaGeo().fit(cdnow_summary, seed=1, progress=False)


@pytest.fixture(scope="module")
def gg(cdnow_summary: pd.DataFrame) -> clvlab.GammaGamma:
    return clvlab.GammaGamma().fit(cdnow_summary, seed=1, progress=False)


@pytest.fixture(scope="module")
def oracle(cdnow_summary: pd.DataFrame, bg: clvlab.BetaGeo, gg: clvlab.GammaGamma):  # type: ignore[no-untyped-def]
    """lifetimes fitters holding exactly clvlab's MLE parameters."""
    lifetimes = lifetimes_module("lifetimes")
    bgf = lifetimes.BetaGeoFitter()
    bgf.params_ = pd.Series(bg.point_params())
    ggf = lifetimes.GammaGammaFitter()
    ggf.params_ = pd.Series(gg.point_params())
    return bgf, ggf


def test_expected_purchases_equal_lifetimes(
    bg: clvlab.BetaGeo,
    oracle,
    cdnow_summary: pd.DataFrame,  # type: ignore[no-untyped-def]
) -> None:
    s = cdnow_summary
    ours = bg.expected_purchases(s, 39)
    theirs = oracle[0].conditional_expected_number_of_purchases_up_to_time(
        39, s["frequency"], s["recency"], s["T"]
    )
    np.testing.assert_allclose(ours["estimate"], theirs, rtol=1e-6)
    # Source: Fader, Hardie & Lee (2005): customer 1 (x=2, t_x=30.43, T=38.86) E[X(39)]=1.226
    assert ours.loc[1, "estimate"] == pytest.approx(1.226, abs=5e-4)
    # Source: R package BTYD walkthrough: expected holdout total 1,653-1,654 (actual 1,882).
    assert 1653 <= ours["estimate"].sum() <= 1654


def test_probability_alive_equals_lifetimes(
    bg: clvlab.BetaGeo,
    oracle,
    cdnow_summary: pd.DataFrame,  # type: ignore[no-untyped-def]
) -> None:
    s = cdnow_summary
    ours = bg.probability_alive(s)
    theirs = oracle[0].conditional_probability_alive(s["frequency"], s["recency"], s["T"])
    np.testing.assert_allclose(ours["estimate"], theirs, rtol=1e-6)


def test_expected_spend_equals_lifetimes_and_paper(
    gg: clvlab.GammaGamma,
    oracle,
    cdnow_summary: pd.DataFrame,  # type: ignore[no-untyped-def]
) -> None:
    s = cdnow_summary
    ours = gg.expected_spend(s)
    theirs = oracle[1].conditional_expected_average_profit(s["frequency"], s["monetary_value"])
    np.testing.assert_allclose(ours["estimate"], theirs, rtol=1e-6)
    # Source: Fader & Hardie (2013): 24.65, 18.91, 35.17 for the first three customers
    # (their rounded parameters; the MLE to more digits gives 24.66 for the first).
    np.testing.assert_allclose(ours["estimate"].iloc[:3], [24.65, 18.91, 35.17], atol=0.011)


def test_probability_of_purchases(bg: clvlab.BetaGeo, oracle, cdnow_summary) -> None:  # type: ignore[no-untyped-def]
    new = clvlab.formulas.bgnbd.probability_of_purchases_new
    p = bg.point_params()
    # Oracle: lifetimes' probability_of_n_purchases_up_to_time. The issue quotes
    # 0.5737864 from BTYD; at the FHL estimates the closed form (alpha/(alpha+t))^r and
    # lifetimes both give 0.574307, so that figure is not reproduced here.
    for n in range(4):
        assert new(clvlab.formulas.numpy_ops, 39.0, n, **p) == pytest.approx(
            oracle[0].probability_of_n_purchases_up_to_time(39, n), rel=1e-10
        )
    # the conditional PMF sums to one for every CDNOW customer (at the MLE)
    cond = clvlab.formulas.bgnbd.conditional_probability_of_purchases
    cols = [cdnow_summary[c].to_numpy(float) for c in ("frequency", "recency", "T")]
    total = sum(cond(clvlab.formulas.numpy_ops, 39.0, n, *cols, **p) for n in range(120))
    np.testing.assert_allclose(total, 1.0, atol=1e-9)
    table = bg.probability_of_purchases(cdnow_summary, 39, 2)
    np.testing.assert_allclose(
        table["estimate"], cond(clvlab.formulas.numpy_ops, 39.0, 2, *cols, **p), rtol=1e-12
    )


def test_new_customer_expectation(bg: clvlab.BetaGeo, oracle) -> None:  # type: ignore[no-untyped-def]
    table = bg.expected_purchases_new_customer([13.0, 39.0, 78.0])
    theirs = oracle[0].expected_number_of_purchases_up_to_time(np.array([13.0, 39.0, 78.0]))
    np.testing.assert_allclose(table["estimate"], theirs, rtol=1e-8)
    # the bounds are the raw quantiles of eq. 7 over the parameter draws (no clamp acted)
    draws = bg.parameter_draws()
    values = clvlab.formulas.bgnbd.expected_purchases_new(
        clvlab.formulas.numpy_ops, np.array([13.0, 39.0, 78.0])[None, :], *draws.T[:, :, None]
    )
    lo, hi = np.quantile(values, [0.05, 0.95], axis=0)
    np.testing.assert_allclose(table["lower"], lo, rtol=1e-12)
    np.testing.assert_allclose(table["upper"], hi, rtol=1e-12)
    assert table.attrs["clvlab"]["clamped_rows"] == {"lower": 0, "upper": 0}
    assert table.attrs["clvlab"]["time_unit"] == "W"


def test_probability_alive_in_future_matches_simulation(bg: clvlab.BetaGeo) -> None:
    rfm = pd.DataFrame(
        {"frequency": [0, 3, 10], "recency": [0.0, 20.0, 30.0], "T": [40.0, 40.0, 40.0]}
    )
    # a hand-built table records no time unit: it is stated (the model is in weeks)
    now = bg.probability_alive(rfm, time_unit="W")["estimate"].to_numpy()
    later = bg.probability_alive(rfm, t=26, time_unit="W")["estimate"].to_numpy()
    assert (later < now).all()
    np.testing.assert_allclose(bg.probability_alive(rfm, t=0, time_unit="W")["estimate"], now)
    # Monte Carlo check of the closed form at the MLE (seeded)
    rng = np.random.default_rng(0)
    p = bg.point_params()
    n = 400_000
    for i, row in rfm.iterrows():
        x, T = row["frequency"], row["T"]
        lam = rng.gamma(p["r"] + x, 1 / (p["alpha"] + T), n)
        drop = rng.beta(p["a"], p["b"] + x, n)
        survive = rng.random(n) < np.exp(-lam * drop * 26)
        assert later[i] == pytest.approx(now[i] * survive.mean(), abs=4e-3)


def test_intervals_and_draws(bg: clvlab.BetaGeo, cdnow_summary: pd.DataFrame) -> None:
    table, draws = bg.expected_purchases(
        cdnow_summary, 39, predictive=True, seed=3, return_draws=True
    )
    assert isinstance(draws, xr.DataArray)
    assert draws.dims == ("chain", "draw", "customer_id")
    assert draws.shape == (1, 2000, 2357)
    flat = draws.to_numpy().reshape(2000, -1)
    # sd is the spread of the draws (ddof=1); the MLE estimate is the plug-in value, which
    # lifetimes reproduces in test_expected_purchases_equal_lifetimes
    np.testing.assert_allclose(table["sd"], flat.std(axis=0, ddof=1), rtol=1e-10)
    # The bounds are the raw 5% and 95% quantiles of the draws: on CDNOW the clamp that
    # widens them to include the plug-in estimate never acts (counted in attrs).
    lo, hi = np.quantile(flat, [0.05, 0.95], axis=0)
    np.testing.assert_allclose(table["lower"], lo, rtol=1e-12)
    np.testing.assert_allclose(table["upper"], hi, rtol=1e-12)
    estimate = table["estimate"].to_numpy()
    clamped = table.attrs["clvlab"]["clamped_rows"]
    assert clamped["lower"] == int(np.sum(lo > estimate)) == 0
    assert clamped["upper"] == int(np.sum(hi < estimate)) == 0
    # The predictive bound is widened to the expectation's interval only where the
    # realised count's 95% quantile lies below it: customers who almost surely buy
    # nothing (19 of 2,357 here, under 1%). There pred_upper is the expectation's upper.
    moved = table["pred_upper"] == table["upper"]
    assert clamped["pred_upper"] == int(moved.sum()) and 0 < moved.mean() < 0.01
    # elsewhere pred_upper is the raw quantile of simulated counts, beyond the upper bound
    assert (table.loc[~moved, "pred_upper"] > table.loc[~moved, "upper"]).all()
    assert clamped["pred_lower"] == 0 and (table["pred_lower"] >= 0).all()
    assert table.attrs["clvlab"]["interval"] == "eti"
    assert table.attrs["clvlab"]["ci_prob"] == 0.9


# The two-sided check of the predictive interval against the closed-form PMF (not the
# simulator that builds it) is in test_predictive.py.


def test_hdi_is_narrower_or_equal(bg: clvlab.BetaGeo, cdnow_summary: pd.DataFrame) -> None:
    eti = bg.expected_purchases(cdnow_summary, 39)
    hdi = bg.expected_purchases(cdnow_summary, 39, kind="hdi")
    assert hdi.attrs["clvlab"]["interval"] == "hdi"
    # the HDI is the narrowest interval of the draws; both hold ci_prob of them
    assert (hdi["upper"] - hdi["lower"]).mean() <= (eti["upper"] - eti["lower"]).mean()
    assert not np.allclose(hdi["lower"], eti["lower"])


def test_not_fitted_prediction() -> None:
    with pytest.raises(clvlab.NotFittedError):
        clvlab.BetaGeo().expected_purchases(clvlab.datasets.load_cdnow_summary(), 10)


def test_chunked_equals_unchunked(bg: clvlab.BetaGeo, cdnow_summary: pd.DataFrame) -> None:
    from clvlab.predict import summary

    whole = bg.expected_purchases(cdnow_summary, 39)
    original = summary.chunk_size_for
    try:
        summary.chunk_size_for = lambda n_draws, budget_bytes=0: 7  # type: ignore[assignment]
        chunked = bg.expected_purchases(cdnow_summary, 39)
    finally:
        summary.chunk_size_for = original  # type: ignore[assignment]
    pd.testing.assert_frame_equal(whole, chunked)
