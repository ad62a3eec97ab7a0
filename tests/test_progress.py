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


def test_notebook_without_ipywidgets_falls_back_quietly_to_text(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A Jupyter kernel without ipywidgets: tqdm.auto would warn "IProgress not found";
    # clvlab uses the text bar (no warning: warnings are errors here), refreshed at most
    # once a second, and turns PyMC's own bars off.
    import sys

    from clvlab import progress

    monkeypatch.delenv("CLVLAB_PROGRESS", raising=False)
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets fails
    assert not progress.widgets_available()
    bar, extra = progress._tqdm(notebook=True)
    assert bar.__module__ == "tqdm.std" and extra == {"mininterval": 1.0}
    assert list(progress_bar(range(500), "boot")) == list(range(500))
    err = capsys.readouterr().err
    assert "boot" in err
    # 500 fast iterations: the first and the closing refresh, not one per item
    assert err.count("\r") <= 5, err.count("\r")
    assert progress.pymc_progress(True) is False


def test_notebook_with_ipywidgets_uses_widgets(monkeypatch: pytest.MonkeyPatch) -> None:
    from clvlab import progress

    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    assert progress.widgets_available()  # the jupyter extra is in the dev environment
    bar, extra = progress._tqdm(notebook=True)
    assert bar.__module__ == "tqdm.notebook" and extra == {}
    monkeypatch.delenv("CLVLAB_PROGRESS", raising=False)
    assert progress.pymc_progress(True) is True
    assert progress.pymc_progress(False) is False


def test_outside_a_notebook_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    from clvlab import progress

    assert not progress.in_notebook()
    bar, extra = progress._tqdm(notebook=False)
    assert bar.__module__ == "tqdm.std" and extra == {}
    monkeypatch.setenv("CLVLAB_PROGRESS", "0")
    assert progress.pymc_progress(True) is False
