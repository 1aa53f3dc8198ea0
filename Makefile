# The README's two commands are the contract: `make demo` and `make test` on a fresh clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := data/demo
RUN := runs/demo
# The web part: the demo's crawl ($(DEMO)/web/crawl.warc.gz) through the recommended crawl
# pipeline (configs/web.yaml: extract, url, language, heuristics, pii, dedup, tokenize).
WEB_RUN := runs/web
# `make demo` trains the `tiny` GPT for this many steps on CPU (a few minutes on 2 cores).
TRAIN_STEPS ?= 200
# ... and ablates: no filters (examples/ablation/keep-all.yaml) against the demo config, two
# seeds of a small proxy GPT (examples/ablation/cpu-proxy.yaml) on this many tokens each.
ABLATION := runs/ablation
ABLATE_TOKENS ?= 40k

.PHONY: demo test install lint bench clean models wheel

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

# Build the built-in classifiers (spam-sms, toxicity-fortunes) the configs name into
# gristmill's cache, as a run would on first use: `gristmill models list` shows them.
models: $(STAMP)
	$(BIN)/gristmill models build spam-sms toxicity-fortunes

demo: $(STAMP)
	$(BIN)/gristmill data demo $(DEMO)
	$(MAKE) models
	$(BIN)/gristmill run --input $(DEMO)/corpus --output $(RUN) --config demo --overwrite
	$(BIN)/gristmill shards verify $(RUN)/shards
	# nanoGPT's files (train.bin, val.bin, meta.pkl); it prints where they are and how to train on them
	$(BIN)/gristmill shards export --input $(RUN)/shards --output $(RUN)/nanogpt --format nanogpt --overwrite
	$(BIN)/gristmill report $(RUN) --html $(RUN)/report.html
	$(BIN)/gristmill run --input $(DEMO)/web --output $(WEB_RUN) --config web --overwrite
	$(BIN)/gristmill report $(WEB_RUN) --html $(WEB_RUN)/report.html
	rm -rf $(RUN)/train
	$(BIN)/gristmill train --input $(RUN)/shards --output $(RUN)/train --preset tiny \
		--max-steps $(TRAIN_STEPS) --batch-size 8 --warmup-steps 20 --lr 1e-3 --min-lr 1e-4 \
		--eval-every 100 --log-every 10 --ckpt-every 50
	$(BIN)/gristmill sample --input $(RUN)/train --prompt "KING HENRY:" --max-new-tokens 60
	$(BIN)/gristmill ablate --input $(DEMO)/corpus --config examples/ablation/keep-all.yaml \
		--config demo --output $(ABLATION) --tokens $(ABLATE_TOKENS) --seeds 2 \
		--train-config examples/ablation/cpu-proxy.yaml --eval-points 2 --eval-bytes 40k --no-progress
	$(BIN)/gristmill report $(ABLATION) --html $(ABLATION)/report.html

# The wheel a cluster's workers install (README, Runners): dist/gristmill-VERSION-py3-none-any.whl.
# Only pip is needed (the build backend comes from PyPI in pip's isolated build environment).
# build/ is setuptools' scratch copy, cleared so files deleted from src/ cannot ship; older
# gristmill wheels in dist/ are removed so `dist/gristmill-*.whl` names exactly one file.
wheel:
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	rm -rf build dist/gristmill-*.whl
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir dist .
	ls dist/gristmill-*.whl

bench: $(STAMP)
	$(BIN)/python benchmarks/pipeline_overhead.py
	$(BIN)/python benchmarks/tokenize_speed.py
	$(BIN)/python benchmarks/train.py
	$(BIN)/python benchmarks/classifiers.py

clean:
	rm -rf runs data models .pytest_cache build dist
