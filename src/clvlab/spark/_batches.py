"""Reading and checking a transaction log on Spark, one Arrow batch at a time.

Every batch goes through the pandas code itself (:func:`clvlab.validate_transactions`,
which reads the dates with :func:`clvlab.data.transactions.parse_dates`), so the per-row
rules, their messages and the date conventions are those of the pandas path. What needs
the whole column is gathered per batch as small :class:`Evidence` (counts, the first few
offending ids and values, the first distinct date texts) and merged in row order, on the
cluster, into one record for the driver. Nothing per customer reaches the driver.

Batches run in Spark's Python workers: everything here is plain pandas and NumPy.
"""

from __future__ import annotations

import ast
import pickle
import re
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from clvlab.data.ids import id_text, id_texts
from clvlab.data.transactions import (
    _has_offset,
    _text_timestamps,
    day_month_readings,
    parse_dates,
    validate_transactions,
)
from clvlab.errors import ClvlabError, DataQualityWarning, DataValidationError

__all__ = ["Evidence", "Reading", "batch_rows", "gather_partition", "merge_records"]

DAY_US = 86_400_000_000  # microseconds in a day
_FIRST_TEXTS = 100  # pandas infers a text column's format from its first 100 distinct values
_EXAMPLES = 5
_NUMBER_SAMPLE = 1000  # pandas suggests a unit for unstated numeric dates from 1000 values
# The order in which validate_transactions checks its row rules (rule texts begin so); a
# column-wide date problem is found after the first rule and before the others.
_RULE_ORDER = (
    "customer id is null",
    "<column-wide>",
    "date is null",
    "date is outside the supported range",
    "date cannot be parsed",
    "monetary value is not a number",
    "monetary value is not finite",
    "monetary value is negative",
    "transaction after observation_end",
)
_DROPPED = re.compile(r"^dropped (\d+) of (\d+) rows on request \(invalid='drop'\): (.*)$", re.S)
_DROPPED_PART = re.compile(r"^(\d+) with ('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\") (.*)$", re.S)
_NO_ROW_LEFT = "no valid row is left after dropping invalid rows"


def rule_rank(rule: str) -> int:
    """Position of a row rule in validate_transactions' order (unknown rules last)."""
    for rank, start in enumerate(_RULE_ORDER):
        if rule.startswith(start):
            return rank
    return len(_RULE_ORDER)


@dataclass(frozen=True)
class Reading:
    """How every batch is read: the columns, and the date convention decided for the
    whole column (Spark timestamps and dates arrive as day numbers, see
    :func:`batch_frame`)."""

    id_col: str
    date_col: str
    value_col: str | None
    #: "timestamp" (an instant: its UTC day), "timestamp_ntz" (wall clock), "date", or
    #: "raw" (text and numbers, read by pandas as they are)
    date_kind: str
    datetime_format: str | None
    dayfirst: bool | None
    date_unit: str | None
    observation_end: np.datetime64
    invalid: str
    #: text dates whose convention pandas decides from the whole column
    infer_text: bool = False
    #: numbers whose meaning is not stated: pandas refuses them, after a look at the column
    unstated_numbers: bool = False
    #: strip stray spaces, as pandas does before inferring a text format
    strip: bool = False
    #: the column's convention, for the message of unreadable dates (the batches are read
    #: with the format it implies)
    convention: str | None = None

    def options(self) -> dict[str, Any]:
        return {
            "datetime_format": self.datetime_format,
            "dayfirst": None if self.datetime_format else self.dayfirst,
            "date_unit": self.date_unit,
        }


# ---- the batch as pandas would hold it ------------------------------------------------------


def batch_frame(pdf: pd.DataFrame, reading: Reading) -> pd.DataFrame:
    """The batch with the user's column names and the date column as pandas holds it:
    ``datetime64[us, UTC]`` for Spark timestamps, ``datetime64[us]`` for timestamps without
    zone, ``datetime64[s]`` for dates (never through nanoseconds, so no date wraps)."""
    columns: dict[str, Any] = {reading.id_col: pdf["i"]}
    if reading.date_kind in ("timestamp", "timestamp_ntz"):
        day, micros = pdf["d"], pdf["u"]
        null = day.isna().to_numpy()
        ticks = day.to_numpy(dtype=np.float64, na_value=0).astype(np.int64) * DAY_US
        ticks += micros.to_numpy(dtype=np.float64, na_value=0).astype(np.int64)
        stamps = ticks.view("datetime64[us]").copy()
        stamps[null] = np.datetime64("NaT")
        series = pd.Series(stamps)
        columns[reading.date_col] = (
            series.dt.tz_localize("UTC") if reading.date_kind == "timestamp" else series
        )
    elif reading.date_kind == "date":
        day = pdf["d"]
        null = day.isna().to_numpy()
        days = day.to_numpy(dtype=np.float64, na_value=0).astype(np.int64).view("datetime64[D]")
        days = days.astype("datetime64[s]")
        days[null] = np.datetime64("NaT")
        columns[reading.date_col] = pd.Series(days)
    else:
        text = pdf["d"]
        columns[reading.date_col] = text.str.strip() if reading.strip else text
    if reading.value_col:
        columns[reading.value_col] = pdf["v"]
    return pd.DataFrame(columns)


def _validate(frame: pd.DataFrame, reading: Reading, invalid: str) -> Any:
    return validate_transactions(
        frame,
        reading.id_col,
        reading.date_col,
        reading.value_col,
        observation_end=reading.observation_end,
        invalid=invalid,  # type: ignore[arg-type]
        **reading.options(),
    )


def batch_rows(batches: Any, reading: Reading, with_values: bool) -> Any:
    """``mapInPandas`` body: the valid rows of each batch as (id text, day number, value).

    The log was validated before (:func:`gather_partition`); rows a rule drops are those
    ``invalid="drop"`` asked to drop."""
    for pdf in batches:
        if not len(pdf):
            continue
        frame = batch_frame(pdf, reading)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataQualityWarning)  # counted by the evidence
            try:
                cols = _validate(frame, reading, "drop")
            except DataValidationError as exc:
                if exc.rule == _NO_ROW_LEFT:
                    continue
                raise
        ids = cols.ids
        texts = ids.astype(object) if ids.dtype == object and _all_text(ids) else id_texts(ids)
        out = {"cid": texts, "day": cols.days.astype(np.int64)}
        if with_values:
            out["value"] = cols.values
        yield pd.DataFrame(out)


def _all_text(ids: np.ndarray) -> bool:
    return pd.api.types.infer_dtype(ids, skipna=False) == "string"


# ---- evidence ---------------------------------------------------------------------------------


def _merge_examples(first: list[Any], later: list[Any]) -> list[Any]:
    """The first five distinct (by text form) of two example lists in row order."""
    out: list[Any] = []
    seen: set[str] = set()
    for value in [*first, *later]:
        text = id_text(value)
        if text not in seen:
            seen.add(text)
            out.append(value)
            if len(out) == _EXAMPLES:
                break
    return out


def _merge_error(
    first: DataValidationError, later: DataValidationError, offset: int
) -> DataValidationError:
    """One row rule's error over two parts of the log (``later`` starts ``offset`` rows
    after ``first``): counts add, examples are the first five distinct in row order."""
    later_examples = later.examples
    if later.example_label == "index labels":  # row positions, made global
        later_examples = [int(e) + offset for e in later_examples]
    return rebuild_error(
        first,
        n_rows=first.n_rows + later.n_rows,
        examples=_merge_examples(first.examples, later_examples),
        example_values=_merge_examples(first.example_values, later.example_values),
    )


def rebuild_error(error: DataValidationError, **changes: Any) -> DataValidationError:
    """``error`` with some of its fields replaced (counts, examples, rule)."""
    fields: dict[str, Any] = {
        "column": error.column,
        "rule": error.rule,
        "n_rows": error.n_rows,
        "examples": error.examples,
        "hint": error.hint,
        "example_label": error.example_label,
        "example_values": error.example_values,
        "droppable": error.droppable,
    }
    fields.update(changes)
    return DataValidationError(
        fields.pop("column"),
        fields.pop("rule"),
        fields.pop("n_rows"),
        fields.pop("examples"),
        fields.pop("hint"),
        **fields,
    )


@dataclass
class TextEvidence:
    """What pandas looks at in a whole text date column: how many values fail ISO 8601,
    which carry a UTC offset, the first distinct texts (the format is inferred from them)
    and the values whose day and month could be read either way."""

    notnull: int = 0
    iso_failed: int = 0
    aware_rows: int = 0
    naive_rows: int = 0
    first_aware: str | None = None
    first_naive: str | None = None
    #: distinct stripped texts in row order, with their day/month kind ("" for none): the
    #: first 100, and the first five of each kind
    texts: list[tuple[str, str]] = field(default_factory=list)
    kind_rows: dict[str, int] = field(default_factory=dict)

    def merge(self, later: TextEvidence) -> None:
        self.notnull += later.notnull
        self.iso_failed += later.iso_failed
        self.aware_rows += later.aware_rows
        self.naive_rows += later.naive_rows
        self.first_aware = self.first_aware if self.first_aware is not None else later.first_aware
        self.first_naive = self.first_naive if self.first_naive is not None else later.first_naive
        self.texts = _prune_texts([*self.texts, *later.texts])
        for kind, rows in later.kind_rows.items():
            self.kind_rows[kind] = self.kind_rows.get(kind, 0) + rows


def _prune_texts(texts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Distinct texts in order: keep the first 100 and the first five of each kind."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    per_kind: dict[str, int] = {}
    for value, kind in texts:
        if value in seen:
            continue
        seen.add(value)
        keep_kind = bool(kind) and per_kind.get(kind, 0) < _EXAMPLES
        if len(seen) <= _FIRST_TEXTS or keep_kind:
            out.append((value, kind))
            if kind:
                per_kind[kind] = per_kind.get(kind, 0) + 1
    return out


def day_month_kinds(values: pd.Series) -> np.ndarray:
    """For each text, whether its leading day and month read only day-first
    (``"day_first"``), only month-first (``"month_first"``), both with different
    readings (``"ambiguous"``) or neither/the same (``""``): the classes that
    :func:`clvlab.data.transactions._day_month_order` decides a column on."""
    numeric, a, b, as_dm, as_md = day_month_readings(values)
    kinds = np.full(len(values), "", dtype=object)
    if not numeric.any():
        return kinds
    sub = np.full(len(a), "", dtype=object)
    sub[as_dm & ~as_md] = "day_first"
    sub[as_md & ~as_dm] = "month_first"
    sub[as_dm & as_md & (a != b)] = "ambiguous"
    kinds[numeric] = sub
    return kinds


def text_evidence(dates: pd.Series, name: str) -> TextEvidence:
    """:class:`TextEvidence` of one batch of a text date column."""
    ev = TextEvidence()
    notnull = dates.notna().to_numpy()
    text = dates[notnull]
    ev.notnull = len(text)
    if not len(text):
        return ev
    uniques = pd.unique(text.to_numpy(dtype=object))
    aware = np.array([_has_offset(v) for v in uniques], dtype=bool)
    if aware.any():
        ev.first_aware = uniques[aware][0]
        ev.aware_rows = int(text.isin(uniques[aware]).sum())
    if (~aware).any():
        ev.first_naive = uniques[~aware][0]
        ev.naive_rows = int(text.isin(uniques[~aware]).sum())
    if aware.any() and (~aware).any():
        return ev  # the column mixes offsets: refused, nothing else matters
    parsed = _text_timestamps(text, name, "ISO8601", utc=bool(aware.any()))
    ev.iso_failed = int(parsed.isna().sum())
    if ev.iso_failed:
        stripped = text.astype(str).str.strip()
        distinct = pd.Series(pd.unique(stripped.to_numpy(dtype=object)), dtype=object)
        kinds = day_month_kinds(distinct)
        ev.texts = _prune_texts(list(zip(distinct.tolist(), kinds.tolist(), strict=True)))
        for kind in ("ambiguous", "day_first", "month_first"):
            chosen = distinct[kinds == kind]
            if len(chosen):
                ev.kind_rows[kind] = int(stripped.isin(chosen).sum())
    return ev


@dataclass
class NumberEvidence:
    """What pandas looks at when refusing numeric dates of unstated meaning."""

    notnull: int = 0
    dtype: str = ""
    sample: list[Any] = field(default_factory=list)
    uniques: list[Any] = field(default_factory=list)

    def merge(self, later: NumberEvidence) -> None:
        self.notnull += later.notnull
        self.dtype = "float64" if "float64" in (self.dtype, later.dtype) else self.dtype
        self.dtype = self.dtype or later.dtype
        self.sample = [*self.sample, *later.sample][:_NUMBER_SAMPLE]
        merged = list(dict.fromkeys([*self.uniques, *later.uniques]))
        self.uniques = merged[:3]


def number_evidence(dates: pd.Series) -> NumberEvidence:
    values = dates[dates.notna()]
    return NumberEvidence(
        notnull=len(values),
        dtype=str(dates.dtype),
        sample=values.iloc[:_NUMBER_SAMPLE].tolist(),
        uniques=pd.unique(values.to_numpy())[:3].tolist(),
    )


@dataclass
class Evidence:
    """One part of the log (a batch, a partition, the whole log), as validated by the
    pandas code: counts, the first error of each rule with its examples, the days."""

    n_rows: int = 0
    n_valid: int = 0
    min_day: int | None = None
    max_day: int | None = None
    #: the last day of a readable date, also on rows dropped for another rule
    max_date: int | None = None
    #: rows broken per rule (``invalid="drop"``), in check order, and the rows dropped
    rule_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    dropped_rows: int = 0
    #: the first row rule each part breaks, merged per rule (``invalid="raise"``)
    errors: dict[tuple[str, str], DataValidationError] = field(default_factory=dict)
    #: the first column-wide error (it has no row count to add up)
    column_error: ClvlabError | None = None
    convention: str | None = None
    text: TextEvidence | None = None
    numbers: NumberEvidence | None = None

    def merge(self, later: Evidence) -> None:
        """Add ``later``, the part of the log that follows this one."""
        offset = self.n_rows
        self.n_rows += later.n_rows
        self.n_valid += later.n_valid
        self.min_day = _opt(min, self.min_day, later.min_day)
        self.max_day = _opt(max, self.max_day, later.max_day)
        self.max_date = _opt(max, self.max_date, later.max_date)
        for key, rows in later.rule_counts.items():
            self.rule_counts[key] = self.rule_counts.get(key, 0) + rows
        self.dropped_rows += later.dropped_rows
        for key, error in later.errors.items():
            mine = self.errors.get(key) or _empty_like(error)
            self.errors[key] = _merge_error(mine, error, offset)
        self.column_error = self.column_error or later.column_error
        self.convention = self.convention or later.convention
        for name in ("text", "numbers"):
            mine_part, later_part = getattr(self, name), getattr(later, name)
            if mine_part is None:
                setattr(self, name, later_part)
            elif later_part is not None:
                mine_part.merge(later_part)


def _empty_like(error: DataValidationError) -> DataValidationError:
    return rebuild_error(error, n_rows=0, examples=[], example_values=[])


def _opt(pick: Any, a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else pick(a, b)


def _dropped_counts(
    caught: list[warnings.WarningMessage],
) -> tuple[int, dict[tuple[str, str], int]]:
    """Rows dropped and rows per rule, from validate_transactions' one warning."""
    for item in caught:
        match = _DROPPED.match(str(item.message))
        if issubclass(item.category, DataQualityWarning) and match:
            counts: dict[tuple[str, str], int] = {}
            for part in re.split(r"; (?=\d+ with ['\"])", match.group(3)):
                piece = _DROPPED_PART.match(part)
                if piece is None:  # pragma: no cover - the warning's own format
                    raise RuntimeError(f"unexpected drop warning part {part!r}")
                counts[(ast.literal_eval(piece.group(2)), piece.group(3))] = int(piece.group(1))
            return int(match.group(1)), counts
    return 0, {}


def batch_evidence(pdf: pd.DataFrame, reading: Reading) -> Evidence:
    """Validate one batch with the pandas code and keep what the whole log needs."""
    ev = Evidence(n_rows=len(pdf))
    if not len(pdf):
        return ev
    frame = batch_frame(pdf, reading)
    dates = frame[reading.date_col]
    try:
        if reading.infer_text:
            ev.text = text_evidence(dates, reading.date_col)
            if ev.text.aware_rows and ev.text.naive_rows:
                return ev
        if reading.unstated_numbers:
            ev.numbers = number_evidence(dates)
            return ev
        if reading.invalid == "raise":
            cols = _validate(frame, reading, "raise")
        else:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", DataQualityWarning)
                try:
                    cols = _validate(frame, reading, "drop")
                except DataValidationError as exc:
                    if exc.rule != _NO_ROW_LEFT:
                        raise
                    cols = None
            ev.dropped_rows, ev.rule_counts = _dropped_counts(caught)
    except DataValidationError as exc:
        if exc.droppable:
            ev.errors[(exc.column, exc.rule)] = exc
        else:
            ev.column_error = exc
        return ev
    except ClvlabError as exc:
        ev.column_error = exc
        return ev
    if cols is not None and dates.notna().any():
        ev.convention = cols.date_convention
    if cols is not None and len(cols.days):
        day = cols.days.astype(np.int64)
        ev.n_valid, ev.min_day, ev.max_day = len(day), int(day.min()), int(day.max())
        ev.max_date = ev.max_day
    if ev.dropped_rows:  # dropped rows' readable dates count for observation_end
        days = parse_dates(dates, reading.date_col, **reading.options()).days
        readable = days[~np.isnat(days)].astype(np.int64)
        ev.max_date = int(readable.max()) if len(readable) else None
    return ev


def gather_partition(batches: Any, reading: Reading) -> Any:
    """``mapInPandas`` body: one pickled :class:`Evidence` per partition, keyed by the
    partition's index so that the parts merge in row order."""
    from pyspark import TaskContext

    context = TaskContext.get()
    index = context.partitionId() if context is not None else 0
    total = Evidence()
    for pdf in batches:
        total.merge(batch_evidence(pdf, reading))
    yield pd.DataFrame({"part": [index], "evidence": [pickle.dumps(total)]})


def merge_records(batches: Any) -> Any:
    """``mapInPandas`` body on one partition: merge every partition's evidence in order."""
    parts = [pdf for pdf in batches if len(pdf)]
    frame = pd.concat(parts) if parts else pd.DataFrame({"part": [], "evidence": []})
    total = Evidence()
    for blob in frame.sort_values("part")["evidence"]:
        total.merge(pickle.loads(blob))
    yield pd.DataFrame({"part": [0], "evidence": [pickle.dumps(total)]})


def with_convention(reading: Reading, convention: str, fmt: str | None, strip: bool) -> Reading:
    """The reading for a text column once its convention is decided."""
    return replace(reading, datetime_format=fmt, convention=convention, strip=strip)
