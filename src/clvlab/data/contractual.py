"""Contractual customers: renewal histories from cohort survival counts or subscriptions.

A contract comes up for renewal once per period (a year, a month, ...). The
shifted-beta-geometric model (:class:`clvlab.ShiftedBetaGeo`; Fader & Hardie 2007) needs,
per customer, the number of renewals ``x`` and the number of renewal opportunities
observed ``n``: ``x = n`` for a customer still subscribed, ``x < n`` for one who cancelled
at opportunity ``x + 1``. The tables here use the column names of the discrete purchase
contract: ``frequency`` (x), ``recency`` (equal to x: renewals are consecutive) and ``T``
(n), with ``kind="discrete"`` and ``contractual=True`` in their metadata.

- :func:`cohort_histories` turns survival counts (customers still active at the end of
  each period, per cohort; Fader & Hardie 2007, Table 1) into weighted rows, one per
  distinct history;
- :func:`subscription_summary` turns a table of subscriptions with start and cancellation
  dates into one row per customer, right-censored at an observation date;
- :func:`validate_contracts` checks a table for the model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from clvlab.data.discrete import normalize_grain, validate_opportunities
from clvlab.data.transactions import parse_dates, parse_day
from clvlab.data.validation import Validator
from clvlab.errors import DataValidationError

__all__ = ["cohort_histories", "subscription_summary", "validate_contracts"]

_BUILD_IT = (
    "build the table with clvlab.cohort_histories (survival counts) or "
    "clvlab.subscription_summary (subscriptions with start and cancellation dates)"
)
#: Months per period of the calendar grains.
_MONTHS = {"Y": 12, "Q": 3, "M": 1}


def _metadata(time_unit: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "discrete", "contractual": True, "time_unit": time_unit, **extra}


def cohort_histories(
    survivors: pd.DataFrame | Mapping[str, Sequence[float]] | Sequence[float],
    *,
    periods: int | None = None,
    time_unit: str = "Y",
) -> pd.DataFrame:
    """Renewal histories of cohorts from their survival counts, one row per history.

    A cohort of ``n_0`` customers signs up at period 0; ``n_t`` of them are still active
    at the end of period ``t`` (they renewed at the ``t`` renewal opportunities so far).
    ``n_{t-1} - n_t`` customers cancelled at opportunity ``t``: ``x = t - 1`` renewals of
    ``n = tau`` observed. The ``n_tau`` still active have ``x = n = tau``. This is the
    data of Fader & Hardie (2007) eq. 5.

    Parameters
    ----------
    survivors
        Counts per period, period 0 first: one sequence (one cohort), a mapping cohort ->
        sequence, or a DataFrame with one column per cohort (rows are periods 0, 1, ...).
        A younger cohort has fewer periods: leave its later periods missing (NaN) in a
        DataFrame. Counts are whole numbers, the first positive, never increasing.
    periods
        Use only periods ``0..periods`` (the calibration years; Fader & Hardie fit 7 of
        the 12), so the later ones can be held out. Default: all.
    time_unit
        The period: ``"Y"``, ``"Q"``, ``"M"``, ``"W"`` or ``"D"`` (recorded in the
        metadata; predictions count horizons in it).

    Returns
    -------
    pandas.DataFrame
        ``cohort``, ``frequency`` (renewals), ``recency`` (the same), ``T`` (opportunities
        observed) and ``weight`` (customers with that history); empty histories (no
        customer) are left out. Fit it with :class:`clvlab.ShiftedBetaGeo` (the weights
        are used; unfold with ``table.loc[table.index.repeat(table.weight)]`` for
        per-customer predictions).

    Raises
    ------
    DataValidationError
        Negative, fractional or increasing counts, a first count of 0, or a gap before
        the end of a cohort, naming the cohort and period.

    Examples
    --------
    >>> t = cohort_histories([1000, 631, 468])
    >>> t[["frequency", "T", "weight"]].values.tolist()
    [[0, 2, 369], [1, 2, 163], [2, 2, 468]]
    """
    unit = normalize_grain(time_unit)
    cohorts = _as_cohorts(survivors)
    if periods is not None and (
        isinstance(periods, bool) or not isinstance(periods, (int, np.integer)) or periods < 1
    ):
        raise DataValidationError(
            "periods",
            f"must be a whole number >= 1, got {periods!r}",
            hint="pass the number of calibration periods, e.g. periods=7",
        )
    rows: list[tuple[Any, int, int, int]] = []
    for name, counts in cohorts.items():
        values = _check_counts(name, counts)
        if periods is not None:
            values = values[: int(periods) + 1]
        tau = len(values) - 1
        lost = values[:-1] - values[1:]
        for t, count in enumerate(lost, start=1):
            if count > 0:
                rows.append((name, t - 1, tau, int(count)))
        if values[-1] > 0:
            rows.append((name, tau, tau, int(values[-1])))
    table = pd.DataFrame(rows, columns=["cohort", "frequency", "T", "weight"])
    table.insert(2, "recency", table["frequency"])
    table = table.astype({"frequency": np.int64, "recency": np.int64, "T": np.int64})
    table["weight"] = table["weight"].astype(np.int64)
    table.attrs["clvlab"] = _metadata(unit, source="cohort survival counts")
    return table


def _as_cohorts(survivors: Any) -> dict[Any, np.ndarray]:
    if isinstance(survivors, pd.DataFrame):
        return {c: survivors[c].to_numpy() for c in survivors.columns}
    if isinstance(survivors, Mapping):
        return {k: np.asarray(v, dtype=object) for k, v in survivors.items()}
    if isinstance(survivors, (str, bytes)) or not isinstance(
        survivors, (Sequence, np.ndarray, pd.Series)
    ):
        raise DataValidationError(
            "survivors",
            f"must be counts per period (a sequence, a mapping cohort -> sequence or a "
            f"DataFrame), got {type(survivors).__name__}",
            hint="pass e.g. [1000, 631, 468] (customers active at the end of periods 0, 1, 2)",
        )
    return {"cohort": np.asarray(survivors, dtype=object)}


def _check_counts(name: Any, counts: np.ndarray) -> np.ndarray:
    where = f"cohort {name!r}"
    try:
        values = pd.to_numeric(pd.Series(counts, dtype=object), errors="raise").to_numpy(
            dtype=float
        )
    except (TypeError, ValueError) as exc:
        raise DataValidationError(
            "survivors",
            f"{where} holds a value that is not a number ({exc})",
            hint="pass whole counts of customers",
        ) from exc
    missing = np.isnan(values)
    if missing.any():
        first = int(np.argmax(missing))
        if not missing[first:].all():
            raise DataValidationError(
                "survivors",
                f"{where} has a missing count at period {first} before later counts",
                hint="only the periods after a cohort's last observed one may be missing",
            )
        values = values[:first]
    if len(values) < 2:
        raise DataValidationError(
            "survivors",
            f"{where} has {len(values)} period(s); the model needs period 0 "
            "and at least one renewal opportunity",
            hint="pass the count at the end of period 0 and of at least period 1",
        )
    bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
    if bad.any():
        t = int(np.argmax(bad))
        raise DataValidationError(
            "survivors",
            f"{where} has {values[t]!r} customers at period {t}: counts are whole numbers >= 0",
            hint="pass counts of customers, not shares",
        )
    if values[0] <= 0:
        raise DataValidationError(
            "survivors",
            f"{where} starts with {values[0]:g} customers at period 0",
            hint="period 0 holds the cohort's size (> 0); drop an empty cohort",
        )
    rises = np.flatnonzero(np.diff(values) > 0)
    if rises.size:
        t = int(rises[0]) + 1
        raise DataValidationError(
            "survivors",
            f"{where} rises from {values[t - 1]:g} to {values[t]:g} at period {t}: a "
            "cohort only loses customers (its survivors are counted, not its size)",
            hint="count the customers of period 0 still active at the end of each period",
        )
    return values.astype(np.int64)


def subscription_summary(
    subscriptions: pd.DataFrame,
    customer_id_col: str = "customer_id",
    start_col: str = "start",
    end_col: str = "end",
    period: str = "M",
    observation_end: object = None,
    *,
    datetime_format: str | None = None,
    dayfirst: bool | None = None,
) -> pd.DataFrame:
    """One renewal history per subscription, right-censored at ``observation_end``.

    A subscription starts on day ``s`` and comes up for renewal every ``period`` after it
    (``s + 1 period``, ``s + 2 periods``, ...; calendar months for ``"M"``, ``"Q"``,
    ``"Y"``, with the day clipped to the month's end). A cancellation on day ``c`` means
    no renewal on or after ``c``: ``x`` is the number of renewal days before ``c``, and
    the customer cancelled at opportunity ``x + 1``. A subscription without an end (NaT
    or empty) is still active: ``x = n``, the renewal days up to ``observation_end``.

    Parameters
    ----------
    subscriptions
        One row per subscription (customer ids unique). Never modified.
    customer_id_col, start_col, end_col
        Column names; dates are read as by :func:`clvlab.rfm_summary` (one convention
        per column, ``datetime_format`` / ``dayfirst`` for ambiguous text).
    period
        The contract period: ``"Y"``, ``"Q"``, ``"M"`` (default), ``"W"`` or ``"D"``.
    observation_end
        Last day observed (inclusive); default the latest start or end date. A start or
        cancellation after it is an error.

    Returns
    -------
    pandas.DataFrame
        Indexed by customer id: ``cohort`` (the period of the start, e.g. ``2020-01``),
        ``frequency`` and ``recency`` (renewals), ``T`` (opportunities observed), with
        ``kind="discrete"``, ``contractual=True``, ``time_unit`` and ``observation_end``
        in ``attrs["clvlab"]``.

    Raises
    ------
    DataValidationError
        A missing column or start date, duplicated ids, unreadable or out-of-range dates,
        an end before its start, or a date after ``observation_end``.

    Examples
    --------
    >>> subs = pd.DataFrame({"customer_id": [1, 2],
    ...                      "start": ["2020-01-15", "2020-03-01"],
    ...                      "end": ["2020-04-20", None]})
    >>> subscription_summary(subs, observation_end="2020-06-30")[["frequency", "T"]]
                 frequency  T
    customer_id
    1                    3  5
    2                    3  3
    """
    unit = normalize_grain(period)
    missing = [c for c in (customer_id_col, start_col, end_col) if c not in subscriptions]
    if missing:
        raise DataValidationError(
            missing[0],
            f"column not found (columns: {list(subscriptions.columns)})",
            hint=f"pass {customer_id_col=}, {start_col=} and {end_col=} naming your columns",
        )
    ids = subscriptions[customer_id_col]
    check = Validator(ids=ids.to_numpy())
    check.check(customer_id_col, "is missing", ids.isna().to_numpy(), "drop those rows")
    check.check(
        customer_id_col,
        "appears more than once (one subscription per customer)",
        ids.duplicated(keep=False).to_numpy(),
        "keep one subscription per customer, or give each its own id",
    )
    start = parse_dates(
        subscriptions[start_col], start_col, datetime_format=datetime_format, dayfirst=dayfirst
    )
    end_raw = subscriptions[end_col]
    end = parse_dates(end_raw, end_col, datetime_format=datetime_format, dayfirst=dayfirst)
    check.check(
        start_col,
        "is missing or unreadable",
        np.isnat(start.days),
        "give every subscription its start day",
    )
    check.check(
        start_col, "is outside 1677-09-22 to 2262-04-11", start.out_of_range, "correct the dates"
    )
    check.check(
        end_col, "is outside 1677-09-22 to 2262-04-11", end.out_of_range, "correct the dates"
    )
    unreadable = np.isnat(end.days) & end_raw.notna().to_numpy() & ~end.out_of_range
    if end_raw.dtype == object:
        unreadable &= end_raw.astype(str).str.strip().ne("").to_numpy()
    check.check(
        end_col,
        "is not a date (leave it empty for an active subscription)",
        unreadable,
        "correct the dates",
    )
    has_end = ~np.isnat(end.days)
    check.check(
        end_col,
        "is before the start",
        has_end & ~np.isnat(start.days) & (end.days < start.days),
        "swap the columns or correct the dates",
    )
    s, c = start.days, end.days
    latest = np.max(np.concatenate([s, c[has_end]]))
    obs = (
        latest
        if observation_end is None
        else parse_day(
            observation_end, "observation_end", datetime_format=datetime_format, dayfirst=dayfirst
        )
    )
    late = (s > obs) | (has_end & (c > obs))
    if late.any():
        first = int(np.flatnonzero(late)[0])
        raise DataValidationError(
            "observation_end",
            f"{obs} is before {int(late.sum())} subscription date(s), e.g. customer "
            f"{ids.iloc[first]!r} ({s[first]} to {c[first]})",
            hint="pass a later observation_end, or drop the subscriptions that start after it",
        )
    last = np.where(has_end, c, obs + np.timedelta64(1, "D"))  # renewals before this day
    renewals = _renewals_before(s, last, unit)
    observed = _renewals_before(s, np.full_like(s, obs + np.timedelta64(1, "D")), unit)
    n = np.where(has_end, np.maximum(observed, renewals + 1), observed)
    table = pd.DataFrame(
        {
            "cohort": _period_labels(s, unit),
            "frequency": renewals.astype(np.int64),
            "recency": renewals.astype(np.int64),
            "T": n.astype(np.int64),
        },
        index=pd.Index(ids.to_numpy(), name=customer_id_col),
    )
    table.attrs["clvlab"] = _metadata(
        unit,
        observation_end=str(obs),
        first_transaction=str(np.min(s)),
        calibration_end=str(obs),
        source="subscriptions",
    )
    return table


def _renewals_before(start: np.ndarray, before: np.ndarray, unit: str) -> np.ndarray:
    """Number of renewal days ``start + k periods`` (k >= 1) strictly before ``before``."""
    s = start.astype("datetime64[D]")
    if unit in _MONTHS:
        step = _MONTHS[unit]
        months = (before.astype("datetime64[M]") - s.astype("datetime64[M]")).astype(np.int64)
        k = np.maximum(months // step, 0)
        # the k-th renewal may fall on or after ``before``: step back until it does not
        for _ in range(2):
            due = _add_months(s, k * step)
            k = np.where((k > 0) & (due >= before), k - 1, k)
        return k
    days = 7 if unit == "W" else 1
    span = (before - s).astype(np.int64)
    return np.maximum((span - 1) // days, 0)


def _add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """``days`` plus whole calendar ``months``, the day clipped to the month's end."""
    first = days.astype("datetime64[M]")
    target = first + months.astype("timedelta64[M]")
    offset = days - first.astype("datetime64[D]")
    length = (target + np.timedelta64(1, "M")).astype("datetime64[D]") - target.astype(
        "datetime64[D]"
    )
    return target.astype("datetime64[D]") + np.minimum(offset, length - np.timedelta64(1, "D"))


def _period_labels(days: np.ndarray, unit: str) -> np.ndarray:
    if unit == "Y":
        return days.astype("datetime64[Y]").astype(str)
    if unit == "Q":
        month = days.astype("datetime64[M]").astype(np.int64)
        years, quarters = month // 12 + 1970, month % 12 // 3 + 1
        return np.array([f"{y}-Q{q}" for y, q in zip(years, quarters, strict=True)])
    if unit == "M":
        return days.astype("datetime64[M]").astype(str)
    if unit == "W":
        monday = days - ((days.astype("datetime64[D]").astype(np.int64) + 3) % 7).astype(
            "timedelta64[D]"
        )
        return monday.astype(str)
    return days.astype(str)


def validate_contracts(rfm: pd.DataFrame, model: str = "sBG") -> pd.DataFrame:
    """Check a renewal table for a contractual model: the rules of
    :func:`clvlab.data.discrete.validate_opportunities` (whole numbers, ``x <= n``), and
    ``recency == frequency`` (renewals are consecutive; a customer who cancelled does not
    come back under the same contract).

    Raises
    ------
    DataValidationError
        Naming the customers and the fix (:func:`cohort_histories`,
        :func:`subscription_summary`).
    """
    table = validate_opportunities(rfm, model)
    check = Validator(ids=table.index.to_numpy())
    x, t_x = table["frequency"].to_numpy(dtype=float), table["recency"].to_numpy(dtype=float)
    check.check(
        "recency",
        f"differs from frequency: {model} counts consecutive renewals (recency = frequency)",
        x != t_x,
        _BUILD_IT,
        values=t_x,
    )
    return table
