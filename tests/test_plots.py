"""Every plot renders to a non-empty PNG with labelled axes that hold data (issue 7)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

import clvlab
from clvlab import plots


@pytest.fixture(scope="module")
def fits(cdnow_sample_rfm: pd.DataFrame) -> dict[str, object]:
    rfm = cdnow_sample_rfm
    bg = clvlab.BetaGeo().fit(rfm, seed=1, progress=False, n_draws=300)
    boot = clvlab.BetaGeo().fit(
        rfm, seed=1, progress=False, uncertainty="bootstrap", n_bootstrap=20
    )
    gg = clvlab.GammaGamma().fit(rfm, seed=1, progress=False, n_draws=300)
    return {"bg": bg, "boot": boot, "gg": gg}


def _has_data(ax: Axes) -> bool:
    return bool(ax.lines or ax.patches or ax.collections or ax.images)


def _check(ax: Axes | np.ndarray, path: Path) -> None:
    axes = np.atleast_1d(ax).ravel()
    axes[0].figure.savefig(path, dpi=60)
    assert path.stat().st_size > 5_000  # a real picture, not an empty canvas
    for one in axes:
        assert one.get_xlabel() and one.get_ylabel()
        assert _has_data(one)
    plt.close(axes[0].figure)


def test_frequency_recency_matrices(fits: dict[str, object], tmp_path: Path) -> None:
    bg = fits["bg"]
    assert isinstance(bg, clvlab.BetaGeo)
    for quantity in ("expected_purchases", "probability_alive"):
        matrix = clvlab.frequency_recency_matrix(
            bg, quantity=quantity, T=39, t=39, max_frequency=20, n_recency=20
        )
        # Cells: P(alive) is 1 with no repeat purchase (FHL 2005 eq. 11 with x = 0),
        # impossible cells (x = 0, recency > 0) are empty.
        if quantity == "probability_alive":
            assert matrix.iloc[0, 0] == 1.0
        assert np.isnan(matrix.iloc[0, 1:]).all()
        _check(plots.plot_frequency_recency(matrix), tmp_path / f"{quantity}.png")


def test_calibration_and_tracking(
    fits: dict[str, object],
    cdnow_sample_rfm: pd.DataFrame,
    cdnow_sample: pd.DataFrame,
    tmp_path: Path,
) -> None:
    bg = fits["bg"]
    assert isinstance(bg, clvlab.BetaGeo)
    ev = clvlab.evaluate(bg, cdnow_sample_rfm, transactions=cdnow_sample, max_draws=100)
    table = ev.by_frequency
    assert (table["predicted_lower"] <= table["predicted"] + 1e-9).all()
    assert (table["predicted"] <= table["predicted_upper"] + 1e-9).all()
    _check(plots.plot_calibration_holdout(ev), tmp_path / "calibration.png")
    assert ev.tracking is not None
    for cumulative in (True, False):
        ax = plots.plot_tracking(ev.tracking, cumulative=cumulative)
        assert any(line.get_linestyle() == ":" for line in ax.lines)  # calibration end
        _check(ax, tmp_path / f"tracking-{cumulative}.png")


def test_parameter_distributions_with_reference(fits: dict[str, object], tmp_path: Path) -> None:
    bg, boot = fits["bg"], fits["boot"]
    assert isinstance(bg, clvlab.BetaGeo) and isinstance(boot, clvlab.BetaGeo)
    axes = plots.plot_parameters(boot, reference=bg)
    assert len(axes) == 4
    assert [ax.get_xlabel() for ax in axes] == ["r", "alpha", "a", "b"]
    _check(axes, tmp_path / "parameters.png")


@pytest.mark.parametrize("kind", ["posterior", "prior"])
def test_frequency_predictive_checks(
    fits: dict[str, object], cdnow_sample_rfm: pd.DataFrame, tmp_path: Path, kind: str
) -> None:
    bg = fits["bg"]
    assert isinstance(bg, clvlab.BetaGeo)
    check = clvlab.frequency_check(bg, cdnow_sample_rfm, kind=kind, n_draws=60, seed=3)
    assert check["observed"].sum() == len(cdnow_sample_rfm)
    # every draw simulates all 2,357 customers, so the predicted counts sum to them too
    assert check["mean"].sum() == pytest.approx(len(cdnow_sample_rfm))
    if kind == "posterior":  # the fitted model reproduces the histogram it was fitted to
        inside = (check["lower"] <= check["observed"]) & (check["observed"] <= check["upper"])
        assert inside.sum() >= 6
    _check(plots.plot_frequency_check(check), tmp_path / f"check-{kind}.png")


def test_clv_plots(fits: dict[str, object], cdnow_sample_rfm: pd.DataFrame, tmp_path: Path) -> None:
    bg, gg = fits["bg"], fits["gg"]
    assert isinstance(bg, clvlab.BetaGeo) and isinstance(gg, clvlab.GammaGamma)
    predictions = clvlab.predict_customers(bg, gg, cdnow_sample_rfm, seed=1)
    _check(plots.plot_clv_distribution(predictions), tmp_path / "clv.png")
    ax = plots.plot_top_customers(predictions, n=15)
    assert len(ax.get_yticklabels()) == 15
    _check(ax, tmp_path / "top.png")


def test_comparison_plot(
    fits: dict[str, object], cdnow_sample_rfm: pd.DataFrame, tmp_path: Path
) -> None:
    comparison = clvlab.compare([fits["bg"]], cdnow_sample_rfm, names=["BG/NBD MLE"])  # type: ignore[list-item]
    ax = plots.plot_comparison(comparison)
    assert ax.get_xlabel() == "purchases_rmse"
    assert len(ax.patches) == 3  # the model and two baselines
    _check(ax, tmp_path / "compare.png")


@pytest.mark.parametrize(
    "make",
    [
        lambda: plt.subplots()[1],
    ],
)
def test_plots_draw_on_a_given_axes(
    make: Callable[[], Axes], fits: dict[str, object], cdnow_sample_rfm: pd.DataFrame
) -> None:
    ax = make()
    check = clvlab.frequency_check(fits["bg"], cdnow_sample_rfm, n_draws=10, seed=1)  # type: ignore[arg-type]
    assert plots.plot_frequency_check(check, ax=ax) is ax
    plt.close(ax.figure)


def test_rich_display(fits: dict[str, object], cdnow_sample_rfm: pd.DataFrame) -> None:
    html = fits["bg"]._repr_html_()  # type: ignore[attr-defined]
    assert "BG/NBD fitted by MLE" in html and "1997-09-30" in html and "<table" in html
    assert "2,357 customers" in html
    ev = clvlab.evaluate(fits["bg"], cdnow_sample_rfm, max_draws=50)  # type: ignore[arg-type]
    assert "<table" in ev._repr_html_()
    unfitted = clvlab.BetaGeo()._repr_html_()
    assert "not fitted" in unfitted
