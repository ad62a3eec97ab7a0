"""Benchmark: exporting 1M customers' predictions, clvlab.export against plain pandas.

The peer is what an analyst would write by hand: ``DataFrame.to_parquet``, ``to_csv``
and ``to_sql`` of the same customer table (in one piece, no run history, no atomic
replace). clvlab streams chunks of 100,000 customers into a temporary file (or one
transaction) and keeps other runs' rows. "job's own MB" is the memory on top of the
loaded predictions (about 100 MB for 1M customers x 12 floats): a value below that size
means the export never held a second full copy.

    python benchmarks/bench_export.py [--customers N]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _harness import measure, table

SETUP = """
import sys, warnings
warnings.simplefilter('ignore')
sys.path.insert(0, {root!r})
from tests.export.fake import fake_predictions
import clvlab
predictions = fake_predictions({n}, 'bench')
out = {out!r}
"""

JOBS = {
    "parquet": (
        "def job():\n    frame = predictions.table.reset_index()\n"
        "    frame.to_parquet(out + '/pandas.parquet', index=False)\n    return {}",
        "def job():\n    clvlab.export(predictions, out + '/clvlab.parquet')\n    return {}",
    ),
    "csv": (
        "def job():\n    predictions.table.to_csv(out + '/pandas.csv')\n    return {}",
        "def job():\n    clvlab.export(predictions, out + '/clvlab.csv')\n    return {}",
    ),
    "sqlite": (
        "import sqlalchemy as sa\n"
        "def job():\n    engine = sa.create_engine('sqlite:///' + out + '/pandas.db')\n"
        "    predictions.table.to_sql('clv', engine, chunksize=100_000)\n"
        "    engine.dispose()\n    return {}",
        "def job():\n    clvlab.export(predictions, 'sqlite:///' + out + '/clvlab.db')\n"
        "    return {}",
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    root = str(Path(__file__).resolve().parents[1])
    with tempfile.TemporaryDirectory() as out:
        setup = SETUP.format(root=root, n=args.customers, out=out)
        for target, (peer, ours) in JOBS.items():
            rows = [
                measure(f"pandas {target}", setup + peer),
                measure(f"clvlab.export {target}", setup + ours),
            ]
            print(f"\n### {target}, {args.customers:,} customers\n")
            print(table(rows, f"pandas {target}"))


if __name__ == "__main__":
    main()
