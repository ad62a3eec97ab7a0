"""The main job on the bundled CDNOW data, as run by ``make demo``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from clvlab import datasets
from clvlab._atomic import atomic_path
from clvlab.data import rfm_summary

__all__ = ["run_demo"]

CALIBRATION_END = "1997-09-30"
OBSERVATION_END = "1998-06-30"


def run_demo(out: Path, *, progress: bool = True, quick: bool = False) -> dict[str, Path]:
    """Run the CDNOW job and write its results into ``out``.

    Returns the paths written, by name.
    """
    out.mkdir(parents=True, exist_ok=True)
    log = datasets.load_cdnow_master()
    rfm = rfm_summary(
        log,
        customer_id_col="customer_id",
        datetime_col="date",
        monetary_value_col="spend",
        time_unit="W",
        calibration_end=CALIBRATION_END,
        observation_end=OBSERVATION_END,
    )
    written: dict[str, Path] = {}
    target = out / "rfm.csv"
    with atomic_path(target) as tmp:
        rfm.to_csv(tmp)
    written["rfm"] = target
    _print_rfm(rfm)
    print(f"wrote {target}")
    return written


def _print_rfm(rfm: pd.DataFrame) -> None:
    meta = rfm.attrs.get("clvlab", {})
    print(
        f"CDNOW: {len(rfm):,} customers, time unit {meta.get('time_unit')}, "
        f"calibration to {meta.get('calibration_end')}, "
        f"observation to {meta.get('observation_end')}"
    )
    print(
        f"  repeat purchases in calibration: {int(rfm['frequency'].sum()):,}; "
        f"customers with none: {int((rfm['frequency'] == 0).sum()):,}; "
        f"purchases in the holdout: {int(rfm['frequency_holdout'].sum()):,}"
    )
    print(rfm.describe().round(2).to_string())
