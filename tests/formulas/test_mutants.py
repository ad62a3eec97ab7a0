"""Tests written to kill the mutants that survived `make mutation` in clvlab.formulas.

Each test checks a behaviour the rest of the suite left open: the shapes of the latent
state simulators, the population mean spend, the symbolic (pytensor) backend's
hypergeometric tail and the fall-backs of SciPy's ``hyp2f1``, and the Pareto/NBD
new-customer PMF at points where its integrand is sharply peaked.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from clvlab.errors import ConvergenceError
from clvlab.formulas import _ops, bgnbd, gamma_gamma, mbgnbd, numpy_ops, pnbd

# ---------------------------------------------------------------------------------------
# Gamma-Gamma population mean (Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary
# Value", E(Z) = p v / (q - 1)); parameters: their CDNOW estimates p=6.25, q=3.74, v=15.44.


def test_expected_spend_new_is_p_v_over_q_minus_1() -> None:
    value = gamma_gamma.expected_spend_new(numpy_ops, 6.25, 3.74, 15.44)
    # hand computation: 6.25 * 15.44 / 2.74 = 96.5 / 2.74 = 35.218978...
    assert value == pytest.approx(96.5 / 2.74, rel=1e-15)
    # the same number is the x = 0 case of the conditional mean (eq. 5 at x = 0)
    at_zero = gamma_gamma.conditional_expected_spend(numpy_ops, 0.0, 1.0, 6.25, 3.74, 15.44)
    assert value == pytest.approx(at_zero, rel=1e-15)


def test_expected_spend_new_just_above_q_1_is_finite_and_refused_at_1() -> None:
    # q = 1.5: p v / 0.5 = 2 p v (hand computation)
    assert gamma_gamma.expected_spend_new(numpy_ops, 2.0, 1.5, 3.0) == pytest.approx(12.0)
    with pytest.raises(ConvergenceError, match="no finite mean"):
        gamma_gamma.expected_spend_new(numpy_ops, 2.0, np.array([1.5, 1.0]), 3.0)


# ---------------------------------------------------------------------------------------
# Latent-state simulators: every input may carry the (chain, draw) axes on its own.

_SIM = {
    "pnbd": (pnbd, {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}),
    "mbgnbd": (mbgnbd, {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}),
}


@pytest.mark.parametrize("model", sorted(_SIM))
@pytest.mark.parametrize("which", ["p0", "p1", "p2", "p3", "x", "T"])
def test_latent_state_broadcasts_over_whichever_input_has_the_axes(model: str, which: str) -> None:
    module, published = _SIM[model]
    params = dict(published)
    hist = {"x": 2.0, "t_x": 20.0, "T": 39.0}
    names = list(params)
    if which.startswith("p"):
        name = names[int(which[1])]
        params[name] = np.full((2, 3), params[name])
    else:
        hist[which] = np.full((2, 3), hist[which])
    rng = np.random.default_rng(0)
    lam, rest = module.draw_latent_state(rng, hist["x"], hist["t_x"], hist["T"], params)
    assert lam.shape == (2, 3) and rest.shape == (2, 3)
    counts = module.simulate_counts(
        np.random.default_rng(1), np.array([13.0, 26.0]), hist["x"], hist["t_x"], hist["T"], params
    )
    assert counts.shape == (2, 3, 2)
    assert np.all(np.diff(counts, axis=-1) >= 0)


def test_mbgnbd_dropout_probability_that_rounds_to_zero_never_drops() -> None:
    # a = 1e-4: Beta(a, b + x + 1) draws underflow to exactly 0 most of the time
    # (P(p < 1e-308) ~ (1e-308)^1e-4 = 0.93). Such a customer has p = 0 "to rounding"
    # and never drops: no error, a finite huge count.
    params = {"r": 0.525, "alpha": 6.183, "a": 1e-4, "b": 1.614}
    rng = np.random.default_rng(3)
    _lam, remaining = mbgnbd.draw_latent_state(rng, np.zeros(400), np.zeros(400), 39.0, params)
    assert np.all(np.isfinite(remaining)) and np.all(remaining >= 0)
    # geometric with p = 1e-300 (the documented floor) saturates at numpy's int64 ceiling
    assert remaining.max() > 1e18


# ---------------------------------------------------------------------------------------
# Symbolic backend: its hyp2f1_tail and its name-based dispatch (pnbd's padding).


def _compile(outputs, inputs):  # type: ignore[no-untyped-def]
    import pytensor

    return pytensor.function(inputs, outputs, mode="FAST_COMPILE")


def test_pytensor_hyp2f1_tail_equals_numpy() -> None:
    import pytensor.tensor as pt

    ops = _ops._pytensor_ops()  # built afresh (the shared one is cached)
    assert ops.name == "pytensor"
    A, B, C, z = (pt.dscalar(n) for n in "ABCz")
    fn = _compile(ops.hyp2f1_tail(A, B, C, z), [A, B, C, z])
    for point in [(1.0, 1.0, 1.0, 0.5), (0.7, 0.3, 2.5, 0.2), (2.0, 0.5, 4.0, 0.9)]:
        # reference: C (2F1 - 1) / B by mpmath (DLMF 15.2.1)
        with mp.workdps(30):
            ref = float(mp.mpf(point[2]) * (mp.hyp2f1(*point) - 1) / point[1])
        assert float(fn(*point)) == pytest.approx(ref, rel=1e-10)
        assert float(_ops.hyp2f1_tail(*point)) == pytest.approx(ref, rel=1e-10)


def test_fresh_pytensor_backend_runs_the_pareto_nbd_likelihood() -> None:
    import pytensor.tensor as pt

    ops = _ops._pytensor_ops()
    cols = [pt.dvector(n) for n in ("x", "t_x", "T")]
    params = [pt.dscalar(n) for n in pnbd.PARAMS]
    fn = _compile(pnbd.loglik(ops, *cols, *params), [*cols, *params])
    x, t_x, T = np.array([0.0, 2.0, 7.0]), np.array([0.0, 30.43, 35.0]), np.full(3, 38.86)
    p = (0.553, 10.578, 0.606, 11.669)
    # oracle: the NumPy backend (itself checked against mpmath in test_pnbd.py)
    np.testing.assert_allclose(fn(x, t_x, T, *p), pnbd.loglik(numpy_ops, x, t_x, T, *p), rtol=1e-12)


def test_gathering_backend_equals_direct_numpy() -> None:
    import pytensor.tensor as pt

    x = np.array([0, 1, 1, 3, 0, 3, 7], dtype=float)
    t_x = np.array([0.0, 5.0, 9.0, 20.0, 0.0, 30.0, 38.0])
    T = np.array([39.0, 39.0, 38.0, 39.0, 38.0, 39.0, 39.0])
    ops, tensors = _ops.pytensor_ops_gathering({"x": x, "T": T})
    params = [pt.dscalar(n) for n in ("r", "alpha", "a", "b")]
    ll = bgnbd.loglik(ops, tensors["x"], pt.as_tensor_variable(t_x), tensors["T"], *params)
    p = (0.243, 4.414, 0.793, 2.426)
    ours = _compile(ll, params)(*p)
    # oracle: the NumPy backend without gathering
    np.testing.assert_allclose(ours, bgnbd.loglik(numpy_ops, x, t_x, T, *p), rtol=1e-12)


# ---------------------------------------------------------------------------------------
# SciPy hyp2f1 fall-backs (_ops._hyp2f1), against mpmath at 30 digits.


def test_hyp2f1_euler_fallback_where_scipy_returns_nan() -> None:
    # the docstring's point: SciPy gives NaN (C - A - B = 1 is an integer)
    A, B, C, z = 30.0, -0.29125, 30.70875, 0.99875
    out = _ops._hyp2f1(*(np.array([v]) for v in (A, B, C, z)))
    with mp.workdps(30):
        ref = float(mp.hyp2f1(A, B, C, z))
    assert out[0] == pytest.approx(ref, rel=1e-9)


# ---------------------------------------------------------------------------------------
# Pareto/NBD new-customer PMF where the "dead" integrand is sharply peaked.


def _mp_pnbd_pmf(n: int, t: float, r: float, alpha: float, s: float, beta: float) -> float:
    """Fader & Hardie (2006 note) eq. 10 (alive NB term plus the dead integral), mpmath."""
    with mp.workdps(30):
        coef = mp.gamma(r + n) / (mp.gamma(r) * mp.factorial(n))
        alive = coef * (mp.mpf(alpha) / (alpha + t)) ** r * (mp.mpf(t) / (alpha + t)) ** n
        alive *= (mp.mpf(beta) / (beta + t)) ** s
        integral = mp.quad(
            lambda u: u**n * (alpha + u) ** (-(r + n)) * (beta + u) ** (-(s + 1)),
            mp.linspace(0, t, 12),
        )
        dead = coef * mp.mpf(alpha) ** r * s * mp.mpf(beta) ** s * integral
        return float(alive + dead)


@pytest.mark.parametrize(
    "point",
    [
        (39.0, 2.5, 3.0, 1.5, 2.0),  # r, s > 1: a peaked integrand
        (100.0, 8.0, 1.0, 3.0, 20.0),  # alpha << beta, many purchases
        (10.0, 0.8, 30.0, 4.0, 0.5),  # alpha >> beta
        (0.5, 0.553, 10.578, 0.606, 11.669),  # a horizon shorter than one time unit
    ],
)
def test_new_customer_pmf_at_peaked_integrands(point: tuple[float, ...]) -> None:
    t, r, alpha, s, beta = point
    ours = pnbd.probability_of_purchases_new_upto(numpy_ops, t, 8, r, alpha, s, beta)
    ref = np.array([_mp_pnbd_pmf(n, t, r, alpha, s, beta) for n in range(9)])
    # the quadrature's documented accuracy for the PMF is ~1e-8 relative
    np.testing.assert_allclose(ours, ref, rtol=3e-8, atol=1e-15)


# ---------------------------------------------------------------------------------------
# Absolute values the parity tests (numpy == pytensor) cannot see.


def test_gamma_gamma_loglik_equals_the_mixture_density_by_quadrature() -> None:
    # Fader & Hardie (2013) eq. 3 is the density of the mean m of x Gamma(p, nu) values,
    # mixed over nu ~ Gamma(q, v): f(m | x) = int Gamma(m; p x, rate x nu) Gamma(nu; q, v)
    # dnu. Reference: that integral by scipy's adaptive quadrature.
    from scipy import integrate, stats

    p, q, v = 6.25, 3.74, 15.44
    for x, m in [(1.0, 20.0), (2.0, 22.35), (5.0, 61.0)]:

        def integrand(nu: float, x: float = x, m: float = m) -> float:
            return float(
                stats.gamma.pdf(m, p * x, scale=1 / (x * nu)) * stats.gamma.pdf(nu, q, scale=1 / v)
            )

        ref, _ = integrate.quad(integrand, 0, np.inf, epsabs=0, epsrel=1e-12, limit=200)
        ours = gamma_gamma.loglik(numpy_ops, x, m, p, q, v)
        assert float(ours) == pytest.approx(np.log(ref), rel=1e-9)


def test_pareto_nbd_single_n_pmf_is_the_row_of_the_whole_pmf() -> None:
    p = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    pmf = pnbd.probability_of_purchases_new_upto(numpy_ops, 39.0, 5, **p)
    for n in range(6):
        one = pnbd.probability_of_purchases_new(numpy_ops, 39.0, n, **p)
        assert float(one) == pytest.approx(float(pmf[n]), rel=1e-14)
    # and the value at n = 0 against mpmath (Fader & Hardie 2006 note, eq. 10)
    ref0 = _mp_pnbd_pmf(0, 39.0, 0.553, 10.578, 0.606, 11.669)
    assert float(pmf[0]) == pytest.approx(ref0, rel=3e-8)


def test_infinite_spend_message_names_cause_and_fix() -> None:
    with pytest.raises(
        ConvergenceError,
        match=(
            r"infinite for 1 of 2 \(parameter draw, customer\) pairs: p \* frequency \+ q <= 1 "
            r"there, so the spend distribution has no finite mean \(q <= 1 means spend is too "
            r"heavy-tailed for the model\)\. Fix: cap or drop extreme monetary_value outliers "
            r"and refit, or use a prior on q that keeps it above 1"
        ),
    ):
        gamma_gamma.conditional_expected_spend(numpy_ops, 0.0, 1.0, 2.0, np.array([2.0, 0.5]), 3.0)


def test_backend_missing_a_function_is_named() -> None:
    with pytest.raises(AttributeError, match="backend 'bare' has no 'expit'"):
        _ops._backend("bare", _ops._direct, (np,))
