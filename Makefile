# The two commands: `make demo` and `make test`. Each bootstraps .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PLUGINS := $(wildcard plugins/*/pyproject.toml)

.PHONY: demo test lint typecheck layers unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps record what is installed; they are rebuilt when pyproject.toml changes.
$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[excel,server]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml $(PLUGINS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]' $(foreach p,$(PLUGINS),-e $(dir $(p)))
	touch $@ $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	$(BIN)/python samples/demo.py

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check ldtransform tests bench samples plugins

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

# The import contracts in pyproject.toml: which package may import which.
layers: $(VENV)/.dev-installed
	$(BIN)/lint-imports

# pytest exits 5 when it collected no tests: for this suite that is a failure.
unit: $(VENV)/.dev-installed
	@$(BIN)/python -m pytest -q tests $(foreach p,$(PLUGINS),$(dir $(p))tests); \
	status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; \
	exit $$status

test: lint typecheck layers unit

$(VENV)/.bench-installed: pyproject.toml $(VENV)/.dev-installed
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $@

# Every benchmark the README shows generates its data (cached in /tmp/ldtransform-bench),
# prints its tables and keeps them in bench/results/; the last step pastes those into the README.
bench: $(VENV)/.bench-installed
	$(BIN)/python bench/bench_read.py
	$(BIN)/python bench/bench_validate.py
	$(BIN)/python bench/bench_convert.py --repeat 3 --memory-rows 1000000,5000000,10000000
	$(BIN)/python bench/bench_template.py
	$(BIN)/python bench/bench_server.py
	$(BIN)/python bench/bench_export_read.py --repeat 3
	$(BIN)/python bench/bench_json_read.py --repeat 3
	$(BIN)/python bench/bench_roundtrip.py
	$(BIN)/python bench/bench_issue_table.py --rows 1000000 --repeat 5
	$(BIN)/python bench/bench_convert_cpu.py
	$(BIN)/python bench/bench_fixedwidth.py
	$(BIN)/python bench/bench_dask.py --rounds 2
	$(BIN)/python bench/readme_tables.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
