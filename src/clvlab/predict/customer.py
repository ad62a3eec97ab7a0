"""Per-customer predictions of the BG/NBD and Gamma-Gamma models.

Each method evaluates a closed-form formula of :mod:`clvlab.formulas` under every
parameter draw and returns the tidy table of :func:`clvlab.predict.engine.predict_frame`.
Simulators for the predictive intervals draw from the same model, conditional on each
customer's history.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import xarray as xr

from clvlab.data.rfm import rfm_metadata, validate_rfm
from clvlab.data.validation import Validator
from clvlab.formulas import bgnbd, gamma_gamma
from clvlab.formulas import numpy_gather_ops as ops
from clvlab.inference.draws import IntervalKind, interval
from clvlab.predict.engine import param_columns, predict_frame

if TYPE_CHECKING:
    from clvlab.models.base import BaseModel

__all__ = ["PurchasePredictions", "SpendPredictions", "draw_latent_state", "simulate_counts"]

Result = pd.DataFrame | tuple[pd.DataFrame, xr.DataArray]
_BG = ("frequency", "recency", "T")


def _bg_args(cols: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return cols["frequency"], cols["recency"], cols["T"]


def draw_latent_state(
    rng: np.random.Generator, cols: Mapping[str, np.ndarray], params: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's purchase rate and remaining purchases, given history, per draw.

    Alive at T with probability P(alive) (FHL 2005 eq. 11); if alive, ``lambda ~ Gamma(r +
    x, alpha + T)`` and ``p ~ Beta(a, b + x)``, and the customer drops out after ``M ~
    Geometric(p)`` further purchases. Returns ``(lambda, M)`` with ``M = 0`` when dead.
    """
    x, t_x, T = _bg_args(cols)
    r, alpha, a, b = (params[n] for n in ("r", "alpha", "a", "b"))
    shape = np.broadcast_shapes(np.shape(r), np.shape(x))
    alive = rng.random(shape) < bgnbd.probability_alive(ops, x, t_x, T, r, alpha, a, b)
    lam = rng.gamma(np.broadcast_to(r + x, shape)) / (alpha + T)
    drop = np.clip(rng.beta(np.broadcast_to(a, shape), np.broadcast_to(b + x, shape)), 1e-12, 1)
    return lam, np.where(alive, rng.geometric(drop), 0)


def simulate_counts(
    rng: np.random.Generator,
    t: float,
    cols: Mapping[str, np.ndarray],
    params: Mapping[str, Any],
) -> np.ndarray:
    """Realised purchases in ``(T, T + t]`` for every draw and customer:
    ``min(Poisson(lambda t), M)`` with ``(lambda, M)`` from :func:`draw_latent_state`."""
    lam, remaining = draw_latent_state(rng, cols, params)
    return np.minimum(rng.poisson(lam * t), remaining).astype(float)


def _as_model(obj: object) -> BaseModel:
    """The mixin's host, typed as the fitted model it is mixed into."""
    return cast("BaseModel", obj)


class PurchasePredictions:
    """Prediction methods of :class:`clvlab.BetaGeo` (mixed in)."""

    def _bg_table(self, rfm: pd.DataFrame) -> pd.DataFrame:
        return validate_rfm(rfm)

    def _meta(self, rfm: pd.DataFrame, **extra: Any) -> dict[str, Any]:
        return {"time_unit": rfm_metadata(rfm).get("time_unit"), **extra}

    def expected_purchases(
        self,
        rfm: pd.DataFrame,
        t: float,
        *,
        predictive: bool = False,
        ci_prob: float | None = None,
        kind: IntervalKind | None = None,
        seed: int | None = None,
        return_draws: bool = False,
        progress: bool = False,
    ) -> Result:
        """Expected purchases in the next ``t`` time units, given each customer's history.

        Fader, Hardie & Lee (2005) eq. 10. With ``predictive=True`` the table also has
        ``pred_lower``/``pred_upper``: the interval of the realised number of purchases
        (simulated, with seed ``seed``).
        """

        def formula(cols: Mapping[str, np.ndarray], p: Mapping[str, Any]) -> np.ndarray:
            return bgnbd.conditional_expected_purchases(ops, t, *_bg_args(cols), **p)

        def simulate(
            cols: Mapping[str, np.ndarray], p: Mapping[str, Any], rng: np.random.Generator
        ) -> np.ndarray:
            return simulate_counts(rng, t, cols, p)

        return predict_frame(
            _as_model(self),
            self._bg_table(rfm),
            _BG,
            formula,
            quantity="expected_purchases",
            meta=self._meta(rfm, t=t),
            ci_prob=ci_prob,
            kind=kind,
            simulate=simulate if predictive else None,
            seed=seed,
            return_draws=return_draws,
            progress=progress,
        )

    def probability_alive(
        self,
        rfm: pd.DataFrame,
        t: float = 0.0,
        *,
        ci_prob: float | None = None,
        kind: IntervalKind | None = None,
        return_draws: bool = False,
    ) -> Result:
        """P(alive) now (``t = 0``, FHL 2005 eq. 11) or ``t`` time units from now."""

        def formula(cols: Mapping[str, np.ndarray], p: Mapping[str, Any]) -> np.ndarray:
            if t == 0:
                return bgnbd.probability_alive(ops, *_bg_args(cols), **p)
            return bgnbd.probability_alive_after(ops, t, *_bg_args(cols), **p)

        return predict_frame(
            _as_model(self),
            self._bg_table(rfm),
            _BG,
            formula,
            quantity="probability_alive",
            meta=self._meta(rfm, t=t),
            ci_prob=ci_prob,
            kind=kind,
            return_draws=return_draws,
        )

    def probability_of_purchases(
        self,
        rfm: pd.DataFrame,
        t: float,
        n: int,
        *,
        ci_prob: float | None = None,
        kind: IntervalKind | None = None,
        return_draws: bool = False,
    ) -> Result:
        """P(Y(t) = n | history): exactly ``n`` purchases in the next ``t`` time units."""

        def formula(cols: Mapping[str, np.ndarray], p: Mapping[str, Any]) -> np.ndarray:
            return bgnbd.conditional_probability_of_purchases(ops, t, n, *_bg_args(cols), **p)

        return predict_frame(
            _as_model(self),
            self._bg_table(rfm),
            _BG,
            formula,
            quantity="probability_of_purchases",
            meta=self._meta(rfm, t=t, n=n),
            ci_prob=ci_prob,
            kind=kind,
            return_draws=return_draws,
        )

    def expected_purchases_new_customer(
        self,
        t: float | np.ndarray,
        *,
        ci_prob: float | None = None,
        kind: IntervalKind | None = None,
    ) -> pd.DataFrame:
        """E[X(t)] for a newly acquired customer (FHL 2005 eq. 7), indexed by ``t``."""
        self.check_fitted()  # type: ignore[attr-defined]
        ts = np.atleast_1d(np.asarray(t, dtype=float))
        names = self.param_names  # type: ignore[attr-defined]
        params = param_columns(self.parameter_draws(), names)  # type: ignore[attr-defined]
        values = bgnbd.expected_purchases_new(ops, ts[None, :], **params)
        ci = self.ci_prob if ci_prob is None else ci_prob  # type: ignore[attr-defined]
        ik = self.interval_kind if kind is None else kind  # type: ignore[attr-defined]
        lo, hi = interval(values, ci, ik)
        if self.method_ == "mle":  # type: ignore[attr-defined]
            estimate = bgnbd.expected_purchases_new(ops, ts, **self.point_params())  # type: ignore[attr-defined]
        else:
            estimate = values.mean(axis=0)
        frame = pd.DataFrame(
            {
                "estimate": estimate,
                "sd": values.std(axis=0, ddof=1),
                "lower": np.minimum(lo, estimate),
                "upper": np.maximum(hi, estimate),
            },
            index=pd.Index(ts, name="t"),
        )
        frame.attrs["clvlab"] = {
            "quantity": "expected_purchases_new_customer",
            "ci_prob": ci,
            "interval": ik,
        }
        return frame


class SpendPredictions:
    """Prediction methods of :class:`clvlab.GammaGamma` (mixed in)."""

    def _spend_table(self, rfm: pd.DataFrame) -> pd.DataFrame:
        table = validate_rfm(rfm, monetary=True)
        repeat = table["frequency"].to_numpy() > 0
        Validator(ids=table.index.to_numpy()).check(
            "monetary_value",
            "must be positive for customers with frequency > 0 (Gamma-Gamma)",
            repeat & (table["monetary_value"].to_numpy() <= 0),
        )
        return table

    def expected_spend(
        self,
        rfm: pd.DataFrame,
        *,
        predictive: bool = False,
        ci_prob: float | None = None,
        kind: IntervalKind | None = None,
        seed: int | None = None,
        return_draws: bool = False,
    ) -> Result:
        """Expected spend per transaction given each customer's history.

        Fader & Hardie (2013) eq. 5; customers with no repeat purchase get the population
        mean ``p v / (q - 1)``. ``predictive=True`` adds the interval of one future
        transaction's value.
        """

        def formula(cols: Mapping[str, np.ndarray], p: Mapping[str, Any]) -> np.ndarray:
            return gamma_gamma.conditional_expected_spend(
                ops, cols["frequency"], cols["monetary_value"], **p
            )

        def simulate(
            cols: Mapping[str, np.ndarray], p: Mapping[str, Any], rng: np.random.Generator
        ) -> np.ndarray:
            nu = simulate_spend_rate(rng, cols, p)
            return rng.gamma(np.broadcast_to(p["p"], nu.shape)) / nu

        return predict_frame(
            _as_model(self),
            self._spend_table(rfm),
            ("frequency", "monetary_value"),
            formula,
            quantity="expected_spend",
            meta={},
            ci_prob=ci_prob,
            kind=kind,
            simulate=simulate if predictive else None,
            seed=seed,
            return_draws=return_draws,
        )


def simulate_spend_rate(
    rng: np.random.Generator, cols: Mapping[str, np.ndarray], params: Mapping[str, Any]
) -> np.ndarray:
    """Posterior draws of each customer's ``nu``: ``Gamma(q + p x, v + x m)`` (rate)."""
    x, m = cols["frequency"], cols["monetary_value"]
    p, q, v = params["p"], params["q"], params["v"]
    shape = np.broadcast_shapes(np.shape(p), np.shape(x))
    return rng.gamma(np.broadcast_to(q + p * x, shape)) / (v + x * m)
