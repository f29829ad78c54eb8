# Spotter: `make run` starts the local stack, `make test` runs the suite. Both install into .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
APP_STAMP := $(VENV)/.installed-app
MODEL_STAMP := $(VENV)/.installed-model
PIP := $(BIN)/pip install --quiet --disable-pip-version-check

# SAM CLI, cfn-lint and checkov live apart from the app (their pins conflict with it, and
# checkov's boto3 pin with the SAM CLI's): .venv-infra, and .venv-infra/checkov for checkov.
INFRA_VENV := .venv-infra
INFRA_BIN := $(INFRA_VENV)/bin
CHECKOV_BIN := $(INFRA_VENV)/checkov/bin
INFRA_STAMP := $(INFRA_VENV)/.installed-infra
# The functions run on Lambda's python3.12: `sam build` wants that interpreter on PATH
# (no container here); found on PATH or under pyenv.
LAMBDA_PYTHON ?= $(firstword $(foreach p,python3.12 $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12),$(shell $(p) -c 'import sys; print(sys.executable)' 2>/dev/null)))
SAM = SAM_CLI_TELEMETRY=0 PATH="$(dir $(LAMBDA_PYTHON)):$$PATH" $(INFRA_BIN)/sam
# The processor the functions and their layer are built for (x86_64 or arm64): the layer's Makefile
# picks its wheels by it, and the template's Architecture parameter must name the same one.
ARCHITECTURE ?= x86_64
export ARCHITECTURE
SAM_BUILD_ARGS = --parameter-overrides Architecture=$(ARCHITECTURE)
# Deploy with the architecture the layer was built for. On the command line, sam replaces (does not
# merge) a samconfig.toml's parameter_overrides: with a samconfig.toml, put Architecture=arm64 there.
SAM_DEPLOY_ARGS = $(if $(filter-out x86_64,$(ARCHITECTURE)),$(if $(wildcard samconfig.toml),,--parameter-overrides Architecture=$(ARCHITECTURE)))

.PHONY: install install-model run test bench clean check
.PHONY: install-infra check-infra deploy

install: $(APP_STAMP)

install-model: $(MODEL_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(APP_STAMP): $(BIN)/python requirements.txt requirements-local.txt requirements-analyst.txt requirements-dev.txt pyproject.toml
	$(PIP) -r requirements-dev.txt
	$(PIP) --no-deps -e .
	touch $@

# TensorFlow is only for building and converting models (1.3 GB): kept out of `make run`.
$(MODEL_STAMP): $(APP_STAMP) model/requirements.txt
	$(PIP) -r model/requirements.txt
	touch $@

# axe-core (the page's accessibility check in tests/e2e/test_web_round_two.py) from npm, pinned by
# tests/a11y/package-lock.json; the test loads it from node_modules and fetches nothing itself.
AXE := tests/a11y/node_modules/axe-core/axe.min.js

$(AXE): tests/a11y/package.json tests/a11y/package-lock.json
	npm ci --prefix tests/a11y --no-audit --no-fund --silent
	touch $@

# The page's gates (frontend/): tsc --noEmit over its // @ts-check JSDoc types, eslint, and node's own test
# runner over tests/frontend/. The tools are pinned by tools/frontend/package-lock.json (npm ci, no network after).
FRONTEND_TOOLS := tools/frontend/node_modules/.installed
FRONTEND_BIN := tools/frontend/node_modules/.bin

$(FRONTEND_TOOLS): tools/frontend/package.json tools/frontend/package-lock.json
	npm ci --prefix tools/frontend --no-audit --no-fund --silent
	touch $@

.PHONY: check-frontend
check-frontend: $(FRONTEND_TOOLS)
	$(FRONTEND_BIN)/tsc -p tools/frontend/tsconfig.json
	$(FRONTEND_BIN)/eslint -c tools/frontend/eslint.config.js --max-warnings 0 frontend tests/frontend tools/frontend
	node --test tests/frontend/*.test.js

# The edit-test loop (under a minute): lint, format, types, and tests/unit (no server, no moto, no browser).
.PHONY: check lint types
lint: $(APP_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(APP_STAMP)
	$(BIN)/mypy
	$(BIN)/mypy functions/classify/app.py
	$(BIN)/mypy functions/api/app.py
	$(BIN)/mypy functions/parquet_copy/app.py

check: lint types check-frontend
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

test: $(APP_STAMP) $(MODEL_STAMP) $(INFRA_STAMP) $(AXE) lint types check-frontend
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The README's screenshots of the page (docs/screenshots/): the browser test writes them to test-results/
# on every run; this copies them over the committed ones, to be reviewed and committed deliberately.
.PHONY: screenshots
screenshots: $(APP_STAMP) $(AXE)
	$(BIN)/python -m pytest tests/e2e/test_web_round_two.py tests/e2e/test_web_count.py -q
	mkdir -p docs/screenshots
	cp test-results/web-desktop.png test-results/web-phone.png test-results/count-boxes.png docs/screenshots/

# MODEL=count runs the stack with the shipped COCO object detector (counting); MODEL=PATH any model
run: $(APP_STAMP)
	$(BIN)/spotter up $(if $(MODEL),--model '$(MODEL)') $(RUN_ARGS)

bench: $(APP_STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

# Rebuild the demo model (model/skin-lesion-int8.*) from ../shared and print its evaluation table.
.PHONY: model
model: $(MODEL_STAMP)
	$(BIN)/spotter model build-demo

clean:
	rm -rf $(VENV) .pytest_cache .spotter build tests/a11y/node_modules tools/frontend/node_modules
	rm -rf $(INFRA_VENV) .aws-sam

# ---- AWS: template checks and deployment (infra/, layers/runtime/) ----------------------------
install-infra: $(INFRA_STAMP)

$(INFRA_STAMP): infra/requirements.txt infra/requirements-checkov.txt
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_BIN)/pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	$(PYTHON) -m venv $(INFRA_VENV)/checkov
	$(CHECKOV_BIN)/pip install --quiet --disable-pip-version-check -r infra/requirements-checkov.txt
	touch $@

# The same checks `make test` runs (tests/integration/test_infra.py), with the tools' own output.
check-infra: $(INFRA_STAMP)
	$(SAM) validate --template infra/template.yaml --region us-east-1
	$(INFRA_BIN)/python infra/lint.py
	$(CHECKOV_BIN)/checkov --config-file infra/checkov.yaml -f infra/template.yaml -f build/infra/template.expanded.json
	@test -n "$(LAMBDA_PYTHON)" || { echo "sam build needs python3.12 on PATH (Lambda runtime python3.12)" >&2; exit 1; }
	$(SAM) build --template infra/template.yaml --build-dir build/infra/sam $(SAM_BUILD_ARGS)
	@du -sb build/infra/sam/ClassifyFunction build/infra/sam/ApiFunction build/infra/sam/RuntimeLayer

# First time: `sam deploy --guided` asks for the stack name, region and parameters and saves
# them to samconfig.toml (see infra/samconfig.example.toml); later runs reuse them. Then the
# page, with a config.json naming the API, goes to the site bucket.
deploy: $(INFRA_STAMP) $(APP_STAMP)
	@test -n "$(LAMBDA_PYTHON)" || { echo "sam build needs python3.12 on PATH (Lambda runtime python3.12)" >&2; exit 1; }
	$(SAM) build --template infra/template.yaml $(SAM_BUILD_ARGS)
	@if [ -f samconfig.toml ]; then $(SAM) deploy $(SAM_DEPLOY_ARGS); \
	else $(SAM) deploy --guided --capabilities CAPABILITY_IAM $(SAM_DEPLOY_ARGS); fi
	$(BIN)/python infra/deploy_site.py --config-file samconfig.toml --aws $(BIN)/aws

# ---- Reliability: hostile uploads and fuzzing (tests/support/hostile.py, tests/support/stress.py, fuzz/) ------
.PHONY: stress fuzz
FUZZ_SECONDS ?= 60

# Hostile uploads through `spotter up`: rounds of generated bad files and names, summary table.
stress: $(APP_STAMP)
	$(BIN)/python tests/support/stress.py $(STRESS_ARGS)

# Coverage-guided fuzzing of the image decoder for FUZZ_SECONDS (atheris, installed here only).
fuzz: $(APP_STAMP)
	$(PIP) -r fuzz/requirements.txt || echo "atheris did not install: fuzz/fuzz_decode.py falls back to random mutation"
	$(BIN)/python fuzz/fuzz_decode.py --seconds $(FUZZ_SECONDS) $(FUZZ_ARGS)
