"""Benchmark: 12-month CLV with intervals, clvlab against pymc-marketing and lifetimes.

1. Full CDNOW (23,570 customers, weekly, calibration to 1997-09-30) with 2,000 parameter
   draws (2 chains x 1,000), the *same* draws for both libraries: pymc-marketing's
   ``GammaGammaModel.expected_customer_lifetime_value`` (which averages the spend draws
   away) against :func:`clvlab.clv` (which pairs them).
2. 1M simulated customers, 52 weeks, weekly resolution, 1,000 draws: clvlab's CLV
   summaries with intervals against lifetimes' point-only ``customer_lifetime_value``.

Each job runs in a fresh process; peak memory is per job.

    python benchmarks/bench_clv.py [--skip-large]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import clvlab
from _harness import measure, table

SETUP = """
import warnings
warnings.simplefilter('ignore')
import numpy as np, pandas as pd
rfm = pd.read_parquet({rfm!r})
rfm.attrs['clvlab'] = {{'time_unit': 'W'}}
draws = dict(np.load({draws!r}))
"""

CLVLAB = (
    SETUP
    + """
import clvlab
from clvlab.inference.draws import draws_from_arrays
bg = clvlab.BetaGeo().fit(rfm, progress=False, n_draws=10)
gg = clvlab.GammaGamma().fit(rfm, progress=False, n_draws=10)
bg.draws_ = draws_from_arrays({{k: draws[k] for k in bg.param_names}})
gg.draws_ = draws_from_arrays({{k: draws[k] for k in gg.param_names}})
def job():
    out = clvlab.clv(bg, gg, rfm, horizon=12, unit='M', discount_rate=0.01)
    return {{'total': round(float(out['estimate'].sum()), 1), 'rows': len(out)}}
"""
)

PYMC_MARKETING = (
    SETUP
    + """
import arviz as az
from pymc_marketing.clv import BetaGeoModel, GammaGammaModel
data = rfm.reset_index().rename(columns={{rfm.index.name: 'customer_id'}})
bg = BetaGeoModel(data=data[['customer_id', 'frequency', 'recency', 'T']])
bg.build_model()
bg.idata = az.from_dict(posterior={{k: draws[k] for k in ('r', 'alpha', 'a', 'b')}})
gg = GammaGammaModel(data=data[['customer_id', 'frequency', 'monetary_value']])
gg.build_model()
gg.idata = az.from_dict(posterior={{k: draws[k] for k in ('p', 'q', 'v')}})
def job():
    clv = gg.expected_customer_lifetime_value(bg, data.copy(), future_t=12, discount_rate=0.01,
                                              time_unit='W')
    return {{'total': round(float(clv.mean(('chain', 'draw')).sum()), 1), 'rows': len(data)}}
"""
)

LIFETIMES = (
    SETUP
    + """
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
bgf, ggf = BetaGeoFitter(), GammaGammaFitter()
bgf.params_ = pd.Series({{k: float(np.median(draws[k])) for k in ('r', 'alpha', 'a', 'b')}})
ggf.params_ = pd.Series({{k: float(np.median(draws[k])) for k in ('p', 'q', 'v')}})
bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time  # set by fit()
def job():
    clv = ggf.customer_lifetime_value(bgf, rfm['frequency'], rfm['recency'], rfm['T'],
                                      rfm['monetary_value'], time=12, discount_rate=0.01,
                                      freq='W')
    return {{'total': round(float(clv.sum()), 1), 'rows': len(clv)}}
"""
)


def _draws(rfm_path: str, path: str, n_chains: int, n_draws: int) -> None:
    import pandas as pd

    rfm = pd.read_parquet(rfm_path)
    bg = clvlab.BetaGeo().fit(rfm, seed=1, progress=False, n_draws=n_chains * n_draws)
    gg = clvlab.GammaGamma().fit(rfm, seed=2, progress=False, n_draws=n_chains * n_draws)
    arrays = {}
    for model in (bg, gg):
        for name in model.param_names:
            arrays[name] = model.draws_[name].to_numpy().reshape(n_chains, n_draws)
    np.savez(path, **arrays)


def _positive_spend(rfm):  # type: ignore[no-untyped-def]
    return rfm[~((rfm["frequency"] > 0) & (rfm["monetary_value"] <= 0))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rfm_path, draws_path = str(Path(tmp) / "cdnow.parquet"), str(Path(tmp) / "d.npz")
        rfm = clvlab.rfm_summary(
            clvlab.datasets.load_cdnow_master(),
            monetary_value_col="spend",
            calibration_end="1997-09-30",
            observation_end="1998-06-30",
        )
        _positive_spend(rfm)[["frequency", "recency", "T", "monetary_value"]].to_parquet(rfm_path)
        _draws(rfm_path, draws_path, 2, 1000)
        # untimed: the first call after installation compiles clvlab's CLV series once
        # (numba caches it on disk), as a first fit compiles its kernels
        measure("warm-up clvlab", CLVLAB.format(rfm=rfm_path, draws=draws_path))
        rows = [
            measure(
                "pymc-marketing expected_customer_lifetime_value",
                PYMC_MARKETING.format(rfm=rfm_path, draws=draws_path),
            ),
            measure(
                "clvlab clv (paired draws, intervals)",
                CLVLAB.format(rfm=rfm_path, draws=draws_path),
            ),
        ]
        print("## Full CDNOW (23,569 customers with positive spend), 2,000 draws, 12 months\n")
        print(table(rows, rows[0].name))
        for r in rows:
            print(f"- {r.name}: {r.result}")
        if args.skip_large:
            return
        log = clvlab.simulate_transactions(
            1_000_000, acquisition_periods=52, observation_periods=52, seed=2026
        )
        big = clvlab.rfm_summary(
            log,
            monetary_value_col="spend",
            observation_end=log.attrs["clvlab"]["observation_end"],
            resolution="W",
        )
        del log
        big_path, big_draws = str(Path(tmp) / "big.parquet"), str(Path(tmp) / "big.npz")
        big[["frequency", "recency", "T", "monetary_value"]].to_parquet(big_path)
        _draws(big_path, big_draws, 1, 1000)
        rows = [
            measure(
                "lifetimes customer_lifetime_value (point only)",
                LIFETIMES.format(rfm=big_path, draws=big_draws),
            ),
            measure(
                "clvlab clv (1,000 draws, intervals)", CLVLAB.format(rfm=big_path, draws=big_draws)
            ),
        ]
        print("\n## 1M simulated customers, 52 weeks, weekly resolution, 12 months\n")
        print(table(rows, rows[0].name))
        for r in rows:
            print(f"- {r.name}: {r.result}")


if __name__ == "__main__":
    main()
