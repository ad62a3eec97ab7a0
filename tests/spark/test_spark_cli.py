"""``clvlab run --engine spark`` end to end, on a CSV file and a Parquet folder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.cli import main
from clvlab.spark.job import is_folder_target

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

ARGS = [
    "--customer-col",
    "customer_id",
    "--date-col",
    "date",
    "--amount-col",
    "spend",
    "--calibration-end",
    "1997-09-30",
    "--draws",
    "150",
    "--chains",
    "1",
    "--no-progress",
]


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    folder = tmp_path_factory.mktemp("log")
    sample = clvlab.datasets.load_cdnow_sample()[["customer_id", "date", "spend"]]
    csv = folder / "sales.csv"
    sample.assign(date=sample["date"].dt.strftime("%Y-%m-%d")).to_csv(csv, index=False)
    parts = folder / "sales_parquet"
    parts.mkdir()
    for i, start in enumerate(range(0, len(sample), 2500)):
        sample.iloc[start : start + 2500].to_parquet(parts / f"part-{i}.parquet", index=False)
    return csv, parts


def test_csv_to_parquet_folder_equals_the_pandas_engine(spark, log, tmp_path, capsys) -> None:
    csv, _ = log
    assert main(["run", str(csv), *ARGS, "--out", str(tmp_path / "pandas.parquet")]) == 0
    assert main(["run", str(csv), "--engine", "spark", *ARGS, "--out", str(tmp_path / "out")]) == 0
    # oracle: the pandas engine on the same file and settings
    ref = clvlab.read_export(tmp_path / "pandas.parquet").set_index("customer_id").sort_index()
    got = pd.read_parquet(tmp_path / "out").set_index("customer_id").sort_index()
    assert len(got) == 2357 and got.index.tolist() == ref.index.tolist()
    for col in ("clv_estimate", "probability_alive_estimate", "simple_clv", "historic_clv"):
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-6)
    runs = pd.read_parquet(tmp_path / "out" / "_runs.parquet")
    assert runs["customers"].tolist() == [2357]
    assert "total CLV" in capsys.readouterr().out


def test_parquet_folder_to_export_target(spark, log, tmp_path) -> None:
    _, parts = log
    url = f"sqlite:///{tmp_path / 'clv.db'}"
    assert main(["run", str(parts), "--engine", "spark", *ARGS, "--out", url]) == 0
    table = clvlab.read_export(url)
    assert len(table) == 2357 and table["customer_id"].is_unique
    assert clvlab.read_export(url, "runs")["customers"].tolist() == [2357]


def test_bad_inputs_are_one_line_errors(spark, log, tmp_path, capsys) -> None:
    csv, _ = log
    missing = ["run", str(tmp_path / "nope.csv"), "--engine", "spark", *ARGS, "--out", "x/"]
    assert main(missing) == 2
    assert "do not exist" in capsys.readouterr().err
    bad_col = [a if a != "spend" else "amount" for a in ARGS]
    out = ["--out", str(tmp_path / "o")]
    assert main(["run", str(csv), "--engine", "spark", *bad_col, *out]) == 2
    assert "amount" in capsys.readouterr().err
    assert main(["run", str(csv), "--engine", "spark", *ARGS, "--segments", *out]) == 2
    assert "not available with --engine spark" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_folder_targets() -> None:
    assert is_folder_target("scores/") and is_folder_target("scores")
    assert not is_folder_target("scores.parquet") and not is_folder_target("sqlite:///a.db")
