"""Benchmark: Pareto/NBD NUTS on the compiled-graph route, cold and warm, with its peer.

For the CDNOW sample (2,357 customers) and, unless ``--skip-large``, full CDNOW (23,570
customers, calibration to 1997-09-30), the default fit ``ParetoNBD().fit(method="nuts")``
(2 chains x (1,000 tune + 1,000 draws), nutpie) runs twice, each in a fresh process:

1. **cold**: with empty compile caches (``CLVLAB_CACHE_DIR`` and pytensor's
   ``base_compiledir`` in a new temporary folder), so the graph, its gradient and the C
   callback are compiled, as on the first fit of a model structure on a machine;
2. **warm**: the same caches, as on every later fit of that structure; then warm fits
   with seeds 2 to ``--seeds`` (3 by default), because the ESS varies from seed to seed;
3. on the sample, a cold and a warm fit with pymc-marketing's default priors
   (``Weibull(2, 1)`` shapes, ``Weibull(2, 10)`` scales): the peer's posterior, so
   its ESS compares directly with the peer's.

Each row gives the wall time of the fit (PyMC, arviz and nutpie imported before it, as
pymc-marketing is for the peer), the CPU time of one log-density and gradient
through the C callback, the gradient evaluations in the draws, and the minimum bulk and
tail ESS. pymc-marketing 0.19's ``ParetoNBDModel`` (the peer) runs on the sample in the
same run, 2 x (1,000 + 1,000), stopped after ``--peer-limit`` seconds (its time is then
a lower bound). Requires the ``bench`` extra (pymc-marketing).

    python benchmarks/bench_pareto_nuts.py [--skip-large] [--skip-peer] [--peer-limit S]
                                           [--seeds N]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import clvlab
from _harness import Measurement, measure
from bench_family import PEER_PARETO

SETUP = """
import time, warnings
warnings.simplefilter('ignore')
import numpy as np
import clvlab
import arviz, nutpie, pymc  # the libraries, imported outside the timing (as the peer's)
from clvlab.inference import bayes
from clvlab.inference.graph_kernel import graph_kernel
if {full!r}:
    rfm = clvlab.rfm_summary(clvlab.datasets.load_cdnow_master(), monetary_value_col='spend',
                             calibration_end='1997-09-30', observation_end='1998-06-30')
else:
    rfm = clvlab.datasets.load_cdnow_summary()
def job():
    started = time.perf_counter()
    fit = clvlab.ParetoNBD(priors={priors}).fit(rfm, method='nuts', seed={seed}, progress=False)
    fit_s = time.perf_counter() - started
    model = clvlab.ParetoNBD(priors={priors})
    data = model.prepare(rfm)
    kernel = graph_kernel(bayes.build_pymc_model(model, data, model._priors(data)),
                          model.param_names)
    u = np.log(fit.params_['estimate'].to_numpy())
    cpu = []
    for _ in range(5):
        t0 = time.process_time()
        for _ in range(100):
            kernel.log_density(u)
        cpu.append((time.process_time() - t0) / 100)
    d = fit.fit_info_['diagnostics']
    return {{'rows': len(data), 'route': fit.fit_info_['log_density'],
             'fit_s': round(fit_s, 1), 'ms_per_gradient': round(1e3 * min(cpu), 3),
             'gradients_in_draws': int(fit.idata_.sample_stats['n_steps'].sum()),
             'ess_bulk': round(d['min_ess_bulk']), 'ess_tail': round(d['min_ess_tail']),
             'r_hat': round(d['max_r_hat'], 3),
             'means': fit.params_['estimate'].round(3).to_dict()}}
"""

#: pymc-marketing 0.19's default priors of ParetoNBDModel
PEER_PRIORS = (
    "{'r': clvlab.Prior('Weibull', alpha=2, beta=1), "
    "'alpha': clvlab.Prior('Weibull', alpha=2, beta=10), "
    "'s': clvlab.Prior('Weibull', alpha=2, beta=1), "
    "'beta': clvlab.Prior('Weibull', alpha=2, beta=10)}"
)


def _row(m: Measurement, peer: Measurement | None) -> str:
    r = m.result
    if r.get("timed_out"):
        return f"| {m.name} | > {m.seconds:.0f} (stopped) | | | | | |"
    fit = r.get("fit_s", m.seconds)
    ratio = f"{peer.seconds / fit:.1f}x" if peer is not None else ""
    if peer is not None and peer.result.get("timed_out"):
        ratio = ">= " + ratio  # the peer was stopped: its time is a lower bound
    return (
        f"| {m.name} | {fit:.1f} | {r.get('ms_per_gradient', '')} | "
        f"{r.get('gradients_in_draws', '')} | {r['ess_bulk']} / {r['ess_tail']} | "
        f"{r['r_hat']} | {ratio} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--peer-limit", type=float, default=600.0)
    parser.add_argument(
        "--seeds", type=int, default=3, help="warm fits with seeds 1..N (ESS varies by seed)"
    )
    args = parser.parse_args()
    cases = [("CDNOW sample", False)]
    if not args.skip_large:
        cases.append(("full CDNOW", True))
    header = (
        "| job | fit s | ms per gradient | gradients in draws | min ESS bulk / tail "
        "| max r_hat | peer time / this |\n|---|---:|---:|---:|---:|---:|---:|"
    )
    peer = None
    if not args.skip_peer:
        with tempfile.TemporaryDirectory() as tmp:
            sample = str(Path(tmp) / "sample.parquet")  # the table clvlab fits
            clvlab.datasets.load_cdnow_summary().to_parquet(sample)
            peer = measure(
                "pymc-marketing ParetoNBDModel, CDNOW sample",
                PEER_PARETO.format(path=sample),
                timeout=args.peer_limit,
            )
    for name, full in cases:
        with tempfile.TemporaryDirectory() as tmp:
            saved = {k: os.environ.get(k) for k in ("CLVLAB_CACHE_DIR", "PYTENSOR_FLAGS")}
            os.environ["CLVLAB_CACHE_DIR"] = str(Path(tmp) / "clvlab")
            os.environ["PYTENSOR_FLAGS"] = f"base_compiledir={Path(tmp) / 'pytensor'}"
            try:
                rows = [
                    measure(
                        f"clvlab ParetoNBD NUTS, {name}, {state}",
                        SETUP.format(full=full, seed=1, priors=None),
                    )
                    for state in ("cold", "warm")
                ]
                rows += [
                    measure(
                        f"clvlab ParetoNBD NUTS, {name}, warm, seed {seed}",
                        SETUP.format(full=full, seed=seed, priors=None),
                    )
                    for seed in range(2, args.seeds + 1)
                ]
                if not full:  # the peer's own priors: the same posterior, so the same ESS
                    rows += [
                        measure(
                            f"clvlab ParetoNBD NUTS, {name}, pymc-marketing's priors, {state}",
                            SETUP.format(full=full, seed=1, priors=PEER_PRIORS),
                        )
                        for state in ("cold", "warm")
                    ]
            finally:
                for k, v in saved.items():
                    if v is None:
                        os.environ.pop(k, None)
                    else:
                        os.environ[k] = v
        print(f"\n## {name}\n\n{header}")
        compared = peer if (peer is not None and not full) else None
        for m in rows:
            print(_row(m, compared))
        if compared is not None:
            print(_row(compared, None))
        for m in [*rows, *([compared] if compared else [])]:
            print(f"- {m.name}: {m.result}")


if __name__ == "__main__":
    main()
