"""Train, evaluate and document fastText classifiers (plain Python, no Beam).

- ``preprocess``: the one text transformation shared by training and inference.
- ``data``: read labelled examples from JSONL or fastText-format files.
- ``split``: group near-duplicates, then split train/valid/test by group (no leaks).
- ``groupsplit``: ``--group-by``: whole groups (sources, periods) held out for validation and
  test, with an in-group test beside them.
- ``metrics``: per-label precision/recall/F1, ROC-AUC, PR-AUC, confusion matrix, threshold,
  calibration (ECE), a bootstrap interval of F1.
- ``search``: the transfer recipe: parameters and cleaning chosen on out-of-group validation,
  within a time and a prediction-cost budget.
- ``train``: fit (plain, autotuned or searched) a model and write it with its metrics JSON,
  model card and reliability plot (``plot``).
- ``evaluate``: score a saved model on labelled data, or on several named test sets.

The pipeline applies the resulting models through the ``fasttext`` filter
(``gristmill.filters.fasttext_filter``).
"""

from gristmill.classify.preprocess import preprocess

__all__ = ["preprocess"]
