"""Export predictions for BI tools: Parquet, CSV, SQLite and PostgreSQL.

:func:`export` writes the customer table, the run table and the parameter table (and
optionally the long format) of a :class:`~clvlab.predict.table.CustomerPredictions`. The
columns and their types are in :mod:`clvlab.export.schema` and the README.

Targets:

- ``*.parquet`` or ``*.csv``: one file per table, all replaced together (see
  :mod:`clvlab.export.files`); writers of one target take turns through a lock file
  beside it;
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
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from clvlab.arguments import check_count, check_nonnegative
from clvlab.data.ids import id_texts
from clvlab.decisions.report import Decisions
from clvlab.errors import ArgumentError, ExportError
from clvlab.export.files import (
    FileFormat,
    check_writable_folder,
    table_path,
    write_table_files,
)
from clvlab.export.frames import DEFAULT_CHUNK_ROWS, chunks, customer_ids, decision_frames, typed
from clvlab.export.schema import (
    CUSTOMERS,
    DECISION_TABLES,
    LONG,
    PARAMETERS,
    RUNS,
    TABLES,
    TableSpec,
)
from clvlab.export.sql import (
    check_connection,
    parse_url,
    read_sql_table,
    safe_url,
    write_sql,
)
from clvlab.predict.table import CustomerPredictions, long_format

__all__ = ["TABLES", "check_target", "export", "export_chunks", "read_export"]

DEFAULT_LOCK_TIMEOUT = 600.0
"""Seconds an export waits for another export to the same file target."""
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


def check_target(target: str | os.PathLike[str], *, connect: bool = False) -> None:
    """Check an export target before any work is done (the CLI checks ``--out`` first).

    A file target needs a ``.parquet``, ``.pq`` or ``.csv`` suffix, must not be a folder,
    and its folder must take new files (a probe file is created and removed). A database
    URL must parse (a port from 1 to 65535, a password with ``@`` percent-encoded); with
    ``connect=True`` a connection is opened, the tables are listed and it is closed, so
    an unreachable server, a missing database or rejected credentials show up now
    (PostgreSQL waits at most 10 s). Nothing is created: an SQLite file that does not
    exist yet is left to the export.

    Raises
    ------
    clvlab.ExportError
        The target would fail; the message hides the password.
    """
    if not _is_url(target):
        path = Path(target)
        if path.is_dir():
            raise ExportError(
                f"cannot export to {path}: it is a folder; give a file name such as "
                f"{path / 'predictions.parquet'}. Nothing was written."
            )
        _file_format(path)
        check_writable_folder(path.parent, f"to {path}")
    elif connect:
        check_connection(str(target))
    else:
        parse_url(str(target))


def export(
    predictions: CustomerPredictions,
    target: str | os.PathLike[str],
    *,
    long: bool = False,
    decisions: Decisions | None = None,
    table_prefix: str = "clv",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> dict[str, str]:
    """Write predictions to a file or database for BI tools.

    All tables of one export change together or not at all, and exports to one target
    take turns: for a file target through a lock file beside it
    (``.predictions.parquet.lock``), for a database through its transactions.

    Parameters
    ----------
    predictions
        From :func:`clvlab.predict_customers`.
    target
        ``path.parquet``, ``path.csv`` or a SQLAlchemy URL (``sqlite:///clv.db``,
        ``postgresql://user:password@host:5432/db``). A password holding ``@``, ``:``
        or ``/`` must be percent-encoded (``urllib.parse.quote(password, safe="")``).
    long
        Also write the long format (``customer_id, metric, horizon, estimate, lower,
        upper``). Without it, the rows of this run are removed from an existing long
        table, so that table never holds an older export of the run.
    decisions
        Also write the decision tables of :func:`clvlab.decide` that it holds (default:
        ``predictions.decisions``)
        (segments, segment probabilities, groups, group differences, forecast,
        acquisition; see :mod:`clvlab.export.schema`). The decision tables it does not
        hold lose this run's rows, as the long table does, so no table keeps an older
        export of the run.
    table_prefix
        SQL table names are ``<table_prefix>_customers``, ``_runs``, ``_parameters`` and
        ``_long``.
    chunk_rows
        Customers per chunk (an integer >= 1): rows are converted and written one chunk
        at a time.
    lock_timeout
        Seconds to wait for another export to the same file target to finish.

    Returns
    -------
    dict
        Table name -> where it was written (file path, or ``url#table`` with the
        password shown as ``***``).

    Raises
    ------
    clvlab.ArgumentError
        ``long`` is not a bool, ``chunk_rows`` is not an integer >= 1, or
        ``lock_timeout`` is negative.
    clvlab.ExportError
        The target cannot be written (unwritable path, unreachable database, rejected
        credentials, a malformed URL, an existing table with another schema, another
        export holding the lock beyond ``lock_timeout``), or two customer ids have the
        same text form. No table is changed.
    """
    if not isinstance(predictions, CustomerPredictions):
        raise ExportError(
            f"export needs CustomerPredictions (from clvlab.predict_customers), got "
            f"{type(predictions).__name__}"
        )
    if not isinstance(long, bool | np.bool_):
        raise ArgumentError(f"long must be True or False, got {long!r}")
    chunk_rows = check_count("chunk_rows", chunk_rows)
    lock_timeout = check_nonnegative("lock_timeout", lock_timeout)
    ids = customer_ids(predictions)
    run_id = predictions.run_id
    decisions = predictions.decisions if decisions is None else decisions
    extra = {} if decisions is None else decision_frames(decisions, run_id)
    if decisions is not None:
        _check_same_run(predictions, decisions, ids)
    # The run table comes last: a run listed there has all its other rows written.
    specs: list[TableSpec] = [CUSTOMERS, LONG, *DECISION_TABLES, PARAMETERS, RUNS]

    def rows(spec: TableSpec) -> Iterable[pd.DataFrame]:
        if spec.name in extra:
            frame = extra[spec.name]
            # no chunk for an empty table (one group: no differences): an empty insert
            # would add a row of NULLs to an SQL table
            return (frame.iloc[i : i + chunk_rows] for i in range(0, len(frame), chunk_rows))
        return chunks(predictions, spec, chunk_rows, ids)

    def written(spec: TableSpec) -> bool:
        if spec is LONG:
            return long
        return spec not in DECISION_TABLES or spec.name in extra

    return _write(target, specs, rows, written, run_id, table_prefix, lock_timeout)


def _write(
    target: str | os.PathLike[str],
    specs: list[TableSpec],
    rows: Callable[[TableSpec], Iterable[pd.DataFrame]],
    written: Callable[[TableSpec], bool],
    run_id: str,
    table_prefix: str,
    lock_timeout: float,
) -> dict[str, str]:
    """Write the tables ``specs`` (``rows(spec)`` for those ``written``; this run's rows
    removed from the others) to a file target or database URL."""
    if _is_url(target):
        url = str(target)
        names = {f"{table_prefix}_{spec.name}": spec for spec in specs}
        wanted = {name: spec for name, spec in names.items() if written(spec)}
        cleared = {name: spec for name, spec in names.items() if name not in wanted}
        write_sql(url, wanted, rows, run_id, clear=cleared)
        shown = safe_url(url)
        return {spec.name: f"{shown}#{name}" for name, spec in wanted.items()}
    path = Path(target)
    fmt = _file_format(path)
    tables = [(spec, rows(spec) if written(spec) else None) for spec in specs]
    return write_table_files(path, fmt, run_id, tables, lock_timeout=lock_timeout)


def export_chunks(
    record: CustomerPredictions,
    customers: Callable[[], Iterable[pd.DataFrame]],
    target: str | os.PathLike[str],
    *,
    long: bool = False,
    table_prefix: str = "clv",
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> dict[str, str]:
    """:func:`export` of a run whose customer rows arrive as chunks, e.g. streamed from
    Spark (:meth:`clvlab.spark.SparkCustomerPredictions.customer_chunks`).

    ``record`` holds the run record and the parameters (its table is not read).
    ``customers()`` yields frames typed as the customers table
    (:func:`clvlab.export.frames.typed` with :data:`CUSTOMERS`), each customer once;
    it is called once per table that needs the rows (twice with ``long=True``), so
    only one chunk is held at a time. The decision tables lose this run's rows, as in
    an export without decisions. Targets, locking, atomicity and errors are those of
    :func:`export`.
    """
    if not isinstance(long, bool | np.bool_):
        raise ArgumentError(f"long must be True or False, got {long!r}")
    lock_timeout = check_nonnegative("lock_timeout", lock_timeout)
    run_id = record.run_id
    specs: list[TableSpec] = [CUSTOMERS, LONG, *DECISION_TABLES, PARAMETERS, RUNS]

    def rows(spec: TableSpec) -> Iterable[pd.DataFrame]:
        if spec is CUSTOMERS:
            return customers()
        if spec is LONG:
            horizon = record.run["horizon"]
            return (
                typed(
                    long_format(frame.set_index("customer_id"), horizon).assign(run_id=run_id),
                    LONG,
                )
                for frame in customers()
            )
        return chunks(record, spec)

    def written(spec: TableSpec) -> bool:
        if spec in DECISION_TABLES:
            return False
        return bool(long) if spec is LONG else True

    return _write(target, specs, rows, written, run_id, table_prefix, lock_timeout)


_RUN_SETTINGS = (
    ("horizon", "horizon"),
    ("unit", "horizon_unit"),
    ("discount_rate", "discount_rate"),
    ("margin", "margin"),
)


def _check_same_run(
    predictions: CustomerPredictions, decisions: Decisions, ids: np.ndarray
) -> None:
    """Refuse decision tables of another run: their rows are exported under this run's
    id, beside its customers and its run record (horizon, discount rate, margin).

    Raises
    ------
    clvlab.ExportError
        The segments or groups cover other customers than the predictions, or the
        segments, groups or acquisition table were computed with another horizon, unit,
        discount rate or margin than the predictions.
    """
    run = predictions.run
    tables = {
        "segments": None if decisions.segments is None else decisions.segments.attrs,
        "groups": None if decisions.groups is None else {"clvlab": decisions.groups.settings},
        "acquisition": None if decisions.acquisition is None else decisions.acquisition.attrs,
    }
    fix = (
        "Compute the decisions with clvlab.decide on the same purchase and spend models, "
        "RFM table, horizon, unit, discount_rate and margin as the predictions (see "
        "predictions.run). Nothing was written."
    )
    for name, attrs in tables.items():
        meta = (attrs or {}).get("clvlab") or {}
        for key, run_key in _RUN_SETTINGS:
            if key in meta and meta[key] != run[run_key]:
                raise ExportError(
                    f"cannot export the {name} table with run {run['run_id']!r}: it was "
                    f"computed with {key}={meta[key]!r}, the predictions with "
                    f"{key}={run[run_key]!r}. {fix}"
                )
    if decisions.segments is not None:
        segment_ids = set(id_texts(decisions.segments.index))
        if segment_ids != set(ids):
            raise ExportError(
                f"cannot export the segments table with run {run['run_id']!r}: it holds "
                f"{len(segment_ids - set(ids)):,} customers the predictions do not and "
                f"lacks {len(set(ids) - segment_ids):,} of theirs. {fix}"
            )
    if decisions.groups is not None:
        grouped = int(decisions.groups.groups["customers"].sum())
        if grouped != len(ids):
            raise ExportError(
                f"cannot export the groups table with run {run['run_id']!r}: its groups "
                f"hold {grouped:,} customers, the predictions {len(ids):,}. {fix}"
            )


def read_export(
    target: str | os.PathLike[str],
    table: str = "customers",
    *,
    run_id: str | None = None,
    table_prefix: str = "clv",
) -> pd.DataFrame:
    """Read an exported table back, with the documented types.

    Parameters
    ----------
    target
        What was given to :func:`export`.
    table
        ``"customers"``, ``"runs"``, ``"parameters"`` or ``"long"``.
    run_id
        Only this run's rows; all runs when omitted.
    table_prefix
        As given to :func:`export` (SQL targets).

    Returns
    -------
    pandas.DataFrame
        The table's columns in order. Text columns hold ``str`` (object dtype), numbers
        are ``float64`` (counts ``int64``), dates (``as_of``, ``first_transaction``,
        ``calibration_end``, ``observation_end``) are ``datetime64[ns]`` at midnight
        with no time zone (``NaT`` where missing), and ``created_at`` is
        ``datetime64[ns, UTC]``; the same for every target.

    Raises
    ------
    clvlab.ExportError
        Unknown table, no such table at the target, or a target that cannot be read.
    """
    if table not in TABLES:
        raise ExportError(f"unknown table {table!r}; exported tables are {sorted(TABLES)}")
    spec = TABLES[table]
    if _is_url(target):
        frame = read_sql_table(str(target), f"{table_prefix}_{table}", run_id)
    else:
        path = table_path(Path(target), spec)
        if not path.is_file():
            raise ExportError(f"no exported {table} table at {path}")
        try:
            if _file_format(path) == "parquet":
                frame = pd.read_parquet(path)
            else:
                text = [c.name for c in spec.columns if c.kind == "text"]
                # Empty text is text; an empty number or date is missing.
                missing = {c.name: [""] for c in spec.columns if c.kind != "text"}
                frame = pd.read_csv(
                    path,
                    dtype=dict.fromkeys(text, str),
                    keep_default_na=False,
                    na_values=missing,
                    encoding="utf-8",
                )
        except (OSError, ValueError) as exc:
            raise ExportError(f"cannot read the {table} table {path}: {exc}") from exc
        missing_columns = [name for name in spec.names if name not in frame.columns]
        if missing_columns:
            raise ExportError(
                f"{path} is not clvlab's {table} table: it lacks the columns {missing_columns}"
            )
        if run_id is not None:
            frame = frame[frame["run_id"] == run_id].reset_index(drop=True)
    return typed(frame, spec, datetimes=True)
