"""SQL targets through SQLAlchemy: SQLite (the embedded default) and PostgreSQL.

All tables of one export are written in one transaction: the tables are created if they
do not exist (DDL is transactional in both databases), the run's earlier rows are
deleted, and the new rows are inserted in chunks. Readers see the previous state until
the commit; an error or a killed process rolls everything back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from clvlab._imports import import_quietly
from clvlab.errors import ExportError
from clvlab.export.schema import TableSpec

__all__ = ["read_sql_table", "safe_url", "write_sql"]


def _sa() -> Any:
    return import_quietly("sqlalchemy")


def _types() -> dict[str, Any]:
    sa = _sa()
    return {
        "text": sa.Text(),
        "float": sa.Double(),
        "int": sa.BigInteger(),
        "date": sa.Date(),
        "timestamp": sa.DateTime(timezone=True),
    }


def _kind(sql_type: Any) -> str:
    sa = _sa()
    for kind, cls in (
        ("timestamp", sa.DateTime),
        ("date", sa.Date),
        ("int", sa.Integer),
        ("float", sa.Numeric),  # Float, Double and REAL derive from Numeric
        ("text", sa.String),
    ):
        if isinstance(sql_type, cls):
            return kind
    # SQLite reflects some declared types (e.g. DOUBLE) without a type class.
    name = str(sql_type).upper()
    if any(word in name for word in ("DOUBLE", "REAL", "FLOAT")):
        return "float"
    return name


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return str(_sa().engine.make_url(url).render_as_string(hide_password=True))
    except Exception:  # an unparseable URL is reported as given, minus credentials
        return url.split("@")[-1]


def _engine(url: str) -> Any:
    sa = _sa()
    try:
        parsed = sa.engine.make_url(url)
        if parsed.drivername == "postgresql":  # clvlab ships psycopg 3, not psycopg2
            parsed = parsed.set(drivername="postgresql+psycopg")
        connect_args = {"connect_timeout": 10} if parsed.get_backend_name() == "postgresql" else {}
        return sa.create_engine(parsed, connect_args=connect_args)
    except sa.exc.NoSuchModuleError as exc:
        raise ExportError(f"no SQLAlchemy dialect for {safe_url(url)}: {exc}") from exc
    except ModuleNotFoundError as exc:
        raise ExportError(
            f"the database driver for {safe_url(url)} is not installed ({exc.name}); for "
            "PostgreSQL install clvlab[postgres]"
        ) from exc
    except sa.exc.ArgumentError as exc:
        raise ExportError(f"not a database URL: {safe_url(url)} ({exc})") from exc


def _sql_table(metadata: Any, name: str, spec: TableSpec) -> Any:
    sa = _sa()
    types = _types()
    return sa.Table(name, metadata, *(sa.Column(c.name, types[c.kind]) for c in spec.columns))


def _check_existing(inspector: Any, name: str, spec: TableSpec) -> None:
    found = [(c["name"], _kind(c["type"])) for c in inspector.get_columns(name)]
    expected = [(c.name, c.kind) for c in spec.columns]
    if found != expected:
        raise ExportError(
            f"table {name!r} exists with a different schema than clvlab's {spec.name} table "
            f"(found {found}, expected {expected}); drop or rename it, or use another "
            "table_prefix. Nothing was written."
        )


def write_sql(
    url: str,
    tables: Mapping[str, TableSpec],
    frames: Callable[[TableSpec], Iterable[pd.DataFrame]],
    run_id: str,
) -> None:
    """Write each ``tables[name]`` (SQL name -> spec) with ``frames(spec)``, in one
    transaction, replacing ``run_id``'s earlier rows."""
    sa = _sa()
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            inspector = sa.inspect(conn)
            metadata = sa.MetaData()
            for name, spec in tables.items():
                table = _sql_table(metadata, name, spec)
                if inspector.has_table(name):
                    _check_existing(inspector, name, spec)
                else:
                    table.create(conn)
                conn.execute(table.delete().where(table.c.run_id == run_id))
                for frame in frames(spec):
                    conn.execute(table.insert(), frame.to_dict("records"))
    except ExportError:
        raise
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise ExportError(
            f"cannot write to {safe_url(url)}: {reason}. Nothing was written: earlier "
            "exports there are unchanged."
        ) from exc
    finally:
        engine.dispose()


def read_sql_table(url: str, name: str, run_id: str | None = None) -> pd.DataFrame:
    """Read an exported table back (optionally one run's rows)."""
    sa = _sa()
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            query = sa.select(table)
            if run_id is not None:
                query = query.where(table.c.run_id == run_id)
            result = conn.execute(query)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    except sa.exc.SQLAlchemyError as exc:
        raise ExportError(f"cannot read {name} from {safe_url(url)}: {exc}") from exc
    finally:
        engine.dispose()
