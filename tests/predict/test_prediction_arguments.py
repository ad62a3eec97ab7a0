"""Arguments of every prediction, CLV and evaluation function (issue 12, item 5).

Each bad value is refused with a clvlab error naming the argument, before any work,
and the caller's table is left as it was. Edge values that have a right answer (t = 0,
n = 0) give it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clvlab
from clvlab.errors import ArgumentError
from clvlab.predict.engine import summary_table


@pytest.fixture(scope="module")
def bg(cdnow_sample_rfm: pd.DataFrame) -> clvlab.BetaGeo:
    return clvlab.BetaGeo().fit(cdnow_sample_rfm, seed=1, progress=False, n_draws=100)


@pytest.fixture(scope="module")
def gg(cdnow_sample_rfm: pd.DataFrame) -> clvlab.GammaGamma:
    return clvlab.GammaGamma().fit(cdnow_sample_rfm, seed=1, progress=False, n_draws=100)


@pytest.fixture(scope="module")
def rfm(cdnow_sample_rfm: pd.DataFrame) -> pd.DataFrame:
    return cdnow_sample_rfm.iloc[:40]


NAN, INF = float("nan"), float("inf")
# (value, the start of the message that names what is wrong)
BAD_TIMES = [
    (-1.0, "must be zero or positive"),
    ("12", "must be a real number"),
    (INF, "must be a finite number"),
    (NAN, "must be a finite number"),
    (None, "must be a real number"),
]
BAD_HORIZONS = [
    (-1.0, "must be positive"),
    (0, "must be positive"),
    ("12", "must be a real number"),
    (INF, "must be a finite number"),
    (NAN, "must be a finite number"),
]
BAD_N = [(-1, "integer >= 0"), (1.5, "integer >= 0"), ("2", "integer >= 0"), (NAN, "integer")]
BAD_CI = [
    (0, "must lie strictly between 0 and 1"),
    (1, "must lie strictly between 0 and 1"),
    (1.5, "must lie strictly between 0 and 1"),
    (NAN, "must be a finite number"),
    ("0.9", "must be a real number"),
]
BAD_KINDS = ["ETI", "quantile", 0, ""]


def _ids(cases: list[tuple[Any, str]]) -> list[str]:
    return [repr(v) for v, _ in cases]


def _unchanged(rfm: pd.DataFrame, call: Callable[[], Any]) -> None:
    before = rfm.copy()
    call()
    pd.testing.assert_frame_equal(rfm, before)


def _refused(rfm: pd.DataFrame, call: Callable[[], Any], error: type, match: str) -> None:
    def run() -> None:
        with pytest.raises(error, match=match):
            call()

    _unchanged(rfm, run)


@pytest.mark.parametrize(("value", "message"), BAD_TIMES, ids=_ids(BAD_TIMES))
def test_bad_t(bg: clvlab.BetaGeo, rfm: pd.DataFrame, value: Any, message: str) -> None:
    for call in (
        lambda: bg.expected_purchases(rfm, value),
        lambda: bg.expected_purchases(rfm, value, predictive=True, seed=1),
        lambda: bg.probability_alive(rfm, t=value),
        lambda: bg.probability_of_purchases(rfm, value, 1),
    ):
        _refused(rfm, call, ArgumentError, rf"^t {message}")
    with pytest.raises(ArgumentError, match=r"^t "):
        bg.expected_purchases_new_customer(value)


@pytest.mark.parametrize(("value", "message"), BAD_N, ids=_ids(BAD_N))
def test_bad_n(bg: clvlab.BetaGeo, rfm: pd.DataFrame, value: Any, message: str) -> None:
    _refused(
        rfm, lambda: bg.probability_of_purchases(rfm, 4, value), ArgumentError, f"^n .*{message}"
    )


@pytest.mark.parametrize(("value", "message"), BAD_HORIZONS, ids=_ids(BAD_HORIZONS))
def test_bad_horizon(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame, value: Any, message: str
) -> None:
    for call in (
        lambda: clvlab.clv(bg, gg, rfm, horizon=value),
        lambda: clvlab.predict_customers(bg, gg, rfm, horizon=value),
    ):
        _refused(rfm, call, ArgumentError, f"^horizon {message}")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("discount_rate", NAN, "discount_rate must be a finite number, got nan"),
        ("discount_rate", INF, "discount_rate must be a finite number"),
        ("discount_rate", -1.0, r"discount_rate must be greater than -1"),
        ("discount_rate", "0.01", "discount_rate must be a real number"),
        ("margin", NAN, "margin must be a finite number, got nan"),
        ("margin", 0.0, r"margin must lie in \(0, 1\], got 0.0"),
        ("margin", -0.2, r"margin must lie in \(0, 1\]"),
        ("margin", 1.5, r"margin must lie in \(0, 1\], got 1.5"),
        ("margin", INF, "margin must be a finite number"),
        ("unit", "fortnight", "unknown time unit 'fortnight'"),
        ("unit", 12, "unknown time unit 12"),
    ],
)
def test_bad_rate_margin_unit(
    bg: clvlab.BetaGeo,
    gg: clvlab.GammaGamma,
    rfm: pd.DataFrame,
    name: str,
    value: Any,
    message: str,
) -> None:
    for fn in (clvlab.clv, clvlab.predict_customers):
        _refused(rfm, lambda fn=fn: fn(bg, gg, rfm, **{name: value}), ArgumentError, message)


def test_per_period_rate_and_schedule() -> None:
    from clvlab.predict.clv import cash_flow_schedule

    with pytest.raises(ArgumentError, match=r"annual_rate must be a finite number"):
        clvlab.per_period_rate(NAN, "M")
    with pytest.raises(ArgumentError, match=r"annual_rate must be greater than -1"):
        clvlab.per_period_rate(-1.0, "M")
    with pytest.raises(ArgumentError, match=r"unknown time unit 'H'"):
        clvlab.per_period_rate(0.1, "H")
    # a quarter is a fourth of a 365.25-day year (units.py): 4 quarters compound to 10%
    assert (1 + clvlab.per_period_rate(0.1, "Q")) ** 4 == pytest.approx(1.1, rel=1e-14)
    with pytest.raises(ArgumentError, match=r"horizon must be positive"):
        cash_flow_schedule(-3, "M", "W", 0.0)
    with pytest.raises(ArgumentError, match=r"discount_rate must be a finite number"):
        cash_flow_schedule(3, "M", "W", NAN)
    # Hand computation: (1.1)^(1/12) - 1 = 0.0079741 per month of a 365.25-day year.
    assert clvlab.per_period_rate(0.1, "months") == pytest.approx(1.1 ** (1 / 12) - 1)


@pytest.mark.parametrize(("value", "message"), BAD_CI, ids=_ids(BAD_CI))
def test_bad_ci_prob(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame, value: Any, message: str
) -> None:
    for call in (
        lambda: bg.expected_purchases(rfm, 4, ci_prob=value),
        lambda: bg.probability_alive(rfm, ci_prob=value),
        lambda: bg.probability_of_purchases(rfm, 4, 0, ci_prob=value),
        lambda: bg.expected_purchases_new_customer(4, ci_prob=value),
        lambda: gg.expected_spend(rfm, ci_prob=value),
        lambda: clvlab.clv(bg, gg, rfm, ci_prob=value),
        lambda: clvlab.tracking(bg, rfm, pd.DataFrame(), ci_prob=value),
        lambda: clvlab.frequency_check(bg, rfm, ci_prob=value),
    ):
        _refused(rfm, call, ArgumentError, f"^ci_prob {message}")
    with pytest.raises(ArgumentError, match=rf"^ci_probs {message}"):
        clvlab.evaluate(bg, rfm, ci_probs=(0.5, value))


@pytest.mark.parametrize("value", BAD_KINDS)
def test_bad_interval_kind(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame, value: Any
) -> None:
    message = r"^kind must be 'eti' \(equal-tailed\) or 'hdi' \(highest density\)"
    for call in (
        lambda: bg.expected_purchases(rfm, 4, kind=value),
        lambda: bg.probability_alive(rfm, kind=value),
        lambda: bg.probability_of_purchases(rfm, 4, 0, kind=value),
        lambda: gg.expected_spend(rfm, kind=value),
        lambda: clvlab.clv(bg, gg, rfm, kind=value),
    ):
        _refused(rfm, call, ArgumentError, message)
    with pytest.raises(ArgumentError, match=message):
        bg.expected_purchases_new_customer(4, kind=value)


def test_model_settings_changed_after_fitting_are_checked_at_predict_time(
    cdnow_sample_rfm: pd.DataFrame, rfm: pd.DataFrame
) -> None:
    bg = clvlab.BetaGeo().fit(cdnow_sample_rfm, seed=1, progress=False, n_draws=50)
    bg.ci_prob = 1.0
    with pytest.raises(ArgumentError, match=r"^ci_prob must lie strictly between 0 and 1"):
        bg.expected_purchases(rfm, 4)
    bg.ci_prob, bg.interval_kind = 0.9, "median"  # type: ignore[assignment]
    with pytest.raises(ArgumentError, match=r"^interval_kind must be 'eti'"):
        bg.probability_alive(rfm)


def test_swapped_models_name_which_is_which(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame
) -> None:
    swapped = r"the models are swapped: the first argument is the purchase model \(e\.g\. BetaGeo"
    _refused(rfm, lambda: clvlab.predict_customers(gg, bg, rfm), ArgumentError, swapped)  # type: ignore[arg-type]
    _refused(rfm, lambda: clvlab.clv(gg, bg, rfm), ArgumentError, swapped)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"second argument must be the spend model"):
        clvlab.predict_customers(bg, bg, rfm)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"first argument must be the purchase model"):
        clvlab.clv(gg, gg, rfm)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"first argument must be the purchase model"):
        clvlab.clv(rfm, gg, rfm)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"spend model goes in spend_model="):
        clvlab.evaluate(gg, rfm)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"spend_model must be a fitted GammaGamma"):
        clvlab.evaluate(bg, rfm, spend_model=bg)  # type: ignore[arg-type]
    with pytest.raises(clvlab.NotFittedError, match=r"call fit"):
        clvlab.predict_customers(clvlab.BetaGeo(), gg, rfm)


def test_evaluation_arguments(bg: clvlab.BetaGeo, rfm: pd.DataFrame) -> None:
    with pytest.raises(ArgumentError, match=r"ci_probs is empty"):
        clvlab.evaluate(bg, rfm, ci_probs=())
    with pytest.raises(ArgumentError, match=r"ci_probs must be a sequence"):
        clvlab.evaluate(bg, rfm, ci_probs=0.9)  # type: ignore[arg-type]
    for bad in (0, -3, 2.5):
        with pytest.raises(ArgumentError, match=r"^max_draws must be an integer >= 1"):
            clvlab.evaluate(bg, rfm, max_draws=bad)  # type: ignore[arg-type]
        with pytest.raises(ArgumentError, match=r"^max_draws must be an integer >= 1"):
            clvlab.tracking(bg, rfm, pd.DataFrame(), max_draws=bad)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"rank_by must be one of \['purchases_mae'"):
        clvlab.compare([bg], rfm, rank_by="mae")
    with pytest.raises(ArgumentError, match=r"one distinct name per model: 1 models"):
        clvlab.compare([bg], rfm, names=["a", "b"])
    with pytest.raises(ArgumentError, match=r"non-empty list"):
        clvlab.compare([], rfm)
    with pytest.raises(ArgumentError, match=r"non-empty list"):
        clvlab.compare(bg, rfm)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"rank_by='elpd_loo' is not available"):
        clvlab.compare([bg], rfm, rank_by="elpd_loo")


def test_check_and_grid_arguments(bg: clvlab.BetaGeo, rfm: pd.DataFrame) -> None:
    with pytest.raises(ArgumentError, match=r"kind must be 'posterior' or 'prior'"):
        clvlab.frequency_check(bg, rfm, kind="both")  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"^n_draws must be an integer >= 1, got 0"):
        clvlab.frequency_check(bg, rfm, n_draws=0)
    with pytest.raises(ArgumentError, match=r"^max_frequency must be an integer >= 1"):
        clvlab.frequency_check(bg, rfm, max_frequency=-1)
    with pytest.raises(ArgumentError, match=r"^T must be positive"):
        clvlab.frequency_recency_matrix(bg, T=-1.0)
    with pytest.raises(ArgumentError, match=r"^T must be a finite number"):
        clvlab.frequency_recency_matrix(bg, T=NAN)
    with pytest.raises(ArgumentError, match=r"^t must be zero or positive"):
        clvlab.frequency_recency_matrix(bg, T=30.0, t=-1.0)
    with pytest.raises(ArgumentError, match=r"^n_recency must be an integer >= 2"):
        clvlab.frequency_recency_matrix(bg, T=30.0, n_recency=1)
    with pytest.raises(ArgumentError, match=r"quantity must be 'expected_purchases' or"):
        clvlab.frequency_recency_matrix(bg, T=30.0, quantity="clv")  # type: ignore[arg-type]


def test_edge_values_with_a_right_answer(bg: clvlab.BetaGeo, rfm: pd.DataFrame) -> None:
    # Nothing can happen in no time: E[X(0)] = 0, P(X(0) = 0) = 1, P(alive at +0) = P(alive).
    zero = summary_table(bg.expected_purchases(rfm, 0))
    assert (zero[["estimate", "lower", "upper"]] == 0).all().all()
    p0 = summary_table(bg.probability_of_purchases(rfm, 0, 0))
    np.testing.assert_allclose(p0["estimate"], 1.0, rtol=0, atol=1e-12)
    p1 = summary_table(bg.probability_of_purchases(rfm, 0, 1))
    np.testing.assert_allclose(p1["estimate"], 0.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        summary_table(bg.probability_alive(rfm, t=0.0))["estimate"],
        summary_table(bg.probability_alive(rfm))["estimate"],
    )
    # integral floats and numpy scalars are whole numbers
    a = summary_table(bg.probability_of_purchases(rfm, np.float64(4), 2.0))
    b = summary_table(bg.probability_of_purchases(rfm, 4, np.int64(2)))
    pd.testing.assert_frame_equal(a, b)


@settings(max_examples=40, deadline=None)
@given(
    t=st.floats(0.0, 1e4, allow_nan=False),
    dt=st.floats(0.0, 1e3, allow_nan=False),
    n=st.integers(0, 30),
)
def test_predictions_stay_in_range(t: float, dt: float, n: int) -> None:
    bg, rfm = _fitted()
    alive_now = summary_table(bg.probability_alive(rfm, t=t))
    alive_later = summary_table(bg.probability_alive(rfm, t=t + dt))
    for table in (alive_now, alive_later):
        values = table[["estimate", "lower", "upper"]].to_numpy()
        assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()
    # P(alive) can only fall as time passes without a purchase (FHL 2005 model story)
    assert (alive_later["estimate"] <= alive_now["estimate"] + 1e-12).all()
    purchases = summary_table(bg.expected_purchases(rfm, t))
    assert np.isfinite(purchases.to_numpy()).all() and (purchases["lower"] >= 0).all()
    pmf = summary_table(bg.probability_of_purchases(rfm, t, n))
    values = pmf[["estimate", "lower", "upper"]].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1 + 1e-12).all()
    assert not math.isnan(float(purchases.attrs["clvlab"]["total"]["estimate"]))


_FITTED: dict[str, Any] = {}


def _fitted() -> tuple[clvlab.BetaGeo, pd.DataFrame]:
    if not _FITTED:
        s = clvlab.datasets.load_cdnow_summary()
        _FITTED["bg"] = clvlab.BetaGeo().fit(s, seed=1, progress=False, n_draws=50)
        _FITTED["rfm"] = s.iloc[::200]
    return _FITTED["bg"], _FITTED["rfm"]


def test_a_discount_factor_past_the_float_range_is_refused() -> None:
    # (1 - 0.5)**-3653 = 2**3653 overflows a float (max about 1.8e308 = 2**1024)
    from clvlab.predict.clv import cash_flow_schedule

    with pytest.raises(clvlab.ArgumentError, match=r"discount_rate=-0.5 per period over 3653"):
        cash_flow_schedule(3653, "D", "W", -0.5)
    _, discounts = cash_flow_schedule(3653, "D", "W", -1e-4)  # grows, stays finite
    assert np.isfinite(discounts).all() and discounts[-1] > 1
