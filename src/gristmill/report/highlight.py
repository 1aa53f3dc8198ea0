"""Find the part of a rejected document that explains its rejection.

Each function returns character spans ``(start, end)`` into the text; the terminal and HTML
renderers style them. Which finder applies is decided from the reason code (``*line*`` →
repeated lines, ``*para*`` → repeated paragraphs, ``*gram*`` → the most repeated word n-gram,
``special_characters.*`` → the special characters, a ``duplicate_of`` → the words that
differ from the matched document). Reasons with nothing to point at (too few words, a
classifier's probability) get no spans: the value and threshold say it all.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter

Span = tuple[int, int]

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_DIFF_WORDS = 3000  # difflib is quadratic in the worst case; longer texts are cut


def repeated_lines(text: str) -> list[Span]:
    """Every occurrence of a non-blank line that occurs more than once (after stripping)."""
    spans, pos = [], 0
    lines = text.split("\n")
    counts = Counter(ln.strip() for ln in lines if ln.strip())
    for ln in lines:
        if ln.strip() and counts[ln.strip()] > 1:
            spans.append((pos, pos + len(ln)))
        pos += len(ln) + 1
    return spans


def repeated_paragraphs(text: str) -> list[Span]:
    """Every occurrence of a paragraph (blank-line separated) that occurs more than once."""
    paras = [(m.start(), m.end()) for m in re.finditer(r"(?:[^\n]|\n(?!\s*\n))+", text)]
    counts = Counter(text[a:b].strip() for a, b in paras)
    return [(a, b) for a, b in paras if text[a:b].strip() and counts[text[a:b].strip()] > 1]


def top_ngram(text: str, n: int) -> list[Span]:
    """Occurrences of the most frequent word n-gram (case-folded), if it repeats."""
    words = list(_WORD.finditer(text))
    if len(words) < n:
        return []
    grams = Counter(
        tuple(w.group().lower() for w in words[i : i + n]) for i in range(len(words) - n + 1)
    )
    gram, count = grams.most_common(1)[0]
    if count < 2:
        return []
    spans = []
    for i in range(len(words) - n + 1):
        if tuple(w.group().lower() for w in words[i : i + n]) == gram:
            spans.append((words[i].start(), words[i + n - 1].end()))
    return _merge(spans)


def special_characters(text: str) -> list[Span]:
    """Characters that are neither letters, digits nor whitespace."""
    return _merge([(i, i + 1) for i, ch in enumerate(text) if not (ch.isalnum() or ch.isspace())])


def differing_words(text: str, other: str) -> list[Span]:
    """Words of ``text`` that are not matched in ``other`` (a word-level diff)."""
    a = list(_WORD.finditer(text))[:MAX_DIFF_WORDS]
    b = [m.group().lower() for m in _WORD.finditer(other)][:MAX_DIFF_WORDS]
    sm = difflib.SequenceMatcher(None, [m.group().lower() for m in a], b, autojunk=False)
    spans = []
    for tag, i1, i2, _, _ in sm.get_opcodes():
        if tag in ("replace", "delete") and i2 > i1:
            spans.append((a[i1].start(), a[i2 - 1].end()))
    return _merge(spans)


def spans_for(reason: str, text: str, duplicate_text: str | None = None) -> tuple[list[Span], str]:
    """The spans to highlight for a rejection and a label saying what they are."""
    r = reason.lower()
    if duplicate_text is not None:
        return differing_words(text, duplicate_text), "words not in the matched document"
    if r.startswith("special_characters"):
        return special_characters(text), "special characters"
    if "gram" in r:
        m = re.search(r"(\d+)[_-]?gram", r)
        n = int(m.group(1)) if m else 2
        return top_ngram(text, n), f"most repeated {n}-gram"
    if "para" in r:
        return repeated_paragraphs(text), "repeated paragraphs"
    if "line" in r or "dup" in r:
        return repeated_lines(text), "repeated lines"
    return [], ""


def _merge(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def clip(text: str, spans: list[Span], limit: int) -> tuple[str, list[Span], bool]:
    """Cut a text to ``limit`` characters, starting a little before the first span so the
    highlighted part is visible; returns the piece, its spans shifted, and whether cut."""
    if len(text) <= limit:
        return text, spans, False
    start = max(0, spans[0][0] - limit // 4) if spans else 0
    end = start + limit
    piece = text[start:end]
    shifted = [(max(a, start) - start, min(b, end) - start) for a, b in spans if b > start and a < end]
    return piece, shifted, True


def removed_c4_lines(metadata: dict[str, str]) -> list[str]:
    """Lines a C4-style cleaner removed, when the cleaner recorded them in metadata
    (non-numeric ``c4.*`` values); counts are summarised elsewhere."""
    out = []
    for k, v in sorted(metadata.items()):
        if k.startswith("c4.") and v and not _is_number(v):
            out.extend(ln for ln in v.split("\n") if ln.strip())
    return out


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True
