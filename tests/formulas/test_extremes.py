"""BG/NBD and Gamma-Gamma formulas at extreme histories: heavy buyers (x up to 1e5) and
T from 1e-6 to 1e4 time units, against mpmath at 30 digits and lifetimes as oracles."""

from __future__ import annotations

import warnings

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clvlab.errors import ConvergenceError
from clvlab.formulas import bgnbd, gamma_gamma
from clvlab.formulas._ops import hyp2f1_tail, numpy_ops
from clvlab.inference._lifetimes import lifetimes_module

# CDNOW-sample estimates in weeks, Fader, Hardie & Lee (2005) p. 281
FHL = {"r": 0.242593, "alpha": 4.413532, "a": 0.792886, "b": 2.425752}

# (x, t_x, T, t): the failing points of issue 12 item 4 and the corners of the range
HARD = [
    (300, 1.0, 1.0, 52.0),
    (1000, 39.0, 39.0, 52.0),
    (5000, 39.0, 39.0, 52.0),
    (100000, 1e4, 1e4, 52.0),
    (100000, 1e-6, 1e-6, 52.0),
    (100000, 1e-6, 1e-6, 1e4),
    (100000, 0.5, 1e4, 52.0),
    (0, 0.0, 1e-6, 1e4),
    (1, 1e-6, 1e4, 1e-6),
]


def _mp(*values: float) -> list[mp.mpf]:
    return [mp.mpf(v) for v in values]


def mp_conditional_expected(
    t: float, x: float, t_x: float, T: float, r: float, alpha: float, a: float, b: float
) -> float:
    """FHL (2005) eq. 10 exactly as printed, at 40 digits (mpmath)."""
    with mp.workdps(40):
        t, x, t_x, T, r, alpha, a, b = _mp(t, x, t_x, T, r, alpha, a, b)
        z = t / (alpha + T + t)
        hyp = mp.hyp2f1(r + x, b + x, a + b + x - 1, z, maxterms=10**6)
        bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp
        head = (a + b + x - 1) / (a - 1) * bracket
        odds = a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x) if x > 0 else 0
        return float(head / (1 + odds))


def mp_alive(x: float, t_x: float, T: float, r: float, alpha: float, a: float, b: float) -> float:
    """FHL (2005) eq. 11 at 40 digits."""
    with mp.workdps(40):
        x, t_x, T, r, alpha, a, b = _mp(x, t_x, T, r, alpha, a, b)
        if x == 0:
            return 1.0
        return float(1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)))


def mp_survive(t: float, x: float, T: float, r: float, alpha: float, a: float, b: float) -> float:
    """2F1(r + x, a; a + b + x; -t / (alpha + T)) (the untransformed form) at 40 digits."""
    with mp.workdps(40):
        t, x, T, r, alpha, a, b = _mp(t, x, T, r, alpha, a, b)
        return float(mp.hyp2f1(r + x, a, a + b + x, -t / (alpha + T), maxterms=10**6))


def mp_pmf_new(t: float, n: int, r: float, alpha: float, a: float, b: float) -> float:
    """FHL (2005) eq. 8 at 40 digits."""
    with mp.workdps(40):
        t, r, alpha, a, b = _mp(t, r, alpha, a, b)
        z = t / (alpha + t)

        def nb(j: int) -> mp.mpf:
            return mp.gamma(r + j) / (mp.gamma(r) * mp.factorial(j)) * (1 - z) ** r * z**j

        out = mp.beta(a, b + n) / mp.beta(a, b) * nb(n)
        if n > 0:
            cdf = mp.fsum(nb(j) for j in range(n))
            out += mp.beta(a + 1, b + n - 1) / mp.beta(a, b) * (1 - cdf)
        return float(out)


@pytest.mark.parametrize(("x", "t_x", "T", "t"), HARD)
def test_conditional_expected_purchases_matches_mpmath(
    x: float, t_x: float, T: float, t: float
) -> None:
    ours = bgnbd.conditional_expected_purchases(numpy_ops, t, x, t_x, T, **FHL)
    # source: eq. 10 in mpmath at 40 digits (mp_conditional_expected)
    assert float(ours) == pytest.approx(mp_conditional_expected(t, x, t_x, T, **FHL), rel=1e-9)


def test_issue_point_x300_is_915_not_7340() -> None:
    # Issue 12 quotes 7,339.8 for CET(52) at x = 300, t_x = T = 1 week. At the CDNOW-sample
    # parameters eq. 10 gives 915.1297391362 (mpmath, 40 digits, printed here), and
    # lifetimes agrees; clvlab must too.
    ours = float(bgnbd.conditional_expected_purchases(numpy_ops, 52, 300, 1, 1, **FHL))
    assert ours == pytest.approx(915.129739136241, rel=1e-11)
    fitter = lifetimes_module("lifetimes").BetaGeoFitter()
    fitter.params_ = pd.Series(FHL)
    oracle = fitter.conditional_expected_number_of_purchases_up_to_time(52, 300, 1, 1)
    assert ours == pytest.approx(float(oracle), rel=1e-9)


@pytest.mark.parametrize(("x", "t_x", "T", "t"), HARD)
def test_matches_lifetimes_where_lifetimes_is_finite(
    x: float, t_x: float, T: float, t: float
) -> None:
    fitter = lifetimes_module("lifetimes").BetaGeoFitter()
    fitter.params_ = pd.Series(FHL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # lifetimes' own overflow
        oracle = float(fitter.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T))
    ours = float(bgnbd.conditional_expected_purchases(numpy_ops, t, x, t_x, T, **FHL))
    assert np.isfinite(ours)
    if np.isfinite(oracle):  # source: lifetimes 0.11 (finite at 5 of the 9 points)
        assert ours == pytest.approx(oracle, rel=1e-7)


@pytest.mark.parametrize(("x", "t_x", "T", "t"), HARD)
def test_probability_alive_now_and_later_match_mpmath(
    x: float, t_x: float, T: float, t: float
) -> None:
    alive = mp_alive(x, t_x, T, **FHL)  # source: eq. 11, mpmath
    later = alive * mp_survive(t, x, T, **FHL)  # source: 2F1 with negative argument, mpmath
    assert float(bgnbd.probability_alive(numpy_ops, x, t_x, T, **FHL)) == pytest.approx(
        alive, rel=1e-12
    )
    ours = float(bgnbd.probability_alive_after(numpy_ops, t, x, t_x, T, **FHL))
    assert ours == pytest.approx(later, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("x", "t_x", "T", "t"), HARD)
@pytest.mark.parametrize("n", [0, 1, 7, 60])
def test_conditional_pmf_matches_mpmath(x: float, t_x: float, T: float, t: float, n: int) -> None:
    alive = mp_alive(x, t_x, T, **FHL)
    post = {"r": FHL["r"] + x, "alpha": FHL["alpha"] + T, "a": FHL["a"], "b": FHL["b"] + x}
    # source: the conditional PMF (Fader & Hardie 2007 note) from eq. 8 in mpmath
    expected = alive * mp_pmf_new(t, n, **post) + (1 - alive) * (n == 0)
    ours = float(bgnbd.conditional_probability_of_purchases(numpy_ops, t, n, x, t_x, T, **FHL))
    assert ours == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_conditional_pmf_of_a_heavy_buyer_has_mass_far_out() -> None:
    # x = 300 in one week: the posterior rate is about 300/5.4 a week, so in 1 week about
    # 55 purchases are expected. With (alpha/(alpha+t))^(r+x) = 1e-22 as the first term, a
    # product of ratios starting from an underflowed term would give 0 for every n.
    x, T, t = 300, 1.0, 1.0  # t_x = T
    pmf = bgnbd.probability_of_purchases_new_upto(
        numpy_ops, t, 400, FHL["r"] + x, FHL["alpha"] + T, FHL["a"], FHL["b"] + x
    )
    # source: eq. 8 in mpmath at n = 55, near the mode
    assert pmf[55] == pytest.approx(
        mp_pmf_new(t, 55, FHL["r"] + x, FHL["alpha"] + T, FHL["a"], FHL["b"] + x), rel=1e-9
    )
    # mean of the PMF equals eq. 9 with the posterior parameters (tail beyond 400 ~ 0)
    mean = float(np.sum(np.arange(401) * pmf))
    expected = bgnbd.expected_purchases_new(
        numpy_ops, t, FHL["r"] + x, FHL["alpha"] + T, FHL["a"], FHL["b"] + x
    )
    assert mean == pytest.approx(float(expected), rel=1e-9)


def _mp_tail(A: float, B: float, C: float, z: float) -> float:
    """C (2F1(A, B; C; z) - 1) / B at 40 digits (mpmath), by its limits at B = 0, C = 0."""
    with mp.workdps(40):
        a, b, c, w = _mp(A, B, C, z)
        if B == 0:  # the Gauss series with (B)_n / B = (B + 1)_{n-1}
            return float(c * mp.nsum(lambda n: mp.rf(a, n) / (mp.rf(c, n) * n) * w**n, [1, mp.inf]))
        if C == 0:  # ... and with (C)_n / C = (C + 1)_{n-1}
            return float(
                mp.nsum(
                    lambda n: (
                        mp.rf(a, n)
                        * mp.rf(b + 1, n - 1)
                        / (mp.factorial(n - 1) * mp.factorial(n))
                        * w**n
                    ),
                    [1, mp.inf],
                )
            )
        return float(c * (mp.hyp2f1(a, b, c, w) - 1) / b)


def test_hyp2f1_tail_against_mpmath_including_its_singular_points() -> None:
    cases = [
        (1.5, 0.0, 3.0, 0.4),  # B = 0: the limit, sum (A)_n / ((C)_n n) z^n, times C
        (1.5, -0.3, 0.0, 0.4),  # C = 0: times C, finite
        (1.97, -0.2, 1e5, 0.9),  # large C (heavy buyer)
        (1.97, -0.2, 2.2, 1 - 1e-7),  # z near 1, small C: SciPy's branch
        (1.97, 3e-7, 2.2, 1 - 1e-7),  # ... and B within 1e-5 of 0 there
        (-3.5, 0.7, 0.4, 0.8),  # alternating start
        (2.0, 1.0, 1.0, 1e-12),  # tiny z
    ]
    for A, B, C, z in cases:
        exact = _mp_tail(A, B, C, z)
        tol = 1e-8 if abs(B) < 1e-5 and z > 0.99 else 1e-11
        assert float(hyp2f1_tail(A, B, C, z)) == pytest.approx(exact, rel=tol), (A, B, C, z)


params = st.fixed_dictionaries(
    {
        "r": st.floats(0.01, 50.0),
        "alpha": st.floats(0.01, 1000.0),
        "a": st.floats(0.01, 50.0),
        "b": st.floats(0.01, 50.0),
    }
)
history = st.tuples(
    st.integers(0, 100_000),
    st.floats(1e-6, 1e4),
    st.floats(0.0, 1.0),
)


@settings(max_examples=60, deadline=None)
@given(p=params, h=history, t=st.floats(1e-6, 1e4))
def test_every_prediction_is_finite_and_in_range(p: dict[str, float], h: tuple, t: float) -> None:
    x, T, share = h
    t_x = T * share if x > 0 else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or invalid-value warning either
        ts = np.array([0.0, t / 4, t / 2, t])
        cet = bgnbd.conditional_expected_purchases(numpy_ops, ts, x, t_x, T, **p)
        alive = bgnbd.probability_alive(numpy_ops, x, t_x, T, **p)
        later = bgnbd.probability_alive_after(numpy_ops, ts, x, t_x, T, **p)
        pmf = np.array(
            [
                bgnbd.conditional_probability_of_purchases(numpy_ops, t, n, x, t_x, T, **p)
                for n in (0, 1, 5)
            ]
        )
        new = bgnbd.expected_purchases_new(numpy_ops, ts, **p)
        new_pmf = bgnbd.probability_of_purchases_new_upto(numpy_ops, t, 30, **p)
    for values in (cet, alive, later, pmf, new, new_pmf):
        assert np.all(np.isfinite(values))
        assert np.all(values >= 0)
    for values in (alive, later, pmf, new_pmf):
        assert np.all(values <= 1)
    assert np.sum(pmf) <= 1 + 1e-12 and np.sum(new_pmf) <= 1 + 1e-12
    # monotone in t: purchases accumulate, survival only falls (rounding aside)
    assert np.all(np.diff(cet) >= -1e-12 * cet[-1]) and np.all(np.diff(new) >= -1e-12 * new[-1])
    assert np.all(np.diff(later) <= 1e-12) and later[0] == pytest.approx(float(alive), rel=1e-12)
    # purchases in t are at most the Poisson mean of an always-alive customer
    assert cet[-1] <= (p["r"] + x) / (p["alpha"] + T) * t * (1 + 1e-9)


@settings(max_examples=30, deadline=None)
@given(
    x=st.integers(0, 100_000),
    m=st.floats(0.01, 1e6),
    p=st.floats(0.05, 50.0),
    q=st.floats(1.001, 50.0),
    v=st.floats(0.01, 1e4),
)
def test_gamma_gamma_spend_is_finite_positive(
    x: int, m: float, p: float, q: float, v: float
) -> None:
    spend = gamma_gamma.conditional_expected_spend(numpy_ops, x, m, p, q, v)
    assert np.isfinite(spend) and spend > 0
    # a weighted mean of the population mean p v / (q - 1) and the customer's mean m
    low, high = sorted((p * v / (q - 1), m))
    assert low * (1 - 1e-12) <= spend <= high * (1 + 1e-12)


def test_gamma_gamma_refuses_an_infinite_expected_spend() -> None:
    q = np.array([[3.7], [0.8]])  # the second draw has q <= 1
    with pytest.raises(ConvergenceError, match=r"infinite for 1 of 2 .*q <= 1.*Fix: cap or drop"):
        gamma_gamma.conditional_expected_spend(numpy_ops, np.array([0]), 20.0, 6.25, q, 15.44)
    with pytest.raises(ConvergenceError, match="no finite mean"):
        gamma_gamma.expected_spend_new(numpy_ops, 6.25, 1.0, 15.44)
    # p x + q > 1 is enough for a repeat buyer: finite even with q < 1
    # source: eq. 5 by hand, 2 * (1 + 3 * 10) / (2 * 3 + 0.5 - 1) = 62 / 5.5
    value = gamma_gamma.conditional_expected_spend(numpy_ops, 3, 10.0, 2.0, 0.5, 1.0)
    assert float(value) == pytest.approx(62 / 5.5, rel=1e-14)


def test_single_count_pmf_is_exact_far_out_and_costs_no_memory_in_n() -> None:
    """P(X(t) = n) for one large ``n`` uses the incomplete-beta form of eq. 8's bracket:
    exact against 120-digit mpmath where the running sum of the whole PMF loses every
    digit (1 - sum cancels below 1e-16), and O(1) in ``n``: n = 10**6 for 2,000 draws x
    100 rows is a (2000, 100) computation, not a (2000, 100, 10**6) one."""
    p = {"r": 0.242593 + 30, "alpha": 4.413532 + 39, "a": 0.792886, "b": 2.425752 + 30}
    t = 1.0
    z = mp.mpf(t) / (p["alpha"] + t)

    def nb(j: int) -> mp.mpf:  # eq. 8's negative-binomial term
        return (
            mp.gamma(p["r"] + j) / (mp.gamma(p["r"]) * mp.factorial(j)) * (1 - z) ** p["r"] * z**j
        )

    for n in (3, 20, 40, 70):
        with mp.workdps(120):
            exact = mp.beta(p["a"], p["b"] + n) / mp.beta(p["a"], p["b"]) * nb(n) + mp.beta(
                p["a"] + 1, p["b"] + n - 1
            ) / mp.beta(p["a"], p["b"]) * (1 - mp.fsum(nb(j) for j in range(n)))
        got = bgnbd.probability_of_purchases_new(numpy_ops, t, n, **p)
        np.testing.assert_allclose(float(got), float(exact), rtol=1e-12)
    big = bgnbd.probability_of_purchases_new(
        numpy_ops, 39.0, 10**6, 0.24 + np.zeros((2000, 1)), 4.4, 0.79, 2.4 + np.arange(100.0)
    )
    assert big.shape == (2000, 100)
    assert np.all((big >= 0) & (big <= 1e-300))  # a million purchases in 39 weeks: ~0
