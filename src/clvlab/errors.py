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
    "DegenerateFitWarning",
    "ExportError",
    "MissingDependencyError",
    "ModelFileError",
    "NotFittedError",
    "PerformanceWarning",
    "SamplingWarning",
    "UnitMismatchError",
]


class ClvlabError(Exception):
    """Base class of every error raised by clvlab."""


class DataValidationError(ClvlabError, ValueError):
    """Input data break a documented rule.

    The message names the column, the rule, the number of offending rows and a few
    examples with a label, so the caller can find the rows without re-running
    anything: ``column 'spend': monetary value is negative (2 rows, customer ids 14527,
    14530)``. Customer ids print in their text form (:func:`clvlab.data.ids.id_text`:
    ``14527``, not ``14527.0``); offending values, when given, print after them.

    Attributes
    ----------
    column, rule, n_rows, hint
        As given.
    examples
        Up to five example ids (or other labels, see ``example_label``), as given.
    example_label
        What the examples are, in the plural (``"customer ids"``, ``"index labels"``).
    example_values
        Up to five offending values (a date that does not parse, ...).
    droppable
        Whether the offending rows can be dropped with ``invalid="drop"`` (a row rule),
        as opposed to a problem of the whole column or table (ambiguous dates, colliding
        or duplicated ids), which no dropping fixes.
    """

    def __init__(
        self,
        column: str,
        rule: str,
        n_rows: int = 0,
        examples: Iterable[Any] = (),
        hint: str = "",
        *,
        example_label: str = "customer ids",
        example_values: Iterable[Any] = (),
        droppable: bool = False,
    ) -> None:
        self.column = column
        self.rule = rule
        self.n_rows = int(n_rows)
        self.examples = list(examples)[:5]
        self.example_label = example_label
        self.example_values = list(example_values)[:5]
        self.hint = hint
        self.droppable = bool(droppable)
        message = f"column {column!r}: {rule}"
        counts = [f"{self.n_rows} {'row' if self.n_rows == 1 else 'rows'}"] if self.n_rows else []
        if self.examples:
            shown = [self._id_text(e) for e in self.examples]
            label = example_label if len(shown) > 1 else example_label.removesuffix("s")
            prefix = "e.g. " if self.n_rows > len(shown) else ""
            counts.append(f"{prefix}{label} " + ", ".join(shown))
        details = ", ".join(counts)
        if self.example_values:
            noun = "values" if len(self.example_values) > 1 else "value"
            values = f"{noun} " + ", ".join(self._value_text(v) for v in self.example_values)
            details = f"{details}; {values}" if details else values
        if details:
            message += f" ({details})"
        if hint:
            message += f". {hint}"
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        # rebuilt from its fields, so it survives a trip between processes
        import functools

        rebuild = functools.partial(
            type(self),
            example_label=self.example_label,
            example_values=self.example_values,
            droppable=self.droppable,
        )
        return (rebuild, (self.column, self.rule, self.n_rows, self.examples, self.hint))

    @staticmethod
    def _id_text(value: Any) -> str:
        from clvlab.data.ids import id_text  # local: clvlab.data imports this module

        return id_text(value)

    @classmethod
    def _value_text(cls, value: Any) -> str:
        """An offending value as it would be typed: text quoted, numbers and dates plain."""
        import numpy as np  # local: keeps this module free of heavy imports

        if isinstance(value, np.datetime64):
            day = value.astype("datetime64[D]")
            return str(day if day == value else value)
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, str | bytes) or (isinstance(value, float) and abs(value) >= 2**53):
            return repr(value)
        return cls._id_text(value)


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


class MissingDependencyError(ClvlabError, ImportError):
    """An optional part of clvlab was used without its extra installed (for example
    ``clvlab.spark`` without ``pip install "clvlab[spark]"``). The message names the
    package and the install command."""


class DataQualityWarning(UserWarning):
    """Rows were dropped on explicit request; the warning states how many and why."""


class DegenerateFitWarning(UserWarning):
    """The maximum-likelihood optimum is on the boundary or ill-conditioned, and clvlab
    reported another fit instead (see ``fit_info_["mle_quality"]``)."""


class PerformanceWarning(UserWarning):
    """A result is right but was computed on a slower route than usual; the warning
    says why and how to get the fast one back."""


class SamplingWarning(UserWarning):
    """MCMC diagnostics (r_hat, ESS, divergences) indicate an unreliable posterior."""
