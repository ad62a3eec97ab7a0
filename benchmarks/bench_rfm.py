"""Benchmark: transaction log -> RFM summary, clvlab against lifetimes.

A simulated log of about 10M transactions from 1M customers (52 weeks) is written to
Parquet once; each library then summarises it in a fresh process, in the same run.

    python benchmarks/bench_rfm.py [--customers 1000000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import clvlab
from _harness import measure, table

LOAD = """
import pandas as pd
log = pd.read_parquet({path!r})
END = {end!r}
"""

CLVLAB = (
    LOAD
    + """
import clvlab
def job():
    rfm = clvlab.rfm_summary(log, 'customer_id', 'date', 'spend', time_unit='D',
                             observation_end=END)
    return {{'customers': len(rfm), 'repeat': int(rfm['frequency'].sum())}}
"""
)

LIFETIMES = (
    LOAD
    + """
import warnings
with warnings.catch_warnings():
    warnings.simplefilter('ignore')
    from lifetimes.utils import summary_data_from_transaction_data
def job():
    rfm = summary_data_from_transaction_data(log, 'customer_id', 'date', 'spend',
                                             observation_period_end=END, freq='D')
    return {{'customers': len(rfm), 'repeat': int(rfm['frequency'].sum())}}
"""
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "log.parquet")
        log = clvlab.simulate_transactions(
            args.customers,
            r=2.6,
            alpha=5.0,
            a=0.5,
            b=6.0,
            acquisition_periods=52,
            observation_periods=52,
            seed=2026,
        )
        end = log.attrs["clvlab"]["observation_end"]
        log.to_parquet(path)
        print(f"log: {len(log):,} transactions, {args.customers:,} customers")
        del log
        rows = [
            measure(
                "lifetimes summary_data_from_transaction_data", LIFETIMES.format(path=path, end=end)
            ),
            measure("clvlab rfm_summary", CLVLAB.format(path=path, end=end)),
        ]
    assert rows[0].result == rows[1].result, (rows[0].result, rows[1].result)
    print(table(rows, baseline=rows[0].name))


if __name__ == "__main__":
    main()
