"""Time units and calendar conversions.

clvlab measures time continuously in a named unit. Calendar conversions use the Julian
year of 365.25 days; a month is a twelfth of it (30.4375 days), a quarter a fourth
(91.3125 days). No other factors are used anywhere in the package. A discrete-time table
(:func:`clvlab.opportunity_summary`) records its grain as its time unit: one
opportunity is one such unit.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = [
    "DAYS_PER_UNIT",
    "DAYS_PER_YEAR",
    "check_time_units",
    "convert",
    "days_per_unit",
    "model_time_unit",
    "normalize_unit",
]

DAYS_PER_YEAR: Final[float] = 365.25
DAYS_PER_UNIT: Final[dict[str, float]] = {
    "D": 1.0,
    "W": 7.0,
    "M": DAYS_PER_YEAR / 12.0,
    "Q": DAYS_PER_YEAR / 4.0,
    "Y": DAYS_PER_YEAR,
}
_ALIASES: Final[dict[str, str]] = {
    "day": "D",
    "days": "D",
    "week": "W",
    "weeks": "W",
    "month": "M",
    "months": "M",
    "quarter": "Q",
    "quarters": "Q",
    "year": "Y",
    "years": "Y",
}


def normalize_unit(unit: str) -> str:
    """Return the canonical one-letter code (``D``, ``W``, ``M``, ``Q``, ``Y``) of ``unit``.

    Examples
    --------
    >>> normalize_unit("weeks")
    'W'
    """
    code = _ALIASES.get(unit.lower(), unit.upper()) if isinstance(unit, str) else None
    if code not in DAYS_PER_UNIT:
        from clvlab.errors import ArgumentError

        raise ArgumentError(
            f"unknown time unit {unit!r}; use one of {sorted(DAYS_PER_UNIT)} "
            "(day, week, month = 365.25/12 days, quarter = 365.25/4 days, year = 365.25 days)"
        )
    return str(code)


def days_per_unit(unit: str) -> float:
    """Length of one ``unit`` in days (a year is 365.25 days, a month a twelfth of it).

    Examples
    --------
    >>> days_per_unit("M")
    30.4375
    """
    return DAYS_PER_UNIT[normalize_unit(unit)]


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert a duration ``value`` from ``from_unit`` to ``to_unit``.

    Examples
    --------
    >>> round(convert(12, "M", "W"), 4)
    52.1786
    """
    return float(value) * days_per_unit(from_unit) / days_per_unit(to_unit)


_UNIT_NAMES: Final[dict[str, str]] = {
    "D": "days",
    "W": "weeks",
    "M": "months",
    "Q": "quarters",
    "Y": "years",
}


def _named(unit: str) -> str:
    return f"{_UNIT_NAMES[unit]} ({unit!r})"


def model_time_unit(model: Any) -> str | None:
    """The time unit of the RFM table ``model`` was fitted on, or ``None`` when that table
    did not record one (a table built by hand). Read from ``fit_info_["data"]``, which
    :meth:`clvlab.BetaGeo.fit` fills and :func:`clvlab.load` restores."""
    info = getattr(model, "fit_info_", None)
    data = info.get("data") if isinstance(info, dict) else None
    unit = data.get("time_unit") if isinstance(data, dict) else None
    return None if unit is None else normalize_unit(unit)


def check_time_units(
    rfm: Any,
    purchase_model: Any,
    spend_model: Any = None,
    *,
    time_unit: str | None = None,
) -> str | None:
    """The time unit of ``rfm``, checked against the unit the models were fitted in.

    clvlab does not convert between units: a rate fitted per week read per month is
    wrong by a factor of 4.35, so any disagreement raises
    :class:`~clvlab.errors.UnitMismatchError` naming both units and the fix. The rules:

    - ``time_unit=`` states the unit of a table that does not record one; it must agree
      with the unit the table records, if it records one.
    - A table with no recorded unit is refused when the model records one, unless
      ``time_unit=`` states it (the message says how).
    - The purchase model's unit must equal the table's. A spend model (Gamma-Gamma has
      no time parameter) is checked only against the purchase model, when both record a
      unit: models fitted on tables in different units were fitted on different tables.

    Returns
    -------
    str or None
        The unit the computation is in, or ``None`` when neither the table nor the
        models record one (nothing to check against).

    Examples
    --------
    >>> import pandas as pd
    >>> rfm = pd.DataFrame({"frequency": [1], "recency": [2.0], "T": [3.0]})
    >>> rfm.attrs["clvlab"] = {"time_unit": "W"}
    >>> class Fitted:
    ...     fit_info_ = {"data": {"time_unit": "M"}}
    ...     display_name = "BG/NBD"
    >>> check_time_units(rfm, Fitted())
    Traceback (most recent call last):
    ...
    clvlab.errors.UnitMismatchError: the BG/NBD model was fitted on an RFM table in
    months ('M'), but this RFM table is in weeks ('W'); ...
    """
    from clvlab.data.rfm import rfm_metadata
    from clvlab.errors import UnitMismatchError

    recorded = rfm_metadata(rfm).get("time_unit") if hasattr(rfm, "attrs") else None
    recorded = None if recorded is None else normalize_unit(recorded)
    stated = None if time_unit is None else normalize_unit(time_unit)
    if stated is not None and recorded is not None and stated != recorded:
        raise UnitMismatchError(
            f"time_unit={time_unit!r} contradicts the RFM table, which records its time unit "
            f"as {_named(recorded)}; omit time_unit= or pass time_unit={recorded!r}"
        )
    table_unit = stated or recorded
    fitted = model_time_unit(purchase_model)
    name = getattr(purchase_model, "display_name", type(purchase_model).__name__)
    if spend_model is not None:
        spend_unit = model_time_unit(spend_model)
        if fitted is not None and spend_unit is not None and spend_unit != fitted:
            spend_name = getattr(spend_model, "display_name", type(spend_model).__name__)
            raise UnitMismatchError(
                f"the {name} model was fitted on an RFM table in {_named(fitted)} but the "
                f"{spend_name} model on one in {_named(spend_unit)}, so they come from "
                "different tables; nothing was converted. Fit both models on the same RFM "
                "table (the one you predict for)"
            )
    if fitted is None:
        return table_unit
    if table_unit is None:
        raise UnitMismatchError(
            f"this RFM table does not record its time unit, so it cannot be checked against "
            f"the {name} model's, which was fitted in {_named(fitted)}. If the table's "
            f"recency and T are in {_UNIT_NAMES[fitted]}, pass time_unit={fitted!r}; or "
            f"build the table with clvlab.rfm_summary(..., time_unit={fitted!r}), which "
            "records it"
        )
    if table_unit != fitted:
        raise UnitMismatchError(
            f"the {name} model was fitted on an RFM table in {_named(fitted)}, but this RFM "
            f"table is in {_named(table_unit)}; its rates would be read in the wrong unit, "
            f"and nothing was converted. Build the table with clvlab.rfm_summary(..., "
            f"time_unit={fitted!r}), or refit the model on this table"
        )
    return table_unit
