"""Fits the decision tests share: BG/NBD and Gamma-Gamma on the CDNOW sample, by MLE
(Laplace draws) and by MAP, once per test session (each worker)."""

from __future__ import annotations

import pandas as pd
import pytest

import clvlab


@pytest.fixture(scope="session")
def bg(cdnow_sample_rfm: pd.DataFrame) -> clvlab.BetaGeo:
    return clvlab.BetaGeo().fit(cdnow_sample_rfm, seed=1, progress=False, n_draws=200)


@pytest.fixture(scope="session")
def gg(cdnow_sample_rfm: pd.DataFrame) -> clvlab.GammaGamma:
    return clvlab.GammaGamma().fit(cdnow_sample_rfm, seed=2, progress=False, n_draws=200)


@pytest.fixture(scope="session")
def bg_map(cdnow_sample_rfm: pd.DataFrame) -> clvlab.BetaGeo:
    return clvlab.BetaGeo().fit(cdnow_sample_rfm, method="map", seed=3, progress=False, draws=200)


@pytest.fixture(scope="session")
def gg_map(cdnow_sample_rfm: pd.DataFrame) -> clvlab.GammaGamma:
    return clvlab.GammaGamma().fit(
        cdnow_sample_rfm, method="map", seed=4, progress=False, draws=200
    )
