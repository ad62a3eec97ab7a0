"""The shifted-beta-geometric model of contract renewals (Fader & Hardie 2007, 2010)."""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from clvlab.arguments import check_count, check_positive, check_rate
from clvlab.data.folding import FoldedTable
from clvlab.errors import ArgumentError
from clvlab.formulas import sbg
from clvlab.formulas._ops import numpy_ops
from clvlab.models.base import FitData
from clvlab.models.purchase import PurchaseModel
from clvlab.predict.engine import predict_frame
from clvlab.units import model_time_unit

__all__ = ["ShiftedBetaGeo"]

#: Longest projection of a survival curve, in periods.
_MAX_PERIODS = 100_000


class ShiftedBetaGeo(PurchaseModel):
    """Shifted-beta-geometric (sBG) model of contract renewals, ``alpha, beta``.

    A contract comes up for renewal once per period. While subscribed a customer cancels
    at each renewal opportunity with probability ``theta ~ Beta(alpha, beta)`` across
    customers (Fader & Hardie 2007, "How to project customer retention"); ignoring that
    heterogeneity (one ``theta`` for all, the geometric model) underestimates later
    retention and misvalues the base (Fader & Hardie 2010).

    It fits renewal histories: ``frequency`` renewals of ``T`` opportunities observed
    (``recency = frequency``), from :func:`clvlab.cohort_histories` (cohort survival
    counts, weighted rows) or :func:`clvlab.subscription_summary` (subscriptions with
    start and cancellation dates). Several cohorts in one table are fitted jointly (one
    ``alpha, beta``); fit each cohort's rows separately for one pair per cohort
    (:meth:`fit_cohorts`).

    ``method="mle"`` maximises the likelihood (FH07 eq. 5;
    :func:`clvlab.formulas.sbg.loglik`) with SciPy (lifetimes has no sBG) with the exact
    gradient, with Laplace or bootstrap draws; ``"nuts"``, ``"advi"`` and ``"map"`` as
    for every model.

    As a purchase model, a "purchase" is a renewal: :func:`clvlab.predict_customers`,
    :func:`clvlab.clv` (with a spend model) and the decision tables work on a
    per-customer table; "P(alive)" is the chance of renewing at the next opportunity (0
    once cancelled). The contractual forms are here: :meth:`survival_curve` (survival
    and retention projected forward), :meth:`residual_lifetime` (DERL, FH10 eq. 6) and
    :meth:`contract_value` (margin x payment x DERL), each with intervals.

    Default priors: ``LogNormal(0, 1.5)`` on both shapes (:meth:`default_priors`).

    Examples
    --------
    >>> import clvlab
    >>> table = clvlab.cohort_histories(
    ...     clvlab.datasets.load_retention_cohorts()["regular"], periods=7)
    >>> model = clvlab.ShiftedBetaGeo().fit(table, seed=1, progress=False)
    >>> model.params_["estimate"].round(3).to_dict()  # FH07: alpha 0.704, beta 1.182
    {'alpha': 0.704, 'beta': 1.182}
    """

    name = "sbg"
    display_name = "sBG"
    formulas: ClassVar[ModuleType] = sbg
    lifetimes_fitter = None
    #: no parameter carries a time unit: alpha and beta are Beta shapes
    scale_params = ()

    def prepare(self, rfm: pd.DataFrame) -> FitData:
        """Validate and fold the renewal table; a ``weight`` column (as
        :func:`clvlab.cohort_histories` gives) counts the customers of each row.

        Refused when no customer has had a renewal opportunity (``T = 0`` throughout,
        e.g. subscriptions observed before their first renewal day): such a table holds
        no information on ``alpha, beta``."""
        if not isinstance(rfm, pd.DataFrame) or "weight" not in rfm.columns:
            data = super().prepare(rfm)  # refuses a non-table with its message
        else:
            weights = _check_weights(rfm["weight"])
            data = super().prepare(rfm.drop(columns="weight"))
            folded = data.folded
            assert folded is not None  # PurchaseModel.prepare always folds
            per_row = np.bincount(folded.inverse, weights=weights, minlength=len(folded))
            refolded = FoldedTable(
                rows=folded.rows.assign(weight=per_row), inverse=folded.inverse, index=folded.index
            )
            data = FitData(data.columns, refolded.weights, refolded)
        if not np.any((data.columns["T"] > 0) & (data.weights > 0)):
            from clvlab.errors import DataValidationError

            raise DataValidationError(
                "T",
                "is 0 for every customer: nobody has come up for renewal yet, so the "
                "table says nothing about the churn probabilities",
                hint="observe past the first renewal day (a later observation_end in "
                "clvlab.subscription_summary), or add cohorts with renewal opportunities",
            )
        return data

    def lifetimes_arguments(self, data: FitData) -> dict[str, np.ndarray]:  # pragma: no cover
        raise NotImplementedError("sBG is fitted with SciPy: lifetimes has no sBG fitter")

    def fit_cohorts(
        self, table: pd.DataFrame, by: str = "cohort", **fit_options: Any
    ) -> dict[Any, ShiftedBetaGeo]:
        """Fit one model per cohort (``table[by]``), each with ``fit_options``.

        Returns
        -------
        dict
            Cohort -> fitted :class:`ShiftedBetaGeo` (this model's priors and settings,
            fitted on that cohort's rows); this model itself stays unfitted.
        """
        if by not in table.columns:
            raise ArgumentError(
                f"no column {by!r} to split the cohorts by (columns: {list(table.columns)}); "
                "pass by= naming the cohort column, or fit the whole table jointly with fit()"
            )
        out: dict[Any, ShiftedBetaGeo] = {}
        for cohort, rows in table.groupby(by, sort=True, observed=True):
            part = rows.drop(columns=by)
            part.attrs = dict(table.attrs)
            model = type(self)(
                priors=self.priors, ci_prob=self.ci_prob, interval_kind=self.interval_kind
            )
            model.fit(part, **fit_options)
            out[cohort] = model
        return out

    def survival_curve(self, periods: int, *, ci_prob: float | None = None) -> pd.DataFrame:
        """Survival S(t) and retention r(t) of a new cohort for ``t = 0..periods``.

        S(t) is FH07 eq. 3, r(t) = S(t) / S(t - 1) eq. 6 (undefined at ``t = 0``: NaN
        there is not returned, the curve of r starts at ``t = 1``), each with its
        interval over the parameter draws.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``period``: ``survival``, ``survival_lower``, ``survival_upper``,
            ``retention``, ``retention_lower``, ``retention_upper`` (retention at period 0
            is 1 by convention: nobody has had a chance to cancel).
        """
        top = check_count("periods", periods, minimum=1)
        if top > _MAX_PERIODS:
            raise ArgumentError(
                f"periods = {top:,} is beyond {_MAX_PERIODS:,}; project fewer periods"
            )
        table = pd.DataFrame({"t": np.arange(top + 1, dtype=float)})
        table.index.name = "period"
        out = {}
        for name, formula in (
            ("survival", lambda c, p: sbg.survival(numpy_ops, c["t"], p["alpha"], p["beta"])),
            (
                "retention",
                lambda c, p: np.where(
                    c["t"] > 0.5,
                    sbg.retention_rate(numpy_ops, np.maximum(c["t"], 1.0), p["alpha"], p["beta"]),
                    1.0,
                ),
            ),
        ):
            frame = predict_frame(
                self, table, ("t",), formula, quantity=name, meta={}, ci_prob=ci_prob
            )
            assert isinstance(frame, pd.DataFrame)
            out[name] = frame["estimate"].clip(0.0, 1.0)
            out[f"{name}_lower"] = frame["lower"].clip(0.0, 1.0)
            out[f"{name}_upper"] = frame["upper"].clip(0.0, 1.0)
        curve = pd.DataFrame(out, index=table.index)
        curve.attrs["clvlab"] = {
            "quantity": "survival_curve",
            "ci_prob": self.ci_prob if ci_prob is None else ci_prob,
            "interval": self.interval_kind,
            "time_unit": model_time_unit(self),
            "model": self.display_name,
        }
        return curve

    def residual_lifetime(
        self, renewals: Any, discount_rate: float, *, ci_prob: float | None = None
    ) -> pd.DataFrame:
        """DERL of a subscriber who has made ``renewals`` renewals, FH10 eq. 6.

        Parameters
        ----------
        renewals
            One or more whole numbers >= 0 (FH10's ``n - 1``).
        discount_rate
            Per period, > 0 (the sum diverges at 0 for ``alpha <= 1``).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``renewals``: ``estimate``, ``sd``, ``lower``, ``upper`` in
            payments (multiply by the margin per payment for value:
            :meth:`contract_value`).
        """
        d = check_rate("discount_rate", discount_rate)
        if d <= 0:
            raise ArgumentError(
                f"discount_rate must be > 0 for the discounted residual lifetime, got "
                f"{discount_rate!r}: undiscounted, the expected lifetime is infinite when "
                "alpha <= 1. Pass a rate per period, e.g. discount_rate=0.1"
            )
        counts = np.atleast_1d(np.asarray(renewals))
        if counts.ndim != 1 or counts.size == 0:
            raise ArgumentError("renewals must be one whole number or a 1-D list of them")
        values = np.array(
            [check_count("renewals", v, minimum=0) for v in counts.tolist()], dtype=float
        )
        table = pd.DataFrame(
            {"renewals": values}, index=pd.Index(values.astype(np.int64), name="renewals")
        )

        def derl(c: Mapping[str, np.ndarray], p: Mapping[str, Any]) -> np.ndarray:
            return np.asarray(sbg.residual_lifetime(c["renewals"], d, p["alpha"], p["beta"]))

        frame = predict_frame(
            self, table, ("renewals",), derl, quantity="derl", meta={}, ci_prob=ci_prob
        )
        assert isinstance(frame, pd.DataFrame)
        return frame[["estimate", "sd", "lower", "upper"]]

    def contract_value(
        self,
        renewals: Any,
        discount_rate: float,
        *,
        payment: float = 1.0,
        margin: float = 1.0,
        ci_prob: float | None = None,
    ) -> pd.DataFrame:
        """CLV of a subscriber who has made ``renewals`` renewals: ``margin x payment x
        DERL`` (FH10 eq. 6 in money), with its interval (:meth:`residual_lifetime`).

        ``payment`` is the revenue per period (> 0) and ``margin`` its profit share in
        ``(0, 1]``.
        """
        pay = check_positive("payment", payment)
        share = check_positive("margin", margin)
        if share > 1:
            raise ArgumentError(f"margin must lie in (0, 1], got {margin!r}; pass e.g. margin=0.3")
        derl = self.residual_lifetime(renewals, discount_rate, ci_prob=ci_prob)
        return derl * (pay * share)


def _check_weights(weights: pd.Series) -> np.ndarray:
    """The ``weight`` column as float counts: whole numbers from 0 to 2**53 (exact in
    float64), not booleans, summing to more than 0."""
    from clvlab.data.validation import Validator
    from clvlab.errors import DataValidationError

    hint = (
        "the weight column counts the customers with each history "
        "(clvlab.cohort_histories builds it); drop it to count each row as one customer"
    )
    if pd.api.types.is_bool_dtype(weights.dtype):
        raise DataValidationError(
            "weight", "holds True/False, not numbers of customers", len(weights), hint=hint
        )
    values = pd.to_numeric(weights, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    finite = np.where(np.isfinite(values), values, 0.0)
    check = Validator(ids=weights.index.to_numpy())
    check.check(
        "weight",
        "is not a whole number of customers from 0 to 2**53",
        ~np.isfinite(values) | (finite < 0) | (finite != np.round(finite)) | (finite > 2.0**53),
        hint,
        values=weights.to_numpy(),
    )
    if values.sum() <= 0:
        raise DataValidationError(
            "weight",
            "sums to 0: no customer to fit",
            hint="give at least one row a positive weight (its number of customers)",
        )
    return values
