"""What the inference layer needs from a model, and the folded data it fits.

:class:`ModelSpec` and :class:`FittedModel` are the protocols that
:class:`clvlab.models.base.BaseModel` satisfies. The inference and prediction layers are
typed against them, so neither imports the model classes, and the models import them
without a circle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
import xarray as xr

from clvlab.data.folding import FoldedTable

__all__ = ["FitData", "FittedModel", "ModelSpec"]


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


class ModelSpec(Protocol):
    """A model as the fitting code sees it: names, the likelihood, lifetimes' fitter."""

    @property
    def name(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def param_names(self) -> tuple[str, ...]: ...
    @property
    def loglik_columns(self) -> tuple[str, ...]: ...
    @property
    def lifetimes_fitter(self) -> str | None: ...
    @property
    def scale_params(self) -> tuple[str, ...]: ...

    def loglik(self, ops: Any, columns: Mapping[str, Any], params: Mapping[str, Any]) -> Any:
        """Pointwise log-likelihood of the folded rows."""

    def weighted_loglik(self, data: FitData, params: Mapping[str, Any]) -> Any:
        """The weighted folded log-likelihood as a pytensor expression."""

    def lifetimes_arguments(self, data: FitData) -> dict[str, np.ndarray]:
        """Keyword arguments of the lifetimes fitter's ``fit``."""

    def lifetimes_scale(self, data: FitData) -> np.ndarray:
        """Factors from the parameters to lifetimes' internal ones."""


class FittedModel(Protocol):
    """A fitted model as the prediction code sees it: its draws and settings."""

    @property
    def name(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def param_names(self) -> tuple[str, ...]: ...

    method_: str
    ci_prob: float
    interval_kind: Any
    draws_: xr.Dataset
    params_: pd.DataFrame
    fit_info_: dict[str, Any]

    def check_fitted(self) -> None:
        """Raise NotFittedError before ``fit``."""

    def parameter_draws(self) -> np.ndarray:
        """The draws, shape ``(n_draws, n_params)``."""

    def point_params(self) -> dict[str, float]:
        """The point estimate by name."""
