"""Metrics against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from gristmill.classify.metrics import (
    average_precision,
    best_f1_threshold,
    binary_scores,
    evaluate_scores,
    roc_auc,
)


def test_roc_auc_counts_pairs_and_half_ties():
    y = np.array([1, 1, 0, 0], dtype=bool)
    assert roc_auc(y, np.array([0.9, 0.4, 0.5, 0.1])) == pytest.approx(3 / 4)
    assert roc_auc(y, np.array([0.5, 0.5, 0.5, 0.5])) == pytest.approx(0.5)
    assert roc_auc(y, np.array([0.9, 0.8, 0.1, 0.2])) == 1.0
    assert roc_auc(np.array([1, 1], dtype=bool), np.array([0.1, 0.2])) is None


def test_average_precision_by_hand():
    # ranked: pos(0.9) neg(0.8) pos(0.7) neg(0.1): AP = 1/2*1 + 1/2*(2/3)
    y = np.array([1, 0, 1, 0], dtype=bool)
    s = np.array([0.9, 0.8, 0.7, 0.1])
    assert average_precision(y, s) == pytest.approx(0.5 + 1 / 3)
    assert average_precision(np.zeros(3, dtype=bool), np.ones(3)) is None


def test_binary_scores_and_zero_division():
    y = np.array([1, 1, 0, 0], dtype=bool)
    assert binary_scores(y, np.array([1, 0, 1, 0], dtype=bool)) == {
        "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert binary_scores(y, np.zeros(4, dtype=bool))["f1"] == 0.0


def test_best_threshold_maximises_f1():
    y = np.array([1, 1, 0, 1, 0, 0], dtype=bool)
    s = np.array([0.95, 0.9, 0.8, 0.6, 0.3, 0.2])
    t, f1 = best_f1_threshold(y, s)
    # s >= 0.6 gives tp=3, fp=1: F1 = 6/7 (the best); s >= 0.9 gives 2/2.5 = 0.8
    assert t == 0.6 and f1 == pytest.approx(6 / 7)


def test_evaluate_scores_threshold_and_confusion_matrix():
    labels = ["ham", "spam"]
    truth = ["spam", "spam", "ham", "ham", "ham"]
    probs = np.array([[0.3, 0.7], [0.8, 0.2], [0.9, 0.1], [0.65, 0.35], [0.99, 0.01]])
    m = evaluate_scores(labels, truth, probs, positive="spam", threshold=0.3)
    # predicted spam: rows 0 and 3; tp=1 fp=1 fn=1
    assert (m["precision"], m["recall"], m["f1"]) == (0.5, 0.5, 0.5)
    assert m["confusion_matrix"]["matrix"] == [[2, 1], [1, 1]]
    assert m["labels"]["ham"]["support"] == 3 and m["threshold"] == 0.3
    assert m["roc_auc"] == pytest.approx(5 / 6)
    with pytest.raises(ValueError, match="not a model label"):
        evaluate_scores(labels, truth, probs, positive="eggs")
