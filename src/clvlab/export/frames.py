"""The rows of each exported table, typed by :mod:`clvlab.export.schema`, in chunks.

Chunks are built one at a time from the predictions table, so a large export never holds
a second full copy of the data. Customer ids are written in their one text form
(:func:`clvlab.data.ids.id_texts`); predictions whose ids collide in that form are
refused by :func:`customer_ids`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from clvlab.data.ids import colliding_ids, id_text, id_texts
from clvlab.decisions.report import Decisions
from clvlab.errors import ExportError
from clvlab.export.schema import (
    ACQUISITION,
    CUSTOMERS,
    DECISION_TABLES,
    FORECAST,
    GROUP_DIFFERENCES,
    GROUPS,
    LONG,
    PARAMETERS,
    RUNS,
    SEGMENT_PROBABILITIES,
    SEGMENTS,
    TableSpec,
)
from clvlab.predict.table import CustomerPredictions, long_format

__all__ = ["chunks", "customer_ids", "decision_frames", "typed"]

DEFAULT_CHUNK_ROWS = 100_000


def typed(frame: pd.DataFrame, spec: TableSpec, *, datetimes: bool = False) -> pd.DataFrame:
    """``frame`` with exactly the columns of ``spec``, in order, with BI-friendly types.

    Text as ``str`` (object column), floats as ``float64``, ints as ``int64``. Dates and
    timestamps are ``datetime.date`` and timezone-aware (UTC) ``datetime`` objects, the
    form every writer takes; with ``datetimes=True`` (the form :func:`read_export`
    returns) they are ``datetime64[ns]`` (midnight, no time zone, missing as ``NaT``) and
    ``datetime64[ns, UTC]``.

    Raises
    ------
    ExportError
        With ``datetimes=True``, a date outside the range of ``datetime64[ns]``
        (1677-09-22 to 2262-04-11).
    """
    out: dict[str, Any] = {}
    for col in spec.columns:
        values = frame[col.name]
        if col.kind == "text":
            out[col.name] = values.astype(str).astype(object)
        elif col.kind == "float":
            out[col.name] = values.astype(np.float64)
        elif col.kind == "int":
            out[col.name] = values.astype(np.int64)
        elif datetimes:
            out[col.name] = _datetime64(values, col.name, col.kind == "timestamp", spec)
        else:  # Python objects, missing as None (what every writer takes)
            stamps = pd.to_datetime(values, utc=col.kind == "timestamp")
            objects = stamps.dt.date if col.kind == "date" else stamps.dt.to_pydatetime()
            array = np.array(objects, dtype=object)  # a copy: pandas views are read-only
            array[stamps.isna().to_numpy()] = None
            out[col.name] = array
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _datetime64(values: pd.Series, name: str, utc: bool, spec: TableSpec) -> pd.Series:
    try:
        converted = pd.to_datetime(values, utc=utc)
        return converted.astype("datetime64[ns, UTC]" if utc else "datetime64[ns]")
    except (pd.errors.OutOfBoundsDatetime, OverflowError) as exc:
        raise ExportError(
            f"column {name!r} of the {spec.name} table holds a date outside the range of "
            f"datetime64[ns] (1677-09-22 to 2262-04-11): {exc}. clvlab does not export "
            "such dates, so the table was changed by something else: fix or remove those "
            "rows"
        ) from exc


def customer_ids(predictions: CustomerPredictions) -> np.ndarray:
    """The customer ids of ``predictions`` in their exported text form.

    Raises
    ------
    ExportError
        Two rows would get the same ``customer_id``: an id appears twice, or two
        different ids have the same text form (``7`` and ``"7"``).
    """
    index = predictions.table.index
    texts = id_texts(index)
    if len(texts) == len(set(texts)):
        return texts
    repeated = index[index.duplicated()].unique()
    if len(repeated):
        examples = ", ".join(id_text(v) for v in repeated[:5])
        raise ExportError(
            f"cannot export: {len(repeated)} customer ids appear more than once in the "
            f"predictions table (e.g. {examples}), which would give duplicate customer_id "
            "rows; make each customer one row (predict on an RFM table from "
            "clvlab.rfm_summary, which has one row per customer). Nothing was written."
        )
    pairs = colliding_ids(index.unique())
    shown = "; ".join(f"{a!r} and {b!r} both become {id_text(a)!r}" for a, b in pairs[:5])
    raise ExportError(
        f"cannot export: customer ids are exported as text, and {len(pairs)} pairs of "
        f"different ids have the same text ({shown}), which would give duplicate "
        "customer_id rows. Decide which they are: one customer (convert the id column "
        "with .astype(str) before clvlab.rfm_summary, so their rows merge) or different "
        "customers (rename one). Nothing was written."
    )


def chunks(
    predictions: CustomerPredictions,
    spec: TableSpec,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ids: np.ndarray | None = None,
) -> Iterator[pd.DataFrame]:
    """The rows of table ``spec`` for one run, ``chunk_rows`` customers at a time.

    ``ids`` are the customer ids as text (:func:`customer_ids`), computed when omitted.
    """
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
    texts = customer_ids(predictions) if ids is None else ids
    for start in range(0, len(table), chunk_rows):
        part = table.iloc[start : start + chunk_rows]
        part_ids = texts[start : start + chunk_rows]
        if spec is CUSTOMERS:
            frame = part.reset_index(drop=True).assign(
                run_id=run["run_id"],
                customer_id=part_ids,
                as_of=run["calibration_end"],
                horizon=run["horizon"],
                horizon_unit=run["horizon_unit"],
                ci_prob=run["ci_prob"],
                interval=run["interval"],
            )
            yield typed(frame, spec)
        elif spec is LONG:
            long = long_format(
                part.set_axis(pd.Index(part_ids, name="customer_id")), run["horizon"]
            )
            yield typed(long.assign(run_id=run["run_id"]), spec)
        else:  # pragma: no cover - every table is handled above
            raise ValueError(spec.name)


def _record(frame: pd.DataFrame, table: str, key: str) -> Any:
    """``frame.attrs["clvlab"][key]``, the record a decision table carries."""
    try:
        return frame.attrs["clvlab"][key]
    except (KeyError, TypeError):
        raise ExportError(
            f"cannot export the {table} table: it lost its record (attrs['clvlab'][{key!r}]), "
            "which the clvlab functions attach and some pandas operations drop. Export the "
            "table clvlab returned, unchanged. Nothing was written."
        ) from None


def decision_frames(decisions: Decisions, run_id: str) -> dict[str, pd.DataFrame]:
    """The rows of each decision table present in ``decisions`` for run ``run_id``,
    typed by :mod:`clvlab.export.schema` (flags as 0/1, ids and groups as text).

    Raises
    ------
    ExportError
        A number is NaN or infinite (nothing clvlab computes is: the table was changed
        by something else), or a forecast lacks its predictive bounds.
    """
    if not isinstance(decisions, Decisions):
        raise ExportError(
            f"decisions= must be clvlab.decisions.Decisions (from clvlab.decide), got "
            f"{type(decisions).__name__}"
        )
    out: dict[str, pd.DataFrame] = {}
    if decisions.segments is not None:
        seg = decisions.segments
        ids = id_texts(seg.index)
        tiers = list(_record(seg, SEGMENTS.name, "tiers"))
        lacking = [f"p_{t}" for t in tiers if f"p_{t}" not in seg.columns]
        if lacking or "tier" not in seg.columns or "at_risk" not in seg.columns:
            raise ExportError(
                f"cannot export the segments table: it lacks {lacking or ['tier', 'at_risk']}; "
                "the table was changed after it was computed. Recompute it. Nothing was written."
            )
        out[SEGMENTS.name] = seg.reset_index(drop=True).assign(
            run_id=run_id,
            customer_id=ids,
            tier=seg["tier"].astype(str).to_numpy(),
        )  # flags (bool) become 0/1 in typed(), once they are checked
        out[SEGMENT_PROBABILITIES.name] = pd.DataFrame(
            {
                "run_id": run_id,
                "customer_id": np.tile(ids, len(tiers)),
                "tier": np.repeat(tiers, len(seg)),
                "tier_rank": np.repeat(np.arange(1, len(tiers) + 1), len(seg)),
                "probability": np.concatenate([seg[f"p_{t}"].to_numpy() for t in tiers]),
            }
        )
    if decisions.groups is not None:
        by = str(decisions.groups.settings["by"])
        groups = decisions.groups.groups
        out[GROUPS.name] = groups.reset_index(drop=True).assign(
            run_id=run_id, by=by, group=id_texts(groups.index)
        )
        diff = decisions.groups.differences
        out[GROUP_DIFFERENCES.name] = diff.assign(
            run_id=run_id,
            by=by,
            group=id_texts(pd.Index(diff["group"])),
            reference=id_texts(pd.Index(diff["reference"])),
        )
    if decisions.forecast is not None:
        forecast = decisions.forecast
        if "revenue_pred_lower" not in forecast:
            raise ExportError(
                "the forecast has no predictive bounds, which the forecast table holds; "
                "compute it with revenue_forecast(..., predictive=True)"
            )
        out[FORECAST.name] = forecast.assign(
            run_id=run_id, period_unit=_record(forecast, FORECAST.name, "unit")
        )
    if decisions.acquisition is not None:
        acq = decisions.acquisition
        out[ACQUISITION.name] = acq.reset_index(drop=True).assign(
            run_id=run_id, group=id_texts(acq.index)
        )
    specs = {spec.name: spec for spec in DECISION_TABLES}
    typed_frames = {}
    changed = "the table was changed after it was computed. Recompute it. Nothing was written."
    for name, frame in out.items():
        spec = specs[name]
        lacking = [c for c in spec.names if c not in frame.columns]
        if lacking:
            raise ExportError(f"cannot export the {name} table: it lacks {lacking}; {changed}")
        # checked before typing: a NaN cannot become an integer, a fraction would be cut
        numbers = [c.name for c in spec.columns if c.kind in ("float", "int")]
        try:
            values = frame[numbers].to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise ExportError(
                f"cannot export the {name} table: {numbers} must hold numbers; {changed}"
            ) from None
        bad = ~np.isfinite(values)
        kinds = {c.name: c.kind for c in spec.columns}
        whole = [j for j, c in enumerate(numbers) if kinds[c] == "int"]
        with np.errstate(invalid="ignore"):
            bad[:, whole] |= values[:, whole] != np.round(values[:, whole])
        if bad.any():
            columns = sorted({numbers[j] for j in np.nonzero(bad)[1]})
            raise ExportError(
                f"cannot export the {name} table: {int(bad.sum())} values of {columns} are "
                "NaN or infinite (or, in an integer column, not whole), which clvlab never "
                f"computes; {changed}"
            )
        typed_frames[name] = typed(frame, spec)
    return typed_frames
