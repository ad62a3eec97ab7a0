"""Export of the decision tables (issue 14): round trips, run history, refusals.

One small real run is shared by the module: BG/NBD and Gamma-Gamma fitted by MLE on the
CDNOW 1/10 sample (tests/conftest.py), 12-month CLV undiscounted with a margin of 1, and
the decisions of :func:`clvlab.decisions.report.decide` on a SIMULATED acquisition
channel (random per customer, seed 14: CDNOW records no channel).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clvlab
from clvlab.decisions.report import Decisions, decide
from clvlab.export.frames import decision_frames
from clvlab.export.schema import DECISION_TABLES, TABLES

pytestmark = pytest.mark.xdist_group("postgres")

#: each decision table's key columns (one row per key), for sorting rows read back
KEYS = {
    "segments": ["customer_id"],
    "segment_probabilities": ["customer_id", "tier_rank"],
    "groups": ["group"],
    "group_differences": ["group", "metric"],
    "forecast": ["period"],
    "acquisition": ["group"],
}
#: CAC per simulated channel (made-up numbers around the new-customer value, ~$51)
CAC = {"email": 20.0, "search": 35.0, "social": 80.0}


@dataclasses.dataclass
class Run:
    predictions: clvlab.CustomerPredictions
    channel: pd.Series
    purchase: Any
    spend: Any
    rfm: pd.DataFrame


@pytest.fixture(scope="module")
def run(cdnow_sample_rfm: pd.DataFrame) -> Run:
    rfm = cdnow_sample_rfm
    purchase = clvlab.BetaGeo().fit(rfm, method="mle", n_draws=200, seed=1, progress=False)
    spend = clvlab.GammaGamma().fit(rfm, method="mle", n_draws=200, seed=1, progress=False)
    predictions = clvlab.predict_customers(
        purchase, spend, rfm, horizon=12, unit="M", discount_rate=0.0, run_id="a", seed=1
    )
    rng = np.random.default_rng(14)  # the SIMULATED channel
    channel = pd.Series(
        rng.choice(sorted(CAC), len(rfm)), index=rfm.index, name="simulated_channel"
    )
    predictions.decisions = decide(
        purchase,
        spend,
        rfm,
        horizon=12,
        unit="M",
        discount_rate=0.0,
        group_by=channel,
        cac=CAC,
        seed=1,
    )
    return Run(predictions, channel, purchase, spend, rfm)


def _as_run(predictions: clvlab.CustomerPredictions, run_id: str, **changes: Any) -> Any:
    return dataclasses.replace(predictions, run={**predictions.run, "run_id": run_id}, **changes)


@pytest.fixture(params=["parquet", "csv", "sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    kind = request.param
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'clv.db'}"
    if kind == "postgres":
        url = request.getfixturevalue("postgres_url")
        # a fresh table prefix per test keeps the shared server's tables apart
        request.node.table_prefix = f"d{abs(hash(request.node.nodeid)) % 10**8}"
        return str(url)
    return str(tmp_path / f"clv.{kind}")


def _prefix(request: pytest.FixtureRequest) -> str:
    return str(getattr(request.node, "table_prefix", "clv"))


def _read(target: str, table: str, prefix: str, run_id: str | None = None) -> pd.DataFrame:
    frame = clvlab.read_export(target, table, table_prefix=prefix, run_id=run_id)
    return frame.sort_values(["run_id", *KEYS[table]], ignore_index=True)


def _all_tables(target: str, prefix: str) -> dict[str, pd.DataFrame]:
    return {spec.name: _read(target, spec.name, prefix) for spec in DECISION_TABLES}


# --------------------------------------------------------------------------------------
# 1. round trip


def test_every_decision_table_round_trips(
    run: Run, target: str, request: pytest.FixtureRequest
) -> None:
    prefix = _prefix(request)
    predictions = run.predictions
    decisions = predictions.decisions
    assert decisions is not None
    written = clvlab.export(predictions, target, table_prefix=prefix, chunk_rows=500)
    assert set(written) == {"customers", "runs", "parameters", *KEYS}
    expected = decision_frames(decisions, "a")
    exact = not target.endswith(".csv")
    for spec in DECISION_TABLES:
        back = _read(target, spec.name, prefix)
        want = expected[spec.name].sort_values(["run_id", *KEYS[spec.name]], ignore_index=True)
        assert list(back.columns) == spec.names
        assert len(back) == len(want) > 0
        for column in spec.columns:  # the documented BI types (schema.py, README)
            values = back[column.name]
            if column.kind == "text":
                assert values.dtype == object
                assert all(isinstance(v, str) for v in values)
                assert values.tolist() == want[column.name].tolist()
            elif column.kind == "int":
                assert values.dtype == np.int64
                assert values.tolist() == want[column.name].tolist()
            else:
                assert values.dtype == np.float64
                if exact:
                    np.testing.assert_array_equal(values, want[column.name])
                else:  # CSV: text, read back to 1e-12
                    np.testing.assert_allclose(values, want[column.name], rtol=1e-12)
    customers = clvlab.read_export(target, table_prefix=prefix).set_index("customer_id")
    n = len(run.rfm)
    tiers = decisions.segments.attrs["clvlab"]["tiers"]  # type: ignore[union-attr]

    # segments: one row per customer, the same customers as the customers table
    segments = _read(target, "segments", prefix).set_index("customer_id")
    assert len(segments) == n and segments.index.is_unique
    assert set(segments.index) == set(customers.index)
    assert set(segments["at_risk"]) <= {0, 1}
    assert set(segments["tier"]) <= set(tiers)
    source = decisions.segments.set_axis(  # type: ignore[union-attr]
        decisions.segments.index.astype(str)  # type: ignore[union-attr]
    ).loc[segments.index]
    assert segments["tier"].tolist() == source["tier"].astype(str).tolist()
    assert segments["at_risk"].tolist() == source["at_risk"].astype(int).tolist()
    assert segments["at_risk"].sum() > 0  # the flag is exercised
    # the segments' CLV estimate is the customers table's (same run, same settings)
    np.testing.assert_allclose(
        segments["clv_estimate"], customers.loc[segments.index, "clv_estimate"], rtol=1e-12
    )

    # segment_probabilities: tiers x customers rows, summing to 1 per customer (issue 14)
    probs = _read(target, "segment_probabilities", prefix)
    assert len(probs) == len(tiers) * n
    assert probs.groupby("customer_id")["tier"].apply(list).map(tuple).unique().tolist() == [
        tuple(tiers)
    ]  # tier_rank 1 = the lowest tier, in the order of attrs["tiers"]
    np.testing.assert_allclose(probs.groupby("customer_id")["probability"].sum(), 1.0, rtol=1e-12)
    assert probs["probability"].between(0, 1).all()
    own = probs.set_index(["customer_id", "tier"])["probability"]
    np.testing.assert_array_equal(
        segments["tier_probability"],
        own.loc[list(zip(segments.index, segments["tier"], strict=True))].to_numpy(),
    )

    # groups: a total equals the sum of its customers' exported clv_estimate (issue 14
    # acceptance; compare_groups' estimate is the plug-in sum at the MLE)
    groups = _read(target, "groups", prefix).set_index("group")
    channel = run.channel.set_axis(run.channel.index.astype(str))
    sums = customers["clv_estimate"].groupby(channel.loc[customers.index]).sum()
    np.testing.assert_allclose(groups["clv_total_estimate"], sums.loc[groups.index], rtol=1e-10)
    counts = channel.value_counts()
    assert groups["customers"].tolist() == counts.loc[groups.index].tolist()
    assert set(groups["by"]) == {"simulated_channel"}
    diffs = _read(target, "group_differences", prefix)
    reference = decisions.groups.settings["reference"]  # type: ignore[union-attr]
    assert set(diffs["reference"]) == {reference}
    assert len(diffs) == (len(CAC) - 1) * 4  # 4 difference metrics (groups.py)

    # forecast: with discount_rate=0 and margin 1, its revenue over the 12 monthly
    # periods equals the undiscounted CLV total (issue 14 acceptance; forecast.py)
    forecast = _read(target, "forecast", prefix)
    assert forecast["period"].tolist() == list(range(1, 13))
    assert set(forecast["period_unit"]) == {"M"}
    np.testing.assert_allclose(
        forecast["revenue_estimate"].sum(), customers["clv_estimate"].sum(), rtol=1e-10
    )
    assert (forecast["revenue_pred_lower"] <= forecast["revenue_estimate"]).all()

    # acquisition: one row per CAC group, flags 0/1
    acq = _read(target, "acquisition", prefix).set_index("group")
    assert acq["cac"].to_dict() == CAC
    for column in ("payback_estimate_censored", "payback_lower_censored", "payback_upper_censored"):
        assert set(acq[column]) <= {0, 1}
    assert acq["payback_upper_censored"].sum() >= 1  # CAC 80 > value: beyond 12 months


# --------------------------------------------------------------------------------------
# 2. run history, partial decisions and refusals


def test_runs_append_and_a_re_export_without_decisions_removes_the_runs_rows(
    run: Run, target: str, request: pytest.FixtureRequest
) -> None:
    prefix = _prefix(request)
    a = run.predictions
    b = _as_run(a, "b")
    clvlab.export(a, target, table_prefix=prefix)
    clvlab.export(b, target, table_prefix=prefix)
    both = _all_tables(target, prefix)
    for name, table in both.items():  # appended: the same rows under each run id
        counts = table["run_id"].value_counts().to_dict()
        assert counts == {"a": counts["a"], "b": counts["a"]}, name
    only_b = {name: t[t["run_id"] == "b"].reset_index(drop=True) for name, t in both.items()}

    # run a again with only its segments: the other decision tables lose a's rows
    partial = Decisions(segments=a.decisions.segments)  # type: ignore[union-attr]
    written = clvlab.export(a, target, table_prefix=prefix, decisions=partial)
    assert {"segments", "segment_probabilities"} <= set(written)
    assert not {"groups", "group_differences", "forecast", "acquisition"} & set(written)
    after = _all_tables(target, prefix)
    for name in ("groups", "group_differences", "forecast", "acquisition"):
        pd.testing.assert_frame_equal(after[name], only_b[name])
    assert set(after["segments"]["run_id"]) == {"a", "b"}

    # and without decisions at all: every decision table keeps run b's rows only
    clvlab.export(_as_run(a, "a", decisions=None), target, table_prefix=prefix)
    after = _all_tables(target, prefix)
    for name, table in after.items():
        pd.testing.assert_frame_equal(table, only_b[name])
    assert set(clvlab.read_export(target, table_prefix=prefix)["run_id"]) == {"a", "b"}


def _snapshot(target: str, prefix: str, folder: Path) -> Any:
    if target.startswith("postgresql"):
        # every table of the export (no long table: it was not asked for)
        names = [name for name in TABLES if name != "long"]
        return {name: clvlab.read_export(target, name, table_prefix=prefix) for name in names}
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _unchanged(before: Any, after: Any) -> None:
    assert before.keys() == after.keys()
    for name in before:
        if isinstance(before[name], pd.DataFrame):
            pd.testing.assert_frame_equal(after[name], before[name])
        else:
            assert after[name] == before[name], name


def test_a_nan_in_a_decision_table_is_refused_and_nothing_is_written(
    run: Run, target: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    prefix = _prefix(request)
    clvlab.export(run.predictions, target, table_prefix=prefix)
    before = _snapshot(target, prefix, tmp_path)
    decisions = run.predictions.decisions
    assert decisions is not None
    segments = decisions.segments.copy()  # type: ignore[union-attr]
    segments.iloc[3, segments.columns.get_loc("tier_probability")] = np.nan
    broken = dataclasses.replace(decisions, segments=segments)
    with pytest.raises(
        clvlab.ExportError,
        match=r"cannot export the segments table: 1 values of \['tier_probability'\] are NaN "
        r"or infinite.*Nothing was written",
    ):
        clvlab.export(
            _as_run(run.predictions, "new"), target, table_prefix=prefix, decisions=broken
        )
    _unchanged(before, _snapshot(target, prefix, tmp_path))
    assert decisions.segments is not segments  # the caller's table was not touched
    assert decisions.segments["tier_probability"].notna().all()  # type: ignore[union-attr]


def _broken(decisions: Decisions, table: str, column: str, value: Any) -> Decisions:
    if table == "groups":
        groups = dataclasses.replace(
            decisions.groups,  # type: ignore[arg-type]
            groups=decisions.groups.groups.copy(),  # type: ignore[union-attr]
        )
        groups.groups[column] = groups.groups[column].astype(object if value == "x" else float)
        groups.groups.iloc[0, groups.groups.columns.get_loc(column)] = value
        return dataclasses.replace(decisions, groups=groups)
    frame = getattr(decisions, table).copy()
    if column in frame:
        frame[column] = frame[column].astype(object if value == "x" else float)
        frame.iloc[0, frame.columns.get_loc(column)] = value
    else:
        frame = frame.drop(columns=value)
    return dataclasses.replace(decisions, **{table: frame})


HOSTILE_TABLES = [
    ("forecast", "revenue_estimate", np.inf, r"forecast table: 1 values of \['revenue_estimate'\]"),
    ("acquisition", "value_lower", -np.inf, r"acquisition table: 1 values of \['value_lower'\]"),
    # a NaN or a fraction in an integer column: never cast (a NaN cannot be, a fraction
    # would be cut)
    ("acquisition", "payback_estimate", np.nan, r"\['payback_estimate'\] are NaN or infinite"),
    ("acquisition", "payback_lower", 2.5, r"in an integer column, not whole"),
    ("acquisition", "payback_upper_censored", np.nan, r"\['payback_upper_censored'\]"),
    ("segments", "at_risk", np.nan, r"segments table: 1 values of \['at_risk'\]"),
    ("groups", "clv_mean_upper", np.nan, r"groups table: 1 values of \['clv_mean_upper'\]"),
    ("groups", "share", "x", r"groups table: \[.*'share'.*\] must hold numbers"),
    ("forecast", "-", "revenue_pred_lower", r"the forecast has no predictive bounds"),
    ("acquisition", "-", "cac", r"acquisition table: it lacks \['cac'\]"),
    ("segments", "-", "p_q50_90", r"segments table: it lacks \['p_q50_90'\]"),
]


@pytest.mark.parametrize(("table", "column", "value", "message"), HOSTILE_TABLES)
def test_a_changed_decision_table_is_refused_before_writing(
    run: Run, tmp_path: Path, table: str, column: str, value: Any, message: str
) -> None:
    target = tmp_path / "clv.parquet"
    clvlab.export(run.predictions, target)
    before = _snapshot(str(target), "clv", tmp_path)
    broken = _broken(run.predictions.decisions, table, column, value)  # type: ignore[arg-type]
    with pytest.raises(clvlab.ExportError, match=message):
        clvlab.export(_as_run(run.predictions, "new"), target, decisions=broken)
    _unchanged(before, _snapshot(str(target), "clv", tmp_path))


def test_a_table_that_lost_its_record_is_refused(run: Run, tmp_path: Path) -> None:
    decisions = run.predictions.decisions
    assert decisions is not None
    forecast = decisions.forecast.copy()  # type: ignore[union-attr]
    forecast.attrs = {}
    with pytest.raises(clvlab.ExportError, match=r"forecast table: it lost its record"):
        clvlab.export(
            run.predictions,
            tmp_path / "clv.csv",
            decisions=dataclasses.replace(decisions, forecast=forecast),
        )
    assert list(tmp_path.iterdir()) == []


def test_decisions_of_other_settings_or_customers_are_refused(run: Run, tmp_path: Path) -> None:
    # decide's defaults differ from the run (discount 0.01, margin 0.3): the segments'
    # CLV would not be the customers table's CLV of the same run id
    other = decide(
        run.purchase,
        run.spend,
        run.rfm,
        horizon=12,
        unit="M",
        discount_rate=0.01,
        margin=0.3,
        group_by=None,
        forecast=False,
    )
    with pytest.raises(
        clvlab.ExportError,
        match=r"segments table with run 'a': it was computed with discount_rate=0\.01, the "
        r"predictions with discount_rate=0\.0\. Compute the decisions with clvlab\.decide",
    ):
        clvlab.export(run.predictions, tmp_path / "clv.parquet", decisions=other)
    subset = decide(
        run.purchase,
        run.spend,
        run.rfm.iloc[:100],
        horizon=12,
        unit="M",
        discount_rate=0.0,
        group_by="cohort",
        forecast=False,
    )
    with pytest.raises(clvlab.ExportError, match=r"lacks 2,257 of theirs"):
        clvlab.export(run.predictions, tmp_path / "clv.parquet", decisions=subset)
    with pytest.raises(
        clvlab.ExportError, match=r"groups hold 100 customers, the predictions 2,357"
    ):
        clvlab.export(
            run.predictions,
            tmp_path / "clv.parquet",
            decisions=Decisions(groups=subset.groups),
        )
    with pytest.raises(
        clvlab.ExportError, match=r"decisions= must be clvlab\.decisions\.Decisions"
    ):
        clvlab.export(run.predictions, tmp_path / "clv.parquet", decisions={"segments": None})  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_one_group_exports_an_empty_differences_table(
    run: Run, target: str, request: pytest.FixtureRequest
) -> None:
    # one group: nothing to compare with. An empty table, never a row of NULLs (an
    # empty SQL insert would add one)
    prefix = _prefix(request)
    one = pd.Series("all", index=run.rfm.index, name="everyone")
    decisions = decide(
        run.purchase,
        run.spend,
        run.rfm,
        horizon=12,
        unit="M",
        discount_rate=0.0,
        segments=False,
        group_by=one,
        forecast=False,
    )
    clvlab.export(run.predictions, target, table_prefix=prefix, decisions=decisions)
    diffs = clvlab.read_export(target, "group_differences", table_prefix=prefix)
    assert len(diffs) == 0 and list(diffs.columns) == TABLES["group_differences"].names
    groups = clvlab.read_export(target, "groups", table_prefix=prefix)
    assert groups["group"].tolist() == ["all"] and groups["customers"].tolist() == [2357]


# --------------------------------------------------------------------------------------
# 4. property: random tiers never give a NaN, and probabilities sum to 1


@settings(max_examples=12)
@given(
    cuts=st.lists(st.floats(min_value=0.001, max_value=0.999), min_size=1, max_size=4, unique=True),
    by_threshold=st.booleans(),
)
def test_decision_frames_of_random_tiers_are_finite(
    run: Run, cuts: list[float], by_threshold: bool
) -> None:
    edges = sorted(cuts)
    if by_threshold:  # thresholds at the same positions of the CLV range ($0 to ~$2,000)
        tiers: dict[str, Any] = {"thresholds": [2000.0 * e for e in edges]}
    else:
        tiers = {"quantiles": [0.0, *edges, 1.0]}
    segments = clvlab.value_segments(
        run.purchase, run.spend, run.rfm, horizon=12, unit="M", discount_rate=0.0, **tiers
    )
    frames = decision_frames(Decisions(segments=segments), "p")
    for name, frame in frames.items():
        numbers = frame.select_dtypes("number").to_numpy(dtype=float)
        assert np.isfinite(numbers).all(), name
    probs = frames["segment_probabilities"]
    assert len(probs) == (len(edges) + 1) * len(run.rfm)
    np.testing.assert_allclose(probs.groupby("customer_id")["probability"].sum(), 1.0, rtol=1e-12)
    assert probs["probability"].between(0.0, 1.0).all()
