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

The decision tables (written when :func:`clvlab.export` gets ``decisions=``, see
:mod:`clvlab.decisions.report`; flags are integers 0/1):

``segments``
    One row per customer: ``tier`` (the tier of the CLV estimate), ``tier_probability``,
    ``clv_estimate``, ``past_value``, ``probability_alive_estimate``, ``p_alive_below``
    and ``at_risk``.
``segment_probabilities``
    One row per customer and tier: ``tier, tier_rank`` (1 = lowest) and ``probability``
    (summing to 1 per customer).
``groups``
    One row per group: ``by`` (what was grouped by), ``group``, ``customers``,
    ``share`` and the estimate and bounds of ``clv_total``, ``clv_mean``,
    ``purchases_mean``, ``probability_alive_mean`` and ``spend_mean``.
``group_differences``
    One row per group and metric against the reference group: ``estimate, lower,
    upper`` of the difference on paired draws, and ``p_greater``.
``forecast``
    One row per future period: ``period``, ``period_end``, ``period_unit``, and the
    estimate, expected-value bounds and predictive bounds of ``purchases`` and
    ``revenue``.
``acquisition``
    One row per CAC (``group`` ``all`` for one value): ``cac``, the new-customer value,
    the CLV:CAC ratio, ``p_value_exceeds_cac``, payback in periods with its
    ``*_censored`` flags (1: more than the horizon) and ``p_payback_within_horizon``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from clvlab.decisions.forecast import FORECAST_COLUMNS
from clvlab.decisions.groups import GROUP_METRICS
from clvlab.predict.table import METRICS

__all__ = ["DECISION_TABLES", "TABLES", "Column", "TableSpec"]

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
        Column("historic_clv", "float"),
        Column("simple_clv", "float"),
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

_KEYS = (Column("run_id", "text"),)

SEGMENTS = TableSpec(
    "segments",
    (
        *_KEYS,
        Column("customer_id", "text"),
        Column("tier", "text"),
        Column("tier_probability", "float"),
        Column("clv_estimate", "float"),
        Column("past_value", "float"),
        Column("probability_alive_estimate", "float"),
        Column("p_alive_below", "float"),
        Column("at_risk", "int"),
    ),
)

SEGMENT_PROBABILITIES = TableSpec(
    "segment_probabilities",
    (
        *_KEYS,
        Column("customer_id", "text"),
        Column("tier", "text"),
        Column("tier_rank", "int"),
        Column("probability", "float"),
    ),
)

GROUPS = TableSpec(
    "groups",
    (
        *_KEYS,
        Column("by", "text"),
        Column("group", "text"),
        Column("customers", "int"),
        Column("share", "float"),
        *(col for metric in GROUP_METRICS for col in _bounds(metric)),
    ),
)

GROUP_DIFFERENCES = TableSpec(
    "group_differences",
    (
        *_KEYS,
        Column("by", "text"),
        Column("group", "text"),
        Column("reference", "text"),
        Column("metric", "text"),
        *(Column(c, "float") for c in ("estimate", "lower", "upper")),
        Column("p_greater", "float"),
    ),
)

FORECAST = TableSpec(
    "forecast",
    (
        *_KEYS,
        Column("period", "int"),
        Column("period_end", "float"),
        Column("period_unit", "text"),
        *(Column(c, "float") for c in FORECAST_COLUMNS),
    ),
)

ACQUISITION = TableSpec(
    "acquisition",
    (
        *_KEYS,
        Column("group", "text"),
        Column("cac", "float"),
        *_bounds("value"),
        *_bounds("ratio"),
        Column("p_value_exceeds_cac", "float"),
        *(Column(f"payback_{c}", "int") for c in ("estimate", "lower", "upper")),
        *(Column(f"payback_{c}_censored", "int") for c in ("estimate", "lower", "upper")),
        Column("p_payback_within_horizon", "float"),
    ),
)

#: The decision tables, in the order they are written.
DECISION_TABLES = (
    SEGMENTS,
    SEGMENT_PROBABILITIES,
    GROUPS,
    GROUP_DIFFERENCES,
    FORECAST,
    ACQUISITION,
)

TABLES = {spec.name: spec for spec in (CUSTOMERS, LONG, RUNS, PARAMETERS, *DECISION_TABLES)}
