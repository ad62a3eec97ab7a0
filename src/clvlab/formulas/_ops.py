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
    "expm1",
    "expit",
    "gammaln",
    "betaln",
    "logaddexp",
    "where",
    "maximum",
    "minimum",
    "hyp2f1",
    "hyp2f1_tail",
    "sum",
    "cumsum",
    "stop_gradient",
)


def _stable_logaddexp(maximum: Any, stop_gradient: Any, log: Any, exp: Any) -> Any:
    """``log(exp(a) + exp(b))`` as ``c + log(exp(a - c) + exp(b - c))``, ``c = max(a, b)``.

    pytensor's own ``logaddexp`` is ``log(exp(a) + exp(b))`` as written, which is
    ``-inf`` once both terms underflow (a customer with ``x = 10,000`` has terms near
    -38,000); this form is exact there: the larger term is ``exp(0) = 1``. The shift
    ``c`` is held constant for differentiation (``stop_gradient``): the value does not
    depend on it, and the gradient is then exactly the softmax weights, also at a tie
    ``a = b``, where the derivatives of ``max`` and ``min`` are not defined (pytensor
    gives the whole gradient to both sides of a tie, which made a BG/BB row with equal
    terms get the gradient of one of them only).
    """

    def logaddexp(a: Any, b: Any) -> Any:
        shift = stop_gradient(maximum(a, b))
        return shift + log(exp(a - shift) + exp(b - shift))

    return logaddexp


def _identity(value: Any) -> Any:
    """``stop_gradient`` of a backend without derivatives."""
    return value


def hyp2f1_tail(A: Any, B: Any, C: Any, z: Any) -> np.ndarray:
    """``C (2F1(A, B; C; z) - 1) / B`` for ``C > -1`` and ``0 <= z < 1`` (NumPy backend).

    The Gauss hypergeometric function minus its leading 1, times ``C / B`` (finite at
    ``B = 0`` and at ``C = 0``). The formulas use it after an Euler or Pfaff
    transformation (DLMF 15.8.1), where ``A`` and ``B`` stay moderate and only ``C``
    grows with a customer's frequency. It is summed as a series by
    :mod:`clvlab.formulas._hyp2f1_numba`, exact to rounding where ``F`` is close to 1.
    Where the series would need too many terms (``z`` close to 1 with a small ``C``)
    SciPy's ``hyp2f1`` is used instead; there ``F - 1`` is not small. Within ``1e-5`` of
    ``B = 0`` or ``C = 0`` that quotient is interpolated linearly between the two sides
    (error of order 1e-10).

    Examples
    --------
    >>> round(float(hyp2f1_tail(1.0, 1.0, 1.0, 0.5)), 12)  # C (F - 1) / B, F = 1 / (1 - z)
    1.0
    """
    from clvlab.formulas._hyp2f1_numba import hyp2f1_tail_series

    A, B, C, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (A, B, C, z)))
    out = np.array(hyp2f1_tail_series(A, B, C, z), dtype=float)
    todo = np.isnan(out) & (C > -1) & (z >= 0) & (z < 1)
    if todo.any():
        out[todo] = _tail_by_scipy(A[todo], B[todo], C[todo], z[todo])
    return out


def _tail_by_scipy(A: np.ndarray, B: np.ndarray, C: np.ndarray, z: np.ndarray) -> np.ndarray:
    """:func:`hyp2f1_tail` from SciPy's ``hyp2f1``, interpolated across ``B = 0``, ``C = 0``."""
    step = 1e-5

    def across(values: np.ndarray, fn: Any) -> np.ndarray:
        """``fn(v)``, linearly interpolated between ``v = -step`` and ``step`` near 0."""
        near = np.abs(values) < step
        high = fn(np.where(near, step, values))
        if not near.any():
            return np.asarray(high)
        low = fn(np.full_like(values, -step))
        return np.where(near, low + (values + step) / (2 * step) * (high - low), high)

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return across(B, lambda bb: across(C, lambda cc: cc * (_hyp2f1(A, bb, cc, z) - 1.0) / bb))


def _hyp2f1(A: np.ndarray, B: np.ndarray, C: np.ndarray, z: np.ndarray) -> np.ndarray:
    """SciPy's ``hyp2f1`` with two retries where it returns NaN or inf.

    SciPy's transformation near ``z = 1`` breaks down when ``C - A - B`` is an integer
    (e.g. ``hyp2f1(30, -0.29125, 30.70875, 0.99875)`` is NaN). Then Euler's transformation
    ``(1 - z)^(C-A-B) 2F1(C-A, C-B; C; z)`` (DLMF 15.8.1) is tried, and last the mean of
    ``C`` moved by a relative 1e-9 either way (the function is smooth in ``C``).
    """
    out = np.asarray(special.hyp2f1(A, B, C, z), dtype=float).copy()
    bad = ~np.isfinite(out)
    if bad.any():
        a_, b_, c_, z_ = A[bad], B[bad], C[bad], z[bad]
        euler = np.exp((c_ - a_ - b_) * np.log1p(-z_)) * special.hyp2f1(c_ - a_, c_ - b_, c_, z_)
        shift = 1e-9 * np.maximum(np.abs(c_), 1.0)
        moved = 0.5 * (
            special.hyp2f1(a_, b_, c_ + shift, z_) + special.hyp2f1(a_, b_, c_ - shift, z_)
        )
        out[bad] = np.where(np.isfinite(euler), euler, moved)
    return out


def _symbolic_tail(hyp2f1: Any) -> Any:
    """``hyp2f1_tail`` of a symbolic backend, straight from its ``hyp2f1`` (no
    likelihood needs it; provided so that every backend has every function)."""
    if hyp2f1 is None:
        return None
    return lambda A, B, C, z: C * (hyp2f1(A, B, C, z) - 1) / B


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


numpy_ops = _backend(
    "numpy", _direct, (np, special), hyp2f1_tail=hyp2f1_tail, stop_gradient=_identity
)


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
    from autograd.tracer import getval

    # hyp2f1 is not differentiable in autograd; no likelihood needs it
    return _backend(
        "autograd",
        _direct,
        (anp, aspecial),
        hyp2f1=None,
        hyp2f1_tail=None,
        stop_gradient=getval,
        logaddexp=_stable_logaddexp(anp.maximum, getval, anp.log, anp.exp),
    )


def _pytensor_ops(gather: dict[Any, tuple[Any, Any]] | None = None) -> SimpleNamespace:
    import pytensor.tensor as pt
    from pytensor.gradient import disconnected_grad

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
        hyp2f1_tail=_symbolic_tail(pt.hyp2f1),
        stop_gradient=disconnected_grad,
        logaddexp=_stable_logaddexp(pt.maximum, disconnected_grad, pt.log, pt.exp),
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
