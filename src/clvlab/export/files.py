"""Parquet and CSV targets: one file per table, replaced atomically.

Each table goes to its own file: the customer table to the target path itself and the
others beside it (``predictions.parquet`` -> ``predictions_runs.parquet``, ...). A file is
rewritten into a temporary file in the same folder, which is renamed over the old one
when it is complete, so a reader sees the previous export or the new one, never a part.
The rows of other runs are streamed from the old file into the new one, and this run's
rows are written after them, chunk by chunk.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from clvlab._atomic import atomic_path
from clvlab.errors import ExportError
from clvlab.export.schema import CUSTOMERS, TableSpec

__all__ = ["FileFormat", "arrow_schema", "table_path", "write_table_file"]

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


def write_table_file(
    path: Path, spec: TableSpec, fmt: FileFormat, run_id: str, frames: Iterable[pd.DataFrame]
) -> None:
    """Replace ``run_id``'s rows of the table file ``path`` with ``frames``, atomically."""
    if path.exists():
        _check_existing(path, spec, fmt)
    try:
        with atomic_path(path) as tmp:
            if fmt == "parquet":
                _write_parquet(path, tmp, spec, run_id, frames)
            else:
                _write_csv(path, tmp, spec, run_id, frames)
    except ExportError:
        raise
    except OSError as exc:
        raise ExportError(
            f"cannot write {spec.name} table to {path}: {exc.strerror or exc}; "
            "nothing was changed there"
        ) from exc


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
            with open(path, newline="") as handle:
                columns = next(csv.reader(handle), [])
            same = columns == spec.names
    except (OSError, pa.ArrowException) as exc:
        raise ExportError(f"cannot read the existing {spec.name} table {path}: {exc}") from exc
    if not same:
        raise ExportError(
            f"{path} exists with a different schema than clvlab's {spec.name} table "
            f"(found {columns}, expected {spec.names}); move it away or export elsewhere. "
            "The file was not changed."
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
    with open(tmp, "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(spec.names)
        if old.exists():
            with open(old, newline="") as handle:
                reader = csv.reader(handle)
                next(reader, None)
                writer.writerows(row for row in reader if row and row[0] != run_id)
        for frame in frames:
            frame.to_csv(out, header=False, index=False, lineterminator="\n")
