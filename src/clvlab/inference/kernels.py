"""Compiled log-posterior kernels for nutpie: value and analytic gradient, cached on disk.

nutpie's usual route compiles the PyMC model to numba on every fit (9-15 s on CDNOW,
because numba cannot cache the generated graph function), while sampling itself takes
1-2 s. These kernels are ordinary numba functions with ``cache=True``: they compile
once per installation, and a fit loads them in milliseconds. nutpie calls them through
C function pointers from its own threads, so the chains run in parallel without the GIL.

Each kernel evaluates the folded, weighted log-likelihood of :mod:`clvlab.formulas`
together with its gradient, which no autodiff provides here:

- BG/NBD, Fader, Hardie & Lee (2005) eq. 6 in Hardie's stable form (note 027),
  ``l = lnG(r+x) - lnG(r) + r ln(alpha) - lnB(a, b) + A + softplus(D - A)`` with
  ``A = lnB(a, b+x) - (r+x) ln(alpha+T)`` and, for ``x > 0``,
  ``D - A = ln(a / (b+x-1)) + (r+x) [ln(alpha+T) - ln(alpha+t_x)]``;
- MBG/NBD, Batislam, Denizel & Filiztekin (2007) eq. 6: the same kernel with ``b + 1``
  in the row terms and the "dropped out" term at ``x = 0`` too;
- BG/BB, Fader, Hardie & Shang (2010) eq. 5: a logsumexp over the ``n - t_x + 1``
  terms of each row (the folded donations data has 22 rows);
- Gamma-Gamma, Fader & Hardie (2013) eq. 3.

``tests/inference/test_kernels.py`` checks every value against the one formula in
:mod:`clvlab.formulas` (NumPy backend) plus SciPy's prior densities, and every gradient
against PyMC's automatic derivative of the same formula (pytensor backend), so the
kernels cannot drift from the definition. Priors outside :data:`KERNEL_PRIORS` (or
with other arguments) fall back to nutpie on the compiled PyMC model.

Terms of one data column are computed once per distinct value, and rows are sorted by
``x`` so that the per-``x`` terms are computed once per group. The BG/NBD row loop has
no libm calls (exp and log1p are polynomials), so it compiles to SIMD code.

Parameters are sampled on the log scale (``theta = exp(u)``), as PyMC does for positive
variables; the log-density includes the priors and the Jacobian ``sum(u)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from clvlab._runs import runs_of

if TYPE_CHECKING:
    from clvlab.priors import Prior


__all__ = [
    "KERNEL_PRIORS",
    "KernelData",
    "kernel_data",
    "log_density",
    "supports",
]

#: Priors the kernels evaluate, with their arguments in the order the kernel reads them.
KERNEL_PRIORS: dict[str, tuple[str, ...]] = {
    "HalfFlat": (),
    "LogNormal": ("mu", "sigma"),
    "Gamma": ("alpha", "beta"),
    "HalfNormal": ("sigma",),
    "Exponential": ("lam",),
    "HalfCauchy": ("beta",),
    "InverseGamma": ("alpha", "beta"),
    "Weibull": ("alpha", "beta"),
}
_PRIOR_CODES = {name: float(i) for i, name in enumerate(KERNEL_PRIORS)}
_MODEL_CODES = {"bgnbd": 1.0, "gamma_gamma": 2.0, "mbgnbd": 3.0, "bgbb": 4.0, "sbg": 5.0}
HEADER = 4
"""Buffer layout: ``[model code, number of parameters, number of arrays, length]``, then
three slots per parameter (prior code and up to two arguments), then ``(start, length)``
of each data array, then the arrays."""


def supports(model_name: str, priors: Mapping[str, Prior]) -> bool:
    """Whether a compiled kernel covers this model with these priors (else use PyMC).

    ``priors`` maps each parameter, in the model's order, to its prior.
    """
    if model_name not in _MODEL_CODES:
        return False
    return all(
        p.dist in KERNEL_PRIORS and set(p.kwargs) == set(KERNEL_PRIORS[p.dist])
        for p in priors.values()
    )


@dataclass(frozen=True)
class KernelData:
    """Everything a kernel reads, packed in one float64 buffer for nutpie's user data,
    with the parameter names and where the chains start (before jitter): the median of a
    LogNormal prior, the log of the mean of a Gamma prior, 0 otherwise."""

    buffer: np.ndarray
    names: tuple[str, ...]
    centres: np.ndarray


def kernel_data(
    model_name: str,
    columns: Mapping[str, np.ndarray],
    weights: np.ndarray,
    priors: Mapping[str, Prior],
) -> KernelData:
    """Pack the folded data and the priors (in the model's parameter order) for the
    kernel of ``model_name``."""
    if not supports(model_name, priors):
        raise ValueError(f"no compiled kernel for {model_name} with priors {dict(priors)}")
    if model_name in ("bgnbd", "mbgnbd"):
        arrays = _bgnbd_arrays(columns["x"], columns["t_x"], columns["T"], weights)
    elif model_name in ("bgbb", "sbg"):
        arrays = [np.asarray(columns[c], dtype=float) for c in ("x", "t_x", "T")]
        arrays.append(np.asarray(weights, dtype=float))
    else:
        arrays = _gamma_gamma_arrays(columns["x"], columns["m"], weights)
    prior_block = np.zeros(3 * len(priors))
    for i, prior in enumerate(priors.values()):
        prior_block[3 * i] = _PRIOR_CODES[prior.dist]
        for j, arg in enumerate(KERNEL_PRIORS[prior.dist]):
            prior_block[3 * i + 1 + j] = prior.kwargs[arg]
    table = np.zeros(2 * len(arrays))
    start = HEADER + len(prior_block) + len(table)
    for i, arr in enumerate(arrays):
        table[2 * i], table[2 * i + 1] = start, len(arr)
        start += len(arr)
    header = np.array([_MODEL_CODES[model_name], len(priors), len(arrays), start])
    buffer = np.concatenate([header, prior_block, table, *arrays]).astype(np.float64)
    return KernelData(
        np.ascontiguousarray(buffer), tuple(priors), np.array([_centre(p) for p in priors.values()])
    )


def _centre(prior: Prior) -> float:
    if prior.dist == "LogNormal":
        return prior.kwargs["mu"]
    if prior.dist == "Gamma":
        return float(np.log(prior.kwargs["alpha"] / prior.kwargs["beta"]))
    return 0.0


def _x_runs(x: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """Distinct ``x``, the bounds of each one's rows, and ``columns`` sorted by ``x``."""
    order, x_unique, bounds = runs_of(np.asarray(x, dtype=float))
    return (x_unique, bounds.astype(float), *(np.asarray(c, dtype=float)[order] for c in columns))


def _per_run(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over each run (constant data terms, summed once here)."""
    return np.add.reduceat(values, bounds[:-1].astype(int)) if len(values) else values


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    unique, index = np.unique(values, return_inverse=True)
    return unique, index.ravel().astype(float)


def _bgnbd_arrays(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray) -> list[np.ndarray]:
    x_unique, bounds, t_x, T, w = _x_runs(x, t_x, T, w)
    T_unique, T_index = _codes(T)
    tx_unique, tx_index = _codes(t_x)
    return [x_unique, bounds, T_unique, T_index, tx_unique, tx_index, w, _per_run(w, bounds)]


def _gamma_gamma_arrays(x: np.ndarray, m: np.ndarray, w: np.ndarray) -> list[np.ndarray]:
    x_unique, bounds, m, w = _x_runs(x, m, w)
    return [x_unique, bounds, m, w, _per_run(w, bounds), _per_run(w * np.log(m), bounds)]


def log_density(data: KernelData, u: np.ndarray) -> tuple[float, np.ndarray]:
    """Log-posterior (up to nothing: all constants included) and gradient at ``u``,
    the log-parameters in the order of ``data.names``."""
    fn = compiled().log_density
    grad = np.zeros(len(data.names))
    value = fn(data.buffer, np.asarray(u, dtype=float), grad)
    return float(value), grad


def compiled() -> Any:
    """The numba module: compiled, or loaded from numba's on-disk cache, on first use."""
    from clvlab.inference import _numba_kernels

    return _numba_kernels
