# lakeguard: every set-up step lives here, so a fresh clone needs only `make demo` / `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
ENV    ?= dev
STAMP  := $(VENV)/.installed
# jsii prints a banner per process on Node 20; the CDK still works there.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: install demo test lint typecheck unit synth bench clean

# Python 3.11 is what Lambda and Glue 5 run; fall back to python3 if it is 3.11 under that name.
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/lakeguard demo --out demo-out

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy lakeguard lambdas glue_jobs stacks app.py

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

test: lint typecheck
	$(BIN)/pytest -q

# Figures, not pass/fail: each script prints ratios against a baseline measured in the same run.
bench: $(STAMP)
	$(BIN)/python bench/nab.py
	$(BIN)/python bench/refine_engines.py

synth: $(STAMP)
	CDK_CONTEXT_JSON='{"env": "$(ENV)"}' $(BIN)/python app.py
	@echo "synthesized $(ENV) into cdk.out/"

clean:
	rm -rf cdk.out demo-out .pytest_cache .mypy_cache .ruff_cache
