"""Datasets: CDNOW and donations (shipped with lifetimes), Fader & Hardie's retention
cohorts (shipped with clvlab), and a BG/NBD simulator.

The files are located through the installed distribution's metadata
(:mod:`importlib.metadata`), without importing anything: ``lifetimes.datasets`` imports
``pkg_resources``, which setuptools 81 and later no longer ship, so it is never imported.
"""

from __future__ import annotations

from importlib import metadata, resources

import numpy as np
import pandas as pd

from clvlab.data.simulate import simulate_transactions

__all__ = [
    "load_cdnow_master",
    "load_cdnow_sample",
    "load_cdnow_summary",
    "load_donations",
    "load_retention_cohorts",
    "load_retention_histories",
    "simulate_transactions",
]

_DATA_DIR = "lifetimes/datasets"


def _path(name: str) -> str:
    return str(metadata.distribution("lifetimes").locate_file(f"{_DATA_DIR}/{name}"))


def _read_cdnow(name: str, columns: list[str]) -> pd.DataFrame:
    frame = pd.read_csv(
        _path(name),
        sep=r"\s+",
        header=None,
        names=columns,
        dtype={"customer_id": np.int64, "master_id": np.int64, "date": str},
        skiprows=1 if name == "CDNOW_master.txt" else 0,
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


def load_cdnow_master() -> pd.DataFrame:
    """The full CDNOW transaction log: 23,570 customers who first bought in Q1 1997.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id`` (int), ``date`` (datetime64), ``quantity`` (CDs) and
        ``spend`` (US dollars), one row per transaction, 1997-01-01 to 1998-06-30.

    Examples
    --------
    >>> log = load_cdnow_master()
    >>> log["customer_id"].nunique()
    23570
    """
    return _read_cdnow("CDNOW_master.txt", ["customer_id", "date", "quantity", "spend"])


def load_cdnow_sample() -> pd.DataFrame:
    """The 1/10 CDNOW sample used by Fader, Hardie & Lee (2005): 2,357 customers.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id`` (1 to 2,357, the sample's own id), ``master_id`` (the id
        in :func:`load_cdnow_master`), ``date``, ``quantity`` and ``spend``.

    Examples
    --------
    >>> load_cdnow_sample()["customer_id"].nunique()
    2357
    """
    return _read_cdnow(
        "CDNOW_sample.txt", ["master_id", "customer_id", "date", "quantity", "spend"]
    )[["customer_id", "master_id", "date", "quantity", "spend"]]


def load_cdnow_summary() -> pd.DataFrame:
    """The published RFM summary of the CDNOW sample, 39-week calibration, in weeks.

    This is the table of Fader, Hardie & Lee (2005) and Fader & Hardie (2013):
    ``frequency`` (x), ``recency`` (t_x), ``T`` and ``monetary_value`` (z-bar, the mean
    spend of the repeat purchases, 0 for customers with none).

    Examples
    --------
    >>> s = load_cdnow_summary()
    >>> len(s), int((s["frequency"] > 0).sum())
    (2357, 946)
    """
    raw = pd.read_csv(_path("cdnow_customers_summary_with_transactions.csv"))
    frame = pd.DataFrame(
        {
            "frequency": raw["x"].to_numpy(dtype=np.int64),
            "recency": raw["t_x"].to_numpy(dtype=float),
            "T": raw["T"].to_numpy(dtype=float),
            "monetary_value": raw["zbar"].to_numpy(dtype=float),
        },
        index=pd.Index(raw["ID"].to_numpy(dtype=np.int64), name="customer_id"),
    )
    frame.attrs["clvlab"] = {
        "kind": "rfm",
        "time_unit": "W",
        "first_transaction": "1997-01-01",
        "calibration_end": "1997-09-30",
        "source": "Fader, Hardie & Lee (2005), CDNOW 1/10 sample",
    }
    return frame


def load_donations() -> pd.DataFrame:
    """The donations data for the BG/BB model (Fader, Hardie & Shang 2010), folded.

    Returns
    -------
    pandas.DataFrame
        ``frequency``, ``recency`` and ``periods`` (6 annual opportunities) with a
        ``weight`` column: the number of donors with that pattern (11,104 in all).

    Examples
    --------
    >>> int(load_donations()["weight"].sum())
    11104
    """
    raw = pd.read_csv(_path("donations.csv"))
    return raw.rename(columns={"weights": "weight"}).astype(
        {"frequency": np.int64, "recency": np.int64, "periods": np.int64, "weight": np.int64}
    )


def load_retention_cohorts() -> pd.DataFrame:
    """Fader & Hardie (2007) Table 1: customers of two cohorts still active per year.

    Two cohorts of 1,000 customers ("regular" and "high end") who signed up in year 0,
    and how many were still active at the end of years 1 to 12. The paper fits the
    shifted-beta-geometric model on years 0-7 (``regular``: alpha 0.704, beta 1.182;
    ``high_end``: alpha 0.668, beta 3.806) and projects years 8-12. Source: Fader, P. S.
    & Hardie, B. G. S. (2007), "How to Project Customer Retention", Journal of
    Interactive Marketing 21(1), 76-90, Table 1; shipped with clvlab.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``year`` (0-12), columns ``regular`` and ``high_end`` (int64); pass it
        to :func:`clvlab.cohort_histories`.

    Examples
    --------
    >>> load_retention_cohorts().loc[7].tolist()
    [241, 491]
    """
    source = resources.files("clvlab").joinpath("_data/fader_hardie_2007_retention.csv")
    with resources.as_file(source) as path:
        table = pd.read_csv(path, comment="#", index_col="year")
    return table.astype(np.int64)


def load_retention_histories(calibration_years: int = 7) -> pd.DataFrame:
    """Fader & Hardie (2007) Table 1 as 2,000 subscribers' renewal histories, with the
    later years as a holdout.

    Each of the two cohorts' customers cancelled in the year Table 1 says (or is still
    active after year 12). Calibration covers the renewal opportunities 1 to
    ``calibration_years`` (the paper fits 7); the holdout counts each subscriber's
    renewals in the years after, up to 12.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (1 to 2,000): ``cohort`` (``regular``,
        ``high_end``), ``frequency`` and ``recency`` (renewals in calibration), ``T``
        (``calibration_years``), ``frequency_holdout`` (renewals after it) and
        ``duration_holdout`` (``12 - calibration_years``), as a contractual table
        (``kind="discrete"``, ``contractual=True``, ``time_unit="Y"``) for
        :class:`clvlab.ShiftedBetaGeo` and :func:`clvlab.evaluate`.

    Examples
    --------
    >>> table = load_retention_histories()
    >>> int(table["frequency_holdout"].sum())  # renewals in years 8-12 (Table 1)
    3123
    """
    from clvlab.arguments import check_count

    tau = check_count("calibration_years", calibration_years)
    counts = load_retention_cohorts()
    if tau >= len(counts) - 1:
        from clvlab.errors import ArgumentError

        raise ArgumentError(
            f"calibration_years must leave a holdout year: at most {len(counts) - 2}, got "
            f"{calibration_years!r}"
        )
    frames = []
    for cohort in counts.columns:
        c = counts[cohort].to_numpy()
        lost = np.r_[c[:-1] - c[1:], c[-1]]  # cancelled at opportunity 1..12, or never
        renewals = np.repeat(np.arange(len(lost)), lost)  # over all 12 years
        frames.append(
            pd.DataFrame(
                {
                    "cohort": cohort,
                    "frequency": np.minimum(renewals, tau),
                    "recency": np.minimum(renewals, tau),
                    "T": tau,
                    "frequency_holdout": np.maximum(renewals - tau, 0),
                    "duration_holdout": float(len(c) - 1 - tau),
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    table.index = pd.RangeIndex(1, len(table) + 1, name="customer_id")
    table = table.astype(
        {"frequency": np.int64, "recency": np.int64, "T": np.int64, "frequency_holdout": np.int64}
    )
    table.attrs["clvlab"] = {
        "kind": "discrete",
        "contractual": True,
        "time_unit": "Y",
        "grain": "Y",
        "source": "Fader & Hardie (2007), Table 1",
    }
    return table
