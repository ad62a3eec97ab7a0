"""The rows of each exported table, typed by :mod:`clvlab.export.schema`, in chunks.

Chunks are built one at a time from the predictions table, so a large export never holds
a second full copy of the data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pandas as pd

from clvlab.export.schema import CUSTOMERS, LONG, PARAMETERS, RUNS, TableSpec
from clvlab.predict.table import CustomerPredictions, long_format

__all__ = ["chunks", "typed"]

DEFAULT_CHUNK_ROWS = 100_000


def typed(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """``frame`` with exactly the columns of ``spec``, in order, with BI-friendly types:
    text as str, floats as float64, ints as int64, dates as ``datetime.date``, timestamps
    as timezone-aware (UTC) datetimes."""
    out = {}
    for col in spec.columns:
        values = frame[col.name]
        if col.kind == "text":
            out[col.name] = values.astype(str).astype(object)
        elif col.kind == "float":
            out[col.name] = values.astype(np.float64)
        elif col.kind == "int":
            out[col.name] = values.astype(np.int64)
        elif col.kind == "date":
            out[col.name] = pd.to_datetime(values).dt.date.astype(object)
        else:
            out[col.name] = pd.to_datetime(values, utc=True).dt.to_pydatetime().astype(object)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def chunks(
    predictions: CustomerPredictions, spec: TableSpec, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """The rows of table ``spec`` for one run, ``chunk_rows`` customers at a time."""
    run = predictions.run
    if spec is RUNS:
        params = {
            f"{row.model}.{row.parameter}": {
                "estimate": row.estimate,
                "lower": row.lower,
                "upper": row.upper,
            }
            for row in predictions.parameters.itertuples()
        }
        row = {**run, "parameters": json.dumps(params, sort_keys=True)}
        yield typed(pd.DataFrame([row]), spec)
        return
    if spec is PARAMETERS:
        yield typed(predictions.parameters.assign(run_id=run["run_id"]), spec)
        return
    table = predictions.table
    for start in range(0, len(table), chunk_rows):
        part = table.iloc[start : start + chunk_rows]
        ids = part.index.astype(str)
        if spec is CUSTOMERS:
            frame = part.reset_index(drop=True).assign(
                run_id=run["run_id"],
                customer_id=np.asarray(ids),
                as_of=run["calibration_end"],
                horizon=run["horizon"],
                horizon_unit=run["horizon_unit"],
                ci_prob=run["ci_prob"],
                interval=run["interval"],
            )
            yield typed(frame, spec)
        elif spec is LONG:
            long = long_format(part, run["horizon"]).assign(run_id=run["run_id"])
            yield typed(long, spec)
        else:  # pragma: no cover - every table is handled above
            raise ValueError(spec.name)
