# The README's two commands are the contract: `make demo` and `make test` on a fresh clone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := data/demo
RUN := runs/demo
# fastText classifiers the default config's `fasttext` filters use (paths relative to the repo root).
MODELS := models
# `make demo` trains the `tiny` GPT for this many steps on CPU (a few minutes on 2 cores).
TRAIN_STEPS ?= 200

.PHONY: demo test install lint bench clean models

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

# Train the toxicity (fortunes) and spam (SMS) classifiers from the demo corpus (~1 min).
# The limerick files are offensive: FreeBSD installs them only with its offensive set
# (configs/classifiers/toxicity.md).
models: $(STAMP)
	test -f $(DEMO)/corpus/sms_spam.jsonl || $(BIN)/gristmill data demo $(DEMO)
	$(BIN)/gristmill classifier train --data $(DEMO)/corpus/fortunes.jsonl --out $(MODELS)/toxicity.bin \
		--positive offensive --name toxicity --description @configs/classifiers/toxicity.md \
		--relabel source=fortune/limerick:offensive --relabel source=fortune/gerrold.limerick:offensive
	$(BIN)/gristmill classifier train --data $(DEMO)/corpus/sms_spam.jsonl --out $(MODELS)/spam.bin \
		--positive spam --name spam --description @configs/classifiers/spam.md

demo: $(STAMP)
	$(BIN)/gristmill data demo $(DEMO)
	$(MAKE) models
	$(BIN)/gristmill run --input $(DEMO)/corpus --output $(RUN) --config configs/demo.yaml --overwrite
	$(BIN)/gristmill shards verify $(RUN)/shards
	# nanoGPT's files (train.bin, val.bin, meta.pkl); it prints where they are and how to train on them
	$(BIN)/gristmill shards export --input $(RUN)/shards --output $(RUN)/nanogpt --format nanogpt --overwrite
	$(BIN)/gristmill report $(RUN) --html $(RUN)/report.html
	rm -rf $(RUN)/train
	$(BIN)/gristmill train --data $(RUN)/shards --out $(RUN)/train --preset tiny \
		--max-steps $(TRAIN_STEPS) --batch-size 8 --warmup-steps 20 --lr 1e-3 --min-lr 1e-4 \
		--eval-every 100 --log-every 10 --ckpt-every 50
	$(BIN)/gristmill sample --ckpt $(RUN)/train --prompt "KING HENRY:" --max-new-tokens 60

bench: $(STAMP)
	$(BIN)/python benchmarks/pipeline_overhead.py
	$(BIN)/python benchmarks/tokenize_speed.py
	$(BIN)/python benchmarks/train.py
	$(BIN)/python benchmarks/classifiers.py

clean:
	rm -rf runs data models .pytest_cache
