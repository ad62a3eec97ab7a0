"""Maximum likelihood through lifetimes, and parameter uncertainty from it.

The optimiser is lifetimes' (``BetaGeoFitter`` / ``GammaGammaFitter``), run on folded
rows with weights. Uncertainty comes from either

- **Laplace**: the Hessian of the total log-likelihood with respect to the
  log-parameters, computed exactly by automatic differentiation (autograd) of the same
  formula the Bayesian path uses (lifetimes' own ``variance_matrix_`` is not symmetric and is not
  used). Draws are multivariate normal on the log scale, so they stay positive; or
- **bootstrap**: customers are resampled with replacement — a multinomial draw of the
  folded weights — and the model is refitted from the MLE, with a seed.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from clvlab.errors import ConvergenceError
from clvlab.formulas._ops import autograd_ops
from clvlab.inference._lifetimes import lifetimes_module
from clvlab.progress import progress_bar

if TYPE_CHECKING:
    from clvlab.models.base import BaseModel, FitData

__all__ = [
    "bootstrap_draws",
    "describe_laplace",
    "laplace_covariance",
    "laplace_draws",
    "log_scale_hessian",
    "maximize_likelihood",
]


def maximize_likelihood(
    model: BaseModel,
    data: FitData,
    *,
    penalizer: float = 0.0,
    initial_params: dict[str, float] | None = None,
    tol: float = 1e-7,
) -> np.ndarray:
    """Fit ``model`` by maximum likelihood with lifetimes on the folded ``data``.

    Returns the estimates in the order of ``model.param_names``.

    Raises
    ------
    ConvergenceError
        When the optimiser fails or returns non-finite or non-positive values.
    """
    lifetimes = lifetimes_module("lifetimes")
    utils = lifetimes_module("lifetimes.utils")
    fitter = getattr(lifetimes, model.lifetimes_fitter)(penalizer_coef=penalizer)
    init = None
    if initial_params is not None:
        init = np.array([initial_params[n] for n in model.param_names], dtype=float)
    hint = (
        "Try a small penalizer (penalizer=0.001), other initial_params, "
        "or check the data for extreme frequencies"
    )
    try:
        with warnings.catch_warnings():
            # lifetimes warns through pandas/numpy on some data; its result is checked below
            warnings.simplefilter("ignore", RuntimeWarning)
            fitter.fit(
                **model.lifetimes_arguments(data),
                weights=data.weights,
                initial_params=init,
                tol=tol,
                verbose=False,
            )
    except (utils.ConvergenceError, ValueError, FloatingPointError) as exc:
        raise ConvergenceError(f"{model.display_name} MLE did not converge: {exc}. {hint}") from exc
    estimates = np.array([float(fitter.params_[n]) for n in model.param_names])
    if not np.all(np.isfinite(estimates)) or np.any(estimates <= 0):
        raise ConvergenceError(
            f"{model.display_name} MLE returned invalid estimates "
            f"{dict(zip(model.param_names, estimates, strict=True))}. {hint}"
        )
    return estimates


def log_scale_hessian(model: BaseModel, data: FitData, estimates: np.ndarray) -> np.ndarray:
    """Exact Hessian of the weighted log-likelihood in ``log(params)``, at ``estimates``.

    Automatic differentiation (autograd, which lifetimes already depends on) of the same
    formula the Bayesian path compiles with pytensor: no compile step, exact to rounding.
    """
    import autograd.numpy as anp
    from autograd import hessian

    ops = autograd_ops()
    names = model.param_names

    def total(theta: Any) -> Any:
        params = {n: anp.exp(theta[i]) for i, n in enumerate(names)}
        return anp.sum(data.weights * model.loglik(ops, data.columns, params))

    return np.asarray(hessian(total)(np.log(np.asarray(estimates, dtype=float))), dtype=float)


def laplace_covariance(model: BaseModel, data: FitData, estimates: np.ndarray) -> np.ndarray:
    """Covariance of ``log(params)``: the inverse of the negative Hessian.

    Raises
    ------
    ConvergenceError
        When the Hessian is not negative definite (the MLE is not a proper maximum).
    """
    hessian = log_scale_hessian(model, data, estimates)
    info = -0.5 * (hessian + hessian.T)
    try:
        chol = np.linalg.cholesky(info)
    except np.linalg.LinAlgError as exc:
        raise ConvergenceError(
            f"{model.display_name}: the Hessian at the MLE is not negative definite, so the "
            "estimate is not a proper maximum. Try other initial_params, a small penalizer, "
            "or uncertainty='bootstrap'"
        ) from exc
    inv_chol = np.linalg.inv(chol)
    return inv_chol.T @ inv_chol


def laplace_draws(
    estimates: np.ndarray, covariance: np.ndarray, n_draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Draws of the parameters, normal on the log scale; shape ``(1, n_draws, k)``."""
    log_draws = rng.multivariate_normal(np.log(estimates), covariance, size=n_draws)
    return np.exp(log_draws)[None]


def bootstrap_draws(
    model: BaseModel,
    data: FitData,
    estimates: np.ndarray,
    n_bootstrap: int,
    rng: np.random.Generator,
    *,
    penalizer: float = 0.0,
    progress: bool = True,
) -> np.ndarray:
    """Refit on customer resamples; shape ``(1, n_bootstrap, k)``.

    Resampling customers with replacement is a multinomial draw of the folded weights,
    so each replicate costs one fit on the folded rows.
    """
    total = round(data.weights.sum())
    probs = data.weights / data.weights.sum()
    start = dict(zip(model.param_names, estimates, strict=True))
    out = np.empty((n_bootstrap, len(estimates)))
    for i in progress_bar(range(n_bootstrap), "bootstrap", enable=progress):
        counts = rng.multinomial(total, probs).astype(float)
        out[i] = maximize_likelihood(
            model, data.reweighted(counts), penalizer=penalizer, initial_params=start
        )
    return out[None]


def describe_laplace(
    estimates: np.ndarray, covariance: np.ndarray, ci_prob: float
) -> dict[str, Any]:
    """Delta-method sd and log-normal interval bounds of each parameter."""
    from scipy import stats

    sd_log = np.sqrt(np.diag(covariance))
    z = stats.norm.ppf((1 + ci_prob) / 2)
    return {
        "estimate": estimates,
        "sd": estimates * sd_log,
        "lower": estimates * np.exp(-z * sd_log),
        "upper": estimates * np.exp(z * sd_log),
    }
