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
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gristmill.classify.config import SELECT_RULES, ClassifierConfig, GroupConfig, RecipeConfig
from gristmill.classify.data import Example, Relabel, read_examples
from gristmill.classify.groupsplit import GroupSplit, group_holdout_split
from gristmill.classify.metrics import (
    best_f1_threshold,
    evaluate_scores,
    f1_interval,
    prevalence_summary,
)
from gristmill.classify.model import LABEL_PREFIX, predict_probs
from gristmill.classify.preprocess import PREPROCESSORS, preprocess, preprocess_name
from gristmill.classify.search import search
from gristmill.classify.split import SplitResult, grouped_split


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


def _write_fasttext(path: Path, examples: list[Example], prep: Callable[[str], str] = preprocess) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for e in examples:
            f.write(f"{LABEL_PREFIX}{e.label} {prep(e.text)}\n")


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


def _evaluate(model, valid: list[Example], tests: dict[str, list[Example]], positive: str | None,
              prep: Callable[[str], str] = preprocess, rule: str = "the validation split") -> dict:
    """Threshold chosen on ``valid``; metrics of ``valid`` and of each named test set."""
    labels, pv = predict_probs(model, [e.text for e in valid], prep)
    threshold = None
    if positive is not None:
        y = np.array([e.label == positive for e in valid])
        threshold, _ = best_f1_threshold(y, pv[:, labels.index(positive)])
    out = {
        "threshold": threshold,
        "threshold_rule": f"max F1 of the positive label on {rule}" if positive else None,
        "valid": evaluate_scores(labels, [e.label for e in valid], pv, positive, threshold),
    }
    for name, examples in tests.items():
        _, pt = predict_probs(model, [e.text for e in examples], prep)
        out[name] = evaluate_scores(labels, [e.label for e in examples], pt, positive, threshold)
        if positive is not None and threshold is not None:
            y = np.array([e.label == positive for e in examples])
            pred = pt[:, labels.index(positive)] >= threshold
            out[name]["f1_interval_90"] = f1_interval(y, pred)
            out[name]["prevalence"] = prevalence_summary(y, pred)
    return out


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
    group: GroupConfig | None = None,
    recipe: RecipeConfig | None = None,
) -> TrainResult:
    """Train on ``data``, write the model to ``out`` with its metrics JSON and card.

    ``relabel`` rules change labels as the data is read (``data.Relabel``); the metrics JSON
    and the card list each rule and how many examples it changed. ``group`` holds whole groups
    out (``groupsplit``): validation and test are other groups than training, and the metrics
    keep an in-group test beside them. ``recipe`` says how parameters and cleaning are chosen
    (``config.RecipeConfig``)."""
    from gristmill.classify.card import write_card  # late: keeps import light

    cfg = cfg or ClassifierConfig()
    recipe = recipe or RecipeConfig()
    out = Path(out)
    if out.suffix not in (".bin", ".ftz"):
        raise ValueError(f"--output must end in .bin (got {out}); the quantized copy gets .ftz")
    out = out.with_suffix(".bin")
    changed: Counter = Counter()
    examples = read_examples(list(data), text_field, label_field, fmt, relabel=relabel or (), changed=changed,
                             group_field=group.field if group else None)
    positive = _positive(examples, positive)
    _check_recipe(recipe, cfg, positive)
    split, test_in, gsplit = _split(examples, cfg, group, positive)
    out.parent.mkdir(parents=True, exist_ok=True)
    tests = {"test": split.test, **({"test_in_group": test_in} if test_in is not None else {})}
    rule = "the validation groups (out of group)" if group else "the validation split"
    with tempfile.TemporaryDirectory(prefix="gristmill-ft-") as tmp:
        train_file = Path(tmp) / "train.txt"
        model, clean_opts, search_log = _fit_recipe(split, cfg, recipe, positive, train_file)
        prep_name = preprocess_name(clean_opts)
        prep = PREPROCESSORS[prep_name]
        ev = _evaluate(model, split.valid, tests, positive, prep, rule)
        tmp_model = out.with_name(out.name + ".tmp")
        model.save_model(str(tmp_model))
        os.replace(tmp_model, out)
        quantized = None
        qev = None
        if cfg.quantize:
            model.quantize(input=str(train_file), qnorm=True, retrain=True, cutoff=100_000,
                           thread=cfg.threads, verbose=0)
            qev = _evaluate(model, split.valid, tests, positive, prep, rule)
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
        "preprocess_name": prep_name,
        "clean": list(clean_opts),
        "recipe": recipe.recipe,
        "data": [str(p) for p in data],
        "relabel": [{"rule": str(r), "changed": changed[str(r)]} for r in relabel or ()],
        "split": _split_info(split, test_in, gsplit, group),
        "config": asdict(cfg),
        "fasttext_params": _model_params(model, cfg),
        "valid": ev["valid"],
        "test": ev["test"],
        "model_bytes": out.stat().st_size,
    }
    if search_log is not None:
        metrics["search"] = search_log
    if test_in is not None:
        metrics["test_in_group"] = ev["test_in_group"]
        metrics["transfer"] = _transfer_summary(ev["test_in_group"], ev["test"])
    if qev is not None and quantized is not None:
        metrics["quantized"] = {"model": quantized.name, "threshold": qev["threshold"],
                                "valid": qev["valid"], "test": qev["test"],
                                "model_bytes": quantized.stat().st_size}
    metrics_path, card_path = sidecar_paths(out)
    plot = _reliability_plot(out, metrics)
    if plot is not None:
        metrics["reliability_plot"] = plot.name
    _atomic_write_text(metrics_path, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    write_card(card_path, metrics, description)
    return TrainResult(out, metrics_path, card_path, quantized, metrics)


def _check_recipe(recipe: RecipeConfig, cfg: ClassifierConfig, positive: str | None) -> None:
    if recipe.recipe not in ("plain", "transfer"):
        raise ValueError(f"recipe must be 'plain' or 'transfer', got {recipe.recipe!r}")
    if recipe.recipe == "transfer" and positive is None:
        raise ValueError("the transfer recipe needs a positive label (--positive) to choose by its F1")
    if recipe.select not in SELECT_RULES or recipe.folds < 1:
        raise ValueError(f"select must be one of {', '.join(SELECT_RULES)} with folds >= 1, got {recipe.select!r}, "
                         f"{recipe.folds}")
    if recipe.recipe == "transfer" and cfg.autotune:
        raise ValueError("--autotune is the plain recipe's search; the transfer recipe runs its own")


def _fit_recipe(split: SplitResult, cfg: ClassifierConfig, recipe: RecipeConfig, positive: str | None,
                train_file: Path) -> tuple[Any, tuple[str, ...], dict | None]:
    """(model, cleaning options, search log or None); ``train_file`` is left holding the
    training split as the model saw it (quantization retrains on it)."""
    if recipe.recipe == "transfer":
        res = search(split.train, split.valid, positive, cfg, recipe.search_trials,  # type: ignore[arg-type]
                     recipe.search_budget_s, recipe.clean, cfg.seed, recipe.max_cost, recipe.select, recipe.folds)
        log = {"trials_run": len(res.trials), "trials_max": recipe.search_trials, "max_cost": recipe.max_cost,
               "select": res.select, "folds_max": recipe.folds, "fold_groups": res.fold_groups,
               "budget_s": recipe.search_budget_s, "stopped_by": res.stopped_by,
               "seconds": round(res.seconds, 1), "chosen": res.trials[res.best_index], "trials": res.trials}
        _write_fasttext(train_file, split.train, PREPROCESSORS[preprocess_name(res.best.clean)])
        return res.model, res.best.clean, log
    clean_opts = recipe.clean or ()
    prep = PREPROCESSORS[preprocess_name(clean_opts)]
    valid_file = train_file.with_name("valid.txt")
    _write_fasttext(train_file, split.train, prep)
    _write_fasttext(valid_file, split.valid, prep)
    return _fit(train_file, valid_file, cfg, positive), clean_opts, None


def _positive(examples: list[Example], positive: str | None) -> str | None:
    counts = Counter(e.label for e in examples)
    if len(counts) < 2:
        raise ValueError(f"need at least two labels to train a classifier, found {dict(counts)}")
    if positive is None and len(counts) == 2:
        positive = min(counts, key=lambda k: (counts[k], k))  # the rarer label
    if positive is not None and positive not in counts:
        raise ValueError(f"positive label {positive!r} not in the data (labels: {', '.join(sorted(counts))})")
    return positive


def _split(examples: list[Example], cfg: ClassifierConfig, group: GroupConfig | None, positive: str | None
           ) -> tuple[SplitResult, list[Example] | None, GroupSplit | None]:
    """(split, in-group test or None, the group split or None)."""
    if group is None:
        split = grouped_split(examples, cfg.valid_fraction, cfg.test_fraction, cfg.split_seed,
                              cfg.dedup_threshold, cfg.conflicts)
        if not split.valid or not split.test:
            raise ValueError(f"too little data for a validation and a test split: {split.sizes()}")
        return split, None, None
    gs = group_holdout_split(examples, group.valid_groups, group.test_groups, cfg.valid_fraction,
                             cfg.test_fraction, cfg.split_seed, cfg.dedup_threshold, cfg.conflicts)
    split = gs.split
    for role, key, part in (("training", "train", split.train), ("validation", "valid", split.valid),
                            ("test", "test", split.test), ("in-group test", "train", gs.test_in_group)):
        labels = Counter(e.label for e in part)
        if (positive is not None and positive not in labels) or len(labels) < 2:
            have = ", ".join(f"{n} {lab!r}" for lab, n in sorted(labels.items())) or "no examples"
            raise ValueError(f"the {role} split (groups {', '.join(gs.groups[key])}) has {have}: it needs "
                             f"both labels{f' (positive {positive!r})' if positive else ''}; choose other "
                             f"--valid-groups/--test-groups")
    return split, gs.test_in_group, gs


def _split_info(split: SplitResult, test_in: list[Example] | None, gs: GroupSplit | None,
                group: GroupConfig | None) -> dict:
    parts = {"train": split.train, "valid": split.valid, "test": split.test}
    if test_in is not None:
        parts["test_in_group"] = test_in
    info: dict = {"sizes": {k: len(v) for k, v in parts.items()}, "dedup": split.stats(),
                  "labels": {k: dict(sorted(Counter(e.label for e in v).items())) for k, v in parts.items()}}
    if gs is not None and group is not None:
        info["group_by"] = group.field
        info["groups"] = gs.groups
        info["group_sizes"] = gs.group_sizes
        info["groups_chosen"] = "given" if group.valid_groups and group.test_groups else "random"
        info["cross_role_dropped"] = gs.cross_role_dropped
    return info


def _transfer_summary(in_group: dict, out_group: dict) -> dict:
    """In-group vs out-of-group, the same threshold: what the card shows side by side."""
    keys = ("precision", "recall", "f1", "roc_auc", "pr_auc")
    row = {k: {"in_group": in_group.get(k), "out_of_group": out_group.get(k),
               "drop": None if in_group.get(k) is None or out_group.get(k) is None
               else in_group[k] - out_group[k]} for k in keys}
    for k in ("in_group", "out_of_group"):
        m = in_group if k == "in_group" else out_group
        row.setdefault("ece", {})[k] = (m.get("calibration") or {}).get("ece")
    e = row["ece"]
    e["drop"] = None if None in (e["in_group"], e["out_of_group"]) else e["in_group"] - e["out_of_group"]
    return row


def _reliability_plot(out: Path, metrics: dict) -> Path | None:
    """``MODEL.reliability.png`` beside the model (None when there is nothing to plot)."""
    from gristmill.classify.plot import reliability_plot

    curves = {name: metrics[key]["calibration"] for key, name in
              (("test_in_group", "in-group test"), ("test", "out-of-group test" if "test_in_group" in metrics
                                                    else "test split"))
              if key in metrics and metrics[key].get("calibration")}
    if not curves:
        return None
    path = out.with_suffix(".reliability.png")
    reliability_plot(path, curves, title=f"{metrics['name']}: reliability ({metrics.get('positive') or 'top label'})")
    return path
