"""``decontaminate``: drop documents that share a word n-gram with an evaluation set.

Training on the test set inflates every later evaluation. GPT-3 removed training documents
sharing a 13-gram with a benchmark; DataTrove and Dolma do the same. Here, with
``eval_files: [evals/mmlu.jsonl, evals/arc.parquet]`` and ``ngram: 13`` (the default), a
document that shares any 13 consecutive words with any text of those files is rejected with
reason ``decontaminate.<file stem>`` (``decontaminate.mmlu``: the first file in
``eval_files`` order that it overlaps), or only marked in ``mode: annotate``. The rejection
record carries the evidence in ``metadata``: ``decontaminate.benchmark`` (the eval file),
``decontaminate.span`` (the overlapping passage of the document, all consecutive matching
n-grams merged, cut at 1,000 characters) and ``decontaminate.span_chars`` (``start:end`` in
the text); its ``value`` and the score ``decontaminate.matches`` count the document's
n-grams found in any eval file.

**Normalization** (both sides alike): words are maximal runs of letters and digits
(``[^\\W_]+``; punctuation and spaces separate words, so ``don't`` is ``don t``),
lowercased, accents stripped (NFKD, combining marks dropped). That is lm-evaluation-harness's
``Janitor`` (GPT-3's method: lowercase, punctuation out, whitespace split) plus the accent
folding of DataTrove's ``simplify_text``; numbers are kept as they are (a maths benchmark's
numbers are its content).

**Short eval texts.** DataTrove makes no n-gram from an eval text shorter than ``n`` words,
so a 9-word question is never matched. We match such a text *whole*: a document containing
all of its words in a row is contaminated, as long as it has at least ``min_words`` words
(default 8, GPT-3's smallest n); shorter texts (``yes``, ``Paris``, a choice letter) would
match everything and are ignored (counted in ``index_stats``).

**Eval files.** ``.jsonl`` / ``.jsonl.gz`` / ``.json`` (one JSON object per line, or a JSON
array of objects) and ``.parquet``: each record gives the strings under ``text_fields``
(default ``["text"]``); a record with none of them gives those of the usual QA layouts,
``QA_FIELDS`` (question/answer/choices, premise/hypothesis, ctx/endings, ...), each field a
separate eval text; a list gives each string, a dict (ARC's ``choices``, SQuAD's ``answers``)
its ``text``. ``.txt``: one eval text per non-blank line. A missing or unreadable file, or a
record with no usable field, is a user error naming the file and line.

**Index.** Each word is hashed once (xxh64); an n-gram's hash is a polynomial of its words'
hashes, computed for a whole document with a few numpy operations. The eval n-gram hashes
sit in one sorted ``uint64`` array per n-gram length (with the file each came from), built
once per process in ``setup()`` and cached (the chain itself is shared by a worker's
threads through ``shared.Shared``); a document's n-grams are looked up with one
``searchsorted``. ``benchmarks/decontaminate.py`` measures build time, memory and docs/s.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import xxhash

from gristmill.errors import UserError
from gristmill.filters.base import Filter, Verdict
from gristmill.filters.decontaminate_io import read_eval_texts, stem_of
from gristmill.filters.rules import Span

if TYPE_CHECKING:
    from gristmill.schemas import Document

_WORD = re.compile(r"[^\W_]+")
_P = np.uint64(0x100000001B3)  # odd multiplier of the polynomial n-gram hash (FNV prime)
MAX_SPAN_CHARS = 1000


def _fold(word: str) -> str:
    w = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in w if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The normalized words of ``text`` (see the module docstring)."""
    if text.isascii():
        return _WORD.findall(text.lower())
    return [_fold(w) for w in _WORD.findall(text)]


# word -> xxh64, per process: most words of a document were seen before, and a dict lookup
# costs a fraction of encoding and hashing. Cleared when it reaches _CACHE_WORDS entries.
_WORD_HASH: dict[str, int] = {}
_CACHE_WORDS = 1 << 20


def word_hashes(ws: list[str]) -> np.ndarray:
    cache, h = _WORD_HASH, xxhash.xxh64_intdigest
    if len(cache) > _CACHE_WORDS:
        cache.clear()
    out = list(map(cache.get, ws))
    if None in out:
        for i, (w, v) in enumerate(zip(ws, out, strict=True)):
            if v is None:
                out[i] = cache[w] = h(w.encode())
    return np.array(out, dtype=np.uint64)


_Q = np.uint64(pow(int(_P), -1, 1 << 64))  # P's inverse mod 2^64 (P is odd)
# (P^k, Q^k) for k < some length, replaced whole when grown (threads read one consistent pair)
_POWERS: list[tuple[np.ndarray, np.ndarray]] = [(np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64))]


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P^k and Q^k mod 2^64 for k < n (at least), grown by doubling and kept."""
    pq = _POWERS[0]
    if len(pq[0]) < n:
        size = max(n, 2 * len(pq[0]))
        pq = tuple(np.concatenate(([np.uint64(1)], np.cumprod(np.full(size - 1, b, dtype=np.uint64))))
                   for b in (_P, _Q))  # type: ignore[assignment]
        _POWERS[0] = pq
    return pq


def prefix_sums(wh: np.ndarray) -> np.ndarray:
    """S[k] = sum of wh[j] * Q^j for j < k (mod 2^64): every window's hash is then O(1)."""
    _, q = _powers(len(wh) + 1)
    return np.concatenate(([np.uint64(0)], np.cumsum(wh * q[:len(wh)], dtype=np.uint64)))


def ngram_hashes(sums: np.ndarray, n: int) -> np.ndarray:
    """The hash of every run of ``n`` words, from ``prefix_sums``: the polynomial
    sum of wh[j] * P^(i+n-1-j) over the window, which is P^(i+n-1) * (S[i+n] - S[i])."""
    m = len(sums) - n
    if m <= 0:
        return np.empty(0, dtype=np.uint64)
    p, _ = _powers(n + m)
    return (sums[n:] - sums[:m]) * p[n - 1:n - 1 + m]


@dataclass
class EvalIndex:
    """Sorted n-gram hashes of the eval texts, per n-gram length, with the index (in
    ``files``) of the first file each came from."""

    files: list[str]
    keys: dict[int, np.ndarray] = field(default_factory=dict)
    owner: dict[int, np.ndarray] = field(default_factory=dict)
    # A one-byte-per-slot presence table on the hashes' top bits (about 16 slots per key):
    # most of a document's n-grams are ruled out by one gather, and only the few left are
    # binary-searched (searchsorted over random needles is the costly step otherwise).
    seen: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.uint8))
    shift: np.uint64 = np.uint64(63)
    stats: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, files: list[str], n: int, min_words: int, text_fields: list[str]) -> EvalIndex:
        t0 = time.perf_counter()
        parts: dict[int, list[tuple[np.ndarray, int]]] = {}
        texts = short = ignored = 0
        for i, path in enumerate(files):
            for text in read_eval_texts(path, text_fields):
                wh = word_hashes(words(text))
                texts += 1
                if len(wh) >= n:
                    parts.setdefault(n, []).append((ngram_hashes(prefix_sums(wh), n), i))
                elif len(wh) >= min_words:
                    short += 1
                    parts.setdefault(len(wh), []).append((ngram_hashes(prefix_sums(wh), len(wh)), i))
                else:
                    ignored += 1
        index = cls(list(files))
        for length, chunks in sorted(parts.items()):
            keys = np.concatenate([h for h, _ in chunks])
            owner = np.concatenate([np.full(len(h), i, dtype=np.uint32) for h, i in chunks])
            order = np.lexsort((owner, keys))  # by hash, then file: the first file wins
            keys, owner = keys[order], owner[order]
            first = np.ones(len(keys), dtype=bool)
            first[1:] = keys[1:] != keys[:-1]
            index.keys[length], index.owner[length] = keys[first], owner[first]
        total = sum(len(k) for k in index.keys.values())
        bits = min(26, max(10, (16 * max(1, total)).bit_length()))
        index.shift = np.uint64(64 - bits)
        index.seen = np.zeros(1 << bits, dtype=np.uint8)
        for keys in index.keys.values():
            index.seen[keys >> index.shift] = 1
        index.stats = {"texts": texts, "short_texts_matched_whole": short, "texts_too_short": ignored,
                       "ngrams": sum(len(k) for k in index.keys.values()),
                       "bytes": index.seen.nbytes + sum(k.nbytes + o.nbytes for k, o in
                                                        zip(index.keys.values(), index.owner.values(), strict=True)),
                       "build_seconds": round(time.perf_counter() - t0, 3)}
        return index

    def hits(self, wh: np.ndarray) -> list[tuple[int, int, int]]:
        """(first word, n-gram length, file index) of every n-gram of a document (given its
        word hashes) found in the index, in document order."""
        out: list[tuple[int, int, int]] = []
        sums = prefix_sums(wh)
        for length, keys in self.keys.items():
            h = ngram_hashes(sums, length)
            if not len(h) or not len(keys):
                continue
            maybe = np.flatnonzero(self.seen[h >> self.shift])
            if not len(maybe):
                continue
            pos = np.minimum(np.searchsorted(keys, h[maybe]), len(keys) - 1)
            ok = keys[pos] == h[maybe]
            found, owner = maybe[ok], self.owner[length][pos[ok]]
            out.extend(zip(found.tolist(), [length] * len(found), owner.tolist(), strict=True))
        return sorted(out)


# One index per process and configuration: check_stages and the Beam workers of an
# in-process run build it once.
_INDEXES: dict[tuple, EvalIndex] = {}


def _index_for(files: list[str], n: int, min_words: int, text_fields: list[str]) -> EvalIndex:
    key = (tuple(files), n, min_words, tuple(text_fields))
    if key not in _INDEXES:
        if len(_INDEXES) >= 4:
            _INDEXES.pop(next(iter(_INDEXES)))
        _INDEXES[key] = EvalIndex.build(files, n, min_words, text_fields)
    return _INDEXES[key]


class Decontaminate(Filter):
    """Reject documents sharing an ``ngram``-word sequence with any eval text."""

    name = "decontaminate"
    version = "1"
    reasons = ()  # one per eval file, ``<file stem>``: set per instance

    def __init__(self, eval_files: list[str] | str, ngram: int = 13, text_fields: list[str] | str = ("text",),
                 min_words: int = 8) -> None:
        if isinstance(eval_files, str):
            eval_files = [eval_files]
        if isinstance(text_fields, str):
            text_fields = [text_fields]
        if not eval_files:
            raise ValueError("decontaminate: eval_files must name at least one file")
        if ngram < 1 or min_words < 1:
            raise ValueError(f"decontaminate: ngram and min_words must be >= 1, got {ngram}, {min_words}")
        stems = [stem_of(f) for f in eval_files]
        dup = sorted({s for s in stems if stems.count(s) > 1})
        if dup:
            raise ValueError(f"decontaminate: eval files share the name {dup[0]!r}; reason codes "
                             "decontaminate.<file stem> must differ: rename one")
        self.eval_files = [str(f) for f in eval_files]
        self.ngram = int(ngram)
        self.text_fields = list(text_fields)
        self.min_words = int(min_words)
        self.reasons = tuple(stems)  # type: ignore[misc]
        self._index: EvalIndex | None = None

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in super().params().items() if k != "reasons"}

    def setup(self) -> None:
        """Read the eval files and build (or reuse) the n-gram index."""
        if self._index is None:
            self._index = _index_for(self.eval_files, self.ngram, self.min_words, self.text_fields)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_index": None}  # rebuilt (or found in the cache) by setup()

    def index_stats(self) -> dict[str, Any]:
        self.setup()
        return dict(self._index.stats)  # type: ignore[union-attr]

    def _hits(self, text: str) -> list[tuple[int, int, int]]:
        self.setup()
        ws = words(text)
        if len(ws) < min(self.ngram, self.min_words):
            return []
        return self._index.hits(word_hashes(ws))  # type: ignore[union-attr]

    def __call__(self, doc: Document) -> Verdict:
        hits = self._hits(doc.text)
        scores = {"decontaminate.matches": float(len(hits))}
        if not hits:
            return Verdict(keep=True, scores=scores)
        file = min(f for _, _, f in hits)
        # the first passage found in that file, merged with the n-grams that continue it
        a, b = _char_spans(doc.text, [h for h in hits if h[2] == file])[0]
        span = doc.text[a:b]
        info = {"decontaminate.benchmark": self.eval_files[file],
                "decontaminate.span": span if len(span) <= MAX_SPAN_CHARS else span[:MAX_SPAN_CHARS] + " [...]",
                "decontaminate.span_chars": f"{a}:{b}"}
        return self.reject(self.reasons[file], float(len(hits)), None, scores, info=info)

    def highlight(self, reason: str, text: str) -> tuple[list[Span], str]:
        """Every passage of ``text`` found in the eval file behind ``reason``."""
        short = reason.removeprefix(f"{self.name}.")
        if short not in self.reasons:
            return [], ""
        try:
            hits = self._hits(text)
        except UserError:
            return [], ""  # the eval files are not readable here (a report on another machine)
        file = self.reasons.index(short)
        return _char_spans(text, [h for h in hits if h[2] == file]), f"n-grams found in {self.eval_files[file]}"


def _char_spans(text: str, hits: list[tuple[int, int, int]]) -> list[Span]:
    """Character spans of the hit n-grams, consecutive and overlapping ones merged, in order."""
    bounds = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    out: list[Span] = []
    for first, length, _ in hits:
        a, b = bounds[first][0], bounds[first + length - 1][1]
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out

