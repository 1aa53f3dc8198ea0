# The README's two commands are the contract: `make demo` and `make test` on a fresh clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := data/demo
RUN := runs/demo

.PHONY: demo test install lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/gristmill data demo $(DEMO)
	$(BIN)/gristmill run --input $(DEMO)/corpus --output $(RUN) --overwrite
	$(BIN)/gristmill shards verify $(RUN)/shards
	$(BIN)/gristmill report $(RUN) --html $(RUN)/report.html

bench: $(STAMP)
	$(BIN)/python benchmarks/pipeline_overhead.py
	$(BIN)/python benchmarks/tokenize.py

clean:
	rm -rf runs data .pytest_cache
