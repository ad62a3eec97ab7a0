"""Every decision plot draws exactly the table it is given, on the Axes it is given.

As in tests/test_plots.py, the drawn values are read back from the artists (line data,
band vertices, interval segments, scatter offsets, bar heights) and compared with the
source table: the expected values are the source table's own values, so the "source" of
every number here is the clvlab function that computed the table (named in the
fixture). Labels must name the quantity, its unit and, where an interval is drawn, its
level.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection

import clvlab
from clvlab import decision_plots as dp
from clvlab.data.ids import id_texts
from clvlab.errors import ArgumentError, DataValidationError


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def rfm(cdnow_sample_rfm: pd.DataFrame) -> pd.DataFrame:
    # customers whose repeat purchases are worth 0 cannot enter Gamma-Gamma
    zero = (cdnow_sample_rfm["frequency"] > 0) & (cdnow_sample_rfm["monetary_value"] <= 0)
    return cdnow_sample_rfm.loc[~zero]


@pytest.fixture(scope="module")
def tables(rfm: pd.DataFrame) -> dict[str, Any]:
    """One table of every kind the decision plots draw, from fast MLE fits on the CDNOW
    sample, computed once for the module."""
    bg = clvlab.BetaGeo().fit(rfm, seed=1, progress=False, n_draws=200)
    gg = clvlab.GammaGamma().fit(rfm, seed=1, progress=False, n_draws=200)
    return {
        "forecast": clvlab.revenue_forecast(bg, gg, rfm, periods=6, predictive_draws=40, seed=1),
        "forecast_expected": clvlab.revenue_forecast(
            bg, gg, rfm, periods=4, predictive=False, ci_prob=0.8
        ),
        "segments": clvlab.value_segments(bg, gg, rfm),
        "thresholds": clvlab.value_segments(bg, gg, rfm, thresholds=(20.0, 2000.0)),
        "groups": clvlab.compare_groups(bg, gg, rfm, by="cohort"),
        "value": clvlab.new_customer_value(bg, gg, horizon=12, unit="M"),
        "acquisition": clvlab.acquisition(
            bg, gg, {"search": 10.0, "social": 30.0, "tv": 80.0}, horizon=12, unit="M"
        ),
        "other_horizon": clvlab.acquisition(bg, gg, 10.0, horizon=6, unit="M"),
        "clv": clvlab.clv(bg, gg, rfm, horizon=6, unit="M"),
    }


def _band(ax: Axes, index: int) -> np.ndarray:
    return np.asarray(ax.collections[index].get_paths()[0].vertices)


def _assert_band(vertices: np.ndarray, x: Any, low: Any, high: Any) -> None:
    """The fill_between band spans low..high at every x."""
    for xi, lo, hi in zip(x, low, high, strict=True):
        ys = vertices[vertices[:, 0] == xi, 1]
        assert ys.min() == pytest.approx(lo, rel=1e-12, abs=1e-12)
        assert ys.max() == pytest.approx(hi, rel=1e-12, abs=1e-12)


def _segments(ax: Axes) -> list[np.ndarray]:
    found = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(found) == 1
    return [np.asarray(s) for s in found[0].get_segments()]


def _legend_text(ax: Axes) -> str:
    legend = ax.get_legend()
    assert legend is not None
    return " | ".join(t.get_text() for t in legend.get_texts())


# ---- forecast ---------------------------------------------------------------------------
@pytest.mark.parametrize("metric", ["revenue", "purchases"])
def test_forecast_draws_estimate_and_both_bands(tables: dict[str, Any], metric: str) -> None:
    f = tables["forecast"]
    ax = dp.plot_forecast(f, metric=metric)
    period = f["period"].to_numpy(dtype=float)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), period)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), f[f"{metric}_estimate"].to_numpy())
    _assert_band(_band(ax, 0), period, f[f"{metric}_pred_lower"], f[f"{metric}_pred_upper"])
    _assert_band(_band(ax, 1), period, f[f"{metric}_lower"], f[f"{metric}_upper"])
    legend = _legend_text(ax)
    assert f"90% ETI interval of the expected {metric}" in legend
    assert f"90% ETI predictive interval (realised {metric})" in legend
    assert ax.get_xlabel() == "months after the end of calibration"
    assert ax.get_ylabel().endswith("per month") and ax.get_title().startswith(metric.capitalize())


def test_forecast_without_predictive_draws_one_band(tables: dict[str, Any]) -> None:
    f = tables["forecast_expected"]
    assert "revenue_pred_lower" not in f
    ax = dp.plot_forecast(f)
    assert len(ax.collections) == 1
    _assert_band(_band(ax, 0), f["period"], f["revenue_lower"], f["revenue_upper"])
    assert "80% ETI interval of the expected revenue" in _legend_text(ax)  # ci_prob=0.8
    assert "predictive" not in _legend_text(ax)


# ---- segments ---------------------------------------------------------------------------
def test_segments_rank_draws_each_customer_once(tables: dict[str, Any]) -> None:
    seg = tables["segments"]
    ax = dp.plot_segments(seg)
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    names = seg.attrs["clvlab"]["tiers"]
    assert len(scatters) == len(names)  # every default tier has customers here
    order = seg.sort_values("clv_estimate", ascending=False, kind="stable")
    rank = pd.Series(np.arange(1, len(seg) + 1, dtype=float), index=order.index)
    for scatter, tier in zip(scatters, reversed(names), strict=True):  # highest tier first
        mine = seg[seg["tier"] == tier]
        offsets = np.asarray(scatter.get_offsets())
        np.testing.assert_array_equal(offsets[:, 0], rank[mine.index].to_numpy())
        np.testing.assert_array_equal(offsets[:, 1], mine["tier_probability"].to_numpy())
    # the edge below the top tier lies just after its last rank
    sizes = seg.attrs["clvlab"]["tier_sizes"]
    edges = [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == ":"]
    assert edges == [sizes["q90_100"] + 0.5, sizes["q90_100"] + sizes["q50_90"] + 0.5]
    assert "parameters uncertainty" in ax.get_title() and "q90_100" in ax.get_title()
    assert "12 months" in ax.get_xlabel()


def test_segments_tiers_stack_mean_probabilities(tables: dict[str, Any]) -> None:
    seg = tables["segments"]
    names = seg.attrs["clvlab"]["tiers"]
    ax = dp.plot_segments(seg, kind="tiers")
    heights = np.array([p.get_height() for p in ax.patches]).reshape(len(names), len(names))
    present = list(reversed(names))  # estimated tiers, highest first
    for j, component in enumerate(reversed(names)):
        expected = [seg.loc[seg["tier"] == t, f"p_{component}"].mean() for t in present]
        np.testing.assert_allclose(heights[j], expected, rtol=1e-12)
    # each bar stacks to 1: the tier probabilities of a customer sum to 1
    np.testing.assert_allclose(heights.sum(axis=0), 1.0, rtol=1e-12)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == [f"{t}\n({int((seg['tier'] == t).sum()):,})" for t in present]


def test_segments_leave_out_empty_tiers(tables: dict[str, Any]) -> None:
    seg = tables["thresholds"]
    sizes = seg.attrs["clvlab"]["tier_sizes"]
    assert sizes["clv_over_2000"] == 0  # no sample customer is worth 2,000 in 12 months
    ax = dp.plot_segments(seg)
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [len(s.get_offsets()) for s in scatters] == [
        sizes["clv_20_2000"],
        sizes["clv_upto_20"],
    ]
    ax = dp.plot_segments(seg, kind="tiers")
    assert len(ax.patches) == 3 * 2  # three components on the two tiers with customers


# ---- groups -----------------------------------------------------------------------------
@pytest.mark.parametrize("metric", ["clv_mean", "clv_total", "probability_alive_mean"])
def test_groups_draw_estimates_intervals_and_reference(tables: dict[str, Any], metric: str) -> None:
    comparison = tables["groups"]
    table = comparison.groups
    ax = dp.plot_groups(comparison, metric=metric)
    n = len(table)
    pos = np.arange(n, dtype=float)[::-1]  # first group at the top
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), table[f"{metric}_estimate"])
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), pos)
    segments = _segments(ax)
    np.testing.assert_array_equal([s[0, 0] for s in segments], table[f"{metric}_lower"])
    np.testing.assert_array_equal([s[1, 0] for s in segments], table[f"{metric}_upper"])
    reference = comparison.settings["reference"]  # the largest cohort, 1997-02
    assert ax.lines[1].get_xdata()[0] == table.loc[reference, f"{metric}_estimate"]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == [f"{g} (reference)" if g == reference else g for g in table.index]
    assert "90% ETI interval" in ax.get_xlabel()
    assert "not the causal effect" in ax.get_title() and ax.get_ylabel() == "cohort"
    if metric != "probability_alive_mean":
        assert "12 months" in ax.get_xlabel()
    # the bare groups table draws the same
    again = dp.plot_groups(table, metric=metric)
    np.testing.assert_array_equal(again.lines[0].get_xdata(), ax.lines[0].get_xdata())


def test_groups_differences_draw_the_paired_differences(tables: dict[str, Any]) -> None:
    comparison = tables["groups"]
    diff = comparison.differences
    rows = diff[diff["metric"] == "spend_mean"]
    ax = dp.plot_groups(comparison, metric="spend_mean", differences=True)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), rows["estimate"])
    segments = _segments(ax)
    np.testing.assert_array_equal([s[0, 0] for s in segments], rows["lower"])
    np.testing.assert_array_equal([s[1, 0] for s in segments], rows["upper"])
    assert ax.lines[1].get_xdata()[0] == 0.0  # no difference
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == [
        f"{g}  P(> ref) {p:.2f}" for g, p in zip(rows["group"], rows["p_greater"], strict=True)
    ]
    assert "paired draws" in ax.get_title()


# ---- acquisition ------------------------------------------------------------------------
def test_acquisition_draws_value_band_cac_and_payback(tables: dict[str, Any]) -> None:
    value, acq = tables["value"], tables["acquisition"]
    ax = dp.plot_acquisition(value, cac=acq)
    period = value["period"].to_numpy(dtype=float)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), period)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), value["value_estimate"])
    _assert_band(_band(ax, 0), period, value["value_lower"], value["value_upper"])
    cac_lines = ax.lines[1:4]
    assert [line.get_ydata()[0] for line in cac_lines] == [10.0, 30.0, 80.0]
    segments = _segments(ax)
    np.testing.assert_array_equal([s[0, 0] for s in segments], acq["payback_lower"])
    np.testing.assert_array_equal([s[1, 0] for s in segments], acq["payback_upper"])
    marks = ax.lines[4:]
    assert [m.get_xdata()[0] for m in marks] == acq["payback_estimate"].tolist()
    assert [m.get_ydata()[0] for m in marks] == acq["cac"].tolist()
    # a CAC of 80 is above the 12-month value: its payback is censored, marked ">"
    assert acq.loc["tv", "payback_estimate_censored"]
    assert [m.get_marker() for m in marks] == ["D", "D", ">"]
    legend = _legend_text(ax)
    assert "CAC search: 10.00" in legend and "> 12 months" in legend
    assert "90% ETI interval" in legend and "months since acquisition" in ax.get_xlabel()


@pytest.mark.parametrize("cac", [25.0, {"a": 5.0, "b": 40.0}, pd.Series({"a": 5.0, "b": 40.0})])
def test_acquisition_cac_as_numbers(tables: dict[str, Any], cac: Any) -> None:
    ax = dp.plot_acquisition(tables["value"], cac=cac)
    expected = [25.0] if isinstance(cac, float) else [5.0, 40.0]
    assert [line.get_ydata()[0] for line in ax.lines[1:]] == expected
    assert len(ax.collections) == 1  # the band only: no payback without the table
    ax = dp.plot_acquisition(tables["value"])
    assert len(ax.lines) == 1


# ---- wrong inputs -------------------------------------------------------------------------
CASES: list[tuple[str, Callable[[dict[str, Any]], Any], type[Exception], str]] = [
    (
        "forecast given segments",
        lambda t: dp.plot_forecast(t["segments"]),
        ArgumentError,
        r"given a 'segments' table, which is drawn by clvlab\.plots\.plot_segments",
    ),
    (
        "forecast given clv",
        lambda t: dp.plot_forecast(t["clv"]),
        ArgumentError,
        r"given a 'clv' table, which is drawn by clvlab\.plots\.plot_clv_distribution",
    ),
    (
        "forecast bare wrong table",
        lambda t: dp.plot_forecast(pd.DataFrame({"x": [1]})),
        ArgumentError,
        r"revenue_forecast.*lacks \['period', 'revenue_estimate'",
    ),
    (
        "forecast not a table",
        lambda t: dp.plot_forecast([1, 2]),
        ArgumentError,
        r"draws the table returned by clvlab\.revenue_forecast.*got list",
    ),
    (
        "forecast metric",
        lambda t: dp.plot_forecast(t["forecast"], metric="clv"),
        ArgumentError,
        r"metric must be one of \['revenue', 'purchases'\], got 'clv'",
    ),
    (
        "forecast ax",
        lambda t: dp.plot_forecast(t["forecast"], ax="left"),
        ArgumentError,
        r"ax must be a matplotlib Axes or None, got str",
    ),
    (
        "segments given forecast",
        lambda t: dp.plot_segments(t["forecast"]),
        ArgumentError,
        r"given a 'forecast' table, which is drawn by clvlab\.plots\.plot_forecast",
    ),
    (
        "segments kind",
        lambda t: dp.plot_segments(t["segments"], kind="pie"),
        ArgumentError,
        r"kind must be one of \['rank', 'tiers'\]",
    ),
    (
        "groups given a table of another kind",
        lambda t: dp.plot_groups(t["value"]),
        ArgumentError,
        r"given a 'new_customer_value' table.*plot_acquisition",
    ),
    (
        "groups not a comparison",
        lambda t: dp.plot_groups("cohort"),
        ArgumentError,
        r"draws the GroupComparison returned by clvlab\.compare_groups.*got str",
    ),
    (
        "groups metric",
        lambda t: dp.plot_groups(t["groups"], metric="clv"),
        ArgumentError,
        r"metric must be one of \['clv_total', 'clv_mean'",
    ),
    (
        "groups total has no difference",
        lambda t: dp.plot_groups(t["groups"], metric="clv_total", differences=True),
        ArgumentError,
        r"metric must be one of \['clv_mean'",
    ),
    (
        "groups differences of a bare table",
        lambda t: dp.plot_groups(t["groups"].groups, differences=True),
        ArgumentError,
        r"needs the whole GroupComparison",
    ),
    (
        "groups differences flag",
        lambda t: dp.plot_groups(t["groups"], differences="yes"),
        ArgumentError,
        r"differences must be True or False",
    ),
    (
        "acquisition given the acquisition table",
        lambda t: dp.plot_acquisition(t["acquisition"]),
        ArgumentError,
        r"goes in its cac= argument",
    ),
    (
        "acquisition given forecast",
        lambda t: dp.plot_acquisition(t["forecast"]),
        ArgumentError,
        r"given a 'forecast' table.*new_customer_value",
    ),
    (
        "acquisition other horizon",
        lambda t: dp.plot_acquisition(t["value"], cac=t["other_horizon"]),
        ArgumentError,
        r"computed with horizon=6\.0.*horizon=12\.0; compute both with the same horizon",
    ),
    (
        "acquisition negative cac",
        lambda t: dp.plot_acquisition(t["value"], cac=-5.0),
        ArgumentError,
        r"cac must be",
    ),
    (
        "acquisition bad channel cac",
        lambda t: dp.plot_acquisition(t["value"], cac={"search": 0.0}),
        DataValidationError,
        r"search",
    ),
    (
        "acquisition cac of a wrong type",
        lambda t: dp.plot_acquisition(t["value"], cac="10"),
        ArgumentError,
        r"cac must be a number > 0, a mapping",
    ),
]


@pytest.mark.parametrize(("name", "call", "error", "message"), CASES, ids=[c[0] for c in CASES])
def test_wrong_inputs_are_refused(
    tables: dict[str, Any],
    name: str,
    call: Callable[[dict[str, Any]], Any],
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        call(tables)


def test_damaged_tables_are_refused_and_left_unchanged(tables: dict[str, Any]) -> None:
    f = tables["forecast"].copy()
    f.loc[2, "revenue_lower"] = f.loc[2, "revenue_upper"] + 1.0
    before = f.copy()
    with pytest.raises(DataValidationError, match=r"revenue_lower.*inverted"):
        dp.plot_forecast(f)
    pd.testing.assert_frame_equal(f, before)  # nothing was changed
    f.loc[2, "revenue_lower"] = np.nan
    with pytest.raises(DataValidationError, match=r"revenue_lower.*NaN"):
        dp.plot_forecast(f)
    with pytest.raises(DataValidationError, match=r"empty"):
        dp.plot_forecast(tables["forecast"].iloc[:0])

    seg = tables["segments"].copy()
    seg.iloc[0, seg.columns.get_loc("tier_probability")] = 1.5
    with pytest.raises(DataValidationError, match=r"tier_probability.*above 1"):
        dp.plot_segments(seg)
    seg = tables["segments"].copy()
    top = seg["clv_estimate"].idxmax()
    seg.loc[top, "tier"] = "q0_50"  # the highest estimate put in the lowest tier
    with pytest.raises(DataValidationError, match=r"does not follow the order of clv_estimate"):
        dp.plot_segments(seg)
    seg = tables["segments"].drop(columns="p_q50_90")
    with pytest.raises(ArgumentError, match=r"lacks \['p_q50_90'\]"):
        dp.plot_segments(seg)

    groups = tables["groups"].groups.copy()
    groups.attrs = {**groups.attrs, "clvlab": {**groups.attrs["clvlab"], "reference": "1999-01"}}
    with pytest.raises(DataValidationError, match=r"'1999-01' is not among the groups"):
        dp.plot_groups(groups)


# ---- every plot on a given Axes of another figure -------------------------------------------
PLOTS: dict[str, Callable[[dict[str, Any], Any], Axes]] = {
    "forecast": lambda t, ax: dp.plot_forecast(t["forecast"], ax=ax),
    "segments": lambda t, ax: dp.plot_segments(t["segments"], ax=ax),
    "segment_tiers": lambda t, ax: dp.plot_segments(t["segments"], kind="tiers", ax=ax),
    "groups": lambda t, ax: dp.plot_groups(t["groups"], ax=ax),
    "acquisition": lambda t, ax: dp.plot_acquisition(t["value"], cac=t["acquisition"], ax=ax),
}


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_plots_draw_on_the_given_axes(tables: dict[str, Any], name: str) -> None:
    _target, (left, right) = plt.subplots(1, 2)
    current, other = plt.subplots()  # the current figure is not the target's
    ax = PLOTS[name](tables, right)
    assert ax is right
    assert ax.lines or ax.patches or ax.collections
    assert not (left.lines or left.patches or left.collections)
    assert not (other.lines or other.patches or other.collections)
    assert plt.gcf() is current


def test_every_plot_renders_on_its_own_figure(tables: dict[str, Any], tmp_path: Path) -> None:
    current, _ = plt.subplots()
    for name, plot in PLOTS.items():
        ax = plot(tables, None)
        assert ax.figure is not current, name
        ax.figure.savefig(tmp_path / f"{name}.png", dpi=50)
        assert (tmp_path / f"{name}.png").stat().st_size > 5_000  # a picture, not a blank
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


def test_group_labels_use_the_ids_text_form(tables: dict[str, Any]) -> None:
    table = tables["groups"].groups
    ax = dp.plot_groups(table, metric="spend_mean")
    ticks = [t.get_text().removesuffix(" (reference)") for t in ax.get_yticklabels()]
    assert ticks == list(id_texts(table.index))


# ---- any consistent segments table is drawn point for point ---------------------------------
@settings(max_examples=30)
@given(
    clv=st.lists(
        st.floats(0.0, 1e4, allow_nan=False, allow_infinity=False), min_size=1, max_size=40
    ),
    seed=st.integers(0, 2**16),
)
def test_segments_rank_draws_any_table(clv: list[float], seed: int) -> None:
    # a hand-built table in value_segments' layout: tiers by the estimate's 50% and 90%
    # quantiles (searchsorted, as value_segments assigns them), probabilities from a
    # Dirichlet so that they sum to 1 per customer
    names = ["low", "mid", "top"]
    estimate = np.asarray(clv)
    edges = np.quantile(estimate, [0.5, 0.9], method="inverted_cdf")
    tier = np.searchsorted(edges, estimate, side="left")
    p = np.random.default_rng(seed).dirichlet(np.ones(3), size=len(estimate))
    table = pd.DataFrame(
        {
            "clv_estimate": estimate,
            "tier": pd.Categorical(np.array(names)[tier], categories=names, ordered=True),
            "tier_probability": p[np.arange(len(estimate)), tier],
            **{f"p_{n}": p[:, k] for k, n in enumerate(names)},
        }
    )
    table.attrs["clvlab"] = {"quantity": "segments", "tiers": names}
    ax = dp.plot_segments(table)
    drawn = np.concatenate([np.asarray(c.get_offsets()) for c in ax.collections])
    rank = np.empty(len(estimate))
    rank[np.argsort(-estimate, kind="stable")] = np.arange(1, len(estimate) + 1)
    expected = np.concatenate(
        [np.c_[rank[tier == k], table["tier_probability"].to_numpy()[tier == k]] for k in (2, 1, 0)]
    )
    np.testing.assert_array_equal(drawn, expected)
    plt.close("all")
