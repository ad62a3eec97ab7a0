"""Validation of transaction logs.

A transaction log has one row per purchase: a customer id, a date and optionally a
monetary value. :func:`validate_transactions` checks every documented rule and returns
clean NumPy columns; the caller's DataFrame is never modified.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from clvlab.data.validation import (
    InvalidPolicy,
    Validator,
    require_columns,
    require_nonempty,
)
from clvlab.errors import DataValidationError

__all__ = ["TransactionColumns", "validate_transactions"]


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
    """

    ids: np.ndarray
    days: np.ndarray
    values: np.ndarray | None
    observation_end: np.datetime64
    dropped: dict[str, int] = field(default_factory=dict)


def _to_day(value: object, name: str) -> np.datetime64:
    try:
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise DataValidationError(name, f"cannot be parsed as a date: {value!r}") from exc
    if pd.isna(stamp):
        raise DataValidationError(name, f"cannot be parsed as a date: {value!r}")
    return np.datetime64(stamp.tz_localize(None) if stamp.tzinfo else stamp, "D")


def _parse_dates(column: pd.Series, datetime_format: str | None) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        parsed = column
        if getattr(column.dt, "tz", None) is not None:
            parsed = column.dt.tz_localize(None)
    else:
        with warnings.catch_warnings():
            # unparseable values are reported by the validator, not as a pandas warning
            warnings.filterwarnings("ignore", "Could not infer format", UserWarning)
            parsed = pd.to_datetime(column, format=datetime_format, errors="coerce")
        if datetime_format is None:
            # pandas infers one format from the first value; parse the rest one by one.
            retry = parsed.isna() & column.notna()
            if retry.any():
                parsed = parsed.copy()
                parsed[retry] = pd.to_datetime(column[retry], format="mixed", errors="coerce")
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
    return np.asarray(parsed.to_numpy(dtype="datetime64[ns]"))


def validate_transactions(
    transactions: pd.DataFrame,
    customer_id_col: str,
    datetime_col: str,
    monetary_value_col: str | None = None,
    *,
    observation_end: object = None,
    datetime_format: str | None = None,
    invalid: InvalidPolicy = "raise",
) -> TransactionColumns:
    """Check a transaction log and return its clean columns.

    Rules (each raises :class:`~clvlab.errors.DataValidationError` naming the column, the
    rule, the row count and example ids): the table is not empty; the columns exist; ids
    and dates are not null; dates parse; monetary values are finite and not negative; no
    transaction falls after ``observation_end``.

    Parameters
    ----------
    transactions
        One row per purchase. Not modified.
    customer_id_col, datetime_col, monetary_value_col
        Column names. ``monetary_value_col`` is optional.
    observation_end
        Last day observed (inclusive). Defaults to the last transaction date.
    datetime_format
        Passed to :func:`pandas.to_datetime` for string dates.
    invalid
        ``"raise"`` (default) or ``"drop"``: drop rows breaking a row rule and warn with
        the counts (:class:`~clvlab.errors.DataQualityWarning`).

    Returns
    -------
    TransactionColumns
    """
    if not isinstance(transactions, pd.DataFrame):
        raise DataValidationError(
            "<transactions>", f"expected a pandas DataFrame, got {type(transactions).__name__}"
        )
    columns = [customer_id_col, datetime_col] + ([monetary_value_col] if monetary_value_col else [])
    require_columns(transactions, columns, "transaction")
    require_nonempty(transactions, "transaction log", customer_id_col)

    id_series = transactions[customer_id_col]
    ids = id_series.to_numpy()
    check = Validator(ids=ids, invalid=invalid)
    id_null = id_series.isna().to_numpy()
    check.check(customer_id_col, "customer id is null", id_null)

    raw_dates = transactions[datetime_col]
    dates = _parse_dates(raw_dates, datetime_format)
    date_null = raw_dates.isna().to_numpy()
    check.check(datetime_col, "date is null", date_null)
    check.check(
        datetime_col,
        "date cannot be parsed" + (f" with format {datetime_format!r}" if datetime_format else ""),
        np.isnat(dates) & ~date_null,
        hint="pass datetime_format= or convert the column with pandas.to_datetime",
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
        )
        check.check(
            monetary_value_col,
            "monetary value is not finite (null, NaN or inf)",
            ~np.isfinite(numeric) & ~(np.isnan(numeric) & raw_values.notna().to_numpy()),
        )
        check.check(monetary_value_col, "monetary value is negative", numeric < 0)
        values = numeric

    days = dates.astype("datetime64[D]")
    if observation_end is None:
        valid_days = days[~np.isnat(days)]
        if len(valid_days) == 0:
            raise DataValidationError(datetime_col, "no valid date in the transaction log")
        end = valid_days.max()
    else:
        end = _to_day(observation_end, "observation_end")
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
        ids=ids, days=days, values=values, observation_end=end, dropped=dropped
    )
