"""The exported tables: their columns and types, defined once for every target.

Types are chosen for BI tools: ids as text, dates as dates, numbers as floats (counts as
integers), the creation time as a UTC timestamp. Every table carries ``run_id``, so one
run's rows can be replaced and the history of other runs kept.

Tables (the SQL name, or the file name suffix):

``customers`` (the target file itself)
    One row per customer and run: ``run_id``, ``customer_id``, ``as_of`` (the calibration
    end, the date the forecast starts from), ``horizon``, ``horizon_unit``, ``ci_prob``,
    ``interval`` (``eti`` or ``hdi``), then ``estimate``, ``lower`` and ``upper`` of
    ``clv``, ``expected_purchases`` (over the horizon), ``probability_alive`` (at
    ``as_of``) and ``expected_spend`` (per purchase).
``long``
    Optional: ``run_id, customer_id, metric, horizon, estimate, lower, upper``.
``runs``
    One row per run: models, method, horizon, interval, discount rate, margin, the data
    period, customers, total CLV with its interval, the parameters (JSON) and the
    clvlab version and creation time.
``parameters``
    One row per run, model and parameter: ``estimate, lower, upper``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from clvlab.predict.table import METRICS

__all__ = ["TABLES", "Column", "TableSpec"]

Kind = Literal["text", "float", "int", "date", "timestamp"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind


@dataclass(frozen=True)
class TableSpec:
    """A table's name (used as SQL table suffix and file suffix) and its columns."""

    name: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _bounds(prefix: str) -> tuple[Column, ...]:
    return tuple(Column(f"{prefix}_{c}", "float") for c in ("estimate", "lower", "upper"))


CUSTOMERS = TableSpec(
    "customers",
    (
        Column("run_id", "text"),
        Column("customer_id", "text"),
        Column("as_of", "date"),
        Column("horizon", "float"),
        Column("horizon_unit", "text"),
        Column("ci_prob", "float"),
        Column("interval", "text"),
        *(col for metric in METRICS for col in _bounds(metric)),
    ),
)

LONG = TableSpec(
    "long",
    (
        Column("run_id", "text"),
        Column("customer_id", "text"),
        Column("metric", "text"),
        Column("horizon", "float"),
        *(Column(c, "float") for c in ("estimate", "lower", "upper")),
    ),
)

RUNS = TableSpec(
    "runs",
    (
        Column("run_id", "text"),
        Column("created_at", "timestamp"),
        Column("clvlab_version", "text"),
        Column("purchase_model", "text"),
        Column("spend_model", "text"),
        Column("method", "text"),
        Column("horizon", "float"),
        Column("horizon_unit", "text"),
        Column("ci_prob", "float"),
        Column("interval", "text"),
        Column("discount_rate", "float"),
        Column("margin", "float"),
        Column("time_unit", "text"),
        Column("first_transaction", "date"),
        Column("calibration_end", "date"),
        Column("observation_end", "date"),
        Column("customers", "int"),
        *_bounds("total_clv"),
        Column("parameters", "text"),
    ),
)

PARAMETERS = TableSpec(
    "parameters",
    (
        Column("run_id", "text"),
        Column("model", "text"),
        Column("parameter", "text"),
        *(Column(c, "float") for c in ("estimate", "lower", "upper")),
    ),
)

TABLES = {spec.name: spec for spec in (CUSTOMERS, LONG, RUNS, PARAMETERS)}
