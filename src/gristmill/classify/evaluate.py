"""Score a saved fastText model on labelled data (``gristmill classifier eval``).

The decision threshold and positive label default to those in the model's metrics JSON, so
evaluating a model on new data uses the decision rule it ships with.

Unlabelled sets (``--unlabeled NAME=FILE``) get no measured F1, but an expected one: the share
of positives there is estimated by adjusted classify-and-count from the share the model flags
and the true and false positive rates its metrics JSON records on the test set, and F1 is
computed at that share (``metrics.at_prevalence``, docs/classifiers.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from gristmill.classify.data import Relabel, read_examples, read_texts
from gristmill.classify.metrics import (
    adjusted_share,
    at_prevalence,
    estimate_interval,
    evaluate_scores,
)
from gristmill.classify.model import load_model, predict_probs
from gristmill.classify.preprocess import PREPROCESSORS
from gristmill.classify.train import sidecar_paths
from gristmill.errors import UserError


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
    unlabeled: dict[str, list[str | Path]] | None = None,
) -> dict:
    """The model on several named test sets (``classifier eval --test NAME=FILE``), each
    scored on its own with the same decision rule: ``{"model", "positive", "threshold",
    "preprocess", "sets": {name: metrics JSON with its "data"}}``. Several sets rather than
    one pooled file: a model that is good on one source and poor on another shows it.
    ``unlabeled`` sets are scored without labels (``unlabeled_estimate``), under "unlabeled";
    they need the shipped decision rule, whose error rates the metrics JSON records."""
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
    if unlabeled:
        rates = shipped_rates(model_path, positive, threshold)
        out["unlabeled"] = {}
        for name, data in unlabeled.items():
            texts = read_texts(list(data), text_field, fmt)
            labels, probs = predict_probs(model, texts, prep)
            q = float((probs[:, labels.index(positive)] >= threshold).mean())  # type: ignore[arg-type]
            est = unlabeled_estimate(q, *rates[:2])
            est["interval_90"] = estimate_interval(q, len(texts), *rates)
            out["unlabeled"][name] = {**est, "n": len(texts), "data": [str(p) for p in data]}
    return out


def unlabeled_estimate(q: float, tpr: float, fpr: float) -> dict:
    """From the share ``q`` of documents the model flags: the estimated share of positives
    (``metrics.adjusted_share``) and the expected precision and F1 there, with the rates used.
    ``expected`` is None when TPR <= FPR (no estimate possible). A ``warning`` when ``q`` is
    outside (FPR, TPR), where the share clips to 0 or 1: measured, that is where the estimate
    fails, on data whose error rates differ from the test groups' (benchmarks/RESULTS.md,
    "classifier transfer": the undated comments and murphy, off by 0.14-0.62 F1), and the
    plain estimate would be reported with false confidence."""
    share = adjusted_share(q, tpr, fpr)
    out = {"predicted_positive_rate": q, "tpr": tpr, "fpr": fpr, "estimated_share": share,
           "expected": None if share is None else at_prevalence(tpr, fpr, share)}
    if share is not None and not fpr < q < tpr:
        # the share was clipped: no share of positives gives this flag rate at these error rates
        bound, rate = ("at most its test FPR", fpr) if q <= fpr else ("at least its test TPR", tpr)
        out["warning"] = (f"the model flags {q:.1%} of this data, {bound} ({rate:.1%}): its error rates differ "
                          f"here (or positives are too few to show), so neither the estimated share nor the "
                          f"expected F1 can be trusted")
    return out


def shipped_rates(model_path: str | Path, positive: str | None, threshold: float | None
                  ) -> tuple[float, float, int, int]:
    """(TPR, FPR, positives, negatives) of the model's positive label at its shipped threshold
    on its test set, from the metrics JSON (the confusion matrix, which every gristmill model's
    metrics keep; its ``prevalence`` block has the same rates). A UserError when they do not
    apply: no metrics JSON, or another decision rule."""
    m = _shipped_metrics(model_path)
    ship_pos, ship_thr = shipped_decision(model_path)
    test = m.get("test") or {}
    if Path(model_path).suffix == ".ftz" and "quantized" in m:
        test = m["quantized"].get("test") or {}
    if ship_pos is None or ship_thr is None or not test:
        raise UserError(f"--unlabeled needs the error rates recorded in the model's metrics JSON with a "
                        f"positive label and threshold; {model_path} has none (was it trained by gristmill?)")
    if positive != ship_pos or threshold != ship_thr:
        raise UserError(f"--unlabeled uses the error rates recorded at the model's own decision rule "
                        f"(positive {ship_pos!r}, threshold {ship_thr}); leave out --positive/--threshold")
    cm = test["confusion_matrix"]
    j = cm["labels"].index(ship_pos)
    rows = cm["matrix"]
    pos_row = rows[j]
    neg_rows = [r for i, r in enumerate(rows) if i != j]
    n_pos, n_neg = sum(pos_row), sum(sum(r) for r in neg_rows)
    if not n_pos or not n_neg:
        raise UserError(f"--unlabeled: the test set in {model_path}'s metrics JSON lacks one of the classes")
    return pos_row[j] / n_pos, sum(r[j] for r in neg_rows) / n_neg, n_pos, n_neg
