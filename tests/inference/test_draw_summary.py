"""The compiled per-column summary of draws against NumPy, which it must equal.

Expected values come from NumPy itself (``np.quantile`` with its default ``linear``
method and with ``inverted_cdf``, ``mean``, ``std(ddof=1)``, the matrix product): the
kernel is a faster route to the same numbers, so the bounds must be bit-identical.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from clvlab.inference.draws import interval, summarize_columns


def _numpy(values: np.ndarray, ci: float, discrete: bool, w: np.ndarray) -> tuple[np.ndarray, ...]:
    method = "inverted_cdf" if discrete else "linear"
    lo, hi = np.quantile(values, [(1 - ci) / 2, (1 + ci) / 2], axis=0, method=method)
    sd = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(values.shape[1])
    return values.mean(axis=0), sd, lo, hi, values @ w


@pytest.mark.parametrize("n_draws", [1, 2, 3, 64, 65, 400, 2000, 4001])
@pytest.mark.parametrize("ci", [0.1, 0.5, 0.9, 0.94, 0.999])
@pytest.mark.parametrize("discrete", [False, True])
def test_equals_numpy_on_skewed_tied_and_sorted_columns(
    n_draws: int, ci: float, discrete: bool
) -> None:
    rng = np.random.default_rng(n_draws)
    values = rng.gamma(0.5, size=(n_draws, 12)) * rng.random(12)
    values[:, :3] = np.round(values[:, :3] * 3)  # counts with many ties
    values[:, 3] = 7.0  # constant
    values[:, 4] = np.sort(values[:, 4])  # sorted draws: the sample is not random
    values[:, 5] = -np.sort(values[:, 5])
    values[:, 6] = np.where(rng.random(n_draws) < 0.5, 0.0, 1.0)  # two values
    w = rng.integers(1, 5, size=12).astype(float)
    got = summarize_columns(values, ci, discrete=discrete, weights=w)
    want = _numpy(values, ci, discrete, w)
    for name, g, e in zip(("mean", "sd", "lower", "upper", "totals"), got, want, strict=True):
        if name in ("lower", "upper"):
            np.testing.assert_array_equal(g, e, err_msg=name)
        else:
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12, err_msg=name)


@settings(max_examples=150, deadline=None)
@given(
    values=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=300),
        elements=st.floats(-1e6, 1e6, allow_nan=False, width=64),
    ),
    ci=st.floats(0.01, 0.99),
    discrete=st.booleans(),
)
def test_bounds_equal_numpy_for_any_values(values: np.ndarray, ci: float, discrete: bool) -> None:
    _, _, lo, hi, _ = summarize_columns(values, ci, discrete=discrete)
    _, _, want_lo, want_hi, _ = _numpy(values, ci, discrete, np.ones(values.shape[1]))
    np.testing.assert_array_equal(lo, want_lo)
    np.testing.assert_array_equal(hi, want_hi)


def test_a_nan_makes_its_column_nan_as_in_numpy() -> None:
    values = np.random.default_rng(0).random((500, 3))
    values[17, 1] = np.nan
    mean, sd, lo, hi, _ = summarize_columns(values, 0.9)
    assert np.isnan([mean[1], sd[1], lo[1], hi[1]]).all()
    assert np.isfinite([mean[0], sd[0], lo[0], hi[0], mean[2], lo[2]]).all()
    assert np.isnan(np.quantile(values[:, 1], 0.05))


def test_interval_keeps_the_shape_of_the_samples() -> None:
    samples = np.random.default_rng(1).random((300, 2, 3))
    lo, hi = interval(samples, 0.8)
    want = np.quantile(samples, [(1 - 0.8) / 2, (1 + 0.8) / 2], axis=0)
    assert lo.shape == (2, 3)
    np.testing.assert_array_equal(lo, want[0])
    np.testing.assert_array_equal(hi, want[1])
    lo, hi = interval(np.arange(10.0), 0.8)
    assert isinstance(lo, np.float64) and lo == pytest.approx(0.9)  # a scalar, as NumPy's


@pytest.mark.parametrize(
    ("values", "ci", "message"),
    [
        (np.ones((3, 2)), 1.0, "ci_prob"),
        (np.ones((0, 2)), 0.9, "draws >= 1"),
        (np.ones(3), 0.9, "shape"),
    ],
)
def test_refuses_what_it_cannot_summarise(values: np.ndarray, ci: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        summarize_columns(values, ci)


@pytest.mark.parametrize("n", [20_000, 200_001])
def test_orders_that_defeat_the_pivot_give_numpys_bounds(n: int) -> None:
    # 1, 2, ..., n - 1, 0 removes two values per quickselect round: without the
    # merge-sort fallback, 200,001 draws took 42 s at ci_prob 1e-9 (NumPy: 5 ms); with it
    # they take milliseconds, and the fallback's answer is the same
    ascending = np.append(np.arange(1.0, n), 0.0)[:, None]
    organ = np.r_[np.arange(n // 2), np.arange(n - n // 2)[::-1]].astype(float)[:, None]
    for values in (ascending, organ):
        for ci in (0.9, 1e-9):
            _, _, lo, hi, _ = summarize_columns(values, ci)
            want = np.quantile(values, [(1 - ci) / 2, (1 + ci) / 2], axis=0)
            np.testing.assert_array_equal(lo, want[0])
            np.testing.assert_array_equal(hi, want[1])


@pytest.mark.parametrize("ci", [np.array([0.9]), "0.9", None, float("nan"), 0.0])
def test_a_bad_ci_prob_is_a_clvlab_error(ci: object) -> None:
    from clvlab.errors import ArgumentError

    with pytest.raises(ArgumentError, match="ci_prob"):
        summarize_columns(np.ones((3, 2)), ci)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="ci_prob"):
        interval(np.ones((3, 2)), ci)  # type: ignore[arg-type]


def test_weights_must_match_the_columns() -> None:
    with pytest.raises(ValueError, match="weights"):
        summarize_columns(np.ones((3, 2)), 0.9, weights=np.ones(3))
