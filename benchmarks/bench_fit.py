"""Benchmark: BG/NBD fits, clvlab against pymc-marketing and lifetimes, in one run.

1. Full CDNOW (23,570 customers, weekly, calibration to 1997-09-30): NUTS, 2 chains of
   1,000 tune + 1,000 draws, clvlab (PyMC sampler and nutpie) against pymc-marketing's
   ``BetaGeoModel``: wall time, minimum bulk ESS, ESS per second, posterior means.
2. 1M simulated customers, 52 weeks, weekly resolution: MLE (clvlab, folded) against
   lifetimes (unfolded), and clvlab's NUTS fit; the number of folded rows.

Each job runs in a fresh process. Requires the ``bench`` extra (pymc-marketing).

    python benchmarks/bench_fit.py [--skip-large]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import clvlab
from _harness import Measurement, measure, table

CDNOW = """
import warnings
warnings.simplefilter('ignore')
import pandas as pd
rfm = pd.read_parquet({path!r})
"""

CLVLAB_NUTS = (
    CDNOW
    + """
import clvlab
import nutpie, arviz  # the sampler libraries, imported outside the timing as pymc is below
def job():
    m = clvlab.BetaGeo().fit(rfm, method='nuts', draws=1000, tune=1000, chains=2, seed=1,
                             sampler={sampler!r}, progress=False)
    d = m.fit_info_['diagnostics']
    return {{'ess_bulk': d['min_ess_bulk'], 'r_hat': d['max_r_hat'],
             'means': m.params_['estimate'].round(4).to_dict(), 'rows': m.n_rows_}}
"""
)

PYMC_MARKETING = (
    CDNOW
    + """
import arviz as az
from pymc_marketing.clv import BetaGeoModel
data = rfm.reset_index().rename(columns={{rfm.index.name: 'customer_id'}})
data = data[['customer_id', 'frequency', 'recency', 'T']]
def job():
    model = BetaGeoModel(data=data)
    model.fit(fit_method='mcmc', draws=1000, tune=1000, chains=2, cores=2, random_seed=1,
              progressbar=False)
    s = az.summary(model.idata, var_names=['r', 'alpha', 'a', 'b'], kind='all')
    return {{'ess_bulk': float(s['ess_bulk'].min()), 'r_hat': float(s['r_hat'].max()),
             'means': s['mean'].round(4).to_dict(), 'rows': len(data)}}
"""
)

# One short fit of each library first, untimed: compiled code is cached on disk by both
# (pytensor's C cache for pymc-marketing, numba's cache for clvlab's kernels), so the
# timed runs compare fits, not one-off compilation. clvlab's first fit after
# installation compiles its kernels once (about 5 s).
WARM_UP = {
    "clvlab": CDNOW
    + """
import clvlab
def job():
    clvlab.BetaGeo().fit(rfm, method='nuts', draws=20, tune=20, chains=1, progress=False)
    return {{}}
""",
    "pymc-marketing": CDNOW
    + """
from pymc_marketing.clv import BetaGeoModel
data = rfm.reset_index().rename(columns={{rfm.index.name: 'customer_id'}})
def job():
    BetaGeoModel(data=data[['customer_id', 'frequency', 'recency', 'T']]).fit(
        fit_method='mcmc', draws=20, tune=20, chains=1, progressbar=False)
    return {{}}
""",
}

LARGE = """
import warnings
warnings.simplefilter('ignore')
import pandas as pd
rfm = pd.read_parquet({path!r})
"""

CLVLAB_MLE = (
    LARGE
    + """
import clvlab
def job():
    m = clvlab.BetaGeo().fit(rfm, seed=1, progress=False)
    return {{'rows': m.n_rows_, 'means': m.params_['estimate'].round(4).to_dict()}}
"""
)

LIFETIMES_MLE = (
    LARGE
    + """
from lifetimes import BetaGeoFitter
def job():
    f = BetaGeoFitter().fit(rfm['frequency'], rfm['recency'], rfm['T'])
    return {{'rows': len(rfm), 'means': f.params_.round(4).to_dict()}}
"""
)


def _ess_table(rows: list[Measurement], baseline: str) -> str:
    ref = next(r for r in rows if r.name == baseline)
    ref_rate = float(ref.result["ess_bulk"]) / ref.seconds  # type: ignore[arg-type]
    lines = [
        "| job | seconds | min bulk ESS | ESS/s | max r_hat | speed-up | ESS/s ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ess = float(r.result["ess_bulk"])  # type: ignore[arg-type]
        lines.append(
            f"| {r.name} | {r.seconds:.1f} | {ess:.0f} | {ess / r.seconds:.1f} | "
            f"{r.result['r_hat']} | {ref.seconds / r.seconds:.1f}x | "
            f"{ess / r.seconds / ref_rate:.1f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cdnow = str(Path(tmp) / "cdnow.parquet")
        clvlab.rfm_summary(
            clvlab.datasets.load_cdnow_master(),
            monetary_value_col="spend",
            calibration_end="1997-09-30",
            observation_end="1998-06-30",
        )[["frequency", "recency", "T"]].to_parquet(cdnow)
        for name, setup in WARM_UP.items():
            measure(f"warm-up {name}", setup.format(path=cdnow))
        rows = [
            measure("pymc-marketing BetaGeoModel NUTS", PYMC_MARKETING.format(path=cdnow)),
            measure("clvlab BetaGeo NUTS (pymc)", CLVLAB_NUTS.format(path=cdnow, sampler="pymc")),
            measure(
                "clvlab BetaGeo NUTS (nutpie)", CLVLAB_NUTS.format(path=cdnow, sampler="nutpie")
            ),
        ]
        print("## Full CDNOW, 23,570 customers, NUTS 2 x (1,000 tune + 1,000 draws)\n")
        print(_ess_table(rows, rows[0].name))
        for r in rows:
            print(f"- {r.name}: posterior means {r.result['means']}, rows {r.result['rows']}")
        if args.skip_large:
            return
        large = str(Path(tmp) / "large.parquet")
        log = clvlab.simulate_transactions(
            1_000_000, acquisition_periods=52, observation_periods=52, seed=2026
        )
        clvlab.rfm_summary(
            log, observation_end=log.attrs["clvlab"]["observation_end"], resolution="W"
        ).to_parquet(large)
        del log
        mle_rows = [
            measure("lifetimes BetaGeoFitter (unfolded)", LIFETIMES_MLE.format(path=large)),
            measure("clvlab BetaGeo MLE + Laplace (folded)", CLVLAB_MLE.format(path=large)),
        ]
        print("\n## 1M simulated customers, 52 weeks, weekly resolution: MLE\n")
        print(table(mle_rows, mle_rows[0].name))
        for r in mle_rows:
            print(f"- {r.name}: {r.result}")
        nuts = measure(
            "clvlab BetaGeo NUTS (nutpie)", CLVLAB_NUTS.format(path=large, sampler="nutpie")
        )
        print("\n## 1M simulated customers: NUTS 2 x (1,000 tune + 1,000 draws)\n")
        print(
            f"- {nuts.name}: {nuts.seconds:.1f} s, {nuts.result['rows']} folded rows, "
            f"min bulk ESS {nuts.result['ess_bulk']}, max r_hat {nuts.result['r_hat']}, "
            f"peak {nuts.peak_mb:.0f} MB"
        )


if __name__ == "__main__":
    main()
