"""The command-line entry point."""

from __future__ import annotations

import pytest

from clvlab.cli import main


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "demo" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    assert main(["demo", "--out", str(tmp_path), "--quick", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "23,570 customers" in printed and "total 12-month CLV" in printed
    table = pd.read_parquet(tmp_path / "predictions.parquet")
    assert set(table["method"]) == {"mle", "nuts"}
    # Every customer but the one with $0 repeat spend (customer 10244), once per method.
    assert len(table) == 2 * 23569
    assert (table["clv_lower"] <= table["clv_estimate"]).all()
    assert (table["clv_estimate"] <= table["clv_upper"]).all()
    assert (tmp_path / "bgnbd_nuts.nc").exists()
