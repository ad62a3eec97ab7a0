"""Folding customers with equal sufficient statistics into weighted rows.

The BG/NBD, Pareto/NBD and MBG/NBD likelihoods depend on a customer only through
``(frequency, recency, T)``. Customers sharing a triple fold into one row whose ``weight``
counts them; fits and predictions run per folded row and map back to customers with
:meth:`FoldedTable.unfold`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["FoldedTable", "fold", "folded_weights", "is_folded_on"]


@dataclass(frozen=True)
class FoldedTable:
    """Unique rows of some columns, with weights and the map back to customers.

    Attributes
    ----------
    rows
        One row per unique combination of ``columns``, with a ``weight`` column.
    inverse
        For each customer (in the order of ``index``), the position of its folded row.
    index
        The customer index of the unfolded table.
    """

    rows: pd.DataFrame
    inverse: np.ndarray
    index: pd.Index

    @property
    def weights(self) -> np.ndarray:
        """Number of customers in each folded row (float64)."""
        return self.rows["weight"].to_numpy(dtype=float)

    def column(self, name: str) -> np.ndarray:
        """One folded column as a float64 array."""
        return self.rows[name].to_numpy(dtype=float)

    def unfold(self, values: np.ndarray, axis: int = -1) -> np.ndarray:
        """Map per-row ``values`` (folded rows along ``axis``) back to customers."""
        return np.take(np.asarray(values), self.inverse, axis=axis)

    def __len__(self) -> int:
        return len(self.rows)


def fold(
    table: pd.DataFrame,
    columns: Sequence[str] = ("frequency", "recency", "T"),
    weights: np.ndarray | None = None,
) -> FoldedTable:
    """Fold the rows of ``table`` that are equal on ``columns``.

    Parameters
    ----------
    table
        Customer table (not modified).
    columns
        The sufficient statistics to fold on.
    weights
        Optional existing weights per customer row (for tables that are already
        partly folded, such as the donations data). Defaults to ones.

    Returns
    -------
    FoldedTable

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"frequency": [0, 1, 0], "recency": [0.0, 2.0, 0.0],
    ...                   "T": [5.0, 5.0, 5.0]})
    >>> f = fold(t)
    >>> f.rows["weight"].tolist(), f.inverse.tolist()
    ([2.0, 1.0], [0, 1, 0])
    """
    cols = list(columns)
    codes = np.zeros(len(table), dtype=np.int64)
    for name in cols:
        col_codes, col_uniques = pd.factorize(table[name].to_numpy(), sort=True)
        # re-factorise after each column so the combined code never overflows
        codes = pd.factorize(codes * len(col_uniques) + col_codes, sort=True)[0]
    keys, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    w = np.ones(len(table)) if weights is None else np.asarray(weights, dtype=float)
    row_weights = np.bincount(inverse, weights=w, minlength=len(keys))
    rows = table.iloc[first][cols].reset_index(drop=True)
    rows["weight"] = row_weights
    return FoldedTable(rows=rows, inverse=inverse, index=table.index)


def is_folded_on(table: pd.DataFrame, columns: Sequence[str]) -> bool:
    """Whether ``table`` was folded on ``columns`` before (its metadata's ``folded_on``,
    as :func:`clvlab.spark.fold` records), so that each row stands for ``weight``
    customers."""
    from clvlab.data.rfm import rfm_metadata

    return isinstance(table, pd.DataFrame) and rfm_metadata(table).get("folded_on") == list(columns)


def folded_weights(table: pd.DataFrame) -> np.ndarray:
    """The ``weight`` column of a table folded before (:func:`is_folded_on`), as float
    counts of customers.

    Raises
    ------
    DataValidationError
        The column is missing, or a weight is not a finite, positive number.
    """
    from clvlab.data.validation import Validator, require_columns

    require_columns(table, ["weight"], "folded")
    weights = pd.to_numeric(table["weight"], errors="coerce").to_numpy(dtype=float)
    Validator(ids=table.index.to_numpy()).check(
        "weight",
        "must be a finite, positive number of customers",
        ~(np.isfinite(weights) & (weights > 0)),
    )
    return weights
