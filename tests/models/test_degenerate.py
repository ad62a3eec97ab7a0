"""Degenerate maximum likelihood: detected, reported, and replaced by an honest fit.

The degenerate data are customers who never drop out: BG/NBD with a dropout probability
``p ~ Beta(0.5, 1e6)`` (mean 5e-7), so the MLE runs to the boundary ``a -> 0, b -> inf``
where the Laplace covariance does not exist.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.errors import ArgumentError, DegenerateFitWarning
from clvlab.inference import mle
from clvlab.inference._lifetimes import lifetimes_module


@pytest.fixture(scope="module")
def never_drop() -> pd.DataFrame:
    log = clvlab.simulate_transactions(500, a=0.5, b=1e6, seed=1)
    return clvlab.rfm_summary(log, observation_end=log.attrs["clvlab"]["observation_end"])


def _assess(model: clvlab.BetaGeo, rfm: pd.DataFrame, penalizer: float = 0.0) -> dict:  # type: ignore[type-arg]
    data = model.prepare(rfm)
    est = mle.maximize_likelihood(model, data, penalizer=penalizer)
    return mle.assess_optimum(model, est, mle.information_matrix(model, data, est, penalizer))


def test_boundary_optimum_is_detected(never_drop: pd.DataFrame) -> None:
    quality = _assess(clvlab.BetaGeo(), never_drop)
    assert quality["ok"] is False
    assert "a" in quality["boundary"] and quality["mle"]["a"] < mle.BOUNDARY[0]
    assert any("a = " in p and "lower bound 0" in p for p in quality["problems"])
    json.dumps(quality)  # machine-readable for the CLI and the model file


def test_cdnow_is_not_flagged(cdnow_summary: pd.DataFrame) -> None:
    # Fader, Hardie & Lee (2005): an interior optimum r=0.243, alpha=4.414, a=0.793, b=2.426.
    model = clvlab.BetaGeo().fit(cdnow_summary, seed=1, progress=False)
    quality = model.fit_info_["mle_quality"]
    assert quality["ok"] is True and quality["problems"] == []
    assert 1 < quality["condition_number"] < mle.CONDITION_MAX
    assert max(quality["interval_ratio"].values()) < mle.INTERVAL_RATIO_MAX
    assert model.method_ == "mle" and "requested_method" not in model.fit_info_
    assert "MLE checks: interior optimum" in model.summary()
    spend = clvlab.GammaGamma().fit(cdnow_summary, seed=1, progress=False)
    assert spend.fit_info_["mle_quality"]["ok"] is True


@pytest.mark.parametrize("uncertainty", ["laplace", "bootstrap"])
def test_degenerate_mle_falls_back_to_nuts(never_drop: pd.DataFrame, uncertainty: str) -> None:
    before = never_drop.copy()
    with pytest.warns(
        DegenerateFitWarning,
        match=r"BG/NBD maximum likelihood is degenerate \(a = .* lower bound 0.*NUTS posterior",
    ) as record:
        model = clvlab.BetaGeo().fit(
            never_drop, seed=3, progress=False, uncertainty=uncertainty, n_bootstrap=5
        )
    assert len(record) == 1 and "\n" not in str(record[0].message)
    pd.testing.assert_frame_equal(never_drop, before)  # the caller's table is untouched
    info = model.fit_info_
    assert model.method_ == "nuts" and info["method"] == "nuts"
    assert info["requested_method"] == "mle"
    assert info["mle_quality"]["ok"] is False and info["mle_quality"]["fallback"] == "nuts"
    assert np.all(np.isfinite(model.params_.to_numpy()))
    assert (model.params_["sd"] > 0).all()
    assert dict(model.draws_.sizes) == {"chain": 2, "draw": 1000}
    assert info["diagnostics"]["max_r_hat"] <= 1.01 and info["diagnostics"]["divergences"] == 0
    text = model.summary()
    assert "WARNING: the maximum-likelihood fit is degenerate: a = " in text
    assert "reported instead: the NUTS posterior" in text
    html = model._repr_html_()
    assert "maximum-likelihood fit is degenerate" in html
    json.dumps(info)
    # the purchase predictions are finite and in range, from the fallback's draws
    pred = model.expected_purchases(never_drop, t=10)
    values = pred[["estimate", "sd", "lower", "upper"]].to_numpy(dtype=float)
    assert np.all(np.isfinite(values)) and np.all(values >= 0)


def test_the_advice_nuts_gives_finite_intervals(never_drop: pd.DataFrame) -> None:
    model = clvlab.BetaGeo().fit(
        never_drop, method="nuts", draws=500, tune=500, seed=2, progress=False
    )
    table = model.params_
    assert np.all(np.isfinite(table.to_numpy()))
    assert (table["lower"] > 0).all() and (table["upper"] > table["lower"]).all()
    assert model.fit_info_["diagnostics"]["divergences"] == 0


def test_flat_priors_give_no_fallback(never_drop: pd.DataFrame) -> None:
    flat = {n: clvlab.Prior("HalfFlat") for n in clvlab.BetaGeo.param_names}
    with pytest.raises(clvlab.ConvergenceError, match=r"degenerate.*flat priors.*no fallback"):
        clvlab.BetaGeo(priors=flat).fit(never_drop, progress=False)


def test_singular_hessian_in_lifetimes_is_handled() -> None:
    # Nobody ever repeats: lifetimes' own Hessian is singular (it raises LinAlgError after
    # converging); clvlab reports the degenerate optimum and falls back instead.
    table = pd.DataFrame({"frequency": [0] * 50, "recency": [0.0] * 50, "T": [10.0] * 50})
    with pytest.warns(DegenerateFitWarning, match="degenerate"):
        model = clvlab.BetaGeo().fit(table, seed=1, progress=False)
    assert np.all(np.isfinite(model.params_.to_numpy()))
    assert model.fit_info_["mle_quality"]["ok"] is False


@pytest.mark.parametrize(
    ("information", "problem"),
    [
        (np.diag([1e10, 1.0, 1.0, 1.0]), "nearly singular"),
        (np.diag([1.0, 1.0, 1.0, -1.0]), "not negative definite"),
        (np.diag([1.0, 1.0, np.nan, 1.0]), "not negative definite"),
        (np.diag([1.0, 1.0, 1.0, np.inf]), "not negative definite"),
        # sd 2 on the log scale: a 95% interval ratio of exp(2 * 1.96 * 2) = 2540 > 1e3
        (np.diag([1.0, 1.0, 1.0, 0.25]), "interval of b spans a factor of 2.5e+03"),
    ],
)
def test_assess_optimum_rules(information: np.ndarray, problem: str) -> None:
    quality = mle.assess_optimum(clvlab.BetaGeo(), np.array([0.5, 4.0, 0.8, 2.4]), information)
    assert quality["ok"] is False
    assert any(problem in p for p in quality["problems"]), quality["problems"]


def test_assess_optimum_accepts_a_sound_optimum_and_ignores_scale_units() -> None:
    # sd 1.5 on the log scale: ratio exp(2 * 1.96 * 1.5) = 358 < 1e3; alpha = 1e6 days is a
    # time scale, not a boundary.
    info = np.diag([1.0, 1.0, 1.0, 1 / 1.5**2])
    quality = mle.assess_optimum(clvlab.BetaGeo(), np.array([0.5, 1e6, 0.8, 2.4]), info)
    assert quality["ok"] is True, quality["problems"]
    assert quality["interval_ratio"]["b"] == pytest.approx(np.exp(2 * 1.959963984540054 * 1.5))
    high = mle.assess_optimum(clvlab.BetaGeo(), np.array([0.5, 4.0, 0.8, 2e4]), np.eye(4))
    assert "b = 2e+04 is at its upper bound (infinity)" in high["problems"]


# ---- penalizer: the same objective in the estimate, the Laplace step and the bootstrap ----


@pytest.mark.parametrize("uncertainty", ["laplace", "bootstrap"])
def test_penalizer_applies_to_every_step(cdnow_summary: pd.DataFrame, uncertainty: str) -> None:
    model = clvlab.BetaGeo().fit(
        cdnow_summary,
        penalizer=10,
        uncertainty=uncertainty,
        n_bootstrap=10,
        seed=1,
        progress=False,
    )
    # Oracle: lifetimes' BetaGeoFitter(penalizer_coef=10) on the same folded rows, which
    # gives the shrunk r 0.086, alpha 1.07, a 0.012, b 0.025 quoted in the issue.
    data = model.prepare(cdnow_summary)
    fitter = (
        lifetimes_module("lifetimes")
        .BetaGeoFitter(penalizer_coef=10)
        .fit(**model.lifetimes_arguments(data), weights=data.weights)
    )
    expected = fitter.params_[list(model.param_names)].to_numpy()
    np.testing.assert_allclose(model.params_["estimate"].to_numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(expected, [0.086, 1.07, 0.012, 0.025], atol=6e-3)
    assert model.method_ == "mle" and model.fit_info_["mle_quality"]["ok"]
    assert model.fit_info_["penalizer"] == 10
    assert np.all(np.isfinite(model.params_.to_numpy()))
    # the Hessian is that of lifetimes' penalised objective (times sum(w))
    info = mle.information_matrix(model, data, expected, penalizer=10)
    np.testing.assert_allclose(info, fitter._hessian_ * data.weights.sum(), rtol=1e-6)
    if uncertainty == "bootstrap":
        # each refit is penalised too: the replicates stay near the shrunk estimate
        median = model.draws_.median(("chain", "draw"))
        for i, name in enumerate(model.param_names):
            assert float(median[name]) == pytest.approx(expected[i], rel=0.5)


def test_gamma_gamma_penalised_hessian(cdnow_summary: pd.DataFrame) -> None:
    model = clvlab.GammaGamma()
    data = model.prepare(cdnow_summary)
    fitter = (
        lifetimes_module("lifetimes")
        .GammaGammaFitter(penalizer_coef=0.1)
        .fit(**model.lifetimes_arguments(data), weights=data.weights)
    )
    est = mle.maximize_likelihood(model, data, penalizer=0.1)
    # Oracle: lifetimes' estimate and its Hessian of the penalised mean objective.
    np.testing.assert_allclose(est, fitter.params_.to_numpy(), rtol=1e-9)
    info = mle.information_matrix(model, data, est, penalizer=0.1)
    np.testing.assert_allclose(info, fitter._hessian_ * data.weights.sum(), rtol=1e-6)


def test_negative_penalizer_is_refused(cdnow_summary: pd.DataFrame) -> None:
    with pytest.raises(ArgumentError, match="penalizer must be zero or positive, got -1"):
        clvlab.BetaGeo().fit(cdnow_summary, penalizer=-1)
