"""Command-line interface. Thin: it parses arguments and calls the public API."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]

DEMO_CALIBRATION_END = "1997-09-30"
DEMO_OBSERVATION_END = "1998-06-30"


def _demo(args: argparse.Namespace) -> int:
    from clvlab.demo import run_demo

    run_demo(Path(args.out), progress=not args.no_progress, quick=args.quick)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from clvlab.bench import run_bench

    run_bench(args.config, progress=not args.no_progress)
    return 0


def _run(args: argparse.Namespace) -> int:
    from clvlab.pipeline import PipelineSettings, read_transactions, run_pipeline

    settings = PipelineSettings(
        customer_col=args.customer_col,
        date_col=args.date_col,
        amount_col=args.amount_col,
        calibration_end=args.calibration_end,
        observation_end=args.observation_end,
        time_unit=args.time_unit,
        purchase_model=args.purchase_model,
        spend_model=args.spend_model,
        method=args.method,
        horizon=args.horizon,
        horizon_unit=args.horizon_unit,
        discount_rate=args.discount_rate,
        ci_prob=args.ci_prob,
        seed=args.seed,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        run_id=args.run_id,
        long=args.long,
        table_prefix=args.table_prefix,
        progress=not args.no_progress,
    )
    run_pipeline(read_transactions(args.transactions), args.out, settings)
    return 0


RUN_EXAMPLES = """\
examples:
  # MLE fit, 12-month CLV, to a Parquet file (plus predictions_runs.parquet, ...)
  clvlab run sales.csv --customer-col customer_id --date-col order_date \\
      --amount-col revenue --calibration-end 2025-06-30 --out predictions.parquet

  # Bayesian fit (NUTS), 24 months at 1%/month, into the embedded SQLite database
  clvlab run sales.parquet --customer-col cid --date-col day --amount-col value \\
      --method nuts --horizon 24 --discount-rate 0.01 --out sqlite:///clv.db

  # PostgreSQL, replacing the rows of run "2025-q3" if it was exported before
  clvlab run sales.csv --customer-col cid --date-col day --amount-col value \\
      --run-id 2025-q3 --out postgresql://user:password@db.example.com:5432/analytics

Tables written: customers (one row per customer: CLV, expected purchases, P(alive),
expected spend, each with estimate/lower/upper), runs (one row per run: models,
parameters, data period, version), parameters, and with --long the long format. Re-using
a run id replaces that run's rows; a new run id appends. Schema: see the README.
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``clvlab`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="clvlab",
        description="Probabilistic customer-lifetime-value modelling.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n  clvlab demo --out results/\n"
            "  clvlab run sales.csv --customer-col id --date-col day --amount-col value "
            "--out clv.parquet\n"
            "  clvlab bench benchmarks/model_comparison.toml\n"
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="run the main job on the bundled CDNOW data",
        description=(
            "Summarise the full CDNOW log (23,570 customers) with calibration to "
            f"{DEMO_CALIBRATION_END}, fit the models and write per-customer results."
        ),
    )
    demo.add_argument("--out", default="results", help="output folder (default: results)")
    demo.add_argument("--no-progress", action="store_true", help="hide progress bars")
    demo.add_argument("--quick", action="store_true", help="small draw counts, for smoke tests")
    demo.set_defaults(func=_demo)
    bench = sub.add_parser(
        "bench",
        help="run (or resume) a model-comparison benchmark from a TOML config",
        description=(
            "Fit and evaluate every (dataset, seed, model) cell of CONFIG on the holdout, "
            "each in a fresh process. Finished cells are kept in OUTPUT/cells/ and skipped "
            "on a re-run, so an interrupted run resumes. Writes results.csv and results.md."
        ),
    )
    bench.add_argument("config", help="TOML config (see clvlab.bench for the format)")
    bench.add_argument("--no-progress", action="store_true", help="hide progress bars")
    bench.set_defaults(func=_bench)

    run = sub.add_parser(
        "run",
        help="transactions -> RFM -> fit -> CLV with intervals -> export, in one command",
        description=(
            "Summarise a transaction log (one row per purchase), fit the purchase and "
            "spend models, predict CLV, expected purchases, P(alive) and expected spend "
            "with intervals for every customer, and export them for BI tools."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=RUN_EXAMPLES,
    )
    run.add_argument("transactions", help="transaction log, .csv or .parquet")
    data = run.add_argument_group("input columns and periods")
    data.add_argument("--customer-col", required=True, help="customer id column")
    data.add_argument("--date-col", required=True, help="purchase date column")
    data.add_argument("--amount-col", required=True, help="purchase value column")
    data.add_argument(
        "--calibration-end",
        help="last day used for fitting (default: the last transaction; then no holdout)",
    )
    data.add_argument(
        "--observation-end", help="last day observed (default: the last transaction date)"
    )
    data.add_argument(
        "--time-unit",
        default="W",
        choices=["D", "W", "M"],
        help="time unit of the model (default: W, weeks)",
    )
    model = run.add_argument_group("models and fitting")
    model.add_argument("--purchase-model", default="bgnbd", choices=["bgnbd"])
    model.add_argument("--spend-model", default="gamma-gamma", choices=["gamma-gamma"])
    model.add_argument(
        "--method",
        default="mle",
        choices=["mle", "nuts", "advi", "map"],
        help="mle: maximum likelihood (lifetimes) with Laplace draws; nuts: Bayesian "
        "(nutpie); advi, map: fast approximations (default: mle)",
    )
    model.add_argument(
        "--draws",
        type=int,
        default=1000,
        help="NUTS draws per chain; mle, advi and map take draws x chains parameter draws "
        "(default: 1000)",
    )
    model.add_argument(
        "--tune", type=int, default=1000, help="NUTS tuning steps per chain (default: 1000)"
    )
    model.add_argument("--chains", type=int, default=2, help="NUTS chains (default: 2)")
    model.add_argument("--seed", type=int, default=0, help="seed of every random step")
    pred = run.add_argument_group("predictions")
    pred.add_argument("--horizon", type=float, default=12.0, help="CLV horizon (default: 12)")
    pred.add_argument(
        "--horizon-unit", default="M", choices=["D", "W", "M", "Y"], help="(default: M)"
    )
    pred.add_argument(
        "--discount-rate", type=float, default=0.0, help="per horizon unit (default: 0)"
    )
    pred.add_argument(
        "--ci-prob", type=float, default=0.9, help="interval probability (default: 0.9)"
    )
    output = run.add_argument_group("output")
    output.add_argument(
        "--out",
        required=True,
        help="predictions.parquet, predictions.csv, sqlite:///file.db or "
        "postgresql://user:password@host:port/db",
    )
    output.add_argument("--run-id", help="run identifier (default: a new UUID)")
    output.add_argument("--long", action="store_true", help="also write the long format")
    output.add_argument(
        "--table-prefix", default="clv", help="SQL table name prefix (default: clv)"
    )
    output.add_argument("--no-progress", action="store_true", help="hide progress bars")
    run.set_defaults(func=_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``clvlab`` command. clvlab's own errors are printed as one
    line (exit code 2); anything else is a bug and keeps its traceback."""
    from clvlab.errors import ClvlabError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ClvlabError as exc:
        print(f"clvlab {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
