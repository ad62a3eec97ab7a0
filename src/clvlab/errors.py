"""Exception and warning types raised by clvlab.

Every error clvlab raises on purpose derives from :class:`ClvlabError`, so callers can
catch the package's own failures without catching unrelated bugs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "ArgumentError",
    "ClvlabError",
    "ConvergenceError",
    "DataQualityWarning",
    "DataValidationError",
    "ExportError",
    "ModelFileError",
    "NotFittedError",
    "SamplingWarning",
    "UnitMismatchError",
]


class ClvlabError(Exception):
    """Base class of every error raised by clvlab."""


class DataValidationError(ClvlabError, ValueError):
    """Input data break a documented rule.

    The message names the column, the rule, the number of offending rows and a few
    example ids, so the caller can find the rows without re-running anything.
    """

    def __init__(
        self,
        column: str,
        rule: str,
        n_rows: int = 0,
        examples: Iterable[Any] = (),
        hint: str = "",
    ) -> None:
        self.column = column
        self.rule = rule
        self.n_rows = int(n_rows)
        self.examples = list(examples)[:5]
        message = f"column {column!r}: {rule}"
        if self.n_rows:
            noun = "row" if self.n_rows == 1 else "rows"
            message += f" ({self.n_rows} {noun}"
            if self.examples:
                message += ", e.g. " + ", ".join(repr(e) for e in self.examples)
            message += ")"
        if hint:
            message += f". {hint}"
        super().__init__(message)


class ArgumentError(ClvlabError, ValueError):
    """An argument is outside its documented domain (a negative horizon, a NaN rate, a
    ``ci_prob`` of 1, ...). The message names the argument, the value and what is
    accepted."""


class UnitMismatchError(ClvlabError, ValueError):
    """Two inputs measure time in different units (a model fitted on a weekly RFM table
    used on a monthly one, or a purchase and a spend model that disagree)."""


class NotFittedError(ClvlabError, RuntimeError):
    """A method that needs a fitted model was called before ``fit``."""


class ConvergenceError(ClvlabError, RuntimeError):
    """An optimisation or sampler failed to produce usable estimates."""


class ModelFileError(ClvlabError, OSError):
    """A saved model file is corrupt, incomplete or written by another model."""


class ExportError(ClvlabError, OSError):
    """An export target cannot be written: an unwritable path, an unreachable database,
    rejected credentials, or an existing table whose schema differs. Earlier exports at
    the target are left as they were."""


class DataQualityWarning(UserWarning):
    """Rows were dropped on explicit request; the warning states how many and why."""


class SamplingWarning(UserWarning):
    """MCMC diagnostics (r_hat, ESS, divergences) indicate an unreliable posterior."""
