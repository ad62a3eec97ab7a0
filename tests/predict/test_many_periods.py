"""CLV over long cash-flow schedules (daily over ten years): the checked interpolatory
rule of :mod:`clvlab.formulas._bg_discounted_numba` against the exact sum over every period
end, for parameter draws, the MLE plug-in point and end to end through ``clvlab.clv``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clvlab
from clvlab._runs import runs_of
from clvlab.formulas import _bg_discounted, bgnbd
from clvlab.formulas import _bg_discounted_numba as compiled
from clvlab.predict.clv import cash_flow_schedule

# CDNOW-sample estimates in weeks, Fader, Hardie & Lee (2005) p. 281
FHL = {"r": 0.242593, "alpha": 4.413532, "a": 0.792886, "b": 2.425752}
NAMES = ("r", "alpha", "a", "b")

SCHEDULES = {
    # daily cash flows over ten years, for an RFM in weeks (3,653 period ends)
    "daily-10y": cash_flow_schedule(3653, "D", "W", 1e-4),
    # weekly over ten years (522 ends)
    "weekly-10y": cash_flow_schedule(522, "W", "W", 0.002),
    # a partial last period, and no discounting (only the last end has a weight)
    "daily-partial": cash_flow_schedule(3652.6, "D", "W", 1e-4),
    "weekly-undiscounted": cash_flow_schedule(300.25, "W", "W", 0.0),
    # irregular, uneven periods, discounts falling at an uneven pace
    "irregular": (
        np.cumsum(np.random.default_rng(3).uniform(0.05, 4.0, 400)),
        np.exp(-np.cumsum(np.random.default_rng(4).uniform(0.0, 0.01, 400))),
    ),
}


def _exact(
    x: np.ndarray, T: np.ndarray, p: Mapping[str, Any], ends: np.ndarray, discounts: np.ndarray
) -> np.ndarray:
    """The sum over every period end: the compiled per-end series
    (:func:`compiled.discounted_purchases`, checked against mpmath and eq. 9 in
    test_extremes.py and test_clv.py), the closed form of eq. 9 where it does not apply."""
    order, x_unique, bounds = runs_of(x)
    T_unique, T_index = np.unique(T[order], return_inverse=True)
    r, alpha, a, b = (np.ascontiguousarray(np.ravel(p[n]), dtype=float) for n in NAMES)
    sorted_out = np.empty((1, len(r), len(x)))
    compiled.discounted_purchases(
        r,
        alpha,
        a,
        b,
        x_unique.astype(float),
        bounds.astype(float),
        T_index.ravel().astype(float),
        T_unique.astype(float),
        np.asarray(ends, dtype=float),
        np.asarray(discounts, dtype=float)[None, :],
        sorted_out,
    )
    out = np.empty((len(r), len(x)))
    out[:, order] = sorted_out[0]
    rows, cols = np.nonzero(np.isnan(out))
    if len(rows):
        draw = {n: np.ravel(p[n])[rows] for n in NAMES}
        with np.errstate(divide="ignore", invalid="ignore"):  # eq. 9 at a = 1 is 0/0
            out[rows, cols] = _bg_discounted._closed_form(
                x[cols], T[cols], draw, ends, discounts, bgnbd.expected_purchases_new
            )
    return out


def _rule_only(
    x: np.ndarray, T: np.ndarray, p: Mapping[str, Any], ends: np.ndarray, discounts: np.ndarray
) -> np.ndarray:
    """The rule's own output, NaN where its check sends an entry to the exact sum."""
    order, x_unique, bounds = runs_of(x)
    T_unique, T_index = np.unique(T[order], return_inverse=True)
    r, alpha, a, b = (np.ascontiguousarray(np.ravel(p[n]), dtype=float) for n in NAMES)
    nodes, fine, coarse = compiled.long_schedule_rule(ends, discounts)
    sorted_out = np.empty((len(r), len(x)))
    compiled.discounted_purchases_rule(
        r,
        alpha,
        a,
        b,
        x_unique.astype(float),
        bounds.astype(float),
        T_index.ravel().astype(float),
        T_unique.astype(float),
        nodes,
        fine,
        coarse,
        compiled.chebyshev_cosines(),
        compiled.RULE_TOLERANCE,
        sorted_out,
    )
    out = np.empty_like(sorted_out)
    out[:, order] = sorted_out
    return out


factors = st.lists(
    st.tuples(*(st.floats(0.5, 2.0) for _ in NAMES)), min_size=1, max_size=3
)  # FHL parameters scaled by 0.5-2, one tuple per draw
pairs = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 50), st.sampled_from([300, 1000, 5000, 10_000])),
        st.one_of(
            st.floats(20.0, 80.0),
            st.sampled_from([1e-6, 1e-3, 0.5, 1e3, 1e4]),
        ),
    ),
    min_size=1,
    max_size=4,
)


def _draws(scales: list[tuple[float, ...]]) -> dict[str, np.ndarray]:
    return {n: np.array([[FHL[n] * s[i]] for s in scales]) for i, n in enumerate(NAMES)}


@pytest.mark.parametrize("schedule", list(SCHEDULES))
@settings(max_examples=40)
@given(scales=factors, customers=pairs)
def test_rule_equals_the_exact_sum_over_every_period(
    schedule: str, scales: list[tuple[float, ...]], customers: list[tuple[int, float]]
) -> None:
    ends, discounts = SCHEDULES[schedule]
    assert len(ends) > compiled.LONG_SCHEDULE  # the rule is what is tested
    x = np.array([c[0] for c in customers], dtype=float)
    T = np.array([c[1] for c in customers])
    p = _draws(scales)
    fast = _bg_discounted._compiled(x, T, p, ends, discounts, bgnbd.expected_purchases_new)
    assert fast.shape == (len(scales), len(x))
    assert np.isfinite(fast).all() and (fast >= 0).all()
    # source: the sum over every end (_exact)
    np.testing.assert_allclose(fast, _exact(x, T, p, ends, discounts), rtol=1e-9)


@pytest.mark.parametrize("a", [1.0, 1.0 - 1e-9, 1.0 + 1e-7, 0.999])
@pytest.mark.parametrize("schedule", ["daily-10y", "irregular"])
def test_rule_near_a_equal_to_one(a: float, schedule: str) -> None:
    """eq. 9's factor (a + b - 1) / (a - 1) is singular at a = 1; the rule is not."""
    ends, discounts = SCHEDULES[schedule]
    x = np.array([0.0, 1, 7, 40, 1000])
    T = np.array([30.0, 0.5, 39, 52, 39])
    p = {n: np.full((1, 1), v) for n, v in FHL.items()}
    p["a"] = np.full((1, 1), a)
    fast = _bg_discounted._compiled(x, T, p, ends, discounts, bgnbd.expected_purchases_new)
    assert np.isfinite(fast).all()
    # source: the sum over every end (_exact)
    np.testing.assert_allclose(fast, _exact(x, T, p, ends, discounts), rtol=1e-9)


def test_entries_beyond_the_compiled_series_take_the_rule_with_the_closed_form() -> None:
    """Tiny exposures over ten years put z = t / (alpha + T + t) so close to 1 that the
    compiled series gives up (NaN); those entries are still answered by the rule, with
    eq. 9's closed form at its nodes, and equal the exact sum."""
    ends, discounts = SCHEDULES["daily-10y"]
    x = np.array([0.0, 1, 2, 0])
    T = np.array([1e-6, 1e-3, 0.5, 1e4])
    p = {n: np.full((2, 1), v) for n, v in FHL.items()}
    p["alpha"] = np.array([[0.05], [FHL["alpha"]]])
    assert np.isnan(_rule_only(x, T, p, ends, discounts)[0, :3]).all()  # series out of range
    fast = _bg_discounted._compiled(x, T, p, ends, discounts, bgnbd.expected_purchases_new)
    assert np.isfinite(fast).all() and (fast > 0).all()
    # source: the sum over every end (_exact)
    np.testing.assert_allclose(fast, _exact(x, T, p, ends, discounts), rtol=1e-9)


def test_rule_covers_cdnow_like_customers_and_equals_the_exact_sum() -> None:
    """On CDNOW-like histories (x 0-40, T 27-39 weeks) and draws around the FHL
    estimates the rule itself answers every entry: nothing goes to the slow exact sum."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 41, 60).astype(float)
    T = rng.uniform(27.0, 39.0, 60)
    p = {n: v * np.exp(rng.normal(0.0, 0.1, (6, 1))) for n, v in FHL.items()}
    ends, discounts = SCHEDULES["daily-10y"]
    fast = _rule_only(x, T, p, ends, discounts)
    assert np.isfinite(fast).all()
    # source: the sum over every end (_exact)
    np.testing.assert_allclose(fast, _exact(x, T, p, ends, discounts), rtol=1e-9)


def test_short_schedules_are_unchanged() -> None:
    """12 monthly ends take the per-end series exactly as before the rule existed."""
    ends, discounts = cash_flow_schedule(12, "M", "W", 0.01)
    assert len(ends) <= compiled.LONG_SCHEDULE
    rng = np.random.default_rng(1)
    x = np.r_[0, 1, 5, 300, rng.integers(0, 40, 20)].astype(float)
    T = np.r_[0.5, 10, 39, 1.0, rng.uniform(0, 80, 20)]
    p = {n: v * rng.uniform(0.9, 1.1, (5, 1)) for n, v in FHL.items()}
    # source: the per-end series itself (bit for bit)
    np.testing.assert_array_equal(
        _bg_discounted._compiled(x, T, p, ends, discounts, bgnbd.expected_purchases_new),
        _exact(x, T, p, ends, discounts),
    )
    point = bgnbd.discounted_purchases_if_alive(x, T, FHL, ends, discounts)
    np.testing.assert_array_equal(
        point, _bg_discounted._closed_form(x, T, FHL, ends, discounts, bgnbd.expected_purchases_new)
    )


@pytest.mark.parametrize("schedule", ["daily-10y", "irregular"])
def test_plug_in_point_equals_the_closed_form(schedule: str) -> None:
    """An MLE estimate (floats) over a long schedule: the rule, within 1e-9 of eq. 9
    summed over every end, including pairs the rule hands to the closed form."""
    ends, discounts = SCHEDULES[schedule]
    x = np.array([0.0, 1, 3, 12, 40, 300, 10_000, 0])
    T = np.array([30.0, 39, 1e-6, 27, 38, 1.0, 39, 1e4])
    point = bgnbd.discounted_purchases_if_alive(x, T, FHL, ends, discounts)
    assert point.shape == x.shape
    # source: eq. 9 (bgnbd.expected_purchases_new) summed over every period end
    np.testing.assert_allclose(
        point,
        _bg_discounted._closed_form(x, T, FHL, ends, discounts, bgnbd.expected_purchases_new),
        rtol=1e-9,
    )


@pytest.fixture(scope="module")
def small_models() -> tuple[clvlab.BetaGeo, clvlab.GammaGamma, pd.DataFrame]:
    summary = clvlab.datasets.load_cdnow_summary()
    bg = clvlab.BetaGeo().fit(summary, seed=1, progress=False, n_draws=30)
    gg = clvlab.GammaGamma().fit(summary, seed=2, progress=False, n_draws=30)
    return bg, gg, summary.iloc[:12]


def test_clv_daily_over_ten_years_equals_the_exact_sum(
    small_models: tuple[clvlab.BetaGeo, clvlab.GammaGamma, pd.DataFrame],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bg, gg, table = small_models
    before = table.copy()
    fast = clvlab.clv(bg, gg, table, horizon=3653, unit="D", discount_rate=1e-4)
    pd.testing.assert_frame_equal(table, before)  # the input is untouched
    # source: the same call summing over all 3,653 period ends (the rule switched off)
    monkeypatch.setattr(compiled, "LONG_SCHEDULE", 10**9)
    exact = clvlab.clv(bg, gg, table, horizon=3653, unit="D", discount_rate=1e-4)
    assert fast.index.equals(exact.index)
    assert np.isfinite(fast.to_numpy()).all()
    np.testing.assert_allclose(fast.to_numpy(), exact.to_numpy(), rtol=1e-9)


@pytest.mark.parametrize(
    "params",
    [FHL, {"r": 3.0, "alpha": 0.5, "a": 5.0, "b": 0.2}],
    ids=["fhl", "large-a"],
)
def test_growing_discounts_are_right(params: dict[str, float]) -> None:
    """A negative rate (-1% a day over ten years) makes the discounts grow to 1e16, so the
    weights of the summation by parts cancel; the check counts that rounding and the
    result still equals eq. 9 summed period by period."""
    ends, discounts = cash_flow_schedule(3653, "D", "W", -0.01)
    x = np.array([0.0, 1, 5, 300, 1e4, 1e5])
    T = np.array([1e-6, 1e-6, 1.0, 1.0, 39, 1e4])
    p = {n: np.array([[v], [1.1 * v]]) for n, v in params.items()}
    fast = _bg_discounted._compiled(x, T, p, ends, discounts, bgnbd.expected_purchases_new)
    assert np.isfinite(fast).all() and (fast > 0).all()
    # source: eq. 9 (bgnbd.expected_purchases_new) summed over every period end
    np.testing.assert_allclose(
        fast,
        _bg_discounted._closed_form(x, T, p, ends, discounts, bgnbd.expected_purchases_new),
        rtol=1e-9,
    )
