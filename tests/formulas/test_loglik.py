"""Log-likelihoods against published values, and numpy/pytensor parity."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from clvlab.formulas import bgnbd, gamma_gamma, numpy_ops, pytensor_ops

# Hardie, note 027 ("Implementing the BG/NBD model ..."), stable log-likelihood check:
# a = 0.8, b = 2.5, r = 0.25, alpha = 4, T = 40.
NOTE_027 = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}


def test_bgnbd_published_values() -> None:
    assert bgnbd.loglik(numpy_ops, 0, 0.0, 40.0, **NOTE_027) == pytest.approx(-0.59947382, abs=5e-9)
    assert bgnbd.loglik(numpy_ops, 200, 38.0, 40.0, **NOTE_027) == pytest.approx(100.7957, abs=5e-5)


def _pytensor_fn(formula, n_cols: int, param_names: tuple[str, ...]):  # type: ignore[no-untyped-def]
    cols = [pt.dvector(f"c{i}") for i in range(n_cols)]
    params = [pt.dscalar(n) for n in param_names]
    out = formula(pytensor_ops, *cols, *params)
    return pytensor.function([*cols, *params], out)


def test_bgnbd_numpy_pytensor_parity() -> None:
    rng = np.random.default_rng(0)
    x = np.r_[0, 0, 1, 2, 200, rng.integers(0, 60, 200)].astype(float)
    T = np.r_[40.0, 1e-3, 5.0, 39.0, 40.0, rng.uniform(1, 80, 200)]
    t_x = np.where(x > 0, T * np.r_[0, 0, 0.5, 0.99, 0.95, rng.uniform(0.01, 1, 200)], 0.0)
    fn = _pytensor_fn(bgnbd.loglik, 3, ("r", "alpha", "a", "b"))
    for params in (NOTE_027, {"r": 3.0, "alpha": 0.1, "a": 5.0, "b": 0.2}):
        ours = bgnbd.loglik(numpy_ops, x, t_x, T, **params)
        theirs = fn(x, t_x, T, *params.values())
        np.testing.assert_allclose(theirs, ours, rtol=1e-10, atol=1e-10)
        assert np.all(np.isfinite(ours))


def test_gamma_gamma_numpy_pytensor_parity() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(1, 40, 300).astype(float)
    m = rng.gamma(2.0, 20.0, 300)
    fn = _pytensor_fn(gamma_gamma.loglik, 2, ("p", "q", "v"))
    ours = gamma_gamma.loglik(numpy_ops, x, m, 6.25, 3.74, 15.44)
    np.testing.assert_allclose(fn(x, m, 6.25, 3.74, 15.44), ours, rtol=1e-10, atol=1e-10)


def test_bgnbd_likelihood_matches_lifetimes(cdnow_summary) -> None:  # type: ignore[no-untyped-def]
    # Oracle: lifetimes' BetaGeoFitter log-likelihood at the published FHL estimates.
    from clvlab.inference._lifetimes import lifetimes_module

    fitter_cls = lifetimes_module("lifetimes").BetaGeoFitter
    s = cdnow_summary
    params = {"r": 0.242593, "alpha": 4.413532, "a": 0.792886, "b": 2.425752}
    x, t_x, T = (s[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    theirs = -fitter_cls._negative_log_likelihood(
        np.log(list(params.values())), x, t_x, T, np.ones_like(x), 0.0
    ) * len(x)
    ours = bgnbd.loglik(numpy_ops, x, t_x, T, **params).sum()
    assert ours == pytest.approx(theirs, rel=1e-10)
    # Source: Fader, Hardie & Lee (2005): LL = -9582.4 at the MLE.
    assert ours == pytest.approx(-9582.4, abs=0.05)


def test_gathered_pytensor_terms_equal_direct_ones(cdnow_summary) -> None:  # type: ignore[no-untyped-def]
    from clvlab.formulas._ops import pytensor_ops_gathering

    s = cdnow_summary
    cols = {c: s[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")}
    ops, tensors = pytensor_ops_gathering(cols)
    params = [pt.dscalar(n) for n in NOTE_027]
    gathered = bgnbd.loglik(ops, *tensors.values(), *params)
    fn = pytensor.function(params, [gathered, *pytensor.grad(gathered.sum(), params)])
    value, *grad = fn(*NOTE_027.values())
    direct = bgnbd.loglik(numpy_ops, *cols.values(), **NOTE_027)
    np.testing.assert_allclose(value, direct, rtol=1e-12)
    # the gradient through the gathers equals a finite difference of the NumPy formula
    h = 1e-6
    for i, name in enumerate(NOTE_027):
        up = {**NOTE_027, name: NOTE_027[name] + h}
        down = {**NOTE_027, name: NOTE_027[name] - h}
        fd = (
            bgnbd.loglik(numpy_ops, *cols.values(), **up).sum()
            - bgnbd.loglik(numpy_ops, *cols.values(), **down).sum()
        ) / (2 * h)
        assert grad[i] == pytest.approx(fd, rel=1e-6)
