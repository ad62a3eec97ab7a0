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


def build_parser() -> argparse.ArgumentParser:
    """The ``clvlab`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="clvlab",
        description="Probabilistic customer-lifetime-value modelling.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "examples:\n  clvlab demo --out results/\n"
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``clvlab`` command."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
