"""plot_survival draws a fitted sBG's survival curve against Fader & Hardie (2007)
Table 1, and refuses what it cannot draw truthfully."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.plots import plot_survival


@pytest.fixture(autouse=True)
def _close() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def curve() -> pd.DataFrame:
    table = clvlab.cohort_histories(clvlab.datasets.load_retention_cohorts()["regular"], periods=7)
    model = clvlab.ShiftedBetaGeo().fit(table, seed=1, progress=False, n_draws=300)
    return model.survival_curve(12)


def test_draws_the_band_the_estimate_and_the_observed_shares(curve: pd.DataFrame) -> None:
    # observed: FH07 Table 1's regular cohort over its 1,000 customers
    counts = clvlab.datasets.load_retention_cohorts()["regular"]
    ax = plot_survival(curve, observed=counts / counts.iloc[0])
    line, points = ax.lines[0], ax.lines[1]
    np.testing.assert_allclose(line.get_ydata(), curve["survival"])
    np.testing.assert_allclose(points.get_ydata(), counts / 1000)
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(curve["survival_lower"].min())
    assert ax.get_xlabel() == "period (years)"
    # retention starts at period 1 (no one could cancel at period 0)
    ax2 = plot_survival(curve, metric="retention")
    assert ax2.lines[0].get_xdata()[0] == 1.0
    assert np.all(np.diff(ax2.lines[0].get_ydata()) > 0)  # rises with tenure (FH07 eq. 6)


def test_refuses_what_it_cannot_draw(curve: pd.DataFrame) -> None:
    with pytest.raises(clvlab.ArgumentError, match="metric must be"):
        plot_survival(curve, metric="churn")
    with pytest.raises(clvlab.ArgumentError, match="survival_curve"):
        plot_survival(curve["survival"])  # type: ignore[arg-type]
    bad = curve.copy()
    bad.loc[3, "survival"] = 1.2
    with pytest.raises(clvlab.DataValidationError, match="above 1"):
        plot_survival(bad)
    bad = curve.copy()
    bad.loc[2, "survival_lower"] = np.nan
    with pytest.raises(clvlab.DataValidationError, match="NaN"):
        plot_survival(bad)
    with pytest.raises(clvlab.DataValidationError, match="share in"):
        plot_survival(curve, observed=[1000, 631])  # counts, not shares
    with pytest.raises(clvlab.DataValidationError, match="does not cover"):
        plot_survival(curve, observed=pd.Series([0.5], index=[40]))
    other = curve.copy()
    other.attrs = {"clvlab": {"quantity": "expected_purchases"}}
    with pytest.raises(clvlab.ArgumentError, match="survival_curve"):
        plot_survival(other)
