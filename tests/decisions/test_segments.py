"""Value segments: tiers by CLV, each customer's tier probabilities, and at-risk.

The tier probabilities are recounted in the tests from the draws of
``clvlab.clv(..., return_draws=True)``: per draw, the tier bounds (thresholds, or the
quantiles of that draw's CLV over all customers, ``inverted_cdf``) and the share of
draws in which each customer falls in each tier (a CLV equal to a bound belongs to the
lower tier: "the top 10%" are the customers whose CLV *exceeds* the 90th percentile).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clvlab
from clvlab.decisions import value_segments
from clvlab.decisions.segments import DEFAULT_QUANTILES, tier_bounds
from tests._family import CONTINUOUS, fit_mle

IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@pytest.fixture(scope="module")
def rfm(cdnow_sample_rfm: pd.DataFrame) -> pd.DataFrame:
    """150 CDNOW customers (every 15th), a mix of one-time and repeat buyers."""
    return cdnow_sample_rfm.iloc[::15].iloc[:150]


def _draw_matrix(draws) -> np.ndarray:  # type: ignore[no-untyped-def]
    return draws.stack(s=("chain", "draw")).transpose("s", "customer_id").to_numpy()


def _count_tiers(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """``(n_tiers, n_customers)``: the share of draws (rows of ``values``) in each tier,
    with per-draw ``bounds`` ``(n_draws, n_bounds)``; a value equal to a bound belongs
    to the lower tier. Counted with explicit comparisons, draw by draw."""
    n_draws, n = values.shape
    counts = np.zeros((bounds.shape[1] + 1, n))
    for j in range(n_draws):
        for i in range(n):
            tier = 0
            while tier < bounds.shape[1] and values[j, i] > bounds[j, tier]:
                tier += 1
            counts[tier, i] += 1
    return counts / n_draws


# --- probabilities, counted directly -----------------------------------------------------


def test_threshold_probabilities_count_the_draws(
    bg_map: clvlab.BetaGeo, gg_map: clvlab.GammaGamma, rfm: pd.DataFrame
) -> None:
    segments = value_segments(bg_map, gg_map, rfm, thresholds=(20, 100))
    table, draws = clvlab.clv(bg_map, gg_map, rfm, return_draws=True)
    d = _draw_matrix(draws)
    expected = _count_tiers(d, np.tile([20.0, 100.0], (len(d), 1)))
    names = ["clv_upto_20", "clv_20_100", "clv_over_100"]
    got = segments[[f"p_{n}" for n in names]].to_numpy().T
    np.testing.assert_array_equal(got, expected)
    # Bayesian estimate: the posterior mean; its tier by the thresholds
    np.testing.assert_allclose(segments["clv_estimate"], table["estimate"], rtol=1e-9)
    own = np.where(table["estimate"] <= 20, 0, np.where(table["estimate"] <= 100, 1, 2))
    assert segments["tier"].tolist() == [names[t] for t in own]
    np.testing.assert_array_equal(segments["tier_probability"], expected[own, np.arange(len(rfm))])
    assert 0 < expected[1].mean() < 1  # the table has customers in the uncertain middle


def test_quantile_probabilities_recount_per_draw_quantiles(
    bg_map: clvlab.BetaGeo, gg_map: clvlab.GammaGamma, rfm: pd.DataFrame
) -> None:
    edges = (0.0, 0.5, 0.9, 1.0)
    segments = value_segments(bg_map, gg_map, rfm, quantiles=edges, labels=["low", "mid", "top"])
    table, draws = clvlab.clv(bg_map, gg_map, rfm, return_draws=True)
    d = _draw_matrix(draws)
    # per draw, the 50th and 90th percentiles of the CLVs of all customers
    bounds = np.quantile(d, [0.5, 0.9], axis=1, method="inverted_cdf").T
    expected = _count_tiers(d, bounds)
    got = segments[["p_low", "p_mid", "p_top"]].to_numpy().T
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_allclose(got.sum(axis=0), 1.0)
    # the estimate's tier by the estimate's own percentiles
    est = table["estimate"].to_numpy()
    cut = np.quantile(est, [0.5, 0.9], method="inverted_cdf")
    own = np.where(est <= cut[0], "low", np.where(est <= cut[1], "mid", "top"))
    assert segments["tier"].astype(str).tolist() == own.tolist()
    meta = segments.attrs["clvlab"]
    np.testing.assert_allclose(meta["estimate_thresholds"], cut, rtol=1e-12)
    assert meta["tier_sizes"] == {t: int((own == t).sum()) for t in ("low", "mid", "top")}
    assert meta["tier_kind"] == "quantile" and meta["tier_edges"] == list(edges)
    # 10% of 150 customers are above the 90th percentile of the estimates
    assert (segments["tier"] == "top").sum() == 15
    # customers near a bound are uncertain even under parameter uncertainty alone
    assert ((got > 0) & (got < 1)).any()


def test_mle_estimate_is_plug_in(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame
) -> None:
    segments = value_segments(bg, gg, rfm, discount_rate=0.01, margin=0.4, horizon=6)
    table, draws = clvlab.clv(
        bg, gg, rfm, discount_rate=0.01, margin=0.4, horizon=6, return_draws=True
    )
    np.testing.assert_allclose(segments["clv_estimate"], table["estimate"], rtol=1e-9)
    alive = bg.probability_alive(rfm)["estimate"]
    np.testing.assert_allclose(segments["probability_alive_estimate"], alive, rtol=1e-12)
    d = _draw_matrix(draws)
    bounds = np.quantile(d, [0.5, 0.9], axis=1, method="inverted_cdf").T
    expected = _count_tiers(d, bounds)
    got = segments[["p_q0_50", "p_q50_90", "p_q90_100"]].to_numpy().T
    np.testing.assert_array_equal(got, expected)
    assert segments.attrs["clvlab"]["margin"] == 0.4


def test_at_risk_by_hand(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame) -> None:
    segments = value_segments(
        bg, gg, rfm, margin=0.5, at_risk_value_quantile=0.7, at_risk_alive_below=0.6
    )
    # hand: past value = margin x repeat purchases x their mean value; the cut is the
    # 70th percentile of past value (inverted_cdf); at risk = at or above the cut, some
    # past value, and a P(alive) estimate below 0.6
    past = 0.5 * rfm["frequency"].to_numpy() * rfm["monetary_value"].to_numpy()
    cut = np.sort(past)[int(np.ceil(0.7 * len(past))) - 1]
    alive, alive_draws = bg.probability_alive(rfm, return_draws=True)
    expected = (past >= cut) & (past > 0) & (alive["estimate"].to_numpy() < 0.6)
    np.testing.assert_allclose(segments["past_value"], past, rtol=1e-12)
    np.testing.assert_array_equal(segments["at_risk"], expected)
    assert expected.sum() > 0  # the definition catches someone on this table
    a = _draw_matrix(alive_draws)
    np.testing.assert_array_equal(segments["p_alive_below"], (a < 0.6).mean(axis=0))
    meta = segments.attrs["clvlab"]["at_risk"]
    assert meta["past_value_at_least"] == pytest.approx(cut)
    assert meta["customers"] == int(expected.sum())
    # a level of 0 flags nobody, a value quantile of 0 everyone with past value and P(alive) < 1
    assert not value_segments(bg, gg, rfm, at_risk_alive_below=0)["at_risk"].any()
    everyone = value_segments(bg, gg, rfm, at_risk_value_quantile=0, at_risk_alive_below=1)
    np.testing.assert_array_equal(
        everyone["at_risk"], (past > 0) & (alive["estimate"].to_numpy() < 1)
    )


# --- ties, small tables ---------------------------------------------------------------


def test_ties_go_to_the_lower_tier(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame
) -> None:
    # ten copies of one history: equal CLV in every draw, so no percentile separates
    # them; they share one tier, the lowest that reaches their value, with probability 1
    row = rfm[rfm["frequency"] > 0].iloc[0]
    twins = pd.DataFrame([row] * 10, index=pd.Index(range(100, 110), name="customer_id"))
    twins["frequency"] = twins["frequency"].astype(int)
    twins.attrs = rfm.attrs
    segments = value_segments(bg, gg, twins)
    assert (segments["tier"] == "q0_50").all()
    np.testing.assert_array_equal(segments["p_q0_50"], 1.0)
    # a threshold exactly at the estimate: the estimate is in the lower tier
    at = float(segments["clv_estimate"].iloc[0])
    assert (
        value_segments(bg, gg, twins, thresholds=[at])["tier"]
        == f"clv_upto_{at:g}".replace(".", "_")
    ).all()


def test_single_customer(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame) -> None:
    one = rfm.iloc[:1]
    segments = value_segments(bg, gg, one)
    # one customer is its own every percentile: the lowest tier, with certainty
    assert segments["tier"].tolist() == ["q0_50"]
    assert segments[["p_q0_50", "p_q50_90", "p_q90_100"]].to_numpy().tolist() == [[1.0, 0.0, 0.0]]
    by_value = value_segments(bg, gg, one, thresholds=[1.0, 1e6])
    assert by_value[["p_clv_upto_1", "p_clv_1_1e06", "p_clv_over_1e06"]].sum(axis=1).item() == 1.0


def test_only_one_time_buyers(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame) -> None:
    zero = rfm[rfm["frequency"] == 0].iloc[:20]
    segments = value_segments(bg, gg, zero)
    # no past value, so no one is at risk; probabilities still sum to 1
    assert not segments["at_risk"].any()
    np.testing.assert_allclose(segments.filter(like="p_q").sum(axis=1), 1.0)
    assert (segments["past_value"] == 0).all()


# --- predictive --------------------------------------------------------------------------


def test_predictive_is_reproducible_and_sums_to_one(
    bg_map: clvlab.BetaGeo, gg_map: clvlab.GammaGamma, rfm: pd.DataFrame
) -> None:
    a = value_segments(bg_map, gg_map, rfm, uncertainty="predictive", seed=7)
    b = value_segments(bg_map, gg_map, rfm, uncertainty="predictive", seed=7)
    pd.testing.assert_frame_equal(a, b)
    p = a[["p_q0_50", "p_q50_90", "p_q90_100"]].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert ((p >= 0) & (p <= 1)).all()
    # realised value is less certain than expected value: the top tier by estimate is
    # on average less certain than under parameter uncertainty alone
    c = value_segments(bg_map, gg_map, rfm, seed=7)
    top = a["tier"] == "q90_100"
    assert a.loc[top, "tier_probability"].mean() < c.loc[top, "tier_probability"].mean()
    assert a.attrs["clvlab"]["uncertainty"] == "predictive" and a.attrs["clvlab"]["seed"] == 7
    # the estimate is the expected value in both
    pd.testing.assert_series_equal(a["clv_estimate"], c["clv_estimate"])
    other = value_segments(bg_map, gg_map, rfm, uncertainty="predictive", seed=8)
    assert not np.array_equal(other["p_q90_100"], a["p_q90_100"])


def test_predictive_mle(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame) -> None:
    segments = value_segments(bg, gg, rfm, uncertainty="predictive", seed=1, thresholds=[50])
    np.testing.assert_allclose(segments[["p_clv_upto_50", "p_clv_over_50"]].sum(axis=1), 1.0)


# --- every model, output types, inputs ----------------------------------------------------


# every continuous-time model on CDNOW; BG/BB on its own data: tests/test_model_family.py
@pytest.mark.parametrize("name", CONTINUOUS)
def test_every_purchase_model(
    name: str, gg: clvlab.GammaGamma, cdnow_sample_rfm: pd.DataFrame, rfm: pd.DataFrame
) -> None:
    model = fit_mle(name, cdnow_sample_rfm)
    table, draws = clvlab.clv(model, gg, rfm, horizon=3, return_draws=True)
    segments = value_segments(model, gg, rfm, horizon=3)
    d = _draw_matrix(draws)
    bounds = np.quantile(d, [0.5, 0.9], axis=1, method="inverted_cdf").T
    got = segments[["p_q0_50", "p_q50_90", "p_q90_100"]].to_numpy().T
    np.testing.assert_array_equal(got, _count_tiers(d, bounds))
    np.testing.assert_allclose(segments["clv_estimate"], table["estimate"], rtol=1e-9)
    predictive = value_segments(
        model, gg, rfm.iloc[:30], horizon=3, uncertainty="predictive", seed=0
    )
    np.testing.assert_allclose(predictive.filter(like="p_q").sum(axis=1), 1.0)


def test_output_types(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame) -> None:
    segments = value_segments(bg, gg, rfm, kind="hdi", ci_prob=0.8)
    assert isinstance(segments["tier"].dtype, pd.CategoricalDtype)
    assert segments["tier"].cat.ordered
    assert segments["tier"].cat.categories.tolist() == ["q0_50", "q50_90", "q90_100"]
    assert segments["at_risk"].dtype == np.bool_
    for c in segments.columns.drop(["tier", "at_risk"]):
        assert segments[c].dtype == np.float64, c
    assert segments.index.equals(rfm.index)
    assert segments.attrs["clvlab"]["ci_prob"] == 0.8
    assert segments.attrs["clvlab"]["interval"] == "hdi"


def test_inputs_are_not_mutated(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame
) -> None:
    table = rfm.copy()
    table.attrs = {"clvlab": dict(rfm.attrs["clvlab"])}
    before = table.copy()
    attrs = {"clvlab": dict(table.attrs["clvlab"])}
    value_segments(bg, gg, table, thresholds=[10, 50], labels=["low", "mid", "high"])
    value_segments(bg, gg, table, uncertainty="predictive", seed=0)
    pd.testing.assert_frame_equal(table, before)
    assert table.attrs == attrs


# --- tier bounds ----------------------------------------------------------------------------


def test_tier_bounds_defaults_and_labels() -> None:
    assert tier_bounds(None, None) == (
        "quantile",
        pytest.approx([0.5, 0.9]),
        ["q0_50", "q50_90", "q90_100"],
    )
    assert DEFAULT_QUANTILES == (0.0, 0.5, 0.9, 1.0)
    kind, values, labels = tier_bounds(None, (-5, 0.25, 1e20))
    assert kind == "threshold" and values.tolist() == [-5, 0.25, 1e20]
    assert labels == ["clv_upto_m5", "clv_m5_0_25", "clv_0_25_1e20", "clv_over_1e20"]
    # bounds equal to 6 significant digits still get distinct labels
    _, _, close = tier_bounds(None, (1.0000001, 1.0000002, 1.0000003))
    assert len(set(close)) == 4 and all(IDENTIFIER.match(x) for x in close)
    _, _, close_q = tier_bounds((0, 0.5, 0.5000001, 0.5000002, 1), None)
    assert len(set(close_q)) == 4 and all(IDENTIFIER.match(x) for x in close_q)


def test_close_thresholds_run(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame) -> None:
    segments = value_segments(bg, gg, rfm, thresholds=(10.0000001, 10.0000002))
    p = segments.filter(like="p_clv").to_numpy()
    assert p.shape[1] == 3
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


@settings(max_examples=50)
@given(st.lists(st.floats(0.001, 0.999), min_size=1, max_size=6, unique=True))
def test_tier_bounds_accept_any_partition(interior: list[float]) -> None:
    edges = [0.0, *sorted(interior), 1.0]
    kind, bounds, labels = tier_bounds(edges, None)
    assert kind == "quantile"
    assert bounds.tolist() == sorted(interior)
    assert len(labels) == len(edges) - 1 == len(set(labels))
    assert all(IDENTIFIER.match(x) for x in labels)


@settings(max_examples=50)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=6, unique=True))
def test_tier_bounds_accept_any_increasing_thresholds(values: list[float]) -> None:
    kind, bounds, labels = tier_bounds(None, sorted(values))
    assert kind == "threshold" and bounds.tolist() == sorted(values)
    assert len(labels) == len(values) + 1 == len(set(labels))
    assert all(IDENTIFIER.match(x) for x in labels)


@settings(max_examples=50)
@given(
    st.lists(
        st.one_of(st.sampled_from([0.0, 1.0, np.nan]), st.floats(-0.5, 1.5)),
        min_size=0,
        max_size=6,
    )
)
def test_tier_bounds_refuse_what_does_not_partition(edges: list[float]) -> None:
    a = np.asarray(edges, dtype=float)
    partitions = (
        len(a) >= 3
        and bool(np.all(np.isfinite(a)))
        and a[0] == 0
        and a[-1] == 1
        and bool(np.all(np.diff(a) > 0))
    )
    if partitions:
        assert tier_bounds(edges, None)[0] == "quantile"
    else:
        with pytest.raises(
            clvlab.ArgumentError, match=r"quantiles must be tier edges that partition \[0, 1\]"
        ):
            tier_bounds(edges, None)


@pytest.mark.parametrize(
    ("quantiles", "thresholds", "match"),
    [
        ((0.1, 0.5, 1.0), None, r"partition \[0, 1\]: start at 0.*got \[0\.1, 0\.5, 1\.0\]"),
        ((0.0, 0.5, 0.9), None, r"partition \[0, 1\].*end at 1"),
        ((0.0, 0.9, 0.5, 1.0), None, r"increase strictly"),
        ((0.0, 0.5, 0.5, 1.0), None, r"increase strictly"),
        ((0.0, 1.0), None, r"at least two tiers"),
        (np.array([0.2, 1.0]), None, r"partition \[0, 1\].*got \[0\.2, 1\.0\]"),
        ((0.0, np.nan, 1.0), None, r"partition \[0, 1\]"),
        ("0,0.5,1", None, r"quantiles must be a sequence of numbers"),
        ((0.0, "half", 1.0), None, r"quantiles must be a sequence of numbers"),
        (None, (), r"thresholds must be finite CLV values in strictly increasing order"),
        (None, (500, 100), r"strictly increasing order.*got \[500, 100\]"),
        (None, (100, np.inf), r"thresholds must be finite"),
        (None, [[1, 2]], r"thresholds must be a sequence of numbers"),
        (None, 100, r"thresholds must be a sequence of numbers"),
        ((0, 0.5, 1), (100,), r"either as quantiles= .* or as thresholds= .*not both"),
    ],
)
def test_tier_bounds_refuse(quantiles: object, thresholds: object, match: str) -> None:
    with pytest.raises(clvlab.ArgumentError, match=match):
        tier_bounds(quantiles, thresholds)  # type: ignore[arg-type]


# --- refusals of value_segments ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"labels": ["a", "b"]}, r"labels must name the 3 tiers, got 2"),
        (
            {"labels": ["a", "b", "a"]},
            r"tier labels must be distinct identifiers.*got \['a', 'b', 'a'\]",
        ),
        ({"labels": ["low", "mid tier", "top"]}, r"distinct identifiers.*p_<label>"),
        ({"labels": ["low", "1mid", "top"]}, r"distinct identifiers"),
        ({"labels": ["low", 2, "top"]}, r"distinct identifiers"),
        ({"labels": "abc"}, r"labels must be a sequence of 3 tier names.*single string 'abc'"),
        ({"at_risk_value_quantile": 1.5}, r"at_risk_value_quantile must lie in \[0, 1\], got 1\.5"),
        ({"at_risk_alive_below": -0.1}, r"at_risk_alive_below must lie in \[0, 1\]"),
        ({"at_risk_alive_below": np.nan}, r"at_risk_alive_below must be a finite number"),
        (
            {"uncertainty": "posterior"},
            r"uncertainty must be 'parameters' or 'predictive', got 'posterior'",
        ),
        ({"uncertainty": "predictive", "seed": -1}, r"seed must be an integer >= 0, got -1"),
        ({"seed": 1.5}, r"seed must be an integer >= 0, got 1\.5"),
        ({"ci_prob": 0}, r"ci_prob must lie strictly between 0 and 1"),
        ({"kind": "mean"}, r"kind must be 'eti'"),
        ({"horizon": 45}, r"longest customer history is 38\.8571 W.*at most 44\.68 M"),
        ({"horizon": -1}, r"horizon must be positive"),
    ],
)
def test_refuses_bad_settings(
    bg: clvlab.BetaGeo,
    gg: clvlab.GammaGamma,
    rfm: pd.DataFrame,
    kwargs: dict[str, object],
    match: str,
) -> None:
    with pytest.raises(clvlab.ArgumentError, match=match):
        value_segments(bg, gg, rfm, **kwargs)  # type: ignore[arg-type]


def test_refuses_bad_models_and_tables(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, rfm: pd.DataFrame
) -> None:
    with pytest.raises(clvlab.ArgumentError, match=r"value_segments: the models are swapped"):
        value_segments(gg, bg, rfm)  # type: ignore[arg-type]
    with pytest.raises(clvlab.NotFittedError, match=r"not fitted yet"):
        value_segments(bg, clvlab.GammaGamma(), rfm)
    bare = rfm.copy()
    bare.attrs = {}
    with pytest.raises(
        clvlab.UnitMismatchError, match=r"does not record its time unit.*time_unit='W'"
    ):
        value_segments(bg, gg, bare)
    assert len(value_segments(bg, gg, bare, time_unit="W")) == len(rfm)
    with pytest.raises(clvlab.DataValidationError, match=r"the RFM table is empty"):
        value_segments(bg, gg, rfm.iloc[:0])
