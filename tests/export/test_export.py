"""export(): files and databases, run history, atomicity and bad targets (issue 6)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
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
    # BI types: ids as text, dates as dates, numbers as floats.
    assert isinstance(back.index[0], str)
    assert back["as_of"].iloc[0] == dt.date(1997, 9, 30)
    assert back["horizon"].dtype == np.float64
    runs = clvlab.read_export(target, "runs", table_prefix=prefix)
    assert runs["run_id"].tolist() == ["run-1"]
    assert runs["created_at"].iloc[0] == dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC)
    assert runs["calibration_end"].iloc[0] == dt.date(1997, 9, 30)
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
    with pytest.raises(clvlab.ExportError, match="cannot write customers table"):
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
    started = time.monotonic()
    with pytest.raises(
        clvlab.ExportError, match=r"cannot write to postgresql://u:\*\*\*@.*Connection refused"
    ):
        clvlab.export(fake_predictions(5, "r"), f"postgresql://u:secret@127.0.0.1:{port}/db")
    assert time.monotonic() - started < 30


@pytest.mark.postgres
def test_wrong_credentials(postgres_url: str) -> None:
    clvlab.export(fake_predictions(20, "kept"), postgres_url, table_prefix="creds")
    wrong = postgres_url.replace("clvlab-test-password", "wrong-password")
    with pytest.raises(clvlab.ExportError, match="password authentication failed") as info:
        clvlab.export(fake_predictions(5, "r"), wrong, table_prefix="creds")
    assert "wrong-password" not in str(info.value)  # the message hides the password
    kept = clvlab.read_export(postgres_url, table_prefix="creds")
    assert kept["run_id"].unique().tolist() == ["kept"] and len(kept) == 20


def _kill_when(
    proc: subprocess.Popen[bytes], ready: Callable[[], bool], timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, "the export finished before it could be interrupted"
        assert time.monotonic() < deadline, "the export never started writing"
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["parquet", "sqlite"])
def test_killed_export_leaves_previous_export_whole(tmp_path: Path, kind: str) -> None:
    if kind == "parquet":
        target = str(tmp_path / "predictions.parquet")

        def writing() -> bool:
            return any(tmp_path.glob(".predictions.parquet.*.tmp"))
    else:
        db = tmp_path / "clv.db"
        target = f"sqlite:///{db}"

        def writing() -> bool:
            # rows are going in once the rollback journal holds more than its header
            journal = tmp_path / "clv.db-journal"
            return journal.exists() and journal.stat().st_size > 4096

    clvlab.export(fake_predictions(1000, "old"), target, long=True)
    code = f"from tests.export.fake import export_big; export_big({target!r}, 400_000)"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, start_new_session=True)
    _kill_when(proc, writing)
    for table in ("customers", "long", "runs"):
        back = clvlab.read_export(target, table)
        assert set(back["run_id"]) == {"old"}
    assert len(clvlab.read_export(target)) == 1000
    if kind == "parquet":
        assert pq.read_metadata(target).num_rows == 1000  # the file is whole
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
