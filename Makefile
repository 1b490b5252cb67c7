# The two commands a new user needs: `make run` and `make test`.
# Everything else here is what they are made of.
PYTHON ?= python3
# `make run PORT=8080` (or PORT in the environment) serves on another port.
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PWA_STAMP := pwa/node_modules/.installed

.PHONY: run test setup lint typecheck pytest pwa-test migrate specs clean bench

run: setup migrate specs
	$(BIN)/terrain serve --port $(PORT)

test: setup lint typecheck pytest pwa-test

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

# The PWA (TypeScript): its own lock file, type check, lint and tests (Vitest).
# `npm ci` runs again only when pwa/package-lock.json changes.
$(PWA_STAMP): pwa/package-lock.json
	cd pwa && npm ci --no-audit --no-fund
	touch $(PWA_STAMP)

pwa-test: $(PWA_STAMP)
	cd pwa && npm run typecheck && npm run lint && npm test

bench: setup
	$(BIN)/python bench/spec_compile.py
	$(BIN)/python bench/sync_push.py
	$(BIN)/python bench/sync_load.py

clean:
	rm -rf $(VENV) var/*.db var/*.db-wal var/*.db-shm pwa/node_modules
