"""The whole job in one call: transactions file -> RFM -> fits -> predictions -> export.

:func:`run_file` is what ``clvlab run`` calls and :func:`run_pipeline` what ``clvlab demo``
calls. Everything that can be checked before the work is checked first, in this order:
the settings (:func:`check_settings`), the export target (:func:`preflight`: its format,
its folder, the database connection and credentials) and the input file. Each step is
reported on standard output, with progress bars unless told not to.

Results are right or refused: a fit whose intervals are not finite (a degenerate
maximum-likelihood optimum) stops the run with a :class:`~clvlab.errors.ConvergenceError`
before anything is exported, unless point estimates alone were asked for
(``point_estimates_only``); then the intervals are left empty (NULL) in every row and
the run records ``interval="none"``.

The default run id is derived from the inputs (:func:`default_run_id`), so running the
same command on the same data again replaces its own run instead of appending a copy.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from clvlab.arguments import (
    check_ci_prob,
    check_count,
    check_nonnegative,
    check_positive,
    check_probability,
    check_rate,
)
from clvlab.data.discrete import opportunity_summary
from clvlab.data.ids import id_text, id_texts
from clvlab.data.rfm import rfm_summary
from clvlab.data.transactions import DateUnit
from clvlab.decisions.acquisition import read_cac
from clvlab.decisions.report import Decisions, decide
from clvlab.decisions.segments import tier_bounds
from clvlab.errors import (
    ArgumentError,
    ClvlabError,
    ConvergenceError,
    DataQualityWarning,
    DataValidationError,
    ExportError,
)
from clvlab.export import check_target
from clvlab.formulas.contract import is_discrete
from clvlab.models.base import METHODS, UNCERTAINTIES, BaseModel, Method
from clvlab.models.gamma_gamma import GammaGamma
from clvlab.models.purchase import PurchaseModel, purchase_models
from clvlab.predict.clv import cash_flow_schedule
from clvlab.predict.table import METRICS, CustomerPredictions, predict_customers
from clvlab.units import convert, normalize_unit

__all__ = [
    "MONTHLY_DISCOUNT_RATE",
    "PURCHASE_MODELS",
    "SPEND_MODELS",
    "PipelineSettings",
    "check_settings",
    "default_discount_rate",
    "default_run_id",
    "preflight",
    "read_transactions",
    "run_file",
    "run_pipeline",
]

_UNIT_NAMES = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}
#: the registered purchase models by name (the registry: clvlab.purchase_models)
PURCHASE_MODELS = purchase_models()
SPEND_MODELS = {GammaGamma.name: GammaGamma}
MONTHLY_DISCOUNT_RATE = 0.01
"""The default discount rate: 1% a month (as in the README and ``clvlab demo``)."""

# Settings that do not change the results, and so do not enter the default run id.
_NOT_IN_RUN_ID = ("run_id", "long", "table_prefix", "progress")


@dataclass
class PipelineSettings:
    """Everything ``clvlab run`` can set; the defaults are the CLI's.

    ``discount_rate`` is per ``horizon_unit`` period; ``None`` means 1% a month
    (:func:`default_discount_rate`). ``run_id=None`` derives the id from the inputs
    (:func:`default_run_id`). ``drop_invalid`` drops rows that break a data rule
    (reported as one :class:`~clvlab.errors.DataQualityWarning` per rule) instead of
    stopping. ``point_estimates_only`` exports point estimates with empty intervals
    rather than refusing a fit whose intervals are not finite.

    The decision tables (:func:`clvlab.decide`) are computed and exported when asked:
    ``segments`` (tiers by CLV quantile edges ``tiers`` or CLV ``thresholds``),
    ``group_by`` (a customer attribute column of the log, one value per customer, or
    ``"cohort"`` for the month of the first purchase), ``forecast`` (revenue per
    ``horizon_unit`` period over the horizon, with ``new_customers`` acquired per
    period) and ``cac`` (a number, or the path of a ``group,cac`` CSV file).
    """

    customer_col: str = "customer_id"
    date_col: str = "date"
    amount_col: str = "amount"
    date_format: str | None = None
    dayfirst: bool | None = None
    date_unit: DateUnit | None = None
    calibration_end: str | None = None
    observation_end: str | None = None
    time_unit: str = "W"
    purchase_model: str = "bgnbd"
    spend_model: str = "gamma_gamma"
    method: Method = "mle"
    uncertainty: Literal["laplace", "bootstrap"] = "laplace"
    n_bootstrap: int = 200
    penalizer: float = 0.0
    horizon: float = 12.0
    horizon_unit: str = "M"
    discount_rate: float | None = None
    margin: float = 1.0
    ci_prob: float = 0.9
    seed: int = 0
    draws: int = 1000
    tune: int = 1000
    chains: int = 2
    run_id: str | None = None
    long: bool = False
    table_prefix: str = "clv"
    progress: bool = True
    drop_invalid: bool = False
    point_estimates_only: bool = False
    segments: bool = False
    tiers: tuple[float, ...] | None = None
    thresholds: tuple[float, ...] | None = None
    group_by: str | None = None
    forecast: bool = False
    new_customers: float | None = None
    cac: float | str | None = None
    fit_options: dict[str, Any] = field(default_factory=dict)

    def summary_options(self) -> dict[str, Any]:
        """The arguments that every RFM summary of a run takes from these settings
        (:func:`clvlab.rfm_summary`, :func:`clvlab.opportunity_summary` and
        :func:`clvlab.spark.rfm_summary`, beside the time unit or grain)."""
        return {
            "customer_id_col": self.customer_col,
            "datetime_col": self.date_col,
            "monetary_value_col": self.amount_col,
            "calibration_end": self.calibration_end,
            "observation_end": self.observation_end,
            "datetime_format": self.date_format,
            "dayfirst": self.dayfirst,
            "date_unit": self.date_unit,
            "invalid": "drop" if self.drop_invalid else "raise",
        }


def default_discount_rate(unit: str) -> float:
    """1% a month as a rate per period of ``unit``, compounded: ``1.01 ** m - 1`` with
    ``m`` the months in one period (a year is 12 months, a week 7 / 30.4375 of one).

    Examples
    --------
    >>> default_discount_rate("M")
    0.01
    >>> round(default_discount_rate("Y"), 6)  # 1.01 ** 12 - 1
    0.126825
    """
    months = convert(1.0, normalize_unit(unit), "M")
    return MONTHLY_DISCOUNT_RATE if months == 1.0 else (1 + MONTHLY_DISCOUNT_RATE) ** months - 1


def _choice(name: str, value: Any, options: Any) -> Any:
    if value not in options:
        raise ArgumentError(f"{name} must be one of {sorted(options)}, got {value!r}")
    return value


def _date_setting(name: str, value: Any) -> str | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError) as exc:  # pandas' OutOfBounds* are ValueError
        raise ArgumentError(
            f"{name} must be a date such as 2025-06-30, got {value!r} ({exc})"
        ) from None
    if stamp is pd.NaT:
        raise ArgumentError(f"{name} must be a date such as 2025-06-30, got {value!r}")
    if not pd.Timestamp.min <= stamp <= pd.Timestamp.max:
        raise ArgumentError(
            f"{name} {value!r} is outside the dates clvlab handles (1677-09-22 to "
            "2262-04-11); give the real last day of the period, such as 2025-06-30"
        )
    return str(value)


def check_settings(settings: PipelineSettings) -> PipelineSettings:
    """Check every setting before any work; return a copy with normalised values.

    Raises
    ------
    clvlab.ArgumentError
        A setting is outside its domain (a NaN or negative horizon, a margin of 0, a
        ``ci_prob`` of 1, zero draws, an unknown model, method or unit, ...). The message
        names the setting, the value and what is accepted.
    """
    s = settings
    for name in ("customer_col", "date_col", "amount_col"):
        value = getattr(s, name)
        if not isinstance(value, str) or not value:
            raise ArgumentError(f"{name} must be a column name, got {value!r}")
    time_unit = normalize_unit(s.time_unit)
    horizon_unit = normalize_unit(s.horizon_unit)
    rate = default_discount_rate(horizon_unit) if s.discount_rate is None else s.discount_rate
    if s.run_id is not None and (not isinstance(s.run_id, str) or not s.run_id.strip()):
        raise ArgumentError(f"run_id must be a non-empty text, got {s.run_id!r}")
    if s.tiers is not None or s.thresholds is not None:
        tier_bounds(s.tiers, s.thresholds)
    if s.group_by is not None and (not isinstance(s.group_by, str) or not s.group_by):
        raise ArgumentError(f"group_by must be a column name or 'cohort', got {s.group_by!r}")
    if s.group_by is not None and s.group_by == s.customer_col:
        raise ArgumentError(
            f"group_by {s.group_by!r} is the customer id column: every customer would be a "
            "group of one; name a customer attribute column such as the acquisition "
            "channel, or use --group-by cohort"
        )
    # as on the command line: tiers or thresholds imply segments, new customers a forecast
    segments = bool(s.segments) or s.tiers is not None or s.thresholds is not None
    forecast = bool(s.forecast) or s.new_customers is not None
    if s.new_customers is not None:
        check_nonnegative("new_customers", s.new_customers)
    cac = os.fspath(s.cac) if isinstance(s.cac, os.PathLike) else s.cac
    if isinstance(cac, str):
        try:
            number = float(cac)
        except ValueError:  # not a number: a file, read and checked now, before any work
            read_cac(cac)
        else:  # a number given as text (the CLI): checked as a number, never as a path
            cac = check_positive("cac", number)
    elif cac is not None:
        cac = check_positive("cac", cac)
    if s.point_estimates_only and (segments or s.group_by or forecast or cac is not None):
        raise ArgumentError(
            "decision tables (segments, groups, forecast, CAC) need finite intervals, which "
            "--point-estimates-only gives up; drop one of them"
        )
    purchase_model = _choice("purchase model", s.purchase_model, PURCHASE_MODELS)
    if is_discrete(PURCHASE_MODELS[purchase_model].formulas):
        # whole opportunities of time_unit in every cash-flow period, before any work
        cash_flow_schedule(
            check_positive("horizon", s.horizon),
            horizon_unit,
            time_unit,
            check_rate("discount_rate", rate),
            purchase_model=PURCHASE_MODELS[purchase_model],
        )
    return dataclasses.replace(
        s,
        segments=segments,
        forecast=forecast,
        cac=cac,
        calibration_end=_date_setting("calibration_end", s.calibration_end),
        observation_end=_date_setting("observation_end", s.observation_end),
        time_unit=time_unit,
        purchase_model=purchase_model,
        # "gamma-gamma" was the CLI's spelling of the model's name, "gamma_gamma"
        spend_model=_choice("spend model", str(s.spend_model).replace("-", "_"), SPEND_MODELS),
        method=_choice("method", s.method, METHODS),
        uncertainty=_choice("uncertainty", s.uncertainty, UNCERTAINTIES),
        n_bootstrap=check_count("n_bootstrap", s.n_bootstrap, minimum=2),
        penalizer=check_nonnegative("penalizer", s.penalizer),
        horizon=check_positive("horizon", s.horizon),
        horizon_unit=horizon_unit,
        discount_rate=check_rate("discount_rate", rate),
        margin=check_probability("margin", s.margin, open_low=True),
        ci_prob=check_ci_prob(s.ci_prob),
        seed=check_count("seed", s.seed, minimum=0),
        draws=check_count("draws", s.draws),
        tune=check_count("tune", s.tune, minimum=0),
        chains=check_count("chains", s.chains),
    )


def default_run_id(
    transactions: pd.DataFrame, settings: PipelineSettings, name: str = "run"
) -> str:
    """The run id used when none is given: ``<name>-<16 hex digits>``.

    The digits are the start of a SHA-256 over the customer, date and amount columns of
    the log (their values, in order) and every setting that changes the results (all
    but ``run_id``, ``long``, ``table_prefix`` and ``progress``). The same data with the
    same settings therefore get the same id, and exporting them again replaces that
    run's rows instead of adding a second copy; other data or settings get another id
    and are added as a new run. ``name`` is cleaned to letters, digits, ``-`` and ``_``.

    Examples
    --------
    >>> log = pd.DataFrame({"customer_id": [1], "date": ["2020-01-01"], "amount": [5.0]})
    >>> a = default_run_id(log, PipelineSettings(), "sales")
    >>> a == default_run_id(log.copy(), PipelineSettings(), "sales"), a[:6]
    (True, 'sales-')
    >>> a == default_run_id(log, PipelineSettings(seed=1), "sales")
    False
    """
    digest = hashlib.sha256()
    recorded = {k: v for k, v in dataclasses.asdict(settings).items() if k not in _NOT_IN_RUN_ID}
    digest.update(json.dumps(recorded, sort_keys=True, default=str).encode())
    for col in (settings.customer_col, settings.date_col, settings.amount_col):
        digest.update(f"\0{col}\0".encode())
        if col in transactions.columns:
            hashed = pd.util.hash_pandas_object(transactions[col], index=False)
            digest.update(np.ascontiguousarray(hashed.to_numpy()).tobytes())
    label = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")[:40] or "run"
    return f"{label}-{digest.hexdigest()[:16]}"


def read_transactions(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a transaction log from CSV (``.csv``, ``.csv.gz``, ``.txt``) or Parquet.

    Raises
    ------
    clvlab.ArgumentError
        The file does not exist, is a folder, or its format is unknown.
    clvlab.ClvlabError
        The file cannot be read (not a CSV or Parquet file, bad encoding, no columns).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.exists():
        raise ArgumentError(
            f"transactions file {path} does not exist; give the path of a .csv or .parquet "
            "file (one row per purchase)"
        )
    if path.is_dir():
        raise ArgumentError(f"transactions file {path} is a folder; give a .csv or .parquet file")
    if suffix not in (".parquet", ".pq", ".csv", ".gz", ".txt"):
        raise ArgumentError(
            f"cannot tell the format of transactions file {path}: rename it to .csv or "
            ".parquet (or convert it to one of them)"
        )
    import pyarrow as pa

    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        reason = _first_line(exc)
        kind = "Parquet" if suffix in (".parquet", ".pq") else "CSV"
        raise ClvlabError(
            f"cannot read transactions from {path} as {kind}: {reason}. Check that it is "
            f"a {kind} file (UTF-8 text with a header row for CSV)"
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _step(text: str) -> None:
    print(f"== {text}", flush=True)


# ---------------------------------------------------------------------------- preflight


def preflight(target: str | os.PathLike[str]) -> None:
    """Check an export target before any work, in seconds.

    Files: the format (``.parquet``, ``.pq`` or ``.csv``) and that the folder can take
    new files (it is created at the export when missing). Database URLs: the URL, the
    driver, and a connection with the given credentials (PostgreSQL waits at most 10 s);
    for SQLite, the folder of the database file. Nothing is created or changed.

    Raises
    ------
    clvlab.ExportError
        The target cannot be written; the message hides any password.
    """
    text = os.fspath(target)
    if not isinstance(text, str) or not text:
        raise ExportError(f"the export target must be a path or a database URL, got {target!r}")
    try:
        check_target(text, connect=True)
    except ExportError as exc:
        message = str(exc).rstrip()
        if not message.endswith("Nothing was written."):
            exc.args = (f"{message.rstrip('.')}. Nothing was written.",)
        raise


# ------------------------------------------------------------------------------- checks


def _not_finite(frame: pd.DataFrame, columns: list[str]) -> dict[str, int]:
    values = frame[columns].to_numpy(dtype=float)
    counts = (~np.isfinite(values)).sum(axis=0)
    return {c: int(n) for c, n in zip(columns, counts, strict=True) if n}


_POINT_ADVICE = (
    "pass --point-estimates-only (point_estimates_only=True) to export the point "
    "estimates with empty intervals"
)


def _check_fit(model: BaseModel, point_estimates_only: bool) -> None:
    """Refuse a fit whose parameter table holds a non-finite value (an infinite Laplace
    sd, a NaN bound): its intervals, and every interval derived from them, would be NaN.
    """
    table = model.params_
    bad_estimates = _not_finite(table, ["estimate"])
    if bad_estimates:
        raise ConvergenceError(
            f"the {model.display_name} fit by {model.method_.upper()} gave non-finite "
            f"parameter estimates ({', '.join(map(str, table.index))}: "
            f"{', '.join(f'{v:.4g}' for v in table['estimate'])}); nothing was exported. "
            "Try --method nuts"
        )
    if point_estimates_only:
        return
    columns = [c for c in ("sd", "lower", "upper") if c in table.columns]
    values = table[["estimate", *columns]].to_numpy(dtype=float)
    bad = ~np.isfinite(values[:, 1:]).all(axis=1)
    rows = table.index[bad]
    if len(rows):
        shown = "; ".join(
            f"{name!s} = {row[0]:.4g} ["
            + ", ".join(f"{c} {v:.4g}" for c, v in zip(columns, row[1:], strict=True))
            + "]"
            for name, row in zip(rows, values[bad], strict=True)
        )
        raise ConvergenceError(
            f"the {model.display_name} fit by {model.method_.upper()} is degenerate: the "
            f"uncertainty of {', '.join(map(str, rows))} is not finite ({shown}), so every "
            "interval would be NaN; nothing was exported. Fit by --method nuts (posterior "
            f"intervals), or {_POINT_ADVICE}"
        )


def _check_predictions(predictions: CustomerPredictions, point_estimates_only: bool) -> None:
    """Refuse predictions with a non-finite estimate, or (unless point estimates alone
    were asked for) a non-finite bound."""
    parts = ["estimate"] if point_estimates_only else ["estimate", "lower", "upper"]
    columns = [f"{m}_{p}" for m in METRICS for p in parts]
    bad = _not_finite(predictions.table, columns)
    if not bad:
        return
    rows = ~np.isfinite(predictions.table[columns].to_numpy(dtype=float)).all(axis=1)
    ids = ", ".join(id_texts(predictions.table.index[rows][:5]))
    detail = ", ".join(f"{c} in {n:,}" for c, n in bad.items())
    advice = "Try --method nuts" + ("" if point_estimates_only else f", or {_POINT_ADVICE}")
    raise ConvergenceError(
        f"{int(rows.sum()):,} customers would get non-finite predictions ({detail}; "
        f"customer ids {ids}); nothing was exported. {advice}"
    )


def _point_estimates(predictions: CustomerPredictions) -> CustomerPredictions:
    """The predictions with every interval left empty (NaN, NULL in databases) and the
    run marked ``interval="none"``: point estimates only, as the user asked."""
    table = predictions.table.copy()
    for metric in METRICS:
        table[[f"{metric}_lower", f"{metric}_upper"]] = np.nan
    run = {
        **predictions.run,
        "interval": "none",
        "total_clv_lower": float("nan"),
        "total_clv_upper": float("nan"),
    }
    parameters = predictions.parameters.assign(lower=np.nan, upper=np.nan)
    return CustomerPredictions(table, run, parameters)


# ----------------------------------------------------------------------------- the job


def _without_zero_spend(rfm: pd.DataFrame) -> pd.DataFrame:
    """Customers whose repeat purchases are all worth 0 cannot enter the Gamma-Gamma
    model; they are removed with a :class:`DataQualityWarning` that names how many and
    which."""
    zero = (rfm["frequency"] > 0) & (rfm["monetary_value"] <= 0)
    n = int(zero.sum())
    if not n:
        return rfm
    ids = ", ".join(id_texts(rfm.index[zero][:5])) + (", ..." if n > 5 else "")
    noun = "customer" if n == 1 else "customers"
    message = (
        f"excluded {n} {noun} whose repeat purchases are worth 0 (customer id "
        f"{ids}): the Gamma-Gamma spend model and CLV need a positive mean spend"
    )
    warnings.warn(message, DataQualityWarning, stacklevel=3)
    out = rfm.loc[~zero]
    out.attrs = dict(rfm.attrs)
    return out


def _summarise(transactions: pd.DataFrame, s: PipelineSettings) -> pd.DataFrame:
    """The RFM table; dropped rows (``drop_invalid``) are reported as one
    :class:`DataQualityWarning` per rule."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataQualityWarning)
        try:
            # a discrete-time model counts opportunities of time_unit (its grain)
            discrete = is_discrete(PURCHASE_MODELS[s.purchase_model].formulas)
            summary: Any = opportunity_summary if discrete else rfm_summary
            unit = {"grain": s.time_unit} if discrete else {"time_unit": s.time_unit}
            rfm = summary(transactions, **unit, **s.summary_options())
        except DataValidationError as exc:
            if exc.droppable and not s.drop_invalid:  # rows break a rule: they can be dropped
                exc.args = (
                    f"{str(exc).rstrip('.')}. To drop such rows instead and report how many, pass "
                    "--drop-invalid (drop_invalid=True)",
                )
            raise
    dropped = rfm.attrs["clvlab"].get("dropped_rows") or {}
    for warning in caught:
        if issubclass(warning.category, DataQualityWarning) and "invalid='drop'" in str(
            warning.message
        ):
            continue  # the combined report of dropped rows: one warning per rule below
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    for rule, count in dropped.items():
        warnings.warn(
            f"dropped {count:,} of {len(transactions):,} rows (--drop-invalid): {rule}",
            DataQualityWarning,
            stacklevel=3,
        )
    return rfm


def run_file(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str] | None,
    settings: PipelineSettings,
) -> tuple[CustomerPredictions, PurchaseModel, GammaGamma]:
    """``clvlab run``: check the settings and the target, read ``path``, then
    :func:`run_pipeline`. The default run id is named after the file
    (``sales.csv`` -> ``sales-<16 hex digits>``, see :func:`default_run_id`)."""
    settings = check_settings(settings)
    if out is not None:
        preflight(out)
    transactions = read_transactions(path)
    return _run(transactions, out, settings, Path(path).name.split(".")[0])


def run_pipeline(
    transactions: pd.DataFrame,
    out: str | os.PathLike[str] | None,
    settings: PipelineSettings,
) -> tuple[CustomerPredictions, PurchaseModel, GammaGamma]:
    """Summarise, fit, predict and (when ``out`` is given) export; return the results.

    The settings and the target are checked first (:func:`check_settings`,
    :func:`preflight`).

    Raises
    ------
    clvlab.ConvergenceError
        A fit or a prediction is not finite (see the module docstring); nothing is
        exported.
    """
    settings = check_settings(settings)
    if out is not None:
        preflight(out)
    return _run(transactions, out, settings, "run")


def _fit_kwargs(s: PipelineSettings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"method": s.method, "seed": s.seed, "progress": s.progress}
    # NUTS runs `chains` chains of `draws`; the other methods draw as many parameter sets
    # (Laplace or variational draws) in one chain.
    if s.method == "nuts":
        kwargs.update(draws=s.draws, tune=s.tune, chains=s.chains)
    elif s.method == "mle":
        kwargs.update(
            n_draws=s.draws * s.chains,
            uncertainty=s.uncertainty,
            n_bootstrap=s.n_bootstrap,
            penalizer=s.penalizer,
        )
    else:
        kwargs.update(draws=s.draws * s.chains)
    kwargs.update(s.fit_options)
    return kwargs


def _run(
    transactions: pd.DataFrame,
    out: str | os.PathLike[str] | None,
    s: PipelineSettings,
    name: str,
) -> tuple[CustomerPredictions, PurchaseModel, GammaGamma]:
    from clvlab.export import export

    started = time.perf_counter()
    _step("building the RFM summary")
    rfm = _summarise(transactions, s)
    run_id = s.run_id or default_run_id(transactions, s, name)
    meta = rfm.attrs["clvlab"]
    print(
        f"{len(rfm):,} customers, {meta['n_transactions']:,} transactions from "
        f"{meta['first_transaction']} to {meta['observation_end']}; calibration to "
        f"{meta['calibration_end']}; {int(rfm['frequency'].sum()):,} repeat purchases"
    )
    rfm = _without_zero_spend(rfm)
    group_by = _groups(transactions, rfm, s)  # checked before the fits
    kwargs = _fit_kwargs(s)
    models = []
    for cls in (PURCHASE_MODELS[s.purchase_model], SPEND_MODELS[s.spend_model]):
        _step(f"fitting {cls.display_name} by {s.method.upper()}")
        model = cls(ci_prob=s.ci_prob).fit(rfm, **kwargs)
        _check_fit(model, s.point_estimates_only)
        print(model.summary())
        models.append(model)
    purchase, spend = models
    assert isinstance(purchase, PurchaseModel) and isinstance(spend, GammaGamma)
    unit = _UNIT_NAMES[s.horizon_unit]
    rate = default_discount_rate(unit) if s.discount_rate is None else s.discount_rate
    what = "point estimates" if s.point_estimates_only else f"{s.ci_prob:.0%} intervals"
    _step(
        f"predicting {s.horizon:g} {unit}s of CLV with {what} (discount rate "
        f"{rate:.4g} a {unit}, margin {s.margin:g})"
    )
    predictions = predict_customers(
        purchase,
        spend,
        rfm,
        horizon=s.horizon,
        unit=s.horizon_unit,
        discount_rate=rate,
        margin=s.margin,
        seed=s.seed,
        run_id=run_id,
        progress=s.progress,
    )
    _check_predictions(predictions, s.point_estimates_only)
    if s.segments or s.group_by is not None or s.forecast or s.cac is not None:
        _step("computing the decision tables")
        predictions.decisions = decide(
            purchase,
            spend,
            rfm,
            horizon=s.horizon,
            unit=s.horizon_unit,
            discount_rate=rate,
            margin=s.margin,
            segments=s.segments,
            quantiles=s.tiers,
            thresholds=s.thresholds,
            group_by=group_by,
            cac=None if s.cac is None else read_cac(s.cac) if isinstance(s.cac, str) else s.cac,
            forecast=s.forecast,
            new_customers=s.new_customers,
            seed=s.seed,
        )
        _print_decisions(predictions.decisions)
    run = predictions.run
    if s.point_estimates_only:
        predictions = _point_estimates(predictions)
        print(
            f"total CLV {run['total_clv_estimate']:,.0f} (point estimate; intervals left "
            f"empty on request); run id {run['run_id']}"
        )
    else:
        print(
            f"total CLV {run['total_clv_estimate']:,.0f} ({s.ci_prob:.0%} interval "
            f"{run['total_clv_lower']:,.0f} to {run['total_clv_upper']:,.0f}); run id "
            f"{run['run_id']}"
        )
    if out is not None:
        _step(f"exporting to {_display(out)}")
        written = export(predictions, out, long=s.long, table_prefix=s.table_prefix)
        for table, where in written.items():
            print(f"  {table}: {_display(where)}")
    print(f"done in {time.perf_counter() - started:.0f} s")
    return predictions, purchase, spend


def _groups(
    transactions: pd.DataFrame, rfm: pd.DataFrame, s: PipelineSettings
) -> str | pd.Series | None:
    """What ``group_by`` names: ``"cohort"``, or the customer attribute column of the
    log as one value per customer (refused when a customer has several)."""
    if s.group_by == "cohort" and "cohort" in transactions.columns:
        raise ArgumentError(
            "the log has a column named 'cohort', and --group-by cohort means the month of "
            "each customer's first purchase; rename the column (e.g. cohort_label) and "
            "group by that name, or drop it to use the first-purchase month"
        )
    if s.group_by is None or s.group_by == "cohort":
        return s.group_by
    column = s.group_by
    if column not in transactions.columns:
        raise ArgumentError(
            f"group column {column!r} is not in the transaction log (columns: "
            f"{', '.join(map(str, transactions.columns))}); name a customer attribute "
            "column such as the acquisition channel, or use --group-by cohort"
        )
    pairs = transactions[[s.customer_col, column]].drop_duplicates()
    several = pairs[s.customer_col].duplicated(keep=False)
    if several.any():
        ids = pairs.loc[several, s.customer_col].unique()
        raise DataValidationError(
            column,
            "has more than one value for some customers; a group is a customer attribute",
            len(ids),
            examples=list(ids[:5]),
            hint="keep one value per customer (e.g. the acquisition channel of the first "
            "purchase) before running",
        )
    labels = pairs.set_index(s.customer_col)[column]
    labels.index = labels.index.map(id_text)
    out = pd.Series(labels.reindex(rfm.index.map(id_text)).to_numpy(), index=rfm.index, name=column)
    empty = out.isna().to_numpy()
    if empty.any():
        raise DataValidationError(
            column,
            "is empty for some customers; every customer needs a group",
            int(empty.sum()),
            examples=list(rfm.index[empty][:5]),
            hint="fill the empty cells (e.g. with 'unknown') before running",
        )
    return out


def _print_decisions(decisions: Decisions) -> None:
    """One line per decision table of the run."""
    if decisions.segments is not None:
        meta = decisions.segments.attrs["clvlab"]
        sizes = ", ".join(f"{k} {v:,}" for k, v in meta["tier_sizes"].items())
        print(f"segments: {sizes}; {meta['at_risk']['customers']:,} at risk")
    if decisions.groups is not None:
        table = decisions.groups.groups
        means = table["clv_mean_estimate"].to_numpy()
        best = int(np.argmax(means))
        print(
            f"groups by {decisions.groups.settings['by']}: {len(table)}; highest mean CLV "
            f"{table.index[best]} ({means[best]:,.2f})"
        )
    if decisions.forecast is not None:
        total = decisions.forecast.attrs["clvlab"]["total"]["revenue"]
        print(
            f"forecast revenue over {len(decisions.forecast)} periods: "
            f"{total['estimate']:,.0f} ({total['lower']:,.0f} to {total['upper']:,.0f})"
        )
    if decisions.acquisition is not None:
        for group, row in decisions.acquisition.iterrows():
            print(
                f"CAC {group}: {row['cac']:,.2f} against a new customer's value "
                f"{row['value_estimate']:,.2f}; P(value > CAC) {row['p_value_exceeds_cac']:.2f}"
            )


def _display(target: str | os.PathLike[str]) -> str:
    """A target for messages: database URLs without their password."""
    from clvlab.export.sql import safe_url

    text = str(target)
    if "://" not in text:
        return text
    url, _, table = text.partition("#")
    return safe_url(url) + (f" (table {table})" if table else "")
