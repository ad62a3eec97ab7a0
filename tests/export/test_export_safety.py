"""export(): concurrent writers, all tables or none, stale temporary files, argument
checks, customer ids, dates read back, and secrets in database URLs (issue 12, items 7,
8, 9, 11 and 13)."""

from __future__ import annotations

import errno
import multiprocessing
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import filelock
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clvlab
from clvlab._atomic import commit, new_temp
from clvlab.data.ids import id_texts
from clvlab.errors import ArgumentError
from clvlab.export import check_target
from clvlab.export.files import lock_path, table_path, write_table_files
from clvlab.export.frames import chunks
from clvlab.export.schema import CUSTOMERS, LONG, PARAMETERS, RUNS
from clvlab.export.sql import _scrub, parse_url, safe_url
from tests.export.fake import export_worker, fake_predictions

pytestmark = pytest.mark.xdist_group("postgres")

FILE_KINDS = ["parquet", "csv"]


def _target(tmp_path: Path, kind: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'clv.db'}"
    return str(tmp_path / f"predictions.{kind}")


def _snapshot(folder: Path) -> dict[str, bytes]:
    """The bytes of every file in ``folder``, hidden ones (lock, temporary) excepted."""
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith(".")}


def _temps(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


# --- item 8: concurrent writers take turns --------------------------------------------


@pytest.mark.slow  # four fresh interpreters importing clvlab: 5-15 s on 2 cores
def test_four_processes_exporting_to_one_file_target_all_land(tmp_path: Path) -> None:
    parquet, csv = tmp_path / "p.parquet", tmp_path / "c.csv"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)  # all four start exporting at the same moment
    workers = [
        context.Process(target=export_worker, args=(str(parquet), str(csv), i, barrier))
        for i in range(4)
    ]
    for worker in workers:
        worker.start()
    try:
        for worker in workers:
            worker.join(timeout=600)
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    sizes = {f"r{i}": 600 + 50 * i for i in range(4)}  # as export_worker makes them
    for target in (parquet, csv):
        customers = clvlab.read_export(target)
        assert customers["run_id"].value_counts().to_dict() == sizes
        long = clvlab.read_export(target, "long")
        assert long["run_id"].value_counts().to_dict() == {r: 4 * n for r, n in sizes.items()}
        parameters = clvlab.read_export(target, "parameters")
        assert parameters["run_id"].value_counts().to_dict() == dict.fromkeys(sizes, 4)
        runs = clvlab.read_export(target, "runs").set_index("run_id")
        assert runs["customers"].to_dict() == sizes
        for i in range(4):  # each run's rows hold that run's numbers
            expected = fake_predictions(sizes[f"r{i}"], f"r{i}", seed=i).table
            got = customers[customers["run_id"] == f"r{i}"].set_index("customer_id")
            np.testing.assert_allclose(
                got.loc[id_texts(expected.index), "clv_estimate"], expected["clv_estimate"]
            )
    assert _temps(tmp_path) == []


def test_lock_wait_times_out_with_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "predictions.parquet"
    clvlab.export(fake_predictions(20, "a"), target, long=True)
    before = _snapshot(tmp_path)
    message = (
        r"another export to .*predictions\.parquet held its lock file "
        r".*\.predictions\.parquet\.lock for more than 0 s; wait until it has "
        r"finished and export again, or pass a larger lock_timeout"
    )
    # another writer holds the lock
    with filelock.FileLock(lock_path(target)), pytest.raises(clvlab.ExportError, match=message):
        clvlab.export(fake_predictions(20, "b"), target, lock_timeout=0)
    assert _snapshot(tmp_path) == before
    clvlab.export(fake_predictions(20, "b"), target)  # the lock is free again
    assert set(clvlab.read_export(target)["run_id"]) == {"a", "b"}


def test_a_lock_file_that_cannot_be_opened_gives_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "predictions.parquet"
    clvlab.export(fake_predictions(20, "a"), target)
    lock = lock_path(target)
    lock.unlink()
    (lock / "inside").mkdir(parents=True)  # a folder where the lock file belongs
    before = _snapshot(tmp_path)
    with pytest.raises(
        clvlab.ExportError,
        match=r"cannot open the lock file .*\.predictions\.parquet\.lock .*take turns through "
        r"it\. Make the folder .* writable \(and move away whatever is at that path",
    ):
        clvlab.export(fake_predictions(20, "b"), target)
    assert _snapshot(tmp_path) == before


# --- item 8: all tables of one export change together ---------------------------------


@pytest.mark.parametrize("kind", FILE_KINDS)
def test_runs_table_with_another_schema_changes_no_table(tmp_path: Path, kind: str) -> None:
    target = Path(_target(tmp_path, kind))
    clvlab.export(fake_predictions(50, "a"), target, long=True)
    runs = table_path(target, RUNS)
    foreign = pd.DataFrame({"run_id": ["x"], "something_else": [1.0]})
    if kind == "parquet":
        foreign.to_parquet(runs)
    else:
        foreign.to_csv(runs, index=False)
    before = _snapshot(tmp_path)
    with pytest.raises(
        clvlab.ExportError, match=r"different schema than clvlab's runs table.*No table"
    ):
        clvlab.export(fake_predictions(60, "b"), target, long=True)
    assert _snapshot(tmp_path) == before  # predictions.* and the others byte-equal
    assert _temps(tmp_path) == []


@pytest.mark.parametrize("kind", FILE_KINDS)
def test_failure_while_writing_the_runs_table_changes_no_table(tmp_path: Path, kind: str) -> None:
    target = Path(_target(tmp_path, kind))
    clvlab.export(fake_predictions(50, "a"), target, long=True)
    before = _snapshot(tmp_path)
    new = fake_predictions(60, "b")

    def disk_full() -> Iterator[pd.DataFrame]:  # the disk fills up during the last table
        yield from chunks(new, RUNS)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    tables = [(spec, chunks(new, spec, 10)) for spec in (CUSTOMERS, LONG, PARAMETERS)]
    with pytest.raises(
        clvlab.ExportError,
        match=r"cannot write the runs table to .*No space left on device; nothing was changed",
    ):
        write_table_files(target, kind, "b", [*tables, (RUNS, disk_full())], lock_timeout=10)  # type: ignore[arg-type]
    assert _snapshot(tmp_path) == before
    assert _temps(tmp_path) == []


def test_commit_puts_replaced_files_back_when_a_rename_fails(tmp_path: Path) -> None:
    first, second, folder = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    first.write_text("old a")
    (folder / "inside").mkdir(parents=True)  # a file cannot replace a non-empty folder
    temps = [new_temp(first), new_temp(second), new_temp(folder)]
    for tmp in temps:
        tmp.write_text("new")
    with pytest.raises(OSError):
        commit(list(zip(temps, [first, second, folder], strict=True)))
    assert first.read_text() == "old a"
    assert not second.exists()  # it did not exist before
    assert _temps(tmp_path) == []


# --- item 8: a killed export's temporary files are removed next time ------------------


@pytest.mark.parametrize("kind", FILE_KINDS)
def test_stale_temporary_files_are_removed_by_the_next_export(tmp_path: Path, kind: str) -> None:
    target = Path(_target(tmp_path, kind))
    clvlab.export(fake_predictions(30, "a"), target, long=True)
    # what a killed export leaves: a temporary file per table, named by _atomic.new_temp,
    # and the 8-character form earlier clvlab versions used
    stale = [new_temp(table_path(target, spec)) for spec in (CUSTOMERS, LONG, PARAMETERS, RUNS)]
    stale.append(tmp_path / f".{target.name}.ab3_x9z0.tmp")
    for path in stale:
        path.write_bytes(b"half a file")
    other = new_temp(tmp_path / f"other.{kind}")  # another target's writer at work
    longer = new_temp(tmp_path / f"{target.name}.x.{kind}")  # a name that starts alike
    clvlab.export(fake_predictions(30, "b"), target, long=True)
    assert not any(path.exists() for path in stale)
    assert other.exists() and longer.exists()
    assert set(clvlab.read_export(target)["run_id"]) == {"a", "b"}


# --- item 8: chunk_rows and lock_timeout are checked ----------------------------------


@pytest.mark.parametrize("kind", [*FILE_KINDS, "sqlite"])
@pytest.mark.parametrize("bad", [0, -1, 1.5, "10", True, float("nan"), None])
def test_chunk_rows_must_be_a_positive_integer(tmp_path: Path, kind: str, bad: object) -> None:
    with pytest.raises(ArgumentError, match=r"chunk_rows must be an integer >= 1"):
        clvlab.export(fake_predictions(5, "r"), _target(tmp_path, kind), chunk_rows=bad)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a lock file


def test_integral_float_chunk_rows_is_accepted(tmp_path: Path) -> None:
    clvlab.export(fake_predictions(5, "r"), tmp_path / "p.parquet", chunk_rows=2.0)  # type: ignore[arg-type]
    assert pq.read_metadata(tmp_path / "p.parquet").num_row_groups == 3  # 2 + 2 + 1 rows


@pytest.mark.parametrize("bad", ["no", 1, None])
def test_long_must_be_a_bool(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ArgumentError, match=r"long must be True or False, got"):
        clvlab.export(fake_predictions(5, "r"), tmp_path / "p.parquet", long=bad)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", [-1, float("nan"), "5"])
def test_lock_timeout_is_checked(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ArgumentError, match="lock_timeout"):
        clvlab.export(fake_predictions(5, "r"), tmp_path / "p.parquet", lock_timeout=bad)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


# --- item 7: customer ids leave as their one text form --------------------------------


def _with_ids(ids: list[object], run_id: str = "r") -> clvlab.CustomerPredictions:
    predictions = fake_predictions(len(ids), run_id)
    predictions.table.index = pd.Index(ids, dtype=object, name="customer_id")
    return predictions


@pytest.mark.parametrize("kind", [*FILE_KINDS, "sqlite"])
def test_float_ids_are_exported_without_decimal_part(tmp_path: Path, kind: str) -> None:
    target = _target(tmp_path, kind)
    predictions = fake_predictions(3, "r")
    predictions.table.index = pd.Index([14527.0, 7.0, 12.0], name="customer_id")
    clvlab.export(predictions, target, long=True)
    assert clvlab.read_export(target)["customer_id"].tolist() == ["14527", "7", "12"]
    long = clvlab.read_export(target, "long")
    assert sorted(set(long["customer_id"])) == ["12", "14527", "7"]


@pytest.mark.parametrize("kind", [*FILE_KINDS, "sqlite"])
def test_ids_that_collide_as_text_are_refused(tmp_path: Path, kind: str) -> None:
    target = _target(tmp_path, kind)
    with pytest.raises(
        clvlab.ExportError,
        match=r"1 pairs of different ids have the same text \(7 and '7' both become '7'\).*"
        r"Nothing was written",
    ):
        clvlab.export(_with_ids([7, "7", 8]), target)
    assert list(tmp_path.iterdir()) == []


def test_repeated_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(
        clvlab.ExportError, match=r"1 customer ids appear more than once .*e\.g\. 14527\)"
    ):
        clvlab.export(_with_ids([14527.0, 3, 14527.0]), tmp_path / "p.parquet")
    assert list(tmp_path.iterdir()) == []


_ID = st.one_of(
    st.integers(-(10**6), 10**6),
    st.integers(-(10**6), 10**6).map(float),
    st.text(alphabet="0123456789-aB .", min_size=1, max_size=4),
)


@settings(max_examples=40)
@given(ids=st.lists(_ID, min_size=1, max_size=6))
def test_exported_ids_are_the_text_forms_or_refused(ids: list[object]) -> None:
    texts = id_texts(np.array(ids, dtype=object))
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "p.parquet"
        if len(set(texts)) < len(texts):
            with pytest.raises(clvlab.ExportError, match="duplicate customer_id rows"):
                clvlab.export(_with_ids(ids), target)
            assert not target.exists()
        else:
            clvlab.export(_with_ids(ids), target)
            assert clvlab.read_export(target)["customer_id"].tolist() == list(texts)


# --- item 11: the long table, and dates read back as datetime64 -----------------------


@pytest.mark.parametrize("kind", [*FILE_KINDS, "sqlite"])
def test_export_without_long_drops_the_runs_older_long_rows(tmp_path: Path, kind: str) -> None:
    target = _target(tmp_path, kind)
    clvlab.export(fake_predictions(30, "a"), target, long=True)
    clvlab.export(fake_predictions(20, "b"), target, long=True)
    if kind == "csv":  # the long table of a CSV export is written (item 11)
        assert (tmp_path / "predictions_long.csv").is_file()
    written = clvlab.export(fake_predictions(40, "a", seed=3), target, long=False)
    assert "long" not in written
    long = clvlab.read_export(target, "long")
    # run a's long rows were of its older export: gone; run b's are kept
    assert long["run_id"].value_counts().to_dict() == {"b": 4 * 20}
    assert clvlab.read_export(target)["run_id"].value_counts().to_dict() == {"a": 40, "b": 20}


@pytest.mark.parametrize("kind", [*FILE_KINDS, "sqlite"])
def test_dates_read_back_as_datetime64_with_missing_as_nat(tmp_path: Path, kind: str) -> None:
    target = _target(tmp_path, kind)
    predictions = fake_predictions(5, "r")
    predictions.run["observation_end"] = None  # a run without holdout period
    clvlab.export(predictions, target)
    runs = clvlab.read_export(target, "runs")
    assert runs["observation_end"].dtype == "datetime64[ns]"
    assert runs["observation_end"].isna().all()
    assert runs["calibration_end"].iloc[0] == pd.Timestamp("1997-09-30")  # fake.py
    assert runs["created_at"].dtype == "datetime64[ns, UTC]"
    customers = clvlab.read_export(target)
    assert customers["as_of"].dtype == "datetime64[ns]"
    assert (customers["as_of"] == pd.Timestamp("1997-09-30")).all()


def test_a_date_edited_out_of_range_is_refused_on_reading(tmp_path: Path) -> None:
    target = tmp_path / "predictions.parquet"
    clvlab.export(fake_predictions(5, "r"), target)
    runs = table_path(target, RUNS)
    table = pq.read_table(runs)
    where = table.schema.get_field_index("calibration_end")
    late = pa.array([pd.Timestamp("2262-01-01").date().replace(year=9999)], pa.date32())
    pq.write_table(table.set_column(where, "calibration_end", late), runs)
    with pytest.raises(
        clvlab.ExportError, match=r"'calibration_end' of the runs table holds a date outside"
    ):
        clvlab.read_export(target, "runs")


# --- item 9: secrets in database URLs -------------------------------------------------

SECRET = "Zq7-secret-Wx"


def _closed_port() -> int:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"postgresql://u:{SECRET}@127.0.0.1:99999/db", r"from 1 to 65535, got 99999"),
        (f"postgresql://u:{SECRET}@127.0.0.1:0/db", r"from 1 to 65535, got 0"),
        (f"postgresql://u:{SECRET}@127.0.0.1:abc/db", r"port .* is empty or not a number"),
        (f"postgresql://u:{SECRET}@127.0.0.1:/db", r"port .* is empty or not a number"),
        (f"postgresql://u:{SECRET}", r"port .* is empty or not a number"),  # '@host' forgotten
        (f"postgresql://u:p@ss{SECRET}@127.0.0.1:5432/db", r"must be percent-encoded"),
        (f"postgresql://u:p@ss:{SECRET}@127.0.0.1:5432/db", r"must be percent-encoded"),
        (f"postgresql://u:p@{SECRET}@127.0.0.1/db", r"urllib\.parse\.quote"),
    ],
)
def test_malformed_urls_give_export_errors_without_the_password(url: str, message: str) -> None:
    for call in (
        lambda: clvlab.export(fake_predictions(5, "r"), url),
        lambda: clvlab.read_export(url),
    ):
        with pytest.raises(clvlab.ExportError, match=message) as info:
            call()
        assert SECRET not in str(info.value)
        assert "p@ss" not in str(info.value)
    assert SECRET not in safe_url(url)


@pytest.mark.parametrize("key", ["password", "sslpassword", "token", "api_key"])
def test_secret_query_parameters_are_masked(key: str) -> None:
    port = _closed_port()
    url = f"postgresql://u@127.0.0.1:{port}/db?sslmode=disable&{key}={SECRET}"
    shown = safe_url(url)
    assert shown.startswith(f"postgresql://u@127.0.0.1:{port}/db?")
    assert set(shown.split("?")[1].split("&")) == {f"{key}=***", "sslmode=disable"}
    # (psycopg refuses unknown options such as token before connecting)
    with pytest.raises(
        clvlab.ExportError,
        match=rf"cannot write to .*{key}=\*\*\*.*(Connection refused|invalid connection option)",
    ) as info:
        clvlab.export(fake_predictions(5, "r"), url)
    assert SECRET not in str(info.value)


def test_percent_encoded_password_with_at_sign_is_parsed() -> None:
    password = "p@ss:w/rd?#1"
    parsed = parse_url(f"postgresql://u:{quote(password, safe='')}@db.example:5432/x")
    assert (parsed.password, parsed.host, parsed.port) == (password, "db.example", 5432)
    assert safe_url(f"postgresql://u:{quote(password, safe='')}@db.example:5432/x") == (
        "postgresql://u:***@db.example:5432/x"
    )


def test_driver_messages_are_scrubbed_of_secrets() -> None:
    url = f"postgresql://u:{quote('pw@' + SECRET, safe='')}@h/db?sslpassword=other-{SECRET}"
    text = f"failed for pw@{SECRET} and other-{SECRET} at {url}"
    scrubbed = _scrub(text, url)
    assert SECRET not in scrubbed and "pw@" not in scrubbed
    assert scrubbed.startswith("failed for *** and *** at postgresql://u:***@h/db")


def test_check_target_fails_early_without_writing(tmp_path: Path) -> None:
    check_target(tmp_path / "p.parquet")
    check_target(f"sqlite:///{tmp_path / 'clv.db'}", connect=True)
    with pytest.raises(clvlab.ExportError, match=r"cannot tell the format of .*x\.xlsx"):
        check_target(tmp_path / "x.xlsx")
    with pytest.raises(clvlab.ExportError, match="must be percent-encoded") as info:
        check_target(f"postgresql://u:p@{SECRET}@127.0.0.1/db")
    assert SECRET not in str(info.value)
    url = f"postgresql://u:{SECRET}@127.0.0.1:{_closed_port()}/db"
    check_target(url)  # well formed; not connected
    with pytest.raises(
        clvlab.ExportError, match=r"cannot connect to postgresql://u:\*\*\*@.*Connection refused"
    ) as info:
        check_target(url, connect=True)
    assert SECRET not in str(info.value)
    assert list(tmp_path.iterdir()) == []  # nothing created: SQLite makes its file at export


@pytest.mark.postgres
def test_password_with_at_sign_works_when_encoded_and_is_refused_raw(postgres_url: str) -> None:
    sa = pytest.importorskip("sqlalchemy")
    server = parse_url(postgres_url)
    password = "p@ss:w/rd?" + SECRET
    admin = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.execute(sa.text("drop role if exists clvlab_at"))
        conn.execute(sa.text(f"create role clvlab_at login password '{password}'"))
        conn.execute(sa.text("grant create on schema public to clvlab_at"))
    admin.dispose()
    host = f"{server.host}:{server.port}/{server.database}"
    encoded = f"postgresql://clvlab_at:{quote(password, safe='')}@{host}"
    clvlab.export(fake_predictions(5, "at"), encoded, table_prefix="atpw")
    assert len(clvlab.read_export(encoded, table_prefix="atpw")) == 5
    with pytest.raises(clvlab.ExportError, match="percent-encoded") as info:
        clvlab.export(fake_predictions(5, "at"), f"postgresql://clvlab_at:{password}@{host}")
    assert SECRET not in str(info.value) and "p@ss" not in str(info.value)
    # the password given as a query parameter works too, and is never shown
    in_query = f"postgresql://clvlab_at@{host}?password={quote(password, safe='')}"
    written = clvlab.export(fake_predictions(7, "q"), in_query, table_prefix="atpw")
    assert all(SECRET not in where for where in written.values())
    wrong = f"postgresql://clvlab_at@{host}?password=wrong-{SECRET}"
    with pytest.raises(clvlab.ExportError, match="password authentication failed") as info:
        clvlab.export(fake_predictions(5, "w"), wrong, table_prefix="atpw")
    assert SECRET not in str(info.value)
    runs = clvlab.read_export(encoded, "runs", table_prefix="atpw")
    assert sorted(runs["run_id"]) == ["at", "q"]
