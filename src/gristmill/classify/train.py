"""Train a fastText classifier on a leak-free split and write it with metrics and a card.

Outputs, for ``--output models/toxicity.bin``:
- ``models/toxicity.bin``: the model (and ``models/toxicity.ftz`` with ``quantize``);
- ``models/toxicity.metrics.json``: validation and test metrics, the chosen threshold;
- ``models/toxicity.card.md``: what the model is, the data, the sizes, the label meaning.
Each file is written under a temporary name and renamed, so a crash leaves no half model.

Reproducibility: with ``threads=1`` and a fixed ``seed`` the same data gives a byte-identical
model (fastText's Hogwild SGD is only deterministic on one thread). ``autotune`` searches
hyperparameters for a time budget, so its result depends on machine speed: it is not
reproducible, and the card says so.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from gristmill.classify.config import ClassifierConfig
from gristmill.classify.data import Example, Relabel, read_examples
from gristmill.classify.metrics import best_f1_threshold, evaluate_scores
from gristmill.classify.model import LABEL_PREFIX, predict_probs
from gristmill.classify.preprocess import preprocess
from gristmill.classify.split import grouped_split


@dataclass
class TrainResult:
    model_path: Path
    metrics_path: Path
    card_path: Path
    quantized_path: Path | None
    metrics: dict = field(default_factory=dict)


def sidecar_paths(model_path: str | Path) -> tuple[Path, Path]:
    """Where the metrics JSON and the model card of ``model_path`` live."""
    p = Path(model_path)
    return p.with_suffix(".metrics.json"), p.with_suffix(".card.md")


def _write_fasttext(path: Path, examples: list[Example]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for e in examples:
            f.write(f"{LABEL_PREFIX}{e.label} {preprocess(e.text)}\n")


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _fit(train_file: Path, valid_file: Path, cfg: ClassifierConfig, positive: str | None):
    import fasttext

    common = {"input": str(train_file), "thread": cfg.threads, "seed": cfg.seed, "verbose": 0}
    if cfg.autotune:  # autotune chooses the loss too
        metric = f"f1:{LABEL_PREFIX}{positive}" if positive else "f1"
        return fasttext.train_supervised(
            **common, autotuneValidationFile=str(valid_file), autotuneDuration=cfg.autotune_duration,
            autotuneMetric=metric, **({"autotuneModelSize": "2M"} if cfg.quantize else {}),
        )
    return fasttext.train_supervised(
        **common, loss=cfg.loss, epoch=cfg.epoch, lr=cfg.lr, dim=cfg.dim, wordNgrams=cfg.word_ngrams,
        minn=cfg.minn, maxn=cfg.maxn, minCount=cfg.min_count, bucket=cfg.bucket,
    )


def _evaluate(model, valid: list[Example], test: list[Example], positive: str | None) -> dict:
    labels, pv = predict_probs(model, [e.text for e in valid], preprocess)
    threshold = None
    if positive is not None:
        y = np.array([e.label == positive for e in valid])
        threshold, _ = best_f1_threshold(y, pv[:, labels.index(positive)])
    _, pt = predict_probs(model, [e.text for e in test], preprocess)
    return {
        "threshold": threshold,
        "threshold_rule": "max F1 of the positive label on the validation split" if positive else None,
        "valid": evaluate_scores(labels, [e.label for e in valid], pv, positive, threshold),
        "test": evaluate_scores(labels, [e.label for e in test], pt, positive, threshold),
    }


def _model_params(model, cfg: ClassifierConfig) -> dict:
    keys = ("epoch", "lr", "dim", "wordNgrams", "minn", "maxn", "minCount", "bucket", "loss",
            "thread")
    out = {}
    for k in keys:
        v = getattr(model, k, None)
        out[k] = v if isinstance(v, int | float | str) or v is None else str(v).split(".")[-1]
    out["seed"] = cfg.seed
    return out


def train_classifier(
    data: list[str | Path],
    out: str | Path,
    cfg: ClassifierConfig | None = None,
    text_field: str = "text",
    label_field: str = "label",
    fmt: str = "auto",
    positive: str | None = None,
    name: str | None = None,
    description: str = "",
    relabel: list[Relabel] | None = None,
) -> TrainResult:
    """Train on ``data``, write the model to ``out`` with its metrics JSON and card.

    ``relabel`` rules change labels as the data is read (``data.Relabel``); the metrics JSON
    and the card list each rule and how many examples it changed."""
    from gristmill.classify.card import write_card  # late: keeps import light

    cfg = cfg or ClassifierConfig()
    out = Path(out)
    if out.suffix not in (".bin", ".ftz"):
        raise ValueError(f"--output must end in .bin (got {out}); the quantized copy gets .ftz")
    out = out.with_suffix(".bin")
    changed: Counter = Counter()
    examples = read_examples(list(data), text_field, label_field, fmt, relabel=relabel or (), changed=changed)
    counts = Counter(e.label for e in examples)
    if len(counts) < 2:
        raise ValueError(f"need at least two labels to train a classifier, found {dict(counts)}")
    if positive is None and len(counts) == 2:
        positive = min(counts, key=lambda k: (counts[k], k))  # the rarer label
    if positive is not None and positive not in counts:
        raise ValueError(f"positive label {positive!r} not in the data (labels: {', '.join(sorted(counts))})")

    split = grouped_split(examples, cfg.valid_fraction, cfg.test_fraction, cfg.split_seed,
                          cfg.dedup_threshold, cfg.conflicts)
    if not split.valid or not split.test:
        raise ValueError(f"too little data for a validation and a test split: {split.sizes()}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gristmill-ft-") as tmp:
        train_file, valid_file = Path(tmp) / "train.txt", Path(tmp) / "valid.txt"
        _write_fasttext(train_file, split.train)
        _write_fasttext(valid_file, split.valid)
        model = _fit(train_file, valid_file, cfg, positive)
        ev = _evaluate(model, split.valid, split.test, positive)
        tmp_model = out.with_name(out.name + ".tmp")
        model.save_model(str(tmp_model))
        os.replace(tmp_model, out)
        quantized = None
        qev = None
        if cfg.quantize:
            model.quantize(input=str(train_file), qnorm=True, retrain=True, cutoff=100_000,
                           thread=cfg.threads, verbose=0)
            qev = _evaluate(model, split.valid, split.test, positive)
            quantized = out.with_suffix(".ftz")
            tmp_q = out.with_name(out.stem + ".tmp.ftz")
            model.save_model(str(tmp_q))
            os.replace(tmp_q, quantized)

    metrics = {
        "model": out.name,
        "model_path": str(out),
        "name": name or out.stem,
        "positive": positive,
        "threshold": ev["threshold"],
        "threshold_rule": ev["threshold_rule"],
        "preprocess": "gristmill.classify.preprocess.preprocess",
        "data": [str(p) for p in data],
        "relabel": [{"rule": str(r), "changed": changed[str(r)]} for r in relabel or ()],
        "split": {"sizes": split.sizes(), "dedup": split.stats(),
                  "labels": {s: dict(sorted(Counter(e.label for e in getattr(split, s)).items()))
                             for s in ("train", "valid", "test")}},
        "config": asdict(cfg),
        "fasttext_params": _model_params(model, cfg),
        "valid": ev["valid"],
        "test": ev["test"],
        "model_bytes": out.stat().st_size,
    }
    if qev is not None and quantized is not None:
        metrics["quantized"] = {"model": quantized.name, "threshold": qev["threshold"],
                                "valid": qev["valid"], "test": qev["test"],
                                "model_bytes": quantized.stat().st_size}
    metrics_path, card_path = sidecar_paths(out)
    _atomic_write_text(metrics_path, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    write_card(card_path, metrics, description)
    return TrainResult(out, metrics_path, card_path, quantized, metrics)
