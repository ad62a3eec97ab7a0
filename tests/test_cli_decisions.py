"""``clvlab run`` with the decision options (issue 14): --segments --tiers --thresholds
--group-by --forecast --new-customers --cac.

The log is the CDNOW 1/10 sample (2,357 customers) with a SIMULATED acquisition channel
(random per customer, seed 14: CDNOW records no channel), fitted by MLE with 100 draws,
so each run takes a second or two.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import clvlab
from clvlab.cli import main
from clvlab.pipeline import PipelineSettings, check_settings

CHANNELS = ("email", "search", "social")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The log and the CAC files; every test writes its output elsewhere."""
    root = tmp_path_factory.mktemp("decisions")
    log = clvlab.datasets.load_cdnow_sample()
    rng = np.random.default_rng(14)
    ids = log["customer_id"].unique()
    channel = dict(zip(ids, rng.choice(CHANNELS, len(ids)), strict=True))
    log["simulated_channel"] = log["customer_id"].map(channel)  # SIMULATED
    # customer 1 (3 purchases) gets a second value; customer 2 none
    log["two_values"] = log["simulated_channel"]
    log.loc[log.index[log["customer_id"] == 1][0], "two_values"] = "other"
    log["with_gaps"] = log["simulated_channel"]
    log.loc[log["customer_id"] == 2, "with_gaps"] = np.nan
    log.to_csv(root / "log.csv", index=False)
    (root / "cac.csv").write_text("group,cac\nemail,20\nsearch,35\nsocial,80\n")
    (root / "negative.csv").write_text("group,cac\nemail,20\nsearch,-3\n")
    (root / "no_cac.csv").write_text("group,cost\nemail,20\n")
    return root


def _args(folder: Path, out: Path | str, *extra: str) -> list[str]:
    return [
        *("run", str(folder / "log.csv"), "--customer-col", "customer_id"),
        *("--date-col", "date", "--amount-col", "spend", "--calibration-end", "1997-09-30"),
        *("--method", "mle", "--draws", "100", "--no-progress", "--out", str(out), *extra),
    ]


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_run_writes_every_decision_table(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "clv.parquet"
    code = main(
        _args(
            folder,
            out,
            *("--segments", "--group-by", "simulated_channel", "--forecast"),
            *("--cac", str(folder / "cac.csv"), "--discount-rate", "0"),
        )
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "== computing the decision tables" in printed
    assert re.search(r"segments: q0_50 [\d,]+, q50_90 [\d,]+, q90_100 [\d,]+; \d+ at risk", printed)
    assert "groups by simulated_channel: 3; highest mean CLV" in printed
    assert "forecast revenue over 12 periods" in printed
    for group in CHANNELS:
        assert f"CAC {group}: " in printed
    customers = clvlab.read_export(out).set_index("customer_id")
    (run_id,) = set(customers["run_id"])
    n = len(customers)
    assert n == 2357  # the CDNOW sample's customers (no zero-spend customer there)
    segments = clvlab.read_export(out, "segments", run_id=run_id)
    assert len(segments) == n and set(segments["customer_id"]) == set(customers.index)
    probs = clvlab.read_export(out, "segment_probabilities", run_id=run_id)
    assert len(probs) == 3 * n  # default tiers: 0, 0.5, 0.9, 1 (segments.py)
    np.testing.assert_allclose(probs.groupby("customer_id")["probability"].sum(), 1.0, rtol=1e-12)
    # group totals are the sums of their customers' CLV in the customers table (issue 14)
    log = pd.read_csv(folder / "log.csv")
    channel = log.drop_duplicates("customer_id").set_index("customer_id")["simulated_channel"]
    channel.index = channel.index.astype(str)
    groups = clvlab.read_export(out, "groups", run_id=run_id).set_index("group")
    sums = customers["clv_estimate"].groupby(channel.loc[customers.index]).sum()
    np.testing.assert_allclose(groups["clv_total_estimate"], sums.loc[groups.index], rtol=1e-10)
    assert sorted(groups.index) == list(CHANNELS)
    diffs = clvlab.read_export(out, "group_differences", run_id=run_id)
    assert len(diffs) == 2 * 4  # two groups against the largest, four metrics
    # --discount-rate 0, margin 1: the forecast's revenue sums to the undiscounted CLV
    # total (issue 14 acceptance)
    forecast = clvlab.read_export(out, "forecast", run_id=run_id)
    assert forecast["period"].tolist() == list(range(1, 13))
    np.testing.assert_allclose(
        forecast["revenue_estimate"].sum(), customers["clv_estimate"].sum(), rtol=1e-10
    )
    acquisition = clvlab.read_export(out, "acquisition", run_id=run_id).set_index("group")
    assert acquisition["cac"].to_dict() == {"email": 20.0, "search": 35.0, "social": 80.0}
    runs = clvlab.read_export(out, "runs")
    assert runs["run_id"].tolist() == [run_id]


@pytest.mark.parametrize(
    ("extra", "tiers"),
    [
        (["--tiers", "0,0.5,0.9,1"], ["q0_50", "q50_90", "q90_100"]),
        (["--tiers", "0,0.25,1"], ["q0_25", "q25_100"]),
        (["--thresholds", "10,100"], ["clv_upto_10", "clv_10_100", "clv_over_100"]),
    ],
)
def test_tiers_and_thresholds_imply_segments(
    folder: Path, tmp_path: Path, extra: list[str], tiers: list[str]
) -> None:
    out = tmp_path / "clv.csv"
    assert main(_args(folder, out, *extra)) == 0
    probs = clvlab.read_export(out, "segment_probabilities")
    assert probs.sort_values("tier_rank")["tier"].unique().tolist() == tiers
    segments = clvlab.read_export(out, "segments")
    assert set(segments["tier"]) <= set(tiers)
    if extra[0] == "--thresholds":  # a tier by threshold holds the CLV estimates in it
        clv = segments.set_index("tier")["clv_estimate"]
        assert (clv.loc[["clv_upto_10"]] <= 10).all() and (clv.loc[["clv_over_100"]] > 100).all()
    # only the tables asked for
    assert not (tmp_path / "clv_groups.csv").exists()
    assert not (tmp_path / "clv_forecast.csv").exists()


def test_cohorts_new_customers_and_one_cac_into_sqlite(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = f"sqlite:///{tmp_path / 'clv.db'}"
    assert main(_args(folder, target, "--forecast", "--run-id", "base")) == 0
    code = main(
        _args(
            folder,
            target,
            *("--group-by", "cohort", "--new-customers", "100", "--cac", "25"),
            *("--run-id", "grow"),
        )
    )
    assert code == 0
    assert "CAC all: 25.00" in capsys.readouterr().out
    groups = clvlab.read_export(target, "groups", run_id="grow")
    # the CDNOW sample's customers all made their first purchase in Jan-Mar 1997
    assert groups["group"].tolist() == ["1997-01", "1997-02", "1997-03"]
    assert set(groups["by"]) == {"cohort"}
    assert groups["customers"].sum() == 2357
    forecast = clvlab.read_export(target, "forecast").set_index(["run_id", "period"])
    base = forecast.loc["base", "revenue_estimate"]
    grow = forecast.loc["grow", "revenue_estimate"]
    # 100 new customers a month add revenue in every period (--new-customers implies
    # --forecast)
    assert (grow.to_numpy() > base.to_numpy()).all()
    acquisition = clvlab.read_export(target, "acquisition")
    assert acquisition["group"].tolist() == ["all"] and acquisition["cac"].tolist() == [25.0]
    assert set(acquisition["run_id"]) == {"grow"}
    # the run without --cac has no acquisition rows, and no segments at all
    with pytest.raises(clvlab.ExportError, match="no table 'clv_segments'"):
        clvlab.read_export(target, "segments")


# refused before any work: exit code 2, one line, nothing printed on stdout, no file
BEFORE_ANY_WORK = [
    (
        ["--tiers", "0,0.5,1.2"],
        r"quantiles must be tier edges that partition \[0, 1\].*got "
        r"\[0\.0, 0\.5, 1\.2\]",
    ),
    (["--tiers", "0.1,1"], r"quantiles must be tier edges that partition \[0, 1\]: start at 0"),
    (["--tiers", "0,1"], r"with at least two tiers"),
    (["--tiers", "0,0.9,0.5,1"], r"increase strictly"),
    (["--tiers", "0,nan,1"], r"quantiles must be tier edges"),
    (["--tiers", "a,b"], r"argument --tiers: expected numbers separated by commas.*'a,b'"),
    (["--tiers", ""], r"argument --tiers: expected numbers separated by commas"),
    (["--thresholds", "1,,2"], r"argument --thresholds: expected numbers separated by commas"),
    (["--thresholds", "500,100"], r"thresholds must be finite CLV values in strictly increasing"),
    (["--thresholds", "inf"], r"thresholds must be finite CLV values"),
    (["--tiers", "0,0.5,1", "--thresholds", "10"], r"not both"),
    (["--cac", "-5"], r"cac must be positive, got -5\.0"),
    (["--cac", "0"], r"cac must be positive, got 0\.0"),
    (["--cac", "nan"], r"cac must be a finite number, got nan"),
    (["--cac", "inf"], r"cac must be a finite number, got inf"),
    (["--cac", "NO_SUCH_FILE"], r"no CAC file at \S*nowhere\.csv; check the path"),
    (
        ["--cac", "NEGATIVE"],
        r"column 'cac': the CAC file \S*negative\.csv: a CAC must be a finite "
        r"number > 0.*group search; value -3",
    ),
    (["--cac", "NO_CAC"], r"the CAC file \S*no_cac\.csv lacks the column 'cac'"),
    (["--cac", "FOLDER"], r"CAC file \S* is a folder"),
    (["--new-customers", "-1"], r"new_customers must be zero or positive, got -1\.0"),
    (["--new-customers", "nan"], r"new_customers must be a finite number, got nan"),
    (
        ["--point-estimates-only", "--segments"],
        r"decision tables \(segments, groups, forecast, "
        r"CAC\) need finite intervals, which --point-estimates-only gives up",
    ),
    (["--point-estimates-only", "--cac", "5"], r"need finite intervals"),
    (["--point-estimates-only", "--group-by", "cohort"], r"need finite intervals"),
    (["--group-by", ""], r"group_by must be a column name or 'cohort', got ''"),
    (
        ["--group-by", "customer_id"],
        r"group_by 'customer_id' is the customer id column: every "
        r"customer would be a group of one",
    ),
]


@pytest.mark.parametrize(("extra", "message"), BEFORE_ANY_WORK)
def test_bad_decision_options_are_refused_before_any_work(
    folder: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    paths = {
        "NO_SUCH_FILE": str(folder / "nowhere.csv"),
        "NEGATIVE": str(folder / "negative.csv"),
        "NO_CAC": str(folder / "no_cac.csv"),
        "FOLDER": str(folder),
    }
    extra = [paths.get(e, e) for e in extra]
    code = main(_args(folder, tmp_path / "out" / "clv.parquet", *extra))
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1 and captured.err.startswith("clvlab run: error: ")
    assert re.search(message, captured.err), captured.err
    assert captured.out == ""
    assert _files(tmp_path) == []


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (
            "no_such_column",
            r"group column 'no_such_column' is not in the transaction log "
            r"\(columns: customer_id, .*simulated_channel.*\); name a customer attribute column",
        ),
        (
            "two_values",
            r"column 'two_values': has more than one value for some customers; a "
            r"group is a customer attribute \(1 row, customer id 1\)",
        ),
        (
            "with_gaps",
            r"column 'with_gaps': is empty for some customers.*customer id 2\)\. fill "
            r"the empty cells",
        ),
    ],
)
def test_a_bad_group_column_is_refused_before_the_fit(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], column: str, message: str
) -> None:
    code = main(_args(folder, tmp_path / "clv.parquet", "--group-by", column))
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1 and captured.err.startswith("clvlab run: error: ")
    assert re.search(message, captured.err), captured.err
    assert "building the RFM summary" in captured.out and "fitting" not in captured.out
    assert _files(tmp_path) == []


def test_a_decision_table_of_another_schema_stops_the_run_and_changes_nothing(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "clv.parquet"
    foreign = pd.DataFrame({"run_id": ["x"], "tier": ["gold"]})
    foreign.to_parquet(tmp_path / "clv_segments.parquet")
    before = (tmp_path / "clv_segments.parquet").read_bytes()
    code = main(_args(folder, out, "--segments"))
    captured = capsys.readouterr()
    assert code == 2
    assert re.search(
        r"clv_segments\.parquet exists with a different schema than clvlab's segments table",
        captured.err,
    ), captured.err
    assert captured.err.count("\n") == 1
    assert (tmp_path / "clv_segments.parquet").read_bytes() == before
    # no table was written (the lock file of the target stays, as for every export)
    assert _files(tmp_path) == [tmp_path / ".clv.parquet.lock", tmp_path / "clv_segments.parquet"]


def test_rerun_without_decision_options_drops_the_runs_decision_rows(
    folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "clv.parquet"
    assert main(_args(folder, out, "--segments", "--forecast", "--run-id", "r")) == 0
    assert main(_args(folder, out, "--segments", "--run-id", "other")) == 0
    assert main(_args(folder, out, "--run-id", "r")) == 0
    # the same run id, now without decisions: no table keeps its older decision rows
    assert set(clvlab.read_export(out, "segments")["run_id"]) == {"other"}
    assert len(clvlab.read_export(out, "forecast")) == 0
    assert set(clvlab.read_export(out)["run_id"]) == {"r", "other"}


@pytest.mark.parametrize("cac", ["25", 25, 25.0, "CAC_PATH"])
def test_cac_setting_is_a_number_or_a_file(folder: Path, cac: object) -> None:
    # PipelineSettings(cac=...) from Python: a number, a number as text, a Path
    value = folder / "cac.csv" if cac == "CAC_PATH" else cac
    checked = check_settings(PipelineSettings(cac=value))  # type: ignore[arg-type]
    if cac == "CAC_PATH":
        assert checked.cac == str(folder / "cac.csv")
    else:
        assert checked.cac == 25.0


def test_tiers_imply_segments_and_new_customers_a_forecast_from_python_too() -> None:
    # as on the command line (cli.py): a setting that only makes sense with a table asks
    # for that table, rather than being ignored
    checked = check_settings(PipelineSettings(tiers=(0, 0.5, 1), new_customers=10))
    assert checked.segments is True and checked.forecast is True
    checked = check_settings(PipelineSettings(thresholds=(10.0,)))
    assert checked.segments is True and checked.forecast is False
    with pytest.raises(clvlab.ArgumentError, match=r"--point-estimates-only gives up"):
        check_settings(PipelineSettings(thresholds=(10.0,), point_estimates_only=True))


def test_a_log_column_named_cohort_is_not_mistaken_for_the_built_in_cohorts(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = pd.read_csv(folder / "log.csv")
    log["cohort"] = "spring promotion"  # a user's own column with the built-in's name
    log.to_csv(tmp_path / "log.csv", index=False)
    args = _args(tmp_path, tmp_path / "out" / "clv.parquet", "--group-by", "cohort")
    code = main(args)
    captured = capsys.readouterr()
    assert code == 2
    assert "column named 'cohort'" in captured.err and "rename the column" in captured.err
    assert not (tmp_path / "out").exists()
