"""clvlab demo: its settings agree with the README and ``clvlab run``, and a bad output
folder is refused before any work. (The full demo runs in tests/test_cli.py, slow.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clvlab import demo
from clvlab.cli import main
from clvlab.pipeline import PipelineSettings, check_settings

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"## {title}")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def test_demo_discount_rate_is_the_run_default_and_the_readme() -> None:
    default = check_settings(PipelineSettings()).discount_rate
    assert demo.MONTHLY_DISCOUNT_RATE == default == 0.01
    assert "1% a month" in _readme_section("What the demo does")
    assert "1% a month" in _readme_section("One command from transactions to BI: `clvlab run`")


def test_readme_demo_section_names_the_warning_and_the_tables() -> None:
    section = _readme_section("What the demo does")
    assert "`DataQualityWarning`" in section and "10244" in section
    assert "`_long`" in section and "predictions_long.csv" in section
    # the decision tables the demo writes (src/clvlab/demo.py: segments, cohorts, forecast)
    for table in ("_segments", "_segment_probabilities", "_groups", "_forecast"):
        assert f"`{table}`" in section


def test_demo_asks_for_the_decision_tables() -> None:
    import inspect

    from clvlab import demo

    source = inspect.getsource(demo.run_demo)
    assert "segments=True" in source and 'group_by="cohort"' in source
    assert "forecast=True" in source


def test_make_demo_installs_clvlab_without_the_dev_extras() -> None:
    makefile = (README.parent / "Makefile").read_text()
    recipe = re.search(r"^\$\(DEMO_STAMP\):.*\n((?:\t.*\n)+)", makefile, re.M)
    assert recipe is not None
    assert '-e "."' in recipe.group(1) or "-e ." in recipe.group(1)
    assert "[dev]" not in recipe.group(1)
    assert re.search(r"^demo: \$\(DEMO_STAMP\)$", makefile, re.M)


def test_demo_refuses_an_output_folder_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results"
    out.write_text("my notes")
    assert main(["demo", "--out", str(out), "--quick", "--no-progress"]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1
    assert re.match(
        r"clvlab demo: error: cannot write to .*results/predictions\.parquet: .*results is a "
        r"file, not a folder; choose another output path\. Nothing was written\.",
        captured.err,
    )
    assert captured.out == ""
    assert out.read_text() == "my notes"
    assert [p.name for p in tmp_path.iterdir()] == ["results"]


def test_demo_help_states_the_discount(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(1% a month discount) with 90% intervals" in text
