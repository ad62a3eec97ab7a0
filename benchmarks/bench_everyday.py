"""Benchmark: the everyday calls on full CDNOW, against lifetimes and the code before.

Full CDNOW (23,569 customers with positive spend, weekly, calibration to 1997-09-30),
BG/NBD and Gamma-Gamma fitted by MLE with 2,000 Laplace draws (the same seed for every
job), each job in a fresh process and timed warm (one untimed call first):

- ``predict_customers`` (12 months, 1% a month): CLV, expected purchases, P(alive) and
  spend with 90% intervals, against lifetimes' point estimates of the same four columns;
- ``evaluate`` on the holdout, with the spend model, without and with tracking;
- ``compare`` of two fits (Laplace and bootstrap-sized draws) with the baselines;
- CLV with daily cash flows over 10 years (3,653 periods).

With ``--before REV``, the clvlab jobs also run on the source tree of git revision REV
(checked out with ``git worktree`` into a temporary folder), so the table shows the
change in the same run.

    python benchmarks/bench_everyday.py [--before 6ba8309]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import clvlab
from _harness import Measurement, measure, table

# the same log and RFM table for every job, clvlab's and lifetimes'
DATA = """
import warnings
warnings.simplefilter('ignore')
import numpy as np, pandas as pd
import clvlab
log = pd.read_parquet({log!r})
rfm = clvlab.rfm_summary(log, customer_id_col='customer_id', datetime_col='date',
                         monetary_value_col='spend', calibration_end='1997-09-30',
                         observation_end='1998-06-30')
rfm = rfm[~((rfm['frequency'] > 0) & (rfm['monetary_value'] <= 0))]
"""

SETUP = (
    DATA
    + """
bg = clvlab.BetaGeo().fit(rfm, seed=1, progress=False, n_draws=2000)
gg = clvlab.GammaGamma().fit(rfm, seed=2, progress=False, n_draws=2000)
"""
)

JOBS = {
    "predict_customers": """
def call():
    p = clvlab.predict_customers(bg, gg, rfm, horizon=12, unit='M', discount_rate=0.01, seed=1)
    return {'total_clv': round(float(p.table['clv_estimate'].sum()), 1)}
""",
    "evaluate": """
def call():
    ev = clvlab.evaluate(bg, rfm, spend_model=gg)
    return {'predicted_total': round(ev.metrics['predicted_total'], 1)}
""",
    "evaluate with tracking": """
def call():
    ev = clvlab.evaluate(bg, rfm, spend_model=gg, transactions=log)
    return {'predicted_total': round(ev.metrics['predicted_total'], 1)}
""",
    "compare (2 fits)": """
bg2 = clvlab.BetaGeo().fit(rfm, seed=3, progress=False, n_draws=1000)
def call():
    t = clvlab.compare([bg, bg2], rfm, names=['laplace-2000', 'laplace-1000'], transactions=log)
    return {'rows': len(t)}
""",
    "clv, daily cash flows over 10 years": """
def call():
    out = clvlab.clv(bg, gg, rfm, horizon=3653, unit='D', discount_rate=0.0001)
    return {'total': round(float(out['estimate'].sum()), 1)}
""",
}

# the code before this change needed minutes per 300 customers here (one hyp2f1 call
# per cash-flow period): it is not run on full CDNOW
SLOW_BEFORE = {"clv, daily cash flows over 10 years"}

WARM = """
call()  # untimed: numba caches, first allocations
def job():
    return call()
"""

LIFETIMES = (
    DATA
    + """
from lifetimes import BetaGeoFitter, GammaGammaFitter
from clvlab.units import convert
bgf = BetaGeoFitter().fit(rfm['frequency'], rfm['recency'], rfm['T'])
rep = rfm[rfm['frequency'] > 0]
ggf = GammaGammaFitter().fit(rep['frequency'], rep['monetary_value'])
def job():
    f, r, T, m = rfm['frequency'], rfm['recency'], rfm['T'], rfm['monetary_value']
    purchases = bgf.conditional_expected_number_of_purchases_up_to_time(
        convert(12, 'M', 'W'), f, r, T)
    alive = bgf.conditional_probability_alive(f, r, T)
    spend = ggf.conditional_expected_average_profit(f, m)
    clv = ggf.customer_lifetime_value(bgf, f, r, T, m, time=12, discount_rate=0.01, freq='W')
    return {{'total_clv': round(float(clv.sum()), 1), 'rows': len(purchases) + len(alive)
             + len(spend)}}
"""
)


def _worktree(rev: str, folder: Path) -> str:
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(folder), rev],
        check=True,
        capture_output=True,
    )
    return str(folder / "src")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", help="git revision of the code to compare with")
    parser.add_argument("--only", nargs="*", help="run only these jobs (names as printed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log_path = str(Path(tmp) / "cdnow.parquet")
        clvlab.datasets.load_cdnow_master().to_parquet(log_path)
        before = _worktree(args.before, Path(tmp) / "before") if args.before else None
        try:
            peer = measure(
                "lifetimes point estimates (4 columns, no intervals)",
                LIFETIMES.format(log=log_path),
            )
            for name, body in JOBS.items():
                if args.only and name not in args.only:
                    continue
                rows: list[Measurement] = []
                if name == "predict_customers":
                    rows.append(peer)
                code = SETUP.format(log=log_path) + body + WARM
                if before and name not in SLOW_BEFORE:
                    rows.append(measure(f"clvlab {args.before} {name}", code, pythonpath=before))
                rows.append(measure(f"clvlab {name}", code))
                print(f"\n## {name}\n")
                print(table(rows, rows[0].name))
                for r in rows:
                    print(f"- {r.name}: {r.result}")
        finally:
            if before:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(Path(tmp) / "before")],
                    check=False,
                    capture_output=True,
                )


if __name__ == "__main__":
    main()
