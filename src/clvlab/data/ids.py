"""Customer ids: one rule from the RFM summary to the export.

An id is identified by its text form, because that is how it leaves clvlab (exports
write ids as text, and BI tools join on text). :func:`id_text` gives that form:
integers and integral floats print without a decimal part (``14527``, not ``14527.0``;
a float column arises when pandas reads an integer column holding nulls), everything
else as ``str``. Two different ids with the same text form (``7`` and ``"7"``, or
``7`` and ``7.0``) would become one key in an export, so :func:`rfm_summary` refuses
them (see :func:`colliding_ids`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["colliding_ids", "id_text", "id_texts"]


def id_text(value: Any) -> str:
    """The text form of one customer id.

    Examples
    --------
    >>> id_text(14527.0), id_text(7), id_text("A-7"), id_text(np.int64(3))
    ('14527', '7', 'A-7', '3')
    """
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating) and np.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return str(value)


def id_texts(ids: pd.Index | np.ndarray | pd.Series) -> np.ndarray:
    """:func:`id_text` of every id, as an object array of ``str``.

    Examples
    --------
    >>> id_texts(pd.Index([1.0, 2.0])).tolist()
    ['1', '2']
    """
    values = np.asarray(ids)
    if values.dtype.kind in "iu":
        return values.astype(str).astype(object)
    if values.dtype.kind == "f":
        integral = np.isfinite(values) & (values == np.round(values))
        if integral.all() and np.all(np.abs(values) < 2**53):
            return values.astype(np.int64).astype(str).astype(object)
    return np.array([id_text(v) for v in values], dtype=object)


def colliding_ids(ids: pd.Index | np.ndarray | pd.Series) -> list[tuple[Any, Any]]:
    """Pairs of distinct ids (given as unique values) whose text forms are equal.

    Examples
    --------
    >>> colliding_ids(np.array([7, "7", "8"], dtype=object))
    [(7, '7')]
    """
    values = np.asarray(ids, dtype=object) if not isinstance(ids, np.ndarray) else ids
    texts = id_texts(values)
    frame = pd.DataFrame({"text": texts, "position": np.arange(len(texts))})
    duplicated = frame[frame.duplicated("text", keep=False)]
    pairs: list[tuple[Any, Any]] = []
    for _, group in duplicated.groupby("text", sort=False):
        first, *others = group["position"].tolist()
        pairs.extend((values[first], values[o]) for o in others)
    return pairs
