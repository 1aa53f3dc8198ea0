"""Where the units of ``text_units`` sit in a text: character spans ``(start, end)``.

Filters declare, per rule, which units made a score (``Rule.units``); the methods that find
them are built from these locators, which use the very definitions of ``text_units`` (a line
is the text split on ``\\n``, a word a run of non-whitespace as ``str.split``, a paragraph a
run between blank lines). So ``inspect`` marks exactly what the filter counted.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator

from gristmill.filters.rules import Span
from gristmill.filters.text_units import _PARA_SPLIT

# ``\S+`` splits where ``str.split()`` does: both use Unicode's whitespace definition.
_WORD = re.compile(r"\S+")


def merge(spans: list[Span]) -> list[Span]:
    """Sorted spans with touching or overlapping ones joined."""
    out: list[Span] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def line_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, line) of every line (``text.split("\\n")``), empty ones included."""
    pos = 0
    for ln in text.split("\n"):
        yield pos, pos + len(ln), ln
        pos += len(ln) + 1


def nonempty_lines_where(text: str, pred: Callable[[str], bool]) -> list[Span]:
    """Spans of the non-empty lines (as ``nonempty_lines``) for which ``pred(line)`` holds."""
    return [(a, b) for a, b, ln in line_spans(text) if ln and not ln.isspace() and pred(ln)]


def later_copies(items: list[tuple[int, int, str]]) -> list[Span]:
    """Spans of the items equal to an earlier item: what ``text_units.repeats`` counts."""
    seen: set[str] = set()
    out = []
    for a, b, x in items:
        if x in seen:
            out.append((a, b))
        else:
            seen.add(x)
    return out


def repeated_lines(text: str) -> list[Span]:
    """Non-empty lines equal to an earlier non-empty line."""
    return later_copies([(a, b, ln) for a, b, ln in line_spans(text) if ln and not ln.isspace()])


def paragraph_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, paragraph) as ``text_units.paragraphs`` splits them."""
    body = text.strip()
    offset = len(text) - len(text.lstrip())
    out, pos = [], 0
    for m in _PARA_SPLIT.finditer(body):
        out.append((offset + pos, offset + m.start(), body[pos:m.start()]))
        pos = m.end()
    out.append((offset + pos, offset + len(body), body[pos:]))
    return [(a, b, p) for a, b, p in out if p.strip()]


def repeated_paragraphs(text: str) -> list[Span]:
    """Paragraphs equal to an earlier paragraph."""
    return later_copies(paragraph_spans(text))


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, word) of every word (``str.split``)."""
    return [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]


def words_where(text: str, pred: Callable[[str], bool]) -> list[Span]:
    return [(a, b) for a, b, w in word_spans(text) if pred(w)]


def pattern(text: str, regex: str | re.Pattern[str]) -> list[Span]:
    return merge([m.span() for m in re.finditer(regex, text)])


def top_ngram(text: str, n: int) -> list[Span]:
    """Occurrences of the most frequent word n-gram (exact words; ties to the longest), when
    it occurs at least twice: the n-gram ``gopher_repetition``'s ``top_{n}gram`` counts."""
    ws = word_spans(text)
    grams = [tuple(w for _, _, w in ws[i:i + n]) for i in range(len(ws) - n + 1)]
    if not grams:
        return []
    counts = Counter(grams)
    best = max(counts, key=lambda g: (counts[g], len(" ".join(g))))
    if counts[best] < 2:
        return []
    return merge([(ws[i][0], ws[i + n - 1][1]) for i, g in enumerate(grams) if g == best])


def duplicated_ngram_words(text: str, n: int) -> list[Span]:
    """Words covered by an occurrence of a word n-gram that occurred earlier: the words
    ``gopher_repetition``'s ``dup_{n}gram`` counts."""
    ws = word_spans(text)
    seen: set[tuple[str, ...]] = set()
    marked = [False] * len(ws)
    for i in range(len(ws) - n + 1):
        g = tuple(w for _, _, w in ws[i:i + n])
        if g in seen:
            marked[i:i + n] = [True] * n
        else:
            seen.add(g)
    out: list[Span] = []
    for i, m in enumerate(marked):  # a run of marked words is one span
        if m:
            if i and marked[i - 1]:
                out[-1] = (out[-1][0], ws[i][1])
            else:
                out.append((ws[i][0], ws[i][1]))
    return out
