"""Time units and calendar conversions.

clvlab measures time continuously in a named unit. Calendar conversions use the Julian
year of 365.25 days; a month is a twelfth of it (30.4375 days). No other factors are used
anywhere in the package.
"""

from __future__ import annotations

from typing import Final

__all__ = ["DAYS_PER_UNIT", "DAYS_PER_YEAR", "convert", "days_per_unit"]

DAYS_PER_YEAR: Final[float] = 365.25
DAYS_PER_UNIT: Final[dict[str, float]] = {
    "D": 1.0,
    "W": 7.0,
    "M": DAYS_PER_YEAR / 12.0,
    "Y": DAYS_PER_YEAR,
}
_ALIASES: Final[dict[str, str]] = {
    "day": "D",
    "days": "D",
    "week": "W",
    "weeks": "W",
    "month": "M",
    "months": "M",
    "year": "Y",
    "years": "Y",
}


def normalize_unit(unit: str) -> str:
    """Return the canonical one-letter code (``D``, ``W``, ``M``, ``Y``) of ``unit``.

    Examples
    --------
    >>> normalize_unit("weeks")
    'W'
    """
    code = _ALIASES.get(unit.lower(), unit.upper()) if isinstance(unit, str) else unit
    if code not in DAYS_PER_UNIT:
        from clvlab.errors import ClvlabError

        raise ClvlabError(
            f"unknown time unit {unit!r}; use one of {sorted(DAYS_PER_UNIT)} "
            "(day, week, month = 365.25/12 days, year = 365.25 days)"
        )
    return code


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
