"""Candidate pairs from LSH buckets, and union-find for clusters over a bounded edge set."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

# A bucket this size or smaller yields all of its pairs; a larger one only a spanning set of
# edges (see bucket_pairs). 32 ids -> at most 496 pairs per bucket.
MAX_ALL_PAIRS_BUCKET = 32


def bucket_pairs(ids: Iterable[str], max_all_pairs: int = MAX_ALL_PAIRS_BUCKET) -> Iterator[tuple[str, str]]:
    """Candidate pairs (a, b), a < b, from the ids of one LSH bucket.

    Small buckets give every pair, so verification sees each pair that LSH proposed. A large
    bucket (typically many near-copies of one boilerplate text) would give a quadratic number
    of pairs; it gives the star from its smallest id plus the chain of consecutive ids instead:
    2k edges that still connect the whole bucket if its members verify against their
    neighbours, and a pair missed here is usually proposed again by another band.
    """
    s = sorted(set(ids))
    if len(s) < 2:
        return
    if len(s) <= max_all_pairs:
        for i, a in enumerate(s):
            for b in s[i + 1 :]:
                yield a, b
        return
    first = s[0]
    seen = set()
    for b in s[1:]:
        seen.add((first, b))
        yield first, b
    for a, b in zip(s[1:], s[2:], strict=False):
        if (a, b) not in seen:
            yield a, b


class UnionFind:
    """Disjoint sets keyed by document id (or any ordered key: the classifier split uses
    indices); the root of every set is its smallest key.

    Union by smaller id (not by rank) makes the root the deterministic representative;
    path halving keeps finds short. Memory is one dict entry per id that appears in an edge.
    """

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        p = self.parent
        if x not in p:
            p[x] = x
            return x
        while p[x] != x:
            p[x] = p[p[x]]
            x = p[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra

    def merge(self, other: UnionFind) -> None:
        for x, px in other.parent.items():
            if x != px:
                self.union(x, px)
            else:
                self.find(x)

    def clusters(self) -> dict[str, list[str]]:
        """root -> sorted member ids."""
        out: dict[str, list[str]] = {}
        for x in self.parent:
            out.setdefault(self.find(x), []).append(x)
        for members in out.values():
            members.sort()
        return out
