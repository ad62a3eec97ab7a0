"""nutpie's C callbacks for any model: the PyMC model's log-density and the gradient that
pytensor derives from it, compiled by pytensor's numba backend.

This is the generic compiled route. A model's likelihood is its formula, written once
against the ``ops`` backends (:mod:`clvlab.formulas`); here it is taken in its pytensor
form (:meth:`clvlab.models.base.BaseModel.weighted_loglik`), together with the priors
and the Jacobians of PyMC's log transforms, and differentiated by pytensor. Nothing is
written by hand per model.

``nutpie.compile_pymc_model`` does the same, but compiles its own wrappers and an
expansion function on every fit (about 14 s for Pareto/NBD on the CDNOW sample). Here
the graph is compiled once through ``pytensor.function(mode="NUMBA")``, whose pieces
numba caches on disk, and a small C callback (a numba ``cfunc``) calls it; nutpie runs
the chains in its own threads through that callback, in parallel and without the GIL.
The stored draws are the parameters, ``exp`` of the log-scale values the sampler sees,
by the cached expansion callback of :mod:`clvlab.inference._numba_kernels`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["GraphKernel", "graph_kernel"]


@dataclass(frozen=True)
class GraphKernel:
    """A compiled log-density: ``log_density(u) -> (value, gradient)`` in the
    log-parameters ``u`` (in the order of ``names``), its C callback for nutpie, and
    where PyMC would start the chains (before jitter)."""

    names: tuple[str, ...]
    centres: np.ndarray
    log_density: Any
    logp_cfunc: Any


def graph_kernel(pymc_model: Any, names: tuple[str, ...]) -> GraphKernel | None:
    """The compiled route for ``pymc_model``, whose free variables are the scalar
    parameters ``names``; ``None`` when a parameter is not sampled on the log scale
    (a truncated prior, say), which nutpie's own compilation then handles."""
    import pytensor
    import pytensor.tensor as pt
    from pymc.logprob.transforms import LogTransform

    rvs = [pymc_model[name] for name in names]
    if len(pymc_model.free_RVs) != len(names) or not all(
        isinstance(pymc_model.rvs_to_transforms.get(rv), LogTransform) and rv.ndim == 0
        for rv in rvs
    ):
        return None
    values = [pymc_model.rvs_to_values[rv] for rv in rvs]
    u = pt.dvector("u")
    logp = pytensor.clone_replace(pymc_model.logp(), {v: u[i] for i, v in enumerate(values)})
    grad: Any = pytensor.grad(logp, u)
    fn = pytensor.function([u], [logp, grad], mode="NUMBA", on_unused_input="ignore")
    point = pymc_model.initial_point()
    centres = np.array([float(point[v.name]) for v in values])

    def log_density(at: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = fn(np.asarray(at, dtype=float))
        return float(value), np.asarray(gradient, dtype=float)

    return GraphKernel(names, centres, log_density, _callback(fn.vm.jit_fn, len(names)))


def _callback(jit_fn: Any, dim: int) -> Any:
    """nutpie's C log-density callback around the compiled graph: 0 on success, 3/4 for
    a non-finite gradient or value (nutpie treats the point as divergent), -1 for a
    dimension mismatch."""
    import numba

    from clvlab.inference._numba_kernels import logp_sig

    @numba.cfunc(logp_sig, error_model="numpy")
    def logp_cfunc(n, x_, grad_, logp_, user_data_):  # type: ignore[no-untyped-def]
        if n != dim:
            return -1
        x = numba.carray(x_, (dim,))
        grad = numba.carray(grad_, (dim,))
        logp = numba.carray(logp_, (1,))
        u = np.empty(dim)
        for k in range(dim):
            u[k] = x[k]
        value, gradient = jit_fn(u)
        logp[0] = value[()]
        for k in range(dim):
            grad[k] = gradient[k]
            if not np.isfinite(gradient[k]):
                return 3
        if not np.isfinite(logp[0]):
            return 4
        return 0

    return logp_cfunc
