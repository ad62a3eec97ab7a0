"""Shared fixtures. Every reference value used in a test names its source there."""

from __future__ import annotations

import os

import matplotlib
import pandas as pd
import pytest

import clvlab

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def cdnow_sample() -> pd.DataFrame:
    """CDNOW 1/10 sample transaction log (2,357 customers), as shipped with lifetimes."""
    return clvlab.datasets.load_cdnow_sample()


@pytest.fixture(scope="session")
def cdnow_summary() -> pd.DataFrame:
    """Published CDNOW RFM summary (Fader, Hardie & Lee 2005), weeks."""
    return clvlab.datasets.load_cdnow_summary()


@pytest.fixture(scope="session")
def cdnow_sample_rfm(cdnow_sample: pd.DataFrame) -> pd.DataFrame:
    """RFM of the CDNOW sample, calibration to 1997-09-30, observation to 1998-06-30."""
    return clvlab.rfm_summary(
        cdnow_sample,
        customer_id_col="customer_id",
        datetime_col="date",
        monetary_value_col="spend",
        calibration_end="1997-09-30",
        observation_end="1998-06-30",
    )
