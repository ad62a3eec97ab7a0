"""Import lifetimes (see :mod:`clvlab._imports` for why this goes through a helper)."""

from __future__ import annotations

from types import ModuleType

from clvlab._imports import import_quietly

__all__ = ["lifetimes_module"]


def lifetimes_module(name: str = "lifetimes") -> ModuleType:
    """Import and return ``name`` (``lifetimes`` or one of its submodules)."""
    return import_quietly(name)
