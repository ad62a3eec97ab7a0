"""Every plot draws exactly the table it is given, on the Axes it is given (issues 7, 12).

The data-equality tests read the drawn values back from the artists (line data, bar
heights, interval segments, image arrays) and compare them with the source table: the
expected values are the source table's own values, so the "source" of every number here
is the clvlab function that computed the table (named in each fixture). Labels and titles
must name the quantity and, where an interval is drawn, its level (``ci_prob``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import arviz as az
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection

import clvlab
from clvlab import plots
from clvlab.data.ids import id_texts


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def fits(cdnow_sample_rfm: pd.DataFrame) -> dict[str, Any]:
    """Fast MLE fits on the CDNOW sample (Laplace draws, and a small bootstrap)."""
    rfm = cdnow_sample_rfm
    bg = clvlab.BetaGeo().fit(rfm, seed=1, progress=False, n_draws=300)
    boot = clvlab.BetaGeo().fit(
        rfm, seed=1, progress=False, uncertainty="bootstrap", n_bootstrap=20
    )
    gg = clvlab.GammaGamma().fit(rfm, seed=1, progress=False, n_draws=300)
    return {"bg": bg, "boot": boot, "gg": gg}


@pytest.fixture(scope="module")
def results(
    fits: dict[str, Any], cdnow_sample_rfm: pd.DataFrame, cdnow_sample: pd.DataFrame
) -> dict[str, Any]:
    """One result of every kind the plots draw, computed once for the module."""
    bg, gg, rfm = fits["bg"], fits["gg"], cdnow_sample_rfm
    out: dict[str, Any] = {}
    for quantity in ("expected_purchases", "probability_alive"):
        out[quantity] = clvlab.frequency_recency_matrix(
            bg, quantity=quantity, T=39, t=39, max_frequency=20, n_recency=20
        )
    out["evaluation"] = clvlab.evaluate(bg, rfm, transactions=cdnow_sample, max_draws=100)
    for kind in ("posterior", "prior"):
        out[kind] = clvlab.frequency_check(bg, rfm, kind=kind, n_draws=60, seed=3)
    out["predictions"] = clvlab.predict_customers(bg, gg, rfm, seed=1)
    out["clv"] = clvlab.clv(bg, gg, rfm, horizon=6, unit="M", ci_prob=0.8, seed=1)
    out["comparison"] = clvlab.compare([bg], rfm, names=["BG/NBD MLE"])
    return out


def _segments(ax: Axes) -> list[np.ndarray]:
    """The segments of the Axes' line collections (interval bars drawn with vlines/hlines)."""
    found = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(found) == 1
    return [np.asarray(s) for s in found[0].get_segments()]


def _legend_text(ax: Axes) -> str:
    legend = ax.get_legend()
    assert legend is not None
    return " | ".join(t.get_text() for t in legend.get_texts())


# ---- data equality, one plot at a time -------------------------------------------------
@pytest.mark.parametrize("quantity", ["expected_purchases", "probability_alive"])
def test_frequency_recency_draws_the_matrix(results: dict[str, Any], quantity: str) -> None:
    matrix = results[quantity]
    # the grid itself: P(alive) is 1 with no repeat purchase (FHL 2005 eq. 11 with x = 0);
    # impossible cells (x = 0 with recency > 0, x > 0 with recency 0) are empty
    if quantity == "probability_alive":
        assert matrix.iloc[0, 0] == 1.0
    assert np.isnan(matrix.iloc[0, 1:]).all() and np.isnan(matrix.iloc[1:, 0]).all()
    ax = plots.plot_frequency_recency(matrix)
    image = ax.images[0]
    drawn = np.ma.filled(np.ma.masked_invalid(image.get_array()).astype(float), np.nan)
    np.testing.assert_array_equal(drawn, matrix.to_numpy())  # same cells, NaN where NaN
    # each cell is centred on its own recency and frequency
    x0, x1, y0, y1 = image.get_extent()
    n_rows, n_cols = matrix.shape
    centres_x = x0 + (np.arange(n_cols) + 0.5) * (x1 - x0) / n_cols
    centres_y = y0 + (np.arange(n_rows) + 0.5) * (y1 - y0) / n_rows
    np.testing.assert_allclose(centres_x, matrix.columns.to_numpy(dtype=float), atol=1e-9)
    np.testing.assert_allclose(centres_y, matrix.index.to_numpy(dtype=float), atol=1e-9)
    label = image.colorbar.ax.get_ylabel()  # type: ignore[union-attr]
    if quantity == "expected_purchases":
        assert label == "expected purchases in the next 39 weeks"
    else:
        assert label == "P(alive)"
    assert label in ax.get_title() and "T = 39 weeks" in ax.get_title()
    assert "weeks" in ax.get_xlabel()


def test_calibration_holdout_draws_by_frequency(results: dict[str, Any]) -> None:
    ev = results["evaluation"]
    table = ev.by_frequency
    assert (table["customers"] > 0).all()  # every group is drawn
    ax = plots.plot_calibration_holdout(ev)
    actual, predicted = ax.lines[0], ax.lines[1]
    np.testing.assert_array_equal(actual.get_xdata(), np.arange(len(table)))
    np.testing.assert_array_equal(actual.get_ydata(), table["actual"].to_numpy())
    np.testing.assert_array_equal(predicted.get_ydata(), table["predicted"].to_numpy())
    segments = _segments(ax)
    np.testing.assert_array_equal([s[0, 1] for s in segments], table["predicted_lower"])
    np.testing.assert_array_equal([s[1, 1] for s in segments], table["predicted_upper"])
    assert [t.get_text() for t in ax.get_xticklabels()] == list(table.index)
    assert "90% interval" in _legend_text(ax)  # evaluate's widest ci_prob, 0.9
    assert "holdout" in ax.get_ylabel() and "MLE" in ax.get_title()


def test_calibration_holdout_leaves_out_empty_groups(results: dict[str, Any]) -> None:
    ev = results["evaluation"]
    table = ev.by_frequency.copy()
    # a group without customers has no mean; evaluate stores 0 there, which is not data
    table.loc["6", ["customers", "actual", "predicted", "predicted_lower", "predicted_upper"]] = 0
    ax = plots.plot_calibration_holdout(dataclasses.replace(ev, by_frequency=table))
    shown = table.drop(index="6")
    assert [t.get_text() for t in ax.get_xticklabels()] == list(shown.index)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), shown["actual"].to_numpy())
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), shown["predicted"].to_numpy())


@pytest.mark.parametrize("cumulative", [True, False])
def test_tracking_draws_the_track(results: dict[str, Any], cumulative: bool) -> None:
    track = results["evaluation"].tracking
    prefix = "cumulative_" if cumulative else ""
    ax = plots.plot_tracking(track, cumulative=cumulative)
    ends = track["end"].to_numpy(dtype="datetime64[ns]")
    actual, model = ax.lines[0], ax.lines[1]
    np.testing.assert_array_equal(actual.get_xdata(), ends)
    np.testing.assert_array_equal(actual.get_ydata(), track[f"{prefix}actual"].to_numpy())
    np.testing.assert_array_equal(model.get_ydata(), track[f"{prefix}expected"].to_numpy())
    # the band spans lower..upper at every period end
    vertices = ax.collections[0].get_paths()[0].vertices
    for x, low, high in zip(
        mdates.date2num(ends),
        track[f"{prefix}expected_lower"],
        track[f"{prefix}expected_upper"],
        strict=True,
    ):
        ys = vertices[vertices[:, 0] == x, 1]
        assert ys.min() == pytest.approx(low, rel=1e-12, abs=1e-12)
        assert ys.max() == pytest.approx(high, rel=1e-12, abs=1e-12)
    marks = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert len(marks) == 1
    assert marks[0].get_xdata()[0] == pd.Timestamp("1997-09-30")  # the RFM's calibration end
    kind = "cumulative" if cumulative else "per-period"
    assert ax.get_ylabel() == f"{kind} repeat purchases"
    assert "90% interval" in ax.get_title() and "90% interval" in _legend_text(ax)


def test_parameters_draw_the_params_table(fits: dict[str, Any]) -> None:
    bg, boot = fits["bg"], fits["boot"]
    axes = plots.plot_parameters(boot, reference=bg)
    assert len(axes) == 4
    assert [ax.get_xlabel() for ax in axes] == ["r", "alpha", "a", "b"]
    draws = boot.parameter_draws()
    for i, (ax, name) in enumerate(zip(axes, boot.param_names, strict=True)):
        own, ref = boot.params_.loc[name], bg.params_.loc[name]
        # the density is ArviZ's KDE of this parameter's draws (ArviZ as the oracle)
        grid, pdf = az.kde(draws[:, i])
        np.testing.assert_allclose(ax.lines[0].get_xdata(), grid, rtol=1e-12)
        np.testing.assert_allclose(ax.lines[0].get_ydata(), pdf, rtol=1e-12)
        # the model's own interval and estimate are the values of its params_ table
        assert list(ax.lines[1].get_xdata()) == [own["lower"], own["upper"]]
        assert list(ax.lines[2].get_xdata()) == [own["estimate"]]
        assert list(ax.lines[3].get_xdata()) == [ref["estimate"], ref["estimate"]]
        span = ax.patches[0]  # axvspan: a Rectangle in data x, axes y
        assert span.get_x() == ref["lower"]  # type: ignore[attr-defined]
        assert span.get_x() + span.get_width() == pytest.approx(ref["upper"], rel=1e-15)  # type: ignore[attr-defined]
        assert ax.get_ylabel() == "density"
    legend = _legend_text(axes[0])
    assert "MLE estimate, 90% ETI interval" in legend  # the model's ci_prob and kind
    assert "MLE 90% ETI interval" in legend  # the reference's


@pytest.mark.parametrize("kind", ["posterior", "prior"])
def test_frequency_check_draws_the_check(
    results: dict[str, Any], cdnow_sample_rfm: pd.DataFrame, kind: str
) -> None:
    check = results[kind]
    assert check["observed"].sum() == len(cdnow_sample_rfm)
    # every draw simulates all 2,357 customers, so the predicted counts sum to them too
    assert check["mean"].sum() == pytest.approx(len(cdnow_sample_rfm))
    if kind == "posterior":  # the fitted model reproduces the histogram it was fitted to
        inside = (check["lower"] <= check["observed"]) & (check["observed"] <= check["upper"])
        assert inside.sum() >= 6
    ax = plots.plot_frequency_check(check)
    np.testing.assert_array_equal([p.get_height() for p in ax.patches], check["observed"])
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), check["mean"].to_numpy())
    segments = _segments(ax)
    np.testing.assert_array_equal([s[0, 1] for s in segments], check["lower"])
    np.testing.assert_array_equal([s[1, 1] for s in segments], check["upper"])
    assert [t.get_text() for t in ax.get_xticklabels()] == list(check.index)
    assert f"{kind} predictive 90% interval" in _legend_text(ax)
    assert kind.capitalize() in ax.get_title() and "frequency" in ax.get_title()


@pytest.mark.parametrize("source", ["predictions", "clv"])
def test_clv_distribution_counts_every_customer(results: dict[str, Any], source: str) -> None:
    values = results[source]
    table = values.table if source == "predictions" else values
    estimate = table["clv_estimate" if source == "predictions" else "estimate"].to_numpy()
    assert (estimate > 0).all()
    ax = plots.plot_clv_distribution(values, bins=40)
    heights = np.array([p.get_height() for p in ax.patches])
    assert len(heights) == 40 and heights.sum() == len(estimate)
    last = ax.patches[-1]
    edges = np.array([p.get_x() for p in ax.patches] + [last.get_x() + last.get_width()])
    # the bins run from the smallest estimate (1.7e-7 here: the old 1e-2 floor dropped
    # it) to the largest; a bar's x and width are rounded by an ulp, so the outer edges
    # are compared with a tolerance and then set to the exact extremes
    assert edges[0] == pytest.approx(estimate.min(), rel=1e-12)
    assert edges[-1] == pytest.approx(estimate.max(), rel=1e-12)
    edges[0], edges[-1] = estimate.min(), estimate.max()
    np.testing.assert_array_equal(heights, np.histogram(estimate, bins=edges)[0])
    mean, median = ax.lines[0].get_xdata()[0], ax.lines[1].get_xdata()[0]
    assert mean == pytest.approx(estimate.mean(), rel=1e-12)
    assert median == pytest.approx(np.median(estimate), rel=1e-12)
    horizon = "12 months" if source == "predictions" else "6 months"
    assert ax.get_title() == f"CLV over {horizon} across {len(estimate):,} customers"
    ax = plots.plot_clv_distribution(values, bins=25, log=False)
    heights = np.array([p.get_height() for p in ax.patches])
    np.testing.assert_array_equal(heights, np.histogram(estimate, bins=25)[0])


@pytest.mark.parametrize(("source", "n", "level"), [("predictions", 15, "90%"), ("clv", 7, "80%")])
def test_top_customers_draws_the_largest(
    results: dict[str, Any], source: str, n: int, level: str
) -> None:
    values = results[source]
    if source == "predictions":
        table = values.table.rename(columns=lambda c: c.removeprefix("clv_"))
    else:
        table = values
    ax = plots.plot_top_customers(values, n=n)
    top = table.sort_values("estimate", ascending=False, kind="stable").head(n).iloc[::-1]
    point = ax.lines[0]
    np.testing.assert_array_equal(point.get_xdata(), top["estimate"].to_numpy())
    np.testing.assert_array_equal(point.get_ydata(), np.arange(n))
    segments = _segments(ax)
    np.testing.assert_array_equal([s[0, 0] for s in segments], top["lower"])
    np.testing.assert_array_equal([s[1, 0] for s in segments], top["upper"])
    assert [t.get_text() for t in ax.get_yticklabels()] == list(id_texts(top.index))
    assert f"{level} ETI interval" in ax.get_xlabel()
    assert ax.get_title().startswith(f"Top {n} customers by CLV over")


def test_comparison_draws_the_metric(results: dict[str, Any]) -> None:
    comparison = results["comparison"]
    ax = plots.plot_comparison(comparison)
    assert ax.get_xlabel() == "purchases_rmse"  # compare's ranking metric
    widths = [p.get_width() for p in ax.patches]
    np.testing.assert_array_equal(widths, comparison["purchases_rmse"].to_numpy()[::-1])
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names == [str(i) for i in comparison.index[::-1]]
    grey = [p.get_facecolor()[:3] == (0.6, 0.6, 0.6) for p in ax.patches]
    assert grey == [n.startswith("baseline") for n in names]
    # baselines have no log score: they are left out, and the title says so
    ax = plots.plot_comparison(comparison, metric="log_score")
    assert [p.get_width() for p in ax.patches] == [comparison.loc["BG/NBD MLE", "log_score"]]
    assert "(3 without it not shown)" in ax.get_title()


# ---- every plot on a given Axes of another figure ---------------------------------------
PLOTS: dict[str, Callable[[dict[str, Any], Any], Any]] = {
    "frequency_recency": lambda r, ax: plots.plot_frequency_recency(r["probability_alive"], ax=ax),
    "calibration_holdout": lambda r, ax: plots.plot_calibration_holdout(r["evaluation"], ax=ax),
    "tracking": lambda r, ax: plots.plot_tracking(r["evaluation"].tracking, ax=ax),
    "frequency_check": lambda r, ax: plots.plot_frequency_check(r["prior"], ax=ax),
    "clv_distribution": lambda r, ax: plots.plot_clv_distribution(r["predictions"], ax=ax),
    "top_customers": lambda r, ax: plots.plot_top_customers(r["clv"], n=5, ax=ax),
    "comparison": lambda r, ax: plots.plot_comparison(r["comparison"], ax=ax),
}


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_plots_draw_on_the_given_axes(results: dict[str, Any], name: str) -> None:
    _target, (left, right) = plt.subplots(1, 2)
    current, other = plt.subplots()  # the current figure is not the target's
    assert plt.gcf() is current
    ax = PLOTS[name](results, right)
    assert ax is right
    assert ax.lines or ax.patches or ax.collections or ax.images
    assert not (left.lines or left.patches or left.collections or left.images)
    assert not (other.lines or other.patches or other.collections or other.images)
    assert current.axes == [other]  # nothing (a colorbar, say) went to the current figure
    assert plt.gcf() is current


def test_plot_without_axes_opens_its_own_figure(results: dict[str, Any]) -> None:
    current, other = plt.subplots()
    for name, plot in PLOTS.items():
        ax = plot(results, None)
        assert ax.figure is not current, name
    assert not other.lines


def test_parameters_draw_on_given_axes(fits: dict[str, Any]) -> None:
    _figure, axes = plt.subplots(2, 2)
    plt.subplots()  # another current figure
    out = plots.plot_parameters(fits["bg"], axes=axes)
    assert list(out) == list(axes.ravel())
    assert all(ax.lines for ax in axes.ravel())


# ---- rendering ----------------------------------------------------------------------------
def test_every_plot_renders(results: dict[str, Any], fits: dict[str, Any], tmp_path: Path) -> None:
    for name, plot in PLOTS.items():
        ax = plot(results, None)
        ax.figure.savefig(tmp_path / f"{name}.png", dpi=50)
        assert (tmp_path / f"{name}.png").stat().st_size > 5_000  # a picture, not a blank
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    axes = plots.plot_parameters(fits["boot"], reference=fits["bg"])
    axes[0].figure.savefig(tmp_path / "parameters.png", dpi=50)
    assert (tmp_path / "parameters.png").stat().st_size > 5_000


def test_rich_display(fits: dict[str, Any], results: dict[str, Any]) -> None:
    html = fits["bg"]._repr_html_()
    assert "BG/NBD fitted by MLE" in html and "1997-09-30" in html and "<table" in html
    assert "2,357 customers" in html
    assert "<table" in results["evaluation"]._repr_html_()
    unfitted = clvlab.BetaGeo()._repr_html_()
    assert "not fitted" in unfitted
