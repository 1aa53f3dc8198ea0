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


def test_error_rates_and_f1_at_prevalence_by_hand():
    """TPR 0.8, FPR 0.1 where 20% are positive: per document TP 0.16, FP 0.08, FN 0.04, so
    precision 0.16 / 0.24 = 2/3 and F1 0.32 / 0.44 = 8/11."""
    from gristmill.classify.metrics import at_prevalence, error_rates

    row = at_prevalence(0.8, 0.1, 0.2)
    assert row["precision"] == pytest.approx(2 / 3) and row["f1"] == pytest.approx(8 / 11)
    assert row["recall"] == 0.8 and row["share"] == 0.2
    assert at_prevalence(0.8, 0.1, 0.0) == {"share": 0.0, "precision": 0.0, "recall": 0.8, "f1": 0.0}
    assert at_prevalence(0.8, 0.0, 0.01)["precision"] == 1.0  # no false positives at any share
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        at_prevalence(0.8, 0.1, 1.5)
    y = np.array([1, 1, 1, 0, 0], bool)
    pred = np.array([1, 1, 0, 1, 0], bool)
    assert error_rates(y, pred) == (2 / 3, 1 / 2)
    assert error_rates(y[:3], pred[:3]) is None  # no negatives: no FPR
    # at the set's own share (3/5) the formula gives back the set's F1 (2/3)
    assert at_prevalence(2 / 3, 1 / 2, 3 / 5)["f1"] == pytest.approx(binary_scores(y, pred)["f1"]) \
        == pytest.approx(2 / 3)


def test_adjusted_share_inverts_the_predicted_positive_rate_and_clips():
    """q = TPR x share + FPR x (1 - share): with TPR 0.8 and FPR 0.1 a share of 0.2 gives
    q = 0.24, and 0.24 gives back 0.2; rates below FPR or above TPR clip to 0 and 1."""
    from gristmill.classify.metrics import adjusted_share

    assert adjusted_share(0.24, 0.8, 0.1) == pytest.approx(0.2)
    assert adjusted_share(0.1, 0.8, 0.1) == 0.0 and adjusted_share(0.8, 0.8, 0.1) == 1.0
    assert adjusted_share(0.05, 0.8, 0.1) == 0.0 and adjusted_share(0.95, 0.8, 0.1) == 1.0
    assert adjusted_share(0.3, 0.4, 0.4) is None and adjusted_share(0.3, 0.2, 0.4) is None


def test_prevalence_table_adds_the_groups_own_share_once():
    from gristmill.classify.metrics import SHARES, prevalence_summary, prevalence_table

    table = prevalence_table(0.8, 0.1, own_share=0.25)
    assert [r["share"] for r in table] == sorted([*SHARES, 0.25])
    assert [r["share"] for r in prevalence_table(0.8, 0.1, own_share=0.2)] == list(SHARES)
    f1 = [r["f1"] for r in table]
    assert f1 == sorted(f1)  # with FPR > 0, F1 grows with the share of positives
    y = np.array([1, 1, 1, 0, 0], bool)
    pv = prevalence_summary(y, np.array([1, 1, 0, 1, 0], bool))
    assert (pv["tpr"], pv["fpr"], pv["share"]) == (2 / 3, 1 / 2, 0.6)
    own = next(r for r in pv["table"] if r["share"] == 0.6)
    assert own["f1"] == pytest.approx(2 / 3)
    assert prevalence_summary(y[:3], y[:3]) is None


def test_estimate_interval_follows_the_binomial_noise_of_q():
    """With TPR 1 and FPR 0 (never redrawn otherwise) the share is q itself and F1 is 1: the
    interval is q's binomial spread, about +-1.645 x sqrt(0.3 x 0.7 / 400) = +-0.038."""
    from gristmill.classify.metrics import estimate_interval

    iv = estimate_interval(0.3, 400, 1.0, 0.0, 50, 50)
    lo, hi = iv["share"]
    assert lo < 0.3 < hi and 0.06 < hi - lo < 0.09 and iv["f1"] == [1.0, 1.0] and iv["level"] == 0.9
    assert estimate_interval(0.3, 400, 1.0, 0.0, 50, 50) == iv  # seeded
    wide = estimate_interval(0.3, 400, 0.7, 0.1, 20, 20)["share"]
    assert wide[1] - wide[0] > hi - lo  # rates from few test documents: a wider interval
    assert estimate_interval(0.3, 400, 0.0, 1.0, 50, 50) is None  # TPR <= FPR in every draw
