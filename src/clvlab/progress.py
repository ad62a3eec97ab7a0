"""Progress bars that work in notebooks and terminals, and can be turned off.

Set ``enable=False`` per call, or the environment variable ``CLVLAB_PROGRESS=0`` to turn
every bar off.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["progress_bar", "progress_enabled"]

T = TypeVar("T")


def progress_enabled(enable: bool = True) -> bool:
    """Whether a bar should show: ``enable`` and not turned off by ``CLVLAB_PROGRESS=0``."""
    return enable and os.environ.get("CLVLAB_PROGRESS", "1") not in ("0", "false", "no")


def progress_bar(
    items: Iterable[T], desc: str, *, enable: bool = True, total: int | None = None
) -> Iterator[T]:
    """Iterate over ``items`` with a tqdm bar (notebook-aware) when enabled."""
    if not progress_enabled(enable):
        yield from items
        return
    from tqdm.auto import tqdm

    yield from tqdm(items, desc=desc, total=total, leave=False)
