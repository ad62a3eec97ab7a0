"""Fit and constructor arguments are checked before any work, with clvlab's own errors."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import clvlab
from clvlab.errors import ArgumentError


@pytest.mark.parametrize("ci_prob", [0, 1, 1.5, -0.1, math.nan, math.inf, "0.9", True])
@pytest.mark.parametrize("cls", [clvlab.BetaGeo, clvlab.GammaGamma])
def test_constructor_refuses_bad_ci_prob(cls: type, ci_prob: object) -> None:
    with pytest.raises(ArgumentError, match="ci_prob"):
        cls(ci_prob=ci_prob)


def test_constructor_refuses_unknown_interval_kind() -> None:
    with pytest.raises(ArgumentError, match=r"interval_kind must be 'eti'.*or 'hdi'.*'HDI'"):
        clvlab.BetaGeo(interval_kind="HDI")  # type: ignore[arg-type]


@pytest.mark.parametrize(("attribute", "value"), [("ci_prob", 1.0), ("interval_kind", "x")])
def test_fit_rechecks_settings_changed_after_construction(
    cdnow_summary: pd.DataFrame, attribute: str, value: object
) -> None:
    model = clvlab.BetaGeo()
    setattr(model, attribute, value)
    with pytest.raises(ArgumentError, match=attribute):
        model.fit(cdnow_summary, progress=False)
    assert not hasattr(model, "draws_")  # nothing was fitted


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_ci_prob_is_accepted_exactly_inside_zero_one(value: float) -> None:
    if 0 < value < 1:
        assert clvlab.BetaGeo(ci_prob=value).ci_prob == value
    else:
        rule = "ci_prob must (lie strictly between 0 and 1|be a finite number)"
        with pytest.raises(ArgumentError, match=rule):
            clvlab.BetaGeo(ci_prob=value)


BAD_FIT_ARGUMENTS = [
    ({"method": "gibbs"}, "method must be one of 'mle', 'nuts', 'advi', 'map', got 'gibbs'"),
    ({"uncertainty": "jackknife"}, "uncertainty must be one of 'laplace', 'bootstrap'"),
    ({"sampler": "stan"}, "sampler must be one of 'nutpie', 'pymc', got 'stan'"),
    ({"draws": 0}, "draws must be an integer >= 1, got 0"),
    ({"draws": -5}, "draws must be an integer >= 1, got -5"),
    ({"draws": 2.5}, "draws must be an integer >= 1, got 2.5"),
    ({"tune": -1}, "tune must be an integer >= 0, got -1"),
    ({"chains": 0}, "chains must be an integer >= 1, got 0"),
    ({"chains": -2}, "chains must be an integer >= 1, got -2"),
    ({"n_draws": 0}, "n_draws must be an integer >= 1, got 0"),
    ({"n_draws": -1}, "n_draws must be an integer >= 1, got -1"),
    ({"n_bootstrap": 1}, "n_bootstrap must be an integer >= 2, got 1.*at least 2 resamples"),
    ({"n_bootstrap": 0}, "n_bootstrap must be an integer >= 2, got 0"),
    ({"penalizer": -0.1}, "penalizer must be zero or positive"),
    ({"penalizer": math.nan}, "penalizer must be a finite number"),
    ({"target_accept": 1.0}, "target_accept must lie strictly between 0 and 1"),
    ({"target_accept": 0}, "target_accept must be positive"),
    ({"advi_iterations": 0}, "advi_iterations must be an integer >= 1"),
    ({"seed": -1}, "seed must be an integer >= 0, got -1"),
    ({"seed": 1.5}, "seed must be an integer >= 0, got 1.5"),
    ({"initial_params": {"r": 1.0}}, r"missing \['alpha', 'a', 'b'\]"),
    (
        {"initial_params": {"r": 1, "alpha": 1, "a": 1, "b": 1, "s": 1}},
        r"\(unknown \['s'\]\); for example",
    ),
    (
        {"initial_params": {"r": 0, "alpha": 1, "a": 1, "b": 1}},
        r"initial_params\['r'\] must be positive",
    ),
    (
        {"initial_params": {"r": 1, "alpha": math.nan, "a": 1, "b": 1}},
        r"initial_params\['alpha'\] must be a finite number",
    ),
    ({"initial_params": [0.2, 4, 0.8, 2]}, "initial_params must map each parameter"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_FIT_ARGUMENTS)
def test_fit_refuses_bad_arguments(
    cdnow_summary: pd.DataFrame, kwargs: dict[str, object], message: str
) -> None:
    before = cdnow_summary.copy()
    model = clvlab.BetaGeo()
    with pytest.raises(ArgumentError, match=message):
        model.fit(cdnow_summary, progress=False, **kwargs)  # type: ignore[arg-type]
    assert not hasattr(model, "draws_") and not hasattr(model, "fit_info_")
    pd.testing.assert_frame_equal(cdnow_summary, before)


def test_arguments_are_checked_before_the_data() -> None:
    # a bad argument is reported even when the data are bad too: no work was done first
    with pytest.raises(ArgumentError, match="n_bootstrap"):
        clvlab.BetaGeo().fit(pd.DataFrame({"x": [1]}), n_bootstrap=1)


def test_a_refused_refit_keeps_no_stale_state(cdnow_summary: pd.DataFrame) -> None:
    model = clvlab.GammaGamma().fit(cdnow_summary, seed=1, progress=False, n_draws=50)
    with pytest.raises(ArgumentError, match="draws"):
        model.fit(cdnow_summary, method="nuts", draws=0)
    # the earlier fit is intact, since the arguments were refused before any work
    assert model.method_ == "mle" and dict(model.draws_.sizes) == {"chain": 1, "draw": 50}


def test_two_bootstrap_resamples_are_enough_to_run(cdnow_summary: pd.DataFrame) -> None:
    model = clvlab.GammaGamma().fit(
        cdnow_summary, uncertainty="bootstrap", n_bootstrap=2, seed=1, progress=False
    )
    table = model.params_
    assert table.notna().all().all()
    # the bootstrap interval of the estimate's replicates need not hold the MLE with 2
    # replicates; the sd is finite and positive
    assert (table["sd"] > 0).all()


def test_unknown_model_name() -> None:
    from clvlab.models.base import model_class

    with pytest.raises(ArgumentError, match=r"unknown model 'bgnbdx'; known: \['bgbb', 'bgnbd'"):
        model_class("bgnbdx")
