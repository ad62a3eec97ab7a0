"""The whole job on Spark (local[2]) against the pandas path, on a simulated log.

    python benchmarks/bench_spark.py --transactions 1000000 --customers 100000

The log is simulated with :func:`clvlab.simulate_transactions` in blocks of customers
and written block by block to a Parquet folder, so the driver never holds it whole.
Stages: RFM (weekly resolution, so that the purchase fold stays small: 16k rows at 1M
customers), fold (Gamma-Gamma on a seeded sample of 250,000 customers: monetary means
hardly fold), fit (MLE and NUTS), 12-month CLV with 90% intervals and 1,000 draws, write
Parquet. For each stage: its time and the driver's peak memory (the
driver's Python RSS and the JVM's, sampled with psutil over this process tree). The
pandas path (read, rfm_summary, fit, predict_customers, export) runs on the same log
unless --no-pandas; the table gives the ratios.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import psutil

import clvlab


class Peak:
    """Peak RSS of this Python process and of its child processes (the JVM, Spark's
    Python workers are its children) while a stage runs."""

    def __init__(self) -> None:
        self.me = psutil.Process()
        self.python = self.jvm = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.python = max(self.python, self.me.memory_info().rss)
            jvm = 0
            for child in self.me.children(recursive=True):
                try:
                    if "java" in child.name():
                        jvm += child.memory_info().rss
                except psutil.Error:
                    pass
            self.jvm = max(self.jvm, jvm)
            self._stop.wait(0.2)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def simulate(folder: Path, transactions: int, customers: int, seed: int) -> int:
    """Write about ``transactions`` purchases of ``customers`` customers, in blocks.

    BG/NBD purchasing at the CDNOW estimates except the rate ``r`` and the dropout
    ``b`` (ten times CDNOW's, so that heavy buyers keep buying), with ``r`` calibrated
    by pilots of 20,000 customers to the requested purchases per customer.
    """
    per_customer = max(transactions / customers, 1.0)
    r = 0.243
    for k in range(4):
        pilot = clvlab.simulate_transactions(20_000, r=r, b=24.26, seed=seed + 10_000 + k)
        r *= per_customer / (len(pilot) / 20_000)
    block, written, rng_seed = 200_000, 0, seed
    for start in range(0, customers, block):
        n = min(block, customers - start)
        log = clvlab.simulate_transactions(n, r=r, b=24.26, seed=rng_seed)
        log["customer_id"] = log["customer_id"].astype("int64") + start
        log[["customer_id", "date", "spend"] if "spend" in log else list(log.columns)].to_parquet(
            folder / f"part-{start // block:05d}.parquet", index=False
        )
        written += len(log)
        rng_seed += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--no-pandas", action="store_true")
    parser.add_argument("--no-nuts", action="store_true")
    parser.add_argument(
        "--driver-memory",
        default="2g",
        help="JVM heap of the local session (driver and, in local mode, its executors)",
    )
    args = parser.parse_args()

    from clvlab.spark import fold, predict_customers, rfm_summary, write_parquet
    from clvlab.spark._arrow import quiet
    from clvlab.spark.folding import PURCHASE_COLUMNS, SPEND_COLUMNS
    from clvlab.spark.session import local_session

    work = Path(tempfile.mkdtemp(prefix="clvlab-bench-spark-"))
    logs = work / "log"
    logs.mkdir()
    t0 = time.perf_counter()
    n_tx = simulate(logs, args.transactions, args.customers, seed=0)
    print(
        f"simulated {n_tx:,} transactions of {args.customers:,} customers in "
        f"{time.perf_counter() - t0:.0f} s -> {logs}"
    )
    first = next(iter(sorted(logs.iterdir())))
    import pandas as pd

    columns = list(pd.read_parquet(first).columns)
    amount = "spend" if "spend" in columns else columns[-1]

    rows: dict[str, dict[str, tuple[float, int, int]]] = {"spark": {}, "pandas": {}}

    def stage(engine: str, name: str, fn):  # type: ignore[no-untyped-def]
        with Peak() as peak:
            start = time.perf_counter()
            result = fn()
            seconds = time.perf_counter() - start
        rows[engine][name] = (seconds, peak.python, peak.jvm)
        print(
            f"{engine:6s} {name:10s} {seconds:8.1f} s  python {peak.python / 2**20:7.0f} MiB"
            f"  jvm {peak.jvm / 2**20:7.0f} MiB",
            flush=True,
        )
        return result

    spark = local_session(
        2,
        scratch=str(work / "scratch"),
        warehouse=str(work / "warehouse"),
        driver_memory=args.driver_memory,
    )
    sdf = spark.read.parquet(str(logs))

    def do_rfm():  # type: ignore[no-untyped-def]
        from pyspark import StorageLevel

        table = rfm_summary(
            sdf, "customer_id", "date", amount, time_unit="W", resolution="W"
        ).persist(StorageLevel.DISK_ONLY)  # as clvlab run --engine spark does
        table.count()  # materialised inside the stage
        return table

    rfm = stage("spark", "rfm", do_rfm)

    def do_fold():  # type: ignore[no-untyped-def]
        with quiet():
            return fold(rfm, PURCHASE_COLUMNS), fold(rfm, SPEND_COLUMNS, sample=250_000)

    purchase_rows, spend_rows = stage("spark", "fold", do_fold)
    methods = ["mle"] + ([] if args.no_nuts else ["nuts"])

    def fit_stages(engine: str, purchase_table, spend_table):  # type: ignore[no-untyped-def]
        """BG/NBD and Gamma-Gamma by each method, one timed stage per method; the MLE
        pair, which the scoring stage uses."""
        fits = {}
        for method in methods:
            kw = (
                {"n_draws": args.draws}
                if method == "mle"
                else {"draws": args.draws // 2, "tune": 500, "chains": 2}
            )
            fits[method] = stage(
                engine,
                f"fit {method}",
                lambda m=method, kw=kw: (
                    clvlab.BetaGeo().fit(purchase_table, m, seed=0, progress=False, **kw),
                    clvlab.GammaGamma().fit(spend_table, m, seed=0, progress=False, **kw),
                ),
            )
        return fits["mle"]

    bg, gg = fit_stages("spark", purchase_rows, spend_rows)
    preds = stage(
        "spark",
        "score",
        lambda: predict_customers(
            bg, gg, rfm, horizon=12, unit="M", discount_rate=0.01, seed=0, run_id="bench"
        ),
    )
    stage("spark", "write", lambda: write_parquet(preds, work / "scores"))
    print(f"customers {preds.run['customers']:,}; total CLV {preds.run['total_clv_estimate']:,.0f}")
    preds.unpersist()
    spark.stop()

    if not args.no_pandas:
        log = stage("pandas", "read", lambda: pd.read_parquet(logs))
        prfm = stage(
            "pandas",
            "rfm",
            lambda: clvlab.rfm_summary(
                log, "customer_id", "date", amount, time_unit="W", resolution="W"
            ),
        )
        del log
        bg, gg = fit_stages("pandas", prfm, prfm)
        ppreds = stage(
            "pandas",
            "score",
            lambda: clvlab.predict_customers(
                bg, gg, prfm, horizon=12, unit="M", discount_rate=0.01, seed=0, run_id="bench"
            ),
        )
        stage("pandas", "write", lambda: clvlab.export(ppreds, work / "pandas.parquet"))

    print()
    print(
        f"{'stage':10s} | {'spark s':>8s} | {'driver MiB (py+jvm)':>20s} | {'pandas s':>8s} | "
        f"{'pandas MiB':>10s} | {'spark/pandas':>12s}"
    )
    for name in ["read", "rfm", "fold", *(f"fit {m}" for m in methods), "score", "write"]:
        s = rows["spark"].get(name)
        p = rows["pandas"].get(name)
        cells = [
            f"{s[0]:8.1f}" if s else f"{'-':>8s}",
            f"{(s[1] + s[2]) / 2**20:20.0f}" if s else f"{'-':>20s}",
            f"{p[0]:8.1f}" if p else f"{'-':>8s}",
            f"{p[1] / 2**20:10.0f}" if p else f"{'-':>10s}",
            f"{s[0] / p[0]:12.2f}" if s and p and p[0] > 0 else f"{'-':>12s}",
        ]
        print(f"{name:10s} | " + " | ".join(cells))


if __name__ == "__main__":
    main()
