"""pyspark's one known warning about pandas 3, silenced around the calls that emit it.

pyspark 4.3 warns ``FutureWarning: PySpark does not yet fully support pandas >= 3.0.0``
whenever it converts between Spark and pandas (``createDataFrame``, ``toPandas``,
``mapInPandas``). clvlab checks those conversions itself: every Spark result is tested equal
to the pandas one with the dtypes clvlab sends through Arrow (int64 counts, float64 times
and spend, text ids, timestamps and dates). Only that message is silenced, only inside
this context; no global filter is changed.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["quiet_pandas_version"]

_MESSAGE = r"PySpark does not yet fully support pandas >= 3\.0\.0"


@contextmanager
def quiet_pandas_version() -> Iterator[None]:
    """Silence pyspark's pandas-version ``FutureWarning`` inside the ``with`` block."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_MESSAGE, category=FutureWarning)
        yield
