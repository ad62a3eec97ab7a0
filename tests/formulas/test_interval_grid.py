"""The Pareto/NBD likelihood on nodes shared by the rows (formulas/_interval_grid.py).

Oracle: :func:`clvlab.formulas.pnbd.loglik`, the per-row rule, itself checked against
mpmath at 50 digits in ``test_pnbd.py`` (both branches, z near 1, large x, r + s + x
large). The grid form must give the same values and the same derivatives.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clvlab
from clvlab.formulas import pnbd
from clvlab.formulas._interval_grid import interval_grid, log_integrals
from clvlab.formulas._ops import autograd_ops, numpy_ops

#: parameter sets: FHL 2005's CDNOW fit, both orders of alpha and beta, tiny and large
PARAMS = [
    (0.553, 10.578, 0.606, 11.669),
    (0.2, 3.0, 2.0, 30.0),
    (3.0, 40.0, 0.1, 1.0),
    (10.0, 10.0, 10.0, 10.0),
    (0.01, 0.01, 0.01, 0.01),
]


def _columns(rfm: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    data = clvlab.ParetoNBD().prepare(rfm)
    return data.columns["x"], data.columns["t_x"], data.columns["T"], data.weights


@pytest.mark.parametrize("params", PARAMS)
def test_grid_loglik_equals_the_per_row_rule_on_cdnow(cdnow_summary, params) -> None:  # type: ignore[no-untyped-def]
    x, t_x, T, _ = _columns(cdnow_summary)
    grid = interval_grid(x, t_x, T)
    assert grid is not None
    # 22 values of x and 1,145 nodes for the 919 rows with 0 < t_x < T: 27 values a row
    assert grid.size < 32 * len(grid.rows)
    rows = grid.rows
    expected = pnbd.loglik(numpy_ops, x[rows], t_x[rows], T[rows], *params)
    got = pnbd.loglik_on_grid(numpy_ops, grid, x[rows], T[rows], *params)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_grid_gradient_equals_the_per_row_rule(cdnow_summary) -> None:  # type: ignore[no-untyped-def]
    from autograd import grad

    x, t_x, T, w = _columns(cdnow_summary)
    grid = interval_grid(x, t_x, T)
    assert grid is not None
    rows = grid.rows
    ops = autograd_ops()

    def on_grid(p):  # type: ignore[no-untyped-def]
        return (w[rows] * pnbd.loglik_on_grid(ops, grid, x[rows], T[rows], *p)).sum()

    def per_row(p):  # type: ignore[no-untyped-def]
        return (w[rows] * pnbd.loglik(ops, x[rows], t_x[rows], T[rows], *p)).sum()

    for params in PARAMS[:4]:
        p = np.array(params)
        np.testing.assert_allclose(grad(on_grid)(p), grad(per_row)(p), rtol=1e-8)


def test_model_likelihood_uses_the_grid_and_keeps_every_row(cdnow_summary) -> None:  # type: ignore[no-untyped-def]
    # rows with t_x = 0 (x = 0) and with t_x = T stay on the per-row rule; the total is
    # the weighted sum of pnbd.loglik over all rows (the definition)
    import pytensor

    rfm = cdnow_summary.copy()
    rfm.loc[rfm.index[:3], "recency"] = rfm.loc[rfm.index[:3], "T"]
    rfm.loc[rfm.index[:3], "frequency"] = 2.0
    model = clvlab.ParetoNBD()
    data = model.prepare(rfm)
    x, t_x, T = (data.columns[c] for c in ("x", "t_x", "T"))
    assert (t_x == T).any() and (t_x == 0).any()
    params = dict(zip(("r", "alpha", "s", "beta"), PARAMS[0], strict=True))
    total = pytensor.function([], model.weighted_loglik(data, params))()
    expected = (data.weights * pnbd.loglik(numpy_ops, x, t_x, T, **params)).sum()
    assert float(total) == pytest.approx(expected, rel=1e-12)


def test_no_grid_without_rows_inside_or_when_times_do_not_repeat() -> None:
    zero = np.zeros(4)
    assert interval_grid(zero, zero, np.full(4, 5.0)) is None  # every t_x = 0
    assert interval_grid(np.ones(2), np.full(2, 3.0), np.full(2, 3.0)) is None  # t_x = T
    rng = np.random.default_rng(0)
    T = rng.uniform(1, 60, 500)
    t_x = T * rng.uniform(0.001, 1, 500)  # continuous times: every end point distinct
    assert interval_grid(rng.integers(1, 50, 500).astype(float), t_x, T) is None


def test_rows_of_one_x_with_far_apart_starts_get_their_own_scale() -> None:
    # x = 30 with starts from one day to 30 weeks: (x + 1) log(30 / (1/7)) = 166 exceeds
    # GROUP_SPAN, so the rows are scaled in two groups (one scale could underflow for
    # larger x at alpha, beta -> 0)
    t_x = np.tile(np.arange(1, 211) / 7.0, 5)
    x = np.repeat(np.arange(28.0, 33.0), 210)
    T = np.full(len(t_x), 31.0)
    grid = interval_grid(x, t_x, T)
    assert grid is not None and len(grid.group_x) == 10
    for params in [(0.5, 0.01, 0.5, 0.01), (0.553, 10.578, 0.606, 11.669)]:
        got = pnbd.loglik_on_grid(numpy_ops, grid, x, T, *params)
        expected = pnbd.loglik(numpy_ops, x, t_x, T, *params)
        assert np.isfinite(got).all()
        # alpha = beta = 0.01: (0.01 + tau)^-31 spans 60 decades from one day on
        np.testing.assert_allclose(got, expected, rtol=1e-8)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    n=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
    r=st.floats(0.05, 5.0),
    alpha=st.floats(0.05, 100.0),
    s=st.floats(0.05, 5.0),
    beta=st.floats(0.05, 100.0),
)
def test_grid_matches_the_per_row_rule_on_any_day_grid(n, seed, r, alpha, s, beta) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 40 * 7, n) / 7.0
    t_x = np.floor(T * 7 * rng.uniform(0, 1, n)) / 7.0
    x = np.where(t_x > 0, rng.integers(1, 120, n), 0).astype(float)
    grid = interval_grid(x, t_x, T)
    if grid is None:
        return
    rows = grid.rows
    got = pnbd.loglik_on_grid(numpy_ops, grid, x[rows], T[rows], r, alpha, s, beta)
    expected = pnbd.loglik(numpy_ops, x[rows], t_x[rows], T[rows], r, alpha, s, beta)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-8)


def test_log_integrals_of_a_constant_integrand_are_the_lengths() -> None:
    # psi = 0: the integral over [t_x, T] is T - t_x exactly (a closed form)
    rng = np.random.default_rng(1)
    x = rng.integers(1, 3, 300).astype(float)
    t_x = rng.integers(1, 10, 300) / 2.0
    T = t_x + rng.integers(1, 10, 300) / 2.0
    grid = interval_grid(x, t_x, T)
    assert grid is not None
    got = log_integrals(numpy_ops, grid, lambda gx, tau: 0.0 * gx * tau)
    np.testing.assert_allclose(np.exp(got), (T - t_x)[grid.rows], rtol=1e-13)
