"""The declarative model base class.

A model declares its parameter names, the RFM columns its likelihood reads, its
log-likelihood formula, its default priors and its lifetimes fitter. This class derives
the rest: validation, folding, fitting by MLE (Laplace or bootstrap draws) or PyMC (NUTS,
ADVI, MAP), the common parameter draws, the ``params_`` table, ``summary()`` and
``save()``. It follows scikit-learn's contract: ``__init__`` stores settings, ``fit``
validates, sets attributes ending in ``_`` and returns ``self``.
"""

from __future__ import annotations

import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import xarray as xr

from clvlab.arguments import (
    check_ci_prob,
    check_count,
    check_interval_kind,
    check_nonnegative,
    check_positive,
)
from clvlab.data.rfm import rfm_metadata
from clvlab.errors import ArgumentError, ConvergenceError, DegenerateFitWarning, NotFittedError
from clvlab.formulas import numpy_ops
from clvlab.inference import bayes, kernels, mle
from clvlab.inference.draws import (
    IntervalKind,
    draws_from_arrays,
    stack_draws,
    summarize_draws,
)
from clvlab.inference.graph_kernel import graph_kernel
from clvlab.inference.spec import FitData
from clvlab.priors import Prior, check_priors

__all__ = ["METHODS", "UNCERTAINTIES", "BaseModel", "FitData", "Method"]

Method = Literal["mle", "nuts", "advi", "map"]
#: The fitting methods of every model.
METHODS: tuple[Method, ...] = ("mle", "nuts", "advi", "map")
#: The uncertainties of a maximum-likelihood fit.
UNCERTAINTIES = ("laplace", "bootstrap")
#: Sampler settings of the NUTS fit that replaces a degenerate MLE.
FALLBACK_NUTS = {"draws": 1000, "tune": 1000, "chains": 2}
_SAMPLERS = ("nutpie", "pymc")
_REGISTRY: dict[str, type[BaseModel]] = {}


class BaseModel(ABC):
    """Shared machinery of clvlab's models; subclasses only declare."""

    name: ClassVar[str]
    display_name: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]
    loglik_columns: ClassVar[tuple[str, ...]]
    lifetimes_fitter: ClassVar[str | None]
    #: Parameters that carry a unit (time, currency): not checked against the boundary.
    scale_params: ClassVar[tuple[str, ...]] = ()
    #: whether the lifetimes fitter optimises the logs of its internal parameters
    lifetimes_log_start: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            _REGISTRY[cls.name] = cls

    def __init__(
        self,
        priors: Mapping[str, Prior] | None = None,
        *,
        ci_prob: float = 0.9,
        interval_kind: IntervalKind = "eti",
    ) -> None:
        """Store the settings, after checking them.

        Raises
        ------
        ArgumentError
            For a prior of an unknown parameter or with support outside the positive
            reals, a ``ci_prob`` outside (0, 1), or an unknown ``interval_kind``.
        """
        self.priors = check_priors(priors, self.param_names, self.display_name)
        self.ci_prob = check_ci_prob(ci_prob)
        self.interval_kind: IntervalKind = check_interval_kind(interval_kind)  # type: ignore[assignment]

    # ---- what a subclass declares -------------------------------------------------
    @staticmethod
    @abstractmethod
    def loglik(ops: Any, columns: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
        """Pointwise log-likelihood of the folded rows."""

    @classmethod
    def weighted_loglik(cls, data: FitData, params: Mapping[str, Any]) -> Any:
        """The folded log-likelihood that the Bayesian fits sample, as a pytensor
        expression: each row's :meth:`loglik` times its weight, summed. A model may
        override it with a cheaper form of the same formula (Pareto/NBD does)."""
        import pytensor.tensor as pt

        from clvlab.formulas._ops import pytensor_ops_gathering

        ops, columns = pytensor_ops_gathering({c: data.columns[c] for c in cls.loglik_columns})
        return pt.sum(pt.as_tensor_variable(data.weights) * cls.loglik(ops, columns, params))

    @abstractmethod
    def prepare(self, rfm: pd.DataFrame) -> FitData:
        """Validate ``rfm`` and fold it into likelihood inputs."""

    @abstractmethod
    def default_priors(self, data: FitData) -> dict[str, Prior]:
        """Weakly informative priors, documented in the subclass."""

    @abstractmethod
    def lifetimes_arguments(self, data: FitData) -> dict[str, np.ndarray]:
        """Keyword arguments of the lifetimes fitter's ``fit``, from the folded columns."""

    def lifetimes_scale(self, data: FitData) -> np.ndarray:
        """Factors from the parameters to lifetimes' internal ones (all 1 by default)."""
        return np.ones(len(self.param_names))

    # ---- fitting ---------------------------------------------------------------------
    def fit(
        self,
        rfm: pd.DataFrame,
        method: Method = "mle",
        *,
        seed: int | None = None,
        progress: bool = True,
        uncertainty: Literal["laplace", "bootstrap"] = "laplace",
        n_draws: int = 2000,
        n_bootstrap: int = 200,
        penalizer: float = 0.0,
        initial_params: Mapping[str, float] | None = None,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 2,
        sampler: bayes.Sampler = "nutpie",
        target_accept: float = 0.9,
        advi_iterations: int = 20_000,
    ) -> BaseModel:
        """Fit the model to an RFM table and return ``self``.

        Parameters
        ----------
        rfm
            From :func:`clvlab.rfm_summary`, or a table with the same columns.
        method
            ``"mle"`` (lifetimes' optimiser), ``"nuts"``, ``"advi"`` or ``"map"``.
        seed
            Seed of every random step (draws, bootstrap, sampler).
        progress
            Show progress bars.
        uncertainty, n_draws, n_bootstrap, penalizer, initial_params
            MLE only. ``"laplace"`` draws ``n_draws`` (>= 1) from the normal
            approximation on the log scale; ``"bootstrap"`` refits on ``n_bootstrap``
            (>= 2) customer resamples. ``penalizer`` (>= 0) is lifetimes'
            ``penalizer_coef``; it applies to the estimate, the Laplace Hessian and every
            bootstrap refit alike. ``initial_params`` maps every parameter to a positive
            start value.
        draws, tune, chains, sampler, target_accept
            NUTS only (``draws`` is also the number of ADVI and MAP draws).
            ``draws`` and ``chains`` >= 1, ``tune`` >= 0, ``target_accept`` in (0, 1).
            ``sampler="nutpie"`` (default) or ``"pymc"`` (PyMC's own NUTS).
        advi_iterations
            ADVI only.

        Raises
        ------
        ArgumentError
            For any argument outside its domain, before any work is done.
        ConvergenceError
            When no usable fit is found; the message says what to do.

        Warns
        -----
        DegenerateFitWarning
            With ``method="mle"``, when the maximum-likelihood optimum is on the boundary
            of the parameter space (BG/NBD's ``a -> 0, b -> inf`` when hardly anyone
            drops out), has a singular or nearly singular Hessian, or a 95% interval
            spanning more than three orders of magnitude
            (:func:`clvlab.inference.mle.assess_optimum`). Laplace or bootstrap
            intervals there would be infinite or meaningless, so clvlab falls back to
            the NUTS posterior under the model's priors (the weakly informative defaults
            unless ``priors`` were given; :data:`FALLBACK_NUTS` draws, about a second on
            the compiled kernel), as ``method="nuts"`` would give. ``method_`` and
            ``fit_info_["method"]`` then say ``"nuts"``,
            ``fit_info_["requested_method"]`` says ``"mle"``, and
            ``fit_info_["mle_quality"]`` holds ``ok=False``, the problems, the raw MLE
            and ``fallback="nuts"``; ``summary()`` and the HTML display show them. With
            flat priors there is no fallback, and the fit raises
            :class:`~clvlab.errors.ConvergenceError`.
        """
        settings = _check_fit_arguments(
            method=method,
            seed=seed,
            uncertainty=uncertainty,
            n_draws=n_draws,
            n_bootstrap=n_bootstrap,
            penalizer=penalizer,
            draws=draws,
            tune=tune,
            chains=chains,
            sampler=sampler,
            target_accept=target_accept,
            advi_iterations=advi_iterations,
        )
        (n_draws, n_bootstrap, penalizer, draws, tune, chains, target_accept) = (
            settings[k]
            for k in (
                "n_draws",
                "n_bootstrap",
                "penalizer",
                "draws",
                "tune",
                "chains",
                "target_accept",
            )
        )
        advi_iterations = settings["advi_iterations"]
        start = _check_initial_params(initial_params, self.param_names)
        self.ci_prob = check_ci_prob(self.ci_prob)
        self.interval_kind = check_interval_kind(self.interval_kind)  # type: ignore[assignment]
        self.priors = check_priors(self.priors, self.param_names, self.display_name)
        data = self.prepare(rfm)
        for stale in ("covariance_", "draws_", "params_"):
            self.__dict__.pop(stale, None)
        started = time.perf_counter()
        self.idata_: Any = None
        self.diagnostics_: pd.DataFrame | None = None
        info: dict[str, Any] = {"method": method, "seed": seed, "data": _data_period(rfm)}
        if method == "mle":
            info.update(
                self._fit_mle(
                    data,
                    seed,
                    progress,
                    uncertainty,
                    n_draws,
                    n_bootstrap,
                    penalizer,
                    start,
                )
            )
        else:
            priors = self._priors(data)
            info["priors"] = {k: priors[k].to_dict() for k in self.param_names}
            info.update(
                self._fit_bayes(
                    data,
                    priors,
                    method,
                    seed=seed,
                    progress=progress,
                    draws=draws,
                    tune=tune,
                    chains=chains,
                    sampler=sampler,
                    target_accept=target_accept,
                    advi_iterations=advi_iterations,
                )
            )
        info["seconds"] = time.perf_counter() - started
        self.method_ = info["method"]
        self.fit_info_ = info
        self.n_customers_ = data.n_customers
        self.n_rows_ = len(data)
        self.log_likelihood_ = self._total_loglik(data, self.params_["estimate"].to_numpy())
        return self

    def _fit_bayes(
        self,
        data: FitData,
        priors: dict[str, Prior],
        method: str,
        *,
        seed: int | None,
        progress: bool,
        draws: int,
        tune: int,
        chains: int,
        sampler: bayes.Sampler,
        target_accept: float,
        advi_iterations: int,
    ) -> dict[str, Any]:
        info: dict[str, Any] = {}
        nuts: dict[str, Any] = {
            "draws": draws,
            "tune": tune,
            "chains": chains,
            "seed": seed,
            "target_accept": target_accept,
            "progress": progress,
        }
        if method == "nuts" and sampler == "nutpie" and kernels.supports(self.name, priors):
            # no PyMC model to build and compile: nutpie samples the cached kernel
            kernel = kernels.kernel_data(self.name, data.columns, data.weights, priors)
            self.idata_ = bayes.sample_nuts_compiled(kernel, **nuts)
            info.update(sampler=sampler, log_density="compiled kernel")
        elif method == "map" and kernels.supports(self.name, priors):
            kernel = kernels.kernel_data(self.name, data.columns, data.weights, priors)
            mode, arr = bayes.fit_map_compiled(kernel, draws=draws, seed=seed)
            self._set_draws(arr)
            self.params_ = self._params_from_draws()
            self.params_["estimate"] = mode
            info["log_density"] = "compiled kernel"
            return info
        else:
            pymc_model = bayes.build_pymc_model(self, data, priors)
            if method == "map":
                mode, arr = bayes.fit_map(
                    pymc_model, self.param_names, draws=draws, seed=seed, progress=progress
                )
                self._set_draws(arr)
                self.params_ = self._params_from_draws()
                self.params_["estimate"] = mode
                info["log_density"] = "PyMC model"
                return info
            graph = None
            if method == "nuts" and sampler == "nutpie":
                graph = graph_kernel(pymc_model, self.param_names)
            if graph is not None:
                # the model's graph and pytensor's gradient, compiled once (numba caches
                # its pieces) and sampled through a C callback, as the kernels are
                self.idata_ = bayes.sample_nuts_compiled(graph, **nuts)
                info.update(sampler=sampler, log_density="compiled graph")
            elif method == "nuts":
                self.idata_ = bayes.sample_nuts(pymc_model, sampler=sampler, **nuts)
                info.update(sampler=sampler, log_density="PyMC model")
            else:
                self.idata_ = bayes.fit_advi(
                    pymc_model,
                    n_iterations=advi_iterations,
                    draws=draws,
                    seed=seed,
                    progress=progress,
                )
        posterior = self.idata_.posterior
        self.draws_ = xr.Dataset(
            {n: posterior[n].astype(float) for n in self.param_names}
        ).reset_coords(drop=True)
        self.params_ = self._params_from_draws()
        if method == "nuts":
            self.diagnostics_, info["diagnostics"] = bayes.diagnose(self.idata_, self.param_names)
        return info

    def _fit_mle(
        self,
        data: FitData,
        seed: int | None,
        progress: bool,
        uncertainty: str,
        n_draws: int,
        n_bootstrap: int,
        penalizer: float,
        initial_params: dict[str, float] | None,
    ) -> dict[str, Any]:
        rng = np.random.default_rng(seed)
        estimates = mle.maximize_likelihood(
            self, data, penalizer=penalizer, initial_params=initial_params
        )
        information = mle.information_matrix(self, data, estimates, penalizer)
        quality = mle.assess_optimum(self, estimates, information)
        if not quality["ok"]:
            return self._fall_back_to_nuts(data, quality, seed=seed, progress=progress)
        cov = mle.laplace_covariance(information)
        if uncertainty == "laplace":
            arr = mle.laplace_draws(estimates, cov, n_draws, rng)
            self._set_draws(arr)
            table = pd.DataFrame(
                mle.describe_laplace(estimates, cov, self.ci_prob),
                index=pd.Index(self.param_names, name="parameter"),
            )
        else:
            arr = mle.bootstrap_draws(
                self, data, estimates, n_bootstrap, rng, penalizer=penalizer, progress=progress
            )
            self._set_draws(arr)
            table = self._params_from_draws()
            table["estimate"] = estimates
        self.params_ = table
        self.covariance_ = pd.DataFrame(cov, index=self.param_names, columns=self.param_names)
        return {
            "method": "mle",
            "uncertainty": uncertainty,
            "penalizer": penalizer,
            "mle_quality": quality,
        }

    def _fall_back_to_nuts(
        self, data: FitData, quality: dict[str, Any], *, seed: int | None, progress: bool
    ) -> dict[str, Any]:
        """Replace a degenerate MLE by the NUTS posterior under the priors (see ``fit``)."""
        priors = self._priors(data)
        problems = "; ".join(quality["problems"])
        head = f"{self.display_name} maximum likelihood is degenerate ({problems})"
        improper = [n for n, p in priors.items() if p.dist in ("HalfFlat", "Flat")]
        if improper:
            raise ConvergenceError(
                f"{head}, and the flat priors on {improper} give no fallback. "
                f"Give proper priors, or {mle.ADVICE_NUTS} with the default priors"
            )
        try:
            info = self._fit_bayes(
                data,
                priors,
                "nuts",
                seed=seed,
                progress=progress,
                draws=FALLBACK_NUTS["draws"],
                tune=FALLBACK_NUTS["tune"],
                chains=FALLBACK_NUTS["chains"],
                sampler="nutpie",
                target_accept=0.9,
                advi_iterations=1,
            )
        except ConvergenceError as exc:
            raise ConvergenceError(f"{head}, and the NUTS fallback failed too: {exc}") from exc
        table = self.params_[["sd", "lower", "upper"]]
        if not np.all(np.isfinite(table.to_numpy())):
            raise ConvergenceError(
                f"{head}, and the NUTS fallback has no finite intervals; give proper priors"
            )
        quality = {**quality, "fallback": "nuts"}
        warnings.warn(
            f"{head}: its intervals would be infinite or meaningless. Reporting the NUTS "
            "posterior under the priors (method='nuts') instead; see "
            "fit_info_['mle_quality']",
            DegenerateFitWarning,
            stacklevel=4,
        )
        return {
            **info,
            "method": "nuts",
            "requested_method": "mle",
            "mle_quality": quality,
            "priors": {k: priors[k].to_dict() for k in self.param_names},
        }

    # ---- results ---------------------------------------------------------------------
    def _set_draws(self, arr: np.ndarray) -> None:
        self.draws_ = draws_from_arrays({n: arr[..., i] for i, n in enumerate(self.param_names)})

    def _params_from_draws(self) -> pd.DataFrame:
        return summarize_draws(self.draws_, self.param_names, self.ci_prob, self.interval_kind)

    def _total_loglik(self, data: FitData, estimates: np.ndarray) -> float:
        params = dict(zip(self.param_names, estimates, strict=True))
        pointwise = self.loglik(numpy_ops, data.columns, params)
        return float(np.sum(data.weights * pointwise))

    def check_fitted(self) -> None:
        """Raise :class:`~clvlab.errors.NotFittedError` unless ``fit`` has run."""
        if not hasattr(self, "draws_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit(rfm) first"
            )

    def parameter_draws(self) -> np.ndarray:
        """Draws as an array of shape ``(chain * draw, n_params)``."""
        self.check_fitted()
        return stack_draws(self.draws_, self.param_names)

    def point_params(self) -> dict[str, float]:
        """The ``estimate`` column as a dict."""
        self.check_fitted()
        return {str(k): float(v) for k, v in self.params_["estimate"].items()}

    def loglik_pointwise(self, rfm: pd.DataFrame) -> np.ndarray:
        """Per-draw log-likelihood of each folded row: shape ``(chain, draw, rows)``.

        With :meth:`prepare`'s weights this is what PSIS-LOO needs.
        """
        self.check_fitted()
        data = self.prepare(rfm)
        params = {n: self.draws_[n].to_numpy()[..., None] for n in self.param_names}
        cols = {k: v[None, None, :] for k, v in data.columns.items()}
        return np.asarray(self.loglik(numpy_ops, cols, params))

    def summary(self) -> str:
        """A readable account of the fit: data, method, parameters, diagnostics."""
        self.check_fitted()
        info = self.fit_info_
        lines = [
            f"{self.display_name} fitted by {self.method_.upper()}"
            + (f" ({info.get('uncertainty')} uncertainty)" if self.method_ == "mle" else ""),
            *_quality_lines(info),
            f"  customers: {self.n_customers_:,} in {self.n_rows_:,} folded rows",
            f"  log-likelihood at the estimate: {self.log_likelihood_:.4f}",
            f"  draws: {self.draws_.sizes['chain']} chain(s) x {self.draws_.sizes['draw']}",
            f"  fit time: {info['seconds']:.2f} s",
            f"  parameters ({self.interval_kind} interval, ci_prob={self.ci_prob}):",
        ]
        lines += ["    " + ln for ln in self.params_.round(4).to_string().splitlines()]
        if "priors" in info:
            lines.append(
                "  priors: "
                + ", ".join(f"{k} ~ {Prior.from_dict(v)}" for k, v in info["priors"].items())
            )
        if "log_density" in info and "sampler" not in info:
            lines.append(f"  mode and Hessian of the {info['log_density']}")
        if "sampler" in info:
            lines.append(f"  sampler: {info['sampler']} NUTS on the {info['log_density']}")
        if "diagnostics" in info:
            d = info["diagnostics"]
            lines.append(
                f"  diagnostics: max r_hat {d['max_r_hat']:.4f}, min bulk ESS "
                f"{d['min_ess_bulk']:.0f}, min tail ESS {d['min_ess_tail']:.0f}, "
                f"{d['divergences']} divergences"
            )
        return "\n".join(lines)

    def _priors(self, data: FitData) -> dict[str, Prior]:
        """The default priors for ``data``, overridden by the user's ``priors``."""
        priors = {**self.default_priors(data), **self.priors}
        checked = check_priors(priors, self.param_names, self.display_name)
        return {name: checked[name] for name in self.param_names}

    def prior_draws(self, rfm: pd.DataFrame, n_draws: int, seed: int | None = None) -> np.ndarray:
        """Draws from the priors a Bayesian fit on ``rfm`` would use (the defaults,
        overridden by ``priors``), shape ``(n_draws, n_params)``.

        Raises
        ------
        ArgumentError
            For ``n_draws < 1`` or an improper (flat) prior, which cannot be sampled.
        """
        n_draws = check_count("n_draws", n_draws)
        if seed is not None:
            check_count("seed", seed, minimum=0)
        priors = self._priors(self.prepare(rfm))
        rng = np.random.default_rng(seed)
        seeds = rng.integers(0, 2**31, len(self.param_names))
        return np.stack(
            [
                np.asarray(priors[n].sample(n_draws, int(s)), dtype=float)
                for n, s in zip(self.param_names, seeds, strict=True)
            ],
            axis=-1,
        )

    def _repr_html_(self) -> str:
        """Jupyter summary: data period, method, parameters with intervals, diagnostics."""
        from html import escape

        if not hasattr(self, "draws_"):
            return f"<p>{escape(self.display_name)}: not fitted</p>"
        info = self.fit_info_
        period = info.get("data", {})
        head = (
            f"<h4>{escape(self.display_name)} fitted by {self.method_.upper()}</h4><p>"
            f"{self.n_customers_:,} customers ({self.n_rows_:,} folded rows)"
        )
        if period.get("calibration_end"):
            head += (
                f"; data {period.get('first_transaction')} to {period['calibration_end']}"
                f" (calibration), time unit {period.get('time_unit')}"
            )
        head += f"; log-likelihood {self.log_likelihood_:,.2f}; {info['seconds']:.1f} s</p>"
        head += "".join(f"<p><b>{escape(line.strip())}</b></p>" for line in _quality_lines(info))
        params = f"<p>parameters, {self.ci_prob:.0%} {self.interval_kind} intervals:</p>"
        params += self.params_.to_html(float_format=lambda v: f"{v:.4g}")
        tail = ""
        if "diagnostics" in info:
            d = info["diagnostics"]
            tail = (
                f"<p>max r_hat {d['max_r_hat']:.3f}, min bulk ESS {d['min_ess_bulk']:.0f}, "
                f"min tail ESS {d['min_ess_tail']:.0f}, {d['divergences']} divergences</p>"
            )
        elif self.method_ == "mle":
            tail = f"<p>uncertainty: {escape(str(info.get('uncertainty', '')))}</p>"
        return head + params + tail

    def __repr__(self) -> str:
        state = f"fitted by {self.method_}" if hasattr(self, "draws_") else "not fitted"
        return f"{type(self).__name__}({state})"

    def save(self, path: str) -> None:
        """Save to a NetCDF file (no pickle); see :func:`clvlab.load`."""
        from clvlab.io import save_model

        save_model(self, path)

    @classmethod
    def load(cls, path: str) -> BaseModel:
        """Load a model saved by :meth:`save`; the file must hold this model."""
        from clvlab.io import load_model

        return load_model(path, expected=cls)


def _quality_lines(info: Mapping[str, Any]) -> list[str]:
    """Summary lines on the maximum-likelihood optimum (see ``fit``)."""
    quality = info.get("mle_quality")
    if not quality:
        return []
    if quality.get("ok"):
        return ["  MLE checks: interior optimum, well-conditioned Hessian"]
    mle_est = ", ".join(f"{k}={v:.4g}" for k, v in quality.get("mle", {}).items())
    lines = [
        "  WARNING: the maximum-likelihood fit is degenerate: " + "; ".join(quality["problems"]),
        f"  raw MLE: {mle_est}",
    ]
    if quality.get("fallback") == "nuts":
        lines.append("  reported instead: the NUTS posterior under the priors below")
    return lines


def _check_fit_arguments(**kw: Any) -> dict[str, Any]:
    """Check ``fit``'s settings before any work; returns them normalised."""
    for name, allowed in (
        ("method", METHODS),
        ("uncertainty", UNCERTAINTIES),
        ("sampler", _SAMPLERS),
    ):
        if kw[name] not in allowed:
            raise ArgumentError(
                f"{name} must be one of {', '.join(repr(a) for a in allowed)}, got {kw[name]!r}"
            )
    seed = kw["seed"]
    if seed is not None:
        check_count("seed", seed, minimum=0)
    target = check_positive("target_accept", kw["target_accept"])
    if target >= 1:
        raise ArgumentError(
            f"target_accept must lie strictly between 0 and 1 (0.9 is usual), got {target!r}"
        )
    out = {
        "n_draws": check_count("n_draws", kw["n_draws"]),
        "penalizer": check_nonnegative("penalizer", kw["penalizer"]),
        "draws": check_count("draws", kw["draws"]),
        "tune": check_count("tune", kw["tune"], minimum=0),
        "chains": check_count("chains", kw["chains"]),
        "advi_iterations": check_count("advi_iterations", kw["advi_iterations"]),
        "target_accept": target,
    }
    n_boot = kw["n_bootstrap"]
    try:
        out["n_bootstrap"] = check_count("n_bootstrap", n_boot, minimum=2)
    except ArgumentError as exc:
        raise ArgumentError(
            f"{exc}: a bootstrap needs at least 2 resamples to estimate a spread "
            "(200 is the default)"
        ) from None
    return out


def _check_initial_params(
    values: Mapping[str, float] | None, names: tuple[str, ...]
) -> dict[str, float] | None:
    """``initial_params`` must give every parameter a finite positive start value."""
    if values is None:
        return None
    example = "{" + ", ".join(f"'{n}': 1.0" for n in names) + "}"
    if not isinstance(values, Mapping):
        raise ArgumentError(
            f"initial_params must map each parameter to a start value, such as {example}; "
            f"got {values!r}"
        )
    missing = [n for n in names if n not in values]
    extra = sorted(str(k) for k in values if k not in names)
    if missing or extra:
        parts = ([f"missing {missing}"] if missing else []) + (
            [f"unknown {extra}"] if extra else []
        )
        raise ArgumentError(
            f"initial_params must name exactly the parameters {list(names)} "
            f"({', '.join(parts)}); for example {example}"
        )
    return {n: check_positive(f"initial_params[{n!r}]", values[n]) for n in names}


def _data_period(rfm: pd.DataFrame) -> dict[str, Any]:
    """The time unit and dates of an RFM table from ``rfm_summary``, for the record."""
    meta = rfm_metadata(rfm) if isinstance(rfm, pd.DataFrame) else {}
    keys = ("time_unit", "first_transaction", "calibration_end", "observation_end")
    return {k: meta[k] for k in keys if k in meta}


def model_class(name: str) -> type[BaseModel]:
    """The registered model class called ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError as exc:
        raise ArgumentError(f"unknown model {name!r}; known: {sorted(_REGISTRY)}") from exc
