"""Bayesian fits with PyMC: NUTS (PyMC's sampler or nutpie), ADVI, and MAP.

The likelihood is the model's formula evaluated with the pytensor backend on the folded
rows, each row's log-density multiplied by its weight (the number of customers in it),
and added to the joint density with ``pm.Potential``. Pointwise log-likelihoods for LOO
are recomputed from the draws with the NumPy backend of the same formula.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from clvlab._imports import import_quietly
from clvlab._parallel import workers_for
from clvlab.errors import ArgumentError, ConvergenceError, SamplingWarning
from clvlab.progress import progress_enabled, pymc_progress

if TYPE_CHECKING:
    from clvlab.inference.graph_kernel import GraphKernel
    from clvlab.inference.kernels import KernelData
    from clvlab.inference.spec import FitData, ModelSpec
    from clvlab.priors import Prior

__all__ = [
    "build_pymc_model",
    "diagnose",
    "fit_advi",
    "fit_map",
    "fit_map_compiled",
    "sample_nuts",
    "sample_nuts_compiled",
]

Sampler = Literal["pymc", "nutpie"]
RHAT_MAX = 1.01
ESS_MIN_PER_CHAIN = 100  # Vehtari et al. (2021): bulk and tail ESS >= 100 per chain


@contextlib.contextmanager
def _pymc_log(progress: bool) -> Iterator[None]:
    """PyMC logs its steps ("Initializing NUTS...", ADVI's "Finished [100%]") at INFO
    level; without progress output, raise its logger to WARNING for the call only."""
    if progress_enabled(progress):
        yield
        return
    logger = logging.getLogger("pymc")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _pm() -> Any:
    import_quietly("arviz")
    return import_quietly("pymc")


def build_pymc_model(model: ModelSpec, data: FitData, priors: Mapping[str, Prior]) -> Any:
    """The PyMC model: priors on the parameters and the weighted folded likelihood."""
    pm = _pm()
    with pm.Model() as pymc_model:
        params = {name: priors[name].create(name) for name in model.param_names}
        pm.Potential("loglik", model.weighted_loglik(data, params))
    return pymc_model


def _digamma(x: float) -> float:  # pragma: no cover - compiled by numba
    """The digamma function, ``psi(x) = d/dx ln Gamma(x)``, with no SciPy call.

    Recurrence ``psi(x) = psi(x + 1) - 1/x`` up to ``x >= 10``, then the asymptotic
    series ``ln x - 1/(2x) - sum_k B_2k / (2k x^2k)`` to ``k = 6`` (DLMF 5.5.2, 5.11.2;
    truncation below 1e-15 there), and the reflection ``psi(1 - x) - pi / tan(pi x)``
    (DLMF 5.5.4) for ``x < 0``. Matches SciPy's ``psi`` to 2e-15 relative for ``x > 0``.
    """
    if x == 0.0:
        return -math.inf
    if x < 0.0 and x == math.floor(x):
        return math.nan
    out = 0.0
    if x < 0.0:
        out = -math.pi / math.tan(math.pi * x)
        x = 1.0 - x
    while x < 10.0:
        out -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    tail = f * (
        1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f * (1 / 132 - f * 691 / 32760))))
    )
    return out + math.log(x) - 0.5 / x - tail


_DIGAMMA_REGISTERED: list[bool] = []


def _cacheable_digamma() -> None:
    """Let pytensor's numba backend cache graphs that contain ``psi`` (once per process).

    The gradient of every ``gammaln`` in a likelihood is ``psi``. pytensor (2.38) compiles
    it to a call of SciPy's Cython ``psi`` through a function pointer, which numba cannot
    cache on disk, and then no graph containing it is cached: nutpie recompiled every
    model from scratch on every fit (about 20 s for the Pareto/NBD on CDNOW). Registered
    as :func:`_digamma`, compiled by numba, the graph is cached, and a later fit of the
    same model and data compiles in about half the time (pytensor's graph rewriting and
    nutpie's C callback are still done on every fit). ``psi`` is the only function
    changed, for pytensor's numba backend only.
    """
    if _DIGAMMA_REGISTERED:
        return
    from pytensor.link.numba.dispatch import basic as numba_basic
    from pytensor.link.numba.dispatch.scalar import scalar_op_cache_key
    from pytensor.scalar.math import Psi

    compiled = numba_basic.numba_njit(_digamma)

    @numba_basic.register_funcify_and_cache_key(Psi)
    def _funcify_psi(op: Any, node: Any = None, **kwargs: Any) -> tuple[Any, str]:
        return compiled, scalar_op_cache_key(op, clvlab_digamma=1)

    _DIGAMMA_REGISTERED.append(True)


def sample_nuts(
    pymc_model: Any,
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int | None,
    sampler: Sampler = "nutpie",
    target_accept: float = 0.9,
    progress: bool = True,
) -> Any:
    """Run NUTS and return the ArviZ ``InferenceData``.

    Chains run in parallel on up to ``os.cpu_count()`` cores (PyMC runs them one after
    another unless ``cores`` is passed). With nutpie (the default) the mass matrix is
    nutpie's low-rank modified one: the BG/NBD ``a, b`` and the Gamma-Gamma ``p, v``
    posteriors are strongly correlated, and it gives two to three times the effective
    sample size of a diagonal mass matrix on CDNOW. PyMC's own sampler uses
    ``jitter+adapt_diag``: its dense adaptation (``adapt_full``) overflowed during early
    tuning on the full CDNOW data.
    """
    pm = _pm()
    if sampler not in ("pymc", "nutpie"):
        raise ArgumentError(f"sampler must be 'pymc' or 'nutpie', got {sampler!r}")
    cores = workers_for(chains)
    kwargs: dict[str, Any] = {
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "cores": cores,
        "random_seed": seed,
        "progressbar": pymc_progress(progress),
        "model": pymc_model,
        "compute_convergence_checks": False,
        "target_accept": target_accept,
    }
    if sampler == "nutpie":
        _cacheable_digamma()
        kwargs["nuts_sampler"] = "nutpie"
        kwargs["nuts_sampler_kwargs"] = {"low_rank_modified_mass_matrix": True}
    else:
        kwargs["init"] = "jitter+adapt_diag"
    with warnings.catch_warnings(), _pymc_log(progress):
        # PyMC announces its own sampler settings as UserWarnings / FutureWarnings
        warnings.filterwarnings("ignore", message=".*nutpie.*", category=UserWarning)
        return pm.sample(**kwargs)


def sample_nuts_compiled(
    data: KernelData | GraphKernel,
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int | None,
    target_accept: float = 0.9,
    progress: bool = True,
) -> Any:
    """nutpie's NUTS on a compiled kernel: a hand-derived one
    (:mod:`clvlab.inference.kernels`) or the model's graph with pytensor's gradient
    (:mod:`clvlab.inference.graph_kernel`).

    The same sampler, mass matrix and settings as :func:`sample_nuts` with nutpie, but
    the log-density and its gradient come from numba functions cached on disk instead
    of a PyMC model compiled on every fit, and no PyMC model is built. Each chain starts
    at the centre of the priors on the log scale, jittered uniformly by +-1 (as PyMC
    jitters its initial points), from a stream of ``seed``.
    """
    # nutpie's container for a model given as C function pointers (pinned nutpie < 0.17)
    from nutpie.compile_pymc import CompiledPyMCModel

    from clvlab.inference import kernels
    from clvlab.inference.graph_kernel import GraphKernel

    nutpie = import_quietly("nutpie")
    compiled = kernels.compiled()
    if isinstance(data, GraphKernel):
        logp_cfunc, user_data = data.logp_cfunc, data.user_data
    else:
        logp_cfunc, user_data = compiled.logp_cfunc, data.buffer
    names = list(data.names)
    base = [int(v) for v in np.random.SeedSequence(seed).generate_state(4)]

    def initial_point(chain_seed: int) -> np.ndarray:
        rng = np.random.default_rng([*base, int(chain_seed)])
        return data.centres + rng.uniform(-1.0, 1.0, len(names))

    model = CompiledPyMCModel(
        dims={},
        compiled_logp_func=logp_cfunc,
        compiled_expand_func=compiled.expand_cfunc,
        initial_point_func=initial_point,
        shared_data={},
        user_data=user_data,
        n_expanded=len(names),
        shape_info=(names, [slice(i, i + 1) for i in range(len(names))], [() for _ in names]),
        logp_func=None,
        expand_func=None,
        _n_dim=len(names),
        _shapes=dict.fromkeys(names, ()),
        _coords={},
    )
    return nutpie.sample(
        model,
        draws=draws,
        tune=tune,
        chains=chains,
        cores=workers_for(chains),
        seed=seed,
        progress_bar=progress_enabled(progress),
        low_rank_modified_mass_matrix=True,
        target_accept=target_accept,
    )


def fit_advi(
    pymc_model: Any, *, n_iterations: int, draws: int, seed: int | None, progress: bool
) -> Any:
    """Mean-field ADVI started at the posterior mode; one chain of ``draws``.

    Starting at the mode (a cheap L-BFGS run) makes the stochastic optimisation
    converge in a few thousand iterations instead of wandering from PyMC's default
    initial point.
    """
    pm = _pm()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        start = pm.find_MAP(model=pymc_model, progressbar=False, seed=seed)
    with pymc_model, _pymc_log(progress):
        try:
            approx = pm.fit(
                n=n_iterations,
                method="advi",
                random_seed=seed,
                progressbar=pymc_progress(progress),
                start=start,
            )
        except FloatingPointError as exc:
            # PyMC stops ADVI with a multi-line FloatingPointError when a step gives NaN
            raise ConvergenceError(
                "ADVI diverged (a NaN parameter during the optimisation); try method='nuts'"
            ) from exc
        idata = approx.sample(draws, random_seed=seed)
    losses = np.asarray(approx.hist)
    if not np.all(np.isfinite(losses[-100:])):
        raise ConvergenceError("ADVI diverged (non-finite ELBO); try method='nuts'")
    idata.attrs["advi_final_loss"] = float(losses[-100:].mean())
    return idata


def fit_map(
    pymc_model: Any, names: tuple[str, ...], *, draws: int, seed: int | None, progress: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mode, then a Laplace approximation on the unconstrained scale.

    Returns the mode (in ``names`` order) and draws of shape ``(1, draws, k)``.
    """
    pm = _pm()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        point = pm.find_MAP(model=pymc_model, progressbar=pymc_progress(progress), seed=seed)
    value_vars = pymc_model.value_vars
    ip = {v.name: np.asarray(point[v.name], dtype=float) for v in value_vars}
    info = _negative_hessian(pymc_model, ip)
    try:
        cov = np.linalg.inv(info)
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError as exc:
        raise ConvergenceError(
            "MAP: the Hessian at the mode is not negative definite; try method='nuts'"
        ) from exc
    rng = np.random.default_rng(seed)
    centre = np.concatenate([ip[v.name].ravel() for v in value_vars])
    z = rng.multivariate_normal(centre, cov, size=draws)
    import pytensor

    outs = pymc_model.replace_rvs_by_values([pymc_model[n] for n in names])
    back = pytensor.function(value_vars, outs, on_unused_input="ignore")
    sizes = [int(np.prod(ip[v.name].shape)) for v in value_vars]
    splits = np.cumsum(sizes)[:-1]
    out = np.array(
        [
            back(
                *[
                    part.reshape(ip[v.name].shape)
                    for part, v in zip(np.split(z_i, splits), value_vars, strict=True)
                ]
            )
            for z_i in z
        ],
        dtype=float,
    )
    mode = np.array([float(point[n]) for n in names])
    return mode, out[None]


def fit_map_compiled(
    data: KernelData, *, draws: int, seed: int | None, step: float = 1e-5
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fit_map` on a compiled kernel: the same mode and Laplace draws, without
    building or compiling a PyMC model (PyMC's route spends seconds compiling pytensor
    graphs, several times NUTS's whole run on the compiled kernel).

    The mode maximises the log posterior without the Jacobian, as ``pm.find_MAP`` does:
    the kernel's log-density minus ``sum(u)``, gradient minus 1. L-BFGS-B runs on
    ``u = log(theta)`` within ``[-30, 30]`` from the priors' centres. The Hessian is a
    central difference of the analytic gradient, as in :func:`fit_map`.

    Returns the mode (in ``data.names`` order) and draws of shape ``(1, draws, k)``.

    Raises
    ------
    ConvergenceError
        When the optimiser fails or the Hessian at the mode is not negative definite.
    """
    from scipy.optimize import minimize

    from clvlab.inference import kernels

    k = len(data.names)

    def objective(u: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = kernels.log_density(data, u)
        value, grad = value - float(np.sum(u)), grad - 1.0
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            return 1e300, np.zeros(k)
        return -value, -grad

    result = minimize(
        objective,
        np.asarray(data.centres, dtype=float),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-30.0, 30.0)] * k,
        options={"maxiter": 10_000, "ftol": 1e-14, "gtol": 1e-9},
    )
    mode_u = np.asarray(result.x, dtype=float)
    if not result.success or not np.isfinite(result.fun) or np.any(np.abs(mode_u) >= 29.9):
        raise ConvergenceError(
            f"MAP: the optimiser did not find a finite posterior mode ({result.message}); "
            "try method='nuts'"
        )
    hessian = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = step
        hessian[:, i] = (objective(mode_u + e)[1] - objective(mode_u - e)[1]) / (2 * step)
    info = 0.5 * (hessian + hessian.T)
    try:
        if not np.all(np.isfinite(info)):
            raise np.linalg.LinAlgError("non-finite")
        chol = np.linalg.cholesky(info)
    except np.linalg.LinAlgError as exc:
        raise ConvergenceError(
            "MAP: the Hessian at the mode is not negative definite; try method='nuts'"
        ) from exc
    inv_chol = np.linalg.inv(chol)
    cov = inv_chol.T @ inv_chol
    rng = np.random.default_rng(seed)
    z = rng.multivariate_normal(mode_u, cov, size=draws)
    return np.exp(mode_u), np.exp(z)[None]


def _negative_hessian(
    pymc_model: Any, point: dict[str, np.ndarray], step: float = 1e-5
) -> np.ndarray:
    """Negative Hessian of the log posterior (no Jacobian) in the unconstrained space.

    Central differences of the exact gradient: 2k gradient evaluations, no symbolic
    second derivatives to compile.
    """
    grad_fn = pymc_model.compile_dlogp(vars=pymc_model.free_RVs, jacobian=False)
    names = [v.name for v in pymc_model.value_vars]
    shapes = [point[n].shape for n in names]
    sizes = [int(np.prod(s)) for s in shapes]
    flat = np.concatenate([point[n].ravel() for n in names])
    splits = np.cumsum(sizes)[:-1]

    def grad(vec: np.ndarray) -> np.ndarray:
        parts = np.split(vec, splits)
        at = {n: p.reshape(s) for n, p, s in zip(names, parts, shapes, strict=True)}
        return np.asarray(grad_fn(at), dtype=float)

    k = len(flat)
    hessian = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = step
        hessian[:, i] = (grad(flat + e) - grad(flat - e)) / (2 * step)
    return -0.5 * (hessian + hessian.T)


def diagnose(idata: Any, names: tuple[str, ...]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """r_hat, bulk and tail ESS per parameter, and the divergence count.

    Warns with :class:`~clvlab.errors.SamplingWarning` when r_hat > 1.01, an ESS is
    below 100 per chain, or any transition diverged.
    """
    az = import_quietly("arviz")
    table = az.summary(idata, var_names=list(names), kind="diagnostics")
    table = table[["r_hat", "ess_bulk", "ess_tail"]].astype(float)
    divergences = 0
    if hasattr(idata, "sample_stats") and "diverging" in idata.sample_stats:
        divergences = int(idata.sample_stats["diverging"].sum())
    chains = int(idata.posterior.sizes["chain"])
    problems = []
    if chains > 1 and (table["r_hat"] > RHAT_MAX).any():
        problems.append(f"r_hat up to {table['r_hat'].max():.3f} (> {RHAT_MAX})")
    ess_min = ESS_MIN_PER_CHAIN * chains
    low = table[["ess_bulk", "ess_tail"]].min().min()
    if low < ess_min:
        problems.append(f"ESS as low as {low:.0f} (< {ess_min})")
    if divergences:
        problems.append(f"{divergences} divergent transitions")
    if problems:
        warnings.warn(
            "unreliable posterior: "
            + "; ".join(problems)
            + ". Run more tune/draws, raise target_accept, or revisit the priors",
            SamplingWarning,
            stacklevel=3,
        )
    summary = {
        "max_r_hat": float(table["r_hat"].max()),
        "min_ess_bulk": float(table["ess_bulk"].min()),
        "min_ess_tail": float(table["ess_tail"].min()),
        "divergences": divergences,
        "chains": chains,
        "draws": int(idata.posterior.sizes["draw"]),
    }
    return table, summary
