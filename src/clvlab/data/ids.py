"""Customer ids: one rule from the RFM summary to the export.

An id leaves clvlab as text (exports write ids as text, and BI tools join on text), so
every id must have exactly one text form, and every text form must belong to exactly
one id. :func:`id_text` gives that form: integers and integral floats print without a
decimal part (``14527``, not ``14527.0``; a float column arises when pandas reads an
integer column holding nulls), everything else as ``str``.

:func:`factorize_ids` (used by :func:`clvlab.rfm_summary` and :func:`clvlab.validate_rfm`)
enforces the rule:

* different ids with the same text form (``7`` and ``"7"``) would become one key in an
  export: refused;
* ids that Python and pandas treat as equal but that print differently (``True`` and
  ``1``) would be merged silently: refused;
* equal ids with the same text form (``7`` and ``7.0``) are one customer, as pandas
  already groups them.

Float ids are kept as the caller gave them (the RFM index holds ``14527.0``); only their
text form drops the ``.0``. Floats above 2**53 cannot hold every integer exactly, so a
float id column of such numbers has already lost digits when it was read: read the column
as ``Int64`` or ``str`` instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clvlab.errors import DataValidationError

__all__ = ["colliding_ids", "factorize_ids", "id_text", "id_texts", "mixes_types"]


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


# pandas' inferred kinds of object arrays whose values cannot collide: equal values of one
# such kind have one text form, and different values different text forms.
_HOMOGENEOUS = frozenset({"string", "integer", "floating", "boolean", "empty"})


def mixes_types(ids: np.ndarray) -> bool:
    """Whether an id array could break the one-text-form rule: only object arrays that
    mix kinds of values (numbers and text, ints and bools, ...) can."""
    return ids.dtype == object and pd.api.types.infer_dtype(ids, skipna=True) not in _HOMOGENEOUS


def factorize_ids(ids: np.ndarray, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes and unique ids (in order of first appearance) of a non-null id column.

    Like :func:`pandas.factorize`, but refuses ids that break the one-text-form rule
    (see the module docstring) with a :class:`~clvlab.errors.DataValidationError`
    naming the ids and the fix. Columns of one numeric type or of text take the fast
    path of :func:`pandas.factorize`; only mixed object columns are checked value by
    value.

    Examples
    --------
    >>> codes, uniques = factorize_ids(np.array([7, 7.0, 8], dtype=object), "id")
    >>> codes.tolist(), [id_text(u) for u in uniques]
    ([0, 0, 1], ['7', '8'])
    >>> factorize_ids(np.array([7, "7"], dtype=object), "id")
    Traceback (most recent call last):
    ...
    clvlab.errors.DataValidationError: column 'id': different customer ids have the ...
    """
    values = np.asarray(ids)
    if not mixes_types(values):
        codes, uniques = pd.factorize(values, sort=False)
        return codes, np.asarray(uniques)
    by_value, value_uniques = pd.factorize(values, sort=False)
    texts = id_texts(values)
    by_text, text_uniques = pd.factorize(texts, sort=False)
    pairs = pd.DataFrame({"value": by_value, "text": by_text}).drop_duplicates()
    if len(pairs) == len(value_uniques) == len(text_uniques):
        return by_value, np.asarray(value_uniques)
    # Describe each offending group by the distinct typed values behind it.
    typed = pd.DataFrame(
        {"text": by_text, "value": by_value, "shown": [_typed(v) for v in values]}
    ).drop_duplicates("shown")
    same_text = typed[typed.duplicated("text", keep=False)]
    equal_value = typed[typed.duplicated("value", keep=False)]
    if len(same_text):
        group = same_text[same_text["text"] == same_text["text"].iloc[0]]
        n_rows = int(np.isin(by_text, same_text["text"].unique()).sum())
        rule = (
            f"different customer ids have the same text form "
            f"{text_uniques[group['text'].iloc[0]]!r}: "
            + " and ".join(group["shown"][:3])
            + " would become one key in an export"
        )
    else:
        group = equal_value[equal_value["value"] == equal_value["value"].iloc[0]]
        n_rows = int(np.isin(by_value, equal_value["value"].unique()).sum())
        rule = (
            "customer ids that Python treats as equal print differently: "
            + " and ".join(group["shown"][:3])
            + " would be merged into one customer"
        )
    raise DataValidationError(
        column,
        rule,
        n_rows,
        hint=(
            f"Convert the column to one type first: .astype(str) if the ids are text, "
            f"or pandas.to_numeric(...) if they are numbers (e.g. "
            f"log[{column!r}] = log[{column!r}].astype(str)); if they are different "
            f"customers, give them distinct ids"
        ),
    )


def _typed(value: Any) -> str:
    """``7 (int)``, ``'7' (str)``: an id with its type, for messages."""
    if isinstance(value, np.generic):
        value = value.item()
    return f"{value!r} ({type(value).__name__})"
