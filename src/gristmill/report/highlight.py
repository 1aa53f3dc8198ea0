"""Find the part of a rejected document that explains its rejection.

Each function returns character spans ``(start, end)`` into the text; the terminal and HTML
renderers style them. What to mark for a reason is the rejecting filter's own declaration
(``Rule.units`` in ``gristmill.filters.rules``, found with ``Filter.highlight``), so the marks
use the filter's definitions and thresholds: they cannot drift from what the filter counted.
A near-duplicate (``duplicate_of``) gets the words that differ from the matched document.
Reasons with nothing to point at (too few words, a classifier's probability) get no spans:
the value and threshold say it all.
"""

from __future__ import annotations

import difflib
import re

from gristmill.filters.spans import merge

Span = tuple[int, int]

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_DIFF_WORDS = 3000  # difflib is quadratic in the worst case; longer texts are cut


def differing_words(text: str, other: str) -> list[Span]:
    """Words of ``text`` that are not matched in ``other`` (a word-level diff)."""
    a = list(_WORD.finditer(text))[:MAX_DIFF_WORDS]
    b = [m.group().lower() for m in _WORD.finditer(other)][:MAX_DIFF_WORDS]
    sm = difflib.SequenceMatcher(None, [m.group().lower() for m in a], b, autojunk=False)
    spans = []
    for tag, i1, i2, _, _ in sm.get_opcodes():
        if tag in ("replace", "delete") and i2 > i1:
            spans.append((a[i1].start(), a[i2 - 1].end()))
    return merge(spans)


def _filter_for(reason: str, filters: list | None):
    """The filter (of the run's, else a default one) whose reason code this is."""
    for f in filters or ():
        if reason.startswith(f"{f.name}."):
            return f
    from gristmill.filters import available, create

    name = reason.split(".", 1)[0]
    return create(name) if name in available() else None


def spans_for(reason: str, text: str, duplicate_text: str | None = None,
              filters: list | None = None) -> tuple[list[Span], str]:
    """The spans to highlight for a rejection and a label saying what they are.

    ``filters``: the run's filters as configured (``whatif.declared_filters``), so the marks
    use the run's thresholds and params; a filter not among them is built with its defaults.
    """
    if duplicate_text is not None:
        return differing_words(text, duplicate_text), "words not in the matched document"
    f = _filter_for(reason, filters)
    return f.highlight(reason, text) if f is not None else ([], "")


def clip(text: str, spans: list[Span], limit: int) -> tuple[str, list[Span], bool]:
    """Cut a text to ``limit`` characters, starting a little before the first span so the
    highlighted part is visible; returns the piece, its spans shifted, and whether cut."""
    if len(text) <= limit:
        return text, spans, False
    start = max(0, spans[0][0] - limit // 4) if spans else 0
    end = start + limit
    lead = "[...] " if start else ""
    piece = lead + text[start:end]
    shift = start - len(lead)
    shifted = [(max(a, start) - shift, min(b, end) - shift) for a, b in spans if b > start and a < end]
    return piece, shifted, True
