# Two commands: `make run` starts the LMS with demo data; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := lms

.PHONY: run test test-sqlite test-postgres lint install benchmarks clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask curricula load
	$(BIN)/flask demo seed --if-empty
	$(BIN)/flask metrics snapshot --days 84 --every 7 --if-missing  # twelve weeks of trend for the report
	@echo
	@echo "  Adoption Academy is starting on http://127.0.0.1:$(PORT)"
	@echo "  Demo sign-ins (password: lms-demo):"
	@echo "    learner@example.com   manager@example.com   leader@example.com   admin@example.com"
	@echo
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

lint: install
	$(BIN)/ruff check lms tests benchmarks
	$(BIN)/flask curricula lint  # the content linter: coverage, keys, formulas, figures, repeats

test-sqlite: install
	LMS_TEST_DATABASE=sqlite $(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

# PostgreSQL on 127.0.0.1:5432 (or LMS_TEST_POSTGRES_URL): skipped when none answers, unless CI=true.
test-postgres: install
	@if $(BIN)/python -m tests.support.postgres >/dev/null; then \
		LMS_TEST_DATABASE=postgresql $(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
		echo "CI=true and no PostgreSQL answers at $${LMS_TEST_POSTGRES_URL:-127.0.0.1:5432}: failing." >&2; exit 1; \
	else \
		echo "No PostgreSQL answers: PostgreSQL run skipped."; \
	fi

test: lint test-sqlite test-postgres

benchmarks: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) instance .pytest_cache
