"""Folding a Spark RFM table on the cluster: only the distinct rows reach the driver.

The purchase models' likelihoods depend on a customer only through ``(frequency, recency,
T)``, and Gamma-Gamma's only through ``(frequency, monetary_value)``
(:mod:`clvlab.data.folding`). :func:`fold` counts the customers of each distinct row with
a Spark ``groupBy`` and collects those rows, ordered as :func:`clvlab.fold` orders them.
Every model's ``fit`` takes the result in place of the RFM table and gives the same fit:
the folded arrays it fits on are the same numbers in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from clvlab._imports import require
from clvlab.arguments import check_count
from clvlab.data.rfm import _META_KEY
from clvlab.data.validation import require_columns
from clvlab.errors import ArgumentError, DataValidationError
from clvlab.spark._arrow import quiet as quiet_pandas_version
from clvlab.spark.rfm import rfm_metadata

__all__ = ["PURCHASE_COLUMNS", "SPEND_COLUMNS", "fold"]

#: the sufficient statistics of the purchase models (BG/NBD, MBG/NBD, Pareto/NBD)
PURCHASE_COLUMNS = ("frequency", "recency", "T")
#: those of Gamma-Gamma
SPEND_COLUMNS = ("frequency", "monetary_value")


def fold(
    rfm: Any,
    columns: Sequence[str] = PURCHASE_COLUMNS,
    *,
    max_rows: int = 1_000_000,
    sample: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Distinct rows of a Spark RFM table with their customer counts, on the driver.

    Parameters
    ----------
    rfm : pyspark.sql.DataFrame
        From :func:`clvlab.spark.rfm_summary` (or a table with the same columns, one row
        per customer).
    columns
        ``("frequency", "recency", "T")`` (default) for BG/NBD, MBG/NBD and Pareto/NBD;
        ``("frequency", "monetary_value")`` (:data:`SPEND_COLUMNS`) for Gamma-Gamma.
    max_rows
        The most distinct rows to collect (at least 1). Continuous times rarely fold
        beyond a few thousand rows (whole days); a table with more is refused rather than
        pulled onto the driver.
    sample, seed
        Fold about ``sample`` customers instead of all, when the table has more: each
        customer is kept when a hash of its id and ``seed`` falls below ``sample /
        customers``, so the sample does not depend on the partitioning. Gamma-Gamma's
        ``monetary_value`` is continuous, so its rows hardly fold (on 1M simulated
        customers 685,008 of 685,008 repeat buyers stay distinct); a seeded sample of a
        few hundred thousand customers estimates its three parameters with a standard
        error a few per cent of the full table's. ``attrs["clvlab"]["sample"]`` records
        the customers kept and their total.

    Returns
    -------
    pandas.DataFrame
        ``columns`` and ``weight`` (float64, the number of customers), one row per distinct
        combination, sorted by ``columns`` as :func:`clvlab.fold` sorts its rows. Its
        ``attrs["clvlab"]`` holds the RFM metadata (time unit, dates) plus
        ``folded_on``, so ``BetaGeo().fit(table)`` (or ``GammaGamma().fit`` on the spend
        fold) fits exactly as on the pandas RFM table and records the same time unit.

    Raises
    ------
    DataValidationError
        A column is missing, or there are more than ``max_rows`` distinct rows.
    """
    F = require("pyspark.sql.functions", extra="spark")
    names = _check_columns(columns)
    max_rows = int(check_count("max_rows", max_rows, minimum=1))
    require_columns(
        rfm,
        list(names),
        "RFM",
        hint="fold the table rfm_summary returns (with monetary_value_col= for "
        "Gamma-Gamma's columns)",
    )
    source, sampled = rfm, None
    if sample is not None:
        target = int(check_count("sample", sample, minimum=1))
        total = int(rfm.count())
        if total > target:
            key = F.xxhash64(F.col(rfm.columns[0]).cast("string"), F.lit(int(seed)))
            source = rfm.filter(
                F.pmod(key, F.lit(1 << 30)) < F.lit(int(target / total * (1 << 30)))
            )
        sampled = {"of": total}
    folded = source.groupBy(*names).agg(F.count(F.lit(1)).cast("double").alias("weight"))
    with quiet_pandas_version():
        rows = folded.orderBy(*names).limit(max_rows + 1).toPandas()
    if len(rows) > max_rows:
        raise DataValidationError(
            ", ".join(names),
            f"more than {max_rows:,} distinct rows: the folded table would not be small",
            hint="summarise with a coarser grain (rfm_summary(..., resolution='W')), fold "
            "a seeded sample of customers (sample=250_000), or raise max_rows if the "
            "driver has the memory",
        )
    rows = rows.reset_index(drop=True)
    meta = {**rfm_metadata(rfm), "folded_on": list(names)}
    if sampled is not None:
        meta["sample"] = {"customers": float(rows["weight"].sum()), **sampled}
    rows.attrs[_META_KEY] = meta
    return rows


def _check_columns(columns: Sequence[str]) -> list[str]:
    names = [columns] if isinstance(columns, str) else list(columns)
    if tuple(names) not in (PURCHASE_COLUMNS, SPEND_COLUMNS):
        raise ArgumentError(
            f"columns must be {PURCHASE_COLUMNS} (purchase models) or {SPEND_COLUMNS} "
            f"(Gamma-Gamma), got {columns!r}"
        )
    return names
