"""Exact and MinHash near-duplicate dedup as Beam transforms.

Data flow of :class:`MinHashDedup` (every arrow is a Beam step; no step keeps state for the
whole corpus in one process):

    docs ──signatures──► (band key, id) ──GroupByKey──► candidate pairs ──Distinct──►
    join pairs with their two docs by id (two CoGroupByKeys) ──► exact Jaccard (verify) ──►
    edges ≥ threshold ──union-find over the edges only──► (id, representative, size) ──►
    join back to docs by id ──► kept / rejected

The union-find holds one entry per document that has at least one verified near-duplicate,
never one per corpus document (see docs/dedup.md for why that bound is the right one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from gristmill.config import DedupConfig, ExactDedupConfig, MinHashDedupConfig
from gristmill.dedup.components import UnionFind, bucket_pairs
from gristmill.dedup.minhash import Signer, band_keys, estimate_jaccard, jaccard, resolve_bands
from gristmill.dedup.shingle import exact_key, shingle_hashes
from gristmill.schemas.records import Document, Rejection

STAGE = "dedup"
EXACT_FILTER = "exact_dedup"
EXACT_REASON = "exact_dedup.duplicate"
MINHASH_FILTER = "minhash"
MINHASH_REASON = "minhash.duplicate"

_REJECTED = "rejected"
_BANDS = "bands"
_HALF = "half"
_EDGES = "edges"


def _annotate(doc: Document, prefix: str, rep: str, size: int, sim: float | None, nearest: str | None) -> Document:
    """A copy of ``doc`` carrying its cluster (Beam inputs must not be mutated in place)."""
    meta = dict(doc.metadata)
    meta[f"{prefix}.cluster"] = rep
    meta[f"{prefix}.cluster_size"] = str(size)
    if nearest is not None:
        meta[f"{prefix}.nearest"] = nearest
    scores = dict(doc.scores)
    if sim is not None:
        scores[f"{prefix}.similarity"] = sim
    return dataclasses.replace(doc, metadata=meta, scores=scores)


# ---------------------------------------------------------------- exact


class _ResolveExactGroup(beam.DoFn):
    """One group of documents with the same text hash: keep the smallest id, reject the rest."""

    def __init__(self) -> None:
        self.dups = Metrics.counter(STAGE, "exact_duplicates")

    def process(self, kv: tuple[str, Iterable[Document]]):
        _, docs = kv
        it = iter(docs)
        first = next(it)
        if next(it, None) is None:  # the common case: a unique text, no copy of the group
            yield first
            return
        # GroupByKey values can be iterated again: a first pass finds the representative, so
        # the group is streamed, never collected into a list.
        size, rep = 0, None
        for d in docs:
            size += 1
            rep = d.id if rep is None or d.id < rep else rep
        kept_rep = False
        for d in docs:
            if d.id == rep and not kept_rep:
                kept_rep = True
                yield _annotate(d, EXACT_FILTER, rep, size, None, None)
                continue
            self.dups.inc()
            doc = _annotate(d, EXACT_FILTER, rep, size, 1.0, rep)
            yield beam.pvalue.TaggedOutput(
                _REJECTED,
                Rejection(doc, STAGE, EXACT_FILTER, EXACT_REASON, 1.0, 1.0, duplicate_of=rep),
            )


class ExactDedup(beam.PTransform):
    """Documents whose (normalized) texts hash alike: one kept per group, the smallest id."""

    def __init__(self, cfg: ExactDedupConfig) -> None:
        super().__init__()
        self.cfg = cfg

    def expand(self, docs):
        normalize = self.cfg.normalize
        res = (
            docs
            | "ExactKey" >> beam.Map(lambda d: (exact_key(d.text, normalize), d))
            | "GroupByText" >> beam.GroupByKey()
            | "KeepSmallestId" >> beam.ParDo(_ResolveExactGroup()).with_outputs(_REJECTED, main="kept")
        )
        return {"kept": res.kept, "rejected": res[_REJECTED]}


# ---------------------------------------------------------------- minhash


class _SignatureFn(beam.DoFn):
    """Per document: its (band key, id) pairs, and the document keyed by id.

    Documents without any shingle (empty after normalization) get no band key: they can be
    nobody's near-duplicate (exact dedup still groups them).
    """

    def __init__(self, cfg: MinHashDedupConfig, bands: int, rows: int) -> None:
        self.cfg, self.bands, self.rows = cfg, bands, rows
        self.signer: Signer | None = None

    def setup(self) -> None:
        self.signer = Signer(self.cfg.num_perm, self.cfg.seed, self.cfg.ngram)

    def process(self, doc: Document):
        assert self.signer is not None
        hashes = shingle_hashes(doc.text, self.cfg.ngram)
        if len(hashes):
            sig = self.signer.signature_from_hashes(hashes)
            for key in band_keys(sig, self.bands, self.rows):
                yield beam.pvalue.TaggedOutput(_BANDS, (key, doc.id))
        yield doc.id, doc


def _features(signer: Signer, verify: bool, doc: Document) -> np.ndarray:
    """What a pair is compared on: the shingle-hash set (verify) or the MinHash signature."""
    hashes = shingle_hashes(doc.text, signer.ngram)
    return hashes if verify else signer.signature_from_hashes(hashes)


class _HalfEdgeFn(beam.DoFn):
    """Join 1 (by the pair's smaller id a): ship a's features to b. Passes documents through."""

    def __init__(self, cfg: MinHashDedupConfig) -> None:
        self.cfg = cfg
        self.signer: Signer | None = None

    def setup(self) -> None:
        self.signer = Signer(self.cfg.num_perm, self.cfg.seed, self.cfg.ngram)

    def process(self, kv):
        doc_id, grouped = kv
        docs = list(grouped["doc"])
        partners = list(grouped["pairs"])
        for d in docs:
            yield doc_id, d
        if partners and docs:
            feat = _features(self.signer, self.cfg.verify, docs[0]).tobytes()
            for b in partners:
                yield beam.pvalue.TaggedOutput(_HALF, (b, (doc_id, feat)))


class _VerifyFn(beam.DoFn):
    """Join 2 (by the pair's larger id b): similarity of each (a, b); edges at >= threshold.

    With ``verify`` the similarity is the exact Jaccard of the shingle sets, and a pair below
    the threshold (an LSH false positive) is dropped. Without it every LSH candidate is an
    edge, valued by its MinHash estimate (the classic, unverified MinHash-LSH dedup).
    """

    def __init__(self, cfg: MinHashDedupConfig) -> None:
        self.cfg = cfg
        self.signer: Signer | None = None
        self.false_positives = Metrics.counter(STAGE, "minhash_false_positives")
        self.candidates = Metrics.counter(STAGE, "minhash_candidate_pairs")

    def setup(self) -> None:
        self.signer = Signer(self.cfg.num_perm, self.cfg.seed, self.cfg.ngram)

    def process(self, kv):
        doc_id, grouped = kv
        docs = list(grouped["doc"])
        halves = grouped["half"]
        for d in docs:
            yield doc_id, d
        if not docs:
            return
        verify = self.cfg.verify
        dtype = np.uint32
        feat_b = None
        for a, feat_a in halves:
            if feat_b is None:
                feat_b = _features(self.signer, verify, docs[0])
            fa = np.frombuffer(feat_a, dtype=dtype)
            sim = jaccard(fa, feat_b) if verify else estimate_jaccard(fa, feat_b)
            self.candidates.inc()
            yield beam.pvalue.TaggedOutput("scored", (a, doc_id, sim))
            if verify and sim < self.cfg.threshold:
                self.false_positives.inc()
                continue
            yield beam.pvalue.TaggedOutput(_EDGES, (a, doc_id, sim))


class _UnionFindCombine(beam.CombineFn):
    """Connected components of the edge set. Partial union-finds are built where the edges
    are and merged; the state is one entry per document that has a near-duplicate."""

    def create_accumulator(self) -> UnionFind:
        return UnionFind()

    def add_input(self, acc: UnionFind, edge: tuple[str, str]) -> UnionFind:
        acc.union(edge[0], edge[1])
        return acc

    def merge_accumulators(self, accs: Iterable[UnionFind]) -> UnionFind:
        accs = iter(accs)
        out = next(accs)
        for other in accs:
            out.merge(other)
        return out

    def extract_output(self, acc: UnionFind) -> dict[str, list[str]]:
        return acc.clusters()


def _assignments(clusters: dict[str, list[str]]) -> Iterator[tuple[str, tuple[str, int]]]:
    for rep, members in sorted(clusters.items()):
        for m in members:
            yield m, (rep, len(members))


def _both_ends(edge: tuple[str, str, float]):
    a, b, sim = edge
    yield a, (sim, b)
    yield b, (sim, a)


def _best_neighbour(pairs: Iterable[tuple[float, str]]) -> tuple[float, str]:
    """Highest similarity; among equals the smallest id (deterministic under any merge order)."""
    return min(pairs, key=lambda p: (-p[0], p[1]))


class _DecideFn(beam.DoFn):
    """Final join by id: representative (smallest id of its cluster) kept, the rest rejected."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.dups = Metrics.counter(STAGE, "minhash_duplicates")

    def process(self, kv):
        doc_id, grouped = kv
        assign = list(grouped["assign"])
        best = list(grouped["best"])
        for d in grouped["doc"]:
            if not assign:
                yield d
                continue
            rep, size = assign[0]
            sim, nearest = best[0]
            doc = _annotate(d, MINHASH_FILTER, rep, size, sim, nearest)
            if doc_id == rep:
                yield doc
                continue
            self.dups.inc()
            yield beam.pvalue.TaggedOutput(
                _REJECTED,
                Rejection(doc, STAGE, MINHASH_FILTER, MINHASH_REASON, sim, self.threshold, duplicate_of=rep),
            )


class MinHashDedup(beam.PTransform):
    """Near-duplicate removal with MinHash LSH, exact verification and connected components.

    ``expand`` returns ``kept`` and ``rejected`` plus two diagnostic collections used by the
    evaluation: ``candidates`` (every LSH candidate pair with its similarity, ``(a, b, sim)``)
    and ``edges`` (the pairs accepted as near-duplicates).
    """

    def __init__(self, cfg: MinHashDedupConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.bands, self.rows = resolve_bands(
            cfg.threshold, cfg.num_perm, cfg.bands, cfg.rows, cfg.fp_weight
        )

    def expand(self, docs):
        cfg = self.cfg
        sig = docs | "Signatures" >> beam.ParDo(_SignatureFn(cfg, self.bands, self.rows)).with_outputs(
            _BANDS, main="docs"
        )
        pairs = (
            sig[_BANDS]
            | "GroupByBand" >> beam.GroupByKey()
            | "BucketPairs" >> beam.FlatMap(lambda kv: bucket_pairs(kv[1]))
            | "DistinctPairs" >> beam.Distinct()
        )
        half = (
            {"doc": sig.docs, "pairs": pairs}
            | "JoinSmallerId" >> beam.CoGroupByKey()
            | "ShipFeatures" >> beam.ParDo(_HalfEdgeFn(cfg)).with_outputs(_HALF, main="docs")
        )
        verified = (
            {"doc": half.docs, "half": half[_HALF]}
            | "JoinLargerId" >> beam.CoGroupByKey()
            | "Verify" >> beam.ParDo(_VerifyFn(cfg)).with_outputs(_EDGES, "scored", main="docs")
        )
        edges = verified[_EDGES]
        assign = (
            edges
            | "EdgeEnds" >> beam.Map(lambda e: (e[0], e[1]))
            | "Components" >> beam.CombineGlobally(_UnionFindCombine())
            | "Assign" >> beam.FlatMap(_assignments)
        )
        best = (
            edges
            | "BothEnds" >> beam.FlatMap(_both_ends)
            | "BestNeighbour" >> beam.CombinePerKey(_best_neighbour)
        )
        decided = (
            {"doc": verified.docs, "assign": assign, "best": best}
            | "JoinDecision" >> beam.CoGroupByKey()
            | "Decide" >> beam.ParDo(_DecideFn(cfg.threshold)).with_outputs(_REJECTED, main="kept")
        )
        return {
            "kept": decided.kept,
            "rejected": decided[_REJECTED],
            "candidates": verified.scored,
            "edges": edges,
        }


# ---------------------------------------------------------------- both


def _repoint(kv) -> Iterator[Rejection]:
    _, grouped = kv
    near = list(grouped["near"])
    for r in grouped["exact"]:
        yield dataclasses.replace(r, duplicate_of=near[0]) if near else r


class Deduplicate(beam.PTransform):
    """Exact dedup, then MinHash near-dup dedup; either may be off (None)."""

    def __init__(self, cfg: DedupConfig) -> None:
        super().__init__()
        self.cfg = cfg
        # Built here so a bad setting (bands*rows > num_perm) fails when the pipeline is
        # constructed, not in a worker.
        self.exact = ExactDedup(cfg.exact) if cfg.exact is not None else None
        self.minhash = MinHashDedup(cfg.minhash) if cfg.minhash is not None else None

    def expand(self, docs):
        rejected = []
        if self.exact is not None:
            out = docs | "ExactDedup" >> self.exact
            docs = out["kept"]
            rejected.append(out["rejected"])
        if self.minhash is not None:
            out = docs | "MinHashDedup" >> self.minhash
            docs = out["kept"]
            if rejected:
                # An exact group's representative may itself be a near-duplicate: point its
                # copies at the document that survives (one hop: minhash reps are all kept).
                rejected[0] = {
                    "exact": rejected[0] | "ByRepresentative" >> beam.Map(lambda r: (r.duplicate_of, r)),
                    "near": out["rejected"] | "NearById" >> beam.Map(lambda r: (r.doc.id, r.duplicate_of)),
                } | "JoinRepresentatives" >> beam.CoGroupByKey() | "Repoint" >> beam.FlatMap(_repoint)
            rejected.append(out["rejected"])
        if not rejected:
            rejected.append(docs.pipeline | "NoDedup" >> beam.Create([]))
        return {
            "kept": docs,
            "rejected": tuple(rejected) | "DedupRejections" >> beam.Flatten(),
        }
