"""Text normalization and word n-gram shingles for dedup.

Two documents that differ only in case, punctuation, accents, digits or spacing are the same
document for dedup purposes, so all of those are folded away before hashing or shingling.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import xxhash

# Anything that is neither a word character nor whitespace, plus "_" (which \w includes).
_PUNCT = re.compile(r"[^\w\s]|_")
_DIGIT = re.compile(r"\d")


def fold_for_matching(text: str) -> str:
    """Lowercase, strip accents, map digits to 0, drop punctuation, collapse whitespace.

    Accents are stripped by NFKD decomposition and dropping combining marks, so ``é`` and
    ``e`` compare equal; NFKD also folds compatibility forms (full-width letters, ligatures).
    Punctuation becomes a space rather than nothing so ``end.Start`` stays two words.
    """
    t = text.lower()
    if not t.isascii():
        t = unicodedata.normalize("NFKD", t)
        t = "".join(c for c in t if not unicodedata.combining(c))
    t = _PUNCT.sub(" ", t)
    t = _DIGIT.sub("0", t)
    return " ".join(t.split())


def exact_key(text: str, normalize: bool = True) -> str:
    """128-bit hex digest identifying a document's text for exact dedup.

    128 bits keep the chance of any accidental collision negligible even at billions of
    documents (a 64-bit hash would expect one at ~4 billion).
    """
    t = fold_for_matching(text) if normalize else text
    return xxhash.xxh3_128_hexdigest(t.encode("utf-8"))


def shingles(text: str, ngram: int) -> set[str]:
    """The set of word ``ngram``-grams of the normalized text.

    A document with fewer than ``ngram`` words (but at least one) is a single shingle: its
    whole normalized text. Such a document is then a near-duplicate only of a document with
    exactly the same normalized text, which is the only sound answer for text too short to
    estimate a resemblance from. An empty normalized text has no shingles.
    """
    words = fold_for_matching(text).split()
    if not words:
        return set()
    if len(words) < ngram:
        return {" ".join(words)}
    return {" ".join(words[i : i + ngram]) for i in range(len(words) - ngram + 1)}


def shingle_hashes(text: str, ngram: int) -> np.ndarray:
    """Sorted unique 32-bit xxhash values of the document's shingles (uint32).

    MinHash signatures and exact-Jaccard verification both use these same values, so the
    verified Jaccard is exactly the quantity MinHash estimates. With 32 bits, two distinct
    shingles of a pair of 2,000-shingle documents collide with probability ~1e-3, which moves
    a Jaccard value by at most one shingle's worth: negligible next to the threshold.
    """
    h = xxhash.xxh32_intdigest
    return np.unique(
        np.fromiter((h(s.encode()) for s in shingles(text, ngram)), dtype=np.uint32)
    )
