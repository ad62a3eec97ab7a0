"""Spark <-> pandas through Arrow, with pyspark's pandas-version notice silenced locally.

pyspark 4.3 warns ``FutureWarning: PySpark does not yet fully support pandas >= 3.0.0``
on every Arrow conversion (``createDataFrame``, ``toPandas``, ``mapInPandas``,
``applyInPandas``), and its ``toPandas`` of a date column passes pandas 3 the deprecated
``copy=`` keyword of ``astype`` (a ``Pandas4Warning``; pyspark's own call, without effect
under copy-on-write). clvlab tests the conversions it uses against pandas (equality of
every column and dtype), so these two messages are silenced around those calls only; no
global warning filter is changed.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

from clvlab.export.schema import TableSpec
from clvlab.spark._quiet import quiet_pandas_version

__all__ = ["quiet", "spark_schema"]

_COPY = ".*The copy keyword is deprecated and will be removed.*"


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence pyspark's pandas-version ``FutureWarning``
    (:func:`clvlab.spark._quiet.quiet_pandas_version`) and its ``copy=`` notice inside
    the block."""
    with quiet_pandas_version(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_COPY)
        yield


def spark_schema(spec: TableSpec, extra: tuple[Any, ...] = ()) -> Any:
    """The Spark schema of an exported table: the Parquet export's types (text as
    string, floats as double, counts as long, dates as date, timestamps as UTC
    timestamps), then the ``extra`` fields."""
    from pyspark.sql import types as T

    kinds = {
        "text": T.StringType(),
        "float": T.DoubleType(),
        "int": T.LongType(),
        "date": T.DateType(),
        "timestamp": T.TimestampType(),
    }
    fields = [T.StructField(c.name, kinds[c.kind], True) for c in spec.columns]
    return T.StructType([*fields, *extra])
