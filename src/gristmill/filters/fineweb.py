"""``fineweb_quality``: the line rules FineWeb added on top of C4 and Gopher
(Penedo et al. 2024, "The FineWeb Datasets", section 3.5; thresholds from the paper's text).

Over the non-empty lines (``text_units``):

- ``punct_lines_frac``: lines ending in terminal punctuation (``TERMINAL``, optionally
  followed by closing quotes/brackets ``CLOSERS``); dropped when ``<= 0.12``.
- ``short_lines_frac``: lines shorter than 30 characters; dropped when ``>= 0.67``.
- ``dup_line_char_frac``: characters of lines equal to an earlier line, over the characters
  of the text without newlines; dropped when ``>= 0.1``.

A text with no non-empty line is dropped as ``empty``. DataTrove's ``FineWebQualityFilter``
uses strict ``<``/``>``, ``<= 30`` characters, a 0.01 duplicate threshold and an extra
newline-per-word rule that is not in the paper; see docs/filters.md.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from gristmill.filters import spans
from gristmill.filters.base import Filter, Verdict
from gristmill.filters.rules import Rule, Span
from gristmill.filters.text_units import analyze

if TYPE_CHECKING:  # Document is only annotated: declaring filters needs no pyarrow
    from gristmill.schemas import Document

# Sentence-final marks: ASCII, CJK full-width/ideographic, Arabic/Urdu, Devanagari,
# Armenian, Ethiopic, Myanmar, interrobangs and double marks.
TERMINAL = ".!?。！？．｡؟۔।॥։።፧၊။‼⁇⁈⁉‽"
CLOSERS = "\"'”’»)]）」』"
_PUNCT_LINE = re.compile(
    "[" + re.escape(TERMINAL) + "][" + re.escape(CLOSERS) + r"]*[^\S\n]*$", re.MULTILINE
)


class FineWebQuality(Filter):
    """FineWeb's three line-level quality rules."""

    name = "fineweb_quality"
    version = "1"
    RULES = (
        Rule("too_few_punct_lines", "punct_lines_frac", "<=", "min_punct_lines_frac",
             "unpunctuated_line_spans", "lines without final punctuation"),
        Rule("too_many_short_lines", "short_lines_frac", ">=", "max_short_lines_frac",
             "short_line_spans", "short lines"),
        Rule("too_many_dup_line_chars", "dup_line_char_frac", ">=", "max_dup_line_char_frac",
             "repeated_line_spans", "repeated lines"),
    )
    # "empty" (no non-empty line) is decided in __call__, before the rules.
    reasons = ("empty", *(r.reason for r in RULES))

    def __init__(
        self,
        min_punct_lines_frac: float = 0.12,
        max_short_lines_frac: float = 0.67,
        short_line_chars: int = 30,
        max_dup_line_char_frac: float = 0.1,
    ) -> None:
        self.min_punct_lines_frac = min_punct_lines_frac
        self.max_short_lines_frac = max_short_lines_frac
        self.short_line_chars = short_line_chars
        self.max_dup_line_char_frac = max_dup_line_char_frac

    def measure(self, text: str) -> dict[str, float]:
        """All scores of one text (keys namespaced ``fineweb_quality.*``)."""
        u = analyze(text)
        lines = u.nonempty_lines
        n = len(lines)
        if not n:
            return {
                "fineweb_quality.punct_lines_frac": 0.0,
                "fineweb_quality.short_lines_frac": 0.0,
                "fineweb_quality.dup_line_char_frac": 0.0,
            }
        limit = self.short_line_chars
        short = sum(len(ln.strip()) < limit for ln in lines)
        chars = len(text) - text.count("\n")
        return {
            "fineweb_quality.punct_lines_frac": len(_PUNCT_LINE.findall(text)) / n,
            "fineweb_quality.short_lines_frac": short / n,
            "fineweb_quality.dup_line_char_frac": u.line_repeats[1] / chars,
        }

    def __call__(self, doc: Document) -> Verdict:
        s = self.measure(doc.text)
        if not analyze(doc.text).nonempty_lines:
            return self.reject("empty", 0.0, None, s)
        return self.decide(s)

    # the units each rule counts (``inspect`` highlights them) ---------------------------
    def unpunctuated_line_spans(self, text: str) -> list[Span]:
        return spans.nonempty_lines_where(text, lambda ln: not _PUNCT_LINE.search(ln))

    def short_line_spans(self, text: str) -> list[Span]:
        return spans.nonempty_lines_where(text, lambda ln: len(ln.strip()) < self.short_line_chars)

    def repeated_line_spans(self, text: str) -> list[Span]:
        return spans.repeated_lines(text)
