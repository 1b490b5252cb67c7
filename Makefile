# The two commands a new user needs: `make run` and `make test`.
# Everything else here is what they are made of.
PYTHON ?= python3
# `make run PORT=8080` (or PORT in the environment) serves on another port.
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test setup lint typecheck pytest migrate specs clean bench

run: setup migrate specs
	$(BIN)/terrain serve --port $(PORT)

test: setup lint typecheck pytest

setup: $(STAMP)

# Re-install only when the lock file or the project metadata changes.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

migrate: setup
	$(BIN)/terrain db upgrade

specs: setup
	$(BIN)/terrain specs publish survey_specs/ --quiet
	$(BIN)/terrain users bootstrap-admin

lint: setup
	$(BIN)/ruff check backend tests bench migrations
	$(BIN)/ruff format --check backend tests bench migrations

typecheck: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/pytest -n 2 -q

bench: setup
	$(BIN)/python bench/spec_compile.py

clean:
	rm -rf $(VENV) var/*.db var/*.db-wal var/*.db-shm
