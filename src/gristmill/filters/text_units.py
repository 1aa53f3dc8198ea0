"""What a word, a line, a paragraph and a sentence are: defined once, shared by all filters.

- line: the text split on ``\\n`` (the normalizer has already turned ``\\r\\n``/``\\r`` into
  ``\\n``); empty lines are kept by ``lines()`` and dropped by ``nonempty_lines()`` (a line is
  empty when it holds only whitespace).
- paragraph: runs of text separated by one or more blank lines (``\\n\\s*\\n``).
- word: a maximal run of non-whitespace characters (Unicode whitespace, ``str.split()``).
  Punctuation stays attached (``"end."`` is one word); rules that care (mean word length,
  stop words) say how they treat it.
  Text without spaces (Chinese, Japanese, Thai) is therefore one "word" per run, so word-count
  rules see very few, very long words: such documents are rejected by word-count and
  word-length rules unless those filters are left out for those languages. This is the
  documented, tested behaviour; see docs/filters.md.
- sentence: a run ending in ``.``, ``!``, ``?`` (or the ideographic/full-width ``。！？``),
  optionally followed by closing quotes or brackets, then whitespace or the end of the text.
  Abbreviations (``Mr. Smith``) therefore end a sentence: a deliberate, cheap rule, not a
  trained sentence splitter (see docs/filters.md for how this differs from NLTK punkt).

``analyze(text)`` returns a ``TextUnits`` whose units are computed lazily, once: every filter
of a chain asks for the same document's words and lines, and the second ask is free.
"""

from __future__ import annotations

import re

_PARA_SPLIT = re.compile(r"\n[^\S\n]*\n\s*")
# A sentence ends at terminal punctuation plus any closing quotes/brackets, before whitespace.
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])([\"'\u201d\u2019\u00bb)\]]*)\s+")


def words(text: str) -> list[str]:
    return text.split()


def lines(text: str) -> list[str]:
    return text.split("\n")


def nonempty_lines(text: str) -> list[str]:
    return [ln for ln in text.split("\n") if ln and not ln.isspace()]


def paragraphs(text: str) -> list[str]:
    return [p for p in _PARA_SPLIT.split(text.strip()) if p.strip()]


def sentences(text: str) -> list[str]:
    text = text.strip()
    if not text:
        return []
    # The capture group keeps closing quotes with the sentence they close.
    parts = _SENTENCE_END.split(text)
    out = []
    for i in range(0, len(parts), 2):
        s = parts[i] + (parts[i + 1] if i + 1 < len(parts) else "")
        if s.strip():
            out.append(s)
    return out


def count_sentences(text: str) -> int:
    """``len(sentences(text))`` without building the list (C4 counts sentences per line)."""
    text = text.strip()
    if not text:
        return 0
    return len(_SENTENCE_END.findall(text)) + 1


def repeats(items: list[str]) -> tuple[int, int]:
    """(number of items equal to an earlier item, their total characters).

    The first occurrence is the original and does not count; every later copy does.
    """
    seen: set[str] = set()
    n = chars = 0
    for x in items:
        if x in seen:
            n += 1
            chars += len(x)
        else:
            seen.add(x)
    return n, chars


class TextUnits:
    """The text units of one document, each computed on first use and then kept.

    Filters get this through ``analyze(doc.text)``; definitions are those of the module
    functions above, so ``analyze(t).words == words(t)`` always.
    """

    __slots__ = (
        "text",
        "_words",
        "_lines",
        "_nonempty_lines",
        "_paragraphs",
        "_line_repeats",
        "_chars",
    )

    def __init__(self, text: str) -> None:
        self.text = text
        self._words: list[str] | None = None
        self._lines: list[str] | None = None
        self._nonempty_lines: list[str] | None = None
        self._paragraphs: list[str] | None = None
        self._line_repeats: tuple[int, int] | None = None
        self._chars: CharCounts | None = None

    @property
    def words(self) -> list[str]:
        if self._words is None:
            self._words = self.text.split()
        return self._words

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines

    @property
    def nonempty_lines(self) -> list[str]:
        if self._nonempty_lines is None:
            self._nonempty_lines = [ln for ln in self.lines if ln and not ln.isspace()]
        return self._nonempty_lines

    @property
    def paragraphs(self) -> list[str]:
        if self._paragraphs is None:
            self._paragraphs = paragraphs(self.text)
        return self._paragraphs

    @property
    def line_repeats(self) -> tuple[int, int]:
        """(non-empty lines equal to an earlier line, their characters); Gopher and FineWeb
        both use it."""
        if self._line_repeats is None:
            self._line_repeats = repeats(self.nonempty_lines)
        return self._line_repeats

    @property
    def chars(self) -> CharCounts:
        """Character-class counts (``CharCounts``)."""
        if self._chars is None:
            self._chars = CharCounts(self.text, self.words)
        return self._chars


_CACHES: list[TextCache] = []


def clear_caches() -> None:
    """Empty every ``TextCache`` (tests, and benchmarks that compare orders of work)."""
    for c in _CACHES:
        c.clear()


class TextCache:
    """A bounded cache of values computed from a text, keyed on the text's identity.

    Why identity: the filters of a chain see the same ``doc.text`` object until a cleaner
    rewrites it, and hashing or comparing a long text would cost as much as what is cached.
    Each entry keeps a reference to its text, so the text cannot be freed while its entry
    lives and its ``id`` cannot be reused by another string; a lookup also checks ``is``.

    Why more than one entry: ``FilterChain.run_batch`` runs each filter over a whole batch
    before the next filter, so the next filter asks for the first document's units after the
    whole batch's. ``max_entries`` must be at least the batch size (``BATCH_ENTRIES``) and
    ``max_chars`` bounds the memory: the oldest entries go first (FIFO) when either bound is
    passed. Eviction only costs a recomputation, never a wrong answer. Safe for concurrent
    bundle threads: every step is one dict operation, at worst an entry is recomputed.
    """

    def __init__(self, max_entries: int, max_chars: int) -> None:
        if max_entries < 1 or max_chars < 1:
            raise ValueError("TextCache bounds must be >= 1")
        self.max_entries = max_entries
        self.max_chars = max_chars
        self._entries: dict[tuple, tuple[str, object]] = {}
        self._chars = 0
        _CACHES.append(self)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def chars(self) -> int:
        """Characters of the texts the entries hold (approximate under concurrent use)."""
        return self._chars

    def get(self, text: str, *key: object) -> object | None:
        """The value stored for this very text object (and ``key``), or None."""
        e = self._entries.get((id(text), *key))
        return e[1] if e is not None and e[0] is text else None

    def put(self, text: str, value: object, *key: object) -> None:
        k = (id(text), *key)
        old = self._entries.pop(k, None)  # a stale entry (dead text, reused id) goes first
        if old is not None:
            self._chars -= len(old[0])
        self._entries[k] = (text, value)
        self._chars += len(text)
        while len(self._entries) > 1 and (
            len(self._entries) > self.max_entries or self._chars > self.max_chars
        ):
            try:
                gone = self._entries.pop(next(iter(self._entries)))
            except (StopIteration, RuntimeError, KeyError):  # another thread got there first
                break
            self._chars -= len(gone[0])

    def clear(self) -> None:
        self._entries.clear()
        self._chars = 0


# What the shared caches hold, and so the largest batch (``FilterChain.run_batch``) whose
# texts are each analyzed once: 512 documents (measured on the demo corpus: lid.176 costs
# 52 µs/doc one document at a time, 36 in batches of 256, 31 of 512, 30 of 1,024) or 8 M
# characters of text (the units of a text take several times its size).
BATCH_ENTRIES = 512
BATCH_CHARS = 8_000_000
_UNITS = TextCache(max_entries=BATCH_ENTRIES, max_chars=BATCH_CHARS)


def analyze(text: str) -> TextUnits:
    """The ``TextUnits`` of ``text``, shared by every filter that asks while the same text
    object is recent (``TextCache``: the filters of one chain, over a batch of documents)."""
    u = _UNITS.get(text)
    if u is None:
        u = TextUnits(text)
        _UNITS.put(text, u)
    return u  # type: ignore[return-value]


# --- character classes ------------------------------------------------------------------
# "alphanumeric" is str.isalnum (Unicode letters and digits; marks are not), "alphabetic" is
# str.isalpha, "whitespace" is str.isspace (what str.split splits on). ASCII text, the common
# case, is counted with bytes.translate; other text with equivalent regexes.
_ASCII = [chr(c) for c in range(128)]
_A_NOT_ALNUM_NOT_SPACE = bytes(
    c for c in range(128) if not _ASCII[c].isalnum() and not _ASCII[c].isspace()
)
_A_NOT_ALPHA_NOT_SPACE = bytes(
    c for c in range(128) if not _ASCII[c].isalpha() and not _ASCII[c].isspace()
)
_U_NOT_ALNUM_NOT_SPACE = re.compile(r"[^\w\s]+|_+")
_U_NOT_ALPHA_NOT_SPACE = re.compile(r"(?:[^\w\s]|[\d_])+")


class CharCounts:
    """Character-class counts of one text (see ``TextUnits.chars``).

    alnum: alphanumeric characters; space: whitespace characters; other: the rest
    (punctuation, symbols, marks, underscore). alnum_words: the words (as ``words``) that hold
    at least one alphanumeric character, lower-cased and with every other non-space character
    removed (``"(The,"`` -> ``"the"``). alpha_words: how many words hold an alphabetic one.
    """

    __slots__ = ("alnum", "space", "other", "alnum_words", "alpha_words")

    def __init__(self, text: str, words: list[str]) -> None:
        n_space = len(text) - sum(map(len, words))
        if text.isascii():
            b = text.encode("ascii")
            alnum_ws = b.translate(None, _A_NOT_ALNUM_NOT_SPACE).decode("ascii")
            n_alpha_words = len(b.translate(None, _A_NOT_ALPHA_NOT_SPACE).decode("ascii").split())
        else:
            alnum_ws = _U_NOT_ALNUM_NOT_SPACE.sub("", text)
            n_alpha_words = len(_U_NOT_ALPHA_NOT_SPACE.sub("", text).split())
        self.space = n_space
        self.alnum = len(alnum_ws) - n_space
        self.other = len(text) - self.alnum - n_space
        self.alnum_words = alnum_ws.lower().split()
        self.alpha_words = n_alpha_words
