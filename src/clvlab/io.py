"""Saving and loading fitted models without pickle.

A model is one NetCDF-4 file (HDF5, written with h5netcdf): the root group holds the
parameter draws with dims ``(chain, draw)`` and, as a JSON attribute, everything else
(model name, settings, the ``params_`` table, fit information, the clvlab version). For
Bayesian fits the ArviZ groups ``posterior`` and ``sample_stats`` are stored beside it.
Loading never executes code from the file. Files are written atomically.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from clvlab._atomic import atomic_path
from clvlab.errors import ClvlabError, ModelFileError

__all__ = ["FORMAT", "load", "load_model", "save_model"]

FORMAT = "clvlab-model/1"
_ENGINE = "h5netcdf"
_IDATA_GROUPS = ("posterior", "sample_stats")


def save_model(model: Any, path: str | os.PathLike[str]) -> None:
    """Write a fitted ``model`` to ``path`` (NetCDF-4), atomically."""
    from clvlab import __version__

    model.check_fitted()
    meta = {
        "format": FORMAT,
        "model": model.name,
        "clvlab_version": __version__,
        "settings": {
            "ci_prob": model.ci_prob,
            "interval_kind": model.interval_kind,
            "priors": {k: v.to_dict() for k, v in model.priors.items()},
        },
        "method": model.method_,
        "fit_info": model.fit_info_,
        "n_customers": model.n_customers_,
        "n_rows": model.n_rows_,
        "log_likelihood": model.log_likelihood_,
        "params": model.params_.reset_index().to_dict(orient="list"),
        "covariance": (
            model.covariance_.to_numpy().tolist() if hasattr(model, "covariance_") else None
        ),
    }
    root = model.draws_.copy()
    root.attrs = {"clvlab": json.dumps(meta, default=_json_default)}
    with atomic_path(path) as tmp:
        root.to_netcdf(tmp, engine=_ENGINE, mode="w")
        if model.idata_ is not None:
            for group in _IDATA_GROUPS:
                if hasattr(model.idata_, group):
                    ds = getattr(model.idata_, group)
                    ds = ds.copy()
                    ds.attrs = {}
                    ds.to_netcdf(tmp, engine=_ENGINE, mode="a", group=group)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in the model file")


def load_model(path: str | os.PathLike[str], expected: type | None = None) -> Any:
    """Read a model written by :func:`save_model`.

    Raises
    ------
    ModelFileError
        If the file is missing, corrupt, not a clvlab model, or holds another model
        than ``expected``.
    """
    from clvlab.models.base import BaseModel, model_class
    from clvlab.models.priors import Prior

    try:
        with xr.open_dataset(path, engine=_ENGINE) as handle:
            root = handle.load()
        meta = json.loads(root.attrs["clvlab"])
        if meta.get("format") != FORMAT:
            raise ModelFileError(f"{path}: unknown format {meta.get('format')!r}")
    except ModelFileError:
        raise
    except FileNotFoundError as exc:
        raise ModelFileError(f"{path}: no such file") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(
            f"{path}: not a readable clvlab model file ({type(exc).__name__}: {exc})"
        ) from exc
    try:
        cls = model_class(meta["model"])
    except ClvlabError as exc:
        raise ModelFileError(f"{path}: {exc}") from exc
    if expected is not None and expected is not BaseModel and cls is not expected:
        raise ModelFileError(
            f"{path} holds a {cls.display_name} model ({cls.__name__}), not a {expected.__name__}"
        )
    settings = meta["settings"]
    model = cls(
        priors={k: Prior.from_dict(v) for k, v in settings["priors"].items()},
        ci_prob=settings["ci_prob"],
        interval_kind=settings["interval_kind"],
    )
    root.attrs = {}
    model.draws_ = root
    model.params_ = pd.DataFrame(meta["params"]).set_index("parameter")
    model.method_ = meta["method"]
    model.fit_info_ = meta["fit_info"]
    model.n_customers_ = meta["n_customers"]
    model.n_rows_ = meta["n_rows"]
    model.log_likelihood_ = meta["log_likelihood"]
    model.diagnostics_ = None
    if meta["covariance"] is not None:
        model.covariance_ = pd.DataFrame(
            meta["covariance"], index=cls.param_names, columns=cls.param_names
        )
    model.idata_ = _load_idata(path) if meta["method"] in ("nuts", "advi") else None
    return model


def _load_idata(path: str | os.PathLike[str]) -> Any:
    from clvlab._imports import import_quietly

    az = import_quietly("arviz")
    groups = {}
    for group in _IDATA_GROUPS:
        try:
            with xr.open_dataset(path, engine=_ENGINE, group=group) as handle:
                groups[group] = handle.load()
        except (OSError, KeyError):
            continue
    return az.InferenceData(**groups) if groups else None


def load(path: str | os.PathLike[str]) -> Any:
    """Load any clvlab model saved with ``model.save(path)``.

    Examples
    --------
    >>> import clvlab, tempfile, os
    >>> model = clvlab.GammaGamma().fit(clvlab.datasets.load_cdnow_summary(), seed=0,
    ...                                 progress=False)
    >>> path = os.path.join(tempfile.mkdtemp(), "gg.nc")
    >>> model.save(path)
    >>> clvlab.load(path).params_.equals(model.params_)
    True
    """
    return load_model(path)
