"""Row-level validation rules shared by transaction logs and RFM tables.

A rule is a boolean mask of offending rows plus a sentence. :meth:`Validator.check` either
raises :class:`~clvlab.errors.DataValidationError` naming the column, the rule, the count,
a few customer ids (in their text form, :func:`clvlab.data.ids.id_text`) and, where it
helps, the offending values; or, when the caller asked for ``invalid="drop"``, records the
rows, which :meth:`Validator.keep_mask` removes with one warning giving the counts.
Nothing is dropped without that explicit request.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from clvlab.data.ids import id_text
from clvlab.errors import ArgumentError, DataQualityWarning, DataValidationError

__all__ = ["InvalidPolicy", "RuleViolation", "Validator", "require_columns", "require_nonempty"]

InvalidPolicy = Literal["raise", "drop"]


@dataclass(frozen=True)
class RuleViolation:
    """One broken rule: the column, the sentence and the offending row positions."""

    column: str
    rule: str
    positions: np.ndarray


def require_columns(frame: Any, columns: list[str], what: str, hint: str = "") -> None:
    """Raise if any of ``columns`` is missing from ``frame`` (a pandas or Spark
    DataFrame: anything with ``columns``)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(
            missing[0],
            f"required {what} column is missing (missing: {missing}; "
            f"available: {list(map(str, frame.columns))[:12]})",
            hint=hint,
        )


def require_nonempty(frame: pd.DataFrame, what: str, column: str) -> None:
    """Raise if ``frame`` has no rows."""
    if len(frame) == 0:
        raise DataValidationError(column, f"the {what} is empty: at least one row is needed")


@dataclass
class Validator:
    """Collect rule violations over a table and enforce them together.

    Parameters
    ----------
    ids
        Row labels used as examples in messages (customer ids).
    invalid
        ``"raise"`` (default) raises on the first violated rule; ``"drop"`` removes the
        offending rows and emits one :class:`DataQualityWarning` with the counts.
    """

    ids: np.ndarray
    invalid: InvalidPolicy = "raise"
    violations: list[RuleViolation] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.invalid not in ("raise", "drop"):
            raise ArgumentError(
                f"invalid must be 'raise' or 'drop', got {self.invalid!r}; pass "
                "invalid='drop' to drop the rows that break a rule (with a warning)"
            )

    def check(
        self,
        column: str,
        rule: str,
        bad: np.ndarray | pd.Series,
        hint: str = "",
        *,
        values: np.ndarray | pd.Series | None = None,
        labels: np.ndarray | None = None,
        label: str = "customer ids",
    ) -> None:
        """Record (or raise for) the rows where ``bad`` is true.

        Parameters
        ----------
        column, rule, hint
            For the message.
        bad
            Boolean mask of the offending rows.
        values
            The column's values, to show a few offending ones in the message.
        labels, label
            Examples to name instead of the customer ids (for a null id, the table's
            index labels), and what they are.
        """
        mask = np.asarray(bad, dtype=bool)
        if not mask.any():
            return
        positions = np.flatnonzero(mask)
        if self.invalid == "raise":
            shown = _examples(self.ids if labels is None else labels, positions)
            raise DataValidationError(
                column,
                rule,
                len(positions),
                shown,
                hint,
                example_label="customer ids" if labels is None else label,
                example_values=(() if values is None else _examples(np.asarray(values), positions)),
                droppable=True,
            )
        self.violations.append(RuleViolation(column, rule, positions))

    def keep_mask(self, n_rows: int) -> np.ndarray:
        """Boolean mask of rows that pass every recorded rule; warns once if any fail."""
        keep = np.ones(n_rows, dtype=bool)
        for violation in self.violations:
            keep[violation.positions] = False
        if self.violations:
            parts = [f"{len(v.positions)} with {v.column!r} {v.rule}" for v in self.violations]
            warnings.warn(
                f"dropped {int((~keep).sum())} of {n_rows} rows on request "
                f"(invalid='drop'): " + "; ".join(parts),
                DataQualityWarning,
                stacklevel=3,
            )
        return keep

    def dropped_counts(self) -> dict[str, int]:
        """Rows dropped per rule, for the result's metadata."""
        return {f"{v.column}: {v.rule}": len(v.positions) for v in self.violations}


def _examples(ids: np.ndarray, positions: np.ndarray, k: int = 5) -> list[Any]:
    """Up to ``k`` distinct examples (by text form) at ``positions``, in row order."""
    out: list[Any] = []
    seen: set[str] = set()
    for start in range(0, len(positions), 64):  # a customer may own many offending rows
        for value in ids[positions[start : start + 64]]:
            text = id_text(value)
            if text not in seen:
                seen.add(text)
                plain = isinstance(value, np.generic) and not isinstance(value, np.datetime64)
                out.append(value.item() if plain else value)
                if len(out) == k:
                    return out
        if start >= 64 * 16:
            break
    return out
