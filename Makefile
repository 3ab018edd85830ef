# Conveyor — two commands: `make demo` and `make test`. Each sets up .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lock demo test test-fast check lint typecheck contract bench clean services ui

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Setting up $(VENV) (first run takes a few minutes) ..."
	$(BIN)/python -m pip install --quiet --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# the demo's own store, made anew each run (a store in .conveyor is left alone)
demo: $(STAMP)
	rm -rf .conveyor-demo
	CONVEYOR_HOME=.conveyor-demo $(BIN)/python examples/demo.py

services:
	@bash scripts/ensure-services.sh

# the web UI: build ui/ (TypeScript, npm packages) into src/conveyor/ui/static (committed)
ui:
	cd ui && npm ci --no-audit --no-fund && npm run build

# what CI runs (.ci/run): the checks the README promises, then every test, on one
# pytest-xdist worker per core (at most 4; a test file stays on one worker, so its
# module-scoped servers start once)
PYTEST_WORKERS := -n auto --maxprocesses 4 --dist loadfile
test: $(STAMP) services check
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_WORKERS)

# ruff (lint + format), mypy on the package, the import contract (tests/test_import_contract.py)
check: lint typecheck contract

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_WORKERS) -m "not postgres and not redis and not s3 and not server and not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck: $(STAMP)
	$(BIN)/mypy

contract: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_import_contract.py

# every benchmark against its peer (peers install into bench/.peers/ on first use; ~20 min)
bench: $(STAMP)
	$(BIN)/python bench/tracking.py
	$(BIN)/python bench/serving.py
	$(BIN)/python bench/drift.py --peer-timeout 900
	$(BIN)/python bench/gates.py
	$(BIN)/python bench/pipelines.py
	$(BIN)/python bench/rollout.py
	$(BIN)/python bench/predict_ray.py

clean:
	rm -rf $(VENV) .conveyor build dist src/*.egg-info

# lock: record the installed versions as constraints.txt (after changing dependencies)
lock: $(STAMP)
	@( sed -n '1,3p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | grep -v '^conveyor' ) > constraints.tmp && mv constraints.tmp constraints.txt
