"""Validation of transaction logs, and how their dates are read.

A transaction log has one row per purchase: a customer id, a date and optionally a
monetary value. :func:`validate_transactions` checks every documented rule and returns
clean NumPy columns; the caller's DataFrame is never modified.

Dates are read at day resolution (``datetime64[D]``), one convention per column:

* **datetime columns** of any resolution (``datetime64[s]``, ``[ms]``, ``[us]``, ``[ns]``)
  are used as they are. A time-zone-aware column is converted to UTC first, so the day
  of a purchase is its **UTC day** (convert the column with ``.dt.tz_localize(None)``
  beforehand to count local days instead).
* **text** is read as ISO 8601 (``2020-01-05``, with or without a time) when the column
  is written so; otherwise with ``datetime_format=`` when given; otherwise one format is
  inferred for the whole column. Day-first and month-first readings are never mixed:
  when every value reads both ways and the readings differ (``01/02/2020``), the column
  is refused until ``dayfirst=`` or ``datetime_format=`` says which; when one reading
  fits every value (``13/02/2020`` can only be day-first), it is used for all. Text with
  time-zone offsets is converted to UTC, then to the day, also when the offsets differ.
* **numbers** need a stated meaning: ``datetime_format="%Y%m%d"`` for ``20200105``, or
  ``date_unit="s"`` (``"ms"``, ``"us"``, ``"ns"``, ``"D"``) for counts since
  1970-01-01 UTC. Without one they are refused, never read as nanoseconds.

Days are never converted through nanoseconds, so no date wraps around (9999-12-31 and
1500-01-01 stay themselves in every representation: text, ``datetime``, ``datetime64[s]``
...). The supported days are those of pandas' nanosecond range, 1677-09-22 to
2262-04-11, because exported dates are read back as ``datetime64[ns]``
(:func:`clvlab.read_export`); a date outside it (a sentinel such as 9999-12-31, a typo
such as 1020-05-01) breaks the row rule "date is outside the supported range", which
names the rows and values and can be dropped with ``invalid="drop"``.
"""

from __future__ import annotations

import datetime as dt
import numbers
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from clvlab.data.ids import id_texts
from clvlab.data.validation import (
    InvalidPolicy,
    Validator,
    require_columns,
    require_nonempty,
)
from clvlab.errors import ArgumentError, DataValidationError

__all__ = [
    "DATE_UNITS",
    "FIRST_DAY",
    "LAST_DAY",
    "ParsedDates",
    "TransactionColumns",
    "day_month_readings",
    "parse_dates",
    "parse_day",
    "validate_transactions",
]

DateUnit = Literal["D", "s", "ms", "us", "ns"]
#: Length of a day in each unit that ``date_unit=`` accepts.
DATE_UNITS: dict[str, int] = {
    "D": 1,
    "s": 86_400,
    "ms": 86_400_000,
    "us": 86_400_000_000,
    "ns": 86_400_000_000_000,
}
#: The days clvlab handles: whole days inside pandas' nanosecond range, which exports
#: are read back in (``pandas.Timestamp.min`` is 1677-09-21 00:12:43, so that day is out).
FIRST_DAY = np.datetime64("1677-09-22", "D")
LAST_DAY = np.datetime64("2262-04-11", "D")

# day and month as the first two numeric fields, then a 2- or 4-digit year: 01/02/2020
_DAY_MONTH = r"^\s*(\d{1,2})([./\- ])(\d{1,2})\2(\d{4}|\d{2})(?!\d)"
# a time followed by a UTC offset or zone name: 10:00+01:00, 10:00:00Z, 10:00 UTC
_OFFSET = re.compile(
    r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:z|utc|gmt|[+-]\d{2}(?::?\d{2})?)\s*$", re.IGNORECASE
)
_UNIT_HINT = (
    "date_unit= with their unit since 1970-01-01 UTC: 's' (seconds), 'ms', 'us', 'ns' or 'D' (days)"
)


@dataclass
class TransactionColumns:
    """Validated columns of a transaction log, as NumPy arrays of equal length.

    Attributes
    ----------
    ids
        Customer ids (any hashable dtype).
    days
        Purchase dates at day resolution, as ``datetime64[D]``.
    values
        Monetary values (float64), or ``None`` when no monetary column was given.
    observation_end
        The last day of observation (inclusive).
    dropped
        Rows dropped per rule when ``invalid="drop"`` was requested.
    date_convention
        How the date column was read (``"ISO 8601"``, ``"format '%d/%m/%Y' ..."``).
    """

    ids: np.ndarray
    days: np.ndarray
    values: np.ndarray | None
    observation_end: np.datetime64
    dropped: dict[str, int] = field(default_factory=dict)
    date_convention: str = ""


@dataclass(frozen=True)
class ParsedDates:
    """A date column read at day resolution.

    Attributes
    ----------
    days
        ``datetime64[D]``; NaT where the value is null, cannot be read or is out of range.
    out_of_range
        Rows whose day is outside ``FIRST_DAY .. LAST_DAY``.
    convention
        How the column was read, for messages.
    """

    days: np.ndarray
    out_of_range: np.ndarray
    convention: str


def check_date_options(
    datetime_format: object, dayfirst: object, date_unit: object
) -> tuple[str | None, bool | None, str | None]:
    """Validate ``datetime_format``, ``dayfirst`` and ``date_unit`` (see
    :func:`validate_transactions`); raise :class:`~clvlab.errors.ArgumentError`."""
    if datetime_format is not None:
        if not isinstance(datetime_format, str) or not datetime_format.strip():
            raise ArgumentError(
                f"datetime_format must be a format string such as '%d/%m/%Y', got "
                f"{datetime_format!r}"
            )
        if datetime_format.strip().lower() == "mixed":
            raise ArgumentError(
                "datetime_format='mixed' reads every value on its own, so one column can "
                "mix day-first and month-first dates; pass the column's one format, such "
                "as datetime_format='%d/%m/%Y', or dayfirst=True/False"
            )
    if dayfirst is not None and not isinstance(dayfirst, bool | np.bool_):
        raise ArgumentError(f"dayfirst must be True, False or None, got {dayfirst!r}")
    if date_unit is not None and date_unit not in DATE_UNITS:
        raise ArgumentError(
            f"date_unit must be one of {sorted(DATE_UNITS)} (the unit of numbers counted "
            f"from 1970-01-01 UTC), got {date_unit!r}"
        )
    if date_unit is not None and datetime_format is not None:
        raise ArgumentError(
            "pass datetime_format= (dates written as text or as numbers like 20200105) or "
            "date_unit= (numbers counted from 1970-01-01), not both"
        )
    return (
        datetime_format,
        None if dayfirst is None else bool(dayfirst),
        None if date_unit is None else str(date_unit),
    )


def parse_dates(
    column: pd.Series,
    name: str,
    *,
    datetime_format: str | None = None,
    dayfirst: bool | None = None,
    date_unit: str | None = None,
) -> ParsedDates:
    """Read a date column at day resolution, one convention for the whole column.

    See the module docstring for the rules. Column-wide problems (ambiguous day/month
    order, numbers without a unit, offsets on some values only) raise
    :class:`~clvlab.errors.DataValidationError`; values that cannot be read under the
    column's convention come back as NaT, for the caller's row rules.

    Examples
    --------
    >>> parse_dates(pd.Series(["13/02/2020", "01/03/2020"]), "date").days
    array(['2020-02-13', '2020-03-01'], dtype='datetime64[D]')
    >>> parse_dates(pd.Series([20200105]), "date", datetime_format="%Y%m%d").days
    array(['2020-01-05'], dtype='datetime64[D]')
    """
    datetime_format, dayfirst, date_unit = check_date_options(datetime_format, dayfirst, date_unit)
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        column = column.astype(object)
        dtype = column.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        days = _timestamps_to_days(column)
        convention = "datetime values" + (" (UTC day)" if _is_aware(column) else "")
    elif pd.api.types.is_bool_dtype(dtype):
        raise DataValidationError(
            name,
            "dates are booleans (True/False), not dates",
            hint="pass the column that holds the purchase dates",
        )
    elif isinstance(dtype, pd.PeriodDtype):
        raise DataValidationError(
            name,
            "dates are pandas Periods, not dates",
            hint="convert them first, e.g. log[column].dt.start_time or .dt.to_timestamp()",
        )
    elif pd.api.types.is_timedelta64_dtype(dtype):
        raise DataValidationError(
            name,
            "dates are time spans (timedelta), not dates",
            hint="add them to their start date first, e.g. start + log[column]",
        )
    elif pd.api.types.is_numeric_dtype(dtype):
        days, convention = _numeric_dates(column, name, datetime_format, date_unit)
    else:
        days, convention = _object_dates(column, name, datetime_format, dayfirst, date_unit)
    out_of_range = ~np.isnat(days) & ((days < FIRST_DAY) | (days > LAST_DAY))
    if out_of_range.any():
        days = np.where(out_of_range, np.datetime64("NaT", "D"), days)
    return ParsedDates(days=days, out_of_range=out_of_range, convention=convention)


def parse_day(
    value: object,
    name: str,
    *,
    datetime_format: str | None = None,
    dayfirst: bool | None = None,
) -> np.datetime64:
    """One day given as an argument (``observation_end``, ``calibration_end``).

    Accepts text (ISO 8601, or the column's ``datetime_format`` / ``dayfirst``; an
    ambiguous text such as ``"01/02/2020"`` needs one of them), ``datetime.date``,
    ``datetime.datetime`` and ``pandas.Timestamp`` (aware ones give their UTC day) and
    ``numpy.datetime64``. Numbers are refused: they are not dates.

    Examples
    --------
    >>> parse_day("2020-12-31T23:00-05:00", "observation_end")  # the UTC day
    np.datetime64('2021-01-01')
    """
    hint = "pass a date such as '2020-12-31', a datetime.date or a numpy.datetime64"
    if value is None or isinstance(value, bool | np.bool_ | numbers.Number):
        raise DataValidationError(
            name, f"must be a date, got {value!r} ({type(value).__name__})", hint=hint
        )
    if isinstance(value, np.datetime64):
        day = value.astype("datetime64[D]")
    elif isinstance(value, str | dt.date):
        series = pd.Series([value], dtype=object)
        if datetime_format is None:
            parsed = parse_dates(series, name, dayfirst=dayfirst)
        else:  # ISO 8601, else the column's format
            parsed = parse_dates(series, name, datetime_format="ISO8601")
            if np.isnat(parsed.days[0]) and not parsed.out_of_range[0]:
                parsed = parse_dates(series, name, datetime_format=datetime_format)
        if parsed.out_of_range[0]:
            raise DataValidationError(
                name, f"{value} is outside the supported range {FIRST_DAY} to {LAST_DAY}"
            )
        day = parsed.days[0]
    else:
        raise DataValidationError(
            name, f"must be a date, got {value!r} ({type(value).__name__})", hint=hint
        )
    if np.isnat(day):
        if isinstance(value, np.datetime64) and not np.isnat(value):
            raise DataValidationError(
                name, f"{value} is outside the supported range {FIRST_DAY} to {LAST_DAY}"
            )
        raise DataValidationError(name, f"cannot be parsed as a date: {value!r}", hint=hint)
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DataValidationError(
            name, f"{day} is outside the supported range {FIRST_DAY} to {LAST_DAY}"
        )
    return np.datetime64(day, "D")


# --- datetime values ---------------------------------------------------------------------


def _is_aware(parsed: pd.Series) -> bool:
    return getattr(parsed.dt, "tz", None) is not None


def _timestamps_to_days(parsed: pd.Series) -> np.ndarray:
    """``datetime64[D]`` days of a datetime Series; aware values give their UTC day.

    The values keep their own resolution until the cast to days (never through
    nanoseconds), so no date wraps around.
    """
    if _is_aware(parsed):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return np.asarray(parsed.to_numpy()).astype("datetime64[D]")


# --- numbers -----------------------------------------------------------------------------


def _numeric_dates(
    column: pd.Series, name: str, datetime_format: str | None, date_unit: str | None
) -> tuple[np.ndarray, str]:
    notnull = column.notna().to_numpy()
    if not notnull.any():
        return np.full(len(column), np.datetime64("NaT", "D")), "numbers"
    if date_unit is not None:
        return _epoch_days(column, date_unit), f"numbers of {_unit_name(date_unit)} since 1970"
    if datetime_format is not None:
        text = pd.Series(None, index=column.index, dtype=object)
        text[notnull] = id_texts(column.to_numpy()[notnull])
        parsed = _text_timestamps(text, name, datetime_format)
        return _timestamps_to_days(parsed), f"numbers read as text with format {datetime_format!r}"
    _refuse_numbers(column[notnull], name)


def _unit_name(unit: str) -> str:
    return {"D": "days", "s": "seconds"}.get(unit, unit)


def _epoch_days(column: pd.Series, unit: str) -> np.ndarray:
    """Days since 1970-01-01 (floored) of numbers in ``unit``; NaT where null or not
    finite. Integers are divided exactly; huge values give days outside the range."""
    per_day = DATE_UNITS[unit]
    dtype: Any = column.dtype
    kind = np.dtype(getattr(dtype, "numpy_dtype", dtype))
    null = column.isna().to_numpy()
    if kind.kind in "iu":
        raw = column.to_numpy(dtype=kind, na_value=0) if null.any() else column.to_numpy()
        raw = np.asarray(raw, dtype=kind)
        if kind.kind == "u":
            day = (raw // np.uint64(per_day)).astype(np.int64)
        else:
            day = np.floor_divide(raw.astype(np.int64), per_day)
        valid = ~null
    else:
        raw = np.asarray(column.to_numpy(dtype=float, na_value=np.nan), dtype=float)
        with np.errstate(invalid="ignore", over="ignore"):
            whole = np.floor(raw / per_day)
        valid = np.isfinite(whole)
        # clip before the cast: far-away values are flagged out of range, not wrapped
        lo, hi = _day_number(FIRST_DAY) - 1, _day_number(LAST_DAY) + 1
        day = np.clip(np.where(valid, whole, 0.0), lo, hi).astype(np.int64)
    days = day.astype("datetime64[D]")
    days[~valid] = np.datetime64("NaT")
    return days


def _day_number(day: np.datetime64) -> int:
    return int(day.astype(np.int64))


def _refuse_numbers(values: pd.Series, name: str) -> NoReturn:
    """Raise for numeric dates whose meaning is not stated, with the likely fix first."""
    sample = pd.to_numeric(values.iloc[:1000], errors="coerce").to_numpy(dtype=float)
    sample = sample[np.isfinite(sample)]
    whole = sample == np.round(sample)
    month, day = (sample // 100) % 100, sample % 100
    yyyymmdd = bool(
        len(sample)
        and np.all(whole & (sample >= 1_000_101) & (sample <= 99_991_231))
        and np.all((month >= 1) & (month <= 12) & (day >= 1) & (day <= 31))
    )
    typical = float(np.median(np.abs(sample))) if len(sample) else 0.0
    likely = next(
        (u for u, top in (("D", 4e6), ("s", 4e11), ("ms", 4e14), ("us", 4e17)) if typical < top),
        "ns",
    )
    format_fix = "datetime_format='%Y%m%d' if they are dates written as yyyymmdd"
    unit_fix = _UNIT_HINT + ("" if yyyymmdd else f"; these look like date_unit={likely!r}")
    fixes = [format_fix, unit_fix] if yyyymmdd else [unit_fix, format_fix]
    raise DataValidationError(
        name,
        f"dates are numbers ({values.dtype}) and their meaning is not stated; they are "
        "not read as nanoseconds since 1970",
        len(values),
        example_values=pd.unique(values.to_numpy())[:3],
        hint="Pass " + ", or ".join(fixes),
    )


# --- text and other objects --------------------------------------------------------------


def _object_dates(
    column: pd.Series,
    name: str,
    datetime_format: str | None,
    dayfirst: bool | None,
    date_unit: str | None,
) -> tuple[np.ndarray, str]:
    if date_unit is not None:
        # numbers stored as text (or objects): read as numbers; anything else is NaT
        as_numbers = pd.to_numeric(column, errors="coerce")
        if not pd.api.types.is_numeric_dtype(as_numbers.dtype):  # Decimal objects
            as_numbers = as_numbers.astype(float)
        how = f"numbers of {_unit_name(date_unit)} since 1970"
        return _epoch_days(as_numbers, date_unit), how
    kind = pd.api.types.infer_dtype(column, skipna=True)
    if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
        return _numeric_dates(pd.to_numeric(column, errors="coerce"), name, datetime_format, None)
    if kind == "boolean":
        raise DataValidationError(name, "dates are booleans (True/False), not dates")
    text = column
    if kind in ("mixed", "mixed-integer"):
        number = column.map(_is_number).to_numpy(dtype=bool)
        if number.any():
            if datetime_format is None:
                raise DataValidationError(
                    name,
                    "the column mixes numbers and text, so no single date convention fits it",
                    int(number.sum()),
                    example_values=[*column[number].iloc[:2], *column[~number].dropna().iloc[:2]],
                    hint="Convert it to one type first: text dates of one format, or "
                    "numbers read with datetime_format='%Y%m%d' or date_unit=",
                )
            text = column.astype(object).copy()
            text[number] = id_texts(column[number].to_numpy())
    utc = False
    if kind in ("datetime", "mixed"):
        # datetime objects carry their own zone: all aware (converted to UTC) or none
        utc = _refuse_partial_offsets(text, name)
    if datetime_format is not None:
        parsed = _text_timestamps(text, name, datetime_format, utc=utc)
        return _timestamps_to_days(parsed), f"format {datetime_format!r}"
    parsed = _text_timestamps(text, name, "ISO8601", utc=utc)
    notnull = text.notna().to_numpy()
    failed = int((parsed.isna().to_numpy() & notnull).sum())
    if failed == 0 or int(notnull.sum()) - failed >= failed:
        # every value, or most of them, are ISO 8601: that is the column's convention
        how = "ISO 8601 (YYYY-MM-DD)" + (" (UTC day)" if _is_aware(parsed) else "")
        return _timestamps_to_days(parsed), how
    if kind == "string":  # stray spaces do not change a date
        text = text.str.strip()
    fmt, how = _infer_format(text[notnull], name, dayfirst)
    parsed = _text_timestamps(text, name, fmt, utc=utc)
    return _timestamps_to_days(parsed), how


def _is_number(value: Any) -> bool:
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Number):
        return False
    return not (isinstance(value, float | np.floating) and np.isnan(value))


def _text_timestamps(text: pd.Series, name: str, fmt: str, *, utc: bool = False) -> pd.Series:
    """``pandas.to_datetime`` with one format for every value; values that do not match
    become NaT. Differing UTC offsets are converted to UTC; offsets on some values only
    are refused."""
    try:
        return pd.to_datetime(text, format=fmt, errors="coerce", utc=utc)
    except (ValueError, TypeError, OverflowError) as exc:
        if "timezone" not in str(exc).lower() and "tz-" not in str(exc).lower():
            raise _unreadable(name, fmt, exc) from exc
    _refuse_partial_offsets(text, name)
    try:
        return pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
    except (ValueError, TypeError, OverflowError) as exc:
        raise _unreadable(name, fmt, exc) from exc


def _unreadable(name: str, fmt: str, exc: Exception) -> DataValidationError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return DataValidationError(
        name,
        f"dates cannot be read with format {fmt!r}: {reason}",
        hint="pass datetime_format= with the format of the column, or convert the column "
        "with pandas.to_datetime first",
    )


def _refuse_partial_offsets(text: pd.Series, name: str) -> bool:
    """Raise if some values carry a UTC offset and others do not; return whether any
    does (datetime objects by their ``tzinfo``, text by a trailing offset)."""
    values = pd.unique(text.dropna().to_numpy(dtype=object))
    aware = np.array([_has_offset(v) for v in values], dtype=bool)
    if aware.all() or not aware.any():
        return bool(aware.any())
    naive_rows = int(text.isin(values[~aware]).sum())
    raise DataValidationError(
        name,
        "some dates carry a time-zone offset and others do not, so the day of the others "
        "is unknown",
        naive_rows,
        example_values=[values[aware][0], values[~aware][0]],
        hint="Write every date with its offset, or none; if the dates without one are UTC, "
        "convert the column first with pandas.to_datetime(..., format='ISO8601', utc=True)",
    )


def _has_offset(value: Any) -> bool:
    if isinstance(value, dt.datetime):
        return value.tzinfo is not None
    return isinstance(value, str) and _OFFSET.search(value) is not None


def _infer_format(text: pd.Series, name: str, dayfirst: bool | None) -> tuple[str, str]:
    """One strptime format for every value of a non-ISO text column, and a description.

    The format comes from the first value it can be inferred from. When that value
    writes day and month as numbers (``01/02/2020``), the order is ``dayfirst`` when
    given, else the only order that fits every such value of the column; if both fit
    and the readings differ, the column is ambiguous and refused.
    """
    uniques = pd.unique(text.astype(str).to_numpy(dtype=object))
    order_how = "given by dayfirst"
    for value in uniques[:100]:
        match = re.match(_DAY_MONTH, value)
        if match is None:
            fmt = _guess(value)
            if fmt is not None:
                return fmt, f"format {fmt!r} (inferred from {value!r})"
            continue
        # Day and month as numbers: the date part is built here, never guessed, so the
        # order is the column's; only a trailing time is inferred.
        time_fmt = _time_format(value[match.end() :])
        if time_fmt is None:
            continue
        if dayfirst is None:
            dayfirst, order_how = _day_month_order(pd.Series(uniques, dtype=object), text, name)
        sep, year = match.group(2), "%Y" if len(match.group(4)) == 4 else "%y"
        fmt = (f"%d{sep}%m" if dayfirst else f"%m{sep}%d") + f"{sep}{year}{time_fmt}"
        order = "day-first" if dayfirst else "month-first"
        return fmt, f"format {fmt!r} ({order}, {order_how})"
    raise DataValidationError(
        name,
        "dates are neither ISO 8601 (YYYY-MM-DD) nor in a format that can be inferred",
        len(text),
        example_values=uniques[:3],
        hint="Pass datetime_format= with the column's format, e.g. "
        "datetime_format='%d %B %Y' for '5 January 2020' (Python strftime codes)",
    )


def _guess(value: str) -> str | None:
    """pandas' guess of one value's format, when it cannot mix up day and month.

    A guess that writes day and month as numbers is kept only year-first as
    year-month-day (``%Y-%m-%d``, ``%Y%m%d``); other numeric orders are decided from the
    whole column (:func:`_day_month_order`) or given by the user, never guessed.
    """
    with warnings.catch_warnings():
        # pandas warns when it guesses a day-first order; such guesses are discarded below
        warnings.filterwarnings("ignore", "Parsing dates in", UserWarning)
        fmt = guess_datetime_format(value)
    if fmt is None or "%d" not in fmt or "%m" not in fmt:
        return fmt
    if fmt.startswith("%Y") and fmt.index("%m") < fmt.index("%d"):
        return fmt
    return None


def _time_format(rest: str) -> str | None:
    """The strptime format of what follows a date (``" 10:30"``), or None."""
    if not rest.strip():
        return ""
    guessed = _guess("2000-01-01" + rest)
    if guessed is None or not guessed.startswith("%Y-%m-%d"):
        return None
    return guessed[len("%Y-%m-%d") :]


def day_month_readings(
    values: pd.Series,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """How texts that start with two numbers (``01/02/2020``, ``13.02.2020``) read.

    Returns which texts start so (``numeric``, one flag per text), and for those the
    first and second numbers ``a`` and ``b`` and whether they make a valid day and month
    read day-first (``as_dm``) and month-first (``as_md``). The pandas summary decides a
    whole column on these (:func:`_day_month_order`), and the Spark one merges them
    across partitions (:func:`clvlab.spark._batches.day_month_kinds`).
    """
    parts = values.str.extract(_DAY_MONTH)
    numeric = parts[0].notna().to_numpy()
    a = parts[0][numeric].astype(int).to_numpy()
    b = parts[2][numeric].astype(int).to_numpy()
    as_dm = (b >= 1) & (b <= 12) & (a >= 1) & (a <= 31)
    as_md = (a >= 1) & (a <= 12) & (b >= 1) & (b <= 31)
    return numeric, a, b, as_dm, as_md


def _day_month_order(uniques: pd.Series, text: pd.Series, name: str) -> tuple[bool, str]:
    """``dayfirst`` for a column whose dates start with two numbers, from the column as a
    whole: the one order under which every value is a valid day and month."""
    numeric, a, b, as_dm, as_md = day_month_readings(uniques)
    values = uniques[numeric].to_numpy(dtype=object)
    fits = as_dm | as_md  # values that fit neither are reported later as unreadable
    all_dm, all_md = bool(as_dm[fits].all()), bool(as_md[fits].all())
    if all_dm and all_md:
        ambiguous = fits & (a != b)
        if not ambiguous.any():
            return False, "day and month agree in every value"
        example = values[ambiguous][0]
        raise DataValidationError(
            name,
            "dates are ambiguous: every value reads as a valid date both day-first and "
            "month-first, and the readings differ",
            int(text.isin(values[ambiguous]).sum()),
            example_values=values[ambiguous][:5],
            hint=f"Pass dayfirst=True if {example!r} is day {a[ambiguous][0]} of month "
            f"{b[ambiguous][0]}, dayfirst=False if it is month {a[ambiguous][0]}, or the exact "
            "format, e.g. datetime_format='%d/%m/%Y'",
        )
    if all_dm:
        return True, f"the only order that fits every value, e.g. {values[as_dm & ~as_md][0]!r}"
    if all_md:
        return False, f"the only order that fits every value, e.g. {values[as_md & ~as_dm][0]!r}"
    only_dm, only_md = values[as_dm & ~as_md][0], values[as_md & ~as_dm][0]
    raise DataValidationError(
        name,
        f"no single day/month order fits the column: {only_dm!r} can only be day-first "
        f"and {only_md!r} only month-first",
        int(text.isin(values[fits & (as_dm != as_md)]).sum()),
        example_values=[only_dm, only_md],
        hint="Fix the rows written the other way, or pass datetime_format= (e.g. "
        "'%d/%m/%Y') and invalid='drop' to drop the rows that do not match it",
    )


# --- the transaction log -----------------------------------------------------------------


def validate_transactions(
    transactions: pd.DataFrame,
    customer_id_col: str,
    datetime_col: str,
    monetary_value_col: str | None = None,
    *,
    observation_end: object = None,
    datetime_format: str | None = None,
    dayfirst: bool | None = None,
    date_unit: DateUnit | None = None,
    invalid: InvalidPolicy = "raise",
) -> TransactionColumns:
    """Check a transaction log and return its clean columns.

    Rules (each raises :class:`~clvlab.errors.DataValidationError` naming the column, the
    rule, the row count, example customer ids and, for dates, example values): the table
    is not empty; the columns exist; ids and dates are not null; dates parse under the
    column's one convention and fall between 1677-09-22 and 2262-04-11 (pandas'
    nanosecond range, which exports are read back in); monetary values
    are finite and not negative; no transaction falls after ``observation_end``.
    Column-wide date problems (ambiguous day/month order, numbers without a unit, UTC
    offsets on some values only) always raise.

    Parameters
    ----------
    transactions
        One row per purchase. Not modified.
    customer_id_col, datetime_col, monetary_value_col
        Column names. ``monetary_value_col`` is optional.
    observation_end
        Last day observed (inclusive). Defaults to the last transaction date. Text is
        read as ISO 8601 or with ``datetime_format`` / ``dayfirst``.
    datetime_format
        One strptime format for the whole date column, e.g. ``"%d/%m/%Y"``, or
        ``"%Y%m%d"`` for numbers such as ``20200105``. Not needed for ISO 8601 text or
        datetime columns. ``"mixed"`` is refused: it can mix day-first and month-first.
    dayfirst
        For text such as ``01/02/2020``: ``True`` reads 1 February, ``False`` 2 January.
        Needed only when the column reads validly both ways. Ignored for ISO 8601 text.
    date_unit
        For numbers counted from 1970-01-01 UTC: ``"s"``, ``"ms"``, ``"us"``, ``"ns"``
        or ``"D"``. Numeric dates without ``date_unit`` or ``datetime_format`` are
        refused.
    invalid
        ``"raise"`` (default) or ``"drop"``: drop rows breaking a row rule and warn with
        the counts (:class:`~clvlab.errors.DataQualityWarning`).

    Returns
    -------
    TransactionColumns
        Days are ``datetime64[D]``; for time-zone-aware dates, the UTC day.
    """
    if not isinstance(transactions, pd.DataFrame):
        raise DataValidationError(
            "<transactions>", f"expected a pandas DataFrame, got {type(transactions).__name__}"
        )
    datetime_format, dayfirst, date_unit = check_date_options(  # type: ignore[assignment]
        datetime_format, dayfirst, date_unit
    )
    columns = [customer_id_col, datetime_col] + ([monetary_value_col] if monetary_value_col else [])
    require_columns(transactions, columns, "transaction")
    require_nonempty(transactions, "transaction log", customer_id_col)

    id_series = transactions[customer_id_col]
    ids = id_series.to_numpy()
    check = Validator(ids=ids, invalid=invalid)
    id_null = id_series.isna().to_numpy()
    check.check(
        customer_id_col,
        "customer id is null",
        id_null,
        hint="drop these rows (invalid='drop') or fill in their ids",
        labels=transactions.index.to_numpy(),
        label="index labels",
    )

    raw_dates = transactions[datetime_col]
    parsed = parse_dates(
        raw_dates,
        datetime_col,
        datetime_format=datetime_format,
        dayfirst=dayfirst,
        date_unit=date_unit,
    )
    days = parsed.days
    date_null = raw_dates.isna().to_numpy()
    check.check(datetime_col, "date is null", date_null)
    check.check(
        datetime_col,
        f"date is outside the supported range {FIRST_DAY} to {LAST_DAY}",
        parsed.out_of_range,
        hint="clvlab's exports hold dates in pandas' nanosecond range only; correct these "
        "dates (a placeholder such as 9999-12-31 is not a purchase date), or drop the rows "
        "with invalid='drop'",
        values=raw_dates.to_numpy(),
    )
    check.check(
        datetime_col,
        f"date cannot be parsed as {parsed.convention}, the column's convention",
        np.isnat(days) & ~date_null & ~parsed.out_of_range,
        hint="every value of a date column must follow one convention: pass "
        "datetime_format= with its format, or convert the column with pandas.to_datetime",
        values=raw_dates.to_numpy(),
    )

    values: np.ndarray | None = None
    if monetary_value_col:
        raw_values = transactions[monetary_value_col]
        if raw_values.dtype == np.float64:
            numeric = raw_values.to_numpy()  # a view: nothing below writes to it
        else:
            numeric = pd.to_numeric(raw_values, errors="coerce").to_numpy(
                dtype=float, na_value=np.nan
            )
        check.check(
            monetary_value_col,
            "monetary value is not a number",
            np.isnan(numeric) & raw_values.notna().to_numpy(),
            values=raw_values.to_numpy(),
        )
        check.check(
            monetary_value_col,
            "monetary value is not finite (null, NaN or inf)",
            ~np.isfinite(numeric) & ~(np.isnan(numeric) & raw_values.notna().to_numpy()),
        )
        check.check(monetary_value_col, "monetary value is negative", numeric < 0, values=numeric)
        values = numeric

    if observation_end is None:
        valid_days = days[~np.isnat(days)]
        if len(valid_days) == 0:
            raise DataValidationError(datetime_col, "no valid date in the transaction log")
        end = valid_days.max()
    else:
        end = parse_day(
            observation_end, "observation_end", datetime_format=datetime_format, dayfirst=dayfirst
        )
        check.check(
            datetime_col,
            f"transaction after observation_end {end}",
            ~np.isnat(days) & (days > end),
            hint="set observation_end to the last observed day or later",
        )

    dropped: dict[str, int] = {}
    if check.violations:
        keep = check.keep_mask(len(ids))
        dropped = check.dropped_counts()
        ids, days = ids[keep], days[keep]
        values = values[keep] if values is not None else None
        if len(ids) == 0:
            raise DataValidationError(
                customer_id_col,
                "no valid row is left after dropping invalid rows",
                int((~keep).sum()),
            )
    return TransactionColumns(
        ids=ids,
        days=days,
        values=values,
        observation_end=end,
        dropped=dropped,
        date_convention=parsed.convention,
    )
