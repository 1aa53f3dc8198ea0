"""``gopher_quality``: the quality rules of Gopher's MassiveText (Rae et al. 2021, appendix A).

Every measure is computed (and written to ``doc.scores``) before any rule decides, so a kept
document carries the numbers that show what another threshold would have done. The rules are
checked in the paper's order; the first one that fails is the reason.

Definitions (words and lines as in ``text_units``; see docs/filters.md for the differences
from DataTrove's ``GopherQualityFilter``):

- ``words``: whitespace-separated words.
- ``mean_word_length``: letters and digits per word, over words that hold at least one letter
  or digit (punctuation glued to a word does not lengthen it; ``"--"`` is not a word here).
- ``hash_ratio``: ``#`` characters per word; ``ellipsis_ratio``: ``...`` and ``…`` per word.
- ``bullet_lines_frac`` / ``ellipsis_lines_frac``: of the non-empty lines, those starting with
  a bullet (``• ‣ ◦ ⁃ ∙ ▪ ● - *``, after leading whitespace) / ending with ``...`` or ``…``.
- ``alpha_words_frac``: words holding at least one alphabetic character.
- ``stop_words``: how many distinct words of the stop list occur, comparing each word
  lower-cased and with its non-alphanumeric characters removed (``"(The,"`` is ``the``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gristmill.filters import spans
from gristmill.filters.base import Filter, Verdict
from gristmill.filters.rules import Rule, Span
from gristmill.filters.text_units import _U_NOT_ALPHA_NOT_SPACE, analyze

if TYPE_CHECKING:  # Document is only annotated: declaring filters needs no pyarrow
    from gristmill.schemas import Document

STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
BULLETS = "•‣◦⁃∙▪●-*"

_BULLETS = tuple(BULLETS)
_ELLIPSES = ("...", "…")
_ELLIPSIS_RE = re.compile(r"\.\.\.|…")  # counted as text.count("...") + text.count("…")


class GopherQuality(Filter):
    """Gopher's document quality rules; thresholds are the paper's."""

    name = "gopher_quality"
    version = "1"
    RULES = (
        Rule("too_few_words", "words", "<", "min_words"),
        Rule("too_many_words", "words", ">", "max_words"),
        Rule("mean_word_length_too_short", "mean_word_length", "<", "min_mean_word_length"),
        Rule("mean_word_length_too_long", "mean_word_length", ">", "max_mean_word_length"),
        Rule("too_many_hashes", "hash_ratio", ">", "max_hash_ratio", "hash_spans", "# characters"),
        Rule("too_many_ellipses", "ellipsis_ratio", ">", "max_ellipsis_ratio", "ellipsis_spans",
             "ellipses"),
        Rule("too_many_bullet_lines", "bullet_lines_frac", ">", "max_bullet_lines_frac",
             "bullet_line_spans", "bullet lines"),
        Rule("too_many_ellipsis_lines", "ellipsis_lines_frac", ">", "max_ellipsis_lines_frac",
             "ellipsis_line_spans", "lines ending in an ellipsis"),
        Rule("too_few_alpha_words", "alpha_words_frac", "<", "min_alpha_words_frac",
             "non_alpha_word_spans", "words without a letter"),
        Rule("too_few_stop_words", "stop_words", "<", "min_stop_words"),
    )
    reasons = tuple(r.reason for r in RULES)

    def __init__(
        self,
        min_words: int = 50,
        max_words: int = 100_000,
        min_mean_word_length: float = 3.0,
        max_mean_word_length: float = 10.0,
        max_hash_ratio: float = 0.1,
        max_ellipsis_ratio: float = 0.1,
        max_bullet_lines_frac: float = 0.9,
        max_ellipsis_lines_frac: float = 0.3,
        min_alpha_words_frac: float = 0.8,
        min_stop_words: int = 2,
        stop_words: tuple[str, ...] = STOP_WORDS,
    ) -> None:
        if not 0 <= min_words <= max_words:
            raise ValueError(f"gopher_quality: need 0 <= min_words <= max_words, got {min_words}, {max_words}")
        if not 0 <= min_mean_word_length <= max_mean_word_length:
            raise ValueError("gopher_quality: need 0 <= min_mean_word_length <= max_mean_word_length")
        self.min_words = min_words
        self.max_words = max_words
        self.min_mean_word_length = min_mean_word_length
        self.max_mean_word_length = max_mean_word_length
        self.max_hash_ratio = max_hash_ratio
        self.max_ellipsis_ratio = max_ellipsis_ratio
        self.max_bullet_lines_frac = max_bullet_lines_frac
        self.max_ellipsis_lines_frac = max_ellipsis_lines_frac
        self.min_alpha_words_frac = min_alpha_words_frac
        self.min_stop_words = min_stop_words
        self.stop_words = tuple(w.lower() for w in stop_words)
        self._stop_set = frozenset(self.stop_words)

    def measure(self, text: str) -> dict[str, float]:
        """All scores of one text (keys namespaced ``gopher_quality.*``)."""
        u = analyze(text)
        n_words = len(u.words)
        if n_words:
            c = u.chars
            n_alnum_words = len(c.alnum_words)
            mean_len = c.alnum / n_alnum_words if n_alnum_words else 0.0
            hash_ratio = text.count("#") / n_words
            ellipsis_ratio = (text.count("...") + text.count("…")) / n_words
            alpha_frac = c.alpha_words / n_words
            n_stop = len(self._stop_set.intersection(c.alnum_words))
        else:
            mean_len = hash_ratio = ellipsis_ratio = alpha_frac = 0.0
            n_stop = 0
        lines = u.nonempty_lines
        if lines:
            bullet_frac = sum(ln.lstrip().startswith(_BULLETS) for ln in lines) / len(lines)
            ell_lines_frac = sum(ln.rstrip().endswith(_ELLIPSES) for ln in lines) / len(lines)
        else:
            bullet_frac = ell_lines_frac = 0.0
        return {
            "gopher_quality.words": float(n_words),
            "gopher_quality.mean_word_length": mean_len,
            "gopher_quality.hash_ratio": hash_ratio,
            "gopher_quality.ellipsis_ratio": ellipsis_ratio,
            "gopher_quality.bullet_lines_frac": bullet_frac,
            "gopher_quality.ellipsis_lines_frac": ell_lines_frac,
            "gopher_quality.alpha_words_frac": alpha_frac,
            "gopher_quality.stop_words": float(n_stop),
        }

    def __call__(self, doc: Document) -> Verdict:
        return self.decide(self.measure(doc.text))

    # the units each rule counts (``inspect`` highlights them) ---------------------------
    def hash_spans(self, text: str) -> list[Span]:
        return spans.pattern(text, "#")

    def ellipsis_spans(self, text: str) -> list[Span]:
        return spans.pattern(text, _ELLIPSIS_RE)

    def bullet_line_spans(self, text: str) -> list[Span]:
        return spans.nonempty_lines_where(text, lambda ln: ln.lstrip().startswith(_BULLETS))

    def ellipsis_line_spans(self, text: str) -> list[Span]:
        return spans.nonempty_lines_where(text, lambda ln: ln.rstrip().endswith(_ELLIPSES))

    def non_alpha_word_spans(self, text: str) -> list[Span]:
        return spans.words_where(text, lambda w: not _U_NOT_ALPHA_NOT_SPACE.sub("", w))
