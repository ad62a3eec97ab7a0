"""Transaction log to RFM summary on Spark: :func:`clvlab.rfm_summary`, past one machine.

The summary has the same parameters, rules, errors and numbers as the pandas one:

* every batch of the log is read and checked by the pandas code
  (:func:`clvlab.validate_transactions` in ``mapInPandas``), so the per-row rules and the
  date conventions are not written twice; what needs the whole column (is the text ISO
  8601? which day/month order fits every value? how many rows break a rule, and which ids
  are first?) is merged from per-partition evidence on the cluster
  (:mod:`clvlab.spark._batches`), and the driver receives counts and at most five examples;
* the dates, time unit, calibration and resolution checks are those of
  :func:`clvlab.rfm_summary` itself, run on the log's first and last day;
* the summary is the plain aggregation of the pandas code written as Spark SQL: purchase
  periods per customer, ``frequency`` = calibration periods - 1, ``recency`` and ``T`` in
  the time unit, ``monetary_value`` the mean of the repeat calibration periods' totals.
  Spark adds a customer's values in its own order, so spend equals the pandas value to
  rounding (1e-12 relative, tested on CDNOW and simulated logs); counts, recency and T
  are exact.
"""

from __future__ import annotations

import pickle
import warnings
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from clvlab._imports import require
from clvlab.data.rfm import _META_KEY
from clvlab.data.rfm import rfm_metadata as _pandas_metadata
from clvlab.data.rfm import rfm_summary as _pandas_rfm_summary
from clvlab.data.transactions import (
    DATE_UNITS,
    LAST_DAY,
    _infer_format,
    _refuse_numbers,
    _refuse_partial_offsets,
    check_date_options,
    parse_dates,
    parse_day,
    validate_transactions,
)
from clvlab.data.validation import InvalidPolicy, Validator, require_columns, require_nonempty
from clvlab.errors import DataQualityWarning, DataValidationError
from clvlab.spark._batches import (
    Evidence,
    Reading,
    batch_rows,
    gather_partition,
    merge_records,
    rebuild_error,
    rule_rank,
    with_convention,
)
from clvlab.spark._quiet import quiet_pandas_version
from clvlab.units import days_per_unit, normalize_unit

__all__ = ["rfm_metadata", "rfm_summary"]

_EVIDENCE_SCHEMA = "part long, evidence binary"


def rfm_summary(
    df: Any,
    customer_id_col: str = "customer_id",
    datetime_col: str = "date",
    monetary_value_col: str | None = None,
    time_unit: str = "W",
    calibration_end: object = None,
    observation_end: object = None,
    *,
    datetime_format: str | None = None,
    dayfirst: bool | None = None,
    date_unit: str | None = None,
    invalid: InvalidPolicy = "raise",
    resolution: str = "D",
) -> Any:
    """Summarise a Spark transaction log into one RFM row per customer.

    Parameters, rules and errors are those of :func:`clvlab.rfm_summary`; see it for each
    parameter. The log is validated when this function is called (Spark jobs that return
    only counts and a few example ids); the summary itself is a lazy Spark DataFrame.

    Spark's date types read as pandas' equivalents: ``TimestampType`` is an instant and
    counts on its UTC day (like a time-zone-aware pandas column, whatever the session's
    time zone); ``TimestampNTZType`` counts on its wall-clock day (a naive column);
    ``DateType`` is that day (``datetime64[s]``). Text and numbers read as in pandas:
    ISO 8601 text needs nothing, other text one format for the whole column (ambiguous
    day/month orders need ``dayfirst=`` or ``datetime_format=``), numbers need
    ``date_unit=`` or ``datetime_format=``.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        One row per purchase. Not modified.
    customer_id_col, datetime_col, monetary_value_col, time_unit, calibration_end, \
observation_end, datetime_format, dayfirst, date_unit, invalid, resolution
        As in :func:`clvlab.rfm_summary`.

    Returns
    -------
    pyspark.sql.DataFrame
        One row per customer of the calibration cohort, in no particular order: the
        customer id as text (``customer_id_col``; :func:`clvlab.data.ids.id_text`, so
        ``14527``, not ``14527.0``), then the columns of the pandas result with the same
        types (``frequency`` long, times and spend double, ``frequency_holdout`` long).
        The pandas metadata (time unit, dates, ``dates_read_as``, dropped rows, ...) is
        attached to the schema (the ``frequency`` column's metadata, which ``select``,
        ``filter`` and Parquet keep): read it with :func:`rfm_metadata`.
        :func:`clvlab.spark.fold` reads it too. ``persist()`` the result if you use it
        more than once: each use reads the log again.

    Raises
    ------
    DataValidationError, ArgumentError
        The errors :func:`clvlab.rfm_summary` raises for the same log, with the same
        messages (row counts, the first example ids in row order, offending values).

    Warns
    -----
    DataQualityWarning
        With ``invalid="drop"``, the counts of dropped rows, as in pandas.
    """
    require("pyspark.sql", extra="spark")
    unit = normalize_unit(time_unit)
    if not _is_spark_frame(df):
        raise DataValidationError(
            "<transactions>",
            f"expected a Spark DataFrame, got {type(df).__name__}; for a pandas DataFrame "
            "use clvlab.rfm_summary",
        )
    datetime_format, dayfirst, date_unit = check_date_options(datetime_format, dayfirst, date_unit)
    columns = [customer_id_col, datetime_col] + ([monetary_value_col] if monetary_value_col else [])
    require_columns(pd.DataFrame(columns=list(df.columns)), columns, "transaction")
    Validator(ids=np.empty(0), invalid=invalid)  # refuses an unknown policy, as pandas
    obs = (
        None
        if observation_end is None
        else parse_day(
            observation_end, "observation_end", datetime_format=datetime_format, dayfirst=dayfirst
        )
    )
    reading = _reading(
        df,
        customer_id_col,
        datetime_col,
        monetary_value_col,
        obs,
        invalid,
        (datetime_format, dayfirst, date_unit),
    )
    source = _source(df, reading)
    evidence = _gather(source, reading)
    if evidence.n_rows == 0:
        require_nonempty(pd.DataFrame(columns=columns), "transaction log", customer_id_col)
    if reading.unstated_numbers:
        reading = _refuse_unstated_numbers(evidence, reading)
        evidence = _gather(source, reading)
    if reading.infer_text:
        reading = _decide_text(evidence, reading)
        if reading.datetime_format != "ISO8601":
            evidence = _gather(source, reading)
    _raise_or_warn(evidence, reading, obs)

    assert evidence.min_day is not None and evidence.max_day is not None
    first_day = np.datetime64(evidence.min_day, "D")
    last_day = np.datetime64(evidence.max_day, "D")
    obs_end = obs if obs is not None else np.datetime64(evidence.max_date, "D")
    # the pandas summary of the log's first and last day runs every check of the dates,
    # the unit and the resolution, and records them
    probe = pd.DataFrame(
        {
            customer_id_col: ["first", "last"],
            datetime_col: np.array([first_day, last_day]).astype("datetime64[s]"),
        }
    )
    meta = _pandas_metadata(
        _pandas_rfm_summary(
            probe,
            customer_id_col,
            datetime_col,
            None,
            unit,
            calibration_end,
            obs_end,
            datetime_format=datetime_format,
            dayfirst=dayfirst,
            resolution=resolution,
        )
    )
    cal_end = np.datetime64(meta["calibration_end"], "D")
    with quiet_pandas_version():
        rows = source.mapInPandas(
            partial(batch_rows, reading=reading, with_values=bool(monetary_value_col)),
            "cid string, day long" + (", value double" if monetary_value_col else ""),
        )
    step = int(days_per_unit(resolution))
    base = int(evidence.min_day)
    cal_rel = (int(cal_end.astype(np.int64)) - base) // step
    value = ["value"] if monetary_value_col else []
    periods = rows.selectExpr("cid", f"(day - {base}) div {step} as p", *value)
    frame, n_after = _summarise(
        periods,
        customer_id_col=customer_id_col,
        monetary=bool(monetary_value_col),
        holdout=calibration_end is not None,
        cal_rel=cal_rel,
        scale=days_per_unit(unit) / step,
        duration=float(obs_end.astype(np.int64) - cal_end.astype(np.int64)) / days_per_unit(unit),
    )
    meta.update(
        {
            "n_transactions": int(evidence.n_valid),
            "n_customers_after_calibration": n_after,
            "dropped_rows": _dropped(evidence, reading),
            "dates_read_as": reading.convention or evidence.convention or "",
        }
    )
    return frame.withMetadata("frequency", {_META_KEY: meta})


def rfm_metadata(rfm: Any) -> dict[str, Any]:
    """The metadata :func:`rfm_summary` attached to a Spark RFM table (time unit, dates,
    how the dates were read, ...), as :func:`clvlab.rfm_metadata` gives it for pandas;
    ``{}`` when there is none."""
    for spark_field in rfm.schema.fields:
        meta = (spark_field.metadata or {}).get(_META_KEY)
        if isinstance(meta, dict):
            return dict(meta)
    return {}


# ---- the columns and how to read them ----------------------------------------------------------


def _is_spark_frame(df: Any) -> bool:
    sql = require("pyspark.sql", extra="spark")
    return isinstance(df, sql.DataFrame)


def _reading(
    df: Any,
    id_col: str,
    date_col: str,
    value_col: str | None,
    obs: Any,
    invalid: str,
    options: tuple[str | None, bool | None, str | None],
) -> Reading:
    """How the batches read the log. Text is inferred (first read as ISO 8601) and
    numbers refused only when neither ``datetime_format`` nor ``date_unit`` is given."""
    types = require("pyspark.sql.types", extra="spark")
    datetime_format, dayfirst, date_unit = options
    stated = datetime_format is not None or date_unit is not None
    dtype = df.schema[date_col].dataType
    if isinstance(dtype, types.TimestampNTZType):
        kind = "timestamp_ntz"
    elif isinstance(dtype, types.TimestampType):
        kind = "timestamp"
    elif isinstance(dtype, types.DateType):
        kind = "date"
    else:
        kind = "raw"
    infer_text = isinstance(dtype, types.StringType) and not stated
    return Reading(
        id_col=id_col,
        date_col=date_col,
        value_col=value_col,
        date_kind=kind,
        datetime_format="ISO8601" if infer_text else datetime_format,
        dayfirst=dayfirst,
        date_unit=date_unit,
        observation_end=LAST_DAY if obs is None else obs,
        invalid=invalid,
        infer_text=infer_text,
        unstated_numbers=isinstance(dtype, types.NumericType) and not stated,
    )


def _source(df: Any, reading: Reading) -> Any:
    """The three or four columns the batches read, with Spark dates as day numbers and
    microseconds of the day (exact integers: Arrow would convert timestamps through
    nanoseconds, which wraps dates outside 1677-2262)."""
    picked = [df[reading.id_col].alias("i"), df[reading.date_col].alias("t")]
    if reading.value_col:
        picked.append(df[reading.value_col].alias("v"))
    base = df.select(*picked)
    value = ["v"] if reading.value_col else []
    if reading.date_kind == "date":
        return base.selectExpr("i", "unix_date(t) as d", *value)
    if reading.date_kind in ("timestamp", "timestamp_ntz"):
        micros = (
            "unix_micros(t)"
            if reading.date_kind == "timestamp"
            else "timestampdiff(MICROSECOND, TIMESTAMP_NTZ'1970-01-01 00:00:00', t)"
        )
        day = DATE_UNITS["us"]
        return base.selectExpr("i", f"{micros} as m", *value).selectExpr(
            "i", f"(m - pmod(m, {day})) div {day} as d", f"pmod(m, {day}) as u", *value
        )
    return base.withColumnRenamed("t", "d")


def _gather(source: Any, reading: Reading) -> Evidence:
    """Validate every batch with the pandas code and merge the evidence on the cluster."""
    with quiet_pandas_version():
        parts = source.mapInPandas(partial(gather_partition, reading=reading), _EVIDENCE_SCHEMA)
        merged = parts.repartition(1).mapInPandas(merge_records, _EVIDENCE_SCHEMA).collect()
    evidence = pickle.loads(merged[0]["evidence"])
    assert isinstance(evidence, Evidence)
    return evidence


# ---- column-wide decisions, as pandas takes them on the whole column ------------------------


def _refuse_unstated_numbers(evidence: Evidence, reading: Reading) -> Reading:
    numbers = evidence.numbers
    if numbers is None or numbers.notnull == 0:  # no number at all: the null-date rule
        return replace(reading, unstated_numbers=False)
    sample = pd.Series(numbers.sample, dtype=numbers.dtype)
    try:
        _refuse_numbers(sample, reading.date_col)
    except DataValidationError as exc:
        raise rebuild_error(exc, n_rows=numbers.notnull, example_values=numbers.uniques) from None
    raise AssertionError("unreachable: pandas refuses numbers without a stated meaning")


def _decide_text(evidence: Evidence, reading: Reading) -> Reading:
    """The text column's convention, from the merged evidence (see
    :func:`clvlab.data.transactions.parse_dates`)."""
    text = evidence.text
    name = reading.date_col
    if text is None or (not text.notnull):
        convention = parse_dates(pd.Series(["2000-01-01"], dtype=object), name).convention
        return with_convention(reading, convention, "ISO8601", strip=False)
    if text.aware_rows and text.naive_rows:
        try:
            _refuse_partial_offsets(pd.Series([text.first_aware, text.first_naive]), name)
        except DataValidationError as exc:
            raise rebuild_error(exc, n_rows=text.naive_rows) from None
    failed = text.iso_failed
    if failed == 0 or text.notnull - failed >= failed:
        example = "2000-01-01T00:00+00:00" if text.aware_rows else "2000-01-01"
        convention = parse_dates(pd.Series([example], dtype=object), name).convention
        return with_convention(reading, convention, "ISO8601", strip=False)
    values = pd.Series([value for value, _ in text.texts], dtype=object)
    try:
        fmt, how = _infer_format(values, name, reading.dayfirst)
    except DataValidationError as exc:
        if exc.rule.startswith("dates are ambiguous"):
            rows = text.kind_rows.get("ambiguous", 0)
        elif exc.rule.startswith("no single day/month order"):
            rows = text.kind_rows.get("day_first", 0) + text.kind_rows.get("month_first", 0)
        else:
            rows = text.notnull
        raise rebuild_error(exc, n_rows=rows) from None
    return with_convention(reading, how, fmt, strip=True)


def _fix_rule(rule: str, reading: Reading) -> str:
    """A batch read with the column's inferred format names that format; the column's
    convention is what pandas names."""
    if reading.convention and reading.datetime_format and rule.startswith("date cannot be parsed"):
        return rule.replace(f"format {reading.datetime_format!r}", reading.convention)
    return rule


def _raise_or_warn(evidence: Evidence, reading: Reading, obs: Any) -> None:
    """Raise the error pandas raises first for this log, or warn about dropped rows."""
    errors = sorted(evidence.errors.values(), key=lambda e: rule_rank(e.rule))
    if errors and rule_rank(errors[0].rule) == 0:  # a null id is checked before the dates
        raise rebuild_error(errors[0])
    if evidence.column_error is not None:
        raise evidence.column_error
    if errors:
        raise rebuild_error(errors[0], rule=_fix_rule(errors[0].rule, reading))
    if obs is None and evidence.max_date is None:
        _no_valid_date(reading)
    if evidence.dropped_rows:
        parts = [
            f"{n} with {col!r} {rule}" for (col, rule), n in _ordered_counts(evidence, reading)
        ]
        warnings.warn(
            f"dropped {evidence.dropped_rows} of {evidence.n_rows} rows on request "
            f"(invalid='drop'): " + "; ".join(parts),
            DataQualityWarning,
            stacklevel=3,
        )
    if evidence.n_valid == 0:
        raise DataValidationError(
            reading.id_col,
            "no valid row is left after dropping invalid rows",
            evidence.dropped_rows,
        )


def _no_valid_date(reading: Reading) -> None:
    """pandas' error for a log without one readable date (``invalid="drop"``)."""
    log = pd.DataFrame({reading.id_col: ["x"], reading.date_col: pd.Series([None], dtype=object)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        validate_transactions(log, reading.id_col, reading.date_col, invalid="drop")
    raise AssertionError("unreachable: a log without a date is refused")  # pragma: no cover


def _ordered_counts(evidence: Evidence, reading: Reading) -> list[tuple[tuple[str, str], int]]:
    items = [
        ((col, _fix_rule(rule, reading)), n) for (col, rule), n in evidence.rule_counts.items()
    ]
    return sorted(items, key=lambda item: rule_rank(item[0][1]))


def _dropped(evidence: Evidence, reading: Reading) -> dict[str, int]:
    return {f"{col}: {rule}": n for (col, rule), n in _ordered_counts(evidence, reading)}


# ---- the summary, as Spark SQL -----------------------------------------------------------------


def _summarise(
    periods: Any,
    *,
    customer_id_col: str,
    monetary: bool,
    holdout: bool,
    cal_rel: int,
    scale: float,
    duration: float,
) -> tuple[Any, int]:
    """The RFM columns of :func:`clvlab.rfm_summary` from (customer, period[, value])
    rows, and the number of customers whose first period is after calibration."""
    F = require("pyspark.sql.functions", extra="spark")
    p = F.col("p")
    if monetary:  # one period's purchases count once, with their summed value
        daily = periods.groupBy("cid", "p").agg(F.sum("value").alias("s"))
    else:
        daily = periods.select("cid", "p").distinct()
    in_cal = p <= cal_rel
    aggregates = [
        F.min(p).alias("first"),
        F.count_if(in_cal).alias("n_cal"),
        F.max(F.when(in_cal, p)).alias("last_cal"),
    ]
    if holdout:
        aggregates.append(F.count_if(~in_cal).alias("n_hold"))
    if monetary:
        aggregates += [
            F.sum(F.when(in_cal, F.col("s")).otherwise(F.lit(0.0))).alias("cal_total"),
            F.min_by("s", p).alias("first_total"),
            F.sum(F.when(~in_cal, F.col("s")).otherwise(F.lit(0.0))).alias("hold_total"),
        ]
    customers = daily.groupBy("cid").agg(*aggregates)
    n_after = 0
    if holdout:
        n_after = int(customers.filter(F.col("first") > cal_rel).count())
    customers = customers.filter(F.col("first") <= cal_rel)
    frequency = F.col("n_cal") - 1
    out = [
        F.col("cid").alias(customer_id_col),
        frequency.alias("frequency"),
        ((F.col("last_cal") - F.col("first")).cast("double") / F.lit(scale)).alias("recency"),
        ((F.lit(cal_rel) - F.col("first")).cast("double") / F.lit(scale)).alias("T"),
    ]
    if monetary:
        repeat_total = F.col("cal_total") - F.col("first_total")
        out.append(
            F.when(frequency > 0, repeat_total / frequency.cast("double"))
            .otherwise(F.lit(0.0))
            .alias("monetary_value")
        )
    if holdout:
        out.append(F.col("n_hold").alias("frequency_holdout"))
        if monetary:
            hold_total = F.col("hold_total")
            out.append(
                F.when(F.col("n_hold") > 0, hold_total / F.col("n_hold").cast("double"))
                .otherwise(F.lit(0.0))
                .alias("monetary_value_holdout")
            )
        out.append(F.lit(duration).alias("duration_holdout"))
    return customers.select(*out), n_after
