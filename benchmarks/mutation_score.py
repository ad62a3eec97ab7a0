"""Print the mutation score of ``make mutation``, per mutated file.

mutmut (3.x) keeps one result per mutant in ``mutants/<source file>.meta`` (a JSON
object whose ``exit_code_by_key`` maps each mutant's name to the exit code of its test
run) and writes the totals to ``mutants/mutmut-cicd-stats.json`` with
``mutmut export-cicd-stats``. This script reads the ``.meta`` files found beside that
JSON file and prints, per file and in total: killed, survived, timeout, no tests, other
(suspicious, segfault, skipped, not checked) and the score.

Score = (killed + timeout) / (all mutants that were run: everything but "not checked"
and "skipped"). A timeout counts as detected: the tests did not pass. A mutant with no
tests counts as not detected.

Usage::

    python benchmarks/mutation_score.py mutants/mutmut-cicd-stats.json [--survivors]
        [--fail-under PERCENT]

``--survivors`` also lists the name of every surviving mutant (show one with
``mutmut show NAME``); ``--fail-under`` exits with status 1 when the total score is lower.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

#: mutmut's exit codes (mutmut/stats.py ``status_by_exit_code``), grouped for the table
_STATUS = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    2: "other",  # interrupted by the user
    34: "skipped",
    35: "other",  # suspicious
    36: "timeout",
    37: "killed",  # caught by the type checker
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    -11: "other",  # segfault
    -9: "other",  # killed by a signal (mutmut calls it a segfault)
}
COLUMNS = ("killed", "survived", "timeout", "no tests", "other")


def status(exit_code: int | None) -> str:
    """The table column for one mutant's exit code (``None``: not run yet)."""
    if exit_code is None:
        return "not checked"
    return _STATUS.get(exit_code, "other")


def score(counts: Counter[str]) -> float:
    """Per cent of the run mutants that the tests detected (killed or timed out)."""
    run = sum(counts[c] for c in COLUMNS)
    return 100.0 * (counts["killed"] + counts["timeout"]) / run if run else float("nan")


def read_results(mutants_dir: Path) -> dict[str, dict[str, int | None]]:
    """``{source file: {mutant name: exit code}}`` from the ``.meta`` files."""
    results: dict[str, dict[str, int | None]] = {}
    for meta in sorted(mutants_dir.rglob("*.py.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        codes = data.get("exit_code_by_key", {})
        if codes:
            results[str(meta.relative_to(mutants_dir))[: -len(".meta")]] = codes
    return results


def table(results: dict[str, dict[str, int | None]]) -> tuple[str, Counter[str]]:
    """The score table as text, and the total counts."""
    width = max([len("file"), len("total"), *map(len, results)])
    head = f"{'file':<{width}}" + "".join(f"{c:>10}" for c in COLUMNS) + f"{'score %':>10}"
    lines = [head, "-" * len(head)]
    total: Counter[str] = Counter()
    for path, codes in results.items():
        counts = Counter(status(code) for code in codes.values())
        total.update(counts)
        lines.append(
            f"{path:<{width}}"
            + "".join(f"{counts[c]:>10}" for c in COLUMNS)
            + f"{score(counts):>10.1f}"
        )
    lines.append("-" * len(head))
    lines.append(
        f"{'total':<{width}}"
        + "".join(f"{total[c]:>10}" for c in COLUMNS)
        + f"{score(total):>10.1f}"
    )
    if total["not checked"] or total["skipped"]:
        lines.append(
            f"(not in the score: {total['not checked']} not checked, {total['skipped']} skipped)"
        )
    return "\n".join(lines), total


def main(argv: list[str] | None = None) -> int:
    """Print the table; return 1 when ``--fail-under`` is given and not met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stats", type=Path, help="mutants/mutmut-cicd-stats.json")
    parser.add_argument("--survivors", action="store_true", help="list surviving mutants")
    parser.add_argument("--fail-under", type=float, default=None, metavar="PERCENT")
    args = parser.parse_args(argv)
    if not args.stats.is_file():
        print(f"{args.stats} not found: run `mutmut run` and `mutmut export-cicd-stats` first")
        return 2
    mutants_dir = args.stats.parent
    results = read_results(mutants_dir)
    if not results:
        print(f"no mutmut results (*.py.meta) under {mutants_dir}: run `mutmut run` first")
        return 2
    text, total = table(results)
    print(text)
    totals = json.loads(args.stats.read_text(encoding="utf-8"))
    print(
        f"mutmut totals ({args.stats.name}): killed {totals.get('killed')}, "
        f"survived {totals.get('survived')}, timeout {totals.get('timeout')}, "
        f"no tests {totals.get('no_tests')}, total {totals.get('total')}"
    )
    if args.survivors:
        print("\nsurviving mutants (mutmut show NAME):")
        for codes in results.values():
            for name, code in sorted(codes.items()):
                if status(code) == "survived":
                    print(f"  {name}")
    if args.fail_under is not None and not score(total) >= args.fail_under:
        print(f"score {score(total):.1f}% is below {args.fail_under}%")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
