"""BG/BB formulas (Fader, Hardie & Shang 2010): the published donations fit, lifetimes as
oracle, mpmath at the hard points, backend parity and gradients, the factorisation of the
purchase-model contract, the simulator, and extremes."""

from __future__ import annotations

import itertools

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clvlab
from clvlab.formulas import bgbb, numpy_ops
from clvlab.formulas._ops import autograd_ops
from clvlab.formulas.contract import check_contract

# Fader, Hardie & Shang (2010), MLE on the 1995 donations cohort (6 calibration years):
# alpha = 1.204, beta = 0.750, gamma = 0.657, delta = 2.783, LL = -33,225.6
PUBLISHED = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
PUBLISHED_LL = -33_225.6


def _lifetimes():  # type: ignore[no-untyped-def]
    from clvlab.inference._lifetimes import lifetimes_module

    return lifetimes_module("lifetimes")


@pytest.fixture(scope="module")
def donations() -> tuple[np.ndarray, ...]:
    """``(x, t_x, n, weight)`` of the 22 folded donation rows."""
    table = clvlab.datasets.load_donations()
    return tuple(
        table[c].to_numpy(dtype=float) for c in ("frequency", "recency", "periods", "weight")
    )


def _random_histories(seed: int, size: int = 200, n_max: int = 30) -> tuple[np.ndarray, ...]:
    """Valid discrete histories: ``x <= t_x <= n``, ``t_x = 0`` iff ``x = 0``, plus the
    edge rows x = 0, x = n = t_x, and t_x = n with x < n."""
    rng = np.random.default_rng(seed)
    n = rng.integers(1, n_max + 1, size).astype(float)
    t_x = np.floor(rng.uniform(0, 1, size) * (n + 1))
    x = np.where(t_x > 0, np.ceil(rng.uniform(0, 1, size) * t_x), 0.0)
    x = np.maximum(x, np.minimum(t_x, 1.0))
    edge_x, edge_tx, edge_n = [0.0, 7.0, 3.0, 0.0], [0.0, 7.0, 7.0, 0.0], [7.0, 7.0, 7.0, 0.0]
    return np.r_[edge_x, x], np.r_[edge_tx, t_x], np.r_[edge_n, n]


def _fitter(params: dict[str, float]):  # type: ignore[no-untyped-def]
    fitter = _lifetimes().BetaGeoBetaBinomFitter()
    fitter.params_ = pd.Series(params)
    return fitter


# ---- mpmath references ------------------------------------------------------------------
def _mp_lik(x, t_x, n, a, b, g, d):  # type: ignore[no-untyped-def]
    """FHS (2010) eq. 5 term by term (mpmath at the working precision)."""
    B = mp.beta
    alive = B(a + x, b + n - x) / B(a, b) * B(g, d + n) / B(g, d)
    dead = mp.fsum(
        B(a + x, b + t_x - x + i) / B(a, b) * B(g + 1, d + t_x + i) / B(g, d)
        for i in range(int(n - t_x))
    )
    return alive + dead


def _mp_alive(x, t_x, n, a, b, g, d):  # type: ignore[no-untyped-def]
    """FHS (2010) eq. 11: P(alive at n + 1)."""
    B = mp.beta
    return (
        B(a + x, b + n - x) / B(a, b) * B(g, d + n + 1) / B(g, d) / _mp_lik(x, t_x, n, a, b, g, d)
    )


def _mp_expected(t, x, t_x, n, a, b, g, d):  # type: ignore[no-untyped-def]
    """FHS (2010) eq. 13 before its sum is telescoped (valid at gamma = 1 too)."""
    B = mp.beta
    lead = B(a + x + 1, b + n - x) / B(a, b) / _mp_lik(x, t_x, n, a, b, g, d)
    return lead * mp.fsum(B(g, d + n + k) / B(g, d) for k in range(1, int(t) + 1))


def _mp_dert(disc, x, t_x, n, a, b, g, d):  # type: ignore[no-untyped-def]
    """FHS (2010) eq. 15, DERT with the Gauss hypergeometric function."""
    B = mp.beta
    num = B(a + x + 1, b + n - x) / B(a, b) * B(g, d + n + 1) / (B(g, d) * (1 + disc))
    f = mp.hyp2f1(1, d + n + 1, g + d + n + 1, 1 / (1 + disc))
    return num * f / _mp_lik(x, t_x, n, a, b, g, d)


# ---- the published fit ------------------------------------------------------------------
def test_module_provides_the_contract() -> None:
    assert check_contract(bgbb) is bgbb
    assert bgbb.PARAMS == ("alpha", "beta", "gamma", "delta")


def test_published_loglik_on_donations(donations) -> None:  # type: ignore[no-untyped-def]
    x, t_x, n, w = donations
    assert int(w.sum()) == 11_104  # FHS (2010): 11,104 donors of the 1995 cohort
    total = float(np.sum(w * bgbb.loglik(numpy_ops, x, t_x, n, **PUBLISHED)))
    # FHS (2010), printed to one decimal
    assert round(total, 1) == PUBLISHED_LL


def test_mle_on_donations_reproduces_published_fit(donations) -> None:  # type: ignore[no-untyped-def]
    import autograd.numpy as anp
    from autograd import hessian, value_and_grad
    from scipy.optimize import minimize

    x, t_x, n, w = donations
    ag = autograd_ops()

    def negative(lp):  # type: ignore[no-untyped-def]
        a, b, g, d = (anp.exp(lp[i]) for i in range(4))
        return -anp.sum(w * bgbb.loglik(ag, x, t_x, n, a, b, g, d)) / w.sum()

    # exact Newton steps (autograd's Hessian) from alpha = beta = gamma = delta = 1
    res = minimize(
        value_and_grad(negative),
        np.zeros(4),
        jac=True,
        hess=hessian(negative),
        method="trust-exact",
        options={"gtol": 1e-10},
    )
    assert res.success
    # FHS (2010), printed to 3 decimals (the optimum is 1.20352, 0.74972, 0.65672, 2.78344)
    np.testing.assert_array_equal(np.round(np.exp(res.x), 3), list(PUBLISHED.values()))
    assert round(-res.fun * w.sum(), 1) == PUBLISHED_LL


def test_loglik_hand_computation() -> None:
    a, b, g, d = 1.5, 0.5, 0.8, 2.0
    # n = 0: nothing observed, L = 1 (eq. 5 with no opportunity)
    assert bgbb.loglik(numpy_ops, 0, 0, 0, a, b, g, d) == pytest.approx(0.0, abs=1e-15)
    # x = t_x = n = 1, by hand from eq. 5: E[p] E[1 - theta] = a/(a+b) d/(g+d)
    hand = np.log(a / (a + b) * d / (g + d))
    assert bgbb.loglik(numpy_ops, 1, 1, 1, a, b, g, d) == pytest.approx(hand, rel=1e-14)
    # x = 0, n = 1: alive and no transaction, or inactive at once (i = 0 term, E[theta])
    hand = np.log(b / (a + b) * d / (g + d) + g / (g + d))
    assert bgbb.loglik(numpy_ops, 0, 0, 1, a, b, g, d) == pytest.approx(hand, rel=1e-14)


# ---- lifetimes as oracle ----------------------------------------------------------------
@pytest.mark.parametrize(
    "params", [PUBLISHED, {"alpha": 0.3, "beta": 2.5, "gamma": 4.0, "delta": 0.7}]
)
def test_loglik_and_predictions_match_lifetimes(donations, params) -> None:  # type: ignore[no-untyped-def]
    # Oracle: lifetimes' BetaGeoBetaBinomFitter at hand-set parameters. Its likelihood adds
    # 1e-15 to the finite sum of eq. 5 before dividing by B(alpha, beta) B(gamma, delta);
    # that offset is taken back out here, and its predictions, which divide by that
    # likelihood, are rescaled alike
    from scipy import special

    cls = _lifetimes().BetaGeoBetaBinomFitter
    fitter = _fitter(params)
    a, b, g, d = params.values()
    offset = 1e-15 * np.exp(-special.betaln(a, b) - special.betaln(g, d))
    rx, rtx, rn = _random_histories(1)
    for x, t_x, n in ((donations[0], donations[1], donations[2]), (rx, rtx, rn)):
        ours = bgbb.loglik(numpy_ops, x, t_x, n, **params)
        biased = cls._loglikelihood(list(params.values()), x, t_x, n)
        exact = np.log(np.exp(biased) - offset)
        np.testing.assert_allclose(ours, exact, rtol=1e-11, atol=1e-14)
        rescale = np.exp(biased - exact)
        alive = bgbb.probability_alive(numpy_ops, x, t_x, n, **params)
        # lifetimes' conditional_probability_alive(m) is P(alive at n + m): eq. 11 is m = 1
        theirs = fitter.conditional_probability_alive(1, x, t_x, n) * rescale
        np.testing.assert_allclose(alive, theirs, rtol=1e-11)
        for t in (0, 1, 5, 30):
            later = bgbb.probability_alive_after(numpy_ops, t, x, t_x, n, **params)
            theirs = fitter.conditional_probability_alive(1 + t, x, t_x, n) * rescale
            np.testing.assert_allclose(later, theirs, rtol=1e-11)
        for t in (1, 2, 6, 30):
            ours = bgbb.conditional_expected_purchases(numpy_ops, t, x, t_x, n, **params)
            theirs = fitter.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, n)
            np.testing.assert_allclose(ours, theirs * rescale, rtol=1e-10)


def test_new_customer_pmf_matches_lifetimes(donations) -> None:  # type: ignore[no-untyped-def]
    # Oracle: lifetimes' expected_number_of_transactions_in_first_n_periods (eq. 7 times
    # the number of customers), by frequency 0..6 of the donations data
    x, t_x, n, w = donations
    fitter = _fitter(PUBLISHED)
    fitter.data = pd.DataFrame(
        {"frequency": x.astype(int), "recency": t_x, "n_periods": n, "weights": w}
    )
    theirs = fitter.expected_number_of_transactions_in_first_n_periods(6)["model"].to_numpy()
    pmf = bgbb.probability_of_purchases_new_upto(numpy_ops, 6, 6, **PUBLISHED)
    np.testing.assert_allclose(pmf * w.sum(), theirs, rtol=1e-11)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-14)
    for k in range(7):
        one = bgbb.probability_of_purchases_new(numpy_ops, 6, k, **PUBLISHED)
        assert one == pytest.approx(pmf[k], rel=1e-14)
    # and its mean is eq. 9
    mean = bgbb.expected_purchases_new(numpy_ops, 6, **PUBLISHED)
    assert pmf @ np.arange(7) == pytest.approx(mean, rel=1e-13)


# ---- backends ---------------------------------------------------------------------------
def test_loglik_agrees_across_numpy_pytensor_and_autograd() -> None:
    import pytensor
    import pytensor.tensor as pt
    from autograd import grad

    from clvlab.formulas._ops import pytensor_ops, pytensor_ops_gathering

    x, t_x, n = _random_histories(0, size=300, n_max=60)
    cols = [pt.dvector(c) for c in ("x", "t_x", "T")]
    theta = [pt.dscalar(c) for c in bgbb.PARAMS]
    ll = bgbb.loglik(pytensor_ops, *cols, *theta)  # symbolic columns: a symbolic arange
    fn = pytensor.function(
        [*cols, *theta], [ll, *pytensor.grad(ll.sum(), theta)], mode="FAST_COMPILE"
    )
    # the PyMC likelihood's backend: constant columns, per-value terms gathered
    gather_ops, tensors = pytensor_ops_gathering({"x": x, "t_x": t_x, "T": n})
    gathered = pytensor.function(
        theta,
        bgbb.loglik(gather_ops, tensors["x"], tensors["t_x"], tensors["T"], *theta),
        mode="FAST_COMPILE",
    )
    ag = autograd_ops()
    far = {"alpha": 12.0, "beta": 0.08, "gamma": 0.05, "delta": 40.0}
    near_one = {"alpha": 2.0, "beta": 3.0, "gamma": 1.0, "delta": 1.0}
    for params in (PUBLISHED, far, near_one):
        values = list(params.values())
        ours = np.asarray(bgbb.loglik(numpy_ops, x, t_x, n, **params))
        assert np.isfinite(ours).all()
        value, *gradient = fn(x, t_x, n, *values)
        # (atol: the row x = n = 0 has log-likelihood 0, by a sum of zeros to rounding)
        np.testing.assert_allclose(value, ours, rtol=1e-11, atol=1e-15)
        np.testing.assert_allclose(gathered(*values), ours, rtol=1e-11, atol=1e-15)
        total = lambda th: bgbb.loglik(ag, x, t_x, n, *th).sum()  # noqa: E731
        np.testing.assert_allclose(total(np.array(values)), ours.sum(), rtol=1e-12)
        np.testing.assert_allclose(grad(total)(np.array(values)), gradient, rtol=1e-8)
        # both against central differences of the NumPy total (relative step 1e-6)
        numeric = lambda v: float(np.sum(bgbb.loglik(numpy_ops, x, t_x, n, *v)))  # noqa: E731
        for i, v in enumerate(values):
            h = 1e-6 * v
            up, down = list(values), list(values)
            up[i], down[i] = v + h, v - h
            fd = (numeric(up) - numeric(down)) / (2 * h)
            assert gradient[i] == pytest.approx(fd, rel=2e-5, abs=1e-6 * abs(ours.sum()) / v)


def test_autograd_differentiates_scalar_arguments() -> None:
    # a Python float boxed by autograd, and scalar data: no indexing of a bare float
    from autograd import grad

    ag = autograd_ops()
    g = grad(lambda a: bgbb.loglik(ag, 2.0, 3.0, 6.0, a, 0.75, 0.657, 2.783))(1.204)
    h = 1e-6
    fd = (
        bgbb.loglik(numpy_ops, 2, 3, 6, 1.204 + h, 0.75, 0.657, 2.783)
        - bgbb.loglik(numpy_ops, 2, 3, 6, 1.204 - h, 0.75, 0.657, 2.783)
    ) / (2 * h)
    assert g == pytest.approx(fd, rel=1e-7)
    assert np.shape(bgbb.loglik(numpy_ops, 2, 3, 6, **PUBLISHED)) == ()


def test_parameters_with_draw_axes_broadcast(donations) -> None:  # type: ignore[no-untyped-def]
    x, t_x, n, _ = donations
    draws = {k: np.array([[v], [2 * v]]) for k, v in PUBLISHED.items()}  # (2 draws, 1)
    ll = bgbb.loglik(numpy_ops, x, t_x, n, **draws)
    assert ll.shape == (2, len(x))
    np.testing.assert_allclose(ll[0], bgbb.loglik(numpy_ops, x, t_x, n, **PUBLISHED), rtol=1e-14)
    pmf = bgbb.conditional_probability_of_purchases_upto(numpy_ops, 5, 5, x, t_x, n, **draws)
    assert pmf.shape == (2, len(x), 6)
    np.testing.assert_allclose(pmf.sum(axis=-1), 1.0, atol=1e-13)


# ---- mpmath at the hard points ----------------------------------------------------------
# (x, t_x, n, alpha, beta, gamma, delta): n up to 1,000, x = n, x = 0, t_x = n, heavy and
# tiny gamma, delta, gamma = 1 exactly
HARD = [
    (0, 0, 6, *PUBLISHED.values()),
    (6, 6, 6, *PUBLISHED.values()),
    (0, 0, 1000, *PUBLISHED.values()),
    (1000, 1000, 1000, *PUBLISHED.values()),
    (500, 1000, 1000, 1.2, 0.75, 1e-3, 1e-3),
    (3, 10, 1000, 1.2, 0.75, 1e4, 1e6),
    (3, 10, 1000, 1e-3, 1e3, 1e-3, 1e6),
    (900, 990, 1000, 50.0, 1e-3, 2.0, 1e5),
    (1, 1, 1000, 0.5, 0.5, 1.0, 3.0),
    (10, 20, 40, 1.0, 1.0, 1.0 + 1e-7, 0.5),
    (0, 0, 0, 0.3, 2.0, 300.0, 1e-3),
]


@pytest.mark.parametrize("point", HARD)
def test_hard_points_against_mpmath(point) -> None:  # type: ignore[no-untyped-def]
    x, t_x, n, *params = point
    p = dict(zip(bgbb.PARAMS, params, strict=True))
    with mp.workdps(40):
        lik = _mp_lik(x, t_x, n, *params)
        ll = float(mp.log(lik))
        alive = float(_mp_alive(x, t_x, n, *params))
        expected = {t: float(_mp_expected(t, x, t_x, n, *params)) for t in (1, 10, 1000)}
    ours = float(bgbb.loglik(numpy_ops, x, t_x, n, **p))
    # the likelihood's gammaln differences lose about 1e-16 (delta + n) ln(delta + n)
    # absolute (bgbb._log_terms): 1.4e-9 at delta = 1e6, 1e-12 otherwise here
    heavy = 1e-16 * (p["delta"] + n) * np.log(p["delta"] + n + 1)
    assert ours == pytest.approx(ll, rel=1e-11, abs=1e-11 + 2 * heavy)
    got = float(bgbb.probability_alive(numpy_ops, x, t_x, n, **p))
    assert got == pytest.approx(alive, rel=1e-9, abs=1e-300)
    assert 0.0 <= got <= 1.0
    for t, value in expected.items():
        mean = float(bgbb.conditional_expected_purchases(numpy_ops, t, x, t_x, n, **p))
        assert mean == pytest.approx(value, rel=1e-8, abs=1e-300)
        assert 0.0 <= mean <= t
    pmf = bgbb.conditional_probability_of_purchases_upto(numpy_ops, 10, 10, x, t_x, n, **p)
    assert np.all((pmf >= 0) & (pmf <= 1))
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    assert pmf @ np.arange(11) == pytest.approx(expected[10], rel=1e-8, abs=1e-300)


def test_dert_long_horizon_is_eq_15() -> None:
    # Reference: FHS (2010) eq. 15 by mpmath; the discounted sum over 3,000 opportunities
    # with d_k = (1 + d)^-k leaves a tail below (1.1)^-3000
    ends = np.arange(1.0, 3001.0)
    rows = [(0, 0, 6), (3, 5, 6), (6, 6, 6), (2, 3, 1000)]
    x, t_x, n = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    for rate in (0.1, 0.25):
        discounts = (1 + rate) ** -ends
        if_alive = bgbb.discounted_purchases_if_alive(x, n, PUBLISHED, ends, discounts)
        dert = bgbb.probability_alive(numpy_ops, x, t_x, n, **PUBLISHED) * if_alive
        with mp.workdps(30):
            ref = [float(_mp_dert(rate, *r, *PUBLISHED.values())) for r in rows]
        np.testing.assert_allclose(dert, ref, rtol=1e-10)
    # FHS (2010) Table 3 reading aid: DERT at d = 0.1 of a (6, 6, 6) donor is about 3.5
    # (hand check of scale only; the value itself is the mpmath one above)
    assert 2.0 < dert[2] < 6.0


# ---- the contract's factorisation -------------------------------------------------------
def test_predictions_factor_through_the_alive_process() -> None:
    x, t_x, n = _random_histories(2, size=60)
    for params in (PUBLISHED, {"alpha": 0.2, "beta": 4.0, "gamma": 3.0, "delta": 0.3}):
        alive = bgbb.probability_alive(numpy_ops, x, t_x, n, **params)
        theta = bgbb.alive_parameters(x, n, **params)
        # FHS (2010): p | alive at n+1 ~ Beta(alpha+x, beta+n-x), theta ~ Beta(gamma, delta+n+1)
        np.testing.assert_array_equal(theta["beta"], params["beta"] + n - x)
        np.testing.assert_array_equal(theta["delta"], params["delta"] + n + 1)
        for t in (0, 1, 7, 52):
            mean = bgbb.conditional_expected_purchases(numpy_ops, t, x, t_x, n, **params)
            np.testing.assert_allclose(
                mean, alive * bgbb.purchases_if_alive(numpy_ops, t, **theta), rtol=1e-12
            )
            process = bgbb.probability_of_purchases_if_alive_upto(numpy_ops, t, 8, **theta)
            pmf = bgbb.conditional_probability_of_purchases_upto(
                numpy_ops, t, 8, x, t_x, n, **params
            )
            mixture = alive[:, None] * process
            mixture[:, 0] += 1 - alive
            np.testing.assert_allclose(pmf, mixture, rtol=1e-12, atol=1e-16)
            for k in (0, 3):
                one = bgbb.conditional_probability_of_purchases(
                    numpy_ops, t, k, x, t_x, n, **params
                )
                np.testing.assert_allclose(one, pmf[:, k], rtol=1e-14)
        later = [
            bgbb.probability_alive_after(numpy_ops, t, x, t_x, n, **params) for t in (0, 1, 10, 100)
        ]
        np.testing.assert_allclose(later[0], alive, rtol=1e-15)
        assert np.all(np.diff(np.stack(later), axis=0) <= 0)
        # CLV: sum_k d_k [N(t_k) - N(t_{k-1})], by hand, per pair, per draw, and 2-D discounts
        ends, d = np.array([1.0, 4.0]), np.array([1.0, 0.5])
        n1, n4 = (bgbb.purchases_if_alive(numpy_ops, t, **theta) for t in ends)
        hand = n1 + 0.5 * (n4 - n1)
        np.testing.assert_allclose(
            bgbb.discounted_purchases_if_alive(x, n, params, ends, d), hand, rtol=1e-12
        )
        per_draw = {k: np.full((3, 1), v) for k, v in params.items()}
        rows = bgbb.discounted_purchases_if_alive(x, n, per_draw, ends, d)
        np.testing.assert_allclose(rows, np.broadcast_to(hand, (3, len(x))), rtol=1e-12)
        sets = bgbb.discounted_purchases_if_alive(x, n, per_draw, ends, np.tril(np.ones((2, 2))))
        assert sets.shape == (2, 3, len(x))
        np.testing.assert_allclose(sets[0, 0], n1, rtol=1e-12)
        np.testing.assert_allclose(sets[1, 0], n4, rtol=1e-12)


def test_new_customer_is_a_customer_with_no_opportunity() -> None:
    ts = np.array([0.0, 1.0, 2.0, 10.0, 60.0])
    for params in (PUBLISHED, {"alpha": 5.0, "beta": 0.1, "gamma": 0.02, "delta": 9.0}):
        mean = bgbb.expected_purchases_new(numpy_ops, ts, **params)
        pmf = bgbb.probability_of_purchases_new_upto(numpy_ops, ts, 60, **params)
        assert mean[0] == 0.0 and np.all(np.diff(mean) > 0)
        np.testing.assert_array_equal(pmf[0, :3], [1.0, 0.0, 0.0])  # no opportunity
        np.testing.assert_allclose(pmf.sum(axis=-1), 1.0, atol=1e-13)
        np.testing.assert_allclose(pmf @ np.arange(61), mean, rtol=1e-12)
        # x = t_x = n = 0 says nothing: the conditional forms are the new-customer forms
        cond = bgbb.conditional_expected_purchases(numpy_ops, ts, 0, 0, 0, **params)
        np.testing.assert_allclose(cond, mean, rtol=1e-12)
        for k in range(4):
            p = bgbb.conditional_probability_of_purchases(numpy_ops, ts, k, 0, 0, 0, **params)
            np.testing.assert_allclose(p, pmf[:, k], rtol=1e-13, atol=1e-16)
        # eq. 9 at n = 1 by hand: E[p] E[1 - theta]
        a, b, g, d = params.values()
        assert mean[1] == pytest.approx(a / (a + b) * d / (g + d), rel=1e-14)


def test_conditional_pmf_is_the_probability_of_the_future_sequences() -> None:
    # Independent reference: eq. 5 is the probability of the exact 0/1 sequence, so
    # P(X(n, n+n*) = k | history) = sum over future sequences with k ones of
    # L(extended history) / L(history), with lifetimes' likelihood as the oracle
    cls = _lifetimes().BetaGeoBetaBinomFitter
    params = list(PUBLISHED.values())
    horizon = 4
    for x, t_x, n in ((0, 0, 6), (2, 3, 6), (6, 6, 6), (1, 1, 3)):
        base = np.exp(cls._loglikelihood(params, np.array([x]), np.array([t_x]), np.array([n])))[0]
        ref = np.zeros(horizon + 1)
        for seq in itertools.product((0, 1), repeat=horizon):
            k = sum(seq)
            last = max([n + j + 1 for j, s in enumerate(seq) if s], default=t_x)
            ext = cls._loglikelihood(
                params, np.array([x + k]), np.array([last]), np.array([n + horizon])
            )
            ref[k] += np.exp(ext[0]) / base
        ours = bgbb.conditional_probability_of_purchases_upto(
            numpy_ops, horizon, horizon, x, t_x, n, **PUBLISHED
        )
        np.testing.assert_allclose(ours, ref, rtol=1e-10)


def test_gamma_one_is_continuous() -> None:
    # eq. 9 and eq. 13 carry 1 / (gamma - 1); the limit is finite (mpmath direct sum above)
    p = {"alpha": 1.0, "beta": 2.0, "delta": 3.0}
    values = [
        bgbb.conditional_expected_purchases(numpy_ops, 20, 2, 4, 8, gamma=g, **p)
        for g in (1 - 1e-3, 1 - 1e-6, 1.0, 1 + 1e-6, 1 + 1e-3)
    ]
    with mp.workdps(30):
        exact = float(_mp_expected(20, 2, 4, 8, 1.0, 2.0, 1.0, 3.0))
    assert values[2] == pytest.approx(exact, rel=1e-10)
    assert values[1] == pytest.approx(exact, rel=1e-5) and values[3] == pytest.approx(
        exact, rel=1e-5
    )
    assert values[0] > values[1] > values[2] > values[3] > values[4]  # falls with gamma


# ---- the simulator ----------------------------------------------------------------------
def test_simulator_matches_the_closed_forms() -> None:
    x = np.array([0.0, 1.0, 3.0, 6.0, 2.0])
    t_x = np.array([0.0, 1.0, 5.0, 6.0, 2.0])
    n = np.array([6.0, 6.0, 6.0, 6.0, 2.0])
    draws = {k: np.full((40_000, 1), v) for k, v in PUBLISHED.items()}
    counts = bgbb.simulate_counts(np.random.default_rng(20240613), 5, x, t_x, n, draws)
    assert counts.shape == (40_000, len(x)) and np.all((counts >= 0) & (counts <= 5))
    assert np.all(counts == np.round(counts))
    mean = bgbb.conditional_expected_purchases(numpy_ops, 5, x, t_x, n, **PUBLISHED)
    # 4.5 Monte Carlo standard errors: two-sided p = 7e-6 per comparison (seeded)
    se = counts.std(axis=0, ddof=1) / np.sqrt(len(counts))
    np.testing.assert_array_less(np.abs(counts.mean(axis=0) - mean), 4.5 * se)
    pmf = bgbb.conditional_probability_of_purchases_upto(numpy_ops, 5, 5, x, t_x, n, **PUBLISHED)
    for k in range(6):
        se_k = np.sqrt(pmf[:, k] * (1 - pmf[:, k]) / len(counts))
        np.testing.assert_array_less(
            np.abs((counts == k).mean(axis=0) - pmf[:, k]), 4.5 * se_k + 1e-12
        )
    # period ends: one path per customer, non-decreasing, each end with its expectation
    ends = np.array([1.0, 3.0, 10.0])
    paths = bgbb.simulate_counts(np.random.default_rng(7), ends, x, t_x, n, draws)
    assert paths.shape == (40_000, len(x), 3) and np.all(np.diff(paths, axis=-1) >= 0)
    for j, t in enumerate(ends):
        m = bgbb.conditional_expected_purchases(numpy_ops, t, x, t_x, n, **PUBLISHED)
        se = paths[..., j].std(axis=0, ddof=1) / np.sqrt(len(paths))
        np.testing.assert_array_less(np.abs(paths[..., j].mean(axis=0) - m), 4.5 * se)
    # the latent state: alive at n + 1 exactly when K > 0, with P(alive)
    p, remaining = bgbb.draw_latent_state(np.random.default_rng(11), x, t_x, n, draws)
    assert np.all((p >= 0) & (p <= 1)) and np.all(remaining == np.round(remaining))
    alive = bgbb.probability_alive(numpy_ops, x, t_x, n, **PUBLISHED)
    se_a = np.sqrt(alive * (1 - alive) / len(p))
    np.testing.assert_array_less(np.abs((remaining > 0).mean(axis=0) - alive), 4.5 * se_a)
    # a new customer (empty history) with per-customer horizons, as the predictive check
    # simulates it: frequencies of a new donor over 6 opportunities against eq. 7
    horizon = np.full((40_000, 1), 6.0)
    empty = np.zeros(40_000)
    new = bgbb.simulate_counts(np.random.default_rng(3), horizon, empty, empty, empty, PUBLISHED)
    assert new.shape == (40_000, 1)
    eq7 = bgbb.probability_of_purchases_new_upto(numpy_ops, 6, 6, **PUBLISHED)
    freq = np.bincount(new[:, 0].astype(int), minlength=7) / 40_000
    np.testing.assert_array_less(np.abs(freq - eq7), 4.5 * np.sqrt(eq7 * (1 - eq7) / 40_000))


def test_simulator_with_tiny_and_certain_dropout() -> None:
    # theta -> 0 (gamma tiny, delta huge): never inactive, no overflow; theta -> 1: one
    # opportunity at most
    rng = np.random.default_rng(5)
    forever = {"alpha": 1.0, "beta": 1.0, "gamma": 1e-6, "delta": 1e9}
    _, remaining = bgbb.draw_latent_state(
        rng, np.zeros(1000), np.zeros(1000), np.zeros(1000), forever
    )
    assert np.all(remaining[remaining > 0] > 1e6)
    counts = bgbb.simulate_counts(
        rng, 1000, np.zeros(1000), np.zeros(1000), np.zeros(1000), forever
    )
    assert np.all((counts >= 0) & (counts <= 1000))
    sure = {"alpha": 1.0, "beta": 1.0, "gamma": 1e9, "delta": 1e-6}
    _, remaining = bgbb.draw_latent_state(rng, np.zeros(1000), np.zeros(1000), np.ones(1000), sure)
    assert np.all(remaining <= 1)


# ---- extremes ---------------------------------------------------------------------------
@settings(max_examples=40)
@given(
    n=st.integers(0, 1000),
    share_tx=st.floats(0.0, 1.0),
    share_x=st.floats(0.0, 1.0),
    horizon=st.integers(0, 120),
    logs=st.lists(st.floats(-3, 6), min_size=4, max_size=4),
)
def test_predictions_finite_and_in_range(
    n: int, share_tx: float, share_x: float, horizon: int, logs: list[float]
) -> None:
    t_x = round(share_tx * n)
    x = round(share_x * t_x)
    x = max(x, 1) if t_x > 0 else 0
    p = {k: 10.0**v for k, v in zip(bgbb.PARAMS, logs, strict=True)}
    ll = bgbb.loglik(numpy_ops, x, t_x, n, **p)
    assert np.isfinite(ll) and ll <= 1e-12
    alive = bgbb.probability_alive(numpy_ops, x, t_x, n, **p)
    later = bgbb.probability_alive_after(numpy_ops, horizon, x, t_x, n, **p)
    assert 0 <= alive <= 1 and 0 <= later <= alive
    mean = bgbb.conditional_expected_purchases(numpy_ops, horizon, x, t_x, n, **p)
    assert np.isfinite(mean) and 0 <= mean <= horizon * (1 + 1e-12)
    pmf = bgbb.conditional_probability_of_purchases_upto(
        numpy_ops, horizon, horizon, x, t_x, n, **p
    )
    assert np.all((pmf >= 0) & (pmf <= 1))
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    assert pmf @ np.arange(horizon + 1) == pytest.approx(mean, rel=1e-7, abs=1e-12)
    new = bgbb.expected_purchases_new(numpy_ops, horizon, **p)
    assert np.isfinite(new) and 0 <= new <= horizon * (1 + 1e-12)


def test_pmf_over_a_thousand_opportunities() -> None:
    # n* = 1,000 future opportunities of a heavy donor: the PMF sums to 1 with the
    # expectation (eq. 13) as its mean
    pmf = bgbb.conditional_probability_of_purchases_upto(
        numpy_ops, 1000, 1000, 900, 1000, 1000, **PUBLISHED
    )
    mean = bgbb.conditional_expected_purchases(numpy_ops, 1000, 900, 1000, 1000, **PUBLISHED)
    assert np.all((pmf >= 0) & (pmf <= 1))
    assert pmf.sum() == pytest.approx(1.0, abs=1e-10)
    assert pmf @ np.arange(1001) == pytest.approx(mean, rel=1e-9)
    with mp.workdps(30):
        assert mean == pytest.approx(
            float(_mp_expected(1000, 900, 1000, 1000, *PUBLISHED.values())), rel=1e-10
        )


def test_pytensor_gradient_is_right_where_the_two_terms_tie() -> None:
    """At (alpha, beta, gamma, delta) = (0.2, 5, 3, 0.1) the history (4, 5, 6) has equal
    "alive" and "dead" terms of FHS eq. 5. pytensor's derivative of max/min gives the
    whole gradient to both sides of a tie, which once made the likelihood's gradient that
    of one term only (0.7% off on the donations sum). Reference: autograd of the same
    formula, and central differences of its NumPy value."""
    import autograd.numpy as anp
    import pytensor
    import pytensor.tensor as pt
    from autograd import grad

    from clvlab.formulas._ops import autograd_ops, pytensor_ops

    x, t_x, n = np.array([4.0]), np.array([5.0]), np.array([6.0])
    u0 = np.log([0.2, 5.0, 3.0, 0.1])
    th = pt.dvector("th")
    params = [pt.exp(th[i]) for i in range(4)]
    ll = bgbb.loglik(pytensor_ops, pt.constant(x), pt.constant(t_x), pt.constant(n), *params)
    symbolic = pytensor.function([th], pytensor.grad(ll.sum(), th))(u0)
    ag = autograd_ops()

    def row(u: np.ndarray) -> float:
        return bgbb.loglik(ag, x, t_x, n, *[anp.exp(u[i]) for i in range(4)]).sum()

    def value(u: np.ndarray) -> float:
        return float(bgbb.loglik(numpy_ops, x, t_x, n, *np.exp(u))[0])

    h = 1e-5
    numeric = [(value(u0 + h * e) - value(u0 - h * e)) / (2 * h) for e in np.eye(4)]
    np.testing.assert_allclose(symbolic, grad(row)(u0), rtol=1e-9)
    np.testing.assert_allclose(symbolic, numeric, rtol=1e-7)
