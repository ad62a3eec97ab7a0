"""``clvlab run --engine spark``: read with Spark, summarise and fold on the cluster, fit
on the driver, score on the cluster, write a Parquet folder or an export target.

The settings are the pandas pipeline's (:class:`clvlab.pipeline.PipelineSettings`,
checked by :func:`clvlab.pipeline.check_settings`); the decision tables and
``point_estimates_only`` are not available on Spark and are refused before any work.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any, cast

from clvlab.errors import ArgumentError, ConvergenceError, DataQualityWarning
from clvlab.pipeline import (
    PURCHASE_MODELS,
    SPEND_MODELS,
    PipelineSettings,
    _check_fit,
    _fit_kwargs,
    _step,
    check_settings,
    preflight,
)
from clvlab.predict.table import METRICS

#: Customers Gamma-Gamma is fitted on at most (a seeded sample; see clvlab.spark.fold).
SPEND_SAMPLE = 250_000

__all__ = ["is_folder_target", "read_transactions", "run_spark"]

_FILE_SUFFIXES = (".parquet", ".pq", ".csv")


def is_folder_target(out: str | os.PathLike[str]) -> bool:
    """Whether ``out`` names a Parquet folder (written by Spark) rather than an export
    target of :func:`clvlab.export`: not a URL, and an existing folder, a path ending
    in a separator, or a name without a ``.parquet``/``.pq``/``.csv`` suffix."""
    text = os.fspath(out)
    if "://" in text:
        return False
    return (
        text.endswith(("/", os.sep))
        or Path(text).is_dir()
        or Path(text).suffix.lower() not in _FILE_SUFFIXES
    )


def read_transactions(spark: Any, path: str | os.PathLike[str]) -> Any:
    """A Spark DataFrame of the transactions in ``path``: a ``.parquet`` or ``.csv``
    file, or a folder of them (a CSV needs a header row; its columns are read as text
    and typed by :func:`clvlab.spark.rfm_summary`, as the pandas path reads them).

    Raises
    ------
    ArgumentError
        The path does not exist, or its format cannot be told.
    """
    p = Path(path)
    if not p.exists():
        raise ArgumentError(
            f"transactions {p} do not exist; give a .csv or .parquet file or a folder of "
            "them (one row per purchase)"
        )
    files = [p] if p.is_file() else [f for f in p.rglob("*") if f.is_file()]
    suffixes = {f.suffix.lower() for f in files if not f.name.startswith(("_", "."))}
    if suffixes & {".parquet", ".pq"} and not suffixes & {".csv"}:
        return spark.read.parquet(str(p))
    if suffixes & {".csv"} and not suffixes & {".parquet", ".pq"}:
        return spark.read.csv(str(p), header=True, inferSchema=True)
    raise ArgumentError(
        f"cannot tell the format of transactions {p}: give .csv or .parquet files (a "
        f"folder must hold one of the two kinds; found {sorted(suffixes) or 'no files'})"
    )


def _default_run_id(path: str | os.PathLike[str], s: PipelineSettings) -> str:
    """``<name>-<16 hex digits>``: a SHA-256 of the settings that change the results
    and of the input files' names, sizes and modification times (hashing the data, as
    the pandas path does, would be one more pass over it). The same command on the same
    files replaces its own run."""
    import dataclasses
    import hashlib
    import json
    import re

    p = Path(path)
    recorded = {
        k: v
        for k, v in dataclasses.asdict(s).items()
        if k not in ("run_id", "long", "table_prefix", "progress")
    }
    digest = hashlib.sha256(json.dumps(recorded, sort_keys=True, default=str).encode())
    files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file())
    for f in files:
        info = f.stat()
        digest.update(f"\0{f.relative_to(p) if f != p else f.name}\0{info.st_size}\0".encode())
        digest.update(str(info.st_mtime_ns).encode())
    label = re.sub(r"[^A-Za-z0-9_-]+", "_", p.name.split(".")[0]).strip("_")[:40] or "run"
    return f"{label}-{digest.hexdigest()[:16]}"


def _refuse_unsupported(s: PipelineSettings) -> None:
    asked = [
        name
        for name, on in (
            ("--segments", s.segments),
            ("--group-by", s.group_by is not None),
            ("--forecast", s.forecast),
            ("--cac", s.cac is not None),
            ("--point-estimates-only", s.point_estimates_only),
        )
        if on
    ]
    if asked:
        raise ArgumentError(
            f"{', '.join(asked)} are not available with --engine spark; run them with the "
            "pandas engine (the default) on a sample, or drop them"
        )


def _without_zero_spend(F: Any, rfm: Any, id_col: str) -> Any:
    """The pandas pipeline's rule: customers whose repeat purchases are all worth 0 are
    removed, with a :class:`DataQualityWarning` naming how many and a few of them."""
    zero = (F.col("frequency") > 0) & (F.col("monetary_value") <= 0)
    examples = [str(r[0]) for r in rfm.filter(zero).select(id_col).limit(6).collect()]
    if not examples:
        return rfm
    n = rfm.filter(zero).count()
    ids = ", ".join(examples[:5]) + (", ..." if n > 5 else "")
    noun = "customer" if n == 1 else "customers"
    warnings.warn(
        f"excluded {n} {noun} whose repeat purchases are worth 0 (customer id {ids}): the "
        "Gamma-Gamma spend model and CLV need a positive mean spend",
        DataQualityWarning,
        stacklevel=3,
    )
    return rfm.filter(~zero)


def _check_scores(F: Any, table: Any) -> None:
    """Refuse non-finite predictions, as the pandas pipeline does (counted on the
    cluster)."""
    columns = [f"{m}_{p}" for m in METRICS for p in ("estimate", "lower", "upper")]
    bad = None
    for c in columns:
        cond = F.isnan(F.col(c)) | F.col(c).isNull() | (F.abs(F.col(c)) == float("inf"))
        bad = cond if bad is None else bad | cond
    n = table.filter(bad).count()
    if n:
        raise ConvergenceError(
            f"{n:,} customers would get non-finite predictions; nothing was exported. "
            "Try --method nuts"
        )


def run_spark(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str] | None,
    settings: PipelineSettings,
    *,
    spark: Any = None,
    n_buckets: int | None = None,
) -> Any:
    """The ``clvlab run`` job on Spark. Returns the
    :class:`~clvlab.spark.SparkCustomerPredictions` (persisted; unpersist when done).

    ``spark`` is the session to use (default: :func:`clvlab.spark.local_session`)."""
    from clvlab.spark import fold, rfm_summary
    from clvlab.spark._arrow import quiet
    from clvlab.spark.folding import PURCHASE_COLUMNS, SPEND_COLUMNS
    from clvlab.spark.scoring import predict_customers
    from clvlab.spark.session import local_session
    from clvlab.spark.writers import export_spark, write_parquet

    s = check_settings(settings)
    _refuse_unsupported(s)
    folder = out is not None and is_folder_target(out)
    if out is not None and not folder:
        preflight(out)
    started = time.perf_counter()
    spark = local_session() if spark is None else spark
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    transactions = read_transactions(spark, path)
    _step("building the RFM summary on Spark")
    rfm = rfm_summary(transactions, time_unit=s.time_unit, **s.summary_options())
    rfm = _without_zero_spend(F, rfm, s.customer_col)
    # every later step (two folds, scoring) reads the summary: computed once
    rfm = rfm.persist(StorageLevel.DISK_ONLY)
    _step("folding on Spark")
    with quiet():  # pyspark's toPandas passes pandas 3 a deprecated copy= keyword
        folded = [
            fold(rfm, PURCHASE_COLUMNS),
            # monetary means hardly fold: Gamma-Gamma fits a seeded sample of customers
            fold(rfm, SPEND_COLUMNS, sample=SPEND_SAMPLE, seed=s.seed or 0),
        ]
    kwargs = _fit_kwargs(s)
    models = []
    classes: list[Any] = [PURCHASE_MODELS[s.purchase_model], SPEND_MODELS[s.spend_model]]
    for cls, table in zip(classes, folded, strict=True):
        _step(f"fitting {cls.display_name} by {s.method.upper()} on {len(table):,} rows")
        model = cls(ci_prob=s.ci_prob).fit(table, **kwargs)
        _check_fit(model, False)
        print(model.summary())
        models.append(model)
    purchase, spend = models
    _step(f"scoring {s.horizon:g} {s.horizon_unit} of CLV on Spark")
    run_id = s.run_id or _default_run_id(path, s)
    predictions = predict_customers(
        purchase,
        spend,
        rfm,
        horizon=s.horizon,
        unit=s.horizon_unit,
        discount_rate=float(cast(float, s.discount_rate)),  # set by check_settings
        margin=s.margin,
        seed=s.seed,
        run_id=run_id,
        customer_id_col=s.customer_col,
        n_buckets=n_buckets,
    )
    _check_scores(F, predictions.table)
    run = predictions.run
    print(
        f"{run['customers']:,} customers; total CLV {run['total_clv_estimate']:,.0f} "
        f"({s.ci_prob:.0%} interval {run['total_clv_lower']:,.0f} to "
        f"{run['total_clv_upper']:,.0f}); run id {run['run_id']}"
    )
    if out is not None:
        _step(f"writing {out}")
        if folder:
            written = write_parquet(predictions, out)
        else:
            written = export_spark(predictions, out, long=s.long, table_prefix=s.table_prefix)
        for name, where in written.items():
            print(f"  {name}: {where}")
    print(f"done in {time.perf_counter() - started:.0f} s")
    return predictions
