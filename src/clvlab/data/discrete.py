"""Transaction log to the discrete-time summary ``(x, t_x, n)`` of the BG/BB model.

Definitions follow Fader, Hardie & Shang (2010, "Customer-Base Analysis in a
Discrete-Time Noncontractual Setting"), section 2: time is a sequence of transaction
opportunities, one per calendar period of the chosen grain, and a customer either
transacts in an opportunity or does not. A customer's first transaction falls in the
*trial* period (the 1995 cohort's 1995 gift in the donations data), which is not an
opportunity of the model. Then

* ``n`` (column ``T``) is the number of opportunities after the trial period up to the
  end of calibration;
* ``x`` (``frequency``) is the number of those opportunities with at least one
  transaction, the repeat transactions;
* ``t_x`` (``recency``) is the opportunity (1 to ``n``) of the last of them, 0 when
  ``x = 0``.

An opportunity counts at most one transaction, so several transactions of one customer
in one period merge into one; the number merged is reported. The table has the column
names of :func:`~clvlab.rfm_summary`, so every purchase model takes it as it is, and it
folds with :func:`~clvlab.fold` (the donations data fold 11,104 donors into 22 rows).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from clvlab.data.ids import factorize_ids
from clvlab.data.rfm import _META_KEY, _unique_customer_days, rfm_metadata, validate_rfm
from clvlab.data.transactions import (
    FIRST_DAY,
    LAST_DAY,
    DateUnit,
    parse_day,
    validate_transactions,
)
from clvlab.data.validation import InvalidPolicy, Validator
from clvlab.errors import ArgumentError, DataQualityWarning, DataValidationError

__all__ = ["GRAINS", "normalize_grain", "opportunity_summary", "validate_opportunities"]

#: The opportunity grains and their names.
GRAINS: Final[dict[str, str]] = {
    "Y": "year",
    "Q": "quarter",
    "M": "month",
    "W": "week",
    "D": "day",
}
_ALIASES: Final[dict[str, str]] = {
    **{name: code for code, name in GRAINS.items()},
    **{f"{name}s": code for code, name in GRAINS.items()},
}
# Months per period of the calendar grains.
_MONTHS: Final[dict[str, int]] = {"Y": 12, "Q": 3, "M": 1}
# Periods are counted from these days unless ``start=`` says otherwise: 1 January
# (years, quarters, months) and a Monday (ISO 8601 weeks run Monday to Sunday).
_DEFAULT_START: Final[dict[str, np.datetime64]] = {
    "Y": np.datetime64("1970-01-01", "D"),
    "Q": np.datetime64("1970-01-01", "D"),
    "M": np.datetime64("1970-01-01", "D"),
    "W": np.datetime64("1970-01-05", "D"),
    "D": np.datetime64("1970-01-01", "D"),
}


def normalize_grain(grain: object) -> str:
    """The one-letter code (``Y``, ``Q``, ``M``, ``W``, ``D``) of an opportunity grain.

    Examples
    --------
    >>> normalize_grain("quarter")
    'Q'
    """
    code = _ALIASES.get(grain.lower(), grain.upper()) if isinstance(grain, str) else None
    if code not in GRAINS:
        raise ArgumentError(
            f"unknown grain {grain!r}: an opportunity is one calendar period, one of "
            + ", ".join(f"{c!r} ({n})" for c, n in GRAINS.items())
        )
    return str(code)


@dataclass(frozen=True)
class _Calendar:
    """Consecutive periods of one grain, counted from ``start`` (a day that begins one)."""

    grain: str
    start: np.datetime64

    @property
    def noun(self) -> str:
        return GRAINS[self.grain]

    def index(self, days: np.ndarray) -> np.ndarray:
        """Period number (int64) of each ``datetime64[D]`` day; period 0 begins at start."""
        if self.grain in _MONTHS:
            months = days.astype("datetime64[M]").astype(np.int64)
            origin = int(self.start.astype("datetime64[M]").astype(np.int64))
            return np.asarray((months - origin) // _MONTHS[self.grain], dtype=np.int64)
        offset = days.astype("datetime64[D]").astype(np.int64) - int(self.start.astype(np.int64))
        return np.asarray(offset // (7 if self.grain == "W" else 1), dtype=np.int64)

    def index_of(self, day: np.datetime64) -> int:
        return int(self.index(np.array([day], dtype="datetime64[D]"))[0])

    def first_day(self, period: int) -> np.datetime64:
        """The first day of period number ``period``."""
        if self.grain in _MONTHS:
            origin = int(self.start.astype("datetime64[M]").astype(np.int64))
            month = np.datetime64(origin + period * _MONTHS[self.grain], "M")
            return month.astype("datetime64[D]")
        step = 7 if self.grain == "W" else 1
        return self.start + np.timedelta64(period * step, "D")

    def last_day(self, period: int) -> np.datetime64:
        """The last day of period number ``period`` (inclusive)."""
        return self.first_day(period + 1) - np.timedelta64(1, "D")

    def describe(self, period: int) -> str:
        first, last = self.first_day(period), self.last_day(period)
        return f"the {self.noun} {first}" if first == last else f"the {self.noun} {first} to {last}"


def _calendar(
    grain: str, start: object, datetime_format: str | None, dayfirst: bool | None
) -> _Calendar:
    """The calendar of ``grain``, from ``start`` when given (checked)."""
    if start is None:
        return _Calendar(grain, _DEFAULT_START[grain])
    day = parse_day(start, "start", datetime_format=datetime_format, dayfirst=dayfirst)
    if grain in _MONTHS and day != day.astype("datetime64[M]").astype("datetime64[D]"):
        month = day.astype("datetime64[M]").astype("datetime64[D]")
        raise DataValidationError(
            "start",
            f"{day} is not the first day of a month: {GRAINS[grain]}s begin on the first "
            "day of a month",
            hint=f"Pass start='{month}' (or the first day of another month) to count "
            f"{GRAINS[grain]}s from that month",
        )
    return _Calendar(grain, day)


def _require_period_end(
    calendar: _Calendar,
    day: np.datetime64,
    name: str,
    *,
    allowed: tuple[np.datetime64, np.datetime64],
    defaulted: bool = False,
) -> int:
    """The period number of ``day``, which must be the last day of its period.

    ``allowed`` bounds the period ends that would be accepted (inclusive); only those
    are suggested as the fix. For ``observation_end`` the lower bound is the last
    transaction: an earlier end is suggested together with removing the transactions
    after it.
    """
    period = calendar.index_of(day)
    end = calendar.last_day(period)
    if day == end:
        return period
    noun = calendar.noun
    previous = calendar.last_day(period - 1)
    where = calendar.describe(period)
    if defaulted:
        rule = f"defaults to the last transaction day, {day}, which is inside {where}"
    else:
        rule = f"{day} is inside {where}, not at its end"
    rule += f"; an opportunity is a whole {noun}, so {name} must be the last day of a {noun}"
    fixes = []
    if allowed[0] <= end <= allowed[1]:
        fixes.append(f"{name}='{end}' (the end of that {noun}{', if it was observed' * defaulted})")
    if allowed[0] <= previous <= allowed[1]:
        fixes.append(f"{name}='{previous}' (the end of the {noun} before)")
    elif name == "observation_end" and previous >= FIRST_DAY:
        fixes.append(
            f"{name}='{previous}' (the end of the {noun} before) after removing the "
            "transactions after it"
        )
    if fixes:
        hint = "Pass " + " or ".join(fixes)
    else:
        hint = (
            f"No {noun} ends between the first transaction and observation_end, so there "
            "is no calibration end at this grain; pass a finer grain= or a longer log"
        )
    raise DataValidationError(name, rule, hint=hint)


def opportunity_summary(
    transactions: pd.DataFrame,
    customer_id_col: str = "customer_id",
    datetime_col: str = "date",
    monetary_value_col: str | None = None,
    grain: str = "Y",
    calibration_end: object = None,
    observation_end: object = None,
    *,
    datetime_format: str | None = None,
    dayfirst: bool | None = None,
    date_unit: DateUnit | None = None,
    invalid: InvalidPolicy = "raise",
    start: object = None,
) -> pd.DataFrame:
    """Summarise a transaction log into ``(x, t_x, n)`` per customer, for BG/BB.

    Time is a sequence of calendar periods of ``grain``, each one transaction
    opportunity (Fader, Hardie & Shang 2010, section 2). A customer's first transaction
    falls in the trial period; ``n`` counts the opportunities after it up to the end of
    calibration, ``x`` those with a transaction, and ``t_x`` is the opportunity (1 to
    ``n``) of the last one, 0 when ``x = 0``.

    Parameters
    ----------
    transactions
        One row per transaction. Never modified. Validated as by
        :func:`~clvlab.rfm_summary` (:func:`~clvlab.validate_transactions`), with the
        same errors.
    customer_id_col, datetime_col, monetary_value_col
        Column names; ``monetary_value_col`` is optional.
    grain
        The opportunity: ``"Y"`` (calendar years, default), ``"Q"`` (calendar quarters),
        ``"M"`` (calendar months), ``"W"`` (ISO 8601 weeks, Monday to Sunday) or ``"D"``
        (days); the words ``"year"``, ``"quarter"``, ... also work. Periods are calendar
        periods, not periods counted from each customer's first transaction, so every
        customer has the same opportunities (an annual appeal, a yearly event).
    calibration_end
        Last day of calibration (inclusive): the last day of a period, since a partial
        period is not an opportunity (``"2001-12-31"`` for years, not ``"2001-06-30"``;
        the error names the period end to use). When given, the result also has
        ``frequency_holdout`` (holdout opportunities with a transaction),
        ``duration_holdout`` (the number of holdout opportunities) and, with a monetary
        column, ``monetary_value_holdout``. Customers whose first transaction falls
        after it are not in the calibration cohort; their number is recorded in the
        metadata.
    observation_end
        Last day observed (inclusive), the last day of a period. Defaults to the last
        transaction day, which must then be the last day of its period: pass
        ``observation_end=`` when the last period was observed to its end. A
        transaction after it is an error.
    datetime_format, dayfirst, date_unit, invalid
        As for :func:`~clvlab.rfm_summary`.
    start
        A day on which a period begins; periods are counted from it, before and after.
        ``start="2020-04-01"`` with ``grain="Y"`` gives fiscal years April to March
        (yearly, quarterly and monthly periods begin on the first day of a month), and
        a Sunday with ``grain="W"`` gives weeks from Sunday to Saturday. Defaults to
        calendar periods: years from 1 January, quarters from January, April, July and
        October, months from the 1st, weeks from Monday.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id (as given, in order of first appearance), with int64
        ``frequency`` (x), ``recency`` (t_x) and ``T`` (n), and ``monetary_value`` when
        a monetary column is given: the mean over the repeat opportunities of each
        opportunity's total value, 0 when ``x = 0``. ``df.attrs["clvlab"]`` records
        ``kind="discrete"``, ``time_unit`` and ``grain`` (the grain's code), ``start``,
        the dates, ``merged_transactions`` and the other fields of
        :func:`~clvlab.rfm_summary`'s metadata (:func:`~clvlab.rfm_metadata` reads it,
        :func:`~clvlab.validate_rfm` accepts the table).

    Warns
    -----
    DataQualityWarning
        When transactions were merged because an opportunity counts at most one; the
        message names how many. ``attrs["clvlab"]["merged_transactions"]`` holds the
        number, also when it is 0.

    Examples
    --------
    >>> import pandas as pd
    >>> log = pd.DataFrame({"customer_id": [1, 1, 1, 2],
    ...                     "date": ["2018-05-01", "2019-03-01", "2021-07-01", "2019-02-01"]})
    >>> opportunity_summary(log, grain="Y", observation_end="2021-12-31")
                 frequency  recency  T
    customer_id
    1                    2        3  3
    2                    0        0  2
    """
    code = normalize_grain(grain)
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
    calendar = _calendar(code, start, datetime_format, dayfirst)
    obs_end = cols.observation_end
    first_day, last_day = cols.days.min(), cols.days.max()
    obs_period = _require_period_end(
        calendar,
        obs_end,
        "observation_end",
        allowed=(last_day, LAST_DAY),
        defaulted=observation_end is None,
    )
    if calibration_end is None:
        cal_end, cal_period = obs_end, obs_period
    else:
        cal_end = parse_day(
            calibration_end, "calibration_end", datetime_format=datetime_format, dayfirst=dayfirst
        )
        if not first_day <= cal_end < obs_end:
            raise DataValidationError(
                "calibration_end",
                f"{cal_end} is outside the data range: it must be on or after the first "
                f"transaction ({first_day}) and before observation_end ({obs_end})",
            )
        cal_period = _require_period_end(
            calendar,
            cal_end,
            "calibration_end",
            allowed=(first_day, obs_end - np.timedelta64(1, "D")),
        )

    period = calendar.index(cols.days)
    base = int(period.min())
    period -= base
    cal_rel, obs_rel = cal_period - base, obs_period - base
    n_transactions = len(cols.ids)
    codes, uniques = factorize_ids(cols.ids, customer_id_col)
    span = obs_rel + 1
    ukey, totals = _unique_customer_days(codes, period, span, cols.values)
    del codes, period
    merged = n_transactions - len(ukey)
    cust = ukey // span
    uperiod = ukey - cust * span
    n_customers = len(uniques)
    in_cal = uperiod <= cal_rel

    starts = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
    first = uperiod[starts]
    cal_count = np.bincount(cust[in_cal], minlength=n_customers)
    cohort = first <= cal_rel  # the trial period is in calibration
    last_cal = uperiod[starts + np.maximum(cal_count - 1, 0)]
    frequency = cal_count - 1
    frame: dict[str, Any] = {
        "frequency": frequency,
        "recency": last_cal - first,
        "T": cal_rel - first,
    }
    if totals is not None:
        cal_total = np.bincount(cust[in_cal], weights=totals[in_cal], minlength=n_customers)
        repeat_total = cal_total - totals[starts]
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["monetary_value"] = np.where(frequency > 0, repeat_total / frequency, 0.0)
    if calibration_end is not None:
        hold = np.bincount(cust[~in_cal], minlength=n_customers)
        frame["frequency_holdout"] = hold
        if totals is not None:
            hold_total = np.bincount(cust[~in_cal], weights=totals[~in_cal], minlength=n_customers)
            with np.errstate(invalid="ignore", divide="ignore"):
                frame["monetary_value_holdout"] = np.where(hold > 0, hold_total / hold, 0.0)
        frame["duration_holdout"] = np.full(n_customers, obs_rel - cal_rel)

    result = pd.DataFrame(frame, index=pd.Index(uniques, name=customer_id_col))
    result = result.loc[cohort] if not cohort.all() else result
    for name in ("frequency", "recency", "T", "frequency_holdout", "duration_holdout"):
        if name in result:
            result[name] = result[name].astype(np.int64)
    if merged:
        noun = calendar.noun
        warnings.warn(
            f"merged {merged} of {n_transactions} transactions into the {noun} of another "
            f"transaction of the same customer: an opportunity (one {noun}) counts at most "
            f"one transaction, so x counts the {noun}s with a transaction. Pass a finer "
            "grain= if customers can transact more than once per opportunity",
            DataQualityWarning,
            stacklevel=2,
        )
    result.attrs[_META_KEY] = {
        "kind": "discrete",
        "time_unit": code,
        "grain": code,
        # rfm_summary's resolution: the grain of the purchase record
        "resolution": code,
        "start": str(calendar.first_day(0)),
        "first_transaction": str(first_day),
        "last_transaction": str(last_day),
        "calibration_end": str(cal_end),
        "observation_end": str(obs_end),
        "n_transactions": n_transactions,
        "merged_transactions": merged,
        "n_customers_after_calibration": int((~cohort).sum()),
        "dropped_rows": cols.dropped,
        "dates_read_as": cols.date_convention,
    }
    return result


#: What every refusal of a discrete-time table suggests.
_BUILD_IT = (
    "Build the table with clvlab.opportunity_summary(transactions, grain=...), which "
    "counts whole opportunities per customer"
)


def validate_opportunities(rfm: pd.DataFrame, model: str = "BG/BB") -> pd.DataFrame:
    """Check a discrete-time table ``(x, t_x, n)`` for a discrete-time model.

    :func:`~clvlab.validate_rfm`'s rules, and: ``frequency`` (x), ``recency`` (t_x) and
    ``T`` (n) are whole numbers of opportunities with ``x <= t_x <= n`` (``x = 0``
    exactly when ``t_x = 0``, already a rule of every RFM table); and the table is not
    a continuous-time RFM table (one whose metadata records another ``kind``, as
    :func:`~clvlab.rfm_summary`'s ``"rfm"``): its recency and T are durations, not
    counts of opportunities. A table without metadata (built by hand) is accepted when
    its numbers are whole.

    Returns
    -------
    pandas.DataFrame
        :func:`~clvlab.validate_rfm`'s table; the input is not modified.

    Raises
    ------
    DataValidationError
        Naming the rule, the offending customers and the fix (build the table with
        :func:`opportunity_summary`).
    """
    kind = rfm_metadata(rfm).get("kind") if isinstance(rfm, pd.DataFrame) else None
    if kind is not None and kind != "discrete":
        raise DataValidationError(
            "<rfm>",
            f"this table records kind {kind!r}: its recency and T are durations in "
            f"continuous time, but {model} counts transaction opportunities",
            hint=_BUILD_IT + " (one opportunity per year, quarter, ...)",
        )
    table = validate_rfm(rfm)
    check = Validator(ids=table.index.to_numpy())
    for name in ("recency", "T"):
        values = table[name].to_numpy(dtype=float)
        check.check(
            name,
            f"is not a whole number of opportunities ({model} is a discrete-time model)",
            values != np.round(values),
            _BUILD_IT,
            values=values,
        )
    x, t_x = table["frequency"].to_numpy(dtype=float), table["recency"].to_numpy(dtype=float)
    check.check(
        "frequency",
        "exceeds recency: x transactions need at least x opportunities up to the last one",
        x > t_x,
        _BUILD_IT,
        values=x,
    )
    return table
