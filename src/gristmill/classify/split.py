"""Leak-free train/validation/test splits: near-duplicates are grouped before splitting.

The fortune files and the SMS collection are full of near-copies (re-posted jokes, spam
templates that differ by a phone number). Split them independently and the test set quietly
measures memorisation. So: (1) documents whose preprocessed text is identical, or whose word
3-gram sets have Jaccard similarity >= ``threshold`` (MinHash LSH candidates, each pair
verified exactly), are joined into one group (union-find, so groups are transitive);
(2) whole groups go to one split, drawn at random (seeded) within each label stratum so the
label balance of each split follows the data.

A group whose members carry different labels (the same joke filed as clean in one file and
offensive in another) is resolved one way for all of its members: ``conflicts="majority"``
gives every member the majority label (a tie drops the group), ``"drop"`` drops it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

import numpy as np
import xxhash
from datasketch import MinHash, MinHashLSH

from gristmill.classify.data import Example
from gristmill.classify.preprocess import preprocess
from gristmill.dedup.components import UnionFind

SPLITS = ("train", "valid", "test")


def shingles(text: str, n: int = 3) -> set[bytes]:
    """Word n-grams of the preprocessed text; a text shorter than n words is one shingle."""
    toks = preprocess(text).split()
    if len(toks) < n:
        return {" ".join(toks).encode()}
    return {" ".join(toks[i : i + n]).encode() for i in range(len(toks) - n + 1)}


def near_duplicate_groups(
    texts: list[str], threshold: float = 0.7, num_perm: int = 64, ngram: int = 3, seed: int = 1
) -> list[int]:
    """Group index of each text (the smallest member index of its group)."""
    uf = UnionFind()  # the dedup stage's: the root of a group is its smallest index
    sets = [shingles(t, ngram) for t in texts]
    first_exact: dict[bytes, int] = {}
    for i, t in enumerate(texts):
        key = xxhash.xxh3_128_digest(preprocess(t).encode())
        if key in first_exact:
            uf.union(first_exact[key], i)
        else:
            first_exact[key] = i
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    mhs = MinHash.bulk([list(s) for s in sets], num_perm=num_perm, seed=seed)
    for i, mh in enumerate(mhs):
        for j in lsh.query(mh):
            a, b = sets[i], sets[j]
            if uf.find(i) != uf.find(j) and len(a & b) >= threshold * len(a | b):
                uf.union(i, j)
        lsh.insert(i, mh)
    return [uf.find(i) for i in range(len(texts))]


@dataclass
class SplitResult:
    train: list[Example]
    valid: list[Example]
    test: list[Example]
    groups: int  # number of near-duplicate groups
    grouped_docs: int  # documents that share a group with at least one other
    conflicting_groups: int  # groups whose members had different labels
    relabelled: int  # documents given their group's majority label
    dropped: int  # documents dropped (label ties, or conflicts="drop")

    def sizes(self) -> dict[str, int]:
        return {s: len(getattr(self, s)) for s in SPLITS}

    def stats(self) -> dict[str, int]:
        return {"groups": self.groups, "grouped_docs": self.grouped_docs,
                "conflicting_groups": self.conflicting_groups, "relabelled": self.relabelled,
                "dropped": self.dropped}


def grouped_split(
    examples: list[Example],
    valid_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
    threshold: float = 0.7,
    conflicts: str = "majority",
) -> SplitResult:
    """Split ``examples`` by near-duplicate group, stratified by (resolved) label."""
    if not (0 <= valid_fraction < 1 and 0 <= test_fraction < 1 and valid_fraction + test_fraction < 1):
        raise ValueError(f"bad split fractions valid={valid_fraction} test={test_fraction}")
    components, stats = resolve_components(examples, threshold, conflicts)
    by_label: dict[str, list[list[Example]]] = {}
    for group in components:
        by_label.setdefault(group[0].label, []).append(group)

    rng = np.random.default_rng(seed)
    out: dict[str, list[Example]] = {s: [] for s in SPLITS}
    for label in sorted(by_label):
        groups = by_label[label]
        order = rng.permutation(len(groups))
        total = sum(len(g) for g in groups)
        cut_test, cut_valid = test_fraction * total, (test_fraction + valid_fraction) * total
        seen = 0
        for k in order:
            g = groups[k]
            split = "test" if seen < cut_test else "valid" if seen < cut_valid else "train"
            out[split].extend(g)
            seen += len(g)
    # fastText's SGD reads the file in order with a decaying learning rate: a file sorted by
    # label would teach the last label last and skew every probability, so shuffle (seeded).
    for s in SPLITS:
        out[s] = [out[s][i] for i in rng.permutation(len(out[s]))]
    return SplitResult(train=out["train"], valid=out["valid"], test=out["test"], **stats)


def resolve_components(
    examples: list[Example], threshold: float = 0.7, conflicts: str = "majority"
) -> tuple[list[list[Example]], dict[str, int]]:
    """The near-duplicate groups of ``examples`` (in order of their first member), each with
    one label (``conflicts``), and the counts ``SplitResult`` reports."""
    if conflicts not in ("majority", "drop"):
        raise ValueError(f"conflicts must be 'majority' or 'drop', got {conflicts!r}")
    gid = near_duplicate_groups([e.text for e in examples], threshold=threshold)
    members: dict[int, list[int]] = {}
    for i, g in enumerate(gid):
        members.setdefault(g, []).append(i)
    components = []
    conflicting = relabelled = dropped = 0
    for idx in members.values():
        counts = Counter(examples[i].label for i in idx)
        group = [examples[i] for i in idx]
        if len(counts) > 1:
            conflicting += 1
            (top, n1), (_, n2) = counts.most_common(2)
            if conflicts == "drop" or n1 == n2:
                dropped += len(idx)
                continue
            relabelled += len(idx) - n1
            group = [e if e.label == top else replace(e, label=top) for e in group]
        components.append(group)
    stats = {"groups": len(members), "grouped_docs": sum(len(v) for v in members.values() if len(v) > 1),
             "conflicting_groups": conflicting, "relabelled": relabelled, "dropped": dropped}
    return components, stats
