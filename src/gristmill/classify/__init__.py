"""Train, evaluate and document fastText classifiers (plain Python, no Beam).

- ``preprocess``: the one text transformation shared by training and inference.
- ``data``: read labelled examples from JSONL or fastText-format files.
- ``split``: group near-duplicates, then split train/valid/test by group (no leaks).
- ``metrics``: per-label precision/recall/F1, ROC-AUC, PR-AUC, confusion matrix, threshold.
- ``train``: fit (or autotune) a model and write it with its metrics JSON and model card.
- ``evaluate``: score a saved model on labelled data.

The pipeline applies the resulting models through the ``fasttext`` filter
(``gristmill.filters.fasttext_filter``).
"""

from gristmill.classify.preprocess import preprocess

__all__ = ["preprocess"]
