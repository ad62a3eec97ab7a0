"""The main job on the bundled CDNOW data, as run by ``make demo``.

1. RFM summary of the full CDNOW log (23,570 customers), calibration to 1997-09-30;
2. BG/NBD and Gamma-Gamma fitted both ways: MLE (lifetimes, Laplace draws) and NUTS;
3. 12-month CLV with 90% intervals (monthly discount rate 1%, the ``clvlab run`` default),
   for each fit;
4. the decision tables of each fit: value segments (tiers by CLV with each customer's
   probability of each tier, and the at-risk flag), CLV by acquisition cohort (the month
   of the first purchase) with differences on paired draws, and a 12-month revenue
   forecast with expected-value and predictive intervals;
5. the predictions exported to the embedded database (SQLite, ``clv.db``) and to Parquet
   and CSV (each with its ``_runs``, ``_parameters``, ``_long``, ``_segments``,
   ``_segment_probabilities``, ``_groups``, ``_group_differences`` and ``_forecast``
   tables), one run per method (``cdnow-mle``, ``cdnow-nuts``, replaced on a re-run),
   plus the fitted models (NetCDF) and a printed summary.

CDNOW customer 10244's repeat purchases are worth $0; Gamma-Gamma needs a positive mean
spend, so that customer is excluded with a :class:`~clvlab.errors.DataQualityWarning`
(printed as one line by ``clvlab demo``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from clvlab import datasets
from clvlab.export import export
from clvlab.pipeline import MONTHLY_DISCOUNT_RATE, PipelineSettings, preflight, run_pipeline
from clvlab.predict.table import CustomerPredictions

__all__ = ["CALIBRATION_END", "OBSERVATION_END", "run_demo"]

CALIBRATION_END = "1997-09-30"
OBSERVATION_END = "1998-06-30"
HORIZON_MONTHS = 12
CI_PROB = 0.9


def run_demo(out: Path, *, progress: bool = True, quick: bool = False) -> dict[str, str]:
    """Run the CDNOW job and write its results into ``out``; return what was written."""
    preflight(out / "predictions.parquet")  # the folder takes files: checked before the work
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    log = datasets.load_cdnow_master()
    draws = 300 if quick else 1000
    written: dict[str, str] = {}
    for method in ("mle", "nuts"):
        print(f"\n######## CDNOW, {method.upper()} ########", flush=True)
        settings = PipelineSettings(
            customer_col="customer_id",
            date_col="date",
            amount_col="spend",
            calibration_end=CALIBRATION_END,
            observation_end=OBSERVATION_END,
            method="nuts" if method == "nuts" else "mle",
            horizon=HORIZON_MONTHS,
            horizon_unit="M",
            discount_rate=MONTHLY_DISCOUNT_RATE,
            ci_prob=CI_PROB,
            seed=2026,
            draws=draws,
            tune=draws,
            run_id=f"cdnow-{method}",
            long=True,
            chains=2,  # NUTS: 2 chains of `draws`; MLE: 2 x `draws` Laplace draws
            progress=progress,
            segments=True,
            group_by="cohort",
            forecast=True,
        )
        # CDNOW customer 10244's repeat purchases are worth $0: excluded with a
        # DataQualityWarning, which `clvlab demo` prints as one line
        predictions, purchase, spend = run_pipeline(log, None, settings)
        for model in (purchase, spend):
            path = out / f"{model.name}_{method}.nc"
            model.save(str(path))
            written[path.stem] = str(path)
        _print_top(predictions)
        targets: dict[Path, tuple[str | Path, bool]] = {
            out / "clv.db": (f"sqlite:///{out / 'clv.db'}", True),
            out / "predictions.parquet": (out / "predictions.parquet", True),
            out / "predictions.csv": (out / "predictions.csv", True),
        }
        for path, (target, long) in targets.items():
            for table, where in _export_own_output(predictions, target, path, long).items():
                written[f"{table} ({path.suffix})"] = where
    print("\nwrote:")
    for where in sorted(set(written.values())):
        print(f"  {where}")
    print(f"done in {time.perf_counter() - started:.0f} s")
    return written


def _export_own_output(
    predictions: CustomerPredictions, target: str | Path, path: Path, long: bool
) -> dict[str, str]:
    """Export into the demo's own output folder. Files there with another schema (from
    an older clvlab) are renamed to ``*.bak-<time>``, with a message, and the export is
    repeated: the demo owns the folder, but it still moves nothing silently."""
    from clvlab.errors import ExportError

    try:
        return export(predictions, target, long=long)
    except ExportError as error:
        if "different schema" not in str(error):
            raise
    stamp = time.strftime("%Y%m%d%H%M%S")
    family = (
        [path] if path.suffix == ".db" else list(path.parent.glob(f"{path.stem}*{path.suffix}"))
    )
    for old in family:
        moved = old.with_name(f"{old.name}.bak-{stamp}")
        old.rename(moved)
        print(f"note: {old} has an older schema; moved to {moved}")
    return export(predictions, target, long=long)


def _print_top(predictions: CustomerPredictions, n: int = 10) -> None:
    columns = [
        "clv_estimate",
        "clv_lower",
        "clv_upper",
        "probability_alive_estimate",
        "expected_purchases_estimate",
    ]
    top: pd.DataFrame = predictions.table.nlargest(n, "clv_estimate")[columns]
    print(f"top {n} customers by {HORIZON_MONTHS}-month CLV:")
    print(top.round(2).to_string())
