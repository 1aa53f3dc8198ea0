"""Find the part of a rejected document that explains its rejection.

Each function returns character spans ``(start, end)`` into the text; the terminal and HTML
renderers style them. Which finder applies is decided from the reason code (``dup_line*`` →
repeated lines, ``dup_para*`` → repeated paragraphs, ``top_Ngram*`` → the most repeated word
n-gram, ``dup_Ngram*`` → every repeated n-gram, ``special_characters.*`` → the special
characters, a ``duplicate_of`` → the words that
differ from the matched document, ``c4.*`` → the lines C4's cleaner drops, and the like for
each Gopher/FineWeb rule). Reasons with nothing to point at (too few words, a classifier's
probability) get no spans: the value and threshold say it all.
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


def repeated_ngrams(text: str, n: int) -> list[Span]:
    """Every occurrence of every word n-gram (case-folded) that occurs more than once."""
    words = list(_WORD.finditer(text))
    grams = [tuple(w.group().lower() for w in words[i : i + n]) for i in range(len(words) - n + 1)]
    counts = Counter(grams)
    return _merge([(words[i].start(), words[i + n - 1].end())
                   for i, g in enumerate(grams) if counts[g] > 1])


def lines_matching(text: str, pred) -> list[Span]:
    """Spans of the lines (stripped of their newline) for which ``pred(line)`` holds."""
    spans, pos = [], 0
    for ln in text.split("\n"):
        if pred(ln):
            spans.append((pos, pos + len(ln)))
        pos += len(ln) + 1
    return spans


def no_letter_words(text: str) -> list[Span]:
    return [m.span() for m in re.finditer(r"\S+", text) if not any(c.isalpha() for c in m.group())]


def pattern(text: str, regex: str) -> list[Span]:
    return _merge([m.span() for m in re.finditer(regex, text)])


def c4_removed_lines(text: str, params: dict | None = None) -> list[Span]:
    """Lines the C4 line cleaner drops, found by running the registered ``c4`` filter (with
    the run's params) on each line alone: a line it removes scores ``lines_removed_frac`` 1.
    C4 records only counts, so this replays its line rules on the few documents shown."""
    from gristmill.filters import available, create
    from gristmill.schemas import Document

    if "c4" not in available():
        return []
    f = create("c4", **(params or {}))
    f.setup()

    def dropped(line: str) -> bool:
        if not line.strip():
            return False
        v = f(Document(id="line", text=line))
        return v.scores.get("c4.lines_removed_frac", 0.0) >= 1.0

    return lines_matching(text, dropped)


_END_PUNCT = (".", "!", "?", '"', "'", "\u201d")
# reason (without the filter prefix) -> (finder, label); first match wins
_BY_REASON = [
    ("dup_line", lambda t: repeated_lines(t), "repeated lines"),
    ("dup_para", lambda t: repeated_paragraphs(t), "repeated paragraphs"),
    ("too_many_bullet_lines", lambda t: lines_matching(t, lambda ln: ln.lstrip()[:1] in "•‣◦⁃∙▪●-*"
                                                      and bool(ln.strip())), "bullet lines"),
    ("too_many_ellipsis_lines", lambda t: lines_matching(t, lambda ln: ln.rstrip().endswith(
        ("...", "…"))), "lines ending in an ellipsis"),
    ("too_many_ellipses", lambda t: pattern(t, r"\.\.\.|…"), "ellipses"),
    ("too_many_hashes", lambda t: pattern(t, r"#"), "# characters"),
    ("too_few_alpha_words", lambda t: no_letter_words(t), "words without a letter"),
    ("too_few_punct_lines", lambda t: lines_matching(t, lambda ln: bool(ln.strip()) and not
                                                     ln.rstrip().endswith(_END_PUNCT)),
     "lines without final punctuation"),
    ("too_many_short_lines", lambda t: lines_matching(t, lambda ln: 0 < len(ln.strip()) < 30),
     "lines under 30 characters"),
    ("special_char", lambda t: special_characters(t), "special characters"),
    ("lorem_ipsum", lambda t: pattern(t, r"(?i)lorem ipsum"), "lorem ipsum"),
    ("curly_bracket", lambda t: pattern(t, r"\{"), "curly brackets"),
]


def spans_for(
    reason: str, text: str, duplicate_text: str | None = None, c4_params: dict | None = None
) -> tuple[list[Span], str]:
    """The spans to highlight for a rejection and a label saying what they are."""
    r = reason.lower()
    short = r.split(".", 1)[-1]
    if duplicate_text is not None:
        return differing_words(text, duplicate_text), "words not in the matched document"
    m = re.search(r"(top|dup)_(\d+)gram", short)
    if m:
        n = int(m.group(2))
        if m.group(1) == "top":
            return top_ngram(text, n), f"most repeated {n}-gram"
        return repeated_ngrams(text, n), f"repeated {n}-grams"
    for needle, finder, label in _BY_REASON:
        if needle in short:
            return finder(text), label
    if r.startswith("special_characters"):
        return special_characters(text), "special characters"
    if r.startswith("c4."):
        return c4_removed_lines(text, c4_params), "lines C4 removes"
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
    lead = "[...] " if start else ""
    piece = lead + text[start:end]
    shift = start - len(lead)
    shifted = [(max(a, start) - shift, min(b, end) - shift) for a, b in spans if b > start and a < end]
    return piece, shifted, True
