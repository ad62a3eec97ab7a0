"""Progress bars that work in notebooks and terminals, and can be turned off.

Set ``enable=False`` per call, or the environment variable ``CLVLAB_PROGRESS=0`` to turn
every bar off.

In Jupyter, clvlab's bars are tqdm widgets when ``ipywidgets`` is installed (the
``jupyter`` extra: ``pip install clvlab[jupyter]``). Without it they fall back quietly to
tqdm's text bar, refreshed at most once a second so that a long loop leaves a handful
of outputs, not hundreds; PyMC's own bars (``sampler="pymc"``, ADVI), which need
``ipywidgets`` in a notebook and would otherwise ask for it, are turned off there.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

__all__ = [
    "in_notebook",
    "progress_bar",
    "progress_enabled",
    "pymc_progress",
    "widgets_available",
]

T = TypeVar("T")

#: Shortest time between two refreshes of a text bar in a notebook, in seconds.
NOTEBOOK_TEXT_INTERVAL = 1.0


def progress_enabled(enable: bool = True) -> bool:
    """Whether a bar should show: ``enable`` and not turned off by ``CLVLAB_PROGRESS=0``."""
    return bool(enable) and os.environ.get("CLVLAB_PROGRESS", "1") not in ("0", "false", "no")


def in_notebook() -> bool:
    """Whether the code runs in a Jupyter kernel (IPython's ZMQ shell)."""
    if "IPython" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython half-imported
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def widgets_available() -> bool:
    """Whether ``ipywidgets`` can be imported (needed for notebook progress widgets)."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def pymc_progress(enable: bool = True) -> bool:
    """The ``progressbar`` to pass to PyMC: off when disabled, and off in a notebook
    without ``ipywidgets`` (PyMC's bars would warn 'install ipywidgets' there)."""
    if not progress_enabled(enable):
        return False
    return not in_notebook() or widgets_available()


def _tqdm(notebook: bool) -> tuple[Any, dict[str, Any]]:
    """The tqdm class to use and its extra arguments."""
    if notebook and widgets_available():
        from tqdm.notebook import tqdm as widget_bar

        return widget_bar, {}
    from tqdm.std import tqdm as text_bar

    return text_bar, ({"mininterval": NOTEBOOK_TEXT_INTERVAL} if notebook else {})


def progress_bar(
    items: Iterable[T], desc: str, *, enable: bool = True, total: int | None = None
) -> Iterator[T]:
    """Iterate over ``items`` with a tqdm bar (a widget in notebooks that have
    ``ipywidgets``, text otherwise) when enabled."""
    if not progress_enabled(enable):
        yield from items
        return
    bar, extra = _tqdm(in_notebook())
    yield from bar(items, desc=desc, total=total, leave=False, **extra)
