"""export(): files and databases, run history, atomicity and bad targets (issue 6)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import clvlab
from clvlab.export.schema import TABLES
from tests.export.fake import fake_predictions

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.xdist_group("postgres")


@pytest.fixture(params=["parquet", "csv", "sqlite", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    kind = request.param
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'clv.db'}"
    if kind == "postgres":
        url = request.getfixturevalue("postgres_url")
        # a fresh table prefix per test keeps the shared server's tables apart
        request.node.table_prefix = f"t{abs(hash(request.node.nodeid)) % 10**8}"
        return str(url)
    return str(tmp_path / f"predictions.{kind}")


def _prefix(request: pytest.FixtureRequest) -> str:
    return str(getattr(request.node, "table_prefix", "clv"))


def test_round_trip_keeps_numbers_and_types(target: str, request: pytest.FixtureRequest) -> None:
    prefix = _prefix(request)
    predictions = fake_predictions(500, "run-1")
    written = clvlab.export(predictions, target, long=True, table_prefix=prefix, chunk_rows=128)
    assert set(written) == {"customers", "long", "runs", "parameters"}
    back = clvlab.read_export(target, table_prefix=prefix)
    assert list(back.columns) == TABLES["customers"].names
    assert len(back) == 500
    back = back.set_index("customer_id").loc[predictions.table.index.astype(str)]
    for column in predictions.table.columns:
        np.testing.assert_allclose(back[column], predictions.table[column], rtol=1e-15)
    # BI types: ids as text, dates as datetime64, numbers as floats; the same dtypes
    # from every target (the read_export docstring).
    assert isinstance(back.index[0], str)
    assert back["as_of"].dtype == "datetime64[ns]"
    assert back["as_of"].iloc[0] == pd.Timestamp("1997-09-30")  # fake.py calibration_end
    assert back["horizon"].dtype == np.float64
    runs = clvlab.read_export(target, "runs", table_prefix=prefix)
    assert runs["run_id"].tolist() == ["run-1"]
    assert runs["created_at"].dtype == "datetime64[ns, UTC]"
    assert runs["created_at"].iloc[0] == pd.Timestamp("2026-11-22 12:00", tz="UTC")
    for column, day in [
        ("first_transaction", "1997-01-01"),
        ("calibration_end", "1997-09-30"),
        ("observation_end", "1998-06-30"),
    ]:  # the dates of fake.py's run record
        assert runs[column].dtype == "datetime64[ns]"
        assert runs[column].iloc[0] == pd.Timestamp(day)
    assert runs["customers"].dtype == np.int64
    assert runs["customers"].iloc[0] == 500
    assert '"bgnbd.r": {"estimate": 0.24' in runs["parameters"].iloc[0]
    long = clvlab.read_export(target, "long", table_prefix=prefix)
    assert len(long) == 4 * 500
    clv = long[(long["metric"] == "clv")].set_index("customer_id")["estimate"]
    np.testing.assert_allclose(
        clv.loc[predictions.table.index.astype(str)], predictions.table["clv_estimate"]
    )
    params = clvlab.read_export(target, "parameters", table_prefix=prefix)
    assert params["parameter"].tolist() == ["r", "alpha", "a", "b"]


def test_same_run_id_replaces_new_run_appends(target: str, request: pytest.FixtureRequest) -> None:
    prefix = _prefix(request)
    clvlab.export(fake_predictions(300, "a"), target, table_prefix=prefix)
    clvlab.export(fake_predictions(300, "a", seed=5), target, table_prefix=prefix)
    table = clvlab.read_export(target, table_prefix=prefix)
    assert len(table) == 300  # no duplicates
    expected = fake_predictions(300, "a", seed=5).table["clv_estimate"].to_numpy()
    np.testing.assert_allclose(np.sort(table["clv_estimate"]), np.sort(expected))
    clvlab.export(fake_predictions(200, "b"), target, table_prefix=prefix)
    table = clvlab.read_export(target, table_prefix=prefix)
    assert table["run_id"].value_counts().to_dict() == {"a": 300, "b": 200}
    runs = clvlab.read_export(target, "runs", table_prefix=prefix)
    assert sorted(runs["run_id"]) == ["a", "b"]
    only_b = clvlab.read_export(target, run_id="b", table_prefix=prefix)
    assert len(only_b) == 200


def test_existing_table_with_another_schema_is_left_alone(
    target: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    prefix = _prefix(request)
    foreign = pd.DataFrame({"run_id": ["x"], "something_else": [1.0]})
    if target.endswith(".parquet"):
        foreign.to_parquet(target)
    elif target.endswith(".csv"):
        foreign.to_csv(target, index=False)
    else:
        sa = pytest.importorskip("sqlalchemy")
        engine = sa.create_engine(target.replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as conn:
            foreign.to_sql(f"{prefix}_customers", conn, index=False)
        engine.dispose()
    with pytest.raises(clvlab.ExportError, match="different schema"):
        clvlab.export(fake_predictions(10, "r"), target, table_prefix=prefix)
    if "://" in target:
        sa = pytest.importorskip("sqlalchemy")
        engine = sa.create_engine(target.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as conn:
            kept = pd.read_sql(sa.text(f"select * from {prefix}_customers"), conn)
            # the transaction rolled back: no run table was created either
            assert not sa.inspect(conn).has_table(f"{prefix}_runs")
        engine.dispose()
    else:
        kept = pd.read_parquet(target) if target.endswith(".parquet") else pd.read_csv(target)
    pd.testing.assert_frame_equal(kept, foreign)


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_unwritable_path(tmp_path: Path, suffix: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(clvlab.ExportError, match=r"cannot write the export to .*a-file"):
        clvlab.export(fake_predictions(5, "r"), blocker / f"out.{suffix}")
    assert blocker.read_text() == "not a folder"


def test_unknown_target_kind(tmp_path: Path) -> None:
    with pytest.raises(clvlab.ExportError, match="cannot tell the format"):
        clvlab.export(fake_predictions(5, "r"), tmp_path / "out.xlsx")


def test_unwritable_sqlite_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(clvlab.ExportError, match="cannot write to sqlite"):
        clvlab.export(fake_predictions(5, "r"), f"sqlite:///{blocker}/clv.db")


def test_unreachable_database() -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # (connect_timeout=10 bounds the wait where a port drops packets instead)
    with pytest.raises(
        clvlab.ExportError, match=r"cannot write to postgresql://u:\*\*\*@.*Connection refused"
    ) as info:
        clvlab.export(fake_predictions(5, "r"), f"postgresql://u:secret@127.0.0.1:{port}/db")
    assert "secret" not in str(info.value)


@pytest.mark.postgres
def test_wrong_credentials(postgres_url: str) -> None:
    clvlab.export(fake_predictions(20, "kept"), postgres_url, table_prefix="creds")
    wrong = postgres_url.replace("clvlab-test-password", "wrong-password")
    with pytest.raises(clvlab.ExportError, match="password authentication failed") as info:
        clvlab.export(fake_predictions(5, "r"), wrong, table_prefix="creds")
    assert "wrong-password" not in str(info.value)  # the message hides the password
    kept = clvlab.read_export(postgres_url, table_prefix="creds")
    assert kept["run_id"].unique().tolist() == ["kept"] and len(kept) == 20


@pytest.mark.parametrize("kind", ["parquet", "sqlite"])
def test_killed_export_leaves_previous_export_whole(tmp_path: Path, kind: str) -> None:
    # The child exports, stops after two chunks of customers are written (inside the
    # temporary Parquet file, or inside the open SQLite transaction), says so on stdout
    # and waits; it is killed at that point. No polling and no clock.
    if kind == "parquet":
        target = str(tmp_path / "predictions.parquet")
    else:
        db = tmp_path / "clv.db"
        target = f"sqlite:///{db}"
    clvlab.export(fake_predictions(1000, "old"), target, long=True)
    before = clvlab.read_export(target)
    code = (
        f"from tests.export.fake import export_until_killed; export_until_killed({target!r}, 8000)"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line == b"writing\n", proc.stderr.read() if proc.stderr else line
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    for table in ("customers", "long", "runs", "parameters"):
        back = clvlab.read_export(target, table)
        assert set(back["run_id"]) == {"old"}
    pd.testing.assert_frame_equal(clvlab.read_export(target), before)
    if kind == "parquet":
        assert pq.read_metadata(target).num_rows == 1000  # the file is whole
        stale = list(tmp_path.glob(".predictions.parquet.*.tmp"))
        assert len(stale) == 1  # the killed export's half-written file
        # The next export of the target removes it, and writes its own run.
        clvlab.export(fake_predictions(10, "next"), target, long=True)
        assert not list(tmp_path.glob(".*.tmp"))
        assert clvlab.read_export(target)["run_id"].value_counts().to_dict() == {
            "old": 1000,
            "next": 10,
        }
    else:
        with sqlite3.connect(db) as conn:
            assert conn.execute("pragma integrity_check").fetchone() == ("ok",)


def test_large_export_streams_in_chunks(tmp_path: Path) -> None:
    # 50 chunks of 1,000 customers: the Parquet file holds one row group per chunk,
    # so no chunk was merged with another in memory before writing.
    predictions = fake_predictions(50_000, "big")
    clvlab.export(predictions, tmp_path / "p.parquet", chunk_rows=1000)
    meta = pq.read_metadata(tmp_path / "p.parquet")
    assert meta.num_rows == 50_000 and meta.num_row_groups == 50
    schema = pq.read_schema(tmp_path / "p.parquet")
    assert schema.field("as_of").type == pa.date32()
    assert schema.field("customer_id").type == pa.string()
