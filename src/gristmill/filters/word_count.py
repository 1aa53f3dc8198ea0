"""``word_count``: drop documents with too few or too many words."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gristmill.filters.base import Filter, Verdict
from gristmill.filters.rules import Rule
from gristmill.filters.text_units import words

if TYPE_CHECKING:  # Document is only annotated: declaring filters needs no pyarrow
    from gristmill.schemas import Document


class WordCount(Filter):
    """Keep documents with ``min_words <= words <= max_words`` (words as in text_units)."""

    name = "word_count"
    version = "1"
    reasons = ("too_few_words", "too_many_words")
    RULES = (
        Rule("too_few_words", "words", "<", "min_words"),
        Rule("too_many_words", "words", ">", "max_words"),
    )

    def __init__(self, min_words: int = 50, max_words: int = 100_000) -> None:
        if min_words < 0 or max_words < min_words:
            raise ValueError(f"word_count: need 0 <= min_words <= max_words, got {min_words}, {max_words}")
        self.min_words = min_words
        self.max_words = max_words

    def __call__(self, doc: Document) -> Verdict:
        return self.decide({"word_count.words": float(len(words(doc.text)))})
