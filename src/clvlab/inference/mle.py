"""Maximum likelihood through lifetimes, and parameter uncertainty from it.

The optimiser is lifetimes' (``BetaGeoFitter`` / ``GammaGammaFitter``), run on folded
rows with weights. It minimises ``-sum(w * loglik) / sum(w) + penalizer * sum(q**2)``
over ``log(q)``, where ``q`` are the parameters in lifetimes' internal scale (BG/NBD
measures time in units of the longest ``T``, so its ``q_alpha = alpha / max(T)``; see
:meth:`clvlab.models.base.BaseModel.lifetimes_scale`). Uncertainty comes from either

- **Laplace**: the Hessian of that same objective (times ``sum(w)``, so that with
  ``penalizer=0`` it is the Hessian of the total log-likelihood) with respect to the
  log-parameters, computed exactly by automatic differentiation (autograd) of the
  formula the Bayesian path uses (lifetimes' own ``variance_matrix_`` is not symmetric
  and is not used). Draws are multivariate normal on the log scale, so they stay
  positive; or
- **bootstrap**: customers are resampled with replacement (a multinomial draw of the
  folded weights) and the model is refitted from the MLE with the same penalizer.

:func:`assess_optimum` checks that the optimum is a proper interior maximum; see there
for the rules.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from clvlab.errors import ConvergenceError, DegenerateFitWarning
from clvlab.formulas._ops import autograd_ops, numpy_ops
from clvlab.inference._lifetimes import lifetimes_module
from clvlab.progress import progress_bar

if TYPE_CHECKING:
    from clvlab.inference.spec import FitData, ModelSpec

__all__ = [
    "BOUNDARY",
    "CONDITION_MAX",
    "INTERVAL_RATIO_MAX",
    "DegenerateFitWarning",
    "assess_optimum",
    "bootstrap_draws",
    "describe_laplace",
    "information_matrix",
    "laplace_covariance",
    "laplace_draws",
    "log_scale_hessian",
    "maximize_likelihood",
]

#: A dimensionless (shape) parameter below ``BOUNDARY[0]`` or above ``BOUNDARY[1]`` is
#: taken to sit on the boundary of the parameter space (0 or infinity).
BOUNDARY = (1e-4, 1e4)
#: Largest acceptable condition number of the information matrix on the log scale.
CONDITION_MAX = 1e8
#: Largest acceptable ratio upper / lower of a 95% Laplace interval (3 orders of magnitude).
INTERVAL_RATIO_MAX = 1e3

ADVICE_NUTS = (
    "fit with method='nuts' (about a second with the compiled kernel; its weakly "
    "informative default priors keep the parameters finite) or method='map'"
)


def _lifetimes_start(
    model: ModelSpec, data: FitData, initial_params: dict[str, float] | None
) -> np.ndarray | None:
    """``initial_params`` (natural scale) as lifetimes' start, on the scale its fitter
    optimises: the log of the internal (time-scaled) parameters, or the internal
    parameters themselves when ``model.lifetimes_log_start`` is false (ParetoNBDFitter).

    Without ``initial_params``, such a fitter gets all internal parameters 1: lifetimes'
    ParetoNBDFitter would otherwise draw its start from NumPy's global generator, which
    makes the fit irreproducible and consumes the caller's random state.
    """
    log_start = getattr(model, "lifetimes_log_start", True)
    if initial_params is None:
        return None if log_start else np.ones(len(model.param_names))
    values = np.array([initial_params[n] for n in model.param_names], dtype=float)
    internal = values * model.lifetimes_scale(data)
    return np.log(internal) if log_start else internal


def maximize_likelihood(
    model: ModelSpec,
    data: FitData,
    *,
    penalizer: float = 0.0,
    initial_params: dict[str, float] | None = None,
    tol: float = 1e-7,
) -> np.ndarray:
    """Fit ``model`` by maximum likelihood with lifetimes on the folded ``data``.

    Returns the estimates in the order of ``model.param_names``. ``initial_params`` are
    on the natural scale (``{"r": 0.2, ...}``); they are converted to lifetimes' log
    internal scale here. lifetimes' printout of a failed optimisation is swallowed.

    Raises
    ------
    ConvergenceError
        When the optimiser fails or returns non-finite or non-positive values, with
        advice that works on such data.
    """
    if initial_params is None:
        advice = f"The optimum may be on the boundary of the parameters; {ADVICE_NUTS}"
    else:
        advice = f"Start without initial_params (or closer to the estimate), or {ADVICE_NUTS}"
    if model.lifetimes_fitter is None:
        return _scipy_maximum(model, data, penalizer, initial_params, tol, advice)
    lifetimes = lifetimes_module("lifetimes")
    utils = lifetimes_module("lifetimes.utils")
    fitter = getattr(lifetimes, model.lifetimes_fitter)(penalizer_coef=penalizer)
    init = _lifetimes_start(model, data, initial_params)
    printed = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(printed):
            # lifetimes warns through pandas/numpy on some data, and prints scipy's
            # result when it fails; the result is checked below
            warnings.simplefilter("ignore", RuntimeWarning)
            fitter.fit(
                **model.lifetimes_arguments(data),
                weights=data.weights,
                initial_params=init,
                tol=tol,
                verbose=False,
            )
    except np.linalg.LinAlgError as exc:
        # lifetimes inverts its own Hessian after the optimiser succeeded; a singular one
        # leaves params_ set, and clvlab's own check (assess_optimum) reports the optimum
        if not hasattr(fitter, "params_"):
            raise ConvergenceError(
                f"{model.display_name} maximum likelihood did not converge. {advice}"
            ) from exc
    except (utils.ConvergenceError, ValueError, FloatingPointError) as exc:
        reason = _scipy_message(printed.getvalue())
        if initial_params is None and "precision loss" in reason:
            # BFGS stopped on a flat ridge (typically an optimum on the boundary): the
            # same objective is optimised from the same start without the gradient
            # tolerance, and assess_optimum judges the point it reaches
            return _optimum_despite_precision_loss(model, data, penalizer, tol, advice)
        raise ConvergenceError(
            f"{model.display_name} maximum likelihood did not converge"
            + (f" ({reason})" if reason else "")
            + f". {advice}"
        ) from exc
    estimates = np.array([float(fitter.params_[n]) for n in model.param_names])
    if not np.all(np.isfinite(estimates)) or np.any(estimates <= 0):
        raise ConvergenceError(
            f"{model.display_name} maximum likelihood returned invalid estimates "
            f"{_fmt(model.param_names, estimates)}. {advice}"
        )
    return estimates


def _optimum_despite_precision_loss(
    model: ModelSpec, data: FitData, penalizer: float, tol: float, advice: str
) -> np.ndarray:
    """Maximise lifetimes' objective (the mean weighted log-likelihood minus
    ``penalizer * sum((scale * params)**2)``, in log-parameters of lifetimes' scaled
    time) with Nelder-Mead, which needs no gradient tolerance, from lifetimes' start
    (all internal parameters 1). Used when lifetimes' BFGS stops with "precision loss";
    the caller's :func:`assess_optimum` then reports a boundary optimum as such."""
    from scipy.optimize import minimize

    scale = model.lifetimes_scale(data)
    w = data.weights / data.weights.sum()

    def objective(u: np.ndarray) -> float:
        params = np.exp(u) / scale
        with np.errstate(all="ignore"):
            rows = model.loglik(
                numpy_ops, data.columns, dict(zip(model.param_names, params, strict=True))
            )
            value = -float(np.sum(w * rows)) + penalizer * float(np.sum(np.exp(u) ** 2))
        return value if np.isfinite(value) else np.inf

    out = minimize(
        objective,
        np.zeros(len(model.param_names)),
        method="Nelder-Mead",
        options={"xatol": 1e-8, "fatol": tol * 1e-3, "maxiter": 20_000, "maxfev": 40_000},
    )
    estimates = np.exp(out.x) / scale
    if not np.isfinite(out.fun) or not np.all(np.isfinite(estimates)) or np.any(estimates <= 0):
        raise ConvergenceError(
            f"{model.display_name} maximum likelihood did not converge (precision loss). {advice}"
        )
    return np.asarray(estimates, dtype=float)


def _scipy_maximum(
    model: ModelSpec,
    data: FitData,
    penalizer: float,
    initial_params: dict[str, float] | None,
    tol: float,
    advice: str,
) -> np.ndarray:
    """Maximise lifetimes' objective with SciPy, for a model lifetimes has no fitter for
    (``lifetimes_fitter = None``: the shifted-beta-geometric model).

    The same objective as lifetimes' fitters (the mean weighted log-likelihood minus
    ``penalizer * sum((scale * params)**2)``) in the log of the scaled parameters, from
    all of them 1 or ``initial_params``, by L-BFGS-B with the exact gradient of the
    model's formula (autograd); the result is judged by :func:`assess_optimum` as any
    other maximum.
    """
    import autograd.numpy as anp
    from autograd import value_and_grad
    from scipy.optimize import minimize

    ops = autograd_ops()
    scale = model.lifetimes_scale(data)
    w = data.weights / data.weights.sum()
    names = model.param_names

    def objective(u: Any) -> Any:
        params = {n: anp.exp(u[i]) / scale[i] for i, n in enumerate(names)}
        rows = model.loglik(ops, data.columns, params)
        return -anp.sum(w * rows) + penalizer * anp.sum(anp.exp(u) ** 2)

    both = value_and_grad(objective)

    def fun(u: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            value, grad = both(u)
        value, grad = float(value), np.asarray(grad, dtype=float)
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return np.inf, np.zeros_like(u)
        return value, grad

    start = _lifetimes_start(model, data, initial_params)
    u0 = np.zeros(len(names)) if start is None else np.asarray(start, dtype=float)
    out = minimize(fun, u0, jac=True, method="L-BFGS-B", options={"maxiter": 10_000, "gtol": tol})
    estimates = np.exp(out.x) / scale
    if not out.success or not np.isfinite(out.fun) or not np.all(np.isfinite(estimates)):
        raise ConvergenceError(
            f"{model.display_name} maximum likelihood did not converge ({out.message}). {advice}"
        )
    return np.asarray(estimates, dtype=float)


def _scipy_message(printed: str) -> str:
    """The one ``message:`` line of scipy's printed result, if any."""
    for line in printed.splitlines():
        key, _, value = line.strip().partition(":")
        if key == "message" and value.strip():
            return value.strip()
    return ""


def _fmt(names: tuple[str, ...], values: np.ndarray) -> str:
    return ", ".join(f"{n}={v:.4g}" for n, v in zip(names, values, strict=True))


def log_scale_hessian(model: ModelSpec, data: FitData, estimates: np.ndarray) -> np.ndarray:
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

    with np.errstate(all="ignore"):
        out = hessian(total)(np.log(np.asarray(estimates, dtype=float)))
    return np.asarray(out, dtype=float)


def information_matrix(
    model: ModelSpec, data: FitData, estimates: np.ndarray, penalizer: float = 0.0
) -> np.ndarray:
    """Negative Hessian, in ``log(params)``, of the objective lifetimes maximised, times
    ``sum(w)``: the total log-likelihood minus ``sum(w) * penalizer * sum(q**2)``.

    The penalty's Hessian in ``u = log(params)`` is diagonal:
    ``d2/du2 (s * exp(u))**2 = 4 * q**2`` with ``q = s * params`` (lifetimes' scale ``s``).
    """
    hessian = log_scale_hessian(model, data, estimates)
    info = -0.5 * (hessian + hessian.T)
    if penalizer:
        q = np.asarray(estimates, dtype=float) * model.lifetimes_scale(data)
        info = info + np.diag(4.0 * penalizer * float(data.weights.sum()) * q**2)
    return info


def laplace_covariance(information: np.ndarray) -> np.ndarray:
    """Covariance of ``log(params)``: the inverse of the information matrix.

    Raises
    ------
    ConvergenceError
        When the matrix is not finite and positive definite (use :func:`assess_optimum`
        first to report why).
    """
    try:
        if not np.all(np.isfinite(information)):
            raise np.linalg.LinAlgError("non-finite")
        chol = np.linalg.cholesky(information)
    except np.linalg.LinAlgError as exc:
        raise ConvergenceError(
            f"the Hessian at the maximum-likelihood estimate is not negative definite; "
            f"{ADVICE_NUTS}"
        ) from exc
    inv_chol = np.linalg.inv(chol)
    return inv_chol.T @ inv_chol


def assess_optimum(
    model: ModelSpec, estimates: np.ndarray, information: np.ndarray
) -> dict[str, Any]:
    """Whether a maximum-likelihood optimum supports Laplace or bootstrap intervals.

    Problems reported (each one a sentence in ``problems``):

    - a dimensionless parameter (one not in ``model.scale_params``) outside
      :data:`BOUNDARY`, i.e. at 0 or at infinity, as BG/NBD's ``a -> 0, b -> inf`` when
      hardly anyone drops out;
    - an information matrix that is not finite or not positive definite (no proper
      maximum), or whose condition number exceeds :data:`CONDITION_MAX` (a flat ridge);
    - a 95% Laplace interval whose upper / lower ratio exceeds :data:`INTERVAL_RATIO_MAX`.

    Returns
    -------
    dict
        JSON-ready: ``ok`` (bool), ``problems`` (list of str), ``boundary`` (names),
        ``condition_number`` (float or None), ``interval_ratio`` (name -> float or
        None), ``mle`` (name -> estimate).
    """
    names = model.param_names
    problems: list[str] = []
    boundary = []
    for name, value in zip(names, estimates, strict=True):
        if name in model.scale_params:
            continue
        if value < BOUNDARY[0]:
            boundary.append(name)
            problems.append(f"{name} = {value:.3g} is at its lower bound 0")
        elif value > BOUNDARY[1]:
            boundary.append(name)
            problems.append(f"{name} = {value:.4g} is at its upper bound (infinity)")
    condition: float | None = None
    ratios: dict[str, float | None] = dict.fromkeys(names)
    finite = bool(np.all(np.isfinite(information)))
    eigen = np.linalg.eigvalsh(information) if finite else np.array([np.nan])
    if not finite or not np.all(eigen > 0):
        problems.append("the Hessian is not negative definite (no proper maximum)")
    else:
        condition = float(eigen.max() / eigen.min())
        if condition > CONDITION_MAX:
            problems.append(
                f"the Hessian is nearly singular (condition number {condition:.2g} > "
                f"{CONDITION_MAX:.0e})"
            )
        sd_log = np.sqrt(np.diag(np.linalg.inv(information)))
        for name, sd in zip(names, sd_log, strict=True):
            ratio = float(np.exp(2 * 1.959963984540054 * sd)) if sd < 300 else float("inf")
            ratios[name] = ratio if np.isfinite(ratio) else None
            if not ratio <= INTERVAL_RATIO_MAX:
                problems.append(
                    f"the 95% interval of {name} spans a factor of "
                    + (f"{ratio:.2g}" if np.isfinite(ratio) else "infinity")
                )
    return {
        "ok": not problems,
        "problems": problems,
        "boundary": boundary,
        "condition_number": condition,
        "interval_ratio": ratios,
        "mle": {n: float(v) for n, v in zip(names, estimates, strict=True)},
    }


def laplace_draws(
    estimates: np.ndarray, covariance: np.ndarray, n_draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Draws of the parameters, normal on the log scale; shape ``(1, n_draws, k)``."""
    log_draws = rng.multivariate_normal(np.log(estimates), covariance, size=n_draws)
    return np.exp(log_draws)[None]


def bootstrap_draws(
    model: ModelSpec,
    data: FitData,
    estimates: np.ndarray,
    n_bootstrap: int,
    rng: np.random.Generator,
    *,
    penalizer: float = 0.0,
    progress: bool = True,
) -> np.ndarray:
    """Refit on customer resamples with the same ``penalizer``; shape
    ``(1, n_bootstrap, k)``.

    Resampling customers with replacement is a multinomial draw of the folded weights,
    so each replicate costs one fit on the folded rows, started at the estimate.
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
