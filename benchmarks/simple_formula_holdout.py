"""Accuracy comparison: the simple CLV formula against the models, on the CDNOW holdout.

Full CDNOW (23,570 customers), weeks, calibration to 1997-09-30 and holdout to
1998-06-30 (39 weeks), as in Fader, Hardie & Lee (2005). Each method predicts the repeat
revenue of the 39 holdout weeks (margin 1, no discount); the truth is each customer's
holdout repeat revenue, ``frequency_holdout x monetary_value_holdout``:

- **model**: :func:`clvlab.clv` with BG/NBD and Gamma-Gamma fitted by MLE;
- **simple (customer)**: :func:`clvlab.decisions.simple.simple_clv`, each customer's own
  order value x own purchase rate x ``sum_k r^k`` over the 39 weeks, with the weekly
  retention ``r`` from the half-year lapse rule;
- **simple (average)**: the same formula with the population's order value and rate;
- **lifespan (customer)**: revenue per week x ``min(39, 1 / (1 - r))`` weeks.

Printed by calibration frequency (repeat purchase days): customers, totals and the
relative error of each total, then per-customer MAE and correlation. This is an accuracy
benchmark, not a speed benchmark; it runs in well under a minute.

    python benchmarks/simple_formula_holdout.py [--csv PATH]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

import clvlab
from clvlab.decisions.simple import simple_clv

CALIBRATION_END, OBSERVATION_END = "1997-09-30", "1998-06-30"
BUCKETS = [(0, 0, "0"), (1, 1, "1"), (2, 2, "2"), (3, 4, "3-4"), (5, 9, "5-9"), (10, None, "10+")]
METHODS = {
    "model": "model",
    "simple_customer": "simple (customer)",
    "simple_average": "simple (average)",
    "lifespan_customer": "lifespan (customer)",
}


def predictions() -> tuple[pd.DataFrame, dict[str, object]]:
    """One row per customer: calibration frequency, actual and predicted holdout revenue."""
    log = clvlab.datasets.load_cdnow_master()
    rfm = clvlab.rfm_summary(
        log,
        customer_id_col="customer_id",
        datetime_col="date",
        monetary_value_col="spend",
        time_unit="W",
        calibration_end=CALIBRATION_END,
        observation_end=OBSERVATION_END,
    )
    # one customer with repeat purchases worth $0 cannot enter Gamma-Gamma (see README)
    rfm = rfm[~((rfm["frequency"] > 0) & (rfm["monetary_value"] <= 0))]
    horizon = float(rfm["duration_holdout"].iloc[0])  # 273 days = 39 weeks
    bg = clvlab.BetaGeo().fit(rfm, method="mle", seed=1)
    gg = clvlab.GammaGamma().fit(rfm[rfm["frequency"] > 0], method="mle", seed=1)
    model = clvlab.clv(bg, gg, rfm, horizon=horizon, unit="W", discount_rate=0.0, margin=1.0)
    assert isinstance(model, pd.DataFrame)
    settings = {"horizon": horizon, "unit": "W", "margin": 1.0, "discount_rate": 0.0}
    customer = simple_clv(rfm, level="customer", **settings)  # type: ignore[arg-type]
    average = simple_clv(rfm, level="average", **settings)  # type: ignore[arg-type]
    frame = pd.DataFrame(
        {
            "frequency": rfm["frequency"],
            "actual": rfm["frequency_holdout"] * rfm["monetary_value_holdout"],
            "model": model["estimate"],
            "simple_customer": customer["simple_clv"],
            "simple_average": average["simple_clv"],
            "lifespan_customer": customer["lifespan_clv"],
        }
    )
    info = {
        "customers": len(rfm),
        "horizon_weeks": horizon,
        "retention": customer.attrs["clvlab"]["retention"],
        "lifespan_weeks": customer.attrs["clvlab"]["lifespan"],
        "margin_multiple": customer.attrs["clvlab"]["margin_multiple"],
    }
    return frame, info


def by_bucket(frame: pd.DataFrame) -> pd.DataFrame:
    """Totals per calibration-frequency bucket and overall, with relative errors."""
    rows = []
    for low, high, label in [*BUCKETS, (0, None, "all")]:
        x = frame["frequency"]
        part = frame[(x >= low) & (x <= (high if high is not None else np.inf))]
        row: dict[str, object] = {"frequency": label, "customers": len(part)}
        actual = float(part["actual"].sum())
        row["actual"] = actual
        for column in METHODS:
            row[column] = float(part[column].sum())
        for column in METHODS:
            predicted = float(part[column].sum())
            row[f"{column}_error"] = (predicted - actual) / actual if actual > 0 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def accuracy(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-customer MAE, RMSE and correlation with the actual holdout revenue."""
    actual = frame["actual"].to_numpy()
    rows = []
    for column, name in METHODS.items():
        predicted = frame[column].to_numpy()
        rows.append(
            {
                "method": name,
                "total": predicted.sum(),
                "total_error": (predicted.sum() - actual.sum()) / actual.sum(),
                "mae": np.mean(np.abs(predicted - actual)),
                "rmse": np.sqrt(np.mean((predicted - actual) ** 2)),
                # undefined for a prediction that is the same for every customer
                "correlation": np.nan
                if np.ptp(predicted) <= 1e-9 * np.abs(predicted).max()
                else np.corrcoef(predicted, actual)[0, 1],
            }
        )
    return pd.DataFrame(rows)


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _percent(value: float) -> str:
    return "" if not np.isfinite(value) else f"{100 * value:+.1f}%"


def markdown(table: pd.DataFrame, metrics: pd.DataFrame) -> str:
    """Both tables as Markdown."""
    head = ["frequency", "customers", "actual", *METHODS.values()]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for _, row in table.iterrows():
        cells = [str(row["frequency"]), f"{row['customers']:,}", _money(row["actual"])]
        cells += [f"{_money(row[c])} ({_percent(row[c + '_error'])})" for c in METHODS]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "| method | total | total error | MAE per customer | RMSE | correlation |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for _, row in metrics.iterrows():
        lines.append(
            f"| {row['method']} | {_money(row['total'])} | {_percent(row['total_error'])} | "
            f"{row['mae']:.2f} | {row['rmse']:.2f} | "
            + (f"{row['correlation']:.3f}" if np.isfinite(row["correlation"]) else "n/a (constant)")
            + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--csv", type=Path, help="also write the bucket table to this CSV file")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    frame, info = predictions()
    table, metrics = by_bucket(frame), accuracy(frame)
    retention = info["retention"]
    assert isinstance(retention, dict)
    print(
        f"CDNOW, {info['customers']:,} customers, holdout {info['horizon_weeks']:g} weeks "
        f"({CALIBRATION_END} to {OBSERVATION_END}), repeat revenue in US$, margin 1, no "
        f"discount. Weekly retention {retention['rate']:.4f} from the {retention['lapse']:.2f}"
        f"-week lapse rule ({retention['events']:,} lapses over "
        f"{retention['exposure']:,.0f} customer-weeks); margin multiple "
        f"{info['margin_multiple']:.2f} weeks of 39, lifespan {info['lifespan_weeks']:.1f} "
        "weeks. Cells: total (relative error against the actual).\n"
    )
    print(markdown(table, metrics))
    print(f"\n({time.perf_counter() - start:.1f} s)")
    if args.csv is not None:
        table.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()
