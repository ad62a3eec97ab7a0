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
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
import xarray as xr

from clvlab.data.folding import FoldedTable
from clvlab.data.rfm import rfm_metadata
from clvlab.errors import ClvlabError, NotFittedError
from clvlab.formulas import numpy_ops
from clvlab.inference import bayes, kernels, mle
from clvlab.inference.draws import (
    IntervalKind,
    draws_from_arrays,
    stack_draws,
    summarize_draws,
)
from clvlab.models.priors import Prior

__all__ = ["BaseModel", "FitData", "Method"]

Method = Literal["mle", "nuts", "advi", "map"]
_METHODS = ("mle", "nuts", "advi", "map")
_REGISTRY: dict[str, type[BaseModel]] = {}


@dataclass
class FitData:
    """Folded likelihood inputs: one array per column and a weight per row."""

    columns: dict[str, np.ndarray]
    weights: np.ndarray
    folded: FoldedTable | None = None
    n_customers: int = field(init=False)

    def __post_init__(self) -> None:
        self.n_customers = round(float(self.weights.sum()))

    def reweighted(self, weights: np.ndarray) -> FitData:
        """The same rows with new weights; rows with weight 0 are left out."""
        keep = weights > 0
        return FitData({k: v[keep] for k, v in self.columns.items()}, weights[keep])

    def __len__(self) -> int:
        return len(self.weights)


class BaseModel(ABC):
    """Shared machinery of clvlab's models; subclasses only declare."""

    name: ClassVar[str]
    display_name: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]
    loglik_columns: ClassVar[tuple[str, ...]]
    lifetimes_fitter: ClassVar[str]

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
        self.priors = dict(priors) if priors else {}
        self.ci_prob = ci_prob
        self.interval_kind = interval_kind

    # ---- what a subclass declares -------------------------------------------------
    @staticmethod
    @abstractmethod
    def loglik(ops: Any, columns: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
        """Pointwise log-likelihood of the folded rows."""

    @abstractmethod
    def prepare(self, rfm: pd.DataFrame) -> FitData:
        """Validate ``rfm`` and fold it into likelihood inputs."""

    @abstractmethod
    def default_priors(self, data: FitData) -> dict[str, Prior]:
        """Weakly informative priors, documented in the subclass."""

    def lifetimes_arguments(self, data: FitData) -> dict[str, np.ndarray]:
        """Keyword arguments of the lifetimes fitter's ``fit``, from the folded columns."""
        raise NotImplementedError

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
            MLE only. ``"laplace"`` draws ``n_draws`` from the normal approximation on
            the log scale; ``"bootstrap"`` refits on ``n_bootstrap`` customer resamples.
        draws, tune, chains, sampler, target_accept
            NUTS only (``draws`` is also the number of ADVI and MAP draws).
            ``sampler="nutpie"`` (default) or ``"pymc"`` (PyMC's own NUTS).
        advi_iterations
            ADVI only.
        """
        if method not in _METHODS:
            raise ClvlabError(f"method must be one of {_METHODS}, got {method!r}")
        data = self.prepare(rfm)
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
                    initial_params,
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
        self.method_ = method
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
        else:
            pymc_model = bayes.build_pymc_model(self, data, priors)
            if method == "map":
                mode, arr = bayes.fit_map(
                    pymc_model, self.param_names, draws=draws, seed=seed, progress=progress
                )
                self._set_draws(arr)
                self.params_ = self._params_from_draws()
                self.params_["estimate"] = mode
                return info
            if method == "nuts":
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
        initial_params: Mapping[str, float] | None,
    ) -> dict[str, Any]:
        rng = np.random.default_rng(seed)
        estimates = mle.maximize_likelihood(
            self,
            data,
            penalizer=penalizer,
            initial_params=dict(initial_params) if initial_params else None,
        )
        cov = mle.laplace_covariance(self, data, estimates)
        if uncertainty == "laplace":
            arr = mle.laplace_draws(estimates, cov, n_draws, rng)
            table = pd.DataFrame(
                mle.describe_laplace(estimates, cov, self.ci_prob),
                index=pd.Index(self.param_names, name="parameter"),
            )
        elif uncertainty == "bootstrap":
            arr = mle.bootstrap_draws(
                self, data, estimates, n_bootstrap, rng, penalizer=penalizer, progress=progress
            )
            self._set_draws(arr)
            table = self._params_from_draws()
            table["estimate"] = estimates
        else:
            raise ClvlabError(f"uncertainty must be 'laplace' or 'bootstrap', got {uncertainty!r}")
        self._set_draws(arr)
        self.params_ = table
        self.covariance_ = pd.DataFrame(cov, index=self.param_names, columns=self.param_names)
        return {"uncertainty": uncertainty, "penalizer": penalizer}

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
        missing = set(self.param_names) - set(priors)
        if missing:
            raise ClvlabError(f"no prior for {sorted(missing)}")
        unknown = set(priors) - set(self.param_names)
        if unknown:
            raise ClvlabError(
                f"priors given for {sorted(unknown)}, which are not parameters of "
                f"{self.display_name} {self.param_names}"
            )
        return {name: priors[name] for name in self.param_names}

    def prior_draws(self, rfm: pd.DataFrame, n_draws: int, seed: int | None = None) -> np.ndarray:
        """Draws from the priors a Bayesian fit on ``rfm`` would use (the defaults,
        overridden by ``priors``), shape ``(n_draws, n_params)``."""
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
        raise ClvlabError(f"unknown model {name!r}; known: {sorted(_REGISTRY)}") from exc
