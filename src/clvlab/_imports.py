"""Lazy imports of the heavy scientific stack, without leaking their import-time noise.

ArviZ 0.23 emits a ``FutureWarning`` about its coming refactor when first imported, and
lifetimes sets a pandas option that pandas 3 deprecates. Those two messages are silenced
for the import statement only; no global warning filter is changed.
"""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType

__all__ = ["import_quietly", "require"]

_IMPORT_NOISE = (
    (".*ArviZ is undergoing a major refactor.*", FutureWarning),
    (".*chained_assignment.*", Warning),
)


def import_quietly(name: str) -> ModuleType:
    """Import module ``name`` with only the known import-time messages silenced."""
    with warnings.catch_warnings():
        for message, category in _IMPORT_NOISE:
            warnings.filterwarnings("ignore", message=message, category=category)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="lifetimes")
        return importlib.import_module(name)


def require(name: str, *, extra: str) -> ModuleType:
    """Import module ``name`` of an optional extra, or say how to install it.

    Raises
    ------
    MissingDependencyError
        When ``name`` cannot be imported; the message names the extra to install.
    """
    try:
        return import_quietly(name)
    except ImportError as exc:
        from clvlab.errors import MissingDependencyError

        raise MissingDependencyError(
            f"{name} is not installed ({exc}); clvlab needs it for this feature. "
            f'Install the extra: pip install "clvlab[{extra}]"'
        ) from exc
