"""The command-line entry point."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

import clvlab
from clvlab.cli import main


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "demo" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # an output of an older clvlab (another schema) is moved aside, with a note
    old = pd.DataFrame({"customer_id": [1], "clv_estimate": [1.0]})
    old.to_parquet(tmp_path / "predictions.parquet")
    assert main(["demo", "--out", str(tmp_path), "--quick", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "predictions.parquet has an older schema; moved to" in printed
    (backup,) = tmp_path.glob("predictions.parquet.bak-*")
    pd.testing.assert_frame_equal(pd.read_parquet(backup), old)
    assert "23,570 customers" in printed and "total CLV" in printed
    assert "excluded 1 customers whose repeat purchases are worth 0 (e.g. [10244])" in printed
    table = clvlab.read_export(f"sqlite:///{tmp_path / 'clv.db'}")
    assert set(table["run_id"]) == {"cdnow-mle", "cdnow-nuts"}
    # Every customer but the one with $0 repeat spend (customer 10244), once per method.
    assert len(table) == 2 * 23569
    assert (table["clv_lower"] <= table["clv_estimate"]).all()
    assert (table["clv_estimate"] <= table["clv_upper"]).all()
    parquet = clvlab.read_export(tmp_path / "predictions.parquet")
    pd.testing.assert_frame_equal(parquet, table)
    runs = clvlab.read_export(f"sqlite:///{tmp_path / 'clv.db'}", "runs")
    assert sorted(runs["method"]) == ["mle", "nuts"]
    assert (tmp_path / "bgnbd_nuts.nc").exists()


def test_run_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    for flag in ("--customer-col", "--calibration-end", "--method", "--horizon", "--out"):
        assert flag in text
    assert "examples:" in text and "postgresql://" in text and "sqlite:///" in text


def test_run_reports_clvlab_errors_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "log.csv"
    pd.DataFrame({"id": [1, 2], "day": ["2020-01-01", "not a date"], "v": [1.0, 2.0]}).to_csv(
        log, index=False
    )
    code = main(
        [
            *("run", str(log), "--customer-col", "id", "--date-col", "day"),
            *("--amount-col", "v", "--out", str(tmp_path / "p.parquet"), "--no-progress"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("clvlab run: error: column 'day': ") and "(1 row" in err


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cdnow") / "cdnow.csv"
    clvlab.datasets.load_cdnow_master().to_csv(path, index=False)
    return path


@pytest.mark.slow
@pytest.mark.xdist_group("postgres")
def test_run_on_full_cdnow_writes_each_target(
    tmp_path: Path, cdnow_csv: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = [
        str(tmp_path / "p.parquet"),
        str(tmp_path / "p.csv"),
        f"sqlite:///{tmp_path / 'clv.db'}",
        postgres_url,
    ]
    args = ["run", str(cdnow_csv), "--customer-col", "customer_id", "--date-col", "date"]
    args += ["--amount-col", "spend", "--calibration-end", "1997-09-30", "--seed", "7"]
    args += ["--run-id", "cdnow", "--no-progress", "--long"]
    tables = []
    for target in targets:
        with pytest.warns(clvlab.DataQualityWarning, match=r"\[10244\]"):
            assert main([*args, "--out", target]) == 0
        tables.append(clvlab.read_export(target).sort_values("customer_id", ignore_index=True))
    printed = capsys.readouterr().out
    assert "23,570 customers" in printed and "exporting to postgresql://clvlab:***@" in printed
    first = tables[0]
    assert len(first) == 23569 and set(first["run_id"]) == {"cdnow"}
    for other in tables[1:]:
        pd.testing.assert_frame_equal(other, first, check_exact=False, rtol=1e-15)
    # Running again with the same run id replaces its rows rather than adding them.
    with pytest.warns(clvlab.DataQualityWarning):
        assert main([*args, "--out", targets[2]]) == 0
    assert len(clvlab.read_export(targets[2])) == 23569
    runs = clvlab.read_export(targets[3], "runs")
    assert runs["first_transaction"].tolist() == [dt.date(1997, 1, 1)]
    assert runs["customers"].tolist() == [23569]


@pytest.mark.parametrize("method", ["mle", "map"])
def test_run_draws_setting_reaches_every_method(method: str) -> None:
    from clvlab.pipeline import PipelineSettings, run_pipeline

    settings = PipelineSettings(
        amount_col="spend",
        calibration_end="1997-09-30",
        method="mle" if method == "mle" else "map",
        draws=150,
        chains=2,
        progress=False,
    )
    _, purchase, spend = run_pipeline(clvlab.datasets.load_cdnow_sample(), None, settings)
    for model in (purchase, spend):
        assert model.draws_.sizes["chain"] * model.draws_.sizes["draw"] == 300
