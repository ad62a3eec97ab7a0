"""Transaction log to RFM summary, and validation of RFM tables a user brings.

Definitions follow Fader, Hardie & Lee (2005, "Counting Your Customers the Easy Way") and
lifetimes: purchases on the same day count as one; ``frequency`` is the number of repeat
purchase days; ``recency`` is the time from the first to the last purchase; ``T`` is the
time from the first purchase to the end of calibration; ``monetary_value`` is the mean
value of the repeat purchase days (each day's purchases summed), 0 when there is none.
Time is continuous in the chosen unit (days / 7 for weeks).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clvlab.data.ids import factorize_ids, mixes_types
from clvlab.data.transactions import DateUnit, parse_day, validate_transactions
from clvlab.data.validation import (
    InvalidPolicy,
    Validator,
    require_columns,
    require_nonempty,
)
from clvlab.errors import DataValidationError
from clvlab.units import days_per_unit, normalize_unit

__all__ = ["HOLDOUT_COLUMNS", "RFM_COLUMNS", "rfm_metadata", "rfm_summary", "validate_rfm"]

RFM_COLUMNS = ("frequency", "recency", "T")
HOLDOUT_COLUMNS = ("frequency_holdout", "duration_holdout")
_META_KEY = "clvlab"
# Tolerance for recency <= T on tables rounded to two decimals (as the CDNOW files are).
_TOLERANCE = 1e-9


def rfm_summary(
    transactions: pd.DataFrame,
    customer_id_col: str = "customer_id",
    datetime_col: str = "date",
    monetary_value_col: str | None = None,
    time_unit: str = "W",
    calibration_end: object = None,
    observation_end: object = None,
    *,
    datetime_format: str | None = None,
    dayfirst: bool | None = None,
    date_unit: DateUnit | None = None,
    invalid: InvalidPolicy = "raise",
    resolution: str = "D",
) -> pd.DataFrame:
    """Summarise a transaction log into one RFM row per customer.

    Parameters
    ----------
    transactions
        One row per purchase. Never modified.
    customer_id_col, datetime_col, monetary_value_col
        Column names; ``monetary_value_col`` is optional. Every id must have one text
        form (:mod:`clvlab.data.ids`): a column mixing ``7`` and ``"7"`` is refused,
        since both would be the key ``7`` in an export.
    time_unit
        ``"D"``, ``"W"`` (default, as in Fader, Hardie & Lee 2005), ``"M"`` (365.25/12
        days) or ``"Y"`` (365.25 days). Time is continuous: days / 7 for weeks.
    calibration_end
        Last day of the calibration period (inclusive). When given, the result also has
        ``frequency_holdout``, ``duration_holdout`` and, with a monetary column,
        ``monetary_value_holdout`` (mean value of the holdout purchase days, 0 if none).
        Customers whose first purchase falls after it are not part of the calibration
        cohort; their number is recorded in the metadata.
    observation_end
        Last day observed (inclusive); defaults to the last transaction date. A
        transaction after it is an error.
    datetime_format, dayfirst, date_unit
        How to read the date column; see :func:`~clvlab.validate_transactions`. ISO 8601
        text and datetime columns need none of them. Ambiguous text such as
        ``01/02/2020`` needs ``dayfirst=`` or ``datetime_format=`` (``"%d/%m/%Y"``);
        numbers need ``datetime_format="%Y%m%d"`` or ``date_unit="s"`` (``"ms"``, ...).
        Time-zone-aware dates count on their UTC day. Dates outside 1677-09-22 to
        2262-04-11 (pandas' nanosecond range, which exports are read back in) are refused
        by name, never wrapped around (9999-12-31 does not become 1816).
    invalid
        ``"raise"`` (default) or ``"drop"`` rows that break a rule, with a warning.
    resolution
        Grain of the purchase record: ``"D"`` (default; purchases on the same day count
        once, as in the paper) or a coarser unit such as ``"W"``: time is then counted in
        whole periods of that length from the first transaction in the log, purchases in
        the same period count once, and recency and T are whole numbers of periods
        (expressed in ``time_unit``). Coarser grains fold far more customers together.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id (the values as given, in order of first appearance;
        float ids stay floats, and print without ``.0`` in messages and exports), with
        ``frequency`` (int), ``recency``, ``T`` and ``monetary_value`` when a monetary
        column is given. ``df.attrs["clvlab"]`` records
        the time unit, the dates and how the date column was read (``dates_read_as``;
        see :func:`rfm_metadata`).

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"customer_id": [1, 1, 1, 2],
    ...                     "date": ["2020-01-01", "2020-01-08", "2020-01-08", "2020-01-05"]})
    >>> rfm_summary(log, observation_end="2020-01-15")[["frequency", "recency", "T"]]
                 frequency  recency         T
    customer_id
    1                    1      1.0  2.000000
    2                    0      0.0  1.428571
    """
    unit = normalize_unit(time_unit)
    cols = validate_transactions(
        transactions,
        customer_id_col,
        datetime_col,
        monetary_value_col,
        observation_end=observation_end,
        datetime_format=datetime_format,
        dayfirst=dayfirst,
        date_unit=date_unit,
        invalid=invalid,
    )
    obs_end = cols.observation_end
    cal_end = (
        obs_end
        if calibration_end is None
        else parse_day(
            calibration_end, "calibration_end", datetime_format=datetime_format, dayfirst=dayfirst
        )
    )
    first_day, last_day = cols.days.min(), cols.days.max()
    if calibration_end is not None and not (first_day <= cal_end < obs_end):
        raise DataValidationError(
            "calibration_end",
            f"{cal_end} is outside the data range: it must be on or after the first "
            f"transaction ({first_day}) and before observation_end ({obs_end})",
        )

    codes, uniques = factorize_ids(cols.ids, customer_id_col)
    base = first_day.astype(np.int64)
    grain = days_per_unit(resolution)
    if grain != int(grain) or grain < 1:
        raise DataValidationError(
            "resolution", f"must be a whole number of days (D or W), got {resolution!r}"
        )
    step = int(grain)
    day = cols.days.view(np.int64)
    day -= base  # in place: cols.days is clvlab's own array and is not used again
    if step > 1:
        day //= step
    span = int(day.max()) + 1
    ukey, day_sums = _unique_customer_days(codes, day, span, cols.values)
    del codes, day
    cust = ukey // span
    uday = ukey - cust * span
    n_customers = len(uniques)
    cal_rel = int(cal_end.astype(np.int64) - base) // step
    in_cal = uday <= cal_rel

    starts = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
    first = uday[starts]
    cal_days = np.bincount(cust[in_cal], minlength=n_customers)
    cohort = first <= cal_rel  # customers acquired in calibration
    last_cal = uday[starts + np.maximum(cal_days - 1, 0)]

    scale = days_per_unit(unit) / step  # periods per time unit
    frequency = cal_days - 1
    frame: dict[str, Any] = {
        "frequency": frequency,
        "recency": (last_cal - first) / scale,
        "T": (cal_rel - first) / scale,
    }
    if day_sums is not None:
        cal_total = np.bincount(cust[in_cal], weights=day_sums[in_cal], minlength=n_customers)
        repeat_total = cal_total - day_sums[starts]
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["monetary_value"] = np.where(frequency > 0, repeat_total / frequency, 0.0)
    if calibration_end is not None:
        hold_days = np.bincount(cust[~in_cal], minlength=n_customers)
        frame["frequency_holdout"] = hold_days
        if day_sums is not None:
            hold_total = np.bincount(
                cust[~in_cal], weights=day_sums[~in_cal], minlength=n_customers
            )
            with np.errstate(invalid="ignore", divide="ignore"):
                frame["monetary_value_holdout"] = np.where(
                    hold_days > 0, hold_total / hold_days, 0.0
                )
        frame["duration_holdout"] = np.full(
            n_customers,
            float(obs_end.astype(np.int64) - cal_end.astype(np.int64)) / days_per_unit(unit),
        )

    index = pd.Index(uniques, name=customer_id_col)
    result = pd.DataFrame(frame, index=index)
    result = result.loc[cohort] if not cohort.all() else result
    result["frequency"] = result["frequency"].astype(np.int64)
    if "frequency_holdout" in result:
        result["frequency_holdout"] = result["frequency_holdout"].astype(np.int64)
    result.attrs[_META_KEY] = {
        "kind": "rfm",
        "time_unit": unit,
        "resolution": normalize_unit(resolution),
        "first_transaction": str(first_day),
        "last_transaction": str(last_day),
        "calibration_end": str(cal_end),
        "observation_end": str(obs_end),
        "n_transactions": len(cols.ids),
        "n_customers_after_calibration": int((~cohort).sum()),
        "dropped_rows": cols.dropped,
        "dates_read_as": cols.date_convention,
    }
    return result


def _unique_customer_days(
    codes: np.ndarray, day: np.ndarray, span: int, values: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Sorted unique ``customer * span + day`` keys and, with values, each key's total.

    Written to keep peak memory near three int64 copies of the log: the key is built in
    place in the ``codes`` buffer, and values are reordered once.
    """
    key = codes.astype(np.int64, copy=False)
    key *= span
    key += day
    if values is None:
        key.sort()
        keep = np.empty(len(key), dtype=bool)
        keep[0] = True
        np.not_equal(key[1:], key[:-1], out=keep[1:])
        return key[keep], None
    order = np.argsort(key)
    key = key[order]
    sorted_values = values[order]
    del order
    keep = np.empty(len(key), dtype=bool)
    keep[0] = True
    np.not_equal(key[1:], key[:-1], out=keep[1:])
    starts = np.flatnonzero(keep)
    return key[starts], np.add.reduceat(sorted_values, starts)


def rfm_metadata(rfm: pd.DataFrame) -> dict[str, Any]:
    """The metadata recorded by :func:`rfm_summary` (time unit and dates), or ``{}``."""
    meta = rfm.attrs.get(_META_KEY, {})
    return dict(meta) if isinstance(meta, dict) else {}


def validate_rfm(
    rfm: pd.DataFrame,
    *,
    monetary: bool = False,
    holdout: bool = False,
    invalid: InvalidPolicy = "raise",
) -> pd.DataFrame:
    """Check an RFM table (from :func:`rfm_summary` or brought by the user).

    Rules: the table is not empty; its index (the customer ids) has no null and no
    duplicate, and no two ids share a text form (``7`` and ``"7"``, see
    :mod:`clvlab.data.ids`); these always raise. ``frequency``, ``recency`` and ``T``
    exist, are finite and not negative; ``frequency`` is a whole number;
    ``recency <= T``; ``recency == 0`` when ``frequency == 0`` and ``recency > 0`` when
    ``frequency > 0``. With
    ``monetary=True`` also ``monetary_value`` (finite, not negative); with
    ``holdout=True`` also ``frequency_holdout`` (whole, not negative) and
    ``duration_holdout`` (positive).

    Returns
    -------
    pandas.DataFrame
        A new table with float columns (``frequency`` as int64); the input is not
        modified. Metadata in ``attrs`` is kept.
    """
    if not isinstance(rfm, pd.DataFrame):
        raise DataValidationError("<rfm>", f"expected a pandas DataFrame, got {type(rfm).__name__}")
    columns = list(RFM_COLUMNS) + (["monetary_value"] if monetary else [])
    columns += ["frequency_holdout", "duration_holdout"] if holdout else []
    require_columns(rfm, columns, "RFM")
    require_nonempty(rfm, "RFM table", "frequency")
    ids = rfm.index.to_numpy()
    _check_index(rfm.index)
    check = Validator(ids=ids, invalid=invalid)
    data: dict[str, np.ndarray] = {}
    for name in columns:
        raw = rfm[name]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        check.check(name, "is null, not a number or not finite", ~np.isfinite(values))
        finite = np.where(np.isfinite(values), values, 0.0)
        check.check(name, "is negative", finite < 0)
        if name in ("frequency", "frequency_holdout"):
            check.check(name, "is not a whole number", finite != np.round(finite))
        if name == "duration_holdout":
            check.check(name, "must be positive", finite <= 0)
        data[name] = finite
    x, t_x, big_t = data["frequency"], data["recency"], data["T"]
    check.check("recency", "exceeds T", t_x > big_t * (1 + _TOLERANCE) + _TOLERANCE)
    check.check("recency", "must be 0 when frequency is 0", (x == 0) & (t_x != 0))
    check.check("recency", "must be positive when frequency is positive", (x > 0) & (t_x <= 0))
    keep = check.keep_mask(len(rfm)) if check.violations else slice(None)
    out = pd.DataFrame({k: v[keep] for k, v in data.items()}, index=rfm.index[keep])
    for extra in rfm.columns:
        if extra not in out.columns:
            out[extra] = rfm[extra].to_numpy()[keep]
    out["frequency"] = out["frequency"].astype(np.int64)
    out.attrs = dict(rfm.attrs)
    if check.violations:
        meta = dict(rfm_metadata(rfm))
        meta["dropped_rows"] = {**meta.get("dropped_rows", {}), **check.dropped_counts()}
        out.attrs[_META_KEY] = meta
    return out


def _check_index(index: pd.Index) -> None:
    """Customer ids of an RFM table: not null, unique, one text form each."""
    name = str(index.name) if index.name is not None else "<index>"
    null = np.asarray(index.isna())
    if null.any():
        raise DataValidationError(
            name,
            "customer id (the index) is null",
            int(null.sum()),
            np.flatnonzero(null)[:5],
            hint="give every customer an id, or drop those rows",
            example_label="positions",
        )
    if index.has_duplicates:
        repeated = index.duplicated(keep=False)
        raise DataValidationError(
            name,
            "customer id (the index) is duplicated: each customer needs exactly one row",
            int(repeated.sum()),
            pd.unique(index[repeated].to_numpy())[:5],
            hint="aggregate the duplicates (rfm_summary builds one row per customer), "
            "or check that tables were not concatenated twice",
        )
    values = index.to_numpy()
    if mixes_types(values):
        factorize_ids(values, name)  # raises on ids that share a text form
