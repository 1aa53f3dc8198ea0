"""The n-gram index of ``decontaminate``: normalized words, their hashes, and sorted n-gram
hashes per eval file (the method and its reasons: ``gristmill.filters.decontaminate``)."""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xxhash

from gristmill.filters.decontaminate_io import read_eval_texts

WORD = re.compile(r"[^\W_]+")
_P = np.uint64(0x100000001B3)  # odd multiplier of the polynomial n-gram hash (FNV prime)


def _fold(word: str) -> str:
    w = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in w if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """The normalized words of ``text`` (the rules: ``gristmill.filters.decontaminate``)."""
    if text.isascii():
        return WORD.findall(text.lower())
    return [w.lower() if w.isascii() else _fold(w) for w in WORD.findall(text)]


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
INDEXES: dict[tuple, EvalIndex] = {}


def index_for(files: list[str], n: int, min_words: int, text_fields: list[str]) -> EvalIndex:
    key = (tuple(files), n, min_words, tuple(text_fields))
    if key not in INDEXES:
        if len(INDEXES) >= 4:
            INDEXES.pop(next(iter(INDEXES)))
        INDEXES[key] = EvalIndex.build(files, n, min_words, text_fields)
    return INDEXES[key]


