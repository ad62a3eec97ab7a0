"""Command-line interface. Thin: it parses arguments and calls the public API."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from clvlab.errors import ClvlabError, DataQualityWarning

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
    from clvlab.pipeline import PipelineSettings, run_file

    settings = PipelineSettings(
        customer_col=args.customer_col,
        date_col=args.date_col,
        amount_col=args.amount_col,
        date_format=args.date_format,
        dayfirst=args.dayfirst,
        date_unit=args.date_unit,
        calibration_end=args.calibration_end,
        observation_end=args.observation_end,
        time_unit=args.time_unit,
        purchase_model=args.purchase_model,
        spend_model=args.spend_model,
        method=args.method,
        uncertainty=args.uncertainty,
        n_bootstrap=args.n_bootstrap,
        penalizer=args.penalizer,
        horizon=args.horizon,
        horizon_unit=args.horizon_unit,
        discount_rate=args.discount_rate,
        margin=args.margin,
        ci_prob=args.ci_prob,
        seed=args.seed,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        run_id=args.run_id,
        long=args.long,
        table_prefix=args.table_prefix,
        progress=not args.no_progress,
        drop_invalid=args.drop_invalid,
        point_estimates_only=args.point_estimates_only,
        segments=args.segments or args.tiers is not None or args.thresholds is not None,
        tiers=args.tiers,
        thresholds=args.thresholds,
        group_by=args.group_by,
        forecast=args.forecast or args.new_customers is not None,
        new_customers=args.new_customers,
        cac=args.cac,
    )
    if args.engine == "spark":
        from clvlab._imports import require

        require("pyspark", extra="spark")
        from clvlab.spark.job import run_spark

        run_spark(args.transactions, args.out, settings).unpersist()
        return 0
    run_file(args.transactions, args.out, settings)
    return 0


RUN_EXAMPLES = """\
examples:
  # MLE fit, 12-month CLV at 1%/month, to a Parquet file (plus predictions_runs.parquet, ...)
  clvlab run sales.csv --customer-col customer_id --date-col order_date \\
      --amount-col revenue --calibration-end 2025-06-30 --out predictions.parquet

  # Bayesian fit (NUTS), 24 months at 30% margin, into the embedded SQLite database
  clvlab run sales.parquet --customer-col cid --date-col day --amount-col value \\
      --method nuts --horizon 24 --margin 0.3 --out sqlite:///clv.db

  # a real log with some bad rows: drop them and report how many per rule
  clvlab run sales.csv --customer-col cid --date-col day --amount-col value \\
      --drop-invalid --out predictions.csv

  # PostgreSQL, replacing the rows of run "2025-q3" if it was exported before
  clvlab run sales.csv --customer-col cid --date-col day --amount-col value \\
      --run-id 2025-q3 --out postgresql://user:password@db.example.com:5432/analytics

  # on Apache Spark: a folder of Parquet files in, a Parquet folder out
  clvlab run lake/sales/ --engine spark --customer-col cid --date-col day \\
      --amount-col value --out clv_scores/

  # the decisions: value tiers, CLV by channel, a revenue forecast and CAC per channel
  clvlab run sales.csv --customer-col cid --date-col day --amount-col value \\
      --segments --group-by channel --forecast --cac cac_by_channel.csv --out clv.parquet

Tables written: customers (one row per customer: CLV, expected purchases, P(alive),
expected spend, each with estimate/lower/upper, and the simple-formula and historic
CLV), runs (one row per run: models, parameters, data period, version), parameters,
with --long the long format, and with the decision options the segments,
segment_probabilities, groups, group_differences, forecast and acquisition tables.

The target is checked before any work (format, folder, database connection and
credentials). The default run id is derived from the file name, the data and the
settings, so running the same command again replaces its own run; other data or
settings add a new run. Re-using a --run-id replaces that run's rows.

A fit whose intervals are not finite (a degenerate maximum-likelihood optimum) stops
the run with exit code 2 and nothing is exported; --point-estimates-only exports the
point estimates with empty (NULL) intervals instead. Errors are one line, exit code 2.
Schema: see the README.
"""


class _UsageError(Exception):
    """A command line that argparse cannot parse; reported by :func:`main` in one line."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage dump) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise _UsageError(self.prog, message)


def _units(value: str) -> str:
    return value.upper()


def _numbers(value: str) -> tuple[float, ...]:
    """A comma-separated list of numbers (``0,0.5,0.9,1``)."""
    try:
        return tuple(float(part) for part in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, such as 0,0.5,0.9,1, got {value!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    """The ``clvlab`` argument parser."""
    from clvlab.models.base import METHODS
    from clvlab.models.purchase import purchase_models

    parser = _Parser(
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
            f"{DEMO_CALIBRATION_END}, fit the models by MLE and NUTS, predict 12-month CLV "
            "(1% a month discount) with 90% intervals and write the results."
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
    run.add_argument(
        "transactions",
        help="transaction log, .csv or .parquet (with --engine spark also a folder of them)",
    )
    run.add_argument(
        "--engine",
        default="pandas",
        choices=["pandas", "spark"],
        help="pandas: everything in this process (default); spark: summarise, fold and "
        "score on Apache Spark (a local session; needs the spark extra), fit here. With "
        "spark, an --out without a .parquet/.csv suffix is a Parquet folder",
    )
    data = run.add_argument_group("input columns and periods")
    data.add_argument("--customer-col", required=True, help="customer id column")
    data.add_argument("--date-col", required=True, help="purchase date column")
    data.add_argument("--amount-col", required=True, help="purchase value column")
    data.add_argument(
        "--date-format",
        help="format of text dates, e.g. %%d/%%m/%%Y (needed when dates are ambiguous)",
    )
    order = data.add_mutually_exclusive_group()
    order.add_argument(
        "--dayfirst",
        dest="dayfirst",
        action="store_const",
        const=True,
        default=None,
        help="text dates such as 01/02/2020 are day first (1 February)",
    )
    order.add_argument(
        "--monthfirst",
        dest="dayfirst",
        action="store_const",
        const=False,
        help="text dates such as 01/02/2020 are month first (2 January)",
    )
    data.add_argument(
        "--date-unit",
        choices=["s", "ms", "us", "ns", "D"],
        help="unit of numeric dates since 1970-01-01 (Unix seconds: s); yyyymmdd numbers "
        "need --date-format %%Y%%m%%d instead",
    )
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
        type=_units,
        choices=["D", "W", "M", "Q", "Y"],
        help="time unit of the model: D, W, M, Q or Y (default: W, weeks); for a "
        "discrete-time purchase model (bgbb) the opportunity: one per day, week, month, "
        "quarter or year",
    )
    data.add_argument(
        "--drop-invalid",
        action="store_true",
        help="drop rows that break a data rule (null id, bad date, negative amount, ...) "
        "and report the count per rule, instead of stopping at the first rule broken",
    )
    model = run.add_argument_group("models and fitting")
    model.add_argument(
        "--purchase-model",
        default="bgnbd",
        choices=sorted(purchase_models()),
        help="bgnbd: BG/NBD; mbgnbd: MBG/NBD (may drop out at the first purchase); "
        "pnbd: Pareto/NBD (may drop out at any time) (default: bgnbd)",
    )
    model.add_argument(
        "--spend-model", default="gamma_gamma", choices=["gamma_gamma", "gamma-gamma"]
    )
    model.add_argument(
        "--method",
        default="mle",
        choices=list(METHODS),
        help="mle: maximum likelihood (lifetimes) with Laplace or bootstrap draws; nuts: "
        "Bayesian (nutpie); advi, map: fast approximations (default: mle)",
    )
    model.add_argument(
        "--uncertainty",
        default="laplace",
        choices=["laplace", "bootstrap"],
        help="mle only: Laplace (normal) draws or a bootstrap of customers (default: laplace)",
    )
    model.add_argument(
        "--n-bootstrap",
        type=int,
        default=200,
        help="mle with --uncertainty bootstrap: number of refits (default: 200)",
    )
    model.add_argument(
        "--penalizer",
        type=float,
        default=0.0,
        help="mle only: L2 penalty on the parameters, >= 0 (default: 0)",
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
    model.add_argument("--seed", type=int, default=0, help="seed of every random step (default: 0)")
    pred = run.add_argument_group("predictions")
    pred.add_argument("--horizon", type=float, default=12.0, help="CLV horizon (default: 12)")
    pred.add_argument(
        "--horizon-unit",
        default="M",
        type=_units,
        choices=["D", "W", "M", "Q", "Y"],
        help="unit of --horizon and --discount-rate (default: M, months; for bgbb, the "
        "opportunity of --time-unit, e.g. Y)",
    )
    pred.add_argument(
        "--discount-rate",
        type=float,
        default=None,
        help="discount rate per --horizon-unit period, > -1 (default: 1%% a month, i.e. "
        "0.01 with months and its compound equivalent with another unit)",
    )
    pred.add_argument(
        "--margin", type=float, default=1.0, help="profit margin in (0, 1] (default: 1)"
    )
    pred.add_argument(
        "--ci-prob",
        type=float,
        default=0.9,
        help="interval probability, strictly between 0 and 1 (default: 0.9)",
    )
    pred.add_argument(
        "--point-estimates-only",
        action="store_true",
        help="export point estimates with empty (NULL) intervals; without it, a fit whose "
        "intervals are not finite stops the run",
    )
    decide = run.add_argument_group(
        "decisions (exported as the segments, groups, forecast and acquisition tables)"
    )
    decide.add_argument(
        "--segments",
        action="store_true",
        help="value tiers by CLV with each customer's probability of each tier, and the "
        "at-risk flag (default tiers: bottom 50%%, 50-90%%, top 10%%)",
    )
    decide.add_argument(
        "--tiers",
        type=_numbers,
        default=None,
        metavar="EDGES",
        help="tier edges as quantiles of CLV partitioning [0, 1], e.g. 0,0.5,0.9,1 "
        "(implies --segments)",
    )
    decide.add_argument(
        "--thresholds",
        type=_numbers,
        default=None,
        metavar="VALUES",
        help="tiers by CLV thresholds instead, e.g. 100,500 (implies --segments)",
    )
    decide.add_argument(
        "--group-by",
        default=None,
        metavar="COLUMN",
        help="compare CLV by a customer attribute column of the log (one value per "
        "customer, e.g. channel), or 'cohort' for the month of the first purchase",
    )
    decide.add_argument(
        "--forecast",
        action="store_true",
        help="revenue forecast per --horizon-unit period over the horizon",
    )
    decide.add_argument(
        "--new-customers",
        type=float,
        default=None,
        metavar="N",
        help="customers acquired per period, added to the forecast (implies --forecast)",
    )
    decide.add_argument(
        "--cac",
        default=None,
        metavar="VALUE_OR_CSV",
        help="customer acquisition cost: one number, or a CSV file with columns group,cac "
        "(e.g. per channel); reports CLV:CAC, payback and P(CLV > CAC) of a new customer",
    )
    output = run.add_argument_group("output")
    output.add_argument(
        "--out",
        required=True,
        help="predictions.parquet, predictions.csv, sqlite:///file.db or "
        "postgresql://user:password@host:port/db",
    )
    output.add_argument(
        "--run-id",
        help="run identifier (default: <file name>-<hash of the data and settings>, so "
        "the same command replaces its own run)",
    )
    output.add_argument("--long", action="store_true", help="also write the long format")
    output.add_argument(
        "--table-prefix", default="clv", help="SQL table name prefix (default: clv)"
    )
    output.add_argument("--no-progress", action="store_true", help="hide progress bars")
    run.set_defaults(func=_run)
    return parser


def _one_line(text: str) -> str:
    """``text`` on one line: its lines joined with ``; ``."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return "; ".join(lines)


def _warning_printer(command: str) -> Callable[..., None]:
    """A ``warnings.showwarning`` that prints clvlab's own warnings (data quality,
    sampling, a degenerate fit replaced by NUTS) as one line on standard error
    (``clvlab run: DataQualityWarning: ...``) and leaves others as they are."""
    default = warnings.showwarning

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if category.__module__.startswith("clvlab."):
            text = _one_line(str(message))
            print(f"clvlab {command}: {category.__name__}: {text}", file=sys.stderr, flush=True)
        else:
            default(message, category, filename, lineno, file, line)

    return show


def _own_warnings() -> tuple[type[Warning], ...]:
    from clvlab.errors import DegenerateFitWarning, SamplingWarning

    return (DataQualityWarning, SamplingWarning, DegenerateFitWarning)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``clvlab`` command.

    Bad command lines and clvlab's own errors are printed as one line on standard error
    (``clvlab run: error: ...``) and exit with code 2; anything else is a bug and keeps
    its traceback. clvlab's warnings (data quality, sampling) are printed as one line
    each.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        print(
            f"{exc.prog}: error: {_one_line(str(exc))} (see {exc.prog} --help)",
            file=sys.stderr,
        )
        return 2
    try:
        with warnings.catch_warnings():
            for category in _own_warnings():  # each one shown, as one line
                warnings.simplefilter("always", category)
            warnings.showwarning = _warning_printer(args.command)
            return int(args.func(args))
    except ClvlabError as exc:
        print(f"clvlab {args.command}: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
