"""Score a saved fastText model on labelled data (``gristmill classifier eval``).

The decision threshold and positive label default to those in the model's metrics JSON, so
evaluating a model on new data uses the decision rule it ships with.
"""

from __future__ import annotations

import json
from pathlib import Path

from gristmill.classify.data import Relabel, read_examples
from gristmill.classify.metrics import evaluate_scores
from gristmill.classify.model import load_model, predict_probs
from gristmill.classify.preprocess import PREPROCESSORS
from gristmill.classify.train import sidecar_paths


def shipped_decision(model_path: str | Path) -> tuple[str | None, float | None]:
    """(positive label, threshold) recorded when the model was trained, if any."""
    m = _shipped_metrics(model_path)
    if Path(model_path).suffix == ".ftz" and "quantized" in m:
        return m.get("positive"), m["quantized"].get("threshold")
    return m.get("positive"), m.get("threshold")


def shipped_preprocess(model_path: str | Path) -> str:
    """The ``preprocess`` name the model was trained with (``gristmill`` when not recorded)."""
    return _shipped_metrics(model_path).get("preprocess_name", "gristmill")


def _shipped_metrics(model_path: str | Path) -> dict:
    metrics_path, _ = sidecar_paths(Path(model_path).with_suffix(".bin"))
    if not metrics_path.is_file():
        return {}
    return json.loads(metrics_path.read_text())


def evaluate_model(
    model_path: str | Path,
    data: list[str | Path],
    positive: str | None = None,
    threshold: float | None = None,
    text_field: str = "text",
    label_field: str = "label",
    fmt: str = "auto",
    relabel: list[Relabel] | None = None,
) -> dict:
    """Metrics JSON (see ``metrics.evaluate_scores``) of the model on ``data`` (labels changed
    by ``relabel`` rules as they are read, as in training). ``model_path`` may be a built-in
    model's name (``classify.builtin``)."""
    res = evaluate_sets(model_path, {"input": list(data)}, positive, threshold, text_field, label_field,
                        fmt, relabel)
    out = res["sets"]["input"]
    out["model"] = res["model"]
    out["data"] = [str(p) for p in data]
    return out


def evaluate_sets(
    model_path: str | Path,
    sets: dict[str, list[str | Path]],
    positive: str | None = None,
    threshold: float | None = None,
    text_field: str = "text",
    label_field: str = "label",
    fmt: str = "auto",
    relabel: list[Relabel] | None = None,
) -> dict:
    """The model on several named test sets (``classifier eval --test NAME=FILE``), each
    scored on its own with the same decision rule: ``{"model", "positive", "threshold",
    "preprocess", "sets": {name: metrics JSON with its "data"}}``. Several sets rather than
    one pooled file: a model that is good on one source and poor on another shows it."""
    from gristmill.classify.builtin import resolve_model

    model_path = resolve_model(model_path)
    model = load_model(model_path)
    ship_pos, ship_thr = shipped_decision(model_path)
    if positive is None:
        positive = ship_pos
    if threshold is None:
        threshold = ship_thr if positive == ship_pos and ship_thr is not None else 0.5
    prep_name = shipped_preprocess(model_path)
    prep = PREPROCESSORS[prep_name]
    out: dict = {"model": str(model_path), "positive": positive,
                 "threshold": threshold if positive is not None else None, "preprocess": prep_name, "sets": {}}
    for name, data in sets.items():
        examples = read_examples(list(data), text_field, label_field, fmt, relabel=relabel or ())
        labels, probs = predict_probs(model, [e.text for e in examples], prep)
        m = evaluate_scores(labels, [e.label for e in examples], probs, positive,
                            threshold if positive is not None else None)
        m["data"] = [str(p) for p in data]
        out["sets"][name] = m
    return out
