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

import decimal
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from clvlab.arguments import check_count
from clvlab.data.discrete import normalize_grain, validate_opportunities
from clvlab.data.ids import factorize_ids, id_text
from clvlab.data.rfm import rfm_metadata
from clvlab.data.transactions import FIRST_DAY, LAST_DAY, parse_dates, parse_day
from clvlab.data.validation import Validator, require_nonempty
from clvlab.errors import ArgumentError, DataValidationError

__all__ = ["cohort_histories", "refuse_contracts", "subscription_summary", "validate_contracts"]

_BUILD_IT = (
    "Build the table with clvlab.cohort_histories (survival counts) or "
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
        are used). For one row per customer (per-customer predictions), unfold it and
        drop the weights, which would otherwise count each customer again::

            table.loc[table.index.repeat(table["weight"])].drop(
                columns="weight").reset_index(drop=True)

    Raises
    ------
    DataValidationError
        No cohort; counts that are not numbers (text, booleans), negative, fractional,
        above 2**53 or increasing; a first count of 0; a gap before the end of a
        cohort; a period index out of order, naming the cohort and period.
    ArgumentError
        ``periods`` not a whole number >= 1, or beyond the longest cohort.

    Examples
    --------
    >>> t = cohort_histories([1000, 631, 468])
    >>> t[["frequency", "T", "weight"]].values.tolist()
    [[0, 2, 369], [1, 2, 163], [2, 2, 468]]
    """
    unit = normalize_grain(time_unit)
    cohorts = _as_cohorts(survivors)
    top = None
    if periods is not None:
        try:
            top = check_count("periods", periods, minimum=1)
        except ArgumentError as exc:
            raise ArgumentError(
                f"{exc}; pass the number of calibration periods, e.g. periods=7"
            ) from None
    checked = {name: _check_counts(name, counts) for name, counts in cohorts.items()}
    longest = max(len(values) - 1 for values in checked.values())
    if top is not None and top > longest:
        raise ArgumentError(
            f"periods={top} is beyond the counts: the longest cohort is counted to period "
            f"{longest}, so nothing would be held out; pass periods={longest} or fewer"
        )
    rows: list[tuple[Any, int, int, int]] = []
    for name, values in checked.items():
        if top is not None:
            values = values[: top + 1]
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
        if survivors.columns.has_duplicates:
            twice = pd.unique(survivors.columns[survivors.columns.duplicated()])
            raise DataValidationError(
                "survivors",
                f"cohort {twice[0]!r} appears in more than one column",
                hint="give each cohort one column with a name of its own",
            )
        _check_periods_index(survivors.index, "the rows")
        cohorts = {c: survivors[c].to_numpy() for c in survivors.columns}
    elif isinstance(survivors, Mapping):
        cohorts = {}
        for key, value in survivors.items():
            if isinstance(value, pd.Series):
                _check_periods_index(value.index, f"cohort {key!r}")
            cohorts[key] = np.asarray(value, dtype=object)
    elif isinstance(survivors, (str, bytes)) or not isinstance(
        survivors, (Sequence, np.ndarray, pd.Series)
    ):
        raise DataValidationError(
            "survivors",
            f"must be counts per period (a sequence, a mapping cohort -> sequence or a "
            f"DataFrame), got {type(survivors).__name__}",
            hint="pass e.g. [1000, 631, 468] (customers active at the end of periods 0, 1, 2)",
        )
    else:
        if isinstance(survivors, pd.Series):
            _check_periods_index(survivors.index, "the counts")
        cohorts = {"cohort": np.asarray(survivors, dtype=object)}
    if not cohorts or (isinstance(survivors, pd.DataFrame) and survivors.empty):
        raise DataValidationError(
            "survivors",
            "holds no cohort: there are no counts to fold",
            hint="pass at least one cohort's counts, e.g. [1000, 631, 468]",
        )
    for name, counts in cohorts.items():
        if counts.ndim != 1:
            raise DataValidationError(
                "survivors",
                f"cohort {name!r} is not one sequence of counts (it has shape {counts.shape})",
                hint="pass one flat sequence per cohort, or a DataFrame with one column per cohort",
            )
    return cohorts


def _check_periods_index(index: pd.Index, where: str) -> None:
    """Counts are read in row order as periods 0, 1, ...: an index of period numbers or
    dates must agree (consecutive whole periods, increasing), so a shuffled or gapped
    table is refused rather than read in the wrong order."""
    if isinstance(index, pd.RangeIndex) and index.step == 1:
        return
    values = index.to_numpy()
    if pd.api.types.is_integer_dtype(index.dtype):
        if np.all(np.diff(values.astype(np.int64)) == 1):
            return
    elif pd.api.types.is_datetime64_any_dtype(index.dtype) or isinstance(
        index.dtype, pd.PeriodDtype
    ):
        if index.is_monotonic_increasing and index.is_unique:
            return
    else:
        return  # labels that carry no order: the rows are in period order
    shown = ", ".join(str(v) for v in values[:8]) + (", ..." if len(values) > 8 else "")
    raise DataValidationError(
        "survivors",
        f"{where} are indexed by periods {shown}, which are not consecutive and "
        "increasing: the counts are read in row order as periods 0, 1, 2 and so on",
        hint="sort the rows by period (survivors.sort_index()) and give each period a row "
        "(a period not counted is NaN, only after a cohort's last counted one)",
    )


#: Largest count: beyond 2**53 a float64 weight is no longer an exact count.
_MAX_COUNT = 2**53


def _count_value(where: str, period: int, value: Any) -> float:
    """One count as a float (NaN when missing); text, booleans and non-numbers refused."""
    if value is None or (not isinstance(value, (str, bytes)) and _is_missing(value)):
        return np.nan
    kind = None
    if isinstance(value, np.generic):
        value = value.item()  # shown as typed: True, not np.True_
    if isinstance(value, bool):
        kind = f"{value!r} (a boolean)"
    elif isinstance(value, (str, bytes)):
        kind = f"{value!r} (text)"
    elif not isinstance(value, (numbers.Real, decimal.Decimal)):
        kind = f"{value!r} (a {type(value).__name__})"
    if kind is not None:
        raise DataValidationError(
            "survivors",
            f"{where} holds {kind} at period {period}, not a count of customers",
            hint="pass numbers of customers (convert text with pandas.to_numeric first)",
        )
    try:
        return float(value)
    except OverflowError:
        return np.inf


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _check_counts(name: Any, counts: np.ndarray) -> np.ndarray:
    where = f"cohort {name!r}"
    values = np.array([_count_value(where, t, v) for t, v in enumerate(counts)], dtype=float)
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
            f"{where} has {len(values)} counted period(s); the model needs period 0 "
            "and at least one renewal opportunity",
            hint="pass the count at the end of period 0 and of at least period 1 (leave "
            "out a cohort that has not come up for renewal yet)",
        )
    bad = ~np.isfinite(values) | (values < 0) | (values != np.round(values)) | (values > _MAX_COUNT)
    if bad.any():
        t = int(np.argmax(bad))
        raise DataValidationError(
            "survivors",
            f"{where} has {values[t]:g} customers at period {t}: counts are whole numbers "
            f"from 0 to 2**53",
            hint="pass counts of customers, not shares (multiply shares by the cohort's size)",
        )
    if values[0] <= 0:
        raise DataValidationError(
            "survivors",
            f"{where} starts with {values[0]:g} customers at period 0",
            hint="period 0 holds the cohort's size (> 0); drop an empty cohort (a column of "
            "period numbers belongs in the index)",
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
    the customer cancelled at opportunity ``x + 1``, which is observed even when that
    renewal day lies after ``observation_end`` (so ``n >= x + 1``). A subscription
    without an end (null, NaT, or empty or blank text) is still active: ``x = n``, the
    renewal days up to ``observation_end``.

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
        Not a DataFrame or no rows; a missing column or start date; null, duplicated or
        colliding ids (``1`` and ``"1"``); unreadable, ambiguous or out-of-range dates;
        an end before its start; or a date after ``observation_end``.
    ArgumentError
        An unknown ``period``.

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
    if not isinstance(subscriptions, pd.DataFrame):
        raise DataValidationError(
            "<subscriptions>",
            f"expected a pandas DataFrame, got {type(subscriptions).__name__}",
            hint=f"pass one row per subscription with columns {customer_id_col!r}, "
            f"{start_col!r} and {end_col!r}",
        )
    missing = [c for c in (customer_id_col, start_col, end_col) if c not in subscriptions]
    if missing:
        raise DataValidationError(
            missing[0],
            f"column not found (columns: {list(subscriptions.columns)})",
            hint=f"pass {customer_id_col=}, {start_col=} and {end_col=} naming your columns",
        )
    require_nonempty(subscriptions, "subscriptions table", customer_id_col)
    ids = subscriptions[customer_id_col]
    check = Validator(ids=ids.to_numpy())
    check.check(
        customer_id_col,
        "is missing",
        ids.isna().to_numpy(),
        "give every subscription a customer id, or drop those rows",
        labels=subscriptions.index.to_numpy(),
        label="index labels",
    )
    codes, _ = factorize_ids(ids.to_numpy(), customer_id_col)  # one text form per id
    check.check(
        customer_id_col,
        "appears more than once (one subscription per customer)",
        pd.Series(codes).duplicated(keep=False).to_numpy(),
        "keep one subscription per customer, or give each its own id",
    )
    start = parse_dates(
        subscriptions[start_col], start_col, datetime_format=datetime_format, dayfirst=dayfirst
    )
    end_raw = subscriptions[end_col]
    blank = _blank_text(end_raw)  # an empty end means "still active", as a null does
    end = parse_dates(
        end_raw.mask(blank) if blank.any() else end_raw,
        end_col,
        datetime_format=datetime_format,
        dayfirst=dayfirst,
    )
    check.check(
        start_col,
        f"is outside the supported range {FIRST_DAY} to {LAST_DAY}",
        start.out_of_range,
        "correct the dates",
    )
    check.check(
        start_col,
        "is missing or unreadable",
        np.isnat(start.days),
        "give every subscription its start day",
    )
    check.check(
        end_col,
        f"is outside the supported range {FIRST_DAY} to {LAST_DAY}",
        end.out_of_range,
        "correct the dates, or leave the end empty for an active subscription",
    )
    unreadable = np.isnat(end.days) & end_raw.notna().to_numpy() & ~end.out_of_range & ~blank
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
        span = f"{s[first]} to {c[first]}" if has_end[first] else f"since {s[first]}"
        raise DataValidationError(
            "observation_end",
            f"{obs} is before {int(late.sum())} subscription date(s), e.g. customer "
            f"{id_text(ids.iloc[first])} ({span})",
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


def _blank_text(column: pd.Series) -> np.ndarray:
    """Rows whose value is empty or blank text (``""``, ``"  "``)."""
    if isinstance(column.dtype, pd.StringDtype):  # text only: vectorised
        return column.str.strip().eq("").fillna(False).to_numpy(dtype=bool)
    if column.dtype != object:
        return np.zeros(len(column), dtype=bool)
    return np.fromiter(
        (isinstance(v, str) and not v.strip() for v in column.to_numpy()),
        dtype=bool,
        count=len(column),
    )


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
        return np.char.add(np.char.add(years.astype(str), "-Q"), quarters.astype(str))
    if unit == "M":
        return days.astype("datetime64[M]").astype(str)
    if unit == "W":
        monday = days - ((days.astype("datetime64[D]").astype(np.int64) + 3) % 7).astype(
            "timedelta64[D]"
        )
        return monday.astype(str)
    return days.astype(str)


def refuse_contracts(rfm: pd.DataFrame, model: str) -> None:
    """Refuse a contractual table (metadata ``contractual=True``, as
    :func:`cohort_histories` and :func:`subscription_summary` record) for a
    noncontractual model.

    A subscription table observes every cancellation; a noncontractual model (BG/NBD,
    Pareto/NBD, BG/BB, ...) reads a customer's silence as "alive or gone, unobserved",
    so it would take cancelled subscribers for possibly alive ones, and the renewals
    for purchases at every opportunity.

    Raises
    ------
    DataValidationError
        Naming the table and the contractual model to fit instead.
    """
    meta = rfm_metadata(rfm) if isinstance(rfm, pd.DataFrame) else {}
    if meta.get("contractual", False):
        raise DataValidationError(
            "<rfm>",
            f"this table records a contractual history (renewals, with every cancellation "
            f"observed), but {model} is a noncontractual model: it would read a cancelled "
            "subscriber as possibly still alive",
            hint="Fit a contractual table with clvlab.ShiftedBetaGeo; for a noncontractual "
            "model, build the table from transactions with clvlab.rfm_summary or "
            "clvlab.opportunity_summary",
        )


def validate_contracts(rfm: pd.DataFrame, model: str = "sBG") -> pd.DataFrame:
    """Check a renewal table for a contractual model.

    Rules: the table is not a continuous-time RFM table (metadata ``kind`` other than
    ``"discrete"``, as :func:`clvlab.rfm_summary` records) nor a noncontractual
    discrete-time one (:func:`clvlab.opportunity_summary`'s, without ``contractual``
    in its metadata: a silence after the last transaction is not a cancellation); the
    rules of :func:`clvlab.data.discrete.validate_opportunities` (whole numbers,
    ``x <= n``); and ``recency == frequency`` (renewals are consecutive; a customer who
    cancelled does not come back under the same contract). A table without metadata
    (built by hand) is accepted when it keeps these rules.

    Raises
    ------
    DataValidationError
        Naming the customers and the fix (:func:`cohort_histories`,
        :func:`subscription_summary`).
    """
    meta = rfm_metadata(rfm) if isinstance(rfm, pd.DataFrame) else {}
    kind = meta.get("kind")
    if kind is not None and kind != "discrete":
        raise DataValidationError(
            "<rfm>",
            f"this table records kind {kind!r}: its recency and T are durations in "
            f"continuous time, but {model} counts renewal opportunities",
            hint=_BUILD_IT,
        )
    if kind == "discrete" and not meta.get("contractual", False):
        raise DataValidationError(
            "<rfm>",
            f"this table records a noncontractual discrete-time history (no "
            f"'contractual' in its metadata): a customer's silence after the last "
            f"transaction is not an observed cancellation, but {model} needs one",
            hint=_BUILD_IT + "; fit a noncontractual table with clvlab.BetaGeoBetaBinom",
        )
    try:
        table = validate_opportunities(rfm, model)
    except DataValidationError as exc:
        if "opportunity_summary" not in exc.hint:
            raise
        raise DataValidationError(  # the same rule, with the contractual fix
            exc.column,
            exc.rule,
            exc.n_rows,
            exc.examples,
            _BUILD_IT,
            example_label=exc.example_label,
            example_values=exc.example_values,
            droppable=exc.droppable,
        ) from None
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
