"""Array backends for the model formulas.

Each formula is written once against an ``ops`` namespace: :data:`numpy_ops` (SciPy
special functions, for predictions), :data:`pytensor_ops` (for the PyMC likelihood) or
:func:`autograd_ops` (exact derivatives of the MLE's log-likelihood without a compile
step; autograd comes with lifetimes). Parity tests check that they agree.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from scipy import special

__all__ = [
    "Ops",
    "autograd_ops",
    "numpy_gather_ops",
    "numpy_ops",
    "pytensor_ops",
    "pytensor_ops_gathering",
]

Ops = Any  # a namespace with the functions below; kept loose so both backends fit


def _direct(fn: Any, column: Any) -> Any:
    """``per_value`` of the array backends: evaluate ``fn`` on the column itself."""
    return fn(column)


def _gather_by_value(fn: Any, column: Any) -> Any:
    """``per_value`` of :data:`numpy_gather_ops`: ``fn`` once per distinct value."""
    column = np.asarray(column)
    if column.ndim != 1 or column.size < 64:
        return fn(column)
    unique, inverse = np.unique(column, return_inverse=True)
    return np.take(fn(unique), inverse.ravel(), axis=-1)


#: Every backend provides these functions, under these names.
FUNCTIONS = (
    "log",
    "log1p",
    "exp",
    "expit",
    "gammaln",
    "betaln",
    "logaddexp",
    "where",
    "maximum",
    "hyp2f1",
    "sum",
)


def _backend(
    name: str, per_value: Any, sources: tuple[Any, ...], **renamed: Any
) -> SimpleNamespace:
    """A namespace with every name of :data:`FUNCTIONS`: from ``renamed`` if given there,
    else the first of ``sources`` (modules) that has it."""
    functions = {}
    for fn in FUNCTIONS:
        if fn in renamed:
            functions[fn] = renamed[fn]
            continue
        module = next((m for m in sources if hasattr(m, fn)), None)
        if module is None:
            raise AttributeError(f"backend {name!r} has no {fn!r}")
        functions[fn] = getattr(module, fn)
    return SimpleNamespace(name=name, per_value=per_value, **functions)


numpy_ops = _backend("numpy", _direct, (np, special))


numpy_gather_ops = SimpleNamespace(**{**vars(numpy_ops), "name": "numpy-gather"})
numpy_gather_ops.per_value = _gather_by_value
"""NumPy backend whose ``per_value`` evaluates one-column terms once per distinct value.

Used for predictions over many parameter draws: ``log(alpha + T)`` then costs
``draws x distinct T`` evaluations instead of ``draws x customers``.
"""


def autograd_ops() -> SimpleNamespace:
    """The autograd backend (built on call: autograd is imported only when needed)."""
    import autograd.numpy as anp
    from autograd.scipy import special as aspecial

    # hyp2f1 is not differentiable in autograd; no likelihood needs it
    return _backend("autograd", _direct, (anp, aspecial), hyp2f1=None)


def _pytensor_ops(gather: dict[Any, tuple[Any, Any]] | None = None) -> SimpleNamespace:
    import pytensor.tensor as pt

    registry = dict(gather or {})

    def per_value(fn: Any, column: Any) -> Any:
        """Evaluate ``fn`` once per distinct value of ``column`` and gather the results.

        Terms of a likelihood that depend on one data column only (``gammaln(r + x)``,
        ``log(alpha + T)``, ...) then cost one evaluation per distinct value instead of
        one per row; the gradient is a scatter-add. Columns not registered with
        :func:`pytensor_ops_gathering` are evaluated directly.
        """
        if column in registry:
            unique, index = registry[column]
            return fn(unique)[index]
        return fn(column)

    return _backend(
        "pytensor",
        per_value,
        (pt, pt.special),
        expit=pt.sigmoid,
        where=pt.switch,
    )


def pytensor_ops_gathering(columns: dict[str, Any]) -> tuple[SimpleNamespace, dict[str, Any]]:
    """Pytensor backend plus tensors for ``columns`` whose per-value terms are gathered.

    Returns the ops namespace and, for each column name, the pytensor constant to pass to
    the formula in place of the NumPy array.
    """
    import numpy as np
    import pytensor.tensor as pt

    tensors: dict[str, Any] = {}
    gather: dict[Any, tuple[Any, Any]] = {}
    for name, values in columns.items():
        unique, index = np.unique(np.asarray(values), return_inverse=True)
        tensor = pt.as_tensor_variable(np.asarray(values, dtype=float))
        gather[tensor] = (
            pt.as_tensor_variable(unique.astype(float)),
            pt.as_tensor_variable(index.ravel()),
        )
        tensors[name] = tensor
    return _pytensor_ops(gather), tensors


class _LazyOps:
    """Build the pytensor namespace on first use, so importing clvlab stays light."""

    _ops: SimpleNamespace | None = None

    def __getattr__(self, item: str) -> Any:
        if _LazyOps._ops is None:
            _LazyOps._ops = _pytensor_ops()
        return getattr(_LazyOps._ops, item)


pytensor_ops: Any = _LazyOps()
