"""Progress bars show on request and stay silent when turned off."""

from __future__ import annotations

import pandas as pd
import pytest

import clvlab
from clvlab.progress import progress_bar, progress_enabled


def test_bar_writes_to_stderr_and_can_be_turned_off(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLVLAB_PROGRESS", raising=False)
    assert list(progress_bar(range(3), "work")) == [0, 1, 2]
    assert "work" in capsys.readouterr().err
    assert list(progress_bar(range(3), "work", enable=False)) == [0, 1, 2]
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("CLVLAB_PROGRESS", "0")
    assert not progress_enabled(True)
    assert list(progress_bar(range(3), "work")) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_bootstrap_and_prediction_show_progress(
    cdnow_sample_rfm: pd.DataFrame,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CLVLAB_PROGRESS", raising=False)
    model = clvlab.BetaGeo().fit(
        cdnow_sample_rfm, uncertainty="bootstrap", n_bootstrap=5, seed=1, progress=True
    )
    assert "bootstrap" in capsys.readouterr().err
    model.fit(cdnow_sample_rfm, uncertainty="bootstrap", n_bootstrap=5, seed=1, progress=False)
    assert capsys.readouterr().err == ""
    spend = clvlab.GammaGamma().fit(cdnow_sample_rfm, seed=1, progress=False, n_draws=50)
    clvlab.clv(model, spend, cdnow_sample_rfm, seed=1, progress=True)
    assert capsys.readouterr().err != ""
