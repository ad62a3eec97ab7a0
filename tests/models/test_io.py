"""Saving and loading without pickle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import clvlab


@pytest.fixture(scope="module")
def fitted(cdnow_summary: pd.DataFrame) -> clvlab.BetaGeo:
    return clvlab.BetaGeo().fit(cdnow_summary, seed=9, progress=False, n_draws=500)


def test_round_trip_is_identical(fitted: clvlab.BetaGeo, tmp_path: Path) -> None:
    path = tmp_path / "bg.nc"
    fitted.save(str(path))
    loaded = clvlab.load(str(path))
    assert isinstance(loaded, clvlab.BetaGeo)
    pd.testing.assert_frame_equal(loaded.params_, fitted.params_)
    for name in fitted.param_names:
        np.testing.assert_array_equal(
            loaded.draws_[name].to_numpy(), fitted.draws_[name].to_numpy()
        )
    assert loaded.log_likelihood_ == fitted.log_likelihood_
    assert loaded.method_ == "mle" and loaded.n_customers_ == 2357
    pd.testing.assert_frame_equal(loaded.covariance_, fitted.covariance_)
    # the fit record, with the RFM table's time unit, survives save/load
    assert loaded.fit_info_ == fitted.fit_info_ and loaded.fit_info_["data"]["time_unit"] == "W"
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write left no temporary file


@pytest.mark.slow
def test_round_trip_keeps_inference_data(cdnow_summary: pd.DataFrame, tmp_path: Path) -> None:
    model = clvlab.GammaGamma().fit(
        cdnow_summary,
        method="nuts",
        draws=500,
        tune=500,
        seed=1,
        progress=False,
        sampler="nutpie",
    )
    path = tmp_path / "gg.nc"
    model.save(str(path))
    loaded = clvlab.GammaGamma.load(str(path))
    assert loaded.idata_ is not None
    np.testing.assert_array_equal(
        loaded.idata_.posterior["p"].to_numpy(), model.idata_.posterior["p"].to_numpy()
    )
    assert "diverging" in loaded.idata_.sample_stats


def test_wrong_model_is_refused(fitted: clvlab.BetaGeo, tmp_path: Path) -> None:
    path = tmp_path / "bg.nc"
    fitted.save(str(path))
    with pytest.raises(clvlab.ModelFileError, match=r"holds a BG/NBD model.*not a GammaGamma"):
        clvlab.GammaGamma.load(str(path))


@pytest.mark.parametrize("content", [b"", b"not a netcdf file", b"\x89HDF\r\n\x1a\n garbage"])
def test_corrupt_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.nc"
    path.write_bytes(content)
    with pytest.raises(clvlab.ModelFileError, match="not a readable clvlab model file"):
        clvlab.load(str(path))


def test_truncated_file(fitted: clvlab.BetaGeo, tmp_path: Path) -> None:
    path = tmp_path / "bg.nc"
    fitted.save(str(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(clvlab.ModelFileError):
        clvlab.load(str(path))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(clvlab.ModelFileError, match="no such file"):
        clvlab.load(str(tmp_path / "nope.nc"))


def test_saving_unfitted_model_fails(tmp_path: Path) -> None:
    with pytest.raises(clvlab.NotFittedError):
        clvlab.BetaGeo().save(str(tmp_path / "x.nc"))
