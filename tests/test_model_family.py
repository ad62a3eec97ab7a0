"""The purchase-model contract, checked on every registered purchase model (issue 13).

In the spirit of scikit-learn's ``parametrize_with_checks``: every test runs once per
model of :func:`clvlab.purchase_models`, so a newly registered model is checked by the
whole suite without editing it. The models are fitted once per module by MLE on data of
their kind (:class:`Case`): continuous-time models on the CDNOW sample (calibration to
1997-09-30, holdout to 1998-06-30; Fader, Hardie & Lee 2005), discrete-time ones (BG/BB)
on the donations cohort in yearly opportunities (calibration 1996-2001 as in Fader,
Hardie & Shang 2010, a holdout 2002-2006 simulated at their estimates:
``tests._family.donations_log``).

Sources of the expected values: the model's own formula module at the fitted point
estimate (the predictions are plug-in estimates at the MLE, so they must equal it to
rounding), hand computations shown in the test, the data itself (counts), and the BTYD
walkthrough for the CDNOW holdout counts. Statistical tolerances are multiples of the
Monte Carlo standard error, computed in the test.
"""

from __future__ import annotations

import argparse
import re
import types
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.axes import Axes

import clvlab
from clvlab import plots
from clvlab.cli import build_parser, main
from clvlab.formulas import numpy_ops
from clvlab.formulas.contract import CONTRACT, check_contract
from clvlab.predict.table import METRICS
from tests import _family as family
from tests._family import NAMES

# CDNOW sample (Fader, Hardie & Lee 2005; BTYD walkthrough): 2,357 customers, 1,882
# repeat purchases in the 39-week holdout.
N_CUSTOMERS = 2357
HOLDOUT_PURCHASES = 1882
# BTYD walkthrough: mean holdout purchases by calibration frequency 0..7+ (data, so the
# same for every model).
BTYD_ACTUAL = [0.2367, 0.6970, 1.3925, 1.56, 2.5323, 2.9474, 3.8621, 6.3594]
# 6 months in weeks, by hand: 6 x 365.25 / 12 days / 7 (the RFM is in weeks).
SIX_MONTHS_IN_WEEKS = 6 * 365.25 / 12 / 7
TWELVE_MONTHS_IN_WEEKS = 2 * SIX_MONTHS_IN_WEEKS
# donations (Fader, Hardie & Shang 2010): 11,104 donors of the 1995 cohort
N_DONORS = 11_104
# Fader & Hardie (2007) Table 1: two cohorts of 1,000 subscribers
N_SUBSCRIBERS = 2_000


@dataclass
class Case:
    """A model kind's data and horizons, in the table's time unit."""

    rfm: pd.DataFrame
    log: pd.DataFrame
    n_customers: int
    unit: str  # the table's time unit
    unit_name: str
    t: float  # the holdout length
    clv: dict[str, Any]  # a short CLV horizon, and ...
    t_clv: float  # ... its length in the time unit (by hand)
    year: dict[str, Any]  # predict_customers' and decide's horizon, and ...
    t_year: float  # ... its length in the time unit (by hand)
    ends: tuple[float, ...]  # period ends of the simulator's paths
    tracking: bool  # whether tracking applies (a day-resolution table)
    holdout_purchases: int = field(init=False)

    def __post_init__(self) -> None:
        self.holdout_purchases = int(self.rfm["frequency_holdout"].sum())


@pytest.fixture(scope="module")
def cases(cdnow_sample_rfm: pd.DataFrame, cdnow_sample: pd.DataFrame) -> dict[str, Case]:
    log = family.donations_log()
    contracts = family.contracts_log()
    return {
        "continuous": Case(
            cdnow_sample_rfm,
            cdnow_sample,
            N_CUSTOMERS,
            "W",
            "weeks",
            39.0,
            {"horizon": 6, "unit": "M"},
            SIX_MONTHS_IN_WEEKS,
            {"horizon": 12, "unit": "M"},
            TWELVE_MONTHS_IN_WEEKS,
            (13.0, 26.0, 39.0),
            True,
        ),
        # yearly opportunities: every horizon is a whole number of years
        "discrete": Case(
            family.donations_rfm(log),
            log,
            N_DONORS,
            "Y",
            "years",
            5.0,
            {"horizon": 3, "unit": "Y"},
            3.0,
            {"horizon": 5, "unit": "Y"},
            5.0,
            (1.0, 3.0, 5.0),
            False,
        ),
        # yearly renewals of Fader & Hardie (2007) Table 1: calibration years 1-7,
        # holdout years 8-12
        "contractual": Case(
            family.contracts_rfm(contracts),
            contracts,
            N_SUBSCRIBERS,
            "Y",
            "years",
            5.0,
            {"horizon": 3, "unit": "Y"},
            3.0,
            {"horizon": 5, "unit": "Y"},
            5.0,
            (1.0, 3.0, 5.0),
            False,
        ),
    }


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fits(cases: dict[str, Case]) -> dict[str, clvlab.PurchaseModel]:
    """Every registered purchase model fitted by MLE on data of its kind, once."""
    return {name: family.fit_mle(name, cases[family.kind(name)].rfm) for name in NAMES}


@pytest.fixture(scope="module")
def spends(cases: dict[str, Case]) -> dict[str, clvlab.GammaGamma]:
    return {
        k: clvlab.GammaGamma().fit(c.rfm, seed=1, progress=False, n_draws=200)
        for k, c in cases.items()
    }


@pytest.fixture(params=NAMES)
def model(request: pytest.FixtureRequest, fits: dict[str, Any]) -> clvlab.PurchaseModel:
    """One registered purchase model, fitted (the test runs once per model)."""
    return fits[request.param]  # type: ignore[no-any-return]


@pytest.fixture
def case(model: clvlab.PurchaseModel, cases: dict[str, Case]) -> Case:
    """The data of the model's kind."""
    return cases[family.kind(model.name)]


@pytest.fixture
def rfm(case: Case) -> pd.DataFrame:
    return case.rfm


@pytest.fixture
def spend(model: clvlab.PurchaseModel, spends: dict[str, clvlab.GammaGamma]) -> clvlab.GammaGamma:
    return spends[family.kind(model.name)]


@pytest.fixture(scope="module")
def sample_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("family") / "cdnow.csv"
    clvlab.datasets.load_cdnow_sample().to_csv(path, index=False)
    return path


def _finite(frame: pd.DataFrame) -> bool:
    return bool(np.isfinite(frame.to_numpy(dtype=float)).all())


def _ordered(frame: pd.DataFrame, prefix: str = "") -> bool:
    lo, est, hi = (frame[f"{prefix}{c}"].to_numpy() for c in ("lower", "estimate", "upper"))
    return bool(np.all(lo <= est) and np.all(est <= hi))


# ---- the registry and the contract -------------------------------------------------------
def test_registry_holds_each_model_once_with_its_formulas() -> None:
    models = clvlab.purchase_models()
    # issue 13: BG/NBD, MBG/NBD and Pareto/NBD are registered
    assert {"bgnbd", "mbgnbd", "pnbd"} <= set(models)
    from clvlab.models.base import model_class

    for name, cls in models.items():
        assert cls.name == name and issubclass(cls, clvlab.PurchaseModel)
        assert check_contract(cls.formulas) is cls.formulas
        assert cls.param_names == tuple(cls.formulas.PARAMS)
        assert model_class(name) is cls
        assert getattr(cls, "display_name", "")
    # a copy: changing the returned dict does not change the registry
    models.clear()
    assert set(clvlab.purchase_models()) == set(NAMES)


def test_one_registry_feeds_the_cli_and_the_pipeline() -> None:
    from clvlab.pipeline import PURCHASE_MODELS

    assert clvlab.purchase_models() == PURCHASE_MODELS
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    run = sub.choices["run"]
    option = next(a for a in run._actions if "--purchase-model" in a.option_strings)
    assert sorted(option.choices) == sorted(NAMES)


def test_a_formula_module_without_the_contract_is_refused() -> None:
    broken = types.ModuleType("broken_formulas")
    broken.PARAMS = ("r", "alpha")  # type: ignore[attr-defined]
    broken.loglik = lambda *a, **k: 0.0  # type: ignore[attr-defined]
    missing = ", ".join(n for n in CONTRACT if n != "loglik")
    with pytest.raises(TypeError, match=f"broken_formulas does not provide .*missing {missing}"):
        type("Broken", (clvlab.PurchaseModel,), {"name": "broken", "formulas": broken})
    # refused before it was registered anywhere
    assert "broken" not in clvlab.purchase_models()
    no_params = types.ModuleType("no_params")
    for fn in CONTRACT:
        setattr(no_params, fn, lambda *a, **k: 0.0)
    with pytest.raises(TypeError, match="missing PARAMS"):
        check_contract(no_params)


def test_every_model_refuses_bad_input_alike(
    model: clvlab.PurchaseModel, rfm: pd.DataFrame, case: Case
) -> None:
    cls = type(model)
    before = rfm.copy()
    with pytest.raises(clvlab.NotFittedError, match=r"not fitted yet; call fit\(rfm\) first"):
        cls().expected_purchases(rfm, 1.0)
    for bad, message in ((-1.0, "t must be zero or positive"), (np.nan, "t must be (a )?finite")):
        with pytest.raises(clvlab.ArgumentError, match=message):
            model.expected_purchases(rfm, bad)
        with pytest.raises(clvlab.ArgumentError, match=message):
            model.probability_alive(rfm, bad)
        with pytest.raises(clvlab.ArgumentError, match=message):
            model.expected_purchases_new_customer(bad)
    for n in (-1, 1.5):
        with pytest.raises(clvlab.ArgumentError, match=r"n must be an integer >= 0"):
            model.probability_of_purchases(rfm, 1.0, n)  # type: ignore[arg-type]
    days = rfm.copy()
    days.attrs = {"clvlab": {**rfm.attrs["clvlab"], "time_unit": "D"}}
    with pytest.raises(
        clvlab.UnitMismatchError,
        match=rf"the {re.escape(model.display_name)} model was fitted on an RFM table in "
        rf"{case.unit_name} \('{case.unit}'\), but this RFM table is in days \('D'\).*"
        r"refit the model",
    ):
        model.expected_purchases(days, 1.0)
    broken = rfm.copy()
    broken.iloc[0, broken.columns.get_loc("recency")] = 99.0
    with pytest.raises(clvlab.DataValidationError, match=r"column 'recency': exceeds T \(1 row"):
        model.probability_alive(broken)
    with pytest.raises(clvlab.DataValidationError, match=r"column 'recency': exceeds T \(1 row"):
        cls().fit(broken, progress=False)
    with pytest.raises(clvlab.ArgumentError, match=r"not a parameter of .*its parameters are"):
        cls(priors={"nope": clvlab.Prior("HalfNormal", sigma=1.0)})
    pd.testing.assert_frame_equal(rfm, before)


# ---- formulas: backends, simulator, factorisation ------------------------------------------
def _random_rows(
    seed: int, n: int = 300, which: str = "continuous"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random histories plus edge rows: x = 0, t_x = T, a tiny T and x = 10,000; for
    ``which="discrete"`` whole opportunities ``x <= t_x <= n`` (n up to 1,000)."""
    rng = np.random.default_rng(seed)
    if which == "contractual":  # consecutive renewals: t_x = x <= n
        big_n = np.r_[6.0, 6.0, 1.0, 1_000.0, rng.integers(1, 60, n)].astype(float)
        x = np.r_[0.0, 6.0, 1.0, 999.0, np.floor(rng.uniform(0, 1, n) * (big_n[4:] + 1))]
        return x, x.copy(), big_n
    if which == "discrete":
        big_n = np.r_[6.0, 6.0, 1.0, 1_000.0, rng.integers(1, 60, n)].astype(float)
        t_x = np.r_[0.0, 6.0, 1.0, 999.0, np.floor(rng.uniform(0, 1, n) * (big_n[4:] + 1))]
        x = np.r_[0.0, 6.0, 1.0, 500.0, np.floor(rng.uniform(0, 1, n) * (t_x[4:] + 1))]
        x = np.where(t_x > 0, np.maximum(x, 1.0), 0.0)
        return x, t_x, big_n
    x = np.r_[0.0, 3.0, 1.0, 10_000.0, rng.integers(0, 60, n)].astype(float)
    T = np.r_[39.0, 20.0, 1e-4, 50.0, rng.uniform(0.5, 80.0, n)]
    share = np.r_[0.0, 1.0, 0.5, 0.9, rng.uniform(0.0, 1.0, n)]
    return x, np.where(x > 0, T * share, 0.0), T


def _parameter_sets(model: clvlab.PurchaseModel) -> list[dict[str, float]]:
    """The fitted point estimate and a far-away point (every parameter x3 or /3)."""
    point = family.formula_params(model)
    far = {k: v * (3.0 if i % 2 else 1 / 3) for i, (k, v) in enumerate(point.items())}
    return [point, far]


def test_loglik_agrees_across_numpy_pytensor_and_autograd(model: clvlab.PurchaseModel) -> None:
    import pytensor
    import pytensor.tensor as pt
    from autograd import grad

    from clvlab.formulas._ops import autograd_ops, pytensor_ops, pytensor_ops_gathering

    f = model.formulas
    cols = [pt.dvector(n) for n in ("x", "t_x", "T")]
    theta = [pt.dscalar(n) for n in f.PARAMS]
    ll = f.loglik(pytensor_ops, *cols, *theta)
    fn = pytensor.function(
        [*cols, *theta], [ll, *pytensor.grad(ll.sum(), theta)], mode="FAST_COMPILE"
    )
    x, t_x, T = _random_rows(0, which=family.kind(model.name))
    # the PyMC likelihood's backend: per-value terms gathered over distinct data values
    gather_ops, tensors = pytensor_ops_gathering({"x": x, "t_x": t_x, "T": T})
    gathered = pytensor.function(
        theta,
        type(model).loglik(gather_ops, tensors, dict(zip(f.PARAMS, theta, strict=True))),
        mode="FAST_COMPILE",
    )
    ag = autograd_ops()
    for params in _parameter_sets(model):
        values = list(params.values())
        ours = np.asarray(f.loglik(numpy_ops, x, t_x, T, **params))
        assert np.isfinite(ours).all()
        value, *gradient = fn(x, t_x, T, *values)
        np.testing.assert_allclose(value, ours, rtol=1e-11)
        np.testing.assert_allclose(gathered(*values), ours, rtol=1e-11)
        # the MLE's Hessian differentiates the autograd backend: same values, same gradient
        ag_total = lambda th: f.loglik(ag, x, t_x, T, *th).sum()  # noqa: E731
        np.testing.assert_allclose(ag_total(np.array(values)), ours.sum(), rtol=1e-12)
        np.testing.assert_allclose(grad(ag_total)(np.array(values)), gradient, rtol=1e-8)
        # and both against central differences of the NumPy total (relative step 1e-6:
        # truncation ~1e-12, rounding ~1e-16 x |total| / 1e-6 relative to the gradient)
        total = lambda v: float(np.sum(f.loglik(numpy_ops, x, t_x, T, *v)))  # noqa: E731
        for i, v in enumerate(values):
            h = 1e-6 * v
            up, down = list(values), list(values)
            up[i], down[i] = v + h, v - h
            fd = (total(up) - total(down)) / (2 * h)
            assert gradient[i] == pytest.approx(fd, rel=2e-5, abs=1e-6 * abs(ours.sum()) / v)


def _within_monte_carlo_error(mean: np.ndarray, expected: np.ndarray, se: np.ndarray) -> None:
    """Each simulated mean within 4.5 Monte Carlo standard errors of its expectation
    (two-sided p = 7e-6 per comparison, seeded); exactly equal where nothing is random
    (a cancelled contract renews 0 times: se = 0)."""
    certain = se == 0
    np.testing.assert_allclose(mean[certain], expected[certain], atol=1e-12)
    np.testing.assert_array_less(np.abs(mean - expected)[~certain], 4.5 * se[~certain])


def test_simulator_mean_matches_conditional_expectation(
    model: clvlab.PurchaseModel, case: Case
) -> None:
    f = model.formulas
    params = family.formula_params(model)
    x, t_x, T = family.histories(family.kind(model.name))
    n = 40_000
    draws = {k: np.full((n, 1), v) for k, v in params.items()}
    counts = f.simulate_counts(np.random.default_rng(20240613), 39.0, x, t_x, T, draws)
    assert counts.shape == (n, len(x)) and np.all(counts >= 0)
    assert np.all(counts == np.round(counts))  # counts of purchases
    expected = f.conditional_expected_purchases(numpy_ops, 39.0, x, t_x, T, **params)
    # 4.5 Monte Carlo standard errors: two-sided p = 7e-6 per comparison (seeded)
    se = counts.std(axis=0, ddof=1) / np.sqrt(n)
    _within_monte_carlo_error(counts.mean(axis=0), expected, se)
    # the closed-form PMF against the simulated frequencies of 0 and 1 purchases
    for k in (0, 1):
        p = f.conditional_probability_of_purchases(numpy_ops, 39.0, k, x, t_x, T, **params)
        se_p = np.sqrt(p * (1 - p) / n)
        np.testing.assert_array_less(np.abs((counts == k).mean(axis=0) - p), 4.5 * se_p + 1e-12)
    # period ends: one path per customer, non-decreasing, each end with its expectation
    ends = np.array(case.ends)
    paths = f.simulate_counts(np.random.default_rng(7), ends, x, t_x, T, draws)
    assert paths.shape == (n, len(x), 3) and np.all(np.diff(paths, axis=-1) >= 0)
    for j, t in enumerate(ends):
        mean = f.conditional_expected_purchases(numpy_ops, t, x, t_x, T, **params)
        se = paths[..., j].std(axis=0, ddof=1) / np.sqrt(n)
        _within_monte_carlo_error(paths[..., j].mean(axis=0), mean, se)
    # the latent state: alive exactly when the second component (remaining purchases or
    # remaining lifetime) is positive, with the probability P(alive)
    _, remaining = f.draw_latent_state(np.random.default_rng(11), x, t_x, T, draws)
    alive = f.probability_alive(numpy_ops, x, t_x, T, **params)
    se_a = np.sqrt(alive * (1 - alive) / n)
    np.testing.assert_array_less(np.abs((remaining > 0).mean(axis=0) - alive), 4.5 * se_a + 1e-12)


def test_predictions_factor_through_the_alive_process(model: clvlab.PurchaseModel) -> None:
    # contract.py: E[Y(t) | history] = P(alive) E_alive[X(t); theta'(x, T)], and the PMF
    # is the mixture (1 - P(alive)) delta_0 + P(alive) P_alive(X(t) = n; theta')
    f = model.formulas
    x, t_x, T = family.histories(family.kind(model.name))
    for params in _parameter_sets(model):
        alive = f.probability_alive(numpy_ops, x, t_x, T, **params)
        theta = f.alive_parameters(x, T, **params)
        for t in (1.0, 39.0, 104.0):
            mean = f.conditional_expected_purchases(numpy_ops, t, x, t_x, T, **params)
            np.testing.assert_allclose(
                mean, alive * f.purchases_if_alive(numpy_ops, t, **theta), rtol=1e-10
            )
            if_alive = f.probability_of_purchases_if_alive_upto(numpy_ops, t, 5, **theta)
            for n in range(6):
                pmf = f.conditional_probability_of_purchases(numpy_ops, t, n, x, t_x, T, **params)
                mixture = alive * if_alive[..., n] + (1 - alive) * (n == 0)
                np.testing.assert_allclose(pmf, mixture, rtol=1e-9, atol=1e-15)
        # P(alive) t time units later: P(alive) itself at t = 0, then non-increasing
        later = [
            f.probability_alive_after(numpy_ops, t, x, t_x, T, **params)
            for t in (0.0, 1.0, 10.0, 52.0, 520.0)
        ]
        np.testing.assert_allclose(later[0], alive, rtol=1e-12)
        assert np.all(np.diff(np.stack(later), axis=0) <= 1e-15)
        # what CLV needs: sum_k d_k [N(t_k) - N(t_{k-1})] with N = purchases_if_alive
        ends, d = np.array([13.0, 39.0]), np.array([1.0, 0.5])
        n13, n39 = (f.purchases_if_alive(numpy_ops, t, **theta) for t in ends)
        hand = n13 + 0.5 * (n39 - n13)
        discounted = f.discounted_purchases_if_alive(x, T, params, ends, d)
        np.testing.assert_allclose(discounted, hand, rtol=1e-10)
        # per draw (rows) and pair (columns) when the parameters are (n_draws, 1) arrays
        per_draw = {k: np.full((3, 1), v) for k, v in params.items()}
        rows = f.discounted_purchases_if_alive(x, T, per_draw, ends, d)
        np.testing.assert_allclose(rows, np.broadcast_to(hand, (3, len(x))), rtol=1e-10)


def test_new_customer_forms_are_a_customer_observed_for_no_time(
    model: clvlab.PurchaseModel,
) -> None:
    f = model.formulas
    ts = np.array([0.0, 1.0, 10.0, 39.0, 104.0])
    for params in _parameter_sets(model):
        mean = f.expected_purchases_new(numpy_ops, ts, **params)
        pmf = f.probability_of_purchases_new_upto(numpy_ops, ts, 600, **params)
        assert mean[0] == 0.0 and np.all(np.diff(mean) > 0)
        np.testing.assert_array_equal(pmf[0, :3], [1.0, 0.0, 0.0])  # no time, no purchase
        np.testing.assert_allclose(pmf.sum(axis=-1), 1.0, atol=1e-6)
        np.testing.assert_allclose(pmf @ np.arange(601), mean, rtol=1e-5)
        # x = 0 and T -> 0: the history says nothing, so the conditional forms are the
        # new-customer forms
        tiny = 1e-12
        cond = f.conditional_expected_purchases(numpy_ops, ts[1:], 0.0, 0.0, tiny, **params)
        np.testing.assert_allclose(cond, mean[1:], rtol=1e-9)
        for n in range(4):
            p = f.conditional_probability_of_purchases(
                numpy_ops, ts[1:], n, 0.0, 0.0, tiny, **params
            )
            np.testing.assert_allclose(p, pmf[1:, n], rtol=1e-8, atol=1e-14)


def test_conditional_pmf_sums_to_one_with_the_expectation_as_mean(
    model: clvlab.PurchaseModel,
) -> None:
    f = model.formulas
    x, t_x, T = family.histories(family.kind(model.name))
    params = family.formula_params(model)
    n_max = 400  # the heaviest history expects about 60 purchases: the tail is negligible
    pmf = np.stack(
        [
            f.conditional_probability_of_purchases(numpy_ops, 39.0, n, x, t_x, T, **params)
            for n in range(n_max + 1)
        ],
        axis=-1,
    )
    assert np.all((pmf >= 0) & (pmf <= 1))
    np.testing.assert_allclose(pmf.sum(axis=-1), 1.0, atol=1e-8)
    mean = f.conditional_expected_purchases(numpy_ops, 39.0, x, t_x, T, **params)
    np.testing.assert_allclose(pmf @ np.arange(n_max + 1), mean, rtol=1e-7)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40)
@given(
    x=st.integers(0, 10_000),
    T=st.floats(1e-6, 1e6),
    share=st.floats(0.0, 1.0),
    t=st.floats(1e-6, 1e4),
    n=st.integers(0, 30),
    data=st.data(),
)
def test_finite_predictions_at_extremes(
    name: str,
    fits: dict[str, Any],
    x: int,
    T: float,
    share: float,
    t: float,
    n: int,
    data: st.DataObject,
) -> None:
    model = fits[name]
    f = model.formulas
    shifts = data.draw(st.lists(st.floats(-2, 2), min_size=len(f.PARAMS), max_size=len(f.PARAMS)))
    # parameters up to a factor 100 either way of the CDNOW fit
    params = {
        k: v * 10.0**s
        for (k, v), s in zip(family.formula_params(model).items(), shifts, strict=True)
    }
    t_x = 0.0 if x == 0 else T * share
    if family.kind(name) != "continuous":
        # whole opportunities, n up to 1,000 (issue 16), x <= t_x <= n
        T = float(min(max(round(T), 1), 1_000))
        t_x = 0.0 if x == 0 else float(min(max(round(T * share), 1), T))
        x = int(min(x, t_x))
        t_x = 0.0 if x == 0 else t_x
        t = float(round(t))
    if family.kind(name) == "contractual":
        t_x = float(x)  # consecutive renewals
    xa, t_xa, Ta = (np.array([v], dtype=float) for v in (x, t_x, T))
    assert np.isfinite(f.loglik(numpy_ops, xa, t_xa, Ta, **params)).all()
    alive = f.probability_alive(numpy_ops, xa, t_xa, Ta, **params)
    later = f.probability_alive_after(numpy_ops, t, xa, t_xa, Ta, **params)
    assert np.all((alive >= 0) & (alive <= 1)) and np.all((later >= 0) & (later <= alive + 1e-12))
    mean = f.conditional_expected_purchases(numpy_ops, t, xa, t_xa, Ta, **params)
    assert np.all(np.isfinite(mean)) and np.all(mean >= 0)
    pmf = f.conditional_probability_of_purchases(numpy_ops, t, n, xa, t_xa, Ta, **params)
    assert np.all(np.isfinite(pmf)) and np.all((pmf >= -1e-12) & (pmf <= 1 + 1e-12))


def _extreme_rfm(which: str = "continuous") -> pd.DataFrame:
    """Hostile but valid histories, in weeks: tiny and huge T, x up to 10,000; for
    ``which="discrete"``, whole opportunities with n up to 1,000 (issue 16), and for
    ``"contractual"`` consecutive renewals (``recency = frequency``)."""
    if which == "contractual":
        rows = [(0, 0, 1), (0, 0, 1_000), (1, 1, 1_000), (1_000, 1_000, 1_000)]
        rows += [(999, 999, 1_000), (500, 500, 1_000), (30, 30, 31), (1, 1, 1)]
        return pd.DataFrame(rows, columns=["frequency", "recency", "T"]).rename(
            index=lambda i: f"c{i}"
        )
    if which == "discrete":
        rows = [(0, 0, 1), (0, 0, 1_000), (1, 1, 1_000), (1_000, 1_000, 1_000)]
        rows += [(1, 1_000, 1_000), (500, 999, 1_000), (26, 30, 31), (1, 1, 1)]
        return pd.DataFrame(rows, columns=["frequency", "recency", "T"]).rename(
            index=lambda i: f"c{i}"
        )
    rows = [
        (0, 0.0, 1e-6),
        (0, 0.0, 1e6),
        (1, 1e-6, 1e6),
        (10_000, 1e6, 1e6),
        (10_000, 1.0, 1e6),
        (10_000, 1e-3, 1e-3),
        (5_000, 0.5, 1.0),
        (26, 30.86, 31.0),
    ]
    table = pd.DataFrame(rows, columns=["frequency", "recency", "T"])
    return table.rename(index=lambda i: f"c{i}")


def test_public_predictions_are_finite_and_in_range_at_extremes(
    model: clvlab.PurchaseModel, case: Case
) -> None:
    table = _extreme_rfm(family.kind(model.name))
    before = table.copy()
    ep = model.expected_purchases(table, 52.0, predictive=True, seed=1, time_unit=case.unit)
    assert _finite(ep) and _ordered(ep) and (ep["estimate"] >= 0).all()
    assert (ep["pred_lower"] <= ep["pred_upper"]).all() and (ep["pred_lower"] >= 0).all()
    for t in (0.0, 52.0):
        pa = model.probability_alive(table, t, time_unit=case.unit)
        assert _finite(pa) and _ordered(pa)
        assert ((pa[["lower", "upper"]] >= 0) & (pa[["lower", "upper"]] <= 1)).all().all()
    # n up to 1,000: Pareto/NBD's P(Y = n) costs O(n) per draw (n = 10,000 takes ~17 s)
    for n in (0, 3, 1_000):
        pp = model.probability_of_purchases(table, 52.0, n, time_unit=case.unit)
        assert _finite(pp) and _ordered(pp)
        assert ((pp[["lower", "upper"]] >= 0) & (pp[["lower", "upper"]] <= 1)).all().all()
    pd.testing.assert_frame_equal(table, before)  # the caller's table is untouched


# ---- folded against unfolded -------------------------------------------------------------
def test_folded_loglik_is_the_sum_over_customers(
    model: clvlab.PurchaseModel, rfm: pd.DataFrame, case: Case
) -> None:
    per_customer = family.loglik_per_customer(model, rfm)
    assert model.n_customers_ == case.n_customers and model.n_rows_ < case.n_customers
    assert model.log_likelihood_ == pytest.approx(per_customer.sum(), rel=1e-12)
    # per draw: the folded rows mapped back to customers are each customer's own value
    data = model.prepare(rfm)
    rows = model.loglik_pointwise(rfm)
    assert rows.shape[-1] == len(data) == model.n_rows_
    first = {n: float(model.draws_[n].to_numpy()[0, 0]) for n in model.param_names}
    x, t_x, T = family.columns(rfm)
    direct = model.formulas.loglik(numpy_ops, x, t_x, T, **first)
    np.testing.assert_allclose(rows[0, 0][data.folded.inverse], direct, rtol=1e-12)  # type: ignore[union-attr]


@pytest.mark.parametrize("name", NAMES)
def test_fit_does_not_depend_on_row_order_or_duplication(
    name: str, fits: dict[str, Any], cases: dict[str, Case]
) -> None:
    case = cases[family.kind(name)]
    rfm = case.rfm
    base = fits[name]
    estimate = base.params_["estimate"]
    model = clvlab.purchase_models()[name]()
    shuffled = rfm.sample(frac=1.0, random_state=5)
    # the folded rows are the same rows, in the same order, with the same weights
    data, again_data = model.prepare(rfm), model.prepare(shuffled)
    for column in data.columns:
        np.testing.assert_array_equal(again_data.columns[column], data.columns[column])
    np.testing.assert_array_equal(again_data.weights, data.weights)
    again = family.fit_mle(name, shuffled)
    assert again.n_rows_ == base.n_rows_
    # rtol 1e-5, not 0: the Pareto/NBD optimiser starts at a random point (see
    # test_mle_is_reproducible); the others agree exactly
    np.testing.assert_allclose(again.params_["estimate"], estimate, rtol=1e-5)
    assert again.log_likelihood_ == pytest.approx(base.log_likelihood_, rel=1e-10)
    # every customer twice (new ids): the same folded rows with twice the weight; the
    # maximiser of 2 x loglik is the maximiser of loglik (to the optimiser's tolerance)
    copy = rfm.rename(index=lambda i: f"{i}-copy")
    doubled = pd.concat([rfm.rename(index=str), copy])
    doubled.attrs = rfm.attrs
    np.testing.assert_array_equal(model.prepare(doubled).weights, 2 * data.weights)
    twice = family.fit_mle(name, doubled)
    assert twice.n_customers_ == 2 * case.n_customers and twice.n_rows_ == base.n_rows_
    np.testing.assert_allclose(twice.params_["estimate"], estimate, rtol=1e-4)
    assert twice.log_likelihood_ == pytest.approx(2 * base.log_likelihood_, rel=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_mle_is_reproducible(name: str, cases: dict[str, Case]) -> None:
    rfm = cases[family.kind(name)].rfm
    first = family.fit_mle(name, rfm)
    saved = np.random.get_state()  # noqa: NPY002 (the global generator is the subject)
    try:
        np.random.seed(12345)  # noqa: NPY002
        state = np.random.get_state()[1].copy()  # type: ignore[index]  # noqa: NPY002
        second = family.fit_mle(name, rfm)
        after = np.random.get_state()[1]  # type: ignore[index]  # noqa: NPY002
    finally:
        np.random.set_state(saved)  # noqa: NPY002
    pd.testing.assert_frame_equal(second.params_, first.params_)
    # and the caller's global random state is left alone
    np.testing.assert_array_equal(after, state)


@pytest.mark.parametrize("name", NAMES)
def test_initial_params_at_the_estimate_return_the_estimate(
    name: str, fits: dict[str, Any], cases: dict[str, Case]
) -> None:
    rfm = cases[family.kind(name)].rfm
    estimate = fits[name].point_params()
    again = family.fit_mle(name, rfm, initial_params=estimate)
    np.testing.assert_allclose(again.params_["estimate"], fits[name].params_["estimate"], rtol=1e-4)


# ---- every public prediction ---------------------------------------------------------------
def test_expected_purchases_with_predictive_intervals(
    model: clvlab.PurchaseModel, rfm: pd.DataFrame, case: Case
) -> None:
    before = rfm.copy()
    t = case.t
    ep = model.expected_purchases(rfm, t, predictive=True, seed=1)
    assert list(ep.columns) == ["estimate", "sd", "lower", "upper", "pred_lower", "pred_upper"]
    assert ep.index.equals(rfm.index) and _finite(ep) and _ordered(ep)
    assert (ep["lower"] >= 0).all() and (ep["sd"] >= 0).all()
    # the realised count's interval holds the interval of its expectation (summary.py:
    # the predictive bounds are widened to include it)
    assert (ep["pred_lower"] >= 0).all()
    assert (ep["pred_lower"] <= ep["lower"]).all() and (ep["upper"] <= ep["pred_upper"]).all()
    meta = ep.attrs["clvlab"]
    # an MLE estimate is the plug-in formula at the estimate
    x, t_x, T = family.columns(rfm)
    params = family.formula_params(model)
    plug_in = model.formulas.conditional_expected_purchases(numpy_ops, t, x, t_x, T, **params)
    np.testing.assert_allclose(ep["estimate"], plug_in, rtol=1e-10)
    assert meta["model"] == model.name and meta["time_unit"] == case.unit and meta["t"] == t
    assert meta["total"]["estimate"] == pytest.approx(ep["estimate"].sum(), rel=1e-12)
    # seeded: the same table again; t = 0: nothing to buy
    pd.testing.assert_frame_equal(model.expected_purchases(rfm, t, predictive=True, seed=1), ep)
    zero = model.expected_purchases(rfm, 0.0)
    assert (zero[["estimate", "lower", "upper"]] == 0).all().all()
    pd.testing.assert_frame_equal(rfm, before)


# Bug (src/clvlab/inference/draws.py, interval, as used by predict/summary.py for the
# predictive bounds): the equal-tailed interval is np.quantile's linear interpolation, so
# the predictive interval of a purchase *count* ends between two whole numbers. CDNOW
# sample, MLE fits, expected_purchases(rfm, 39, predictive=True, seed=1): BG/NBD gives
# customer 6 (x = 7) pred_upper 11.05 purchases (191 such customers), MBG/NBD customer 9
# 4.05 (301), Pareto/NBD customer 157 (x = 29) pred_lower 2.95. Expected: whole purchases
# (a discrete quantile, e.g. np.quantile(..., method="inverted_cdf"), for counts).
@pytest.mark.parametrize("name", NAMES)
def test_predictive_interval_of_a_count_is_in_whole_purchases(
    name: str, fits: dict[str, Any], cases: dict[str, Case]
) -> None:
    case = cases[family.kind(name)]
    ep = fits[name].expected_purchases(case.rfm, case.t, predictive=True, seed=1)
    # whole numbers, except where widened to the interval of the expectation
    for side, widened in (("pred_lower", "lower"), ("pred_upper", "upper")):
        bound = ep[side]
        assert ((bound == bound.round()) | (bound == ep[widened])).all(), side


def test_probability_alive_now_and_later(model: clvlab.PurchaseModel, rfm: pd.DataFrame) -> None:
    now = model.probability_alive(rfm)
    pd.testing.assert_frame_equal(model.probability_alive(rfm, 0.0), now)
    later = model.probability_alive(rfm, 52.0)
    x, t_x, T = family.columns(rfm)
    params = family.formula_params(model)
    for frame in (now, later):
        assert _finite(frame) and _ordered(frame) and frame.index.equals(rfm.index)
        assert ((frame[["lower", "upper"]] >= 0) & (frame[["lower", "upper"]] <= 1)).all().all()
    np.testing.assert_allclose(
        now["estimate"],
        model.formulas.probability_alive(numpy_ops, x, t_x, T, **params),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        later["estimate"],
        model.formulas.probability_alive_after(numpy_ops, 52.0, x, t_x, T, **params),
        rtol=1e-10,
    )
    assert (later["estimate"] <= now["estimate"] + 1e-12).all()
    assert later.attrs["clvlab"]["t"] == 52.0


def test_probability_of_purchases_is_a_distribution(
    model: clvlab.PurchaseModel, rfm: pd.DataFrame, case: Case
) -> None:
    # customers with at most 3 calibration purchases expect at most ~4 in 39 weeks:
    # n = 0..30 carries all but ~1e-8 of the probability and ~1e-6 of the mean (n = 0..30
    # only: Pareto/NBD's P(Y = n) costs O(n))
    some = rfm[rfm["frequency"] <= 3].iloc[::60]
    frames = [model.probability_of_purchases(some, case.t, n) for n in range(31)]
    for frame in frames[:4]:
        assert _finite(frame) and _ordered(frame)
        assert ((frame[["lower", "upper"]] >= 0) & (frame[["lower", "upper"]] <= 1)).all().all()
    estimates = np.stack([f["estimate"].to_numpy() for f in frames], axis=-1)
    np.testing.assert_allclose(estimates.sum(axis=-1), 1.0, atol=1e-8)
    mean = model.expected_purchases(some, case.t)["estimate"].to_numpy()
    np.testing.assert_allclose(estimates @ np.arange(31), mean, rtol=2e-6)
    x, t_x, T = family.columns(some)
    params = family.formula_params(model)
    hand = model.formulas.conditional_probability_of_purchases(
        numpy_ops, case.t, 2, x, t_x, T, **params
    )
    np.testing.assert_allclose(frames[2]["estimate"], hand, rtol=1e-10)
    assert frames[2].attrs["clvlab"]["n"] == 2


def test_expected_purchases_of_a_new_customer(model: clvlab.PurchaseModel, case: Case) -> None:
    ts = np.array([0.0, 1.0, 10.0, 39.0, 52.0, 104.0])
    frame = model.expected_purchases_new_customer(ts)
    assert list(frame.index) == list(ts) and _finite(frame) and _ordered(frame)
    assert frame["estimate"].iloc[0] == 0.0 and np.all(np.diff(frame["estimate"]) > 0)
    hand = model.formulas.expected_purchases_new(numpy_ops, ts, **family.formula_params(model))
    np.testing.assert_allclose(frame["estimate"], hand, rtol=1e-12)
    assert frame.attrs["clvlab"]["time_unit"] == case.unit


def test_clv_with_gamma_gamma(
    model: clvlab.PurchaseModel, spend: clvlab.GammaGamma, rfm: pd.DataFrame, case: Case
) -> None:
    short = case.clv  # 6 months, or 3 yearly opportunities
    six = clvlab.clv(model, spend, rfm, **short, seed=1)
    assert _finite(six) and _ordered(six) and (six["lower"] >= 0).all()
    meta = six.attrs["clvlab"]
    assert meta["model"] == f"{model.name}+gamma_gamma"
    assert meta["total"]["estimate"] == pytest.approx(six["estimate"].sum(), rel=1e-12)
    # no discount: CLV is expected purchases times expected spend (plug-in at the MLE),
    # over 6 months = 26.09 weeks (hand: 6 x 365.25 / 12 / 7)
    purchases = model.expected_purchases(rfm, case.t_clv)["estimate"]
    value = spend.expected_spend(rfm)["estimate"]
    np.testing.assert_allclose(six["estimate"], purchases * value, rtol=1e-9)
    # margin scales, discounting and a shorter horizon lower the value
    half = clvlab.clv(model, spend, rfm, **short, margin=0.5, seed=1)
    np.testing.assert_allclose(half["estimate"], 0.5 * six["estimate"], rtol=1e-12)
    discounted = clvlab.clv(model, spend, rfm, **short, discount_rate=0.01, seed=1)
    assert (discounted["estimate"] <= six["estimate"] * (1 + 1e-12)).all()
    longer = {**short, "horizon": 2 * short["horizon"]}
    year = clvlab.clv(model, spend, rfm, **longer, seed=1)
    assert (year["estimate"] >= six["estimate"]).all()
    predictive = clvlab.clv(model, spend, rfm, **short, predictive=True, seed=1)
    assert {"pred_lower", "pred_upper"} <= set(predictive.columns) and _finite(predictive)
    assert (predictive["pred_lower"] >= 0).all()
    assert (predictive["pred_lower"] <= predictive["pred_upper"]).all()


def test_predict_customers_table(
    model: clvlab.PurchaseModel, spend: clvlab.GammaGamma, rfm: pd.DataFrame, case: Case
) -> None:
    pc = clvlab.predict_customers(
        model, spend, rfm, **case.year, seed=1, run_id=f"family-{model.name}"
    )
    table = pc.table
    assert list(table.columns) == [
        *(f"{m}_{b}" for m in METRICS for b in ("estimate", "lower", "upper")),
        "historic_clv",
        "simple_clv",
    ]
    assert len(table) == case.n_customers and _finite(table)
    for metric in METRICS:
        assert _ordered(table, f"{metric}_")
    assert pc.run["purchase_model"] == model.name and pc.run["customers"] == case.n_customers
    assert pc.run["method"] == "mle" and pc.run["time_unit"] == case.unit
    assert pc.run["total_clv_estimate"] == pytest.approx(table["clv_estimate"].sum(), rel=1e-9)
    np.testing.assert_allclose(
        table["probability_alive_estimate"], model.probability_alive(rfm)["estimate"], rtol=1e-12
    )
    # 12 months = 52.18 weeks (hand: 365.25 / 7), or 5 yearly opportunities
    purchases = model.expected_purchases(rfm, case.t_year)["estimate"]
    np.testing.assert_allclose(table["expected_purchases_estimate"], purchases, rtol=1e-10)
    own = pc.parameters[pc.parameters["model"] == model.name]
    assert list(own["parameter"]) == list(model.param_names)
    np.testing.assert_allclose(own["estimate"], model.params_["estimate"], rtol=1e-15)


def test_evaluate_with_transactions_and_spend(
    model: clvlab.PurchaseModel,
    spend: clvlab.GammaGamma,
    rfm: pd.DataFrame,
    case: Case,
) -> None:
    log = case.log if case.tracking else None
    ev = clvlab.evaluate(model, rfm, spend_model=spend, transactions=log, max_draws=100)
    assert ev.model == model.name and ev.method == "mle"
    assert all(np.isfinite(v) for v in ev.metrics.values())
    assert ev.metrics["actual_total"] == case.holdout_purchases
    predicted = model.expected_purchases(rfm, case.t)["estimate"]
    assert ev.metrics["predicted_total"] == pytest.approx(predicted.sum(), rel=1e-10)
    table = ev.by_frequency
    group = np.minimum(rfm["frequency"].to_numpy(), 7)
    assert list(table.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table["customers"].sum() == case.n_customers
    # the actual column is the data's mean holdout purchases by calibration frequency
    actual = rfm["frequency_holdout"].groupby(group).mean()
    shown = table.iloc[np.unique(group)]
    np.testing.assert_allclose(shown["actual"], actual.to_numpy(), rtol=1e-12)
    if case.tracking:  # the CDNOW sample: the BTYD walkthrough's numbers
        assert case.holdout_purchases == HOLDOUT_PURCHASES
        np.testing.assert_allclose(table["actual"], BTYD_ACTUAL, atol=6e-5)
    # the predicted column is the group mean of the customers' expected purchases
    by_hand = predicted.groupby(group).mean().to_numpy()
    np.testing.assert_allclose(shown["predicted"], by_hand, rtol=1e-10)
    lo, hi = table["predicted_lower"], table["predicted_upper"]
    assert (lo <= table["predicted"]).all() and (table["predicted"] <= hi).all()
    # by calibration recency: whole opportunities in discrete time, else 8 bins of [0, T]
    by_recency = ev.by_recency
    assert by_recency is not None and by_recency["customers"].sum() == case.n_customers
    recency = rfm["recency"].to_numpy()
    if family.kind(model.name) != "continuous":
        r_groups = recency.astype(int)
        assert list(by_recency.index) == [str(v) for v in range(int(recency.max()) + 1)]
    else:
        edges = np.linspace(0.0, rfm["T"].max(), 9)
        r_groups = np.clip(np.searchsorted(edges, recency, side="right") - 1, 0, 7)
    shown_r = by_recency.iloc[np.unique(r_groups)]
    np.testing.assert_allclose(
        shown_r["actual"], rfm["frequency_holdout"].groupby(r_groups).mean().to_numpy()
    )
    np.testing.assert_allclose(
        shown_r["predicted"], predicted.groupby(r_groups).mean().to_numpy(), rtol=1e-10
    )
    r_lo, r_hi = by_recency["predicted_lower"], by_recency["predicted_upper"]
    assert (r_lo <= by_recency["predicted"] + 1e-12).all()
    assert (by_recency["predicted"] <= r_hi + 1e-12).all()
    cov = ev.coverage
    assert ((cov >= 0) & (cov <= 1)).all().all()
    assert (cov["randomised_pit_coverage"] <= cov["interval_coverage"] + 1e-12).all()
    assert {"spend_mae", "spend_rmse"} <= set(ev.metrics) and ev.spend
    if case.tracking:
        assert ev.tracking is not None and len(ev.tracking) == 78
    html = ev._repr_html_()
    assert model.name in html or model.display_name in html


def test_tracking(model: clvlab.PurchaseModel, rfm: pd.DataFrame, case: Case) -> None:
    if not case.tracking:
        # not yet for opportunities: refused, naming what it needs
        with pytest.raises(clvlab.ClvlabError, match=r"tracking needs .*day resolution"):
            clvlab.tracking(model, rfm, case.log, max_draws=100)
        return
    track = clvlab.tracking(model, rfm, case.log, max_draws=100)
    # 78 weekly periods from 1997-01-01 to 1998-06-30, 39 of them in the holdout (data)
    assert len(track) == 78 and int(track["holdout"].sum()) == 39
    at_cal_end = track.loc[~track["holdout"], "cumulative_actual"].iloc[-1]
    assert at_cal_end == rfm["frequency"].sum()
    assert track["cumulative_actual"].iloc[-1] - at_cal_end == HOLDOUT_PURCHASES
    # at the calibration end every customer's age is its T: the cohort expects
    # sum_i E[X(T_i)] (FHL 2005 eq. 9), customer by customer
    per_customer = model.expected_purchases_new_customer(rfm["T"].to_numpy())
    expected_end = track.loc[~track["holdout"], "cumulative_expected"].iloc[-1]
    assert expected_end == pytest.approx(per_customer["estimate"].sum(), rel=1e-10)
    np.testing.assert_allclose(track["expected"].cumsum(), track["cumulative_expected"], rtol=1e-12)
    numbers = track.drop(columns=["start", "end", "holdout"])
    assert _finite(numbers) and (numbers >= 0).all().all()
    for prefix in ("", "cumulative_"):
        lo, est, hi = (track[f"{prefix}expected{s}"] for s in ("_lower", "", "_upper"))
        assert (lo <= est).all() and (est <= hi).all()


def _same_kind(name: str) -> list[str]:
    """The registered models fitted on the same kind of data as ``name``."""
    return [n for n in NAMES if family.kind(n) == family.kind(name)]


@pytest.mark.parametrize("kind", sorted({family.kind(n) for n in NAMES}))
def test_compare_all_models_together(
    kind: str, fits: dict[str, Any], cases: dict[str, Case]
) -> None:
    # models of one data kind are compared on one table
    case = cases[kind]
    rfm = case.rfm
    names = [n for n in NAMES if family.kind(n) == kind]
    models = [fits[n] for n in names]
    table = clvlab.compare(models, rfm, names=names)
    baselines = {"baseline: run rate", "baseline: population mean", "baseline: simple formula"}
    assert set(table.index) == set(names) | baselines
    assert sorted(table["rank"]) == list(range(1, len(names) + 4))
    assert list(table["rank"]) == sorted(table["rank"])  # listed best first
    assert table["purchases_rmse"].is_monotonic_increasing  # ranked by purchases_rmse
    assert (table["actual_total"] == case.holdout_purchases).all()
    for name in names:
        predicted = fits[name].expected_purchases(rfm, case.t)["estimate"].sum()
        assert table.loc[name, "predicted_total"] == pytest.approx(predicted, rel=1e-10)
        assert np.isfinite(table.loc[name, "log_score"])
    # without names, each row is still told apart
    default = clvlab.compare(models, rfm)
    assert len(set(default.index)) == len(names) + 3


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_loo_of_a_bayesian_fit_equals_the_unfolded_loo(name: str, cases: dict[str, Case]) -> None:
    rfm = cases[family.kind(name)].rfm
    n_customers = cases[family.kind(name)].n_customers
    from clvlab._imports import import_quietly
    from clvlab.evaluate import loo

    az = import_quietly("arviz")
    model = family.fit_bayes(name, rfm)
    result = loo(model, rfm)
    assert np.isfinite(result["elpd_loo"]) and result["se"] > 0
    # folded PSIS-LOO is the unfolded one (ArviZ on one column per customer as the oracle)
    data = model.prepare(rfm)
    rows = model.loglik_pointwise(rfm)
    customers = rows[..., data.folded.inverse]  # type: ignore[union-attr]
    posterior = {n: model.draws_[n].to_numpy() for n in model.param_names}
    with warnings.catch_warnings(record=True) as caught:
        # ArviZ warns of high Pareto k on the short chain; loo() reports the same text
        warnings.simplefilter("always")
        idata = az.from_dict(posterior=posterior, log_likelihood={"loglik": customers})
        unfolded = az.loo(idata, pointwise=True)
    if any("Pareto" in str(w.message) for w in caught):
        assert result["warning"] is not None
    assert result["elpd_loo"] == pytest.approx(float(unfolded.elpd_loo), rel=1e-6)
    # p_loo = lppd - elpd_loo: about the number of parameters for thousands of customers
    n_draws = customers.shape[0] * customers.shape[1]
    lppd = np.sum(np.logaddexp.reduce(customers.reshape(n_draws, -1), axis=0) - np.log(n_draws))
    assert 0 < lppd - result["elpd_loo"] < 4 * len(model.param_names)
    assert 0 <= result["customers_k_above_0.7"] <= n_customers
    # evaluate reports it for a Bayesian fit
    ev = clvlab.evaluate(model, rfm, max_draws=50)
    assert ev.loo["elpd_loo"] == pytest.approx(result["elpd_loo"], rel=1e-12)


def test_frequency_check(model: clvlab.PurchaseModel, rfm: pd.DataFrame, case: Case) -> None:
    # the observed histogram is the data's: calibration frequencies 0..6 and 7+
    counts = np.bincount(np.minimum(rfm["frequency"].to_numpy(), 7), minlength=8)
    for kind in ("posterior", "prior"):
        check = clvlab.frequency_check(model, rfm, kind=kind, n_draws=60, seed=3)  # type: ignore[arg-type]
        assert list(check.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
        np.testing.assert_array_equal(check["observed"], counts)
        # every replicate simulates all the customers
        assert check["mean"].sum() == pytest.approx(case.n_customers, rel=1e-12)
        assert _finite(check) and (check["lower"] <= check["mean"]).all()
        assert (check["mean"] <= check["upper"]).all()
    posterior = clvlab.frequency_check(model, rfm, n_draws=60, seed=3)
    inside = (posterior["lower"] <= posterior["observed"]) & (
        posterior["observed"] <= posterior["upper"]
    )
    assert inside.sum() >= 5  # the fitted model reproduces most of its own histogram


@pytest.mark.parametrize("quantity", ["expected_purchases", "probability_alive"])
def test_frequency_recency_matrix(model: clvlab.PurchaseModel, quantity: str) -> None:
    matrix = clvlab.frequency_recency_matrix(
        model,
        quantity=quantity,  # type: ignore[arg-type]
        T=39.0,
        t=39.0,
        max_frequency=20,
        n_recency=20,
    )
    discrete = family.kind(model.name) != "continuous"
    # in opportunities: whole recencies 0, 3, ..., 39 (hand: steps of ceil(39 / 19) = 3)
    assert matrix.shape == ((21, 14) if discrete else (21, 20))
    values = matrix.to_numpy()
    freq = matrix.index.to_numpy(dtype=float)[:, None]
    rec = matrix.columns.to_numpy(dtype=float)[None, :]
    if discrete:
        np.testing.assert_array_equal(rec[0], np.arange(0.0, 40.0, 3.0))
    # impossible cells (x = 0 with recency > 0, x > 0 with recency 0; in discrete time
    # x > recency) are empty, the others finite
    impossible = ((freq == 0) & (rec > 0)) | ((freq > 0) & (rec == 0))
    if discrete:
        impossible = impossible | (freq > rec)
    if family.kind(model.name) == "contractual":
        impossible = impossible | (freq != rec)  # consecutive renewals
    assert np.isnan(values[impossible]).all() and np.isfinite(values[~impossible]).all()
    xx, rr = (v[~impossible] for v in np.broadcast_arrays(freq, rec))
    params = family.formula_params(model)
    f = model.formulas
    if quantity == "probability_alive":
        hand = f.probability_alive(numpy_ops, xx, rr, 39.0, **params)
        assert ((values[~impossible] >= 0) & (values[~impossible] <= 1)).all()
    else:
        hand = f.conditional_expected_purchases(numpy_ops, 39.0, xx, rr, 39.0, **params)
        assert (values[~impossible] >= 0).all()
    np.testing.assert_allclose(values[~impossible], hand, rtol=1e-10)


# ---- plots, display, export, save/load, CLI ------------------------------------------------
@pytest.fixture(scope="module")
def results(
    fits: dict[str, Any],
    spends: dict[str, clvlab.GammaGamma],
    cases: dict[str, Case],
) -> dict[str, dict[str, Any]]:
    """Per model, one result of every kind the plots draw, on data of its kind."""
    out: dict[str, dict[str, Any]] = {}
    for name in NAMES:
        model = fits[name]
        case, spend = cases[family.kind(name)], spends[family.kind(name)]
        rfm = case.rfm
        log = case.log if case.tracking else None
        same = _same_kind(name)
        out[name] = {
            "matrix": clvlab.frequency_recency_matrix(
                model, T=39, t=39, max_frequency=10, n_recency=10
            ),
            "evaluation": clvlab.evaluate(model, rfm, transactions=log, max_draws=50),
            "check": clvlab.frequency_check(model, rfm, n_draws=40, seed=3),
            "predictions": clvlab.predict_customers(model, spend, rfm, **case.year, seed=1),
            "comparison": clvlab.compare([fits[n] for n in same], rfm, names=same),
            # the decision tables of every purchase model (clvlab.decisions)
            "decisions": clvlab.decide(
                model, spend, rfm, **case.year, group_by="cohort", cac=30.0, seed=1
            ),
            "new_customer": clvlab.new_customer_value(model, spend, **case.year),
        }
    return out


PLOTS: dict[str, Callable[[clvlab.PurchaseModel, dict[str, Any]], Any]] = {
    "plot_calibration_holdout": lambda m, r: plots.plot_calibration_holdout(r["evaluation"]),
    "plot_clv_distribution": lambda m, r: plots.plot_clv_distribution(r["predictions"]),
    "plot_comparison": lambda m, r: plots.plot_comparison(r["comparison"]),
    "plot_frequency_check": lambda m, r: plots.plot_frequency_check(r["check"]),
    "plot_frequency_recency": lambda m, r: plots.plot_frequency_recency(r["matrix"]),
    "plot_parameters": lambda m, r: plots.plot_parameters(m),
    "plot_top_customers": lambda m, r: plots.plot_top_customers(r["predictions"], n=10),
    "plot_tracking": lambda m, r: plots.plot_tracking(r["evaluation"].tracking),
    "plot_forecast": lambda m, r: plots.plot_forecast(r["decisions"].forecast),
    "plot_segments": lambda m, r: plots.plot_segments(r["decisions"].segments),
    "plot_groups": lambda m, r: plots.plot_groups(r["decisions"].groups),
    "plot_acquisition": lambda m, r: plots.plot_acquisition(r["new_customer"], cac=30.0),
    # a contract's survival curve (ShiftedBetaGeo.survival_curve): contractual models only
    "plot_survival": lambda m, r: plots.plot_survival(m.survival_curve(12)),
}


def test_every_plot_is_in_the_family_suite() -> None:
    assert set(PLOTS) == set(plots.__all__)


@pytest.mark.parametrize("plot", sorted(PLOTS))
def test_every_plot_draws_every_model(
    model: clvlab.PurchaseModel, results: dict[str, dict[str, Any]], plot: str, case: Case
) -> None:
    if plot == "plot_tracking" and not case.tracking:
        assert results[model.name]["evaluation"].tracking is None  # tracking: day tables only
        return
    if plot == "plot_survival" and family.kind(model.name) != "contractual":
        assert not hasattr(model, "survival_curve")  # survival of contracts only
        return
    drawn = PLOTS[plot](model, results[model.name])
    axes = list(np.ravel(drawn)) if isinstance(drawn, np.ndarray) else [drawn]
    assert axes and all(isinstance(ax, Axes) for ax in axes)
    for ax in axes:
        assert ax.has_data() or ax.images


def test_plot_parameters_shows_each_parameter(model: clvlab.PurchaseModel) -> None:
    axes = plots.plot_parameters(model)
    assert [ax.get_xlabel() for ax in np.ravel(axes)] == list(model.param_names)
    for ax, name in zip(np.ravel(axes), model.param_names, strict=True):
        assert list(ax.lines[2].get_xdata()) == [model.params_.loc[name, "estimate"]]


def test_plot_frequency_recency_draws_the_model_matrix(
    model: clvlab.PurchaseModel, results: dict[str, dict[str, Any]]
) -> None:
    matrix = results[model.name]["matrix"]
    image = plots.plot_frequency_recency(matrix).images[0]
    drawn = np.ma.filled(np.ma.masked_invalid(image.get_array()).astype(float), np.nan)
    np.testing.assert_array_equal(drawn, matrix.to_numpy())


def test_html_display_names_the_model(
    model: clvlab.PurchaseModel, results: dict[str, dict[str, Any]]
) -> None:
    html = model._repr_html_()
    assert model.display_name in html and all(n in html for n in model.param_names)
    assert model.display_name in model.summary()
    predictions = results[model.name]["predictions"]._repr_html_()
    assert model.name in predictions


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_export_to_files_keeps_the_model_name(
    model: clvlab.PurchaseModel,
    results: dict[str, dict[str, Any]],
    tmp_path: Path,
    suffix: str,
    case: Case,
) -> None:
    pc = results[model.name]["predictions"]
    target = tmp_path / f"predictions.{suffix}"
    clvlab.export(pc, target, long=True)
    customers = clvlab.read_export(target)
    assert len(customers) == case.n_customers and set(customers["run_id"]) == {pc.run_id}
    ours = customers.set_index("customer_id")
    expected = pc.table.rename(index=str)
    for column in pc.table.columns:
        np.testing.assert_allclose(
            ours.loc[expected.index, column].to_numpy(dtype=float),
            expected[column].to_numpy(),
            rtol=1e-15,
        )
    runs = clvlab.read_export(target, "runs")
    assert runs["purchase_model"].tolist() == [model.name]
    assert runs["spend_model"].tolist() == ["gamma_gamma"] and runs["method"].tolist() == ["mle"]
    params = clvlab.read_export(target, "parameters")
    own = params[params["model"] == model.name]
    assert list(own["parameter"]) == list(model.param_names)
    np.testing.assert_allclose(own["estimate"], model.params_["estimate"], rtol=1e-15)
    long = clvlab.read_export(target, "long")
    assert len(long) == len(METRICS) * case.n_customers


def test_save_load_roundtrip_predicts_the_same(
    model: clvlab.PurchaseModel,
    spend: clvlab.GammaGamma,
    rfm: pd.DataFrame,
    tmp_path: Path,
    case: Case,
) -> None:
    path = tmp_path / f"{model.name}.nc"
    model.save(str(path))
    loaded = clvlab.load(str(path))
    assert type(loaded) is type(model)
    assert type(model).load(str(path)).params_.equals(model.params_)
    pd.testing.assert_frame_equal(loaded.params_, model.params_)
    for name in model.param_names:
        np.testing.assert_array_equal(loaded.draws_[name].to_numpy(), model.draws_[name].to_numpy())
    assert loaded.log_likelihood_ == model.log_likelihood_ and loaded.method_ == model.method_
    assert loaded.fit_info_ == model.fit_info_
    pd.testing.assert_frame_equal(
        loaded.expected_purchases(rfm, 39.0, predictive=True, seed=2),
        model.expected_purchases(rfm, 39.0, predictive=True, seed=2),
    )
    for t in (0.0, 52.0):
        pd.testing.assert_frame_equal(
            loaded.probability_alive(rfm, t), model.probability_alive(rfm, t)
        )
    pd.testing.assert_frame_equal(
        loaded.probability_of_purchases(rfm, 39.0, 1), model.probability_of_purchases(rfm, 39.0, 1)
    )
    pd.testing.assert_frame_equal(
        loaded.expected_purchases_new_customer([1.0, 39.0]),
        model.expected_purchases_new_customer([1.0, 39.0]),
    )
    pd.testing.assert_frame_equal(
        clvlab.clv(loaded, spend, rfm, **case.clv, seed=1),
        clvlab.clv(model, spend, rfm, **case.clv, seed=1),
    )
    # another model's class refuses the file, naming what it holds
    other = next(cls for n, cls in clvlab.purchase_models().items() if n != model.name)
    with pytest.raises(
        clvlab.ModelFileError, match=rf"holds a {model.display_name} model.*not a {other.__name__}"
    ):
        other.load(str(path))


@pytest.mark.parametrize("name", NAMES)
def test_cli_run_with_each_purchase_model(
    name: str,
    sample_csv: Path,
    cases: dict[str, Case],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "p.parquet"
    case = cases[family.kind(name)]
    if case.tracking:
        source, calibration, extra = sample_csv, "1997-09-30", ()
    else:
        # yearly opportunities: the table by opportunity_summary, a horizon in years
        source = tmp_path / "donations.csv"
        case.log.to_csv(source, index=False)
        calibration = "2001-12-31"
        extra = ("--time-unit", "Y", "--horizon", "5", "--horizon-unit", "Y")
        extra += ("--observation-end", "2006-12-31")
        if family.kind(name) == "contractual":
            # a transaction log does not record cancellations: refused, naming the tables
            # that do (payments 2000-2012, contracts_log)
            args = [
                *("run", str(source), "--customer-col", "customer_id", "--date-col", "date"),
                *("--amount-col", "spend", "--calibration-end", "2006-12-31", *extra[:6]),
                *("--observation-end", "2012-12-31", "--purchase-model", name),
                *("--no-progress", "--out", str(out)),
            ]
            assert main(args) == 2
            err = capsys.readouterr().err
            assert "noncontractual" in err and "subscription_summary" in err
            assert not out.exists()
            return
    args = [
        *("run", str(source), "--customer-col", "customer_id", "--date-col", "date"),
        *("--amount-col", "spend", "--calibration-end", calibration, *extra),
        *("--method", "mle", "--draws", "100", "--no-progress"),
        *("--purchase-model", name, "--out", str(out)),
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert clvlab.purchase_models()[name].display_name in printed
    runs = clvlab.read_export(out, "runs")
    assert runs["purchase_model"].tolist() == [name]
    customers = clvlab.read_export(out)
    assert len(customers) == case.n_customers
    numbers = customers[[f"{m}_{b}" for m in METRICS for b in ("estimate", "lower", "upper")]]
    assert _finite(numbers)
    assert (numbers.filter(like="probability_alive") <= 1).all().all()
    params = clvlab.read_export(out, "parameters")
    assert list(params.loc[params["model"] == name, "parameter"]) == list(
        clvlab.purchase_models()[name].param_names
    )


def test_decision_tables_of_every_model(
    model: clvlab.PurchaseModel, results: dict[str, dict[str, Any]], tmp_path: Any, case: Case
) -> None:
    decisions = results[model.name]["decisions"]
    predictions = results[model.name]["predictions"]
    total = predictions.run["total_clv_estimate"]  # case.year, no discount, margin 1
    # hand identities: group totals add up to the customers' CLV; the forecast's revenue
    # over the horizon is the undiscounted CLV total; tier probabilities sum to 1
    assert decisions.groups.groups["clv_total_estimate"].sum() == pytest.approx(total, rel=1e-9)
    assert decisions.forecast["revenue_estimate"].sum() == pytest.approx(total, rel=1e-9)
    tiers = decisions.segments.attrs["clvlab"]["tiers"]
    np.testing.assert_allclose(decisions.segments[[f"p_{t}" for t in tiers]].sum(axis=1), 1.0)
    assert 0.0 <= decisions.acquisition.loc["all", "p_value_exceeds_cac"] <= 1.0
    # and they export with the predictions, for every model
    predictions.decisions = decisions
    try:
        written = clvlab.export(predictions, f"sqlite:///{tmp_path / 'clv.db'}")
    finally:
        predictions.decisions = None
    assert {"segments", "groups", "forecast", "acquisition"} <= set(written)
    back = clvlab.read_export(f"sqlite:///{tmp_path / 'clv.db'}", "segments")
    assert len(back) == case.n_customers
