"""``gopher_repetition``: Gopher's repetition rules (Rae et al. 2021, appendix A, table A1).

Definitions (lines, paragraphs and words as in ``text_units``):

- ``dup_line_frac``: of the non-empty lines, those equal to an earlier line.
  ``dup_para_frac``: the same over paragraphs.
- ``dup_line_char_frac`` / ``dup_para_char_frac``: characters of those repeated lines /
  paragraphs over ``len(text)``.
- ``top_{n}gram_char_frac`` (n = 2, 3, 4): the most frequent word n-gram (n-grams are taken
  over words; ties broken by the longest), counted only when it occurs at least twice: its
  length (words joined by one space) times its count, over ``len(text)``.
- ``dup_{n}gram_char_frac`` (n = 5..10): characters (without spaces) of the words covered by
  any occurrence of an n-gram that already occurred earlier in the document, each word counted
  once however many such n-grams overlap it, over ``len(text)``.

Where this differs from DataTrove (greedy skip-ahead dup-n-gram count, a "top" n-gram even
when it occurs once, spaCy words) is in docs/filters.md. The n-gram counts are exact: word
n-grams are numbered by repeated ``numpy.unique`` over pairs of dense ids, no hashing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gristmill.filters import spans
from gristmill.filters.base import Filter, Verdict
from gristmill.filters.rules import Rule, Span
from gristmill.filters.text_units import analyze, repeats

if TYPE_CHECKING:  # Document is only annotated: declaring filters needs no pyarrow
    from gristmill.schemas import Document

TOP_NGRAMS: tuple[tuple[int, float], ...] = ((2, 0.20), (3, 0.18), (4, 0.16))
DUP_NGRAMS: tuple[tuple[int, float], ...] = (
    (5, 0.15),
    (6, 0.14),
    (7, 0.13),
    (8, 0.12),
    (9, 0.11),
    (10, 0.10),
)


def ngram_scores(
    words: list[str], top_ns: tuple[int, ...], dup_ns: tuple[int, ...]
) -> tuple[dict[int, int], dict[int, int]]:
    """Characters in the top n-gram (for ``top_ns``) and in duplicated n-grams (``dup_ns``).

    Returns ``({n: top_chars}, {n: dup_chars})``. N-grams are numbered exactly, level by
    level: an n-gram can only occur twice if both (n-1)-grams inside it do, so each level
    pairs the ids of the repeated (n-1)-grams with the next word's id into one int64 key and
    makes the repeated ones dense again with ``numpy.unique``. Unrepeated n-grams (most of
    them in real text) are never numbered, which keeps the work proportional to repetition.
    """
    import numpy as np  # imported here: declaring the filter (`gristmill --help`) needs none

    n_words = len(words)
    max_n = max((*top_ns, *dup_ns), default=1)
    top: dict[int, int] = dict.fromkeys(top_ns, 0)
    dup: dict[int, int] = dict.fromkeys(dup_ns, 0)
    # A word's id is the position of its last occurrence: unique per word, below n_words,
    # and built by dict/zip/map in C rather than a Python loop.
    last = dict(zip(words, range(n_words), strict=True))
    if len(last) == n_words:  # no word repeats, so no n-gram repeats either
        return top, dup
    n_vocab = n_words
    wid = np.fromiter(map(last.__getitem__, words), dtype=np.int64, count=n_words)
    wlen = np.fromiter(map(len, words), dtype=np.int64, count=n_words)
    cum = np.zeros(n_words + 1, dtype=np.int64)
    np.cumsum(wlen, out=cum[1:])
    # ids[i]: dense id of the (n-1)-gram starting at i if it occurs twice or more, else -1
    counts1 = np.bincount(wid, minlength=n_vocab)
    ids = np.where(counts1[wid] >= 2, wid, -1)
    for n in range(2, min(max_n, n_words) + 1):
        pos = np.flatnonzero((ids[:-1] >= 0) & (ids[1:] >= 0))
        if not len(pos):
            break
        key = ids[pos] * n_vocab + wid[pos + (n - 1)]
        _, first, inverse, counts = np.unique(
            key, return_index=True, return_inverse=True, return_counts=True
        )
        cnt = counts[inverse]
        rep = cnt >= 2
        if not rep.any():
            break
        if n in top:
            best = int(cnt.max())
            at = pos[cnt == best]
            top[n] = best * int((cum[at + n] - cum[at]).max() + (n - 1))
        if n in dup:
            starts = pos[first[inverse] != np.arange(len(pos))]
            delta = np.bincount(starts, minlength=n_words + 1) - np.bincount(
                starts + n, minlength=n_words + 1
            )
            dup[n] = int(wlen[np.cumsum(delta[:n_words]) > 0].sum())
        ids = np.full(n_words - n + 1, -1, dtype=np.int64)
        ids[pos[rep]] = inverse[rep]
    return top, dup


class GopherRepetition(Filter):
    """Gopher's repetition rules; thresholds are the paper's table A1."""

    name = "gopher_repetition"
    version = "1"
    RULES = (
        Rule("dup_para_frac", "dup_para_frac", ">", "max_dup_para_frac",
             "repeated_paragraph_spans", "repeated paragraphs"),
        Rule("dup_para_char_frac", "dup_para_char_frac", ">", "max_dup_para_char_frac",
             "repeated_paragraph_spans", "repeated paragraphs"),
        Rule("dup_line_frac", "dup_line_frac", ">", "max_dup_line_frac",
             "repeated_line_spans", "repeated lines"),
        Rule("dup_line_char_frac", "dup_line_char_frac", ">", "max_dup_line_char_frac",
             "repeated_line_spans", "repeated lines"),
        *(Rule(f"top_{n}gram_char_frac", f"top_{n}gram_char_frac", ">",
               f"max_top_ngram_char_frac[{n}]", f"top_ngram_spans:{n}", f"most repeated {n}-gram")
          for n, _ in TOP_NGRAMS),
        *(Rule(f"dup_{n}gram_char_frac", f"dup_{n}gram_char_frac", ">",
               f"max_dup_ngram_char_frac[{n}]", f"dup_ngram_spans:{n}", f"repeated {n}-grams")
          for n, _ in DUP_NGRAMS),
    )
    reasons = tuple(r.reason for r in RULES)

    def __init__(
        self,
        max_dup_line_frac: float = 0.30,
        max_dup_para_frac: float = 0.30,
        max_dup_line_char_frac: float = 0.20,
        max_dup_para_char_frac: float = 0.20,
        max_top_ngram_char_frac: dict[int, float] | None = None,
        max_dup_ngram_char_frac: dict[int, float] | None = None,
    ) -> None:
        self.max_dup_line_frac = max_dup_line_frac
        self.max_dup_para_frac = max_dup_para_frac
        self.max_dup_line_char_frac = max_dup_line_char_frac
        self.max_dup_para_char_frac = max_dup_para_char_frac
        top = dict(TOP_NGRAMS)
        top.update({int(k): float(v) for k, v in (max_top_ngram_char_frac or {}).items()})
        dup = dict(DUP_NGRAMS)
        dup.update({int(k): float(v) for k, v in (max_dup_ngram_char_frac or {}).items()})
        if set(top) != {n for n, _ in TOP_NGRAMS} or set(dup) != {n for n, _ in DUP_NGRAMS}:
            raise ValueError(
                "gopher_repetition: top n-gram sizes are 2, 3, 4 and duplicate n-gram sizes "
                f"5..10; got {sorted(top)} and {sorted(dup)}"
            )
        self.max_top_ngram_char_frac = top
        self.max_dup_ngram_char_frac = dup

    def measure(self, text: str) -> dict[str, float]:
        """All scores of one text (keys namespaced ``gopher_repetition.*``)."""
        u = analyze(text)
        total = len(text) or 1
        paras = u.paragraphs
        lines = u.nonempty_lines
        pn, pc = repeats(paras)
        ln, lc = u.line_repeats
        s = {
            "gopher_repetition.dup_para_frac": pn / len(paras) if paras else 0.0,
            "gopher_repetition.dup_para_char_frac": pc / total,
            "gopher_repetition.dup_line_frac": ln / len(lines) if lines else 0.0,
            "gopher_repetition.dup_line_char_frac": lc / total,
        }
        top, dup = ngram_scores(
            u.words, tuple(self.max_top_ngram_char_frac), tuple(self.max_dup_ngram_char_frac)
        )
        for n, c in top.items():
            s[f"gopher_repetition.top_{n}gram_char_frac"] = c / total
        for n, c in dup.items():
            s[f"gopher_repetition.dup_{n}gram_char_frac"] = c / total
        return s

    def __call__(self, doc: Document) -> Verdict:
        return self.decide(self.measure(doc.text))

    # the units each rule counts (``inspect`` highlights them) ---------------------------
    def repeated_paragraph_spans(self, text: str) -> list[Span]:
        return spans.repeated_paragraphs(text)

    def repeated_line_spans(self, text: str) -> list[Span]:
        return spans.repeated_lines(text)

    def top_ngram_spans(self, text: str, n: int) -> list[Span]:
        return spans.top_ngram(text, n)

    def dup_ngram_spans(self, text: str, n: int) -> list[Span]:
        return spans.duplicated_ngram_words(text, n)
