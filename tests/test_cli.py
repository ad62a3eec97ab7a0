"""The command-line entry point."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
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
    captured = capsys.readouterr()
    printed = captured.out
    assert "predictions.parquet has an older schema; moved to" in printed
    (backup,) = tmp_path.glob("predictions.parquet.bak-*")
    pd.testing.assert_frame_equal(pd.read_parquet(backup), old)
    assert "23,570 customers" in printed and "total CLV" in printed
    # the README documents a DataQualityWarning: one line per fit, the id printed as an id
    zero_spend = (
        "clvlab demo: DataQualityWarning: excluded 1 customer whose repeat purchases are "
        "worth 0 (customer id 10244)"
    )
    assert captured.err.count(zero_spend) == 2
    # the README lists the _long tables of both file targets
    for name in ("predictions_long.parquet", "predictions_long.csv"):
        assert (tmp_path / name).exists()
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
        assert main([*args, "--out", target]) == 0
        tables.append(clvlab.read_export(target).sort_values("customer_id", ignore_index=True))
    captured = capsys.readouterr()
    printed = captured.out
    assert "23,570 customers" in printed and "exporting to postgresql://clvlab:***@" in printed
    assert captured.err.count("DataQualityWarning: excluded 1 customer") == len(targets)
    assert "(customer id 10244)" in captured.err
    first = tables[0]
    assert len(first) == 23569 and set(first["run_id"]) == {"cdnow"}
    for other in tables[1:]:
        pd.testing.assert_frame_equal(other, first, check_exact=False, rtol=1e-15)
    # Running again with the same run id replaces its rows rather than adding them.
    assert main([*args, "--out", targets[2]]) == 0
    assert len(clvlab.read_export(targets[2])) == 23569
    runs = clvlab.read_export(targets[3], "runs")
    assert pd.to_datetime(runs["first_transaction"]).tolist() == [pd.Timestamp("1997-01-01")]
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


# --------------------------------------------------------------------------------------
# clvlab run: arguments, the target check, run ids, data rules. In process and fast:
# the CDNOW sample (2,357 customers) fitted by MLE with few draws.


@pytest.fixture(scope="module")
def sample_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "cdnow.csv"
    clvlab.datasets.load_cdnow_sample().to_csv(path, index=False)
    return path


def _args(log: Path | str, *extra: str) -> list[str]:
    return [
        *("run", str(log), "--customer-col", "customer_id", "--date-col", "date"),
        *("--amount-col", "spend", "--calibration-end", "1997-09-30"),
        *("--method", "mle", "--draws", "100", "--no-progress", *extra),
    ]


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


BAD_ARGUMENTS = [
    (["--horizon", "nan"], r"horizon must be a finite number, got nan"),
    (["--horizon", "inf"], r"horizon must be a finite number, got inf"),
    (["--horizon", "-1"], r"horizon must be positive, got -1\.0"),
    (["--horizon", "0"], r"horizon must be positive, got 0\.0"),
    (["--horizon", "12 months"], r"argument --horizon: invalid float value: '12 months'"),
    (["--discount-rate", "nan"], r"discount_rate must be a finite number, got nan"),
    (["--discount-rate", "-1"], r"discount_rate must be greater than -1"),
    (["--margin", "nan"], r"margin must be a finite number, got nan"),
    (["--margin", "0"], r"margin must lie in \(0, 1\], got 0\.0"),
    (["--margin", "1.5"], r"margin must lie in \(0, 1\], got 1\.5"),
    (["--ci-prob", "0"], r"ci_prob must lie strictly between 0 and 1"),
    (["--ci-prob", "1"], r"ci_prob must lie strictly between 0 and 1"),
    (["--ci-prob", "1.5"], r"ci_prob must lie strictly between 0 and 1"),
    (["--ci-prob", "nan"], r"ci_prob must be a finite number, got nan"),
    (["--draws", "0"], r"draws must be an integer >= 1, got 0"),
    (["--draws", "-5"], r"draws must be an integer >= 1, got -5"),
    (["--draws", "1.5"], r"argument --draws: invalid int value: '1\.5'"),
    (["--chains", "0"], r"chains must be an integer >= 1, got 0"),
    (["--tune", "-1"], r"tune must be an integer >= 0, got -1"),
    (["--n-bootstrap", "1"], r"n_bootstrap must be an integer >= 2, got 1"),
    (["--penalizer", "-0.1"], r"penalizer must be zero or positive, got -0\.1"),
    (["--penalizer", "nan"], r"penalizer must be a finite number, got nan"),
    (["--seed", "-1"], r"seed must be an integer >= 0, got -1"),
    (["--time-unit", "H"], r"argument --time-unit: invalid choice: 'H'"),
    (["--horizon-unit", "fortnight"], r"argument --horizon-unit: invalid choice"),
    (["--method", "sgd"], r"argument --method: invalid choice: 'sgd'"),
    (["--uncertainty", "jackknife"], r"argument --uncertainty: invalid choice"),
    (["--calibration-end", "2025-13-45"], r"calibration_end must be a date such as 2025-06-30"),
    (["--observation-end", "someday"], r"observation_end must be a date such as 2025-06-30"),
    (["--observation-end", "9999-12-31"], r"observation_end '9999-12-31' is outside the dates"),
    (["--calibration-end", "1500-01-01"], r"calibration_end '1500-01-01' is outside the dates"),
    (["--run-id", " "], r"run_id must be a non-empty text"),
]


@pytest.mark.parametrize(("extra", "message"), BAD_ARGUMENTS)
def test_run_refuses_bad_arguments_in_one_line_before_any_work(
    tmp_path: Path,
    sample_csv: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    out = tmp_path / "out" / "p.parquet"
    code = main(_args(sample_csv, "--out", str(out), *extra))
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1 and captured.err.startswith("clvlab run: error: ")
    assert re.search(message, captured.err), captured.err
    assert captured.out == ""  # refused before any step started
    assert _files(tmp_path) == []


def test_run_requires_out_in_one_line(sample_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(sample_csv)) == 2
    err = capsys.readouterr().err
    assert err == (
        "clvlab run: error: the following arguments are required: --out (see clvlab run --help)\n"
    )


def _bad_targets(tmp_path: Path) -> list[tuple[str, str]]:
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    (tmp_path / "a_folder").mkdir()
    return [
        (str(tmp_path / "x.xlsx"), r"cannot tell the format of .*x\.xlsx: use a \.parquet"),
        (str(a_file / "p.parquet"), r"a_file is a file, not a folder; choose another output"),
        (str(tmp_path / "a_folder"), r"a_folder: it is a folder; give a file name such as"),
        ("/proc/clvlab/p.csv", r"the folder /proc is not writable"),
        (f"sqlite:///{tmp_path}/missing/clv.db", r"the folder .*missing does not exist; create"),
        (
            "postgresql://user:s3cret-pw@127.0.0.1:1/db",
            r"cannot connect to postgresql://user:\*\*\*@127\.0\.0\.1:1/db: .*refused. Check "
            r"the host, port, database name, user and password",
        ),
        ("nosuchdb://host/db", r"no SQLAlchemy dialect for nosuchdb://host/db"),
    ]


def test_run_checks_the_target_before_reading_the_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The input does not exist: each error is about --out, so --out was checked first.
    for target, message in _bad_targets(tmp_path):
        before = _files(tmp_path)
        code = main(_args(tmp_path / "missing.csv", "--out", target))
        err = capsys.readouterr().err
        assert code == 2, target
        assert err.count("\n") == 1 and err.startswith("clvlab run: error: "), err
        assert re.search(message, err), err
        assert "Nothing was written." in err and "s3cret" not in err
        assert _files(tmp_path) == before


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres")
def test_run_checks_postgres_credentials_first(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = postgres_url.replace("clvlab-test-password", "wrong-secret")
    assert main(_args(tmp_path / "missing.csv", "--out", wrong)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "password authentication failed" in err
    assert "wrong-secret" not in err and "clvlab:***@" in err
    missing_db = postgres_url.rsplit("/", 1)[0] + "/no_such_db"
    assert main(_args(tmp_path / "missing.csv", "--out", missing_db)) == 2
    assert 'database "no_such_db" does not exist' in capsys.readouterr().err


def test_run_reports_unreadable_inputs_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "binary.csv").write_bytes(b"\xff\xfe\x00\x81" * 100)
    (tmp_path / "fake.parquet").write_text("customer_id,date\n1,2020-01-01\n")
    (tmp_path / "book.xlsx").write_bytes(b"PK\x03\x04")
    cases = {
        "missing.csv": r"transactions file .*missing\.csv does not exist; give the path",
        "folder.csv": r"folder\.csv is a folder; give a \.csv or \.parquet file",
        "empty.csv": r"cannot read transactions from .*empty\.csv as CSV: No columns",
        "binary.csv": r"cannot read transactions from .*binary\.csv as CSV: .*Check that it is",
        "fake.parquet": r"cannot read transactions from .*fake\.parquet as Parquet: ",
        "book.xlsx": r"cannot tell the format of transactions file .*book\.xlsx: rename",
    }
    out = tmp_path / "out" / "p.parquet"
    for name, message in cases.items():
        assert main(_args(tmp_path / name, "--out", str(out))) == 2, name
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("clvlab run: error: "), err
        assert re.search(message, err), err
    assert not out.parent.exists()


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nonsense"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("clvlab: error: argument command: invalid choice: 'nonsense'")


def test_one_line_joins_multi_line_messages() -> None:
    from clvlab.cli import _one_line

    assert _one_line("fit failed:\n\n  the model did not converge.\n") == (
        "fit failed:; the model did not converge."
    )


def test_run_accepts_every_documented_time_unit(
    tmp_path: Path, sample_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.parquet"
    for unit in ("D", "W", "M", "Y", "y"):
        assert main(_args(sample_csv, "--time-unit", unit, "--out", str(out))) == 0
    runs = clvlab.read_export(out, "runs")
    # "Y" and "y" are the same settings: the second run replaced the first
    assert sorted(runs["time_unit"]) == ["D", "M", "W", "Y"]
    capsys.readouterr()


def test_same_command_twice_replaces_its_own_run(
    tmp_path: Path, sample_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from clvlab.pipeline import PipelineSettings, check_settings, default_run_id

    out = tmp_path / "p.csv"
    args = _args(sample_csv, "--out", str(out))
    assert main(args) == 0
    first = clvlab.read_export(out)
    assert main(args) == 0
    again = clvlab.read_export(out)
    printed = capsys.readouterr().out
    (run_id,) = set(again["run_id"])
    # one copy of the 2,357 sample customers (Fader, Hardie & Lee 2005 sample size)
    assert len(again) == len(first) == 2357
    assert printed.count(f"run id {run_id}") == 2
    settings = check_settings(
        PipelineSettings(
            amount_col="spend", calibration_end="1997-09-30", draws=100, progress=False
        )
    )
    log = pd.read_csv(sample_csv)
    assert run_id == default_run_id(log, settings, "cdnow")
    # other settings are another run, added beside it
    assert main([*args, "--seed", "1"]) == 0
    runs = clvlab.read_export(out, "runs")
    assert len(set(runs["run_id"])) == 2 and run_id in set(runs["run_id"])
    assert len(clvlab.read_export(out)) == 2 * 2357
    capsys.readouterr()


def test_run_id_follows_the_data(tmp_path: Path, sample_csv: Path) -> None:
    from clvlab.pipeline import PipelineSettings, default_run_id

    log = pd.read_csv(sample_csv)
    settings = PipelineSettings(amount_col="spend")
    base = default_run_id(log, settings, "cdnow")
    changed = log.copy()
    changed.loc[0, "spend"] += 0.01
    assert default_run_id(changed, settings, "cdnow") != base
    # a column the job does not read does not change the id
    assert default_run_id(log.assign(extra=1), settings, "cdnow") == base
    # neither do output-only settings
    output_only = PipelineSettings(amount_col="spend", long=True, table_prefix="x", progress=False)
    assert default_run_id(log, output_only, "cdnow") == base
    assert re.fullmatch(r"cdnow-[0-9a-f]{16}", base)
    assert default_run_id(log, settings, "my sales; DROP").startswith("my_sales_DROP-")


def test_run_discount_rate_default_is_one_percent_a_month(
    tmp_path: Path, sample_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.parquet"
    assert main(_args(sample_csv, "--out", str(out))) == 0
    assert main(_args(sample_csv, "--horizon", "1", "--horizon-unit", "Y", "--out", str(out))) == 0
    runs = clvlab.read_export(out, "runs").set_index("horizon_unit")
    # README and demo: 1% a month; a year of it compounds to 1.01 ** 12 - 1 (hand computation)
    assert runs.loc["M", "discount_rate"] == 0.01
    assert runs.loc["Y", "discount_rate"] == pytest.approx(1.01**12 - 1, rel=1e-12)
    assert "discount rate 0.01 a month" in capsys.readouterr().out


def test_run_margin_scales_clv(
    tmp_path: Path, sample_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.parquet"
    assert main(_args(sample_csv, "--run-id", "full", "--out", str(out))) == 0
    assert main(_args(sample_csv, "--run-id", "m30", "--margin", "0.3", "--out", str(out))) == 0
    full = clvlab.read_export(out, run_id="full").set_index("customer_id")
    m30 = clvlab.read_export(out, run_id="m30").set_index("customer_id")
    # CLV is margin x discounted revenue (Fader, Hardie & Lee 2005, eq. 1 with margin m):
    # the same seed gives the same draws, so every CLV column scales by exactly 0.3
    for col in ("clv_estimate", "clv_lower", "clv_upper"):
        np.testing.assert_allclose(m30[col], 0.3 * full[col], rtol=1e-12)
    purchases = "expected_purchases_estimate"
    pd.testing.assert_series_equal(m30[purchases], full[purchases])
    assert clvlab.read_export(out, "runs", run_id="m30")["margin"].tolist() == [0.3]
    capsys.readouterr()


def test_run_penalizer_and_bootstrap_reach_the_fit(
    tmp_path: Path, sample_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.parquet"
    extra = ("--penalizer", "0.001", "--uncertainty", "bootstrap", "--n-bootstrap", "4")
    assert main(_args(sample_csv, *extra, "--run-id", "pen", "--out", str(out))) == 0
    printed = capsys.readouterr().out
    assert printed.count("fitted by MLE (bootstrap uncertainty)") == 2
    exported = clvlab.read_export(out, "parameters").set_index(["model", "parameter"])
    # oracle: the API fit with the same settings
    rfm = clvlab.rfm_summary(
        clvlab.datasets.load_cdnow_sample(),
        monetary_value_col="spend",
        calibration_end="1997-09-30",
    )
    bg = clvlab.BetaGeo().fit(
        rfm,
        method="mle",
        seed=0,
        progress=False,
        penalizer=0.001,
        uncertainty="bootstrap",
        n_bootstrap=4,
    )
    plain = clvlab.BetaGeo().fit(rfm, method="mle", seed=0, progress=False)
    for name, value in bg.params_["estimate"].items():
        assert exported.loc[("bgnbd", name), "estimate"] == pytest.approx(value, rel=1e-9)
    assert not np.allclose(bg.params_["estimate"], plain.params_["estimate"], rtol=1e-3)


def test_run_drop_invalid_reports_counts_and_ids_as_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = clvlab.datasets.load_cdnow_sample()[["customer_id", "date", "spend"]]
    log = log.assign(customer_id=log["customer_id"] + 14000, date=log["date"].astype(str))
    log.loc[[0, 1], "customer_id"] = np.nan  # the column becomes float: 14001.0, ...
    log.loc[5, "date"] = "not a date"
    zero = pd.DataFrame(
        {
            "customer_id": [99999.0] * 3,
            "date": ["1997-01-05", "1997-02-05", "1997-03-05"],
            "spend": [10.0, 0.0, 0.0],
        }
    )
    path = tmp_path / "dirty.csv"
    pd.concat([log, zero], ignore_index=True).to_csv(path, index=False)
    out = tmp_path / "out" / "p.parquet"
    assert main(_args(path, "--out", str(out))) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("clvlab run: error: column 'customer_id': customer id is null (2 rows")
    assert err.rstrip().endswith("pass --drop-invalid (drop_invalid=True)")
    assert not out.parent.exists()

    assert main(_args(path, "--drop-invalid", "--out", str(out))) == 0
    lines = capsys.readouterr().err.splitlines()
    n = len(log) + 3
    assert lines == [
        f"clvlab run: DataQualityWarning: dropped 2 of {n:,} rows (--drop-invalid): "
        "customer_id: customer id is null",
        f"clvlab run: DataQualityWarning: dropped 1 of {n:,} rows (--drop-invalid): "
        "date: date cannot be parsed as ISO 8601 (YYYY-MM-DD), the column's convention",
        "clvlab run: DataQualityWarning: excluded 1 customer whose repeat purchases are worth "
        "0 (customer id 99999): the Gamma-Gamma spend model and CLV need a positive mean spend",
    ]
    table = clvlab.read_export(out)
    # ids are written as ids: 14001, not 14001.0; the $0 customer is not exported
    assert "14003" in set(table["customer_id"]) and "99999" not in set(table["customer_id"])
    assert not table["customer_id"].str.contains(r"\.").any()


def test_run_point_estimates_only_leaves_intervals_empty(
    tmp_path: Path, sample_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.parquet"
    assert main(_args(sample_csv, "--run-id", "full", "--out", str(out))) == 0
    code = main(_args(sample_csv, "--run-id", "point", "--point-estimates-only", "--out", str(out)))
    assert code == 0
    assert "(point estimate; intervals left empty on request)" in capsys.readouterr().out
    full = clvlab.read_export(out, run_id="full").set_index("customer_id")
    point = clvlab.read_export(out, run_id="point").set_index("customer_id")
    for metric in ("clv", "expected_purchases", "probability_alive", "expected_spend"):
        # the same point estimates; no interval pretends to be a result
        np.testing.assert_array_equal(point[f"{metric}_estimate"], full[f"{metric}_estimate"])
        assert point[f"{metric}_lower"].isna().all() and point[f"{metric}_upper"].isna().all()
        assert np.isfinite(full[[f"{metric}_lower", f"{metric}_upper"]].to_numpy()).all()
    assert set(point["interval"]) == {"none"}
    runs = clvlab.read_export(out, "runs", run_id="point")
    assert runs["interval"].tolist() == ["none"] and runs["total_clv_lower"].isna().all()


@pytest.mark.slow
def test_run_on_a_degenerate_mle_reports_the_fallback_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Customers who never drop out (dropout p ~ Beta(0.5, 1e6)): BG/NBD's MLE runs to
    # a -> 0, where the Laplace intervals would be infinite (issue 12, case 3).
    log = clvlab.simulate_transactions(500, a=0.5, b=1e6, seed=1)
    path = tmp_path / "never.csv"
    log.to_csv(path, index=False)
    out = tmp_path / "p.parquet"
    args = [*("run", str(path), "--customer-col", "customer_id", "--date-col", "date")]
    args += ["--amount-col", "spend", "--observation-end", "2021-06-29", "--draws", "200"]
    assert main([*args, "--no-progress", "--out", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith(
        "clvlab run: DegenerateFitWarning: BG/NBD maximum likelihood is degenerate (a = "
    )
    table = clvlab.read_export(out)
    bounds = [c for c in table.columns if c.endswith(("_lower", "_upper"))]
    assert np.isfinite(table[bounds].to_numpy()).all()  # no NaN interval is exported
    parameters = clvlab.read_export(out, "parameters")
    assert np.isfinite(parameters[["estimate", "lower", "upper"]].to_numpy()).all()
