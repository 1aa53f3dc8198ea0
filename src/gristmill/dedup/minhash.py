"""MinHash signatures (datasketch), LSH band/row choice and band keys.

Signatures are computed with ``datasketch.MinHash.generator``: one MinHash is initialised
(permutations drawn once), then copied per document and filled with ``update_batch``, which
applies all permutations to all of the document's shingle hashes in one numpy operation. The
shingles are hashed once with xxhash (:func:`gristmill.dedup.shingle.shingle_hashes`) and
handed to datasketch as integers with ``hashfunc=int``, so no per-shingle Python hash call
remains inside datasketch. Compare :func:`naive_signature`, the per-shingle ``update`` loop
with datasketch's default SHA-1 hash (what ``benchmarks/dedup.py`` measures against).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache

import numpy as np
import xxhash
from datasketch import MinHash

from gristmill.dedup.shingle import shingle_hashes, shingles


class Signer:
    """Computes MinHash signatures (uint32 arrays of ``num_perm`` values) for documents."""

    def __init__(self, num_perm: int = 128, seed: int = 1, ngram: int = 5) -> None:
        self.num_perm = num_perm
        self.seed = seed
        self.ngram = ngram
        # Drawing the permutations is the costly part of a MinHash's construction; do it once.
        self._template = MinHash(num_perm=num_perm, seed=seed, hashfunc=int)

    def signatures_from_hashes(self, hash_sets: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """One signature per array of shingle hashes (an empty array gives an all-max one)."""
        gen = MinHash.generator(
            (hs.tolist() for hs in hash_sets), num_perm=self.num_perm, seed=self.seed, hashfunc=int
        )
        for m in gen:
            yield m.hashvalues

    def signature_from_hashes(self, hashes: np.ndarray) -> np.ndarray:
        """One document's signature: what ``MinHash.generator`` does per item (copy the
        initialised template, ``update_batch``), for callers that see one document at a time."""
        m = self._template.copy()
        m.update_batch(hashes.tolist())
        return m.hashvalues

    def signature(self, text: str) -> np.ndarray:
        return self.signature_from_hashes(shingle_hashes(text, self.ngram))

    def signatures(self, texts: Iterable[str]) -> Iterator[np.ndarray]:
        """Signatures for many texts, in order (the fast path benchmarked in benchmarks/dedup.py)."""
        return self.signatures_from_hashes(shingle_hashes(t, self.ngram) for t in texts)


def naive_signature(text: str, num_perm: int = 128, seed: int = 1, ngram: int = 5) -> np.ndarray:
    """The textbook datasketch loop: a fresh MinHash, ``update`` once per shingle (SHA-1).

    Kept only as the baseline for the speed benchmark and as a cross-check in tests.
    """
    m = MinHash(num_perm=num_perm, seed=seed)
    for s in shingles(text, ngram):
        m.update(s.encode("utf-8"))
    return m.hashvalues


def estimate_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """MinHash estimate: the fraction of positions where two signatures agree."""
    return float(np.count_nonzero(a == b)) / len(a)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard of two sorted unique hash arrays (two empty sets: 0, never a duplicate)."""
    if len(a) == 0 or len(b) == 0:
        return 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def detection_probability(s: np.ndarray | float, bands: int, rows: int) -> np.ndarray | float:
    """P(a pair with Jaccard ``s`` shares at least one band): the LSH S-curve 1-(1-s^r)^b."""
    return 1.0 - (1.0 - np.power(s, rows)) ** bands


@lru_cache(maxsize=64)
def optimal_bands(
    threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5
) -> tuple[int, int]:
    """(bands, rows) with bands*rows <= num_perm minimising the weighted error mass.

    The false-positive mass is the area under the S-curve below ``threshold`` (pairs that are
    not duplicates but become candidates); the false-negative mass is the area above the
    S-curve beyond ``threshold`` (duplicates never compared). Candidates are verified by exact
    Jaccard by default, so false positives cost only time while false negatives are lost for
    good; callers may weight them differently. Ties go to fewer rows-times-bands (less work).
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    lo = np.linspace(0.0, threshold, 1001)
    hi = np.linspace(threshold, 1.0, 1001)
    best: tuple[float, int, int] | None = None
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = np.trapezoid(detection_probability(lo, b, r), lo)
            fn = np.trapezoid(1.0 - detection_probability(hi, b, r), hi)
            err = fp_weight * fp + fn_weight * fn
            if best is None or err < best[0] - 1e-12:
                best = (err, b, r)
    assert best is not None
    return best[1], best[2]


def resolve_bands(
    threshold: float, num_perm: int, bands: int | None, rows: int | None, fp_weight: float = 0.5
) -> tuple[int, int]:
    """The configured (bands, rows), or the optimal pair when neither is set.

    Setting only one of the two is an error: the other is not implied.
    """
    if bands is None and rows is None:
        return optimal_bands(threshold, num_perm, fp_weight, 1.0 - fp_weight)
    if bands is None or rows is None:
        raise ValueError("dedup.minhash: set both bands and rows, or neither (derived from threshold)")
    if bands * rows > num_perm:
        raise ValueError(
            f"dedup.minhash: bands*rows = {bands}*{rows} = {bands * rows} exceeds num_perm={num_perm}"
        )
    return bands, rows


def band_keys(sig: np.ndarray, bands: int, rows: int) -> list[bytes]:
    """One key per band: the band index (2 bytes) + a 64-bit hash of the band's rows.

    Two documents share a key exactly when all ``rows`` values of that band agree (up to a
    64-bit hash collision, which verification removes). The band index keeps bands apart.
    """
    raw = np.ascontiguousarray(sig[: bands * rows], dtype=np.uint32).reshape(bands, rows)
    h = xxhash.xxh3_64_digest
    return [i.to_bytes(2, "big") + h(raw[i].tobytes()) for i in range(bands)]
