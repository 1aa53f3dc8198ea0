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


def test_ece_by_hand():
    """Two bins: [0, 0.5) holds 0.1 and 0.3 (mean 0.2, no positives: gap 0.2); [0.5, 1] holds
    0.5, 0.9 and 1.0 (mean 0.8, two of three positive: gap 0.8 - 2/3). ECE weighs each gap by
    the bin's share of documents: 2/5 * 0.2 + 3/5 * (0.8 - 2/3) = 0.16."""
    from gristmill.classify.metrics import calibration

    cal = calibration(np.array([0, 0, 0, 1, 1], bool), np.array([0.1, 0.3, 0.5, 0.9, 1.0]), n_bins=2)
    assert cal["ece"] == pytest.approx(0.16)
    lo, hi = cal["bins"]
    assert (lo["n"], hi["n"]) == (2, 3)  # 0.5 opens the upper bin; 1.0 is in the last one
    assert lo["mean_p"] == pytest.approx(0.2) and lo["frac_positive"] == 0.0
    assert hi["mean_p"] == pytest.approx(0.8) and hi["frac_positive"] == pytest.approx(2 / 3)
    perfect = calibration(np.array([0, 1, 1, 1], bool), np.array([0.0, 1.0, 1.0, 1.0]), n_bins=10)
    assert perfect["ece"] == 0.0 and sum(b["n"] for b in perfect["bins"]) == 4
    assert calibration(np.array([], bool), np.array([]))["ece"] is None


def test_evaluate_scores_reports_calibration_of_the_positive_label():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    out = evaluate_scores(["ham", "spam"], ["ham", "spam", "spam"], probs, "spam", 0.5)
    # P(spam) 0.1, 0.8, 0.4 against truths 0, 1, 1 in ten bins: gaps 0.1, 0.2, 0.6
    assert out["calibration"]["ece"] == pytest.approx((0.1 + 0.2 + 0.6) / 3)


def test_f1_interval_brackets_the_f1_and_is_seeded():
    from gristmill.classify.metrics import f1_interval

    assert f1_interval(np.array([1, 0, 1], bool), np.array([1, 0, 1], bool)) == (1.0, 1.0)
    assert f1_interval(np.array([0, 0], bool), np.array([1, 0], bool)) is None  # no positives: no F1
    rng = np.random.default_rng(1)
    y = rng.random(400) < 0.3
    pred = np.where(rng.random(400) < 0.8, y, ~y)  # 80% right
    f1 = binary_scores(y, pred)["f1"]
    lo, hi = f1_interval(y, pred)
    assert lo < f1 < hi and hi - lo < 0.2 and (lo, hi) == f1_interval(y, pred)
