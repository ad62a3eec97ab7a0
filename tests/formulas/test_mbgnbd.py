"""MBG/NBD formulas: the published CDNOW fit, lifetimes as oracle, backend parity, the
simulator, and extremes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clvlab.formulas import mbgnbd, numpy_ops
from clvlab.formulas._ops import autograd_ops

# BTYDplus' MBG/NBD fit on the CDNOW sample, quoted in lifetimes' tests
# (test_estimation.py, TestModifiedBetaGeoFitter): r, alpha, a, b
PUBLISHED = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}


def _lifetimes():  # type: ignore[no-untyped-def]
    from clvlab.inference._lifetimes import lifetimes_module

    return lifetimes_module("lifetimes")


def _columns(frame: pd.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(frame[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))


@pytest.fixture(scope="module")
def fitter():  # type: ignore[no-untyped-def]
    f = _lifetimes().ModifiedBetaGeoFitter()
    f.params_ = pd.Series(PUBLISHED)
    return f


def test_loglik_matches_lifetimes(cdnow_summary) -> None:  # type: ignore[no-untyped-def]
    # Oracle: lifetimes' ModifiedBetaGeoFitter._negative_log_likelihood (a mean over rows)
    x, t_x, T = _columns(cdnow_summary)
    ours = mbgnbd.loglik(numpy_ops, x, t_x, T, **PUBLISHED).sum()
    cls = _lifetimes().ModifiedBetaGeoFitter
    log_params = np.log(list(PUBLISHED.values()))
    theirs = -cls._negative_log_likelihood(log_params, x, t_x, T, np.ones_like(x), 0.0) * len(x)
    assert ours == pytest.approx(theirs, rel=1e-12)


def test_loglik_hand_computation() -> None:
    # x = 0: both terms present (dropout at time 0); by hand from Batislam et al. eq. 6:
    # B(a, b+1)/B(a, b) (alpha/(alpha+T))^r + B(a+1, b)/B(a, b) = b/(a+b) (..)^r + a/(a+b)
    r, alpha, a, b, T = 0.5, 2.0, 1.5, 3.0, 10.0
    hand = np.log(b / (a + b) * (alpha / (alpha + T)) ** r + a / (a + b))
    assert mbgnbd.loglik(numpy_ops, 0, 0.0, T, r, alpha, a, b) == pytest.approx(hand, rel=1e-14)


def test_mle_on_folded_cdnow_reproduces_published_fit(cdnow_summary) -> None:  # type: ignore[no-untyped-def]
    import autograd.numpy as anp
    from autograd import value_and_grad
    from scipy.optimize import minimize

    folded = cdnow_summary.groupby(["frequency", "recency", "T"]).size().reset_index()
    x, t_x, T = _columns(folded)
    w = folded[0].to_numpy(dtype=float)
    ag = autograd_ops()

    def negative(lp):  # type: ignore[no-untyped-def]
        r, alpha, a, b = (anp.exp(lp[i]) for i in range(4))
        return -anp.sum(w * mbgnbd.loglik(ag, x, t_x, T, r, alpha, a, b))

    res = minimize(value_and_grad(negative), np.zeros(4), jac=True, method="BFGS")
    # BTYDplus, printed to 3 decimals
    np.testing.assert_allclose(np.exp(res.x), list(PUBLISHED.values()), atol=5e-4)


def test_predictions_match_lifetimes(cdnow_summary, fitter) -> None:  # type: ignore[no-untyped-def]
    # Oracle: lifetimes' ModifiedBetaGeoFitter methods at the published parameters
    x, t_x, T = _columns(cdnow_summary)
    alive = mbgnbd.probability_alive(numpy_ops, x, t_x, T, **PUBLISHED)
    np.testing.assert_allclose(alive, fitter.conditional_probability_alive(x, t_x, T), rtol=1e-12)
    for t in (1.0, 39.0, 104.0):
        ours = mbgnbd.conditional_expected_purchases(numpy_ops, t, x, t_x, T, **PUBLISHED)
        theirs = fitter.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T)
        np.testing.assert_allclose(ours, theirs, rtol=1e-10)
        new = mbgnbd.expected_purchases_new(numpy_ops, t, **PUBLISHED)
        assert new == pytest.approx(fitter.expected_number_of_purchases_up_to_time(t), rel=1e-10)
        pmf = mbgnbd.probability_of_purchases_new_upto(numpy_ops, t, 6, **PUBLISHED)
        for n in range(7):
            theirs_n = fitter.probability_of_n_purchases_up_to_time(t, n)
            assert pmf[n] == pytest.approx(theirs_n, rel=1e-9)
        assert mbgnbd.probability_of_purchases_new(numpy_ops, t, 3, **PUBLISHED) == pmf[3]


def test_conditional_pmf_sums_to_one_and_mean_equals_expectation(cdnow_summary) -> None:  # type: ignore[no-untyped-def]
    x, t_x, T = _columns(cdnow_summary.iloc[:50])
    pmf = mbgnbd.conditional_probability_of_purchases_upto(
        numpy_ops, 39.0, 300, x, t_x, T, **PUBLISHED
    )
    np.testing.assert_allclose(pmf.sum(axis=-1), 1.0, atol=1e-9)
    mean = (pmf * np.arange(301)).sum(axis=-1)
    expected = mbgnbd.conditional_expected_purchases(numpy_ops, 39.0, x, t_x, T, **PUBLISHED)
    np.testing.assert_allclose(mean, expected, rtol=1e-8)
    one = mbgnbd.conditional_probability_of_purchases(numpy_ops, 39.0, 1, x, t_x, T, **PUBLISHED)
    np.testing.assert_allclose(one, pmf[:, 1], rtol=1e-12)


def test_probability_alive_after() -> None:
    args = (3.0, 20.0, 39.0)
    now = mbgnbd.probability_alive(numpy_ops, *args, **PUBLISHED)
    assert mbgnbd.probability_alive_after(numpy_ops, 0.0, *args, **PUBLISHED) == pytest.approx(now)
    later = mbgnbd.probability_alive_after(numpy_ops, 52.0, *args, **PUBLISHED)
    # Monte Carlo of E[exp(-lambda p t)] under Gamma(r+x, alpha+T) x Beta(a, b+x+1)
    rng = np.random.default_rng(3)
    lam = rng.gamma(PUBLISHED["r"] + 3.0, size=400_000) / (PUBLISHED["alpha"] + 39.0)
    p = rng.beta(PUBLISHED["a"], PUBLISHED["b"] + 4.0, size=400_000)
    draws = np.exp(-lam * p * 52.0)
    mc = now * draws.mean()
    assert abs(later - mc) < 4 * now * draws.std() / np.sqrt(draws.size)
    assert 0.0 < later < now


def test_simulator_mean_matches_closed_form() -> None:
    rng = np.random.default_rng(20240613)
    x, t_x, T = np.array([0.0, 1.0, 7.0, 30.0]), np.array([0.0, 5.0, 35.0, 38.0]), np.full(4, 39.0)
    n = 20_000
    params = {k: np.full((n, 1), v) for k, v in PUBLISHED.items()}
    counts = mbgnbd.simulate_counts(rng, 39.0, x, t_x, T, params)
    expected = mbgnbd.conditional_expected_purchases(numpy_ops, 39.0, x, t_x, T, **PUBLISHED)
    se = counts.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(counts.mean(axis=0) - expected) < 4 * se)
    paths = mbgnbd.simulate_counts(rng, np.array([13.0, 26.0, 39.0]), x, t_x, T, params)
    assert paths.shape == (n, 4, 3) and np.all(np.diff(paths, axis=-1) >= 0)
    se = paths[..., -1].std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(paths[..., -1].mean(axis=0) - expected) < 4 * se)
    _, remaining = mbgnbd.draw_latent_state(rng, x, t_x, T, params)
    alive = mbgnbd.probability_alive(numpy_ops, x, t_x, T, **PUBLISHED)
    se = np.sqrt(alive * (1 - alive) / n)
    assert np.all(np.abs((remaining > 0).mean(axis=0) - alive) < 4 * se + 1e-12)


def test_numpy_and_pytensor_agree() -> None:
    import pytensor
    import pytensor.tensor as pt

    from clvlab.formulas import pytensor_ops

    cols = [pt.dvector(n) for n in ("x", "t_x", "T")]
    params = [pt.dscalar(n) for n in mbgnbd.PARAMS]
    fn = pytensor.function(
        [*cols, *params], mbgnbd.loglik(pytensor_ops, *cols, *params), mode="FAST_COMPILE"
    )
    rng = np.random.default_rng(0)
    x = np.r_[0, 1, 10_000, rng.integers(0, 60, 200)].astype(float)
    T = np.r_[40.0, 1e-6, 40.0, rng.uniform(1, 80, 200)]
    t_x = np.where(x > 0, T * np.r_[0, 0.5, 0.5, rng.uniform(0, 1, 200)], 0.0)
    for p in (PUBLISHED, {"r": 3.0, "alpha": 0.1, "a": 5.0, "b": 0.2}):
        ours = mbgnbd.loglik(numpy_ops, x, t_x, T, **p)
        np.testing.assert_allclose(fn(x, t_x, T, *p.values()), ours, rtol=1e-12)
        assert np.all(np.isfinite(ours))


@settings(max_examples=40)
@given(
    x=st.integers(0, 100_000),
    T=st.floats(1e-6, 1e4),
    share=st.floats(0.0, 1.0),
    r=st.floats(0.01, 50.0),
    alpha=st.floats(1e-3, 1e4),
    a=st.floats(0.05, 50.0),
    b=st.floats(0.05, 50.0),
)
def test_finite_and_in_range_at_extremes(x, T, share, r, alpha, a, b) -> None:  # type: ignore[no-untyped-def]
    t_x = 0.0 if x == 0 else T * share
    ll = mbgnbd.loglik(numpy_ops, x, t_x, T, r, alpha, a, b)
    alive = mbgnbd.probability_alive(numpy_ops, x, t_x, T, r, alpha, a, b)
    later = mbgnbd.probability_alive_after(numpy_ops, 52.0, x, t_x, T, r, alpha, a, b)
    mean = mbgnbd.conditional_expected_purchases(numpy_ops, 52.0, x, t_x, T, r, alpha, a, b)
    pmf = mbgnbd.conditional_probability_of_purchases_upto(
        numpy_ops, 52.0, 3, x, t_x, T, r, alpha, a, b
    )
    assert np.isfinite(ll)
    if x == 0:  # a probability (for x > 0 the likelihood is a density in t_x)
        assert ll <= 0.0
    assert 0.0 <= alive <= 1.0 and 0.0 <= later <= alive + 1e-15
    assert np.isfinite(mean) and mean >= 0.0
    assert np.all((pmf >= 0.0) & (pmf <= 1.0)) and pmf.sum() <= 1.0 + 1e-9
