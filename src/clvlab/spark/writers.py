"""Writing Spark predictions: a Parquet folder, a Spark table, or the existing export
targets (files and SQL URLs) fed partition by partition.

A Parquet folder holds one run: the customers table as Spark's part files (readable as
``spark.read.parquet(folder)`` or ``pandas.read_parquet(folder)``) and, beside them,
``_runs.parquet`` and ``_parameters.parquet`` (names starting with ``_``, which Spark and
pyarrow skip when they read the folder as a table). It is written atomically: Spark
writes a temporary folder beside the target (``.<name>.<16 hex>.tmp``), which is renamed
over the target when complete; the previous folder is kept until then, and put back if
the rename fails. Writers of one folder take turns through the lock file of
:func:`clvlab.export.files.target_lock` (``.<name>.lock``), as the pandas export does.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from clvlab.arguments import check_count, check_nonnegative
from clvlab.errors import ArgumentError, ExportError
from clvlab.export import DEFAULT_LOCK_TIMEOUT, export_chunks
from clvlab.export.files import arrow_schema, target_lock
from clvlab.export.frames import chunks
from clvlab.export.schema import PARAMETERS, RUNS
from clvlab.spark._arrow import quiet
from clvlab.spark.scoring import SparkCustomerPredictions

__all__ = ["export_spark", "write_parquet", "write_table"]

_MARKER = "_runs.parquet"


def _check(predictions: Any) -> SparkCustomerPredictions:
    if not isinstance(predictions, SparkCustomerPredictions):
        raise ExportError(
            f"expected SparkCustomerPredictions (from clvlab.spark.predict_customers), got "
            f"{type(predictions).__name__}"
        )
    return predictions


def _temp_dirs(target: Path) -> list[Path]:
    pattern = re.compile(re.escape(f".{target.name}.") + r"[0-9a-f]{16}\.tmp")
    if not target.parent.is_dir():
        return []
    return [p for p in target.parent.iterdir() if pattern.fullmatch(p.name) and p.is_dir()]


def _small_table(path: Path, predictions: SparkCustomerPredictions, spec: Any) -> None:
    schema = arrow_schema(spec)
    frame = next(chunks(predictions.record(), spec))
    pq.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), path)


def write_parquet(
    predictions: SparkCustomerPredictions,
    folder: str | os.PathLike[str],
    *,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> dict[str, str]:
    """Write the predictions to the Parquet folder ``folder``, atomically.

    The folder must not exist, or be a folder this function wrote (it holds
    ``_runs.parquet``), which is replaced whole: one folder holds one run.

    Returns
    -------
    dict
        Table name -> where it was written.

    Raises
    ------
    ExportError
        ``folder`` is a file or a folder clvlab did not write; another writer held the
        lock for more than ``lock_timeout`` seconds; or Spark failed to write. The
        folder is then as it was.
    """
    predictions = _check(predictions)
    lock_timeout = check_nonnegative("lock_timeout", lock_timeout)
    target = Path(folder)
    if "://" in str(folder):
        raise ExportError(
            f"write_parquet takes a local folder, got {folder!r}; for a database use "
            "clvlab.spark.export_spark, for a Spark table write_table"
        )
    with target_lock(target, lock_timeout):
        for stale in _temp_dirs(target):  # left by a killed writer (we hold the lock)
            shutil.rmtree(stale, ignore_errors=True)
        if target.exists() and not (target / _MARKER).is_file():
            what = "a file" if not target.is_dir() else "a folder clvlab did not write"
            raise ExportError(
                f"cannot write the Parquet folder {target}: it exists and is {what} (no "
                f"{_MARKER}); choose another folder or move it away. Nothing was written."
            )
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
        backup = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
        try:
            with quiet():
                predictions.table.write.parquet(str(tmp))
            _small_table(tmp / "_parameters.parquet", predictions, PARAMETERS)
            _small_table(tmp / _MARKER, predictions, RUNS)  # last: the folder is complete
            if target.exists():
                os.replace(target, backup)
            try:
                os.replace(tmp, target)
            except BaseException:
                if backup.exists():
                    os.replace(backup, target)
                raise
        except Exception as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExportError(
                f"cannot write the Parquet folder {target}: {reason}; nothing was changed: "
                "the folder is as it was"
            ) from exc
        shutil.rmtree(backup, ignore_errors=True)
    return {
        "customers": str(target),
        "parameters": str(target / "_parameters.parquet"),
        "runs": str(target / _MARKER),
    }


def write_table(
    predictions: SparkCustomerPredictions,
    name: str,
    *,
    mode: str = "append",
) -> dict[str, str]:
    """Write the predictions to Spark tables ``name``, ``name_parameters`` and
    ``name_runs`` (``saveAsTable``; the runs table last).

    ``mode="append"`` adds the run and refuses a run id the table already holds (Spark
    tables cannot replace some rows); ``mode="overwrite"`` replaces the three tables.

    Raises
    ------
    ArgumentError
        An unknown mode or an empty name.
    ExportError
        The run is already in the table (append).
    """
    predictions = _check(predictions)
    if mode not in ("append", "overwrite"):
        raise ArgumentError(f"mode must be 'append' or 'overwrite', got {mode!r}")
    if not isinstance(name, str) or not name.strip():
        raise ArgumentError(f"name must be a table name, got {name!r}")
    spark = predictions.table.sparkSession
    if mode == "append" and spark.catalog.tableExists(name):
        from pyspark.sql import functions as F

        held = spark.table(name).filter(F.col("run_id") == predictions.run_id).limit(1).count()
        if held:
            raise ExportError(
                f"the Spark table {name} already holds run {predictions.run_id!r}; use "
                "another run id, or mode='overwrite' to replace the tables. Nothing was "
                "written."
            )
    with quiet():
        predictions.table.write.mode(mode).saveAsTable(name)
        for spec in (PARAMETERS, RUNS):
            frame = next(chunks(predictions.record(), spec))
            sdf = spark.createDataFrame(
                pa.Table.from_pandas(frame, schema=arrow_schema(spec), preserve_index=False)
            )
            sdf.write.mode(mode).saveAsTable(f"{name}_{spec.name}")
    return {"customers": name, "parameters": f"{name}_parameters", "runs": f"{name}_runs"}


def export_spark(
    predictions: SparkCustomerPredictions,
    target: str | os.PathLike[str],
    *,
    long: bool = False,
    table_prefix: str = "clv",
    chunk_rows: int = 100_000,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> dict[str, str]:
    """Write the predictions to an export target of :func:`clvlab.export` (a
    ``.parquet``/``.csv`` file or a database URL), streaming the customer rows to the
    driver one partition at a time, ``chunk_rows`` at a time
    (:func:`clvlab.export.export_chunks`): the driver never holds the whole table."""
    predictions = _check(predictions)
    chunk_rows = check_count("chunk_rows", chunk_rows)

    def customers() -> Any:
        return predictions.customer_chunks(chunk_rows)

    return export_chunks(
        predictions.record(),
        customers,
        target,
        long=long,
        table_prefix=table_prefix,
        lock_timeout=lock_timeout,
    )
