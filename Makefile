# Two commands do all the setup on a fresh machine:
#   make demo   create .venv, install clvlab, run the main job on CDNOW -> results/
#   make test   create .venv, install the dev extras, run pytest, ruff and mypy
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= results
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck bench mutation clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,spark]"
	touch $(STAMP)

# make demo installs clvlab alone (no dev extras), with its own stamp: make test's
# stamp means "dev and spark extras installed", which the demo neither needs nor provides.
DEMO_STAMP := $(VENV)/.installed-demo

$(DEMO_STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/clvlab demo --out $(OUT)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup
	$(MAKE) lint typecheck

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[bench]"
	$(BIN)/python benchmarks/bench_rfm.py

# Mutation testing of formulas/, predict/ and data/rfm.py ([tool.mutmut] in
# pyproject.toml); slow (about an hour on 2 cores) and not part of CI. The score and the
# surviving mutants are written to mutants/ (mutmut results, mutmut show NAME).
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[mutation]"
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut export-cicd-stats
	$(BIN)/python benchmarks/mutation_score.py mutants/mutmut-cicd-stats.json

clean:
	rm -rf $(VENV) $(OUT) mutants .pytest_cache .mypy_cache .ruff_cache
