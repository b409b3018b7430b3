# CareBoard: `make run` sets everything up and serves; `make test` runs the whole suite.
# `make run` serves with gunicorn and gunicorn.conf.py, as deploy/ does in production (the development settings
# of careboard/config.py, plain HTTP); `make dev` serves with Flask's reloading development server instead.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app careboard
HOST   ?= 127.0.0.1
PORT   ?= 5000
VENDOR := careboard/static/vendor

.PHONY: run dev setup venv deps test-deps lint-deps assets translations db demo test lint bench screenshots i18n-extract clean

run: setup db demo
	CAREBOARD_BIND=$(HOST):$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py 'careboard:create_app()'

dev: setup db demo
	$(FLASK) run --reload --host $(HOST) --port $(PORT)

setup: deps assets translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

venv: $(BIN)/python

deps: $(VENV)/.deps
$(VENV)/.deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

test-deps: $(VENV)/.test-deps
$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.deps

lint-deps: $(VENV)/.lint-deps
$(VENV)/.lint-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,lint]'
	touch $@ $(VENV)/.test-deps $(VENV)/.deps

assets: $(VENDOR)/htmx.min.js
$(VENDOR)/htmx.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	cp node_modules/idiomorph/dist/idiomorph-ext.min.js $(VENDOR)/idiomorph-ext.min.js
	cp node_modules/sortablejs/Sortable.min.js $(VENDOR)/Sortable.min.js
	touch $@

translations: deps
	$(BIN)/pybabel compile -d careboard/translations -D messages

db: setup
	$(FLASK) db upgrade

demo: db
	$(FLASK) demo --address http://$(HOST):$(PORT)/

# Browser tests run when /usr/bin/chromium exists (.ci/run installs it). TEST_DATABASE_URL selects PostgreSQL.
test: test-deps assets translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff (rules in pyproject.toml), import-linter (the layers of docs/architecture.md, contracts in pyproject.toml),
# then pip-audit of every installed package against the PyPI advisory database; a known vulnerability fails. A
# package the advisory service cannot look up is listed, not failed.
lint: lint-deps
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pip-audit --skip-editable --progress-spinner off

# The README's pictures, taken by a browser test from the demo store at tablet, phone and TV sizes.
screenshots: test-deps assets translations
	$(BIN)/python -m pytest -q tests/browser/test_readme_screenshots.py
	cp tests/artifacts/readme/*.png docs/screenshots/

# Benchmarks print figures (no pass/fail): see bench/README.md. BROWSER_BENCH_ARGS="--quick" for a short browser run.
bench: test-deps assets translations
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.browser_bench $(BROWSER_BENCH_ARGS)
	$(BIN)/python -m bench.tick_bench
	$(BIN)/python -m bench.import_bench
	$(BIN)/python -m bench.kpi_bench
	$(BIN)/python -m bench.load_bench

# For developers: refresh the catalogs after adding strings, then translate careboard/translations/zh_CN.
i18n-extract: deps
	$(BIN)/pybabel extract -F babel.cfg -k _l -k _lp:1c,2 -o careboard/translations/messages.pot --no-location --sort-output --omit-header .
	$(BIN)/pybabel update -i careboard/translations/messages.pot -d careboard/translations -D messages --ignore-obsolete --no-fuzzy-matching --width 120

clean:
	rm -rf $(VENV) node_modules $(VENDOR)/*.js
