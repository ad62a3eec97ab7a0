"""How many threads to use for a number of independent tasks."""

from __future__ import annotations

import os

__all__ = ["workers_for"]


def workers_for(n_tasks: int) -> int:
    """One worker per core, never more than there are tasks, at least one.

    Examples
    --------
    >>> workers_for(0)
    1
    """
    return max(1, min(os.cpu_count() or 1, n_tasks))
