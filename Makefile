# The two commands a new user needs: `make run` and `make test`.
# Everything else here is what they are made of.
PYTHON ?= python3
# `make run PORT=8080` (or PORT in the environment) serves on another port.
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PWA_STAMP := pwa/node_modules/.installed
PWA_DIST := pwa/dist/index.html
PWA_SOURCES := $(shell find pwa/src pwa/public -type f 2>/dev/null) pwa/index.html pwa/vite.config.ts pwa/tsconfig.json

.PHONY: run test setup lint typecheck pytest pwa-test pwa-build migrate specs clean bench

run: setup pwa-build migrate specs
	$(BIN)/terrain serve --port $(PORT)

test: setup lint typecheck pwa-test pytest

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
	$(BIN)/terrain sites example survey_specs/
	$(BIN)/terrain users bootstrap-admin

lint: setup
	$(BIN)/ruff check backend tests bench migrations
	$(BIN)/ruff format --check backend tests bench migrations

typecheck: setup
	$(BIN)/mypy

# The browser tests (tests/pwa) drive the built app: build it first.
pytest: setup pwa-build
	$(BIN)/pytest -n 2 -q

# The PWA (TypeScript): its own lock file, type check, lint and tests (Vitest).
# `npm ci` runs again only when pwa/package-lock.json changes.
$(PWA_STAMP): pwa/package-lock.json
	cd pwa && npm ci --no-audit --no-fund
	touch $(PWA_STAMP)

# The field app served at `/`: rebuilt only when its sources change.
pwa-build: $(PWA_DIST)

$(PWA_DIST): $(PWA_STAMP) $(PWA_SOURCES)
	cd pwa && npm run build

pwa-test: $(PWA_STAMP)
	cd pwa && npm run typecheck && npm run lint && npm test

bench: setup pwa-build
	$(BIN)/python bench/spec_compile.py
	$(BIN)/python bench/sync_push.py
	$(BIN)/python bench/sync_load.py
	$(BIN)/python bench/xlsform_import.py
	$(BIN)/python bench/pwa_outbox.py

clean:
	rm -rf $(VENV) var/*.db var/*.db-wal var/*.db-shm pwa/node_modules pwa/dist
