"""Per-customer predictions on Spark: the pandas :func:`clvlab.predict_customers`,
called once per bucket of customers.

The customers of a Spark RFM table are split into buckets by a stable hash of their id
text (Spark's ``xxhash64``); inside a bucket they are sorted by id. Each bucket is one
call of the pandas :func:`clvlab.predict_customers` (``applyInPandas``), on models
rebuilt on the worker from their saved bytes (:func:`clvlab.io.save_model`, broadcast
once; no PyMC object is pickled). A bucket's random stream is
``SeedSequence([seed, bucket])``. What a customer gets depends only on its row, the
models, the settings and the number of buckets (a function of the number of
customers), never on how Spark partitions the table.

What is global in the pandas function stays global:

- the retention of the simple formula (:func:`clvlab.retention_rate`) is estimated on
  the cluster from the whole table (events and exposure summed exactly), unless given;
- the run record's customer count and total CLV: each bucket returns its per-draw CLV
  totals (a vector of ``n_draws``, the ones its ``predict_customers`` computed for its
  own interval: ``CustomerPredictions.clv_total_draws``), the vectors are summed in
  bucket order, and the interval of the sum is the pandas one
  (:func:`clvlab.inference.draws.interval`).

Nothing per customer reaches the driver: the driver collects one small row per 64
buckets, and for a bad input at most a few example ids.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from clvlab import errors as _errors
from clvlab._imports import require
from clvlab.arguments import check_count
from clvlab.data.ids import id_texts
from clvlab.data.rfm import validate_rfm
from clvlab.data.validation import require_columns
from clvlab.decisions.simple import RetentionEstimate
from clvlab.errors import ClvlabError, DataValidationError
from clvlab.export.frames import chunks, typed
from clvlab.export.schema import CUSTOMERS, RUNS
from clvlab.inference.draws import interval
from clvlab.predict.table import CustomerPredictions
from clvlab.predict.table import predict_customers as _pandas_predict_customers
from clvlab.spark._arrow import quiet, spark_schema
from clvlab.units import convert, normalize_unit

__all__ = [
    "CUSTOMERS_PER_BUCKET",
    "SparkCustomerPredictions",
    "bucket_count",
    "predict_customers",
]

#: Customers per bucket by default: one pandas call each (a few seconds of work).
CUSTOMERS_PER_BUCKET = 50_000
#: The most buckets :func:`bucket_count` chooses.
MAX_BUCKETS = 65_536
_BLOCK = 64  # buckets per row of the totals collected to the driver
_RFM = ("frequency", "recency", "T", "monetary_value")
_KIND, _BUCKET, _PAYLOAD, _DRAWS, _SUMS = "_kind", "_bucket", "_payload", "_draws", "_sums"
# per-bucket sums, in this order
_SUM_FIELDS = ("customers", "clv", "historic_clv", "simple_clv", "lifespan_clv", "revenue", "x")


@dataclass
class SparkCustomerPredictions:
    """Per-customer predictions as a Spark DataFrame, and the record of their run.

    Attributes
    ----------
    table
        A Spark DataFrame with the columns and types of the exported customers table
        (:data:`clvlab.export.schema.CUSTOMERS`: ``run_id``, ``customer_id`` as text,
        ``as_of`` as a date, then estimate, lower and upper of every metric). It is
        persisted (on disk): call :meth:`unpersist` when done with it.
    run, parameters
        As :class:`clvlab.predict.table.CustomerPredictions`: the run record (customer
        count and total CLV with its interval over all customers) and the parameter
        table.
    """

    table: Any
    run: dict[str, Any]
    parameters: pd.DataFrame = field(repr=False)
    _scored: Any = field(default=None, repr=False)

    @property
    def run_id(self) -> str:
        return str(self.run["run_id"])

    def record(self) -> CustomerPredictions:
        """The run record and parameters as pandas :class:`CustomerPredictions` with no
        customer rows (what the export writers take for the runs and parameters tables)."""
        empty = pd.DataFrame(index=pd.Index([], name="customer_id"))
        return CustomerPredictions(empty, dict(self.run), self.parameters)

    def customer_chunks(self, chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
        """The customer rows streamed to the driver, ``chunk_rows`` at a time (one
        Spark partition at a time), typed like :func:`clvlab.export.frames.chunks`."""
        chunk_rows = check_count("chunk_rows", chunk_rows)
        names = CUSTOMERS.names
        rows: list[tuple[Any, ...]] = []
        with quiet():
            stream = self.table.toLocalIterator(prefetchPartitions=False)
        for row in stream:
            rows.append(tuple(row))
            if len(rows) >= chunk_rows:
                yield typed(pd.DataFrame.from_records(rows, columns=names), CUSTOMERS)
                rows = []
        if rows:
            yield typed(pd.DataFrame.from_records(rows, columns=names), CUSTOMERS)

    def unpersist(self) -> None:
        """Release the cached scores."""
        if self._scored is not None:
            self._scored.unpersist()


def bucket_count(n_customers: int, per_bucket: int = CUSTOMERS_PER_BUCKET) -> int:
    """Buckets for ``n_customers``: one per ``per_bucket`` customers (at least 1, at
    most :data:`MAX_BUCKETS`). It depends on the data only, never on the partitioning."""
    return int(min(MAX_BUCKETS, max(1, math.ceil(n_customers / per_bucket))))


# ----------------------------------------------------------------------------- models
def model_bytes(model: Any) -> bytes:
    """``model`` in clvlab's model-file format (:func:`clvlab.io.save_model`)."""
    from clvlab.io import save_model

    with tempfile.TemporaryDirectory(prefix="clvlab-model-") as folder:
        path = Path(folder) / "model.nc"
        save_model(model, path)
        return path.read_bytes()


_LOADED: dict[str, Any] = {}


def model_from_bytes(blob: bytes) -> Any:
    """The model of :func:`model_bytes`, loaded (and checked) by :func:`clvlab.load`
    once per worker process."""
    from clvlab.io import load_model

    key = hashlib.sha256(blob).hexdigest()
    if key not in _LOADED:
        with tempfile.TemporaryDirectory(prefix="clvlab-model-") as folder:
            path = Path(folder) / "model.nc"
            path.write_bytes(blob)
            _LOADED[key] = load_model(path)
    return _LOADED[key]


# --------------------------------------------------------------------------- errors
def _error_payload(exc: ClvlabError) -> str:
    record: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, DataValidationError):
        record.update(
            column=exc.column,
            rule=exc.rule,
            n_rows=exc.n_rows,
            examples=[_plain(v) for v in exc.examples],
            hint=exc.hint,
            example_label=exc.example_label,
            example_values=[_plain(v) for v in exc.example_values],
            droppable=exc.droppable,
        )
    return json.dumps(record, default=str)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _raise_merged(records: list[dict[str, Any]]) -> None:
    """Raise the error of the first bucket that failed; a data rule's row count is
    summed over every bucket that stopped at the same rule."""
    first = records[0]
    cls: Any = getattr(_errors, first["type"], ClvlabError)
    if not (isinstance(cls, type) and issubclass(cls, ClvlabError)):
        cls = ClvlabError
    if cls is DataValidationError or issubclass(cls, DataValidationError):
        same = [
            r
            for r in records
            if (r.get("column"), r.get("rule")) == (first["column"], first["rule"])
        ]
        examples = [e for r in same for e in r["examples"]][:5]
        values = [v for r in same for v in r["example_values"]][:5]
        raise cls(
            first["column"],
            first["rule"],
            sum(int(r["n_rows"]) for r in same),
            examples,
            first["hint"],
            example_label=first["example_label"],
            example_values=values,
            droppable=first["droppable"],
        )
    raise cls(first["message"])


# -------------------------------------------------------------------------- workers
@dataclass(frozen=True)
class _Job:
    """What every bucket needs: the models' bytes (broadcast), the id column and the
    settings of the pandas call."""

    models: Any  # a Spark broadcast of (purchase bytes, spend bytes)
    id_col: str
    meta: dict[str, Any]
    settings: dict[str, Any]
    retention: float | RetentionEstimate
    seed: int | None
    columns: tuple[str, ...]


def _bucket_seed(seed: int | None, bucket: int) -> int | None:
    if seed is None:
        return None
    state = np.random.SeedSequence([int(seed), int(bucket)]).generate_state(2, np.uint32)
    return int(state[0]) << 32 | int(state[1])


def _score_bucket(job: _Job, pdf: pd.DataFrame) -> pd.DataFrame:
    """One bucket: the pandas predictions of its customers (sorted by id text), plus a
    row holding its sums, or one row holding its error."""
    bucket = int(pdf[_BUCKET].iloc[0])
    extra: dict[str, Any] = {_BUCKET: bucket, _KIND: 1, _PAYLOAD: None, _DRAWS: None, _SUMS: None}
    try:
        texts = id_texts(pdf[job.id_col].to_numpy())
        order = np.argsort(texts.astype(str), kind="stable")
        ids = pd.Index(pdf[job.id_col].to_numpy()[order], name=job.id_col)
        rfm = pd.DataFrame({c: pdf[c].to_numpy()[order] for c in job.columns}, index=ids)
        rfm.attrs["clvlab"] = dict(job.meta)
        purchase_bytes, spend_bytes = job.models.value
        purchase, spend = model_from_bytes(purchase_bytes), model_from_bytes(spend_bytes)
        predictions = _pandas_predict_customers(
            purchase,
            spend,
            rfm,
            seed=_bucket_seed(job.seed, bucket),
            retention=cast(Any, job.retention),  # simple_clv takes an estimate too
            **job.settings,
        )
        rows = next(chunks(predictions, CUSTOMERS, max(len(rfm), 1)))
        # the bucket's CLV total under each draw, as its predictions computed it
        draws = predictions.clv_total_draws
        if draws is None:  # pragma: no cover - predict_customers always records it
            raise RuntimeError("predict_customers recorded no per-draw CLV total")
        simple = predictions.run["simple_clv"]
        x = rfm["frequency"].to_numpy(dtype=float)
        m = rfm["monetary_value"].to_numpy(dtype=float)
        sums = np.array(
            [
                len(rfm),
                float(np.sum(predictions.table["clv_estimate"].to_numpy())),
                simple["totals"]["historic_clv"],
                simple["totals"]["simple_clv"],
                simple["totals"]["lifespan_clv"],
                float(np.sum(x * m)),
                float(np.sum(x)),
            ]
        )
        extra.update(
            {
                _PAYLOAD: json.dumps(simple, default=str),
                _DRAWS: np.ascontiguousarray(draws, dtype="<f8").tobytes(),
                _SUMS: sums.astype("<f8").tobytes(),
            }
        )
    except ClvlabError as exc:
        rows = pd.DataFrame(columns=CUSTOMERS.names)
        extra.update({_KIND: 2, _PAYLOAD: _error_payload(exc)})
    out = rows.assign(**{_BUCKET: bucket, _KIND: 0, _PAYLOAD: None, _DRAWS: None, _SUMS: None})
    tail = pd.DataFrame(
        {name: [None] for name in CUSTOMERS.names} | {k: [v] for k, v in extra.items()}
    )
    return pd.concat([out, tail.astype(out.dtypes.to_dict())], ignore_index=True)


def _sum_block(pdf: pd.DataFrame) -> pd.DataFrame:
    """The sums of up to :data:`_BLOCK` buckets, added in bucket order (so the result
    does not depend on the order Spark delivers them)."""
    pdf = pdf.sort_values(_BUCKET, kind="stable")
    draws = sum(np.frombuffer(b, dtype="<f8") for b in pdf[_DRAWS])
    sums = sum(np.frombuffer(b, dtype="<f8") for b in pdf[_SUMS])
    return pd.DataFrame(
        {
            "block": [int(pdf[_BUCKET].iloc[0]) // _BLOCK],
            _DRAWS: [np.asarray(draws, dtype="<f8").tobytes()],
            _SUMS: [np.asarray(sums, dtype="<f8").tobytes()],
            _PAYLOAD: [pdf[_PAYLOAD].iloc[0]],
        }
    )


# ------------------------------------------------------------------------- the driver
def _probe(meta: Mapping[str, Any]) -> pd.DataFrame:
    """A one-customer RFM table carrying ``meta``: the pandas checks of the models and
    settings run on it before any work on the cluster (same errors, same messages)."""
    probe = pd.DataFrame(
        {"frequency": [0], "recency": [0.0], "T": [1.0], "monetary_value": [0.0]},
        index=pd.Index(["probe"], name="customer_id"),
    )
    probe.attrs["clvlab"] = dict(meta)
    return probe


def _estimate_retention(
    F: Any, rfm: Any, rfm_unit: str, unit: str, n_customers: int
) -> RetentionEstimate:
    """:func:`clvlab.retention_rate` (default lapse of half a year) on the cluster: the
    events and the exposure are plain sums (the exposure summed exactly, as a decimal,
    so that it does not depend on the partitioning); the pandas function's errors are
    raised by the pandas function itself, on a one-customer table with the longest T."""
    from clvlab.decisions.simple import retention_rate

    lapse = convert(0.5, "Y", unit)
    scale = convert(1.0, rfm_unit, unit)
    t_x = F.col("recency").cast("double") * F.lit(scale)
    big_t = F.col("T").cast("double") * F.lit(scale)
    at_risk = F.least(t_x + F.lit(lapse), big_t)
    row = rfm.agg(
        F.sum(F.when(t_x + F.lit(lapse) <= big_t, 1).otherwise(0)).alias("events"),
        F.sum(at_risk.cast("decimal(38,18)")).alias("exposure"),
        F.max(big_t).alias("longest"),
    ).collect()[0]
    longest = float(row["longest"] or 0.0)
    if longest <= 0 or longest < lapse:
        table = pd.DataFrame(
            {"frequency": [0], "recency": [0.0], "T": [longest / scale]},
            index=pd.Index(["probe"], name="customer_id"),
        )
        try:
            retention_rate(table, unit=unit, time_unit=rfm_unit)
        except DataValidationError as exc:  # every customer has T = 0: count them all
            raise DataValidationError(exc.column, exc.rule, n_customers, hint=exc.hint) from None
    events = int(row["events"])
    exposure = float(row["exposure"])
    return RetentionEstimate(
        math.exp(-events / exposure), events, exposure, float(lapse), unit, n_customers
    )


def predict_customers(
    purchase: Any,
    spend: Any,
    rfm: Any,
    *,
    horizon: float = 12.0,
    unit: str = "M",
    discount_rate: float = 0.0,
    margin: float = 1.0,
    seed: int | None = None,
    run_id: str | None = None,
    time_unit: str | None = None,
    retention: float | RetentionEstimate | None = None,
    customer_id_col: str = "customer_id",
    meta: Mapping[str, Any] | None = None,
    n_buckets: int | None = None,
) -> SparkCustomerPredictions:
    """:func:`clvlab.predict_customers` over a Spark RFM table.

    Parameters
    ----------
    purchase, spend
        Fitted models (any method), as for the pandas function. They are fitted on the
        driver (on the folded table of :func:`clvlab.spark.fold`).
    rfm
        A Spark DataFrame with one row per customer: ``customer_id_col`` and
        ``frequency``, ``recency``, ``T``, ``monetary_value`` (as
        :func:`clvlab.spark.rfm_summary` gives them).
    horizon, unit, discount_rate, margin, seed, run_id, time_unit, retention
        As for :func:`clvlab.predict_customers`. ``retention`` omitted is estimated
        from the whole table on the cluster. ``seed`` seeds each bucket with
        ``SeedSequence([seed, bucket])``.
    customer_id_col
        The id column.
    meta
        The table's metadata (``time_unit``, ``first_transaction``,
        ``calibration_end``, ``observation_end``); read from the schema
        (:func:`clvlab.spark.rfm_metadata`) when omitted.
    n_buckets
        Buckets of customers, one pandas call each; by default :func:`bucket_count`
        of the number of customers. Results depend on it only through floating-point
        rounding of the totals (never on the partitioning).

    Returns
    -------
    SparkCustomerPredictions
        The customers table (Spark, persisted) and the run record.

    Raises
    ------
    ArgumentError, UnitMismatchError, NotFittedError, DataValidationError, ExportError
        As the pandas function, with the same messages; a data rule's count is over all
        customers (summed over the buckets that stopped at that rule).
    """
    require("pyspark", extra="spark")
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    columns = list(rfm.columns)
    require_columns(pd.DataFrame(columns=columns), [customer_id_col], "customer id")
    require_columns(pd.DataFrame(columns=columns), list(_RFM), "RFM")
    from clvlab.spark.rfm import rfm_metadata

    meta = dict(rfm_metadata(rfm) if meta is None else meta)
    if retention is not None and not isinstance(retention, RetentionEstimate):
        from clvlab.arguments import check_probability

        retention = check_probability("retention", retention)
    # every check of the pandas function on the models and settings, before any work
    probe = _pandas_predict_customers(
        purchase,
        spend,
        _probe(meta),
        horizon=horizon,
        unit=unit,
        discount_rate=discount_rate,
        margin=margin,
        seed=seed,
        run_id=run_id,
        time_unit=time_unit,
        retention=cast(Any, 0.5 if retention is None else retention),
    )
    run = probe.run
    settings = {
        "horizon": run["horizon"],
        "unit": run["horizon_unit"],
        "discount_rate": run["discount_rate"],
        "margin": run["margin"],
        "run_id": run["run_id"],
        "time_unit": run["time_unit"],
    }
    n_customers = rfm.count()
    if n_customers == 0:
        validate_rfm(pd.DataFrame(columns=list(_RFM)))  # the pandas error of an empty table
    if n_buckets is None:
        n_buckets = bucket_count(n_customers)
    n_buckets = check_count("n_buckets", n_buckets)
    estimated = retention is None
    if retention is None:
        retention = _estimate_retention(F, rfm, run["time_unit"], normalize_unit(unit), n_customers)
    spark = rfm.sparkSession
    models = spark.sparkContext.broadcast((model_bytes(purchase), model_bytes(spend)))
    job = _Job(
        models=models,
        id_col=customer_id_col,
        meta=meta,
        settings=settings,
        retention=retention,
        seed=seed,
        columns=_RFM,
    )
    extra = (
        T.StructField(_BUCKET, T.IntegerType(), False),
        T.StructField(_KIND, T.IntegerType(), False),
        T.StructField(_PAYLOAD, T.StringType(), True),
        T.StructField(_DRAWS, T.BinaryType(), True),
        T.StructField(_SUMS, T.BinaryType(), True),
    )
    schema = spark_schema(CUSTOMERS, extra)
    keyed = rfm.select(
        F.col(customer_id_col),
        *(F.col(c) for c in _RFM),
        F.pmod(F.xxhash64(F.col(customer_id_col).cast("string")), F.lit(n_buckets))
        .cast("int")
        .alias(_BUCKET),
    )

    def score(pdf: pd.DataFrame) -> pd.DataFrame:
        return _score_bucket(job, pdf)

    with quiet():
        # one partition per bucket (hash collisions aside), so the scored partitions stay
        # about bucket-sized (50,000 customers) whatever the session's shuffle partitions:
        # 10M customers in 4 shuffle partitions ran the JVM out of heap when written
        keyed = keyed.repartition(n_buckets, F.col(_BUCKET))
        scored = keyed.groupBy(_BUCKET).applyInPandas(score, schema)
        # on disk: a cache of wide score rows in the heap ran a 2 GB local JVM out of
        # memory at 10M customers; the table is read three times (errors, totals, write)
        scored = scored.persist(StorageLevel.DISK_ONLY)
        failed = (
            scored.filter(F.col(_KIND) == 2)
            .select(_BUCKET, _PAYLOAD)
            .orderBy(_BUCKET)
            .limit(100)
            .collect()
        )
        if failed:
            scored.unpersist()
            _raise_merged([json.loads(r[_PAYLOAD]) for r in failed])
        blocks = (
            scored.filter(F.col(_KIND) == 1)
            .select(_BUCKET, _PAYLOAD, _DRAWS, _SUMS)
            .withColumn("block", (F.col(_BUCKET) / F.lit(_BLOCK)).cast("int"))
            .groupBy("block")
            .applyInPandas(
                _sum_block,
                "block int, _draws binary, _sums binary, _payload string",
            )
            .orderBy("block")
            .collect()
        )
    draws = np.sum([np.frombuffer(r[_DRAWS], dtype="<f8") for r in blocks], axis=0)
    totals = np.sum([np.frombuffer(r[_SUMS], dtype="<f8") for r in blocks], axis=0)
    sums = dict(zip(_SUM_FIELDS, totals.tolist(), strict=True))
    lower, upper = interval(np.asarray(draws), run["ci_prob"], run["interval"])
    simple = json.loads(blocks[0][_PAYLOAD])
    simple["totals"] = {k: float(sums[k]) for k in ("historic_clv", "simple_clv", "lifespan_clv")}
    simple["population_order_value"] = float(sums["revenue"] / sums["x"]) if sums["x"] > 0 else 0.0
    if estimated:
        assert isinstance(retention, RetentionEstimate)
        simple["retention"] = retention.as_dict()
    run.update(
        customers=int(sums["customers"]),
        total_clv_estimate=float(sums["clv"]),
        total_clv_lower=float(lower),
        total_clv_upper=float(upper),
        simple_clv=simple,
    )
    table = scored.filter(F.col(_KIND) == 0).select(*CUSTOMERS.names)
    return SparkCustomerPredictions(table, run, probe.parameters, scored)


def runs_row(predictions: SparkCustomerPredictions) -> pd.DataFrame:
    """The run's row of the runs table (typed as the export writes it)."""
    return next(chunks(predictions.record(), RUNS))
