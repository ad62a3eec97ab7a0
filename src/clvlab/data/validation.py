"""Row-level validation rules shared by transaction logs and RFM tables.

A rule is a boolean mask of offending rows plus a sentence. :func:`enforce` either raises
:class:`~clvlab.errors.DataValidationError` naming the column, the rule, the count and a
few ids, or, when the caller asked for ``invalid="drop"``, removes the rows and warns with
the count. Nothing is dropped without that explicit request.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from clvlab.errors import DataQualityWarning, DataValidationError

__all__ = ["InvalidPolicy", "RuleViolation", "Validator", "require_columns", "require_nonempty"]

InvalidPolicy = Literal["raise", "drop"]


@dataclass(frozen=True)
class RuleViolation:
    """One broken rule: the column, the sentence and the offending row positions."""

    column: str
    rule: str
    positions: np.ndarray


def require_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    """Raise if any of ``columns`` is missing from ``frame``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(
            missing[0],
            f"required {what} column is missing (missing: {missing}; "
            f"available: {list(map(str, frame.columns))[:12]})",
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
            raise ValueError(f"invalid must be 'raise' or 'drop', not {self.invalid!r}")

    def check(self, column: str, rule: str, bad: np.ndarray | pd.Series, hint: str = "") -> None:
        """Record (or raise for) the rows where ``bad`` is true."""
        mask = np.asarray(bad, dtype=bool)
        if not mask.any():
            return
        positions = np.flatnonzero(mask)
        if self.invalid == "raise":
            raise DataValidationError(
                column, rule, len(positions), _examples(self.ids, positions), hint
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
    out = []
    for value in ids[positions[:k]]:
        out.append(value.item() if isinstance(value, np.generic) else value)
    return out
