"""Benchmark: discrete-time and contractual models (BG/BB, sBG), with their peers.

1. BG/BB on the donations data (11,104 donors, 6 annual opportunities, 22 folded rows):
   clvlab's ``BetaGeoBetaBinom`` by ``"mle"``, ``"nuts"`` and ``"map"``; lifetimes'
   ``BetaGeoBetaBinomFitter`` (the same folded rows with weights); pymc-marketing's
   ``BetaGeoBetaBinomModel`` by MCMC (PyMC's NUTS and nutpie) and MAP, on one row per
   donor (its data format). Estimates against Fader, Hardie & Shang (2010).
2. sBG on Fader & Hardie (2007) Table 1, years 0-7, per cohort ("regular", "high end")
   and both cohorts in one call: clvlab's ``ShiftedBetaGeo`` by ``"mle"``, ``"nuts"``
   and ``"map"``; pymc-marketing's ``ShiftedBetaGeoModel`` by MCMC and MAP (one row
   per customer, churn period as ``recency``, survivors censored). Estimates against the
   paper.

NUTS everywhere: ``--chains`` chains x (``--tune`` + ``--draws``), chains in parallel on
up to ``--chains`` cores (clvlab chooses its workers itself: one per chain and core).
Every library keeps its default priors. Each job runs in a fresh process, imports its
libraries before the clock starts, then fits ``1 + --repeats`` times: the first fit
("first") pays whatever the process has not loaded yet (numba's cached machine code,
pytensor's compilation of the model), the later ones ("warm", their median) do not.
``--cold`` adds one clvlab NUTS job per model on an empty numba cache (what the first fit
after installation costs); that cache lives under ``benchmarks/results/`` and is removed
afterwards. Nothing else is written. Requires the ``bench`` extra (pymc-marketing).

    python benchmarks/bench_discrete.py [--quick] [--repeats N] [--cold]
                                        [--parts bgbb sbg] [--peer-limit S]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
from importlib.metadata import version
from pathlib import Path
from typing import Any

from _harness import Measurement, measure

RESULTS = Path(__file__).resolve().parent / "results"
#: Seconds past ``--peer-limit`` before the harness kills a job that did not stop itself.
BACKSTOP = 120.0

#: Fader, Hardie & Shang (2010), donations data, 6 calibration years.
BGBB_PUBLISHED = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
BGBB_PARAMS = tuple(BGBB_PUBLISHED)
#: Fader & Hardie (2007), Table 1 fitted on years 0-7, per cohort.
SBG_PUBLISHED = {
    "regular": {"alpha": 0.704, "beta": 1.182},
    "high_end": {"alpha": 0.668, "beta": 3.806},
}
SBG_PARAMS = ("alpha", "beta")

HEAD = """
import os
{env}
import warnings
warnings.simplefilter('ignore')
import time
import numpy as np
import pandas as pd
import clvlab
{imports}
SETTINGS = dict(draws={draws}, tune={tune}, chains={chains})
REPEATS = {repeats}

LIMIT = {limit}

class _Stop(Exception):
    pass

def _stop(*_):
    raise _Stop

def job():
    # The time limit is kept here, in the job's own process: the sampler then stops its
    # chain processes itself (a kill from outside would leave them running).
    import signal
    times, out = [], {{}}
    signal.signal(signal.SIGALRM, _stop)
    signal.setitimer(signal.ITIMER_REAL, LIMIT)
    try:
        for _ in range(1 + REPEATS):
            t0 = time.perf_counter()
            out = fit()
            times.append(time.perf_counter() - t0)
    except _Stop:
        return {{'stopped': LIMIT, 'repeats': REPEATS, 'first': times[0] if times else None,
                'warm': times[1:]}}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return {{'first': times[0], 'warm': times[1:], **out}}

def clvlab_result(fits, names):
    out = {{'estimates': {{c: m.params_['estimate'].round(4).to_dict() for c, m in fits.items()}}}}
    ess = [m.fit_info_['diagnostics'] for m in fits.values() if 'diagnostics' in m.fit_info_]
    if ess:
        out['ess_bulk'] = min(d['min_ess_bulk'] for d in ess)
        out['r_hat'] = max(d['max_r_hat'] for d in ess)
    out['how'] = sorted({{str(m.fit_info_.get('log_density', m.method_)) for m in fits.values()}})
    return out

def peer_result(idata, names, cohorts=None):
    import arviz as az
    post = idata.posterior
    if cohorts is None:
        est = {{'all': {{n: round(float(post[n].mean()), 4) for n in names}}}}
    else:
        est = {{str(c): {{n: round(float(post[n].sel(cohort=c).mean()), 4) for n in names}}
               for c in cohorts}}
    out = {{'estimates': est}}
    if post.sizes['draw'] > 1:
        s = az.summary(idata, var_names=list(names), kind='diagnostics')
        out['ess_bulk'] = float(s['ess_bulk'].min())
        out['r_hat'] = float(s['r_hat'].max())
    return out
"""

DONATIONS = """
rows = clvlab.datasets.load_donations()
rfm = rows.loc[rows.index.repeat(rows['weight'])].rename(columns={'periods': 'T'})
rfm = rfm[['frequency', 'recency', 'T']].reset_index(drop=True)
rfm.attrs['clvlab'] = {'kind': 'discrete', 'time_unit': 'Y'}
"""

CLVLAB_BGBB = """
def fit():
    m = clvlab.BetaGeoBetaBinom().fit(rfm, method={method!r}, seed=1, progress=False,
                                      **SETTINGS)
    return clvlab_result({{'all': m}}, {names!r})
"""

LIFETIMES_BGBB = """
def fit():
    f = BetaGeoBetaBinomFitter().fit(rows['frequency'], rows['recency'], rows['periods'],
                                      weights=rows['weight'])
    return {{'estimates': {{'all': {{k: round(float(v), 4) for k, v in f.params_.items()}}}}}}
"""

PEER_BGBB = """
data = rfm.assign(customer_id=np.arange(len(rfm)))[['customer_id', 'frequency', 'recency', 'T']]
def fit():
    m = BetaGeoBetaBinomModel()
    if {method!r} == 'map':
        m.fit(data=data, method='map', progressbar=False)
    else:
        m.fit(data=data, method='mcmc', nuts_sampler={sampler!r}, cores=SETTINGS['chains'],
              random_seed=1, progressbar=False, **SETTINGS)
    return peer_result(m.idata, {names!r})
"""

COHORTS = """
cohorts = clvlab.datasets.load_retention_cohorts()
names = {cohorts!r}
table = clvlab.cohort_histories(cohorts[names], periods=7)
"""

CLVLAB_SBG = """
def fit():
    fits = clvlab.ShiftedBetaGeo().fit_cohorts(table, method={method!r}, seed=1,
                                               progress=False, **SETTINGS)
    return clvlab_result(fits, {params!r})
"""

# pymc-marketing's sBG wants one row per customer: ``recency`` is the period of
# cancellation (x + 1 for a customer who renewed x times), survivors have recency = T and
# are censored there (P(churn period >= T)), so T is one more than the periods observed.
PEER_SBG = """
one = table.loc[table.index.repeat(table['weight'])].reset_index(drop=True)
data = pd.DataFrame({{'customer_id': np.arange(len(one)), 'recency': one['frequency'] + 1,
                     'T': one['T'] + 1, 'cohort': one['cohort'].astype(str)}})
def fit():
    m = ShiftedBetaGeoModel()
    if {method!r} == 'map':
        m.fit(data=data, method='map', progressbar=False)
    else:
        m.fit(data=data, method='mcmc', nuts_sampler={sampler!r}, cores=SETTINGS['chains'],
              random_seed=1, progressbar=False, **SETTINGS)
    return peer_result(m.idata, {params!r}, cohorts=names)
"""

CLVLAB_IMPORTS = "import nutpie, arviz  # the sampler libraries, imported outside the timing"
PEER_BGBB_IMPORTS = (
    "import pymc, nutpie, arviz\nfrom pymc_marketing.clv import BetaGeoBetaBinomModel"
)
PEER_SBG_IMPORTS = "import pymc, nutpie, arviz\nfrom pymc_marketing.clv import ShiftedBetaGeoModel"


def _setup(
    args: argparse.Namespace, imports: str, *parts: str, env: str = "", limit: float = 0.0
) -> str:
    """The job's code; ``limit`` > 0 stops its fits after that many seconds."""
    head = HEAD.format(
        env=env,
        imports=imports,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        repeats=args.repeats,
        limit=limit,
    )
    return head + "".join(parts)


def _times(r: Measurement) -> tuple[float, float, bool, bool]:
    """First and warm (median) fit seconds, and whether each is only a lower bound (the
    job was stopped at its limit: the time shown is how long that fit had run)."""
    if r.result.get("timed_out"):  # killed by the harness's backstop
        return r.seconds, float("nan"), True, False
    limit = r.result.get("stopped")
    first, warm = r.result.get("first"), list(r.result.get("warm", []))  # type: ignore[call-overload]
    if first is None:
        return float(limit), float("nan"), True, False  # type: ignore[arg-type]
    if limit is not None and len(warm) < int(r.result.get("repeats", 1)):  # type: ignore[call-overload]
        return float(first), float(limit) - float(first) - sum(warm), False, True  # type: ignore[arg-type]
    return float(first), float(statistics.median(warm)) if warm else float("nan"), False, False  # type: ignore[arg-type]


def _show(value: float, bound: bool) -> str:
    if value != value:
        return "–"
    return f"> {value:.0f} (stopped)" if bound else f"{value:.2f}"


def _fit_table(
    rows: list[Measurement], params: tuple[str, ...], published: dict[str, float]
) -> str:
    """One row per job: first and warm fit times, memory, sampler diagnostics, estimates."""
    lines = [
        "| job | first fit s | warm fit s | peak MB | min bulk ESS | max r_hat | "
        + " | ".join(params)
        + " |",
        "|---|---:|---:|---:|---:|---:|" + "---:|" * len(params),
        "| published | | | | | | " + " | ".join(f"{published[p]:.3f}" for p in params) + " |",
    ]
    for r in rows:
        first, warm, first_bound, warm_bound = _times(r)
        est = next(iter(r.result.get("estimates", {"": {}}).values()))  # type: ignore[attr-defined]
        ess = r.result.get("ess_bulk")
        lines.append(
            f"| {r.name} | {_show(first, first_bound)} | {_show(warm, warm_bound)} | "
            f"{r.peak_mb:.0f} | {'' if ess is None else f'{ess:.0f}'} | "
            f"{r.result.get('r_hat', '')} | "
            + " | ".join(f"{est[p]:.3f}" if p in est else "" for p in params)
            + " |"
        )
    return "\n".join(lines)


def _ratio(ours: float, peer: float, peer_bound: bool, *, speed_up: bool) -> str:
    """clvlab / peer time, or the peer / clvlab speed-up; a bound when the peer stopped."""
    if ours != ours or peer != peer:
        return "–"
    if speed_up:
        return f"{'> ' if peer_bound else ''}{peer / ours:.1f}x"
    return f"{'< ' if peer_bound else ''}{ours / peer:.3f}"


def _ratio_table(pairs: list[tuple[Measurement, Measurement]]) -> str:
    """clvlab against its peer, fit by fit: time ratio and speed-up, first and warm."""
    lines = [
        "| clvlab | peer | clvlab s (first / warm) | peer s (first / warm) | "
        "clvlab / peer time (warm) | speed-up peer / clvlab (warm) | speed-up (first) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for ours, peer in pairs:
        first_o, warm_o, _, _ = _times(ours)
        first_p, warm_p, first_bound, warm_bound = _times(peer)
        lines.append(
            f"| {ours.name} | {peer.name} | {_show(first_o, False)} / {_show(warm_o, False)} | "
            f"{_show(first_p, first_bound)} / {_show(warm_p, warm_bound)} | "
            f"{_ratio(warm_o, warm_p, warm_bound, speed_up=False)} | "
            f"{_ratio(warm_o, warm_p, warm_bound, speed_up=True)} | "
            f"{_ratio(first_o, first_p, first_bound, speed_up=True)} |"
        )
    return "\n".join(lines)


def _cold_env(tag: str) -> tuple[str, Path]:
    cache = RESULTS / f"numba-cold-{tag}-{os.getpid()}"
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    return f"os.environ['NUMBA_CACHE_DIR'] = {str(cache)!r}", cache


#: pymc-marketing's runs per model: its NUTS (own sampler and nutpie) and its MAP
PEER_RUNS = (("mcmc", "pymc"), ("mcmc", "nutpie"), ("map", "pymc"))


def _peer_runs(
    args: argparse.Namespace,
    model: str,
    imports: str,
    data: str,
    body: str,
    suffix: str = "",
    **fields: Any,
) -> dict[tuple[str, str], Measurement]:
    """pymc-marketing's ``model`` by each of :data:`PEER_RUNS`, stopped at the limit;
    ``body`` is formatted with ``method``, ``sampler`` and ``fields``."""
    return {
        (method, sampler): measure(
            f"pymc-marketing {model} {method}"
            + (f" ({sampler})" if method == "mcmc" else "")
            + suffix,
            _setup(
                args,
                imports,
                data,
                body.format(method=method, sampler=sampler, **fields),
                limit=args.peer_limit,
            ),
            timeout=args.peer_limit + BACKSTOP,
        )
        for method, sampler in PEER_RUNS
    }


def _cold_run(args: argparse.Namespace, name: str, tag: str, data: str, body: str) -> Measurement:
    """One clvlab fit on an empty numba cache (removed afterwards)."""
    env, cache = _cold_env(tag)
    try:
        return measure(name, _setup(args, CLVLAB_IMPORTS, data, body, env=env))
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _bgbb_section(args: argparse.Namespace) -> None:
    names = BGBB_PARAMS
    clv = {
        method: measure(
            f"clvlab BetaGeoBetaBinom {method}",
            _setup(
                args,
                CLVLAB_IMPORTS,
                DONATIONS,
                CLVLAB_BGBB.format(method=method, names=names),
            ),
        )
        for method in ("mle", "nuts", "map")
    }
    lifetimes = measure(
        "lifetimes BetaGeoBetaBinomFitter (folded, weights)",
        _setup(
            args,
            "from lifetimes import BetaGeoBetaBinomFitter",
            DONATIONS,
            LIFETIMES_BGBB.format(),
        ),
    )
    peer = _peer_runs(
        args,
        "BetaGeoBetaBinomModel",
        PEER_BGBB_IMPORTS,
        DONATIONS,
        PEER_BGBB,
        names=names,
    )
    rows = [*clv.values(), lifetimes, *peer.values()]
    if args.cold:
        rows.append(
            _cold_run(
                args,
                "clvlab BetaGeoBetaBinom nuts, empty numba cache",
                "bgbb",
                DONATIONS,
                CLVLAB_BGBB.format(method="nuts", names=names),
            )
        )
    print(
        f"\n## BG/BB on donations: 11,104 donors, 22 folded rows; NUTS {args.chains} x "
        f"({args.tune:,} tune + {args.draws:,} draws)\n"
    )
    print(_fit_table(rows, names, BGBB_PUBLISHED))
    print()
    print(
        _ratio_table(
            [
                (clv["mle"], lifetimes),
                (clv["nuts"], peer[("mcmc", "pymc")]),
                (clv["nuts"], peer[("mcmc", "nutpie")]),
                (clv["map"], peer[("map", "pymc")]),
            ]
        )
    )
    for r in rows:
        print(f"- {r.name}: {r.result}")


def _sbg_section(args: argparse.Namespace) -> None:
    params = SBG_PARAMS
    groups = {"regular": ["regular"], "high_end": ["high_end"], "both": ["regular", "high_end"]}
    pairs: list[tuple[Measurement, Measurement]] = []
    print(
        f"\n## sBG on Fader & Hardie (2007) Table 1, years 0-7, 1,000 customers per cohort; "
        f"NUTS {args.chains} x ({args.tune:,} tune + {args.draws:,} draws)\n"
    )
    for group, cohorts in groups.items():
        data = COHORTS.format(cohorts=cohorts)
        clv = {
            method: measure(
                f"clvlab ShiftedBetaGeo {method} ({group})",
                _setup(args, CLVLAB_IMPORTS, data, CLVLAB_SBG.format(method=method, params=params)),
            )
            for method in ("mle", "nuts", "map")
        }
        peer = _peer_runs(
            args,
            "ShiftedBetaGeoModel",
            PEER_SBG_IMPORTS,
            data,
            PEER_SBG,
            f" ({group})",
            params=params,
        )
        rows = [*clv.values(), *peer.values()]
        if args.cold and group == "regular":
            rows.append(
                _cold_run(
                    args,
                    f"clvlab ShiftedBetaGeo nuts ({group}), empty numba cache",
                    "sbg",
                    data,
                    CLVLAB_SBG.format(method="nuts", params=params),
                )
            )
        pairs += [
            (clv["nuts"], peer[("mcmc", "pymc")]),
            (clv["nuts"], peer[("mcmc", "nutpie")]),
            (clv["map"], peer[("map", "pymc")]),
        ]
        for cohort in cohorts:
            label = group if group == cohort else f"{group}, {cohort}"
            print(f"### {label}\n")
            print(_fit_table(_for_cohort(rows, cohort), params, SBG_PUBLISHED[cohort]))
            print()
        for r in rows:
            print(f"- {r.name}: {r.result}")
        print()
    print("### clvlab against pymc-marketing, per call\n")
    print(_ratio_table(pairs))


def _for_cohort(rows: list[Measurement], cohort: str) -> list[Measurement]:
    """The rows with only ``cohort``'s estimates, for the per-cohort estimate table."""
    out = []
    for r in rows:
        estimates = r.result.get("estimates")
        if isinstance(estimates, dict):
            r = Measurement(
                r.name,
                r.seconds,
                r.peak_mb,
                r.increment_mb,
                {**r.result, "estimates": {cohort: estimates[cohort]}},
            )
        out.append(r)
    return out


def _machine() -> str:
    versions = ", ".join(
        f"{name} {version(name)}"
        for name in ("clvlab", "pymc-marketing", "pymc", "pytensor", "nutpie", "numba", "lifetimes")
    )
    return (
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {versions}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny draws, for a smoke run")
    parser.add_argument("--repeats", type=int, default=1, help="warm fits after the first")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--peer-limit", type=float, default=600.0)
    parser.add_argument("--cold", action="store_true", help="add runs on an empty numba cache")
    parser.add_argument("--parts", nargs="*", default=["bgbb", "sbg"], choices=["bgbb", "sbg"])
    args = parser.parse_args()
    if args.repeats < 0:
        parser.error("--repeats must be >= 0")
    if args.quick:
        args.draws, args.tune = 50, 50
    print(_machine())
    print(
        f"settings: {args.chains} chains x ({args.tune} tune + {args.draws} draws), "
        f"1 first fit + {args.repeats} warm fit(s) per job, default priors everywhere"
    )
    if "bgbb" in args.parts:
        _bgbb_section(args)
    if "sbg" in args.parts:
        _sbg_section(args)


if __name__ == "__main__":
    main()
