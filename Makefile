# lakeguard: every set-up step lives here, so a fresh clone needs only `make demo` / `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
ENV    ?= dev
STAMP  := $(VENV)/.installed
# The CDK command line, pinned; npx fetches it from the npm registry on first use.
CDK    := npx --yes aws-cdk@2.1148.1
# jsii prints a banner per process on Node 20; the CDK still works there.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: install demo test lint typecheck unit synth bench clean lock deploy destroy asl

# Python 3.11 is what Lambda and Glue 5 run; fall back to python3 if it is 3.11 under that name.
# The layer's lock constrains the venv: the tests run with the very versions Lambda gets
# (boto3 and pyiceberg would otherwise take newer transitive releases than the layer ships).
$(STAMP): pyproject.toml requirements/lambda-layer.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	@echo "-- creating $(VENV) and installing the Python dependencies (first run only: about 3 minutes)"
	$(PYTHON) -m venv $(VENV)
	@echo "-- step 1/2: pip itself"
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "-- step 2/2: lakeguard and about 150 packages (pip names each as it gets it)"
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]' -c requirements/lambda-layer.txt
	@touch $(STAMP)
	@echo "-- $(VENV) is ready"

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/lakeguard demo --out demo-out

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy lakeguard lakeguard_eval lambdas glue_jobs stacks statemachines app.py
	$(BIN)/mypy bench

# The state machine is written in statemachines/definition.py; this writes the ASL file
# that ships (tests/unit/test_stage_results.py fails while the two differ).
asl: $(STAMP)
	$(BIN)/python -m statemachines.definition

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

# Two workers (TEST_WORKERS=0 runs one process): each starts its own embedded lake, and
# tests/conftest.py keeps the tests sharing a costly fixture on one worker.
TEST_WORKERS ?= 2

test: lint typecheck
	$(BIN)/pytest -q -n $(TEST_WORKERS) --no-loadscope-reorder

# Each script writes bench/results/<name>.json (measured, baseline from the same run, ratio,
# target, met); the last step prints the table and fails if a target is missed. About 8 min
# on 2 cores; the burst is 100 files here (bench/burst.py --files 300 for the full one).
bench: $(STAMP)
	rm -f bench/results/*.json
	$(BIN)/python bench/anonymise.py
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/refine_memory.py
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/athena_scan.py
	$(BIN)/python bench/compaction.py
	$(BIN)/python bench/end_to_end.py
	$(BIN)/python bench/local_run.py
	$(BIN)/python bench/refine_engines.py
	$(BIN)/python bench/spark_anonymise.py
	$(BIN)/python bench/nab.py
	$(BIN)/python bench/burst.py --files 100
	$(BIN)/python bench/cost_model.py
	$(BIN)/python bench/results_table.py

# Regenerate the Lambda layer's pins (requirements/lambda-layer.txt) from pyproject's
# `lambda` extra, resolved for Lambda's platform.
lock: $(STAMP)
	$(BIN)/python -m stacks.layer

# Preflight (credentials, region, bootstrap, concurrency quota, layer), then every stack.
deploy: $(STAMP)
	$(BIN)/lakeguard doctor --env $(ENV)
	. $(VENV)/bin/activate && $(CDK) deploy --all -c env=$(ENV) --require-approval never

# Empty the environment's versioned buckets (refused where data is retained), destroy the
# stacks; access logs that land late are emptied once more before a second attempt.
destroy: $(STAMP)
	$(BIN)/lakeguard teardown --env $(ENV) --yes
	. $(VENV)/bin/activate && ($(CDK) destroy --all --force -c env=$(ENV) || \
	  ($(BIN)/lakeguard teardown --env $(ENV) --yes && $(CDK) destroy --all --force -c env=$(ENV)))

synth: $(STAMP)
	CDK_CONTEXT_JSON='{"env": "$(ENV)"}' $(BIN)/python app.py
	@echo "synthesized $(ENV) into cdk.out/"

clean:
	rm -rf cdk.out demo-out .pytest_cache .mypy_cache .ruff_cache .cache
