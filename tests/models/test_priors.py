"""Priors: checked when built, refused on the wrong support, and sampled correctly."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import clvlab
from clvlab import Prior
from clvlab.errors import ArgumentError
from clvlab.inference import kernels


@pytest.mark.parametrize(
    ("dist", "kwargs", "message"),
    [
        ("Normall", {}, r"unknown prior family 'Normall'; use one of \[.*LogNormal"),
        ("LogNormal", {"sigma": -1.0}, r"Prior\('LogNormal'\): sigma must be positive, got -1.0"),
        ("LogNormal", {"sd": 1.0}, r"unknown argument\(s\) \['sd'\]; LogNormal takes"),
        ("LogNormal", {"mu": math.nan}, "mu must be finite, got nan"),
        ("Gamma", {"alpha": 2.0}, r"arguments \['alpha'\]; Gamma takes Gamma\(alpha, beta\)"),
        ("Gamma", {"alpha": 2.0, "beta": 0.0}, "beta must be positive, got 0.0"),
        ("HalfNormal", {"sigma": "2"}, "sigma must be a number, got '2'"),
        ("Exponential", {"lam": True}, "lam must be a number, got True"),
        ("HalfCauchy", {"beta": math.inf}, "beta must be finite"),
        (3, {}, "unknown prior family 3"),
    ],
)
def test_bad_priors_are_refused_when_built(dist: object, kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ArgumentError, match=message):
        Prior(dist, **kwargs)  # type: ignore[arg-type]


def test_defaults_are_filled_in_so_the_compiled_kernel_applies() -> None:
    prior = Prior("LogNormal")
    assert prior.kwargs == {"mu": 0.0, "sigma": 1.0}  # PyMC's defaults
    assert Prior("Gamma", mu=2.0, sigma=1.0).kwargs == {"mu": 2.0, "sigma": 1.0}
    names = clvlab.BetaGeo.param_names
    assert kernels.supports("bgnbd", dict.fromkeys(names, prior))


@pytest.mark.parametrize("family", ["Normal", "Flat", "StudentT", "Cauchy", "Laplace"])
def test_priors_with_negative_support_are_refused_naming_the_parameter(family: str) -> None:
    kwargs = {"StudentT": {"nu": 3.0}, "Cauchy": {"alpha": 0.0, "beta": 1.0}}.get(family, {})
    if family == "Laplace":
        kwargs = {"mu": 0.0, "b": 1.0}
    with pytest.raises(
        ArgumentError,
        match=rf"the prior of 'r' is {family}\(.*negative values, but r must be positive; "
        r"use a positive-support family such as LogNormal",
    ):
        clvlab.BetaGeo(priors={"r": Prior(family, **kwargs)})


def test_truncated_families_are_positive_only_with_a_non_negative_lower_bound() -> None:
    assert Prior("TruncatedNormal", mu=0.3, sigma=1.0, lower=0.0).positive_support
    assert not Prior("TruncatedNormal", mu=0.3, sigma=1.0).positive_support
    assert Prior("Uniform", lower=0.1, upper=5.0).positive_support
    with pytest.raises(ArgumentError, match=r"the prior of 'a' is Uniform.*negative values"):
        clvlab.BetaGeo(priors={"a": Prior("Uniform", lower=-1.0, upper=5.0)})
    with pytest.raises(ArgumentError, match="lower must be below upper, got lower=5, upper=1"):
        Prior("Uniform", lower=5.0, upper=1.0)


def test_unknown_parameter_and_non_prior_values_are_refused() -> None:
    with pytest.raises(ArgumentError, match=r"prior was given for 'beta'.*parameters are \['r'"):
        clvlab.BetaGeo(priors={"beta": Prior("LogNormal")})
    with pytest.raises(ArgumentError, match=r"the prior of 'p' must be a clvlab.Prior, got 'x'"):
        clvlab.GammaGamma(priors={"p": "x"})  # type: ignore[dict-item]
    with pytest.raises(ArgumentError, match="priors must be a mapping"):
        clvlab.GammaGamma(priors=[Prior("LogNormal")])  # type: ignore[arg-type]


def test_from_dict_round_trip_and_errors() -> None:
    prior = Prior("Gamma", alpha=2.0, beta=0.5)
    assert Prior.from_dict(prior.to_dict()) == prior
    with pytest.raises(ArgumentError, match="a prior must be"):
        Prior.from_dict(["Gamma"])  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="kwargs must be a mapping"):
        Prior.from_dict({"dist": "Gamma", "kwargs": [1, 2]})
    with pytest.raises(ArgumentError, match=r"unknown argument\(s\) \['shape'\]"):
        Prior.from_dict({"dist": "Gamma", "kwargs": {"shape": 2}})


# ---- sampling: moments against SciPy's distributions --------------------------------

N = 20_000
CASES = [
    # (prior, the same distribution in SciPy)
    (Prior("LogNormal", mu=0.5, sigma=0.4), stats.lognorm(s=0.4, scale=np.exp(0.5))),
    (Prior("Gamma", alpha=3.0, beta=2.0), stats.gamma(a=3.0, scale=1 / 2.0)),
    (Prior("HalfNormal", sigma=2.0), stats.halfnorm(scale=2.0)),
    (Prior("Exponential", lam=4.0), stats.expon(scale=1 / 4.0)),
    (Prior("InverseGamma", alpha=5.0, beta=2.0), stats.invgamma(a=5.0, scale=2.0)),
    (Prior("Weibull", alpha=1.5, beta=3.0), stats.weibull_min(c=1.5, scale=3.0)),
]


@pytest.mark.parametrize(("prior", "reference"), CASES, ids=[str(p) for p, _ in CASES])
def test_sample_moments_match_scipy(prior: Prior, reference: stats.rv_continuous) -> None:
    draws = np.asarray(prior.sample(N, seed=7), dtype=float)
    assert draws.shape == (N,) and np.all(draws > 0)
    # the sample mean is within 4 standard errors of SciPy's mean; a draw multiplied by
    # 10 (or by 1.1) is far outside that
    se = reference.std() / math.sqrt(N)
    assert abs(draws.mean() - reference.mean()) < 4 * se
    # the distribution as a whole: Kolmogorov-Smirnov against SciPy's cdf
    assert stats.kstest(draws, reference.cdf).pvalue > 1e-3
    assert np.array_equal(draws, np.asarray(prior.sample(N, seed=7)))  # seeded


def test_half_cauchy_quantiles() -> None:
    # no mean: compare the median and quartiles with SciPy's halfcauchy(scale=2)
    draws = np.asarray(Prior("HalfCauchy", beta=2.0).sample(N, seed=1), dtype=float)
    ref = stats.halfcauchy(scale=2.0)
    assert stats.kstest(draws, ref.cdf).pvalue > 1e-3
    np.testing.assert_allclose(np.quantile(draws, [0.25, 0.5]), ref.ppf([0.25, 0.5]), rtol=0.05)


def test_improper_prior_and_bad_counts_are_refused() -> None:
    with pytest.raises(ArgumentError, match=r"HalfFlat\(\) is improper.*LogNormal"):
        Prior("HalfFlat").sample(10)
    with pytest.raises(ArgumentError, match="n must be an integer >= 1, got 0"):
        Prior("LogNormal").sample(0)


def test_prior_draws_follow_the_default_priors(cdnow_summary: pd.DataFrame) -> None:
    model = clvlab.BetaGeo()
    draws = model.prior_draws(cdnow_summary, 20_000, seed=3)
    assert draws.shape == (20_000, 4) and np.all(draws > 0)
    # Default priors (BetaGeo docstring): r, a, b ~ LogNormal(0, 1.5) and
    # alpha ~ LogNormal(log(mean T), 2); mean T of CDNOW computed here from the table.
    mu = {"r": 0.0, "alpha": float(np.log(cdnow_summary["T"].mean())), "a": 0.0, "b": 0.0}
    sigma = {"r": 1.5, "alpha": 2.0, "a": 1.5, "b": 1.5}
    for i, name in enumerate(model.param_names):
        logs = np.log(draws[:, i])
        se = sigma[name] / math.sqrt(len(logs))
        assert abs(logs.mean() - mu[name]) < 4 * se, name  # x10 would shift by 2.3
        assert logs.std() == pytest.approx(sigma[name], rel=0.03), name
    again = model.prior_draws(cdnow_summary, 20_000, seed=3)
    assert np.array_equal(draws, again)


def test_prior_draws_use_the_users_priors(cdnow_summary: pd.DataFrame) -> None:
    model = clvlab.GammaGamma(priors={"q": Prior("Gamma", alpha=4.0, beta=2.0)})
    draws = model.prior_draws(cdnow_summary, 20_000, seed=1)
    q = draws[:, model.param_names.index("q")]
    # Gamma(4, rate 2): mean 2, sd 1
    assert abs(q.mean() - 2.0) < 4 * 1.0 / math.sqrt(len(q))
    with pytest.raises(ArgumentError, match="n_draws must be an integer >= 1, got -3"):
        model.prior_draws(cdnow_summary, -3)
    flat = clvlab.GammaGamma(priors={"p": Prior("HalfFlat")})
    with pytest.raises(ArgumentError, match="improper"):
        flat.prior_draws(cdnow_summary, 10)


@pytest.mark.slow
def test_a_prior_outside_the_kernel_uses_the_pymc_model(cdnow_summary: pd.DataFrame) -> None:
    # HalfStudentT has no compiled kernel: MAP runs on the PyMC model and says so
    priors = {"q": Prior("HalfStudentT", nu=3.0, sigma=5.0)}
    model = clvlab.GammaGamma(priors=priors).fit(
        cdnow_summary, method="map", draws=200, seed=1, progress=False
    )
    assert model.fit_info_["log_density"] == "PyMC model"
    assert model.fit_info_["priors"]["q"] == {
        "dist": "HalfStudentT",
        "kwargs": {"nu": 3.0, "sigma": 5.0},
    }
    assert np.all(np.isfinite(model.params_.to_numpy()))


@given(
    mu=st.floats(-50, 50),
    sigma=st.floats(allow_nan=True, allow_infinity=True),
)
def test_lognormal_sigma_rule_holds_for_any_float(mu: float, sigma: float) -> None:
    if math.isfinite(sigma) and sigma > 0:
        prior = Prior("LogNormal", mu=mu, sigma=sigma)
        assert prior.kwargs == {"mu": mu, "sigma": sigma} and prior.positive_support
        assert Prior.from_dict(prior.to_dict()) == prior
    else:
        with pytest.raises(ArgumentError, match=r"Prior\('LogNormal'\): sigma must be"):
            Prior("LogNormal", mu=mu, sigma=sigma)
