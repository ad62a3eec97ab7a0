"""Export predictions for BI tools: Parquet, CSV, SQLite and PostgreSQL.

:func:`export` writes the customer table, the run table and the parameter table (and
optionally the long format) of a :class:`~clvlab.predict.table.CustomerPredictions`. The
columns and their types are in :mod:`clvlab.export.schema` and the README.

Targets:

- ``*.parquet`` or ``*.csv``: one file per table, each replaced atomically;
- a SQLAlchemy URL: ``sqlite:///path.db`` (the embedded default) or
  ``postgresql://user:password@host:port/db``. Tables are named ``<table_prefix>_<table>``
  and written in one transaction.

SQLite is the embedded default: it ships with Python (nothing to install), is a single
file that Power BI, Tableau, Superset and Metabase read through standard drivers, and
its transactions make a re-export atomic for readers. DuckDB would be faster for large
analytical queries, but it is one more dependency, and BI connectors for it are less
common.

Every row carries the ``run_id``: exporting a run again replaces its rows, and a new
run appends, so the history of runs is kept.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from clvlab.errors import ExportError
from clvlab.export.files import FileFormat, table_path, write_table_file
from clvlab.export.frames import DEFAULT_CHUNK_ROWS, chunks, typed
from clvlab.export.schema import CUSTOMERS, LONG, PARAMETERS, RUNS, TABLES, TableSpec
from clvlab.export.sql import read_sql_table, write_sql
from clvlab.predict.table import CustomerPredictions

__all__ = ["TABLES", "export", "read_export"]

_FORMATS: dict[str, FileFormat] = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


def _is_url(target: str | os.PathLike[str]) -> bool:
    return "://" in str(target)


def _file_format(path: Path) -> FileFormat:
    try:
        return _FORMATS[path.suffix.lower()]
    except KeyError:
        raise ExportError(
            f"cannot tell the format of {path}: use a .parquet or .csv file, or a database "
            "URL such as sqlite:///clv.db or postgresql://user:password@host/db"
        ) from None


def export(
    predictions: CustomerPredictions,
    target: str | os.PathLike[str],
    *,
    long: bool = False,
    table_prefix: str = "clv",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> dict[str, str]:
    """Write predictions to a file or database for BI tools.

    Parameters
    ----------
    predictions
        From :func:`clvlab.predict_customers`.
    target
        ``path.parquet``, ``path.csv`` or a SQLAlchemy URL (``sqlite:///clv.db``,
        ``postgresql://user:password@host:5432/db``).
    long
        Also write the long format (``customer_id, metric, horizon, estimate, lower,
        upper``).
    table_prefix
        SQL table names are ``<table_prefix>_customers``, ``_runs``, ``_parameters`` and
        ``_long``.
    chunk_rows
        Customers per chunk: rows are converted and written one chunk at a time.

    Returns
    -------
    dict
        Table name -> where it was written (file path or ``url#table``).

    Raises
    ------
    clvlab.ExportError
        The target cannot be written (unwritable path, unreachable database, rejected
        credentials, an existing table with another schema). Earlier exports are left
        whole.
    """
    if not isinstance(predictions, CustomerPredictions):
        raise ExportError(
            f"export needs CustomerPredictions (from clvlab.predict_customers), got "
            f"{type(predictions).__name__}"
        )
    specs: list[TableSpec] = [CUSTOMERS, *([LONG] if long else []), PARAMETERS, RUNS]
    run_id = predictions.run_id
    if _is_url(target):
        url = str(target)
        names = {f"{table_prefix}_{spec.name}": spec for spec in specs}
        write_sql(url, names, lambda spec: chunks(predictions, spec, chunk_rows), run_id)
        return {spec.name: f"{url}#{name}" for name, spec in names.items()}
    path = Path(target)
    fmt = _file_format(path)
    written = {}
    # The run table is written last: a run listed there has all its other rows written.
    for spec in specs:
        where = table_path(path, spec)
        write_table_file(where, spec, fmt, run_id, chunks(predictions, spec, chunk_rows))
        written[spec.name] = str(where)
    return written


def read_export(
    target: str | os.PathLike[str],
    table: str = "customers",
    *,
    run_id: str | None = None,
    table_prefix: str = "clv",
) -> pd.DataFrame:
    """Read an exported table back, with the documented types (dates as dates)."""
    if table not in TABLES:
        raise ExportError(f"unknown table {table!r}; exported tables are {sorted(TABLES)}")
    spec = TABLES[table]
    if _is_url(target):
        frame = read_sql_table(str(target), f"{table_prefix}_{table}", run_id)
    else:
        path = table_path(Path(target), spec)
        if not path.exists():
            raise ExportError(f"no exported {table} table at {path}")
        if _file_format(path) == "parquet":
            frame = pd.read_parquet(path)
        else:
            text = [c.name for c in spec.columns if c.kind == "text"]
            frame = pd.read_csv(path, dtype=dict.fromkeys(text, str), keep_default_na=False)
        if run_id is not None:
            frame = frame[frame["run_id"] == run_id].reset_index(drop=True)
    return typed(frame, spec)
