"""Classifier metrics: per-label precision/recall/F1, ROC-AUC, PR-AUC, confusion matrix.

Written with numpy rather than pulling in scikit-learn for five formulas. Conventions match
scikit-learn's: ROC-AUC is the Mann-Whitney probability that a random positive outscores a
random negative (ties count one half); PR-AUC is average precision (the step-wise sum of
precision at each recall increase, no interpolation); a ratio with a zero denominator is 0.
"""

from __future__ import annotations

import numpy as np


def _div(a: float, b: float) -> float:
    return float(a) / float(b) if b else 0.0


def roc_auc(y: np.ndarray, s: np.ndarray) -> float | None:
    """ROC-AUC of scores ``s`` for boolean truth ``y``; None when only one class is present."""
    y = np.asarray(y, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=float)
    sorted_s = np.asarray(s)[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_s, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def average_precision(y: np.ndarray, s: np.ndarray) -> float | None:
    """PR-AUC as average precision; None without positives."""
    y = np.asarray(y, dtype=bool)
    n_pos = int(y.sum())
    if n_pos == 0:
        return None
    order = np.argsort(-np.asarray(s), kind="mergesort")
    s_sorted, y_sorted = np.asarray(s)[order], y[order]
    tp = np.cumsum(y_sorted)
    fp = np.cumsum(~y_sorted)
    # evaluate only at the last index of each run of tied scores
    last = np.r_[np.diff(s_sorted) != 0, True]
    tp, fp = tp[last], fp[last]
    precision = tp / (tp + fp)
    recall = tp / n_pos
    d_recall = np.diff(np.r_[0.0, recall])
    return float((d_recall * precision).sum())


def binary_scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    y, pred = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
    tp = int((y & pred).sum())
    p = _div(tp, pred.sum())
    r = _div(tp, y.sum())
    return {"precision": p, "recall": r, "f1": _div(2 * p * r, p + r), "support": int(y.sum())}


def f1_interval(y: np.ndarray, pred: np.ndarray, level: float = 0.9, n: int = 500, seed: int = 0
                ) -> tuple[float, float] | None:
    """A ``level`` bootstrap interval of F1 (documents resampled with replacement, ``n``
    times, seeded): how much the figure owes to which documents were drawn. It says nothing
    of how much another *group* would differ, which is often more (docs/classifiers.md)."""
    y, pred = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
    if len(y) == 0 or not y.any():
        return None
    rng = np.random.default_rng(seed)
    f1 = []
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        yy, pp = y[idx], pred[idx]
        if yy.any():  # a draw without positives has no F1
            f1.append(2 * np.count_nonzero(yy & pp) / (np.count_nonzero(yy) + np.count_nonzero(pp)))
    lo, hi = np.quantile(f1, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def best_f1_threshold(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """The score threshold (predict positive when ``s >= t``) with the highest F1, and that F1.

    Candidates are the observed scores; among equal F1 the highest threshold wins (fewer
    removals for the same quality). Returns (0.5, 0.0) when there are no positives.
    """
    y, s = np.asarray(y, dtype=bool), np.asarray(s, dtype=float)
    n_pos = int(y.sum())
    if n_pos == 0 or len(s) == 0:
        return 0.5, 0.0
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    tp = np.cumsum(y_sorted)
    k = np.arange(1, len(s) + 1)
    last = np.r_[np.diff(s_sorted) != 0, True]
    f1 = 2 * tp / (k + n_pos)
    f1 = np.where(last, f1, -1.0)
    best = float(f1.max())
    i = int(np.flatnonzero(f1 == best)[0])
    return float(s_sorted[i]), best


def calibration(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> dict:
    """Expected calibration error (ECE) of probabilities ``p`` for boolean outcomes ``y``, with
    the reliability table it is computed from.

    Binning: ``n_bins`` equal-width bins over [0, 1]; bin k holds k/n <= p < (k+1)/n, and the
    last bin also holds p = 1. ECE = sum over bins of (documents in the bin / all documents) x
    |fraction of positive outcomes in the bin - mean p in the bin|; empty bins add nothing.
    0 means "of the documents scored about 0.8, about 80% are positive", everywhere.
    """
    y = np.asarray(y, dtype=bool)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    k = np.minimum((p * n_bins).astype(int), n_bins - 1)
    bins = []
    ece = 0.0
    for b in range(n_bins):
        m = k == b
        n = int(m.sum())
        mean_p = float(p[m].mean()) if n else None
        frac = float(y[m].mean()) if n else None
        if n:
            ece += n / len(p) * abs(frac - mean_p)  # type: ignore[operator]
        bins.append({"lo": b / n_bins, "hi": (b + 1) / n_bins, "n": n, "mean_p": mean_p, "frac_positive": frac})
    return {"ece": float(ece) if len(p) else None, "n_bins": n_bins, "bins": bins}


def evaluate_scores(
    labels: list[str],
    y_true: list[str],
    probs: np.ndarray,
    positive: str | None = None,
    threshold: float | None = None,
) -> dict:
    """Metrics of a probability matrix ``probs`` (rows: examples, columns: ``labels``).

    Predicted label: ``positive`` when its probability is >= ``threshold`` (binary decision
    with a tuned threshold), else the most probable other label; without ``positive``, the
    arg-max. Per-label metrics are one-vs-rest; the top-level ``precision``/``recall``/``f1``
    /``roc_auc``/``pr_auc`` are the positive label's (or macro averages without one).
    """
    probs = np.asarray(probs, dtype=float)
    idx = {lab: j for j, lab in enumerate(labels)}
    truth = np.array([idx.get(t, -1) for t in y_true])
    pred = probs.argmax(axis=1) if len(probs) else np.zeros(0, dtype=int)
    if positive is not None:
        if positive not in idx:
            raise ValueError(f"positive label {positive!r} is not a model label ({', '.join(labels)})")
        if threshold is None:
            threshold = 0.5
        pj = idx[positive]
        others = probs.copy()
        others[:, pj] = -1.0
        alt = others.argmax(axis=1) if len(labels) > 1 else np.full(len(probs), pj)
        pred = np.where(probs[:, pj] >= threshold, pj, alt)
    per_label = {}
    for lab, j in idx.items():
        y = truth == j
        sc = binary_scores(y, pred == j)
        sc["roc_auc"] = roc_auc(y, probs[:, j])
        sc["pr_auc"] = average_precision(y, probs[:, j])
        per_label[lab] = sc
    cm = np.zeros((len(labels), len(labels)), dtype=int)
    for t, p in zip(truth, pred, strict=True):
        if t >= 0:
            cm[t, p] += 1
    out: dict = {"n": len(y_true), "positive": positive, "threshold": threshold,
                 "accuracy": _div(int((truth == pred).sum()), len(y_true))}
    if positive is not None:
        top = per_label[positive]
    else:
        keys = ("precision", "recall", "f1", "roc_auc", "pr_auc")
        top = {k: float(np.mean([v[k] for v in per_label.values() if v[k] is not None] or [0.0]))
               for k in keys}
    out.update({k: top[k] for k in ("precision", "recall", "f1", "roc_auc", "pr_auc")})
    out["labels"] = per_label
    # Calibration of what the decision reads: P(positive) against "is positive"; without a
    # positive label, the top label's probability against "the top label is right".
    if positive is not None:
        out["calibration"] = calibration(truth == idx[positive], probs[:, idx[positive]])
    elif len(probs):
        out["calibration"] = calibration(truth == probs.argmax(axis=1), probs.max(axis=1))
    out["confusion_matrix"] = {"labels": list(labels), "rows": "true", "columns": "predicted",
                               "matrix": cm.tolist()}
    unknown = sorted({t for t in y_true if t not in idx})
    if unknown:
        out["unknown_labels"] = unknown  # true labels the model cannot predict
    return out


# ---------------------------------------------------------------------------------------------
# Prevalence: F1 and precision follow the share of positives; TPR and FPR do not (much).
#
# A group with another share of positives than the card's estimate group gets another F1 even
# when the model's errors per class are the same. So the card shows F1 as a function of the
# share, computed from the estimate group's TPR and FPR at the chosen threshold, and
# ``classifier eval --unlabeled`` estimates the share of an unlabelled file by adjusted
# classify-and-count (Forman 2008): q = TPR * share + FPR * (1 - share), solved for the share.
# Both assume the class-conditional error rates carry over to the other group, which is the
# whole bet of the estimate (docs/classifiers.md).

SHARES = (0.01, 0.05, 0.1, 0.2, 0.3, 0.5)  # the card's table


def error_rates(y: np.ndarray, pred: np.ndarray) -> tuple[float, float] | None:
    """(TPR, FPR) of boolean decisions ``pred`` against truth ``y``; None without both classes."""
    y, pred = np.asarray(y, dtype=bool), np.asarray(pred, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    return int((y & pred).sum()) / n_pos, int((~y & pred).sum()) / n_neg


def at_prevalence(tpr: float, fpr: float, share: float) -> dict[str, float]:
    """Expected precision, recall and F1 where a ``share`` of documents is positive, if the
    true and false positive rates stay ``tpr`` and ``fpr``. Per document: TP = share x TPR,
    FP = (1 - share) x FPR, FN = share x (1 - TPR); F1 = 2 TP / (2 TP + FP + FN)."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share of positives must be in [0, 1], got {share}")
    tp, fp, fn = share * tpr, (1.0 - share) * fpr, share * (1.0 - tpr)
    return {"share": share, "precision": _div(tp, tp + fp), "recall": tpr, "f1": _div(2 * tp, 2 * tp + fp + fn)}


def adjusted_share(q: float, tpr: float, fpr: float) -> float | None:
    """The share of positives behind a predicted-positive rate ``q``: (q - FPR) / (TPR - FPR),
    clipped to [0, 1] (adjusted classify-and-count). None when TPR <= FPR: the decisions then
    carry no information about the share."""
    if tpr <= fpr:
        return None
    return min(1.0, max(0.0, (q - fpr) / (tpr - fpr)))


def prevalence_table(tpr: float, fpr: float, own_share: float | None = None,
                     shares: tuple[float, ...] = SHARES) -> list[dict[str, float]]:
    """``at_prevalence`` at each of ``shares`` and at ``own_share`` (the estimate group's own
    share, which then reproduces its F1), sorted by share, each share once."""
    want = sorted(set(shares) | ({own_share} if own_share is not None else set()))
    return [at_prevalence(tpr, fpr, s) for s in want]


def prevalence_summary(y: np.ndarray, pred: np.ndarray) -> dict | None:
    """What the metrics JSON keeps of a labelled set for prevalence estimates: its TPR, FPR,
    share of positives and ``prevalence_table``; None without both classes."""
    rates = error_rates(y, pred)
    if rates is None:
        return None
    y = np.asarray(y, dtype=bool)
    share = float(np.mean(y))
    return {"tpr": rates[0], "fpr": rates[1], "share": share, "n_pos": int(y.sum()), "n_neg": int((~y).sum()),
            "table": prevalence_table(*rates, own_share=share)}


def estimate_interval(q: float, n: int, tpr: float, fpr: float, n_pos: int, n_neg: int, level: float = 0.9,
                      draws: int = 2000, seed: int = 0) -> dict | None:
    """A ``level`` interval of the adjusted share and of the F1 expected there, from sampling
    alone: q, TPR and FPR are redrawn from binomials of their own counts (``n`` documents
    scored; ``n_pos`` and ``n_neg`` test documents behind the rates), ``draws`` times, seeded.
    Draws with TPR <= FPR are left out; None when all are. It does not cover a change of the
    error rates themselves between the test set and the new data, often the larger error."""
    rng = np.random.default_rng(seed)
    qs = rng.binomial(n, q, draws) / n
    ts = rng.binomial(n_pos, tpr, draws) / n_pos
    fs = rng.binomial(n_neg, fpr, draws) / n_neg
    ok = ts > fs
    if not ok.any():
        return None
    qs, ts, fs = qs[ok], ts[ok], fs[ok]
    share = np.clip((qs - fs) / (ts - fs), 0.0, 1.0)
    tp, fp, fn = share * ts, (1 - share) * fs, share * (1 - ts)
    den = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, den, out=np.zeros_like(den), where=den > 0)
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    return {"level": level, "share": [float(x) for x in np.quantile(share, [lo, hi])],
            "f1": [float(x) for x in np.quantile(f1, [lo, hi])]}
