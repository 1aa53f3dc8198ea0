"""``special_characters``: drop text made mostly of symbols and punctuation.

``special_chars_frac`` = characters that are neither letters, digits nor whitespace, over all
characters. "Letter" is Unicode-aware and includes combining marks (categories L* and M*), so
Devanagari vowel signs or Arabic harakat are not "special"; the underscore is special.

Default ``max_special_chars_frac = 0.25``: the threshold Data-Juicer's and BigScience-derived
``special_characters_filter`` use (``max_ratio=0.25``). Their ratio also counts whitespace and
digits as special, so on English prose (about 17% spaces) theirs is far stricter; ours rejects
only text where a quarter of all characters are symbols or punctuation (markup, code, tables,
ASCII art), which no demo prose comes near (see docs/filters.md for the measured spread).
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from gristmill.filters.base import Filter, Verdict
from gristmill.filters.rules import Rule, Span
from gristmill.filters.spans import merge
from gristmill.filters.text_units import analyze

if TYPE_CHECKING:  # Document is only annotated: declaring filters needs no pyarrow
    from gristmill.schemas import Document

_MARKS: re.Pattern[str] | None = None
# One special character: what ``CharCounts.other`` counts (``text_units``), one at a time.
_SPECIAL = re.compile(r"[^\w\s]|_")


def _marks_regex() -> re.Pattern[str]:
    """A character class of every combining mark (M*), built once on first non-ASCII text."""
    global _MARKS
    if _MARKS is None:
        ranges: list[str] = []
        start = prev = -2
        # Above U+1FFFF the only marks are the variation selectors U+E0100..U+E01EF.
        for cp in (*range(0x20000), *range(0xE0100, 0xE01F0)):
            if unicodedata.category(chr(cp))[0] == "M":
                if cp != prev + 1:
                    if start >= 0:
                        ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
                    start = cp
                prev = cp
        ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(prev))}")
        _MARKS = re.compile("[" + "".join(ranges) + "]")
    return _MARKS


def special_chars(text: str) -> int:
    """How many characters of ``text`` are neither letters (with marks), digits nor whitespace."""
    n = analyze(text).chars.other
    if n and not text.isascii():
        n -= len(_marks_regex().findall(text))
    return n


class SpecialCharacters(Filter):
    """Drop documents whose special-character fraction exceeds the threshold."""

    name = "special_characters"
    version = "1"
    reasons = ("too_many_special_chars",)
    RULES = (
        Rule("too_many_special_chars", "special_chars_frac", ">", "max_special_chars_frac",
             "special_char_spans", "special characters"),
    )

    def __init__(self, max_special_chars_frac: float = 0.25) -> None:
        if not 0 <= max_special_chars_frac <= 1:
            raise ValueError(f"special_characters: max_special_chars_frac must be in [0, 1], got {max_special_chars_frac}")
        self.max_special_chars_frac = max_special_chars_frac

    def __call__(self, doc: Document) -> Verdict:
        text = doc.text
        v = special_chars(text) / len(text) if text else 0.0
        return self.decide({"special_characters.special_chars_frac": v})

    def special_char_spans(self, text: str) -> list[Span]:
        """The characters ``special_chars`` counts (marks excluded)."""
        return merge([m.span() for m in _SPECIAL.finditer(text)
                      if text.isascii() or not _marks_regex().fullmatch(m.group())])
