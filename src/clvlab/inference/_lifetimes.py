"""Import lifetimes without its import-time side effects leaking into the caller.

lifetimes sets a pandas option that pandas 3 deprecates (a ``Pandas4Warning`` at import).
The warning is suppressed for the import statement only; no global filter is changed.
"""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType

__all__ = ["lifetimes_module"]


def lifetimes_module(name: str = "lifetimes") -> ModuleType:
    """Import and return ``name`` (``lifetimes`` or one of its submodules)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*chained_assignment.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        return importlib.import_module(name)
