"""Benchmark: the decision tables on top of CLV, against CLV itself and against peers.

The issue's target: on 1M customers with 1,000 draws, segments, groups, the revenue
forecast, the acquisition table and the simple formula together add at most 30 s to
the CLV itself, with memory bounded by reducing per chunk.

1. Full CDNOW (23,570 customers, weekly, calibration to 1997-09-30), 2,000 draws.
2. 1M simulated customers, 52 weeks, weekly resolution, 1,000 draws.

Peers, on the same data in the same run:

- **lifetimes + pandas** (the practitioner's path, point estimates only): lifetimes'
  ``customer_lifetime_value`` at the posterior median, then ``pd.qcut`` tiers, a
  ``groupby`` by cohort and the 12 monthly increments of
  ``conditional_expected_number_of_purchases_up_to_time`` times the expected spend;
- **draws in memory** (what a user does with ``clv(..., return_draws=True)``): the full
  draws x customers array, then per-draw quantiles, tier shares and group sums in NumPy
  and pandas (CDNOW only: at 1M x 1,000 it needs 8 GB per copy).

Each job runs in a fresh process; peak memory is per job.

    python benchmarks/bench_decisions.py [--skip-large] [--skip-predictive]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import clvlab
from _harness import Measurement, measure, table
from bench_clv import _draws  # the same draws as the CLV benchmark

SETUP = """
import warnings
warnings.simplefilter('ignore')
import numpy as np, pandas as pd
rfm = pd.read_parquet({rfm!r})
rfm.attrs['clvlab'] = {{'time_unit': 'W', 'calibration_end': {end!r}}}
draws = dict(np.load({draws!r}))
import clvlab
from clvlab.inference.draws import draws_from_arrays
bg = clvlab.BetaGeo().fit(rfm, progress=False, n_draws=10)
gg = clvlab.GammaGamma().fit(rfm, progress=False, n_draws=10)
bg.draws_ = draws_from_arrays({{k: draws[k] for k in bg.param_names}})
gg.draws_ = draws_from_arrays({{k: draws[k] for k in gg.param_names}})
settings = dict(horizon=12, unit='M', discount_rate=0.01)
"""

CLV = """
def job():
    out = clvlab.clv(bg, gg, rfm, **settings)
    return {'total': round(float(out['estimate'].sum()), 1)}
"""

JOBS = {
    "segments": """
def job():
    out = clvlab.value_segments(bg, gg, rfm, **settings)
    return {'top': int((out['tier'] == 'q90_100').sum()),
            'p_top': round(float(out.loc[out['tier'] == 'q90_100', 'p_q90_100'].mean()), 4)}
""",
    "groups (cohort)": """
def job():
    out = clvlab.compare_groups(bg, gg, rfm, 'cohort', **settings)
    return {'groups': len(out.groups),
            'total': round(float(out.groups['clv_total_estimate'].sum()), 1)}
""",
    "forecast (expected value)": """
def job():
    out = clvlab.revenue_forecast(bg, gg, rfm, periods=12, predictive=False)
    return {'revenue': round(float(out['revenue_estimate'].sum()), 1)}
""",
    "forecast (+ predictive, 200 draws)": """
def job():
    out = clvlab.revenue_forecast(bg, gg, rfm, periods=12, predictive_draws=200, seed=1)
    return {'revenue': round(float(out['revenue_estimate'].sum()), 1)}
""",
    "acquisition (3 CACs)": """
def job():
    out = clvlab.acquisition(bg, gg, {'a': 10.0, 'b': 30.0, 'c': 60.0}, **settings)
    return {'p': [round(float(v), 3) for v in out['p_value_exceeds_cac']]}
""",
    "simple formula": """
def job():
    out = clvlab.simple_clv(rfm, horizon=12, unit='M', discount_rate=0.01)
    return {'total': round(float(out['simple_clv'].sum()), 1)}
""",
}

ALL = """
def job():
    clv = clvlab.clv(bg, gg, rfm, **settings)
    d = clvlab.decide(bg, gg, rfm, group_by='cohort', cac=30.0, **settings)
    s = clvlab.simple_clv(rfm, horizon=12, unit='M', discount_rate=0.01)
    return {'total': round(float(clv['estimate'].sum()), 1),
            'forecast': round(float(d.forecast['revenue_estimate'].sum()), 1)}
"""

LIFETIMES_PANDAS = """
from lifetimes import BetaGeoFitter, GammaGammaFitter
bgf, ggf = BetaGeoFitter(), GammaGammaFitter()
bgf.params_ = pd.Series({k: float(np.median(draws[k])) for k in ('r', 'alpha', 'a', 'b')})
ggf.params_ = pd.Series({k: float(np.median(draws[k])) for k in ('p', 'q', 'v')})
bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time  # set by fit()
cohort = clvlab.acquisition_cohorts(rfm)
def job():
    clv = ggf.customer_lifetime_value(bgf, rfm['frequency'], rfm['recency'], rfm['T'],
                                      rfm['monetary_value'], time=12, discount_rate=0.01,
                                      freq='W')
    tiers = pd.qcut(clv.rank(method='first'), [0, 0.5, 0.9, 1.0], labels=False)
    groups = clv.groupby(cohort.to_numpy()).agg(['sum', 'mean'])
    spend = ggf.conditional_expected_average_profit(rfm['frequency'], rfm['monetary_value'])
    weeks = 365.25 / 12 / 7
    cum = [bgf.conditional_expected_number_of_purchases_up_to_time(
        k * weeks, rfm['frequency'], rfm['recency'], rfm['T']) for k in range(13)]
    revenue = [float(((cum[k] - cum[k - 1]) * spend).sum()) for k in range(1, 13)]
    return {'total': round(float(clv.sum()), 1), 'top': int((tiers == 2).sum()),
            'forecast': round(sum(revenue), 1)}
"""

IN_MEMORY = """
cohort = clvlab.acquisition_cohorts(rfm)
codes, labels = pd.factorize(cohort, sort=True)
def job():
    frame, draws_ = clvlab.clv(bg, gg, rfm, return_draws=True, **settings)
    values = draws_.to_numpy().reshape(-1, draws_.sizes['customer_id'])
    edges = np.quantile(values, [0.5, 0.9], axis=1, method='inverted_cdf').T
    top = (values > edges[:, 1:2]).mean(axis=0)
    mid = ((values > edges[:, 0:1]) & (values <= edges[:, 1:2])).mean(axis=0)
    sums = np.stack([values[:, codes == g].sum(axis=1) for g in range(len(labels))], axis=1)
    return {'total': round(float(frame['estimate'].sum()), 1),
            'top_mean': round(float(top.mean()), 4), 'mid_mean': round(float(mid.mean()), 4),
            'groups': len(sums.T)}
"""


def _section(
    title: str, rfm: str, draws: str, end: str, *, in_memory: bool, predictive: bool
) -> None:
    setup = SETUP.format(rfm=rfm, draws=draws, end=end)
    # untimed: the first call after installation compiles clvlab's series once
    measure("warm-up", setup + CLV)
    base = measure("clvlab clv (intervals)", setup + CLV)
    rows: list[Measurement] = [base]
    for name, code in JOBS.items():
        if "predictive" in name and not predictive:
            continue
        rows.append(measure(f"clvlab {name}", setup + code))
    rows.append(measure("clvlab clv + decide(all) + simple formula", setup + ALL))
    rows.append(
        measure("peer: lifetimes + pandas (point estimates only)", setup + LIFETIMES_PANDAS)
    )
    if in_memory:
        rows.append(measure("peer: draws in memory + NumPy/pandas", setup + IN_MEMORY))
    print(f"\n## {title}\n")
    print(table(rows, base.name))
    added = sum(r.seconds for r in rows[1:] if r.name.startswith("clvlab ") and "all" not in r.name)
    every = next(r for r in rows if "decide(all)" in r.name)
    print(
        f"\nsum of the decision jobs: {added:.1f} s; clv + all decisions in one process: "
        f"{every.seconds:.1f} s, i.e. {every.seconds - base.seconds:.1f} s on top of the CLV"
    )
    for r in rows:
        print(f"- {r.name}: {r.result}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--skip-predictive", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rfm_path, draws_path = str(Path(tmp) / "cdnow.parquet"), str(Path(tmp) / "d.npz")
        rfm = clvlab.rfm_summary(
            clvlab.datasets.load_cdnow_master(),
            monetary_value_col="spend",
            calibration_end="1997-09-30",
            observation_end="1998-06-30",
        )
        rfm = rfm[~((rfm["frequency"] > 0) & (rfm["monetary_value"] <= 0))]
        rfm[["frequency", "recency", "T", "monetary_value"]].to_parquet(rfm_path)
        _draws(rfm_path, draws_path, 2, 1000)
        _section(
            "Full CDNOW, 23,569 customers, 2,000 draws, 12 months",
            rfm_path,
            draws_path,
            "1997-09-30",
            in_memory=True,
            predictive=not args.skip_predictive,
        )
        if args.skip_large:
            return
        log = clvlab.simulate_transactions(
            1_000_000, acquisition_periods=52, observation_periods=52, seed=2026
        )
        end = log.attrs["clvlab"]["observation_end"]
        big = clvlab.rfm_summary(
            log, monetary_value_col="spend", observation_end=end, resolution="W"
        )
        del log
        big = big[~((big["frequency"] > 0) & (big["monetary_value"] <= 0))]
        big_path, big_draws = str(Path(tmp) / "big.parquet"), str(Path(tmp) / "big.npz")
        big[["frequency", "recency", "T", "monetary_value"]].to_parquet(big_path)
        _draws(big_path, big_draws, 1, 1000)
        _section(
            "1M simulated customers, 52 weeks, weekly resolution, 1,000 draws, 12 months",
            big_path,
            big_draws,
            str(end),
            in_memory=False,
            predictive=not args.skip_predictive,
        )


if __name__ == "__main__":
    main()
