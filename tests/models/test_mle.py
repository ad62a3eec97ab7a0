"""Maximum-likelihood fits against Fader, Hardie & Lee (2005), Fader & Hardie (2013) and
lifetimes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.errors import ArgumentError
from clvlab.formulas import numpy_ops
from clvlab.inference import mle
from clvlab.inference._lifetimes import lifetimes_module

# Source: Fader, Hardie & Lee (2005), CDNOW MLE.
FHL = {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}


@pytest.fixture(scope="module")
def bgnbd_mle(cdnow_summary: pd.DataFrame) -> clvlab.BetaGeo:
    return clvlab.BetaGeo().fit(cdnow_summary, seed=42, progress=False)


@pytest.fixture(scope="module")
def gg_mle(cdnow_summary: pd.DataFrame) -> clvlab.GammaGamma:
    return clvlab.GammaGamma().fit(cdnow_summary, seed=42, progress=False)


def test_bgnbd_published_estimates(bgnbd_mle: clvlab.BetaGeo) -> None:
    # Source: Fader, Hardie & Lee (2005), CDNOW: r=0.243, alpha=4.414, a=0.793, b=2.426,
    # LL=-9582.4.
    est = bgnbd_mle.params_["estimate"]
    assert est["r"] == pytest.approx(0.243, abs=5e-4)
    assert est["alpha"] == pytest.approx(4.414, abs=5e-4)
    assert est["a"] == pytest.approx(0.793, abs=5e-4)
    assert est["b"] == pytest.approx(2.426, abs=5e-4)
    assert bgnbd_mle.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert bgnbd_mle.n_customers_ == 2357


def test_gamma_gamma_published_estimates(gg_mle: clvlab.GammaGamma) -> None:
    # Source: Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value":
    # p=6.25, q=3.74, v=15.44 on the 946 repeat customers.
    est = gg_mle.params_["estimate"]
    assert est["p"] == pytest.approx(6.25, abs=0.005)
    assert est["q"] == pytest.approx(3.74, abs=0.006)
    assert est["v"] == pytest.approx(15.44, abs=0.01)
    assert gg_mle.n_customers_ == 946


def test_folded_and_unfolded_agree(cdnow_summary: pd.DataFrame) -> None:
    model = clvlab.BetaGeo()
    folded = model.prepare(cdnow_summary)
    assert len(folded) < 2357
    s = cdnow_summary
    unfolded = clvlab.models.FitData(
        {
            "x": s["frequency"].to_numpy(float),
            "t_x": s["recency"].to_numpy(float),
            "T": s["T"].to_numpy(float),
        },
        np.ones(len(s)),
    )
    a = mle.maximize_likelihood(model, folded)
    b = mle.maximize_likelihood(model, unfolded)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    ll = [
        np.sum(
            d.weights
            * model.loglik(numpy_ops, d.columns, dict(zip(model.param_names, a, strict=True)))
        )
        for d in (folded, unfolded)
    ]
    assert ll[0] == pytest.approx(ll[1], rel=1e-12)


def _numerical_hessian(model: clvlab.BetaGeo, data, est: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    def total(theta: np.ndarray) -> float:
        params = dict(zip(model.param_names, np.exp(theta), strict=True))
        return float(np.sum(data.weights * model.loglik(numpy_ops, data.columns, params)))

    k, h = len(est), 1e-4
    theta0 = np.log(est)
    out = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
            out[i, j] = (
                total(theta0 + ei + ej)
                - total(theta0 + ei - ej)
                - total(theta0 - ei + ej)
                + total(theta0 - ei - ej)
            ) / (4 * h * h)
    return out


@pytest.mark.parametrize("model_cls", [clvlab.BetaGeo, clvlab.GammaGamma])
def test_hessian_matches_numerical(model_cls: type, cdnow_summary: pd.DataFrame) -> None:
    model = model_cls()
    data = model.prepare(cdnow_summary)
    est = mle.maximize_likelihood(model, data)
    exact = mle.log_scale_hessian(model, data, est)
    numeric = _numerical_hessian(model, data, est)
    np.testing.assert_allclose(exact, numeric, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(exact, exact.T, rtol=1e-10)


def test_standard_errors_match_numerical_hessian_and_lifetimes(
    bgnbd_mle: clvlab.BetaGeo, cdnow_summary: pd.DataFrame
) -> None:
    model = clvlab.BetaGeo()
    data = model.prepare(cdnow_summary)
    est = bgnbd_mle.params_["estimate"].to_numpy()
    cov_log = np.linalg.inv(-_numerical_hessian(model, data, est))
    np.testing.assert_allclose(
        bgnbd_mle.params_["sd"].to_numpy(), est * np.sqrt(np.diag(cov_log)), rtol=1e-3
    )
    # Oracle: lifetimes' own Hessian of its objective (mean negative log-likelihood in
    # log-parameters) at its own optimum, on the same folded rows. In log-parameters the
    # Hessian does not depend on lifetimes' time scaling, so ours equals sum(w) times it.
    fitter = (
        lifetimes_module("lifetimes")
        .BetaGeoFitter()
        .fit(**model.lifetimes_arguments(data), weights=data.weights)
    )
    lifetimes_est = fitter.params_[list(model.param_names)].to_numpy()
    np.testing.assert_allclose(est, lifetimes_est, rtol=1e-9)
    ours = mle.information_matrix(model, data, est)
    np.testing.assert_allclose(ours, fitter._hessian_ * data.weights.sum(), rtol=1e-7)
    lifetimes_sd = np.sqrt(np.diag(fitter.variance_matrix_.to_numpy()))
    np.testing.assert_allclose(bgnbd_mle.params_["sd"].to_numpy(), lifetimes_sd, rtol=1e-7)


def test_params_table_and_draws(bgnbd_mle: clvlab.BetaGeo) -> None:
    p = bgnbd_mle.params_
    assert list(p.columns) == ["estimate", "sd", "lower", "upper"]
    assert list(p.index) == ["r", "alpha", "a", "b"]
    assert (p["lower"] < p["estimate"]).all() and (p["estimate"] < p["upper"]).all()
    draws = bgnbd_mle.draws_
    assert dict(draws.sizes) == {"chain": 1, "draw": 2000}
    # Laplace draws are log-normal around the MLE: their median is the MLE.
    np.testing.assert_allclose(
        [float(draws[n].median()) for n in p.index], p["estimate"], rtol=0.02
    )
    lo, hi = draws["r"].quantile([0.05, 0.95]).to_numpy()
    assert lo == pytest.approx(p.loc["r", "lower"], rel=0.02)
    assert hi == pytest.approx(p.loc["r", "upper"], rel=0.02)
    text = bgnbd_mle.summary()
    assert "BG/NBD fitted by MLE" in text and "-9582.4" in text


def test_laplace_draws_are_seeded(cdnow_summary: pd.DataFrame) -> None:
    a = clvlab.GammaGamma().fit(cdnow_summary, seed=5, progress=False).draws_
    b = clvlab.GammaGamma().fit(cdnow_summary, seed=5, progress=False).draws_
    c = clvlab.GammaGamma().fit(cdnow_summary, seed=6, progress=False).draws_
    assert a.equals(b) and not a.equals(c)


def test_bootstrap(cdnow_summary: pd.DataFrame, bgnbd_mle: clvlab.BetaGeo) -> None:
    fit = clvlab.BetaGeo().fit(
        cdnow_summary, uncertainty="bootstrap", n_bootstrap=40, seed=3, progress=False
    )
    again = clvlab.BetaGeo().fit(
        cdnow_summary, uncertainty="bootstrap", n_bootstrap=40, seed=3, progress=False
    )
    assert fit.draws_.equals(again.draws_)
    assert dict(fit.draws_.sizes) == {"chain": 1, "draw": 40}
    np.testing.assert_allclose(fit.params_["estimate"], bgnbd_mle.params_["estimate"])
    # bootstrap sd agrees with the Laplace sd within the noise of 40 replicates
    ratio = fit.params_["sd"] / bgnbd_mle.params_["sd"]
    assert ratio.between(0.6, 1.6).all(), ratio


def test_convergence_error_says_what_to_try(cdnow_summary: pd.DataFrame) -> None:
    # A start 1e60 away from the optimum makes lifetimes' optimiser fail; the message is
    # clvlab's own (no scipy printout, no lifetimes advice) and its advice works.
    far = {"r": 1e60, "alpha": 1e-60, "a": 1e60, "b": 1e-60}
    with pytest.raises(clvlab.ConvergenceError, match="did not converge") as info:
        clvlab.BetaGeo().fit(cdnow_summary, initial_params=far, progress=False)
    message = str(info.value)
    assert "Start without initial_params" in message and "method='nuts'" in message
    assert "\n" not in message and "penalizer" not in message and "success" not in message
    fitted = clvlab.BetaGeo().fit(cdnow_summary, seed=1, progress=False)
    assert fitted.fit_info_["mle_quality"]["ok"]


def test_initial_params_are_on_the_natural_scale(cdnow_summary: pd.DataFrame) -> None:
    # Starting at the published MLE (Fader, Hardie & Lee 2005) stays there.
    model = clvlab.BetaGeo()
    data = model.prepare(cdnow_summary)
    start = dict(FHL)
    est = mle.maximize_likelihood(model, data, initial_params=start)
    np.testing.assert_allclose(est, list(FHL.values()), rtol=2e-3)
    assert mle._lifetimes_start(model, data, start)[1] == pytest.approx(
        np.log(FHL["alpha"] / cdnow_summary["T"].max())  # lifetimes scales time by max(T)
    )


def test_not_fitted() -> None:
    with pytest.raises(clvlab.NotFittedError, match="fit"):
        clvlab.BetaGeo().summary()


def test_gamma_gamma_refuses_non_positive_spend(cdnow_summary: pd.DataFrame) -> None:
    bad = cdnow_summary.copy()
    bad.loc[[1, 2], "monetary_value"] = 0.0
    with pytest.raises(clvlab.DataValidationError, match=r"must be positive.*\(2 rows, .*1, 2\)"):
        clvlab.GammaGamma().fit(bad, progress=False)
    assert cdnow_summary.loc[1, "monetary_value"] == 22.35  # caller's frame untouched


def test_unknown_method(cdnow_summary: pd.DataFrame) -> None:
    with pytest.raises(ArgumentError, match="method must be one of 'mle'"):
        clvlab.BetaGeo().fit(cdnow_summary, method="gibbs")  # type: ignore[arg-type]
