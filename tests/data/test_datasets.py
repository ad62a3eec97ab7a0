"""Bundled datasets and the simulator."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

import clvlab


def test_master_log() -> None:
    log = clvlab.datasets.load_cdnow_master()
    # Source: Fader, Hardie & Lee (2005): 23,570 customers, 1997-01-01 to 1998-06-30.
    assert log["customer_id"].nunique() == 23570
    assert log["date"].min() == pd.Timestamp("1997-01-01")
    assert log["date"].max() == pd.Timestamp("1998-06-30")
    assert {"quantity", "spend"} <= set(log.columns)


def test_sample_ids_link_to_master(cdnow_sample: pd.DataFrame) -> None:
    master = clvlab.datasets.load_cdnow_master()
    first = cdnow_sample[cdnow_sample["customer_id"] == 1]
    same = master[master["customer_id"] == int(first["master_id"].iloc[0])]
    np.testing.assert_allclose(same["spend"].to_numpy(), first["spend"].to_numpy())


def test_lifetimes_datasets_module_is_not_imported(cdnow_sample: pd.DataFrame) -> None:
    # lifetimes.datasets imports pkg_resources, gone from setuptools >= 81.
    assert "lifetimes.datasets" not in sys.modules


def test_simulator_is_reproducible() -> None:
    a = clvlab.simulate_transactions(500, seed=3)
    b = clvlab.simulate_transactions(500, seed=3)
    c = clvlab.simulate_transactions(500, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert a["customer_id"].nunique() == 500
    assert (a["spend"] > 0).all()


def test_simulator_moments_follow_parameters() -> None:
    # With no dropout (b huge => p ~ 0) and T fixed, E[repeat purchases] = r/alpha * T.
    log = clvlab.simulate_transactions(
        20000,
        r=2.0,
        alpha=4.0,
        a=1e-3,
        b=1e4,
        acquisition_periods=0.0,
        observation_periods=20.0,
        seed=11,
        time_unit="D",
    )
    counts = log.groupby("customer_id").size() - 1
    assert counts.mean() == pytest.approx(2.0 / 4.0 * 20.0, rel=0.03)
    # Gamma-Gamma: E[z] = p * v / (q - 1) = 6.25 * 15.44 / 2.74 (Fader & Hardie 2013, eq. 3)
    assert log["spend"].mean() == pytest.approx(6.25 * 15.44 / 2.74, rel=0.05)


def test_simulator_rejects_bad_sizes() -> None:
    with pytest.raises(clvlab.ClvlabError):
        clvlab.simulate_transactions(0)
