"""Acquisition budget: new-customer value, CLV:CAC, P(CLV > CAC) and payback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import hyp2f1

import clvlab
from clvlab.decisions.acquisition import (
    SUMMARY_COLUMNS,
    acquisition,
    cac_summary,
    new_customer_value,
    new_customer_value_draws,
    read_cac,
)
from clvlab.formulas import numpy_ops
from clvlab.predict.clv import paired_source
from tests._family import CONTINUOUS, fit_mle

#: One month in weeks: 365.25 / 12 days of 7 days (clvlab.units' calendar).
MONTH_IN_WEEKS = 365.25 / 12 / 7


def _eq7(t: np.ndarray, r: float, alpha: float, a: float, b: float) -> np.ndarray:
    """E[X(t)] of a new BG/NBD customer as printed in Fader, Hardie & Lee (2005), eq. 7,
    evaluated with scipy's hyp2f1 (independent of clvlab's Euler-transformed form)."""
    z = t / (alpha + t)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))


# --- new-customer value ----------------------------------------------------------------


def test_value_equals_hand_computation(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma) -> None:
    table = new_customer_value(
        bg, gg, horizon=6.5, unit="M", discount_rate=0.01, margin=0.3, ci_prob=0.8
    )
    # Hand computation at the MLE: period ends 1..6 and 6.5 months, in weeks (the RFM's
    # unit); purchases per period from eq. 7 (FHL 2005); mean spend p v / (q - 1)
    # (Fader & Hardie 2013); each period discounted at 1% a month at its end.
    pb, ps = bg.point_params(), gg.point_params()
    ends = np.array([1, 2, 3, 4, 5, 6, 6.5]) * MONTH_IN_WEEKS
    cumulative = _eq7(ends, pb["r"], pb["alpha"], pb["a"], pb["b"])
    per_period = np.diff(cumulative, prepend=0.0)
    spend = ps["p"] * ps["v"] / (ps["q"] - 1)
    discounts = 1.01 ** -np.arange(1, 8)
    expected = 0.3 * np.cumsum(discounts * per_period) * spend
    assert table["period"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    np.testing.assert_allclose(table["period_end"], [1, 2, 3, 4, 5, 6, 6.5])
    np.testing.assert_allclose(table["purchases"], per_period, rtol=1e-9)
    np.testing.assert_allclose(table["value_estimate"], expected, rtol=1e-9)
    assert (table["value_lower"] <= table["value_estimate"]).all()
    assert (table["value_estimate"] <= table["value_upper"]).all()
    meta = table.attrs["clvlab"]
    assert meta["quantity"] == "new_customer_value"
    assert meta["time_unit"] == "W" and meta["unit"] == "M" and meta["horizon"] == 6.5
    assert meta["ci_prob"] == 0.8 and meta["interval"] == "eti" and meta["method"] == "mle"
    assert meta["total"]["estimate"] == pytest.approx(expected[-1], rel=1e-9)
    assert table.dtypes["period"] == np.int64


def test_draws_pair_both_models(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma) -> None:
    draws = new_customer_value_draws(bg, gg, horizon=3, unit="M", margin=0.5)
    # Hand computation draw by draw: paired draw j of BG/NBD and of Gamma-Gamma.
    p = paired_source(bg, gg).params
    ends = np.arange(1, 4) * MONTH_IN_WEEKS
    purchases = _eq7(ends[None, :], p["r"], p["alpha"], p["a"], p["b"])
    expected = 0.5 * purchases * (p["p"] * p["v"] / (p["q"] - 1))
    np.testing.assert_allclose(draws.cumulative, expected, rtol=1e-9)
    assert draws.cumulative.shape == (200, 3) and draws.point is not None
    # spend uncertainty reaches the interval: the paired draws vary more than with the
    # spend fixed at its point (a lower bound on the spread from purchases alone)
    fixed = 0.5 * purchases * (gg.point_params()["p"] * gg.point_params()["v"])
    fixed = fixed / (gg.point_params()["q"] - 1)
    assert draws.cumulative[:, -1].std() > fixed[:, -1].std()


def test_bayesian_estimate_is_posterior_mean(
    bg_map: clvlab.BetaGeo, gg_map: clvlab.GammaGamma
) -> None:
    draws = new_customer_value_draws(bg_map, gg_map, horizon=4)
    table = new_customer_value(bg_map, gg_map, horizon=4, kind="hdi", ci_prob=0.5)
    assert draws.point is None
    # posterior mean of the draws (the package's estimate for a Bayesian fit)
    np.testing.assert_allclose(table["value_estimate"], draws.cumulative.mean(axis=0))
    np.testing.assert_allclose(table["purchases"], draws.purchases.mean(axis=0))
    assert table.attrs["clvlab"]["estimate"] == "posterior mean"
    assert table.attrs["clvlab"]["interval"] == "hdi"


def test_units_are_explicit(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma) -> None:
    # One year = 12 months = 365.25/7 weeks (clvlab.units): the same total without
    # discounting, whatever the cash-flow unit.
    year = new_customer_value(bg, gg, horizon=1, unit="Y").attrs["clvlab"]["total"]
    months = new_customer_value(bg, gg, horizon=12, unit="months").attrs["clvlab"]["total"]
    weeks = new_customer_value(bg, gg, horizon=365.25 / 7, unit="W").attrs["clvlab"]["total"]
    for other in (months, weeks):
        for key in ("estimate", "lower", "upper"):
            assert other[key] == pytest.approx(year[key], rel=1e-10)


def test_total_grows_with_a_long_horizon(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma) -> None:
    table = new_customer_value(bg, gg, horizon=120, unit="M", discount_rate=0.005)
    # every period adds expected purchases > 0 at a positive discount factor
    assert np.all(np.diff(table["value_estimate"]) > 0)
    assert np.all(np.diff(table["value_lower"]) >= 0)
    assert np.all(np.diff(table["value_upper"]) >= 0)
    assert (table["purchases"] > 0).all()
    totals = [
        new_customer_value(bg, gg, horizon=h).attrs["clvlab"]["total"]["estimate"]
        for h in (1, 6, 12, 60, 240)
    ]
    assert totals == sorted(totals) and len(set(totals)) == len(totals)


# every continuous-time model on CDNOW; BG/BB on its own data: tests/test_model_family.py
@pytest.mark.parametrize("name", CONTINUOUS)
def test_every_purchase_model_runs(
    name: str, gg: clvlab.GammaGamma, cdnow_sample_rfm: pd.DataFrame
) -> None:
    model = fit_mle(name, cdnow_sample_rfm)
    table = new_customer_value(model, gg, horizon=18)
    assert len(table) == 18 and np.isfinite(table.to_numpy()).all()
    assert np.all(np.diff(table["value_estimate"]) > 0) and (table["purchases"] > 0).all()
    # the plug-in estimate is the model's own new-customer form times the mean spend
    point = model.point_params()
    ends = np.arange(1, 19) * MONTH_IN_WEEKS
    x = np.asarray(
        model.formulas.expected_purchases_new(
            numpy_ops, ends, **{k: point[k] for k in model.formulas.PARAMS}
        )
    )
    ps = gg.point_params()
    expected = x * ps["p"] * ps["v"] / (ps["q"] - 1)
    np.testing.assert_allclose(table["value_estimate"], expected, rtol=1e-9)
    result = acquisition(model, gg, {"cheap": 1.0, "dear": 1e6}, horizon=18)
    assert result.loc["cheap", "payback_estimate"] == 1
    assert bool(result.loc["dear", "payback_upper_censored"])
    assert result.loc["dear", "p_value_exceeds_cac"] == 0.0


# --- cac_summary ------------------------------------------------------------------------


def test_probability_and_ratio_count_the_draws() -> None:
    rng = np.random.default_rng(7)
    values = np.cumsum(rng.gamma(2.0, 5.0, size=(1000, 12)), axis=1)
    cac = 100.0
    s = cac_summary(values, cac, ci_prob=0.9, kind="eti")
    final = values[:, -1]
    # counting draws directly
    assert s["p_value_exceeds_cac"] == np.count_nonzero(final > cac) / 1000
    reached = (values >= cac).any(axis=1)
    assert s["p_payback_within_horizon"] == np.count_nonzero(reached) / 1000
    # the ratio's interval is the 5% and 95% quantiles of value / cac, its estimate the
    # posterior mean (no point given)
    lo, hi = np.quantile(final / cac, [0.05, 0.95])
    assert s["ratio_lower"] == pytest.approx(lo, rel=1e-12)
    assert s["ratio_upper"] == pytest.approx(hi, rel=1e-12)
    assert s["ratio_estimate"] == pytest.approx(final.mean() / cac, rel=1e-12)
    assert s["value_estimate"] == pytest.approx(final.mean(), rel=1e-12)
    assert list(s) == list(SUMMARY_COLUMNS)


def test_payback_with_censored_draws() -> None:
    # Hand-made: 10 draws over K = 4 periods, CAC 10. First period with value >= 10:
    # rows 0-2 -> 1, rows 3-5 -> 2, row 6 -> 4, rows 7-9 never (beyond the horizon).
    values = np.array(
        [
            [10, 20, 30, 40],
            [12, 20, 30, 40],
            [15, 20, 30, 40],
            [5, 10, 15, 20],
            [9, 11, 15, 20],
            [1, 10, 10, 10],
            [1, 2, 3, 10],
            [1, 2, 3, 4],
            [0, 0, 0, 9.99],
            [2, 4, 6, 8],
        ],
        dtype=float,
    )
    s = cac_summary(values, 10.0, ci_prob=0.8, kind="eti")
    # sorted periods 1,1,1,2,2,2,4,5,5,5 (5 = beyond K): inverted-CDF quantiles at 0.1,
    # 0.5, 0.9 are the 1st, 5th and 9th order statistics: 1, 2, 5 -> censored at K = 4.
    assert (s["payback_lower"], s["payback_estimate"], s["payback_upper"]) == (1, 2, 4)
    assert s["payback_lower_censored"] is False
    assert s["payback_estimate_censored"] is False
    assert s["payback_upper_censored"] is True
    assert s["p_payback_within_horizon"] == 0.7
    # value_K > 10 strictly: rows 0, 1, 2, 3, 4 (40, 40, 40, 20, 20); row 5 and 6 end at 10
    assert s["p_value_exceeds_cac"] == 0.5
    # most draws never pay back: the median itself is censored
    t = cac_summary(values, 25.0, ci_prob=0.8, kind="eti")
    # periods 3, 3, 3 (rows 0-2 reach 30 in period 3), then 5 x 7 (never): the median
    # (5th order statistic) is 5 -> K, censored; the 10% quantile the 1st, 3
    assert (t["payback_estimate"], t["payback_estimate_censored"]) == (4, True)
    assert (t["payback_lower"], t["payback_lower_censored"]) == (3, False)
    assert t["p_payback_within_horizon"] == 0.3


def test_payback_hdi_and_single_draw() -> None:
    values = np.array([[1.0, 2.0, 3.0]] * 8 + [[5.0, 6.0, 7.0]] * 2)
    s = cac_summary(values, 3.0, ci_prob=0.7, kind="hdi")
    # 8 draws pay back in period 3, 2 in period 1: the narrowest 70% window is {3}
    assert (s["payback_lower"], s["payback_estimate"], s["payback_upper"]) == (3, 3, 3)
    one = cac_summary(np.array([[4.0, 8.0]]), 5.0, ci_prob=0.9, kind="hdi")
    # one draw: it is its own interval
    assert (one["payback_lower"], one["payback_upper"], one["value_lower"]) == (2, 2, 8.0)


def test_point_estimate_and_widening() -> None:
    values = np.array([[1.0, 2.0], [1.0, 3.0], [2.0, 4.0], [2.0, 5.0]])
    point = np.array([10.0, 20.0])  # a plug-in path outside the draws
    s = cac_summary(values, 8.0, ci_prob=0.5, kind="eti", point=point)
    # the estimates come from the plug-in path: value 20, ratio 20/8, payback period 1
    assert s["value_estimate"] == 20.0 and s["ratio_estimate"] == 2.5
    assert s["payback_estimate"] == 1 and s["payback_estimate_censored"] is False
    # the bounds are widened to include them (as clvlab.clv does)
    assert s["value_upper"] == 20.0 and s["ratio_upper"] == 2.5 and s["payback_lower"] == 1
    assert s["payback_upper"] == 2 and s["payback_upper_censored"] is True


@settings(max_examples=50)
@given(
    increments=hnp.arrays(
        float,
        st.tuples(st.integers(1, 40), st.integers(1, 8)),
        elements=st.floats(0, 100, allow_nan=False),
    ),
    cac=st.floats(1e-3, 500),
    ci_prob=st.floats(0.05, 0.99),
    kind=st.sampled_from(["eti", "hdi"]),
    use_point=st.booleans(),
)
def test_cac_summary_properties(
    increments: np.ndarray, cac: float, ci_prob: float, kind: str, use_point: bool
) -> None:
    values = np.cumsum(increments, axis=1)
    point = values.mean(axis=0) if use_point else None
    s = cac_summary(values, cac, ci_prob=ci_prob, kind=kind, point=point)  # type: ignore[arg-type]
    k = values.shape[1]
    assert all(np.isfinite(float(v)) for v in s.values())
    for name in ("p_value_exceeds_cac", "p_payback_within_horizon"):
        assert 0.0 <= s[name] <= 1.0
    assert s["p_payback_within_horizon"] >= s["p_value_exceeds_cac"]
    for bound in ("lower", "estimate", "upper"):
        period = s[f"payback_{bound}"]
        assert isinstance(period, int) and 1 <= period <= k
        # censored means "beyond K": it is reported as K
        assert not s[f"payback_{bound}_censored"] or period == k
    assert s["payback_lower"] <= s["payback_estimate"] <= s["payback_upper"]
    assert s["value_lower"] <= s["value_estimate"] <= s["value_upper"]
    assert s["ratio_lower"] <= s["ratio_estimate"] <= s["ratio_upper"]
    # no draw pays back: everything censored; every draw pays back: nothing censored
    if s["p_payback_within_horizon"] == 0:
        assert s["payback_lower_censored"] and s["payback_upper_censored"]
    if s["p_payback_within_horizon"] == 1:
        assert not s["payback_upper_censored"] and not s["payback_lower_censored"]


# --- acquisition ------------------------------------------------------------------------


def test_acquisition_single_and_per_group(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma) -> None:
    single = acquisition(bg, gg, 25.0, horizon=24, discount_rate=0.01)
    assert single.index.tolist() == ["all"] and single.index.name == "group"
    draws = new_customer_value_draws(bg, gg, horizon=24, discount_rate=0.01)
    expected = cac_summary(draws.cumulative, 25.0, ci_prob=0.9, kind="eti", point=draws.point)
    row = single.loc["all"]
    assert row["cac"] == 25.0
    for name, value in expected.items():
        assert row[name] == value, name
    costs = {"search": 20.0, "social": 45.0, "tv": 5000.0}
    original = dict(costs)
    by_group = acquisition(bg, gg, costs, horizon=24, discount_rate=0.01)
    assert costs == original  # not mutated
    assert by_group.index.tolist() == ["search", "social", "tv"]
    # pooled models: only CAC differs, so the value is the same on every row
    assert by_group["value_estimate"].nunique() == 1
    assert (np.diff(by_group["ratio_estimate"]) < 0).all()
    assert by_group.loc["tv", "payback_estimate_censored"]
    assert by_group.loc["tv", "payback_estimate"] == 24
    schema = {
        "cac": "float64",
        "payback_estimate": "int64",
        "payback_upper_censored": "bool",
        "p_value_exceeds_cac": "float64",
    }
    for name, dtype in schema.items():
        assert str(by_group.dtypes[name]) == dtype
    assert list(by_group.columns) == ["cac", *SUMMARY_COLUMNS]
    meta = by_group.attrs["clvlab"]
    assert meta["quantity"] == "acquisition" and meta["periods"] == 24
    assert meta["total"]["estimate"] == pytest.approx(draws.point[-1])  # type: ignore[index]
    series = acquisition(bg, gg, pd.Series(costs), horizon=24, discount_rate=0.01)
    frame_in = pd.DataFrame({"group": list(costs), "cac": list(costs.values())})
    before = frame_in.copy()
    frame = acquisition(bg, gg, frame_in, horizon=24, discount_rate=0.01)
    pd.testing.assert_frame_equal(frame_in, before)
    pd.testing.assert_frame_equal(series, by_group)
    pd.testing.assert_frame_equal(frame, by_group)


def test_read_cac(tmp_path: Path, bg: clvlab.BetaGeo, gg: clvlab.GammaGamma) -> None:
    path = tmp_path / "cac.csv"
    path.write_text("group,cac,note\nsearch,45.5,x\n007, 30 ,y\n", encoding="utf-8")
    table = read_cac(path)
    # group names stay text (leading zeros kept); other columns are ignored
    assert table["group"].tolist() == ["search", "007"]
    assert table["cac"].tolist() == [45.5, 30.0]
    result = acquisition(bg, gg, table)
    assert result.index.tolist() == ["search", "007"]


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        ("channel,cost\nsearch,4\n", clvlab.DataValidationError, r"lacks the column 'group'"),
        ("group,price\nsearch,4\n", clvlab.DataValidationError, r"lacks the column 'cac'"),
        ("group,cac\nsearch,$45\n", clvlab.DataValidationError, r"must be a number.*search"),
        # one field too many: refused, not read with "search" as an index column
        ("group,cac\nsearch,1,200\n", clvlab.ClvlabError, r"cannot read.*Expected 2 fields"),
        ("group,cac\nsearch\n", clvlab.DataValidationError, r"CAC is missing.*search"),
        ("group,cac,cac\na,1,2\n", clvlab.DataValidationError, r"'cac' 2 times"),
        ("group,cac\nsearch,\n", clvlab.DataValidationError, r"CAC is missing.*search"),
        ("group,cac\nsearch,0\nsocial,-3\n", clvlab.DataValidationError, r"finite number > 0"),
        ("group,cac\nsearch,nan\n", clvlab.DataValidationError, r"finite number > 0.*search"),
        ("group,cac\nsearch,inf\n", clvlab.DataValidationError, r"finite number > 0.*search"),
        ("group,cac\na,1\na,2\n", clvlab.DataValidationError, r"must be unique.*group a"),
        ("group,cac\n,1\n", clvlab.DataValidationError, r"needs a name"),
        ("group,cac\n", clvlab.ArgumentError, r"holds no group"),
        ("", clvlab.ClvlabError, r"cannot read the CAC file"),
    ],
)
def test_read_cac_refuses(tmp_path: Path, text: str, error: type, match: str) -> None:
    path = tmp_path / "cac.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(error, match=match):
        read_cac(path)


def test_read_cac_refuses_paths(tmp_path: Path) -> None:
    with pytest.raises(clvlab.ArgumentError, match=r"no CAC file"):
        read_cac(tmp_path / "missing.csv")
    with pytest.raises(clvlab.ArgumentError, match=r"is a folder"):
        read_cac(tmp_path)
    with pytest.raises(clvlab.ArgumentError, match=r"str or os.PathLike"):
        read_cac(3)  # type: ignore[arg-type]
    binary = tmp_path / "latin.csv"
    binary.write_bytes("group,cac\ncaf\xe9,3\n".encode("latin-1"))
    with pytest.raises(clvlab.ClvlabError, match=r"UTF-8"):
        read_cac(binary)


@pytest.mark.parametrize(
    ("cac", "error", "match"),
    [
        (0.0, clvlab.ArgumentError, r"cac must be positive"),
        (-5.0, clvlab.ArgumentError, r"cac must be positive"),
        (float("nan"), clvlab.ArgumentError, r"cac must be a finite number"),
        (float("inf"), clvlab.ArgumentError, r"cac must be a finite number"),
        (True, clvlab.ArgumentError, r"cac must be a number > 0"),
        ("45", clvlab.ArgumentError, r"cac must be a number > 0.*read_cac"),
        (None, clvlab.ArgumentError, r"cac must be a number > 0"),
        ({}, clvlab.ArgumentError, r"holds no group"),
        ({"a": 0.0}, clvlab.DataValidationError, r"finite number > 0.*group a"),
        ({"a": -1, "b": 2}, clvlab.DataValidationError, r"finite number > 0.*group a"),
        ({"a": float("nan")}, clvlab.DataValidationError, r"finite number > 0"),
        ({"a": float("inf")}, clvlab.DataValidationError, r"finite number > 0"),
        ({"a": None}, clvlab.DataValidationError, r"CAC is missing"),
        ({"a": "ten"}, clvlab.DataValidationError, r"must be a number.*'ten'"),
        ({"a": True}, clvlab.DataValidationError, r"must be a number"),
        ({1: 3.0, "1": 4.0}, clvlab.DataValidationError, r"must be unique.*group 1"),
        (pd.Series([1.0, 2.0], index=["a", "a"]), clvlab.DataValidationError, r"unique"),
        (pd.Series([1.0], index=[np.nan]), clvlab.DataValidationError, r"needs a name"),
        (pd.DataFrame({"name": ["a"], "cac": [1.0]}), clvlab.DataValidationError, r"'group'"),
        (pd.DataFrame({"group": ["a"]}), clvlab.DataValidationError, r"lacks.*'cac'"),
    ],
)
def test_acquisition_refuses_bad_cac(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, cac: object, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        acquisition(bg, gg, cac)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"unit": "fortnight"}, r"unknown time unit 'fortnight'"),
        ({"horizon": 0}, r"horizon must be positive"),
        ({"horizon": float("nan")}, r"horizon must be a finite number"),
        ({"discount_rate": -1.0}, r"discount_rate must be greater than -1"),
        ({"discount_rate": float("inf")}, r"discount_rate must be a finite"),
        ({"margin": 0.0}, r"margin must lie in \(0, 1\]"),
        ({"margin": 1.5}, r"margin must lie in \(0, 1\]"),
        ({"ci_prob": 1.0}, r"ci_prob must lie strictly between 0 and 1"),
        ({"kind": "hpd"}, r"kind must be 'eti'"),
    ],
)
def test_refuses_bad_settings(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(clvlab.ArgumentError, match=match):
        acquisition(bg, gg, 10.0, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(clvlab.ArgumentError, match=match):
        new_customer_value(bg, gg, **kwargs)  # type: ignore[arg-type]


def test_refuses_bad_models(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma) -> None:
    with pytest.raises(clvlab.ArgumentError, match=r"models are swapped"):
        new_customer_value(gg, bg)  # type: ignore[arg-type]
    with pytest.raises(clvlab.ArgumentError, match=r"first argument must be the purchase"):
        acquisition("bg", gg, 10.0)  # type: ignore[arg-type]
    with pytest.raises(clvlab.NotFittedError):
        acquisition(clvlab.BetaGeo(), gg, 10.0)
    with pytest.raises(clvlab.NotFittedError):
        new_customer_value(bg, clvlab.GammaGamma())


def test_refuses_infinite_mean_spend(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, cdnow_sample_rfm: pd.DataFrame
) -> None:
    heavy = clvlab.GammaGamma().fit(cdnow_sample_rfm, seed=2, progress=False, n_draws=50)
    heavy.draws_["q"][:] = 0.9  # q <= 1: spend has no finite mean
    with pytest.raises(clvlab.ConvergenceError, match=r"p v / \(q - 1\).*q <= 1.*Fix"):
        acquisition(bg, heavy, 10.0)
    with pytest.raises(clvlab.ConvergenceError, match=r"q <= 1"):
        new_customer_value(bg, heavy)


def test_time_units_are_checked(cdnow_sample_rfm: pd.DataFrame, bg: clvlab.BetaGeo) -> None:
    bare = cdnow_sample_rfm.copy()
    bare.attrs = {}
    bg_bare = clvlab.BetaGeo().fit(bare, seed=1, progress=False, n_draws=400)
    gg_bare = clvlab.GammaGamma().fit(bare, seed=2, progress=False, n_draws=400)
    with pytest.raises(clvlab.ArgumentError, match=r"records no time unit.*time_unit="):
        new_customer_value(bg_bare, gg_bare)
    stated = new_customer_value(bg_bare, gg_bare, time_unit="W")
    # the same fit as `bg` on the same numbers: the same value once the unit is stated
    assert stated.attrs["clvlab"]["total"]["estimate"] == pytest.approx(
        new_customer_value(bg, gg_bare, time_unit="W").attrs["clvlab"]["total"]["estimate"]
    )
    with pytest.raises(clvlab.UnitMismatchError, match=r"contradicts the BG/NBD model"):
        new_customer_value(bg, gg_bare, time_unit="D")
    daily = clvlab.rfm_summary(
        clvlab.datasets.load_cdnow_sample(),
        customer_id_col="customer_id",
        datetime_col="date",
        monetary_value_col="spend",
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
        time_unit="D",
    )
    gg_daily = clvlab.GammaGamma().fit(daily, seed=2, progress=False, n_draws=50)
    with pytest.raises(clvlab.UnitMismatchError, match=r"different tables"):
        acquisition(bg, gg_daily, 10.0)


@pytest.mark.parametrize(
    ("values", "kwargs", "match"),
    [
        (np.ones(3), {}, r"shape \(n_draws, K\)"),
        (np.ones((0, 3)), {}, r"n_draws >= 1"),
        (np.ones((2, 0)), {}, r"K >= 1"),
        (np.array([[1.0, np.nan]]), {}, r"NaN or infinite values in 1 of 1 draws"),
        (np.array([["a", "b"]]), {}, r"numeric array"),
        (np.ones((2, 3)), {"point": np.ones(2)}, r"one value per period \(3\)"),
        (np.ones((2, 3)), {"point": np.array([1, 2, np.inf])}, r"NaN or infinite"),
        (np.ones((2, 3)), {"cac": 0}, r"cac must be positive"),
        (np.ones((2, 3)), {"ci_prob": 0}, r"ci_prob must lie strictly"),
        (np.ones((2, 3)), {"kind": "mode"}, r"kind must be 'eti'"),
    ],
)
def test_cac_summary_refuses(values: np.ndarray, kwargs: dict[str, object], match: str) -> None:
    settings_: dict[str, object] = {"cac": 1.0, "ci_prob": 0.9, "kind": "eti", **kwargs}
    cac = settings_.pop("cac")
    with pytest.raises(clvlab.ArgumentError, match=match):
        cac_summary(values, cac, **settings_)  # type: ignore[arg-type]


def test_refuses_overflowing_inputs(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma) -> None:
    # a ratio past the float range is refused, not reported as inf
    with pytest.raises(clvlab.ArgumentError, match=r"so small that value / cac overflows"):
        cac_summary(np.array([[1e300]]), 1e-300, ci_prob=0.9, kind="eti")
    with pytest.raises(clvlab.ArgumentError, match=r"so small that value / cac overflows"):
        acquisition(bg, gg, 5e-324)
    # a horizon whose per-draw path would not fit in memory is refused before any work:
    # 200 draws x 10^9 periods
    with pytest.raises(clvlab.ArgumentError, match=r"cap of 10,000,000.*coarser unit"):
        new_customer_value(bg, gg, horizon=1e9, unit="D")
