"""The plain-Python dedup core: normalization, shingles, signatures, bands, union-find."""

from __future__ import annotations

import numpy as np
import pytest

from demo_util import read_jsonl
from gristmill.dedup.components import UnionFind, bucket_pairs
from gristmill.dedup.evalset import removed_by_components, true_pairs
from gristmill.dedup.minhash import (
    Signer,
    band_keys,
    detection_probability,
    estimate_jaccard,
    jaccard,
    naive_signature,
    optimal_bands,
    resolve_bands,
)
from gristmill.dedup.shingle import exact_key, fold_for_matching, shingle_hashes, shingles
from gristmill.schemas.records import Document


@pytest.fixture(scope="module")
def lit_texts(demo_dir) -> list[str]:
    return [r["text"] for r in read_jsonl(demo_dir / "corpus" / "literature.jsonl", limit=20)]


def test_normalize_folds_case_accents_digits_punctuation_space():
    assert fold_for_matching("  Café   CRÈME, 1999!\n\tNaïve_x ") == "cafe creme 0000 naive x"
    assert fold_for_matching("end.Start") == "end start"
    # Non-Latin scripts survive (letters are \w in every script); only marks are dropped.
    assert fold_for_matching("Привет, мир! Ёлка") == "привет мир елка"
    assert fold_for_matching("Ἀθῆναι") == "αθηναι"
    assert fold_for_matching("ＡＢＣ１２") == "abc00"  # full-width forms fold (NFKD)
    assert exact_key("Hello, World!") == exact_key("hello world")
    assert exact_key("Hello, World!", normalize=False) != exact_key("hello world", normalize=False)


def test_short_documents_are_one_shingle_and_empty_has_none():
    assert shingles("Hello, world!", 5) == {"hello world"}
    assert shingles("one two three four five six", 5) == {
        "one two three four five",
        "two three four five six",
    }
    assert shingles(" ... !!! ", 5) == set()
    assert len(shingle_hashes("", 5)) == 0
    h = shingle_hashes("a b c d e f g", 5)
    assert h.dtype == np.uint32 and list(h) == sorted(set(h.tolist())) and len(h) == 3


def test_signature_paths_agree_and_estimate_tracks_exact_jaccard(lit_texts):
    signer = Signer(num_perm=128, seed=1, ngram=5)
    base = lit_texts[0]
    words = base.split()
    # A real near-duplicate: every 12th word dropped.
    variant = " ".join(w for i, w in enumerate(words) if i % 12)
    bulk = list(signer.signatures([base, variant]))
    one = [signer.signature(base), signer.signature(variant)]
    assert all((a == b).all() for a, b in zip(bulk, one, strict=True))
    exact = jaccard(shingle_hashes(base, 5), shingle_hashes(variant, 5))
    assert 0.3 < exact < 0.9
    # 128 permutations: standard error sqrt(J(1-J)/128) < 0.045; allow 3 sigma.
    assert abs(estimate_jaccard(*bulk) - exact) < 0.135
    # The naive datasketch loop (SHA-1) is a different hash family but the same estimator.
    naive = [naive_signature(base), naive_signature(variant)]
    assert abs(estimate_jaccard(*naive) - exact) < 0.135
    assert estimate_jaccard(bulk[0], signer.signature(base)) == 1.0
    unrelated = signer.signature(lit_texts[5])
    assert estimate_jaccard(bulk[0], unrelated) < 0.1


def test_optimal_bands_minimise_error_and_weights_shift_the_curve():
    b, r = optimal_bands(0.8, 128)
    assert (b, r) == (9, 13)  # the equal-weight optimum (datasketch's LSH picks the same)
    b2, r2 = optimal_bands(0.8, 128, 0.05, 0.95)
    assert b2 * r2 <= 128
    # Weighting misses more raises recall at the threshold.
    assert detection_probability(0.8, b2, r2) > detection_probability(0.8, b, r) + 0.3
    assert detection_probability(0.9, b2, r2) > 0.99
    assert detection_probability(0.3, b2, r2) < 0.01
    assert resolve_bands(0.8, 128, 20, 6) == (20, 6)
    with pytest.raises(ValueError, match="exceeds num_perm"):
        resolve_bands(0.8, 128, 20, 7)
    with pytest.raises(ValueError, match="both bands and rows"):
        resolve_bands(0.8, 128, 20, None)


def test_band_keys_change_only_where_the_signature_does():
    sig = np.arange(128, dtype=np.uint32)
    keys = band_keys(sig, 16, 8)
    assert len(keys) == 16 and len(set(keys)) == 16
    other = sig.copy()
    other[20] += 1  # row 20 is in band 2
    diff = [i for i, (a, b) in enumerate(zip(keys, band_keys(other, 16, 8), strict=True)) if a != b]
    assert diff == [2]


def test_bucket_pairs_all_pairs_when_small_spanning_edges_when_large():
    assert sorted(bucket_pairs(["c", "a", "b", "a"])) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert list(bucket_pairs(["x"])) == []
    ids = [f"d{i:03d}" for i in range(100)]
    pairs = list(bucket_pairs(ids, max_all_pairs=32))
    assert len(pairs) < 2 * len(ids)
    uf = UnionFind()
    for a, b in pairs:
        assert a < b
        uf.union(a, b)
    assert list(uf.clusters()) == ["d000"]


def test_union_find_root_is_smallest_id_and_merge_is_order_free():
    edges = [("m", "z"), ("b", "m"), ("q", "r"), ("r", "c")]
    one = UnionFind()
    for a, b in edges:
        one.union(a, b)
    left, right = UnionFind(), UnionFind()
    for a, b in edges[:2]:
        left.union(a, b)
    for a, b in edges[2:]:
        right.union(a, b)
    right.merge(left)
    assert one.clusters() == right.clusters() == {"b": ["b", "m", "z"], "c": ["c", "q", "r"]}
    assert removed_by_components(edges) == {"m", "z", "q", "r"}


def test_true_pairs_equals_brute_force(lit_texts):
    words = lit_texts[1].split()[:200]
    texts = [
        " ".join(words),
        " ".join(words[:180]),
        " ".join(words[20:]),
        " ".join(lit_texts[2].split()[:200]),
        "short text",
        "Short, TEXT.",
    ]
    docs = [Document(id=f"t{i}", text=t) for i, t in enumerate(texts)]
    got = true_pairs(docs, 5)
    for i, a in enumerate(docs):
        for b in docs[i + 1 :]:
            sa, sb = shingles(a.text, 5), shingles(b.text, 5)
            j = len(sa & sb) / len(sa | sb)
            assert got.get((a.id, b.id), 0.0) == pytest.approx(j)
    assert got[("t4", "t5")] == 1.0
