"""Tests written to kill mutants of clvlab.predict that survived `make mutation`.

``frequency_check`` and ``frequency_recency_matrix`` were tested only through the plots
(outside the mutation run's test selection) and never against numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.formulas import bgnbd, numpy_ops


@pytest.fixture(scope="module")
def fitted(cdnow_sample_rfm: pd.DataFrame) -> Any:
    """BG/NBD by MLE on the CDNOW sample (Laplace draws)."""
    return clvlab.BetaGeo().fit(cdnow_sample_rfm, seed=1, progress=False, n_draws=300)


def _point(model: Any) -> dict[str, float]:
    return {k: float(v) for k, v in model.params_["estimate"].items()}


def test_frequency_check_counts_and_closed_form_mean(
    fitted: Any, cdnow_sample_rfm: pd.DataFrame
) -> None:
    rfm = cdnow_sample_rfm
    check = clvlab.frequency_check(fitted, rfm, seed=5)
    # defaults: frequencies 0..6 and "7+"
    assert list(check.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert check.index.name == "frequency"
    assert check.attrs["clvlab"]["kind"] == "posterior"
    # observed: hand count of the calibration frequencies, capped at 7
    freq = rfm["frequency"].to_numpy()
    expected_obs = [int((freq == k).sum()) for k in range(7)] + [int((freq >= 7).sum())]
    assert check["observed"].tolist() == expected_obs
    # every simulated histogram has one entry per customer
    assert check["mean"].sum() == pytest.approx(len(rfm), rel=1e-12)
    # the mean histogram against the closed form: sum over customers of P(X(T_i) = k)
    # (Fader, Hardie & Lee 2005 eq. 8) at the point estimate; the Laplace draws are
    # tight on this sample, so 5% (plus 3 customers of Monte Carlo noise) is ample.
    pmf = bgnbd.probability_of_purchases_new_upto(
        numpy_ops, rfm["T"].to_numpy()[:, None], 6, **_point(fitted)
    )[:, 0, :]
    closed = np.r_[pmf.sum(axis=0), len(rfm) - pmf.sum()]
    np.testing.assert_allclose(check["mean"], closed, rtol=0.05, atol=3.0)
    assert np.all(check["lower"] <= check["mean"]) and np.all(check["mean"] <= check["upper"])


def test_frequency_check_prior_kind_and_small_grid(
    fitted: Any, cdnow_sample_rfm: pd.DataFrame
) -> None:
    check = clvlab.frequency_check(
        fitted, cdnow_sample_rfm, kind="prior", n_draws=20, max_frequency=2, seed=2
    )
    assert list(check.index) == ["0", "1", "2+"]
    assert check.attrs["clvlab"]["kind"] == "prior"
    assert check["mean"].sum() == pytest.approx(len(cdnow_sample_rfm), rel=1e-12)


@pytest.mark.parametrize("quantity", ["expected_purchases", "probability_alive"])
def test_frequency_recency_matrix_cells_equal_the_formulas(fitted: Any, quantity: str) -> None:
    matrix = clvlab.frequency_recency_matrix(fitted, quantity=quantity, T=30.0, t=4.0)
    # defaults: frequencies 0..40, 40 recencies from 0 to T
    assert matrix.shape == (41, 40)
    assert matrix.columns[0] == 0.0 and matrix.columns[-1] == pytest.approx(30.0)
    # frequency 0 with recency > 0 is impossible; frequency > 0 with recency 0 as well
    assert np.isnan(matrix.iloc[0, 1:]).all() and np.isnan(matrix.iloc[1:, 0]).all()
    p = _point(fitted)
    for x, j in [(0, 0), (1, 10), (5, 39), (40, 20)]:
        rec = float(matrix.columns[j])
        if quantity == "expected_purchases":  # eq. 10 at the point estimate
            ref = bgnbd.conditional_expected_purchases(numpy_ops, 4.0, x, rec, 30.0, **p)
        else:  # eq. 11
            ref = bgnbd.probability_alive(numpy_ops, x, rec, 30.0, **p)
        assert matrix.iloc[x, j] == pytest.approx(float(ref), rel=1e-9)


def test_expected_purchases_new_customer_columns_equal_the_draws(fitted: Any) -> None:
    ts = np.array([0.5, 13.0, 52.0])
    frame = fitted.expected_purchases_new_customer(ts, ci_prob=0.8)
    assert frame.index.name == "t" and frame.index.tolist() == ts.tolist()
    # estimate: FHL 2005 eq. 7 at the MLE point estimate
    ref = bgnbd.expected_purchases_new(numpy_ops, ts, **_point(fitted))
    np.testing.assert_allclose(frame["estimate"], ref, rtol=1e-12)
    # sd and the equal-tailed 80% interval: eq. 7 on every parameter draw
    draws = fitted.parameter_draws()
    names = list(fitted.param_names)
    per_draw = np.array(
        [
            bgnbd.expected_purchases_new(numpy_ops, ts, **dict(zip(names, row, strict=True)))
            for row in draws
        ]
    )
    np.testing.assert_allclose(frame["sd"], per_draw.std(axis=0, ddof=1), rtol=1e-9)
    lo, hi = np.quantile(per_draw, [0.1, 0.9], axis=0)
    np.testing.assert_allclose(frame["lower"], np.minimum(lo, ref), rtol=1e-9)
    np.testing.assert_allclose(frame["upper"], np.maximum(hi, ref), rtol=1e-9)
    info = frame.attrs["clvlab"]
    assert info["ci_prob"] == 0.8 and info["interval"] == "eti"
    assert info["quantity"] == "expected_purchases_new_customer"
    assert info["clamped_rows"] == {
        "lower": int(np.sum(lo > ref)),
        "upper": int(np.sum(hi < ref)),
    }
    hdi = fitted.expected_purchases_new_customer(ts, kind="hdi")
    assert hdi.attrs["clvlab"]["interval"] == "hdi"
    assert hdi.attrs["clvlab"]["ci_prob"] == fitted.ci_prob


def test_frequency_check_is_seeded_and_records_its_settings(
    fitted: Any, cdnow_sample_rfm: pd.DataFrame
) -> None:
    rfm = cdnow_sample_rfm
    top = int(rfm["frequency"].max())
    # a cap above every observed frequency: the empty top bins are still listed
    one = clvlab.frequency_check(
        fitted, rfm, n_draws=20, max_frequency=top + 3, ci_prob=0.8, seed=7
    )
    two = clvlab.frequency_check(
        fitted, rfm, n_draws=20, max_frequency=top + 3, ci_prob=0.8, seed=7
    )
    pd.testing.assert_frame_equal(one, two)  # same seed, same simulation
    assert len(one) == top + 4 and one["observed"].iloc[-3:].tolist() == [0, 0, 0]
    assert one.attrs["clvlab"] == {
        "quantity": "frequency_check",
        "kind": "posterior",
        "ci_prob": 0.8,
    }
