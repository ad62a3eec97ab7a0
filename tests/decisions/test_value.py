"""The building blocks of the decision functions: per-customer factors under paired
draws, the per-period schedule, sums by group and across threads, and the refusal of
horizons past what the data can inform."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import clvlab
from clvlab.decisions.value import (
    MAX_EXTRAPOLATION,
    ONE_PASS_PERIODS,
    CustomerValue,
    check_extrapolation,
    parallel_sum,
    sum_by,
    summarise,
)
from clvlab.inference.draws import interval
from tests._family import CONTINUOUS, fit_mle

#: One month in weeks: 365.25 / 12 days of 7 days (clvlab.units' calendar).
MONTH_IN_WEEKS = 365.25 / 12 / 7


@pytest.fixture(scope="module")
def rfm(cdnow_sample_rfm: pd.DataFrame) -> pd.DataFrame:
    return cdnow_sample_rfm.iloc[::25]


def _draw_matrix(draws) -> np.ndarray:  # type: ignore[no-untyped-def]
    return draws.stack(s=("chain", "draw")).transpose("s", "customer_id").to_numpy()


def test_factors_reproduce_clv_draws(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame
) -> None:
    value = CustomerValue(bg, gg, rfm, horizon=5, discount_rate=0.02, margin=0.3)
    _, draws = clvlab.clv(bg, gg, rfm, horizon=5, discount_rate=0.02, margin=0.3, return_draws=True)
    rows = slice(3, 40)
    p = value.draws
    alive = value.alive(p, rows)
    spend = value.spend_per_purchase(p, rows)
    np.testing.assert_allclose(
        value.clv(p, rows, alive, spend), _draw_matrix(draws)[:, rows], rtol=1e-9
    )
    _, purchase_draws = bg.expected_purchases(rfm, 5 * MONTH_IN_WEEKS, return_draws=True)
    np.testing.assert_allclose(
        value.purchases(p, rows, alive), _draw_matrix(purchase_draws)[:, rows], rtol=1e-9
    )
    assert value.meta["horizon"] == 5 and value.meta["margin"] == 0.3
    assert value.n_draws == 200 and value.n_customers == len(rfm)
    assert dict(value.parameter_sets()).keys() == {"draws", "point"}


# every continuous-time model on CDNOW; BG/BB on its own data: tests/test_model_family.py
@pytest.mark.parametrize("name", CONTINUOUS)
@pytest.mark.parametrize("periods", [6, ONE_PASS_PERIODS + 6])
def test_cumulative_schedule_is_expected_purchases(
    name: str, periods: int, gg: clvlab.GammaGamma, cdnow_sample_rfm: pd.DataFrame
) -> None:
    # N_c(t_k) x P(alive) is E[Y(t_k) | history] (FHL 2005 eq. 10 for BG/NBD), for the
    # one-pass weighting and for the period-by-period evaluation of long schedules
    model = fit_mle(name, cdnow_sample_rfm, n_draws=20)
    rfm = cdnow_sample_rfm.iloc[::200]
    value = CustomerValue(model, gg, rfm, horizon=periods, unit="W")
    cumulative = value.cumulative_if_alive(value.draws, slice(0, value.n_pairs))
    assert cumulative.shape == (periods, 20, value.n_pairs)
    assert (np.diff(cumulative, axis=0) >= -1e-12).all()  # purchases only accumulate
    every = slice(0, value.n_customers)
    alive = value.alive(value.draws, every)
    for k in (0, periods // 2, periods - 1):
        _, draws = model.expected_purchases(rfm, k + 1.0, return_draws=True)
        np.testing.assert_allclose(
            alive * cumulative[k][:, value.pair_code], _draw_matrix(draws), rtol=1e-8, atol=1e-12
        )


def test_extrapolation_limit() -> None:
    T = np.array([10.0, 20.0])
    check_extrapolation(MAX_EXTRAPOLATION * 20.0, "W", "W", T)  # exactly 5 x: allowed
    with pytest.raises(
        clvlab.ArgumentError,
        match=r"a horizon of 100\.1 W looks 100\.1 W ahead.*longest customer history is 20 W"
        r".*at most 100 W, or more history",
    ):
        check_extrapolation(100.1, "W", "W", T)
    # 5 x 20 weeks = 100 weeks = 700 days = 22.997 months
    with pytest.raises(clvlab.ArgumentError, match=r"at most 23 M"):
        check_extrapolation(24, "M", "W", T)
    check_extrapolation(22.9, "M", "W", T)
    with pytest.raises(clvlab.ArgumentError, match=r"longest customer history is 0 W"):
        check_extrapolation(1, "W", "W", np.zeros(3))


def test_refuses_like_clv(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame) -> None:
    with pytest.raises(clvlab.ArgumentError, match=r"decide: the models are swapped"):
        CustomerValue(gg, bg, rfm, caller="decide")  # type: ignore[arg-type]
    with pytest.raises(clvlab.ArgumentError, match=r"discount_rate"):
        CustomerValue(bg, gg, rfm, discount_rate=-1)
    value = CustomerValue(bg, gg, rfm)
    with pytest.raises(clvlab.ArgumentError, match=r"ci_prob must lie strictly between 0 and 1"):
        value.interval_settings(0.0, None)
    assert value.interval_settings(None, None) == (0.9, "eti")
    assert value.interval_settings(0.5, "hdi") == (0.5, "hdi")


def test_table_is_a_copy(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame) -> None:
    table = rfm.copy()
    before = table.copy()
    value = CustomerValue(bg, gg, table)
    value.table.loc[value.table.index[0], "frequency"] = 99
    pd.testing.assert_frame_equal(table, before)


@settings(max_examples=40)
@given(
    hnp.arrays(
        np.float64, st.tuples(st.integers(1, 5), st.integers(1, 30)), elements=st.floats(-1e6, 1e6)
    ),
    st.data(),
)
def test_sum_by_is_a_groupby_sum(values: np.ndarray, data: st.DataObject) -> None:
    n_groups = data.draw(st.integers(1, 6))
    codes = np.array(
        data.draw(
            st.lists(
                st.integers(0, n_groups - 1), min_size=values.shape[1], max_size=values.shape[1]
            )
        )
    )
    got = sum_by(values, codes, n_groups)
    expected = np.zeros((values.shape[0], n_groups))  # hand: add each column to its group
    for i, c in enumerate(codes):
        expected[:, c] += values[:, i]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-6)
    assert got.shape == (values.shape[0], n_groups)


def test_parallel_sum_is_deterministic() -> None:
    parts = [np.arange(5.0) * (i + 1) for i in range(17)]
    result = parallel_sum(17, lambda i: {"a": parts[i], "b": np.array([float(i)])})
    np.testing.assert_allclose(result["a"], np.sum(parts, axis=0))
    assert result["b"].item() == sum(range(17))
    again = parallel_sum(17, lambda i: {"a": parts[i], "b": np.array([float(i)])})
    np.testing.assert_array_equal(result["a"], again["a"])


def test_summarise() -> None:
    draws = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]])
    mean = summarise(draws, None, 0.5, "eti")
    np.testing.assert_allclose(mean.estimate, [2.5, 25.0])  # posterior mean
    lo, hi = interval(draws, 0.5, "eti")
    np.testing.assert_allclose(mean.lower, lo)
    np.testing.assert_allclose(mean.upper, hi)
    # a plug-in estimate outside the interval widens it, as clv's tables are widened
    plug = summarise(draws, np.array([0.0, 45.0]), 0.5, "eti")
    np.testing.assert_allclose(plug.estimate, [0.0, 45.0])
    np.testing.assert_allclose(plug.lower, [0.0, lo[1]])
    np.testing.assert_allclose(plug.upper, [hi[0], 45.0])
    assert set(plug.columns("x")) == {"x_estimate", "x_lower", "x_upper"}


def test_money_that_would_overflow_and_bad_seeds_are_refused(
    cdnow_sample_rfm: pd.DataFrame,
) -> None:
    bg = clvlab.BetaGeo().fit(cdnow_sample_rfm, seed=1, progress=False, n_draws=50)
    gg = clvlab.GammaGamma().fit(cdnow_sample_rfm, seed=2, progress=False, n_draws=50)
    huge = cdnow_sample_rfm.copy()
    repeat = huge.index[huge["frequency"] > 0][:2]
    huge.loc[repeat, "monetary_value"] = 1e307
    # 1e307 x purchases x draws overflows float64 (about 1.8e308): refused by name
    for call in (
        lambda: clvlab.clv(bg, gg, huge),
        lambda: clvlab.compare_groups(bg, gg, huge),
        lambda: clvlab.value_segments(bg, gg, huge),
    ):
        with pytest.raises(clvlab.DataValidationError, match="larger units"):
            call()
    with pytest.raises(clvlab.ArgumentError, match="seed"):
        clvlab.clv(bg, gg, cdnow_sample_rfm, predictive=True, seed=-1)


def test_a_horizon_of_too_many_periods_is_refused_before_any_array(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, cdnow_sample_rfm: pd.DataFrame
) -> None:
    # 1e9 monthly periods would need gigabytes per array (it used to exhaust memory):
    # refused by cash_flow_schedule itself, for CLV and every decision table
    for call in (
        lambda: clvlab.clv(bg, gg, cdnow_sample_rfm, horizon=1e9),
        lambda: clvlab.compare_groups(bg, gg, cdnow_sample_rfm, horizon=1e9),
        lambda: clvlab.revenue_forecast(bg, gg, cdnow_sample_rfm, periods=10**9),
    ):
        with pytest.raises(clvlab.ArgumentError, match=r"more than 1,000,000 cash-flow periods"):
            call()
