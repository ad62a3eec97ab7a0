"""SQL targets through SQLAlchemy: SQLite (the embedded default) and PostgreSQL.

All tables of one export are written in one transaction: the tables are created if they
do not exist (DDL is transactional in both databases), the run's earlier rows are
deleted, and the new rows are inserted in chunks. Readers see the previous state until
the commit; an error or a killed process rolls everything back.

Database URLs are parsed by :func:`parse_url` before any connection, and never appear
in a message with their secrets: :func:`safe_url` masks the password and every query
parameter whose name looks secret (``password``, ``sslpassword``, ``token``, ...), and
the text of driver errors is scrubbed of those values too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from clvlab._imports import import_quietly
from clvlab.errors import ExportError
from clvlab.export.schema import TableSpec

__all__ = ["check_connection", "parse_url", "read_sql_table", "safe_url", "write_sql"]


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


# What SQLAlchemy's URL parser takes as user, password, host and port; used to find the
# mistakes it would parse wrongly (a raw "@" in a password) or reject with a ValueError.
_URL_PARTS = re.compile(
    r"(?P<scheme>[\w+]+)://"
    r"(?P<auth>(?P<user>[^:/]*)(?::(?P<password>[^@]*))?@)?"
    r"(?:\[(?P<ipv6>[^/?]+)\]|(?P<host>[^/:?]+))?"
    r"(?::(?P<port>[^/?]*))?"
)
_SECRET_KEY = re.compile(r"pass|pwd|secret|token|auth|credential|api_?key|private", re.IGNORECASE)
_MASK = "***"


def _scheme(url: str) -> str:
    found = re.match(r"[\w+]+(?=://)", url)
    return found.group(0) if found else "database"


def parse_url(url: str) -> Any:
    """The SQLAlchemy URL of ``url``, checked before any connection is tried.

    Raises
    ------
    ExportError
        The URL cannot be parsed, has a port outside 1-65535, or has a raw ``@`` inside
        its password (which would send the part after it to the server as the host
        name). The messages never show the password.
    """
    sa = _sa()
    scheme = _scheme(url)
    parts = _URL_PARTS.match(url)
    if parts is None:
        raise ExportError(
            f"not a database URL ({scheme}://..., not shown: it may hold a password); "
            "write it as dialect://user:password@host:port/database, e.g. "
            "sqlite:///clv.db or postgresql://user:password@localhost:5432/analytics"
        )
    host, port = parts["host"] or parts["ipv6"] or "", parts["port"]
    if parts["auth"] is not None and "@" in url[parts.end("auth") :]:
        # "user:p@ss@host" would send "ss@host" to the server as its host name
        raise ExportError(
            f"the {scheme} URL has an '@' after its user:password@ part: an '@' (or ':', "
            "'/', '?', '#') in the password must be percent-encoded, e.g. "
            f"urllib.parse.quote(password, safe='') turns '@' into {quote('@', safe='')}; "
            "so must an '@' in a query value. The URL is not shown because it holds the "
            "password."
        )
    if port is not None:
        if not (port.isascii() and port.isdigit()):
            raise ExportError(
                f"the port of the {scheme} URL (after host {host!r}) is empty or not a number; "
                "write host:port with a port from 1 to 65535 (e.g. localhost:5432), or "
                "leave ':port' out for the default. (The value is not shown: in a URL "
                "that lacks its '@host' part it would be the password.)"
            )
        if not 1 <= int(port) <= 65535:
            raise ExportError(
                f"the port of the {scheme} URL must be from 1 to 65535, got {int(port)}; "
                "PostgreSQL listens on 5432 by default"
            )
    try:
        return sa.engine.make_url(url)
    except (sa.exc.ArgumentError, ValueError):
        raise ExportError(
            f"not a database URL ({scheme}://..., not shown: it may hold a password); "
            "write it as dialect://user:password@host:port/database, e.g. "
            "sqlite:///clv.db or postgresql://user:password@localhost:5432/analytics"
        ) from None


def _secret_query(parsed: Any) -> dict[str, Any]:
    return {key: value for key, value in parsed.query.items() if _SECRET_KEY.search(key)}


def safe_url(url: str) -> str:
    """The URL for messages: its password and secret query values shown as ``***``.

    Examples
    --------
    >>> safe_url("postgresql://u:pw@db:5432/x?sslmode=require&password=pw2")
    'postgresql://u:***@db:5432/x?password=***&sslmode=require'
    """
    try:
        parsed = parse_url(url)
    except ExportError:  # unparseable: show nothing that could be a secret
        return f"{_scheme(url)}://{_MASK}" if "://" in url else _MASK
    if parsed.password is not None:
        parsed = parsed.set(password=_MASK)
    secret = _secret_query(parsed)
    if secret:
        parsed = parsed.update_query_dict(dict.fromkeys(secret, _MASK))
    text = str(parsed.render_as_string(hide_password=False))
    return text.replace(quote(_MASK, safe=""), _MASK)


def _scrub(text: str, url: str) -> str:
    """``text`` (a driver's error message) without the secrets of ``url``."""
    secrets: list[str] = []
    try:
        parsed = parse_url(url)
    except ExportError:
        return text.replace(url, safe_url(url))
    if parsed.password:
        secrets.append(str(parsed.password))
    for value in _secret_query(parsed).values():
        secrets.extend([value] if isinstance(value, str) else list(value))
    text = text.replace(url, safe_url(url))
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 3:
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                text = text.replace(form, _MASK)
    return text


def _engine(url: str) -> Any:
    sa = _sa()
    parsed = parse_url(url)
    try:
        if parsed.drivername == "postgresql":  # clvlab ships psycopg 3, not psycopg2
            parsed = parsed.set(drivername="postgresql+psycopg")
        connect_args = {"connect_timeout": 10} if parsed.get_backend_name() == "postgresql" else {}
        return sa.create_engine(parsed, connect_args=connect_args)
    except sa.exc.NoSuchModuleError:
        raise ExportError(
            f"no SQLAlchemy dialect for {safe_url(url)}: use sqlite:///path.db or "
            "postgresql://user:password@host:port/database"
        ) from None
    except ModuleNotFoundError as exc:
        raise ExportError(
            f"the database driver for {safe_url(url)} is not installed ({exc.name}); for "
            "PostgreSQL install clvlab[postgres]"
        ) from exc
    except (sa.exc.ArgumentError, TypeError, ValueError) as exc:
        raise ExportError(
            f"not a usable database URL: {safe_url(url)} ({_scrub(str(exc), url)})"
        ) from None


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


def check_connection(url: str) -> None:
    """Open a connection to ``url``, list its tables and close it, without creating
    anything: an SQLite file that does not exist yet is not created (only its folder is
    checked), since the export creates it.

    Raises
    ------
    ExportError
        The URL, the driver, the server, the database or the credentials would fail; the
        message hides the password.
    """
    from clvlab.export.files import check_writable_folder

    sa = _sa()
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:":
            return
        path = Path(database)
        if not path.parent.is_dir():
            raise ExportError(
                f"cannot export to {safe_url(url)}: the folder {path.parent} does not exist; "
                "create it first. Nothing was written."
            )
        check_writable_folder(path.parent, f"to {safe_url(url)}")
        if not path.exists():
            return  # SQLite creates the file at the export; do not create it before
    engine = _engine(url)
    try:
        with engine.connect() as conn:  # listing the tables reads the database itself
            sa.inspect(conn).get_table_names()
    except sa.exc.SQLAlchemyError as exc:
        raise ExportError(
            f"cannot connect to {safe_url(url)}: {_reason(exc, url)}. Check the host, port, "
            "database name, user and password (a password with '@', ':' or '/' must be "
            "percent-encoded), and that the server is running. Nothing was written."
        ) from None
    finally:
        engine.dispose()


def write_sql(
    url: str,
    tables: Mapping[str, TableSpec],
    frames: Callable[[TableSpec], Iterable[pd.DataFrame]],
    run_id: str,
    *,
    clear: Mapping[str, TableSpec] | None = None,
) -> None:
    """Write each ``tables[name]`` (SQL name -> spec) with ``frames(spec)``, in one
    transaction, replacing ``run_id``'s earlier rows.

    ``clear`` names tables from which ``run_id``'s rows are only removed, if they exist
    with clvlab's schema (the long table of an export without ``long=True``).
    """
    sa = _sa()
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            inspector = sa.inspect(conn)
            metadata = sa.MetaData()
            for name, spec in (clear or {}).items():
                if inspector.has_table(name):
                    try:
                        _check_existing(inspector, name, spec)
                    except ExportError:
                        continue  # not clvlab's table: not ours to change
                    table = _sql_table(metadata, name, spec)
                    conn.execute(table.delete().where(table.c.run_id == run_id))
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
        reason = _reason(exc, url)
        raise ExportError(
            f"cannot write to {safe_url(url)}: {reason}. Nothing was written: earlier "
            "exports there are unchanged."
        ) from None
    finally:
        engine.dispose()


def _reason(exc: Exception, url: str) -> str:
    """The first line of a database error, without the URL's secrets."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return _scrub(lines[0] if lines else type(exc).__name__, url)


def read_sql_table(url: str, name: str, run_id: str | None = None) -> pd.DataFrame:
    """Read an exported table back (optionally one run's rows)."""
    sa = _sa()
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(name):
                raise ExportError(
                    f"no table {name!r} at {safe_url(url)}: export there first, or check "
                    "table_prefix"
                )
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            query = sa.select(table)
            if run_id is not None:
                query = query.where(table.c.run_id == run_id)
            result = conn.execute(query)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    except sa.exc.SQLAlchemyError as exc:
        raise ExportError(f"cannot read {name} from {safe_url(url)}: {_reason(exc, url)}") from None
    finally:
        engine.dispose()
