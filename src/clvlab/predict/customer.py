"""Per-customer predictions of every purchase model and of the Gamma-Gamma spend model.

Each method evaluates a closed-form formula under every parameter draw and returns the
tidy table of :func:`clvlab.predict.engine.predict_frame`. A purchase model's formulas
come from its formula module (the contract of :mod:`clvlab.formulas.contract`, named by
the model class's ``formulas``), so nothing here names a model. Simulators for the
predictive intervals draw from the same model, conditional on each customer's history.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar, cast

import numpy as np
import pandas as pd
import xarray as xr

from clvlab.arguments import (
    check_ci_prob,
    check_count,
    check_interval_kind,
    check_nonnegative,
    check_times,
)
from clvlab.data.contractual import refuse_contracts, validate_contracts
from clvlab.data.discrete import validate_opportunities
from clvlab.data.rfm import validate_rfm
from clvlab.data.validation import Validator
from clvlab.errors import ArgumentError
from clvlab.formulas import numpy_gather_ops as ops
from clvlab.formulas.contract import is_contractual, is_discrete
from clvlab.inference.draws import IntervalKind, interval
from clvlab.predict.engine import param_columns, predict_frame
from clvlab.predict.terms import SharedTerm, distinct, gather, shared_term
from clvlab.units import check_time_units, model_time_unit

if TYPE_CHECKING:
    from clvlab.inference.spec import FitData, FittedModel

__all__ = [
    "PurchasePredictions",
    "SpendPredictions",
    "alive_term",
    "history",
    "history_table",
    "whole_opportunities",
]

Result = pd.DataFrame | tuple[pd.DataFrame, xr.DataArray]
_HISTORY = ("frequency", "recency", "T")


class _FittedAttributes:
    """What the prediction mixins read from the model they are mixed into
    (:class:`clvlab.models.base.BaseModel`), declared for the type checker only."""

    if TYPE_CHECKING:
        name: ClassVar[str]
        display_name: ClassVar[str]
        param_names: ClassVar[tuple[str, ...]]
        method_: str
        ci_prob: float
        interval_kind: IntervalKind
        draws_: xr.Dataset
        params_: pd.DataFrame
        fit_info_: dict[str, Any]

        def check_fitted(self) -> None: ...
        def parameter_draws(self) -> np.ndarray: ...
        def point_params(self) -> dict[str, float]: ...
        def prepare(self, rfm: pd.DataFrame) -> FitData: ...
        def loglik_pointwise(self, rfm: pd.DataFrame) -> np.ndarray: ...
        def prior_draws(
            self, rfm: pd.DataFrame, n_draws: int, seed: int | None = None
        ) -> np.ndarray: ...


def _as_model(obj: object) -> FittedModel:
    """The mixin's host, typed as the fitted model it is mixed into."""
    return cast("FittedModel", obj)


def history(cols: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, t_x, T)``: the frequency, recency and T columns, as the formulas take them."""
    return cols["frequency"], cols["recency"], cols["T"]


#: How far from a whole number a horizon of a discrete-time model may be (rounding of a
#: unit conversion, e.g. 4 quarters in years) before it is refused.
_WHOLE_TOLERANCE = 1e-9


def whole_opportunities(
    formulas: ModuleType, name: str, values: Any, time_unit: str | None, model: str
) -> Any:
    """``values`` (horizons in the table's time unit) as they are for a continuous-time
    model; for a discrete-time one (:func:`clvlab.formulas.contract.is_discrete`) they
    must be whole numbers of opportunities, returned exactly whole.

    Raises
    ------
    ArgumentError
        A discrete-time model and a value that is not a whole number of opportunities,
        naming the fix (a horizon in whole opportunities, ``unit=`` the grain).
    """
    if not is_discrete(formulas):
        return values
    array = np.asarray(values, dtype=float)
    whole = np.round(array)
    off = np.abs(array - whole) > _WHOLE_TOLERANCE * np.maximum(1.0, np.abs(whole))
    if np.any(off):
        bad = float(array[off].flat[0])
        unit = f"({time_unit!r}) " if time_unit else ""
        raise ArgumentError(
            f"{name} = {bad:g} is not a whole number of opportunities: {model} is a "
            f"discrete-time model whose time unit {unit}is one transaction opportunity. "
            f"Give {name} in whole opportunities"
            + (
                f" (for clvlab.clv, predict_customers and the decision tables: a whole "
                f"horizon with unit={time_unit!r}, e.g. horizon=5, unit={time_unit!r})"
                if time_unit
                else ""
            )
        )
    return whole if np.ndim(values) else float(whole)


def history_table(formulas: ModuleType, rfm: pd.DataFrame, model: str) -> pd.DataFrame:
    """The validated history table of a purchase model: :func:`clvlab.validate_rfm`, and
    for a discrete-time model also whole opportunities
    (:func:`clvlab.data.discrete.validate_opportunities`), and for a contractual one
    consecutive renewals (:func:`clvlab.data.contractual.validate_contracts`). A
    noncontractual model refuses a contractual table
    (:func:`clvlab.data.contractual.refuse_contracts`)."""
    if is_contractual(formulas):
        return validate_contracts(rfm, model)
    refuse_contracts(rfm, model)
    if is_discrete(formulas):
        return validate_opportunities(rfm, model)
    return validate_rfm(rfm)


def alive_term(formulas: ModuleType, table: pd.DataFrame) -> tuple[np.ndarray, SharedTerm]:
    """Each row's code of its distinct ``(x, t_x, T)`` and the term P(alive at T) per
    distinct triple and draw, shared by every prediction of a
    :func:`clvlab.predict.terms.sharing` block."""
    code, x, t_x, T = distinct(table, _HISTORY)
    names = tuple(formulas.PARAMS)
    term = shared_term(
        ("probability_alive", formulas.__name__),
        (x, t_x, T),
        lambda part, p: formulas.probability_alive(
            ops, x[part], t_x[part], T[part], *(p[n] for n in names)
        ),
        names,
    )
    return code, term


class PurchasePredictions(_FittedAttributes):
    """Prediction methods of every purchase model (mixed in; the model class names its
    formula module in ``formulas``)."""

    #: the model's formula module, with the functions of :mod:`clvlab.formulas.contract`
    formulas: ClassVar[ModuleType]

    def _history_table(self, rfm: pd.DataFrame, time_unit: str | None) -> tuple[pd.DataFrame, Any]:
        """The validated table and its time unit, checked against the model's
        (:func:`clvlab.units.check_time_units`)."""
        _as_model(self).check_fitted()
        table = history_table(self.formulas, rfm, self.display_name)
        return table, check_time_units(table, self, time_unit=time_unit)

    def _horizon(self, t: Any, unit: str | None) -> float:
        """``t`` checked: finite and >= 0, and whole for a discrete-time model."""
        return float(whole_opportunities(self.formulas, "t", t, unit, self.display_name))

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
        time_unit: str | None = None,
    ) -> Result:
        """Expected purchases in the next ``t`` time units, given each customer's history.

        E[Y(t) | x, t_x, T] (for BG/NBD, Fader, Hardie & Lee 2005 eq. 10): P(alive) times
        the expectation of a customer alive at ``T``. With ``predictive=True`` the table also has
        ``pred_lower``/``pred_upper``: the interval of the realised number of purchases
        (simulated, with seed ``seed``).

        ``t`` is in the RFM table's time unit, which must be the unit the model was
        fitted in (else :class:`~clvlab.errors.UnitMismatchError`); ``time_unit=`` states
        it for a table that does not record one. ``t`` must be a finite number >= 0.
        """
        t = check_nonnegative("t", t)
        table, unit = self._history_table(rfm, time_unit)
        t = self._horizon(t, unit)
        # eq. 10 = P(alive) x the expectation of a customer alive at T, which depends on
        # (x, T) only: computed once per distinct pair and draw (predict.terms)
        f = self.formulas
        names = tuple(f.PARAMS)
        pair_code, pair_x, pair_t = distinct(table, ("frequency", "T"))
        row_code, alive = alive_term(f, table)
        table = table.assign(_pair=pair_code, _row=row_code)
        if_alive = SharedTerm(
            lambda part, p: f.discounted_purchases_if_alive(
                pair_x[part], pair_t[part], {n: p[n] for n in names}, np.array([t]), np.array([1.0])
            ),
            len(pair_x),
            names,
            by_draws=True,
        )

        def formula(cols: Mapping[str, np.ndarray], p: Mapping[str, Any]) -> np.ndarray:
            return gather(alive(p), cols["_row"]) * gather(if_alive(p), cols["_pair"])

        def simulate(
            cols: Mapping[str, np.ndarray], p: Mapping[str, Any], rng: np.random.Generator
        ) -> np.ndarray:
            return np.asarray(f.simulate_counts(rng, t, *history(cols), p))

        return predict_frame(
            _as_model(self),
            table,
            (*_HISTORY, "_pair", "_row"),
            formula,
            quantity="expected_purchases",
            meta={"time_unit": unit, "t": t},
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
        time_unit: str | None = None,
    ) -> Result:
        """P(alive) now (``t = 0``; for BG/NBD FHL 2005 eq. 11) or ``t`` time units from now.

        ``t`` (finite, >= 0) is in the RFM table's time unit, which must be the model's
        (see :meth:`expected_purchases` for ``time_unit``).
        """
        t = check_nonnegative("t", t)
        table, unit = self._history_table(rfm, time_unit)
        t = self._horizon(t, unit)

        f = self.formulas
        row_code, alive = alive_term(f, table)
        table = table.assign(_row=row_code)

        def formula(cols: Mapping[str, np.ndarray], p: Mapping[str, Any]) -> np.ndarray:
            if t == 0:
                return gather(alive(p), cols["_row"])
            return f.probability_alive_after(ops, t, *history(cols), **p)

        return predict_frame(
            _as_model(self),
            table,
            (*_HISTORY, "_row"),
            formula,
            quantity="probability_alive",
            meta={"time_unit": unit, "t": t},
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
        time_unit: str | None = None,
    ) -> Result:
        """P(Y(t) = n | history): exactly ``n`` purchases in the next ``t`` time units.

        ``n`` is a whole number >= 0 and ``t`` a finite number >= 0, in the RFM table's
        time unit, which must be the model's (see :meth:`expected_purchases`).
        """
        t = check_nonnegative("t", t)
        n = check_count("n", n, minimum=0)
        table, unit = self._history_table(rfm, time_unit)
        t = self._horizon(t, unit)

        f = self.formulas

        def formula(cols: Mapping[str, np.ndarray], p: Mapping[str, Any]) -> np.ndarray:
            # the closed form's alternating terms can leave rounding residue of about
            # -1e-18 where the probability is 0; a probability is reported in [0, 1]
            values = f.conditional_probability_of_purchases(ops, t, n, *history(cols), **p)
            return np.clip(values, 0.0, 1.0)

        return predict_frame(
            _as_model(self),
            table,
            _HISTORY,
            formula,
            quantity="probability_of_purchases",
            meta={"time_unit": unit, "t": t, "n": n},
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
        """E[X(t)] for a newly acquired customer (for BG/NBD FHL 2005 eq. 7), indexed by ``t``.

        ``t`` (one or many finite lengths >= 0) is in the unit the model was fitted in,
        recorded in ``attrs["clvlab"]["time_unit"]``. ``lower``/``upper`` are widened to
        include the plug-in estimate of an MLE fit; ``attrs["clvlab"]["clamped_rows"]``
        counts the rows where that happened.
        """
        model = _as_model(self)
        model.check_fitted()
        ts = np.atleast_1d(check_times("t", t))
        if ts.ndim != 1:
            ts = ts.ravel()
        ts = whole_opportunities(self.formulas, "t", ts, model_time_unit(model), model.display_name)
        params = param_columns(model.parameter_draws(), model.param_names)
        values = self.formulas.expected_purchases_new(ops, ts[None, :], **params)
        ci = check_ci_prob(model.ci_prob if ci_prob is None else ci_prob)
        ik = cast(
            IntervalKind,
            check_interval_kind(model.interval_kind)
            if kind is None
            else check_interval_kind(kind, "kind"),
        )
        lo, hi = interval(values, ci, ik)
        if model.method_ == "mle":
            estimate = self.formulas.expected_purchases_new(ops, ts, **model.point_params())
        else:
            estimate = values.mean(axis=0)
        frame = pd.DataFrame(
            {
                "estimate": estimate,
                "sd": values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(len(ts)),
                "lower": np.minimum(lo, estimate),
                "upper": np.maximum(hi, estimate),
            },
            index=pd.Index(ts, name="t"),
        )
        frame.attrs["clvlab"] = {
            "quantity": "expected_purchases_new_customer",
            "ci_prob": ci,
            "interval": ik,
            "time_unit": model_time_unit(model),
            "clamped_rows": {
                "lower": int(np.sum(lo > estimate)),
                "upper": int(np.sum(hi < estimate)),
            },
        }
        return frame


class SpendPredictions(_FittedAttributes):
    """Prediction methods of a spend model (mixed in; the model class names its formula
    module, with ``conditional_expected_spend`` and ``draw_spend_rate``, in ``formulas``)."""

    #: the spend model's formula module
    formulas: ClassVar[ModuleType]

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
        transaction's value. Gamma-Gamma has no time parameter, so the RFM table's time
        unit does not enter (and is not checked here; :func:`clvlab.clv` checks it
        against the purchase model).
        """

        def formula(cols: Mapping[str, np.ndarray], p: Mapping[str, Any]) -> np.ndarray:
            return self.formulas.conditional_expected_spend(
                ops, cols["frequency"], cols["monetary_value"], **p
            )

        def simulate(
            cols: Mapping[str, np.ndarray], p: Mapping[str, Any], rng: np.random.Generator
        ) -> np.ndarray:
            nu = self.formulas.draw_spend_rate(rng, cols["frequency"], cols["monetary_value"], p)
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
