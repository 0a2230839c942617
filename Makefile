# The commands everyone runs. `make demo` and `make test` set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8001
SITE_PORT ?= 8002
REAL_DATA_DIR ?= $(abspath ../shared/real)
export REAL_DATA_DIR

.PHONY: demo test test-fast lint fix bench clean venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	@echo "Installing ofsted-homes and its dependencies into $(VENV) …"
	$(BIN)/python -m pip install --quiet --quiet -e ".[demo]" --group dev 2> $(VENV)/install.log || (cat $(VENV)/install.log; exit 1)
	touch $(STAMP)

venv: $(STAMP)

## make demo: build the registry from the embedded sample and serve it on 127.0.0.1:$(PORT)
demo: $(STAMP)
	$(BIN)/ofsted-homes demo --port $(PORT) --site-port $(SITE_PORT)

CHROMIUM ?= $(shell command -v chromium || command -v chromium-browser)
export CHROMIUM
NO_CHROMIUM = "*** chromium not found: the browser test (tests/publish/test_browser.py) was SKIPPED.\n*** Install it to run it: sudo apt-get install chromium (Debian/Ubuntu), or make test CHROMIUM=/path/to/chromium"

## make test: run the whole test suite (the browser test too when chromium is installed)
test: $(STAMP)
ifeq ($(strip $(CHROMIUM)),)
	@printf '%b\n' $(NO_CHROMIUM)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS); status=$$?; printf '%b\n' $(NO_CHROMIUM); exit $$status
else
	OFSTED_HOMES_BROWSER=require $(BIN)/python -m pytest -q $(PYTEST_ARGS)
endif

## make test-fast: the inner loop, under a minute (tests marked slow or browser deselected)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not browser" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

fix: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/bench_load.py

clean:
	rm -rf $(VENV) demo data .pytest_cache
