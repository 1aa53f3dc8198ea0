"""``fasttext``: drop documents a fastText classifier puts in an unwanted class.

``model`` is a path or a built-in name (``spam-sms``, ``toxicity-fortunes``: built into the
cache on first use, ``classify.builtin``). Works with models from ``gristmill classifier
train`` and with any other fastText ``.bin``/``.ftz`` classifier (for example
DataTrove/Dolma-style Jigsaw or quality models), named by path and labels; set
``preprocess: single_line`` for models trained on raw text rather than on gristmill's
preprocessing.

The probability of each label in ``remove`` goes to ``doc.scores`` (kept or not), under
``<filter name>.<label>``, so thresholds can be re-tuned from a run's output. ``tag`` names the
instance (``fasttext_toxicity``, ``fasttext_spam``) so two fasttext filters in one chain have
distinct filter names, reason codes and score keys.

Long documents: a classifier trained on short texts sees a whole book as one bag of words;
``paragraphs: mean`` or ``max`` scores each paragraph (``text_units.paragraphs``) and
aggregates, ``max`` flagging a document with any bad paragraph. ``max_chars`` scores only the
first characters (cut at a word boundary, ``classify.preprocess.window``): the cost of a
document is then bounded, at the price of not seeing the rest (docs/classifiers.md measures
how many demo decisions change).

The model is loaded in ``setup()`` through a per-process cache (``classify.model``) and is
never pickled with the filter, so Beam ships only the path (or name) to each worker.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from gristmill.classify.model import label_probs, load_for_filter
from gristmill.classify.preprocess import PREPROCESSORS, window
from gristmill.filters.base import Filter, Verdict
from gristmill.filters.rules import Rule
from gristmill.filters.text_units import BATCH_CHARS, BATCH_ENTRIES, TextCache, paragraphs

if TYPE_CHECKING:  # Document is only annotated: declaring filters needs no pyarrow
    from gristmill.schemas import Document

_TAG = re.compile(r"^[A-Za-z0-9_]+$")


_PREPARED = TextCache(max_entries=BATCH_ENTRIES, max_chars=BATCH_CHARS)


def _prepared(how: str, max_chars: int | None, text: str) -> str:
    """``PREPROCESSORS[how](window(text, max_chars))``, remembered for recent texts: the
    toxicity and spam filters of one chain see the same text object, and tokenizing a long
    document costs as much as classifying it. Keyed on the identity of the text plus the
    preprocessing and the window (``TextCache``: bounded, holds up to a batch of documents,
    as ``FilterChain.run_batch`` runs each filter over a batch before the next)."""
    line = _PREPARED.get(text, how, max_chars)
    if line is None:
        line = PREPROCESSORS[how](window(text, max_chars))
        _PREPARED.put(text, line, how, max_chars)
    return line  # type: ignore[return-value]


class FastTextFilter(Filter):
    """Reject a document when P(label) >= ``threshold`` for any label in ``remove``."""

    name = "fasttext"
    version = "1"
    reasons = ("above_threshold",)

    def __init__(
        self,
        model: str,
        remove: list[str] | str,
        threshold: float = 0.5,
        tag: str | None = None,
        paragraphs: str | None = None,
        preprocess: str = "gristmill",
        max_chars: int | None = None,
    ) -> None:
        if isinstance(remove, str):
            remove = [remove]
        remove = [r.removeprefix("__label__") for r in remove]
        if not remove:
            raise ValueError("fasttext: remove must name at least one label")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"fasttext: threshold must be in [0, 1], got {threshold}")
        if paragraphs not in (None, "mean", "max"):
            raise ValueError(f"fasttext: paragraphs must be null, 'mean' or 'max', got {paragraphs!r}")
        if preprocess not in PREPROCESSORS:
            raise ValueError(f"fasttext: preprocess must be one of {sorted(PREPROCESSORS)}, got {preprocess!r}")
        if max_chars is not None and max_chars < 1:
            raise ValueError(f"fasttext: max_chars must be >= 1 or null, got {max_chars}")
        if tag is not None and not _TAG.match(tag):
            raise ValueError(f"fasttext: tag must be letters, digits or _, got {tag!r}")
        self.model = str(model)
        self.remove = remove
        self.threshold = float(threshold)
        self.tag = tag
        self.paragraphs = paragraphs
        self.preprocess = preprocess
        self.max_chars = max_chars
        # Instance name shadows the ClassVar: reason codes and score keys use it.
        self.name = f"fasttext_{tag}" if tag else "fasttext"  # type: ignore[misc]
        self._model: Any = None
        self._keys = [f"{self.name}.{lab}" for lab in remove]  # score keys

    def setup(self) -> None:
        """Load the model (once per process) and check it predicts the labels to remove."""
        if self._model is not None:
            return
        from gristmill.classify.builtin import resolve_model

        self._model = load_for_filter(self.name, resolve_model(self.model), self.remove)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_model"] = None  # a fastText model cannot be pickled; reloaded by setup()
        return state

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in super().params().items() if k != "name"}

    def score(self, text: str) -> list[float]:
        """P(label) for each label in ``remove`` (on the first ``max_chars`` characters when
        set), aggregated over paragraphs when asked."""
        if self._model is None:
            self.setup()
        if not self.paragraphs:
            p = label_probs(self._model, _prepared(self.preprocess, self.max_chars, text))
            return [p.get(lab, 0.0) for lab in self.remove]
        prep = PREPROCESSORS[self.preprocess]
        text = window(text, self.max_chars)
        units = paragraphs(text) or [text]
        per = [label_probs(self._model, prep(u)) for u in units]
        cols = [[p.get(lab, 0.0) for p in per] for lab in self.remove]
        if self.paragraphs == "max":
            return [max(c) for c in cols]
        return [sum(c) / len(c) for c in cols]

    def rules(self) -> tuple[Rule, ...]:
        """One threshold per label to remove; the rejection's value is the highest of them."""
        return tuple(Rule("above_threshold", lab, ">=", "threshold") for lab in self.remove)

    def __call__(self, doc: Document) -> Verdict:
        p = self.score(doc.text)
        scores = {key: x for key, x in zip(self._keys, p, strict=True)}
        worst = max(p)
        if worst >= self.threshold:
            return self.reject("above_threshold", worst, self.threshold, scores)
        return Verdict(keep=True, scores=scores)
