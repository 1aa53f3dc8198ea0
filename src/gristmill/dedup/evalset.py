"""An evaluation set for dedup made from real demo text, with exact ground truth.

Near-duplicates are planted by mutating real documents (word insertions, deletions, line
shuffles, appended boilerplate) at rates aimed at a spread of Jaccard levels, next to exact
copies, the duplicates that occur naturally in the demo sources, and every other document as a
non-duplicate. The mutation rate only aims: the ground truth is always the exact Jaccard of
the two documents' shingle sets (the same shingles dedup uses), computed for *every* pair that
shares a shingle through an inverted index, so nothing is assumed about what a mutation did.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from gristmill.dedup.components import UnionFind
from gristmill.dedup.shingle import shingles
from gristmill.schemas.records import Document

MUTATIONS = ("insert", "delete", "shuffle_lines", "boilerplate", "exact")

# Realistic appended boilerplate: what crawls stick at the end of pages.
BOILERPLATE = [
    "Subscribe to our newsletter to get the latest stories delivered to your inbox every "
    "morning. You can unsubscribe at any time. Read our privacy policy and terms of service "
    "for details on how we handle your personal data and cookies on this website.",
    "Share this page on Facebook Twitter or by email. Copyright all rights reserved. No part "
    "of this publication may be reproduced without the written permission of the publisher. "
    "Contact us about advertising opportunities, careers and press inquiries.",
    "Related articles you may also like. Sign in to leave a comment below and join the "
    "discussion with other readers in our community forum. Report abuse. Back to top of page. "
    "Follow us for more updates and exclusive offers from our partners.",
]


@dataclass
class Planted:
    variant_id: str
    base_id: str
    kind: str
    rate: float


def _mutate(text: str, kind: str, rate: float, rng: random.Random, pool: list[str]) -> str:
    """Change about ``rate`` of the document in the way ``kind`` says."""
    if kind == "exact":
        return text
    if kind == "shuffle_lines":
        lines = text.split("\n")
        k = max(2, round(rate * len(lines)))
        idx = sorted(rng.sample(range(len(lines)), min(k, len(lines))))
        moved = [lines[i] for i in idx]
        rng.shuffle(moved)
        for i, line in zip(idx, moved, strict=True):
            lines[i] = line
        return "\n".join(lines)
    words = text.split()
    k = max(1, round(rate * len(words)))
    if kind == "insert":
        for _ in range(k):
            words.insert(rng.randrange(len(words) + 1), rng.choice(pool))
    elif kind == "delete":
        for _ in range(min(k, len(words) - 1)):
            del words[rng.randrange(len(words))]
    elif kind == "boilerplate":
        extra = rng.choice(BOILERPLATE).split()
        while len(extra) < k:
            extra += rng.choice(BOILERPLATE).split()
        return text + "\n" + " ".join(extra[:k])
    else:
        raise ValueError(f"unknown mutation kind {kind!r}; known: {', '.join(MUTATIONS)}")
    return " ".join(words)


def plant_duplicates(
    docs: list[Document], n_variants: int, seed: int = 0, min_words: int = 40
) -> tuple[list[Document], list[Planted]]:
    """Add ``n_variants`` mutated copies of randomly chosen documents of >= ``min_words`` words.

    Rates are drawn so that the planted Jaccard levels spread from ~0.4 to 1.0 around the 0.8
    threshold (per-shingle damage is about ngram words per edit, so small word rates already
    move Jaccard a lot). Some variants are themselves mutated again (chains A~B~C).
    """
    rng = random.Random(seed)
    long_docs = [d for d in docs if len(d.text.split()) >= min_words]
    if not long_docs:
        raise ValueError(f"no document has >= {min_words} words to plant duplicates from")
    pool = [w for d in rng.sample(long_docs, min(200, len(long_docs))) for w in d.text.split()]
    out: list[Document] = []
    planted: list[Planted] = []
    for i in range(n_variants):
        kind = MUTATIONS[i % len(MUTATIONS)]
        # A fifth of the variants derive from an earlier variant: chains.
        if planted and rng.random() < 0.2:
            base = out[rng.randrange(len(out))]
        else:
            base = rng.choice(long_docs)
        rate = {"insert": rng.uniform(0.0, 0.06), "delete": rng.uniform(0.0, 0.06),
                "shuffle_lines": rng.uniform(0.05, 0.5), "boilerplate": rng.uniform(0.02, 0.4),
                "exact": 0.0}[kind]
        text = _mutate(base.text, kind, rate, rng, pool)
        vid = f"planted/{kind}/{i:05d}"
        out.append(Document(id=vid, text=text, source="planted", metadata={"base": base.id}))
        planted.append(Planted(vid, base.id, kind, rate))
    return out, planted


def true_pairs(docs: Iterable[Document], ngram: int, min_jaccard: float = 0.0) -> dict[tuple[str, str], float]:
    """Exact Jaccard of every pair (a < b) sharing at least one shingle, if >= ``min_jaccard``.

    Through an inverted index (shingle -> documents), so the cost is the sum of squared posting
    lengths, not all n^2 pairs; a pair sharing no shingle has Jaccard 0.
    """
    sets: dict[str, set[str]] = {}
    index: dict[str, list[str]] = defaultdict(list)
    for d in docs:
        s = shingles(d.text, ngram)
        if not s:
            continue
        sets[d.id] = s
        for sh in s:
            index[sh].append(d.id)
    inter: Counter[tuple[str, str]] = Counter()
    for ids in index.values():
        if len(ids) < 2:
            continue
        ids = sorted(ids)
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                inter[(a, b)] += 1
    out = {}
    for (a, b), n in inter.items():
        j = n / (len(sets[a]) + len(sets[b]) - n)
        if j >= min_jaccard:
            out[(a, b)] = j
    return out


def removed_by_components(pairs: Iterable[tuple[str, str]]) -> set[str]:
    """Documents an ideal dedup removes given these duplicate pairs: all but the smallest id
    of each connected component (the same rule as the pipeline)."""
    uf = UnionFind()
    for a, b in pairs:
        uf.union(a, b)
    return {m for rep, members in uf.clusters().items() for m in members if m != rep}


def precision_recall(predicted: set, truth: set) -> tuple[float, float]:
    """(precision, recall); an empty predicted set has precision 1 (it claimed nothing)."""
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(truth) if truth else 1.0
    return precision, recall
