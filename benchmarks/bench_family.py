"""Benchmark: the purchase-model family (BG/NBD, MBG/NBD, Pareto/NBD), with its peers.

1. CDNOW sample (2,357 customers): Pareto/NBD NUTS, 2 chains of 1,000 tune + 1,000 draws,
   clvlab (nutpie) against pymc-marketing's ``ParetoNBDModel`` (stopped after
   ``--peer-limit`` seconds, 600 by default; its time is then a lower bound).
2. Full CDNOW (23,570 customers): NUTS of each model in clvlab, wall time and ESS;
   MBG/NBD's time against BG/NBD's.
3. Full CDNOW: 12-month CLV with 90% intervals and 2,000 draws (MLE + Laplace) for each
   model, and the same per-customer point CLV by lifetimes.
4. 1M simulated customers, 52 weeks, weekly resolution: MLE of MBG/NBD and Pareto/NBD,
   clvlab (folded) against lifetimes' fitters (unfolded).

Each job runs in a fresh process. Requires the ``bench`` extra (pymc-marketing).

    python benchmarks/bench_family.py [--skip-peer-nuts] [--skip-large] [--peer-limit S]
                                      [--full-models bgnbd mbgnbd pnbd]
                                      [--parts sample full clv large]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import clvlab
from _harness import Measurement, measure, table

RFM = """
import warnings
warnings.simplefilter('ignore')
import pandas as pd
rfm = pd.read_parquet({path!r})
"""

CLASSES = {"bgnbd": "BetaGeo", "mbgnbd": "ModifiedBetaGeo", "pnbd": "ParetoNBD"}

CLVLAB_NUTS = (
    RFM
    + """
import clvlab
import nutpie, arviz  # the sampler libraries, imported outside the timing
def job():
    m = clvlab.{cls}().fit(rfm[['frequency', 'recency', 'T']], method='nuts', draws=1000,
                           tune=1000, chains=2, seed=1, progress=False)
    d = m.fit_info_['diagnostics']
    return {{'ess_bulk': d['min_ess_bulk'], 'r_hat': d['max_r_hat'],
             'means': m.params_['estimate'].round(4).to_dict(),
             'log_density': m.fit_info_.get('log_density')}}
"""
)

PEER_PARETO = (
    RFM
    + """
import arviz as az
from pymc_marketing.clv import ParetoNBDModel
data = rfm.reset_index().rename(columns={{rfm.index.name: 'customer_id'}})
data = data[['customer_id', 'frequency', 'recency', 'T']]
def job():
    model = ParetoNBDModel(data=data)
    model.fit(fit_method='mcmc', draws=1000, tune=1000, chains=2, cores=2, random_seed=1,
              progressbar=False)
    s = az.summary(model.idata, var_names=['r', 'alpha', 's', 'beta'], kind='all')
    return {{'ess_bulk': float(s['ess_bulk'].min()), 'ess_tail': float(s['ess_tail'].min()),
             'r_hat': float(s['r_hat'].max()), 'means': s['mean'].round(4).to_dict()}}
"""
)

CLVLAB_CLV = (
    RFM
    + """
import clvlab
m = clvlab.{cls}().fit(rfm, seed=1, progress=False, n_draws=2000)
gg = clvlab.GammaGamma().fit(rfm, seed=2, progress=False, n_draws=2000)
clvlab.clv(m, gg, rfm.iloc[:50], horizon=12, unit='M', seed=1)  # compiled code warmed
def job():
    c = clvlab.clv(m, gg, rfm, horizon=12, unit='M', discount_rate=0.01, seed=1)
    return {{'total': round(float(c['estimate'].sum()), 1),
             'total_interval': [round(c.attrs['clvlab']['total'][k], 1)
                                for k in ('lower', 'upper')]}}
"""
)

LIFETIMES_CLV = (
    RFM
    + """
from lifetimes import {fitter}, GammaGammaFitter
rep = rfm[rfm['frequency'] > 0]
f = {fitter}().fit(rfm['frequency'], rfm['recency'], rfm['T'])
g = GammaGammaFitter().fit(rep['frequency'], rep['monetary_value'])
def job():
    c = g.customer_lifetime_value(f, rfm['frequency'], rfm['recency'], rfm['T'],
                                  rfm['monetary_value'], time=12, freq='W',
                                  discount_rate=0.01)
    return {{'total': round(float(c.sum()), 1)}}
"""
)

MLE = (
    RFM
    + """
import clvlab
def job():
    m = clvlab.{cls}().fit(rfm, seed=1, progress=False)
    return {{'rows': m.n_rows_, 'means': m.params_['estimate'].round(4).to_dict()}}
"""
)

LIFETIMES_MLE = (
    RFM
    + """
from lifetimes import {fitter}
def job():
    f = {fitter}().fit(rfm['frequency'], rfm['recency'], rfm['T'])
    return {{'rows': len(rfm), 'means': {{k: round(float(v), 4) for k, v in f.params_.items()}}}}
"""
)

FITTERS = {"bgnbd": "BetaGeoFitter", "mbgnbd": "ModifiedBetaGeoFitter", "pnbd": "ParetoNBDFitter"}

WARM_UP = (
    RFM
    + """
import clvlab
def job():
    for cls in (clvlab.BetaGeo, clvlab.ModifiedBetaGeo, clvlab.ParetoNBD):
        cls().fit(rfm[['frequency', 'recency', 'T']].iloc[:300], method='nuts', draws=20,
                  tune=20, chains=1, progress=False)
    return {{}}
"""
)


def _ess_table(rows: list[Measurement], baseline: str) -> str:
    ref = next(r for r in rows if r.name == baseline)
    lines = [
        f"| job | seconds | min bulk ESS | ESS/s | max r_hat | time vs {baseline} |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r.result.get("timed_out"):
            lines.append(f"| {r.name} | > {r.seconds:.0f} (stopped) | | | | |")
            continue
        ess = float(r.result["ess_bulk"])  # type: ignore[arg-type]
        lines.append(
            f"| {r.name} | {r.seconds:.1f} | {ess:.0f} | {ess / r.seconds:.1f} | "
            f"{r.result['r_hat']} | {r.seconds / ref.seconds:.2f} |"
        )
    return "\n".join(lines)


def _rfm(log_loader: str, path: str) -> None:
    log = getattr(clvlab.datasets, log_loader)()
    rfm = clvlab.rfm_summary(
        log, monetary_value_col="spend", calibration_end="1997-09-30", observation_end="1998-06-30"
    )
    rfm[~((rfm["frequency"] > 0) & (rfm["monetary_value"] <= 0))].to_parquet(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-peer-nuts", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--peer-limit", type=float, default=600.0)
    parser.add_argument(
        "--parts",
        nargs="*",
        default=["sample", "full", "clv", "large"],
        choices=["sample", "full", "clv", "large"],
        help="sections to run (default: all)",
    )
    parser.add_argument("--large-models", nargs="*", default=["mbgnbd", "pnbd"])
    parser.add_argument("--full-models", nargs="*", default=list(CLASSES), choices=list(CLASSES))
    args = parser.parse_args()
    parts = set(args.parts)
    with tempfile.TemporaryDirectory() as tmp:
        sample, full = str(Path(tmp) / "sample.parquet"), str(Path(tmp) / "full.parquet")
        _rfm("load_cdnow_sample", sample)
        _rfm("load_cdnow_master", full)
        measure("warm-up", WARM_UP.format(path=sample))

        if "sample" in parts:
            _sample_section(sample, args.skip_peer_nuts, args.peer_limit)
        if "full" in parts:
            _full_section(full, tuple(args.full_models))
        if "clv" in parts:
            _clv_section(full)
        if "large" in parts and not args.skip_large:
            _large_section(
                str(Path(tmp) / "large.parquet"), tuple(args.large_models), args.peer_limit
            )


def _sample_section(sample: str, skip_peer: bool, peer_limit: float) -> None:
    rows = [measure("clvlab ParetoNBD NUTS", CLVLAB_NUTS.format(path=sample, cls="ParetoNBD"))]
    if not skip_peer:
        rows.append(
            measure(
                "pymc-marketing ParetoNBDModel NUTS",
                PEER_PARETO.format(path=sample),
                timeout=peer_limit,
            )
        )
    print("## CDNOW sample, 2,357 customers: Pareto/NBD NUTS 2 x (1,000 + 1,000)\n")
    print(_ess_table(rows, rows[0].name))
    for r in rows:
        print(f"- {r.name}: {r.result}")


def _full_section(full: str, models: tuple[str, ...]) -> None:
    rows = [
        measure(f"clvlab {CLASSES[name]} NUTS", CLVLAB_NUTS.format(path=full, cls=CLASSES[name]))
        for name in models
    ]
    print("\n## Full CDNOW, 23,570 customers: NUTS 2 x (1,000 + 1,000)\n")
    print(_ess_table(rows, rows[0].name))
    for r in rows:
        print(f"- {r.name}: {r.result}")


def _clv_section(full: str) -> None:
    print("\n## Full CDNOW: 12-month CLV, 1% a month, 90% intervals, 2,000 draws\n")
    for name, cls in CLASSES.items():
        clv_rows = [
            measure(
                f"lifetimes {FITTERS[name]} point CLV",
                LIFETIMES_CLV.format(path=full, fitter=FITTERS[name]),
            ),
            measure(f"clvlab {cls} CLV with intervals", CLVLAB_CLV.format(path=full, cls=cls)),
        ]
        print(table(clv_rows, clv_rows[0].name))
        for r in clv_rows:
            print(f"- {r.name}: {r.result}")
        print()


def _large_section(large: str, models: tuple[str, ...], peer_limit: float) -> None:
    log = clvlab.simulate_transactions(
        1_000_000, acquisition_periods=52, observation_periods=52, seed=2026
    )
    clvlab.rfm_summary(
        log, observation_end=log.attrs["clvlab"]["observation_end"], resolution="W"
    ).to_parquet(large)
    del log
    print("## 1M simulated customers, 52 weeks, weekly resolution: MLE\n")
    for name in models:
        mle_rows = [
            measure(
                f"lifetimes {FITTERS[name]} (unfolded)",
                LIFETIMES_MLE.format(path=large, fitter=FITTERS[name]),
                timeout=peer_limit,
            ),
            measure(
                f"clvlab {CLASSES[name]} MLE + Laplace (folded)",
                MLE.format(path=large, cls=CLASSES[name]),
            ),
        ]
        print(table(mle_rows, mle_rows[0].name))
        if mle_rows[0].result.get("timed_out"):
            print(f"- lifetimes was stopped after {peer_limit:.0f} s: its time is a lower bound")
        for r in mle_rows:
            print(f"- {r.name}: {r.result}")
        print()


if __name__ == "__main__":
    main()
