"""Parquet and CSV targets: one file per table, all replaced together.

Each table goes to its own file: the customer table to the target path itself and the
others beside it (``predictions.parquet`` -> ``predictions_runs.parquet``, ...).

Writers of one target take turns through a lock file beside it
(``.predictions.parquet.lock``, a :mod:`filelock` lock, released by the operating system
when its process ends, even if the process is killed). Holding the lock, an export:

1. removes temporary files that a killed export of this target left behind;
2. checks every existing table file (readable, same schema), before writing anything;
3. writes each table to a temporary file in the same folder: the rows of other runs are
   streamed from the old file, and this run's rows are written after them, chunk by
   chunk;
4. renames the temporary files over the table files, the runs table last. If a rename
   fails, the tables already replaced are put back.

So a reader sees the previous export or the new one, and a failed export changes no
table.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal

import filelock
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from clvlab._atomic import commit, discard, new_temp, remove_stale_temps
from clvlab.errors import ExportError
from clvlab.export.schema import CUSTOMERS, TableSpec

__all__ = [
    "FileFormat",
    "arrow_schema",
    "lock_path",
    "table_path",
    "target_lock",
    "write_table_files",
]

FileFormat = Literal["parquet", "csv"]

_ARROW = {
    "text": pa.string(),
    "float": pa.float64(),
    "int": pa.int64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
_BATCH_ROWS = 100_000


def arrow_schema(spec: TableSpec) -> pa.Schema:
    """The Arrow (Parquet) schema of a table."""
    return pa.schema([pa.field(c.name, _ARROW[c.kind]) for c in spec.columns])


def table_path(target: Path, spec: TableSpec) -> Path:
    """Where table ``spec`` of an export to ``target`` lives."""
    if spec is CUSTOMERS:
        return target
    return target.with_name(f"{target.stem}_{spec.name}{target.suffix}")


def check_writable_folder(folder: Path, what: str) -> None:
    """``folder`` (created by the export when missing) can take new files: its nearest
    existing ancestor is a folder in which a probe file can be created and removed.

    Raises
    ------
    ExportError
        The folder is a file, or not writable; nothing was written.
    """
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise ExportError(
            f"cannot write {what}: {existing} is a file, not a folder; choose another "
            "output path. Nothing was written."
        )
    try:
        fd, probe = tempfile.mkstemp(prefix=".clvlab-preflight-", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ExportError(
            f"cannot write {what}: the folder {existing} is not writable "
            f"({exc.strerror or exc}); choose a writable folder or fix its permissions. "
            "Nothing was written."
        ) from None


def lock_path(target: Path) -> Path:
    """The lock file through which the writers of file target ``target`` take turns."""
    return target.with_name(f".{target.name}.lock")


@contextlib.contextmanager
def target_lock(target: Path, timeout: float) -> Iterator[None]:
    """Hold the lock of file target ``target``, waiting at most ``timeout`` seconds."""
    lock_file = lock_path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(
            f"cannot write the export to {target}: the folder {target.parent} cannot be "
            f"created ({exc.strerror or exc}); export to a writable folder. Nothing was "
            "changed."
        ) from exc
    lock = filelock.FileLock(lock_file, timeout=timeout)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise ExportError(
            f"another export to {target} held its lock file {lock_file} for more than "
            f"{timeout:g} s; wait until it has finished and export again, or pass a larger "
            "lock_timeout. The lock is released when that process ends (even if it is "
            "killed), so do not delete the lock file. Nothing was changed."
        ) from None
    except OSError as exc:
        raise ExportError(
            f"cannot open the lock file {lock_file} ({exc.strerror or exc}): exports to "
            f"{target} take turns through it. Make the folder {target.parent} writable (and "
            "move away whatever is at that path if it is not a file), or export elsewhere. "
            "Nothing was changed."
        ) from exc
    try:
        yield
    finally:
        lock.release()


def write_table_files(
    target: Path,
    fmt: FileFormat,
    run_id: str,
    tables: Sequence[tuple[TableSpec, Iterable[pd.DataFrame] | None]],
    *,
    lock_timeout: float,
) -> dict[str, str]:
    """Replace ``run_id``'s rows of every table of file target ``target``, together.

    ``tables`` pairs each table with its new rows, in the order the files are renamed
    (the runs table last). Rows ``None`` mean: remove ``run_id``'s rows from that table
    if its file exists with clvlab's schema, and leave it alone otherwise (the long table
    of an export without ``long=True``). Returns table name -> file written.
    """
    with target_lock(target, lock_timeout):
        plan: list[tuple[TableSpec, Path, Iterable[pd.DataFrame]]] = []
        requested = {spec.name for spec, frames in tables if frames is not None}
        for spec, frames in tables:
            path = table_path(target, spec)
            remove_stale_temps(path)
            if frames is None:
                if path.is_file() and _holds_run(path, spec, fmt, run_id):
                    plan.append((spec, path, ()))
                continue
            if path.exists():
                _check_existing(path, spec, fmt)
            plan.append((spec, path, frames))
        temps: list[Path] = []
        doing = ""
        try:
            for spec, path, frames in plan:
                doing = f"write the {spec.name} table to {path}"
                temps.append(new_temp(path))
                if fmt == "parquet":
                    _write_parquet(path, temps[-1], spec, run_id, frames)
                else:
                    _write_csv(path, temps[-1], spec, run_id, frames)
            doing = f"replace the table files of {target}"
            commit([(tmp, where) for tmp, (_, where, _) in zip(temps, plan, strict=True)])
        except (OSError, pa.ArrowException, csv.Error, UnicodeError) as exc:
            discard(temps)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise ExportError(
                f"cannot {doing}: {reason}; nothing was changed: every table of {target} "
                "is as it was"
            ) from exc
        except BaseException:
            discard(temps)
            raise
    return {spec.name: str(path) for spec, path, _ in plan if spec.name in requested}


def _holds_run(path: Path, spec: TableSpec, fmt: FileFormat, run_id: str) -> bool:
    """Whether the table file ``path`` has clvlab's schema and rows of ``run_id``."""
    try:
        _check_existing(path, spec, fmt)
        if fmt == "parquet":
            column = pq.read_table(path, columns=["run_id"]).column("run_id")
            return bool(pc.any(pc.equal(column, run_id)).as_py())
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            return any(row and row[0] == run_id for row in reader)
    except (ExportError, OSError, pa.ArrowException, csv.Error, UnicodeError):
        return False  # not clvlab's table, or unreadable: not ours to change


def _check_existing(path: Path, spec: TableSpec, fmt: FileFormat) -> None:
    try:
        if fmt == "parquet":
            found = pq.read_schema(path)
            expected = arrow_schema(spec)
            same = found.names == expected.names and all(
                found.field(n).type == expected.field(n).type for n in expected.names
            )
            columns = [f"{f.name}:{f.type}" for f in found]
        else:
            with open(path, newline="", encoding="utf-8") as handle:
                columns = next(csv.reader(handle), [])
            same = columns == spec.names
    except (OSError, pa.ArrowException, csv.Error, UnicodeError) as exc:
        raise ExportError(
            f"cannot read the existing {spec.name} table {path}: {exc}; move it away or "
            "export to another file. No table was changed."
        ) from exc
    if not same:
        raise ExportError(
            f"{path} exists with a different schema than clvlab's {spec.name} table "
            f"(found {columns}, expected {spec.names}); move it away or export elsewhere. "
            "No table was changed."
        )


def _write_parquet(
    old: Path, tmp: Path, spec: TableSpec, run_id: str, frames: Iterable[pd.DataFrame]
) -> None:
    schema = arrow_schema(spec)
    with pq.ParquetWriter(tmp, schema) as writer:
        if old.exists():
            for batch in pq.ParquetFile(old).iter_batches(batch_size=_BATCH_ROWS):
                kept = batch.filter(pc.not_equal(batch.column("run_id"), run_id))
                if kept.num_rows:
                    writer.write_batch(kept)
        for frame in frames:
            writer.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False))


def _write_csv(
    old: Path, tmp: Path, spec: TableSpec, run_id: str, frames: Iterable[pd.DataFrame]
) -> None:
    with open(tmp, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(spec.names)
        if old.exists():
            with open(old, newline="", encoding="utf-8") as handle:
                reader = csv.reader(handle)
                next(reader, None)
                writer.writerows(row for row in reader if row and row[0] != run_id)
        for frame in frames:
            frame.to_csv(out, header=False, index=False, lineterminator="\n")
