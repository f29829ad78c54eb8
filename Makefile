# Spotter: `make run` starts the local stack, `make test` runs the suite. Both install into .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
APP_STAMP := $(VENV)/.installed-app
MODEL_STAMP := $(VENV)/.installed-model
PIP := $(BIN)/pip install --quiet --disable-pip-version-check

.PHONY: install install-model run test bench clean

install: $(APP_STAMP)

install-model: $(MODEL_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(APP_STAMP): $(BIN)/python requirements.txt requirements-dev.txt pyproject.toml
	$(PIP) -r requirements-dev.txt
	$(PIP) --no-deps -e .
	touch $@

# TensorFlow is only for building and converting models (1.3 GB): kept out of `make run`.
$(MODEL_STAMP): $(APP_STAMP) model/requirements.txt
	$(PIP) -r model/requirements.txt
	touch $@

test: $(APP_STAMP) $(MODEL_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

run: $(APP_STAMP)
	$(BIN)/spotter up $(RUN_ARGS)

bench: $(APP_STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .spotter build
