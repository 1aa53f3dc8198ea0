"""Exact and MinHash near-duplicate dedup as Beam transforms.

The documents themselves do not travel through the dedup stages. The first step writes them
to spill files (Parquet, a few tens of MB each, under ``spill_dir``) and emits only the file
paths and the small keys; every later pass reads the spill files again. The keys of every
document (a text hash and an id for exact dedup, LSH band entries for MinHash) are grouped
through sorted files too (``SpillGroupByKey``), and so are the candidate pairs and the shingle
sets of the candidates (the verification joins). The decisions (exact groups, the candidate
ids, the near-duplicate clusters) are lookup files (``BuildLookup``): a side input carries only
their paths, and a worker keeps 16 bytes per entry. The last pass over the spill files applies
the decisions. A runner therefore never buffers or shuffles the corpus, nor its duplicates, for
dedup: the one structure that grows with the duplicates in one process is the union-find
(Beam's local runner keeps every buffered collection in memory: carrying the documents between
the dedup stages cost ~7 KB per document, and the 1M-document run lost data; see docs/dedup.md).

Data flow of :func:`deduplicate`:

    docs ─Spill─► spill files ─┬─► (text hash, id) ─SpillGroupByKey─► exact groups ─► lookup
                               ├─► band entries ─SpillGroupByKey─► candidate pairs ─► lookup of ids
                               ├─(candidate lookup)─► shingle sets ─SpillGroupByKey×2 with the pairs─┐
                               │    exact Jaccard ≥ threshold (verify) ─► edges ─union-find─► cluster lookup
                               └─(exact and cluster lookups)─► kept / rejected
    spent spill files ─► deleted

Per-process state is a few buffers, 16 bytes per lookup entry, and the union-find in the
one process that merges it; docs/dedup.md says why and what it costs.
"""

from __future__ import annotations

import dataclasses
import logging
import struct
import tempfile
import uuid
from collections.abc import Iterable, Iterator

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from gristmill.config import DedupConfig, ExactDedupConfig, MinHashDedupConfig
from gristmill.dedup.components import UnionFind, bucket_pairs
from gristmill.dedup.minhash import Signer, band_keys, estimate_jaccard, jaccard, resolve_bands
from gristmill.dedup.shingle import exact_key, shingle_hashes
from gristmill.pipelines import progress
from gristmill.pipelines.beam_util import NAMESPACE, delete_file, in_global_window
from gristmill.pipelines.lookup import BuildLookup, FileLookup, delete_lookup, open_lookup
from gristmill.pipelines.readers import file_size, parquet_batches
from gristmill.pipelines.spill_group import SpillGroupByKey
from gristmill.pipelines.transforms import ERRORS, doc_error
from gristmill.schemas.records import DOCUMENT_SCHEMA, Document, Rejection

log = logging.getLogger("gristmill")

STAGE = "dedup"
EXACT_FILTER = "exact_dedup"
EXACT_REASON = "exact_dedup.duplicate"
MINHASH_FILTER = "minhash"
MINHASH_REASON = "minhash.duplicate"

_REJECTED = "rejected"
# Value tags of the verification joins' entries (bytes): features, "ships to b", "is a larger
# id", a half edge (the smaller id and its features, on its way to the larger).
_FEAT, _AS_A, _AS_B, _HALF_TAG = b"F", b"A", b"B", b"H"
_JOIN_BATCH = 2_000
# Value tags of the cluster lookup's entries: an assignment (size, representative), an edge end.
_ASSIGN, _EDGE = b"A", b"E"
_U32, _F64 = struct.Struct("<I"), struct.Struct("<d")
_EXACT_KEYS = "exact_keys"
_SPENT = "spent"

# Band entries travel in lists of about this many (see _BandsFn).
_BAND_BATCH = 20_000
# What one union-find entry costs with ~30-character ids, measured with tracemalloc at 100k
# entries: ~115 bytes (dict slot, id strings) plus ~65 for the clusters built from it.
_UF_BYTES_PER_ENTRY = 180

# A spill file is closed after this many documents or text bytes, whichever comes first:
# small enough to spread the later passes over workers, large enough to keep files few.
SPILL_MAX_DOCS = 20_000
SPILL_MAX_BYTES = 48 << 20
_SPILL_BATCH = 2_000


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


# ---------------------------------------------------------------- spill


class _SpillFn(beam.DoFn):
    """Documents -> spill files (main output: the path of each completed file), plus
    (exact text hash, id) on the ``exact_keys`` output when exact dedup is on.

    Each bundle writes its own files under a fresh name, so a retried bundle never collides
    with its failed attempt; only the paths a successful bundle emits are read downstream,
    and an abandoned file is removed with the spill directory.
    """

    def __init__(self, spill_dir: str, exact_normalize: bool | None) -> None:
        self.spill_dir = spill_dir
        self.exact_normalize = exact_normalize
        self.spilled = Metrics.counter(NAMESPACE, "spill.bytes")

    def start_bundle(self) -> None:
        self.path: str | None = None
        self.handle = None
        self.writer: pq.ParquetWriter | None = None
        self.rows: list[dict] = []
        self.file_docs = 0
        self.file_bytes = 0

    def _write_rows(self) -> None:
        if not self.rows:
            return
        if self.writer is None:
            self.path = FileSystems.join(self.spill_dir, f"spill-{uuid.uuid4().hex}.parquet")
            self.handle = FileSystems.create(self.path)
            self.writer = pq.ParquetWriter(self.handle, DOCUMENT_SCHEMA, compression="lz4")
        self.writer.write_table(pa.Table.from_pylist(self.rows, schema=DOCUMENT_SCHEMA))
        self.rows = []

    def _close(self) -> str | None:
        self._write_rows()
        if self.writer is None:
            return None
        self.writer.close()
        self.handle.close()
        path = self.path
        self.path, self.handle, self.writer = None, None, None
        self.file_docs = self.file_bytes = 0
        self.spilled.inc(file_size(path))
        return path

    def process(self, doc: Document):
        try:
            row = _encodable(doc.to_row())
            key = exact_key(doc.text, self.exact_normalize) if self.exact_normalize is not None else None
        except Exception as e:  # one bad document is an error record, never a failed run
            yield beam.pvalue.TaggedOutput(ERRORS, doc_error(doc, "dedup", e))
            return
        if key is not None:
            yield beam.pvalue.TaggedOutput(_EXACT_KEYS, (key, doc.id))
        progress.count("dedup.spill")
        self.rows.append(row)
        self.file_docs += 1
        self.file_bytes += len(doc.text)
        if len(self.rows) >= _SPILL_BATCH:
            self._write_rows()
        if self.file_docs >= SPILL_MAX_DOCS or self.file_bytes >= SPILL_MAX_BYTES:
            yield self._close()

    def finish_bundle(self):
        path = self._close()
        if path is not None:
            yield in_global_window(path)


def _encodable(row: dict) -> dict:
    """``row`` if every string in it can be written as UTF-8 (Arrow's rule), else raise here,
    for this document alone, instead of failing the whole batch write later."""
    for k in ("id", "text", "source", "url"):
        if row[k] is not None:
            row[k].encode("utf-8")
    for k, v in row["metadata"]:
        k.encode("utf-8"), v.encode("utf-8")
    for k, _ in row["scores"]:
        k.encode("utf-8")
    return row


def read_spill(path: str, columns: list[str] | None = None) -> Iterator[dict]:
    """The rows of one spill file, in order (only ``columns`` if given)."""
    for batch in parquet_batches(path, columns, _SPILL_BATCH):
        yield from batch.to_pylist()


def _id_text(path: str) -> Iterator[tuple[str, str]]:
    for row in read_spill(path, ["id", "text"]):
        yield row["id"], row["text"]


def spill(docs, spill_dir: str, exact: ExactDedupConfig | None):
    """(spill file paths, spread over workers; exact (hash, id) keys or None; error records)."""
    out = docs | "Spill" >> beam.ParDo(
        _SpillFn(spill_dir, exact.normalize if exact is not None else None)
    ).with_outputs(_EXACT_KEYS, ERRORS, main="files")
    files = out.files | "SpreadSpillFiles" >> beam.Reshuffle()
    return files, (out[_EXACT_KEYS] if exact is not None else None), out[ERRORS]


# ---------------------------------------------------------------- exact


def _exact_groups(kv: tuple[str, Iterable[str]]) -> Iterator[list[tuple[str, bytes]]]:
    """(id, encoded (representative, group size)) for each member of a group of two or more,
    as one list per group."""
    _, ids = kv
    it = iter(ids)
    next(it)
    if next(it, None) is None:  # the common case: a unique text
        return
    members = sorted(set(ids))
    value = _encode_exact(members[0], len(members))
    yield [(m, value) for m in members]


def _encode_exact(rep: str, size: int) -> bytes:
    return _U32.pack(size) + rep.encode("utf-8", "surrogatepass")


def _decode_exact(value: bytes | None) -> tuple[str, int] | None:
    if value is None:
        return None
    return value[4:].decode("utf-8", "surrogatepass"), _U32.unpack_from(value)[0]


def _only(_key: str, values: list[bytes]) -> bytes:
    return values[0]


def exact_groups(keys, tmp_dir: str):
    """A lookup (``BuildLookup``'s parts) of id -> (representative, group size) for every
    member of an exact group of two or more, from the (text hash, id) keys written by the
    spill step, grouped through sorted files in ``tmp_dir`` (``SpillGroupByKey``: one key per
    document must not wait in the runner)."""
    return (keys | "GroupByText" >> SpillGroupByKey(tmp_dir, "exact", min_size=2)
            | "Groups" >> beam.FlatMap(_exact_groups)
            | "ExactLookup" >> BuildLookup(tmp_dir, "exact", _only))


# ---------------------------------------------------------------- minhash


class _BandsFn(beam.DoFn):
    """Per spill file: its documents' LSH band entries, (band key, id), in lists of a few
    thousand (one element per list: Beam's cost is per element).

    Band entries are the largest intermediate (bands per document): they are grouped through
    sorted files (``SpillGroupByKey``), never in the runner. Documents without any shingle
    (empty after normalization) get no entry: they are nobody's near-duplicate (exact dedup
    still groups them).
    """

    def __init__(self, cfg: MinHashDedupConfig, bands: int, rows: int) -> None:
        self.cfg, self.bands, self.rows = cfg, bands, rows
        self.signer: Signer | None = None

    def setup(self) -> None:
        self.signer = Signer(self.cfg.num_perm, self.cfg.seed, self.cfg.ngram)

    def process(self, path: str, exact: list | None):
        groups = open_lookup(exact)
        entries: list[tuple[bytes, str]] = []
        for doc_id, text in _id_text(path):
            progress.count("dedup.bands")
            g = _decode_exact(groups.get(doc_id))
            if g is None or g[0] == doc_id:  # an exact copy: its representative stands for it
                entries.extend(self._entries(doc_id, text))
            if len(entries) >= _BAND_BATCH:
                yield entries
                entries = []
        if entries:
            yield entries

    def _entries(self, doc_id: str, text: str) -> list[tuple[bytes, str]]:
        assert self.signer is not None
        hashes = shingle_hashes(text, self.cfg.ngram)
        if not len(hashes):
            return []
        sig = self.signer.signature_from_hashes(hashes)
        return [(key, doc_id) for key in band_keys(sig, self.bands, self.rows)]


def _bucket_entries(kv: tuple[bytes, list[str]]) -> Iterator[list[tuple[str, bytes]]]:
    """Join 1's entries for the candidate pairs of one LSH bucket (documents sharing a band
    key), as one list. A pair that shares several bands comes once per band: join 1 keeps one."""
    entries = [e for pair in bucket_pairs(kv[1]) for e in _pair_entries(pair)]
    if entries:
        yield entries


class _FeaturesFn(beam.DoFn):
    """Per spill file: (id, b"F" + features) for its candidate documents only, in lists (one
    element per list): the shingle-hash set (verify) or the MinHash signature, as bytes. They go
    to sorted files for the verification joins (``_ship_features``, ``_VerifyFn``)."""

    def __init__(self, cfg: MinHashDedupConfig) -> None:
        self.cfg = cfg
        self.signer: Signer | None = None

    def setup(self) -> None:
        self.signer = Signer(self.cfg.num_perm, self.cfg.seed, self.cfg.ngram)

    def process(self, path: str, candidates: list | None):
        wanted = open_lookup(candidates)
        out: list[tuple[str, bytes]] = []
        for doc_id, text in _id_text(path):
            if doc_id not in wanted:
                continue
            hashes = shingle_hashes(text, self.cfg.ngram)
            feat = hashes if self.cfg.verify else self.signer.signature_from_hashes(hashes)
            out.append((doc_id, _FEAT + feat.tobytes()))
            if len(out) >= _JOIN_BATCH:
                yield out
                out = []
        if out:
            yield out


def _pair_entries(pair: tuple[str, str]) -> list[tuple[str, bytes]]:
    """A candidate pair (a, b), a < b, as join 1's entries: a learns it ships to b, b that it
    is the larger id of some pair."""
    a, b = pair
    return [(a, _AS_A + b.encode("utf-8", "surrogatepass")), (b, _AS_B)]


def _ship_features(kv: tuple[str, list[bytes]]):
    """Join 1, by id: a document's features go to each b it is paired with as the smaller id
    (b"H" + its id and features), once per b however many bands proposed the pair; a document
    that is the larger id of some pair keeps its own (b"F") for join 2. One list per document."""
    doc_id, values = kv
    feat = next((v[1:] for v in values if v[:1] == _FEAT), None)
    if feat is None:
        return
    raw_id = doc_id.encode("utf-8", "surrogatepass")
    half = _HALF_TAG + struct.pack("<I", len(raw_id)) + raw_id + feat
    targets = dict.fromkeys(v[1:] for v in values if v[:1] == _AS_A)  # values are sorted
    out = [(b.decode("utf-8", "surrogatepass"), half) for b in targets]
    if any(v == _AS_B for v in values):
        out.append((doc_id, _FEAT + feat))
    if out:
        yield out


def _unpack_half(v: bytes) -> tuple[str, bytes]:
    (n,) = struct.unpack_from("<I", v, 1)
    return v[5:5 + n].decode("utf-8", "surrogatepass"), v[5 + n:]


class _VerifyFn(beam.DoFn):
    """Join 2 (by the pair's larger id b): similarity of each (a, b); edges at >= threshold.

    With ``verify`` the similarity is the exact Jaccard of the shingle sets, and a pair below
    the threshold (an LSH false positive) is dropped. Without it every LSH candidate is an
    edge, valued by its MinHash estimate (the classic, unverified MinHash-LSH dedup).
    """

    def __init__(self, cfg: MinHashDedupConfig) -> None:
        self.cfg = cfg
        self.false_positives = Metrics.counter(NAMESPACE, "dedup.minhash_false_positives")
        self.candidates = Metrics.counter(NAMESPACE, "dedup.minhash_candidate_pairs")

    def process(self, kv: tuple[str, list[bytes]]):
        doc_id, values = kv
        own = next((v[1:] for v in values if v[:1] == _FEAT), None)
        if own is None:
            return
        verify = self.cfg.verify
        feat_b = np.frombuffer(own, dtype=np.uint32)
        for v in values:
            if v[:1] != _HALF_TAG:
                continue
            a, feat_a = _unpack_half(v)
            fa = np.frombuffer(feat_a, dtype=np.uint32)
            sim = jaccard(fa, feat_b) if verify else estimate_jaccard(fa, feat_b)
            self.candidates.inc()
            progress.count("dedup.verify")
            yield beam.pvalue.TaggedOutput("scored", (a, doc_id, sim))
            if verify and sim < self.cfg.threshold:
                self.false_positives.inc()
                continue
            yield a, doc_id, sim


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
        # The one per-corpus structure left in one process (README, Known limitations):
        # its size is logged and counted (``dedup.union_find_entries`` in summary.json).
        clusters = acc.clusters()
        Metrics.counter(NAMESPACE, "dedup.union_find_entries").inc(len(acc.parent))
        log.info("dedup: union-find holds %d documents in %d near-duplicate clusters (~%.0f MB)",
                 len(acc.parent), len(clusters), len(acc.parent) * _UF_BYTES_PER_ENTRY / 1e6)
        return clusters


def _assign_entries(clusters: dict[str, list[str]]) -> Iterator[list[tuple[str, bytes]]]:
    """(id, b"A" + cluster size + representative) for every member, in lists."""
    out: list[tuple[str, bytes]] = []
    for rep, members in sorted(clusters.items()):
        value = _ASSIGN + _U32.pack(len(members)) + rep.encode("utf-8", "surrogatepass")
        out.extend((m, value) for m in members)
        if len(out) >= _JOIN_BATCH:
            yield out
            out = []
    if out:
        yield out


def _edge_entries(edge: tuple[str, str, float]) -> list[tuple[str, bytes]]:
    """(id, b"E" + similarity + the other end) for both ends of an edge."""
    a, b, sim = edge
    tag = _EDGE + _F64.pack(sim)
    return [(a, tag + b.encode("utf-8", "surrogatepass")), (b, tag + a.encode("utf-8", "surrogatepass"))]


def _membership(_key: str, values: list[bytes]) -> bytes | None:
    """A member's stored decision: cluster size, best similarity, representative, nearest
    neighbour (the highest similarity; among equals the smallest id, so any merge order gives
    the same). None for an id that is not in a cluster (cannot happen: edges make clusters)."""
    assign = next((v for v in values if v[:1] == _ASSIGN), None)
    best: tuple[float, str] | None = None
    for v in values:
        if v[:1] == _EDGE:
            cand = (-_F64.unpack_from(v, 1)[0], v[9:].decode("utf-8", "surrogatepass"))
            best = cand if best is None or cand < best else best
    if assign is None or best is None:
        return None
    rep = assign[5:]
    return (_U32.pack(_U32.unpack_from(assign, 1)[0]) + _F64.pack(-best[0]) + _U32.pack(len(rep)) + rep
            + best[1].encode("utf-8", "surrogatepass"))


def _decode_membership(value: bytes | None) -> tuple[str, int, float, str] | None:
    """(representative, cluster size, best similarity, nearest neighbour)."""
    if value is None:
        return None
    (size,) = _U32.unpack_from(value, 0)
    (sim,) = _F64.unpack_from(value, 4)
    (n,) = _U32.unpack_from(value, 12)
    rep = value[16:16 + n].decode("utf-8", "surrogatepass")
    return rep, size, sim, value[16 + n:].decode("utf-8", "surrogatepass")


def _present(_key: str, _values: list[bytes]) -> bytes:
    return b""


def minhash_clusters(files, cfg: MinHashDedupConfig, bands: int, rows: int, exact=None,
                     tmp_dir: str | None = None) -> dict:
    """Near-duplicate clusters of the documents in the spill ``files``: ``clusters``, a lookup
    (``BuildLookup``'s parts) of id -> (representative, size, best similarity, nearest) for
    every member of a cluster of two or more, plus the diagnostic ``edges`` and ``candidates``
    (a, b, similarity). ``exact`` (the lookup of :func:`exact_groups`, or None) keeps exact
    copies out: their representative stands for them.

    Nothing here is held by the runner in proportion to the corpus or to its duplicates but
    the union-find (README, Known limitations): the band entries, the candidate pairs, the
    verification joins and the decisions all go through sorted files.
    """
    exact_si = beam.pvalue.AsSingleton(exact) if exact is not None else None
    if tmp_dir is None:
        tmp_dir = tempfile.mkdtemp(prefix="gristmill-dedup-bands-")
    pair_entries = (
        files
        | "Bands" >> beam.ParDo(_BandsFn(cfg, bands, rows), exact=exact_si)
        | "GroupByBand" >> SpillGroupByKey(tmp_dir, "bands", min_size=2, key_type="bytes")
        | "BucketPairs" >> beam.FlatMap(_bucket_entries)
    )
    candidates = pair_entries | "CandidateLookup" >> BuildLookup(tmp_dir, "candidates", _present)
    # The verification joins go through sorted files (SpillGroupByKey), not the runner's
    # GroupByKeys: the runner would hold every candidate's shingle set two or three times over
    # (~1 KB each), a share of the corpus when a fifth of it has near-duplicates.
    feats = files | "CandidateFeatures" >> beam.ParDo(
        _FeaturesFn(cfg), candidates=beam.pvalue.AsSingleton(candidates))
    half = (
        (feats, pair_entries)
        | "JoinPairsById" >> SpillGroupByKey(tmp_dir, "join1", value_type="bytes")
        | "ShipFeatures" >> beam.FlatMap(_ship_features)
    )
    verified = (
        half
        | "JoinLargerId" >> SpillGroupByKey(tmp_dir, "join2", min_size=2, value_type="bytes")
        | "Verify" >> beam.ParDo(_VerifyFn(cfg)).with_outputs("scored", main="edges")
    )
    edges = verified.edges
    assign = (
        edges
        | "EdgeEnds" >> beam.Map(lambda e: (e[0], e[1]))
        | "Components" >> beam.CombineGlobally(_UnionFindCombine())
        | "Assign" >> beam.FlatMap(_assign_entries)
    )
    ends = edges | "BothEnds" >> beam.Map(_edge_entries)
    clusters = (assign, ends) | "ClusterLookup" >> BuildLookup(tmp_dir, "clusters", _membership)
    return {"clusters": clusters, "edges": edges, "candidates": verified.scored,
            "candidate_lookup": candidates}


def _delete_lookups(_count: int, *lookups: list[tuple[int, str]]) -> None:
    for parts in lookups:
        delete_lookup(parts)


class _ApplyFn(beam.DoFn):
    """The last pass over the spill files: applies both stages' decisions to each document,
    then names the file as spent (it can be deleted once this bundle is committed).

    Exact first: a member of an exact group that is not its representative is an
    ``exact_dedup.duplicate`` of the document that finally survives (its representative, or,
    if that was itself a near-duplicate, the near-duplicate cluster's representative). Then
    a member of a near-duplicate cluster that is not its representative is a
    ``minhash.duplicate``.
    """

    def __init__(self, threshold: float | None) -> None:
        self.threshold = threshold
        self.exact_dups = Metrics.counter(NAMESPACE, "dedup.exact_duplicates")
        self.near_dups = Metrics.counter(NAMESPACE, "dedup.minhash_duplicates")
        self.seen = Metrics.counter(NAMESPACE, "dedup.documents")

    def process(self, path: str, exact: list | None, clusters: list | None):
        groups, members = open_lookup(exact), open_lookup(clusters)
        for row in read_spill(path):
            yield from self._decide(Document.from_row(row), groups, members)
        yield beam.pvalue.TaggedOutput(_SPENT, path)

    def _decide(self, doc: Document, exact: FileLookup, clusters: FileLookup):
        self.seen.inc()
        progress.count("dedup.decide")
        g = _decode_exact(exact.get(doc.id))
        if g is not None:
            rep, size = g
            if doc.id != rep:
                self.exact_dups.inc()
                final = _decode_membership(clusters.get(rep))
                survivor = final[0] if final is not None else rep
                out = _annotate(doc, EXACT_FILTER, rep, size, 1.0, rep)
                yield beam.pvalue.TaggedOutput(
                    _REJECTED,
                    Rejection(out, STAGE, EXACT_FILTER, EXACT_REASON, 1.0, 1.0, duplicate_of=survivor),
                )
                return
            doc = _annotate(doc, EXACT_FILTER, rep, size, None, None)
        m = _decode_membership(clusters.get(doc.id))
        if m is None:
            yield doc
            return
        rep, size, sim, nearest = m
        out = _annotate(doc, MINHASH_FILTER, rep, size, sim, nearest)
        if doc.id == rep:
            yield out
            return
        self.near_dups.inc()
        yield beam.pvalue.TaggedOutput(
            _REJECTED,
            Rejection(out, STAGE, MINHASH_FILTER, MINHASH_REASON, sim, self.threshold, duplicate_of=rep),
        )


def deduplicate(
    docs,
    exact_cfg: ExactDedupConfig | None,
    minhash: MinHashDedup | None,
    spill_dir: str | None,
) -> dict:
    """The dedup graph (see the module docstring): ``kept``, ``rejected`` and, when MinHash
    is on, its diagnostic ``candidates`` and ``edges``.

    ``spill_dir`` must be reachable by every worker (a local path for local runners, a bucket
    path on Dataflow); None makes a local temporary directory, fit for local runners only.
    Each spill file is deleted once its documents have been decided.
    """
    if spill_dir is None:
        spill_dir = tempfile.mkdtemp(prefix="gristmill-dedup-spill-")
    files, keys, errors = spill(docs, spill_dir, exact_cfg)
    exact = exact_groups(keys, spill_dir) if keys is not None else None
    out: dict = {}
    clusters, threshold = None, None
    if minhash is not None:
        mh = minhash_clusters(files, minhash.cfg, minhash.bands, minhash.rows, exact,
                              tmp_dir=spill_dir)
        clusters, threshold = mh["clusters"], minhash.cfg.threshold
        out.update(candidates=mh["candidates"], edges=mh["edges"])
    res = files | "Decide" >> beam.ParDo(
        _ApplyFn(threshold),
        exact=beam.pvalue.AsSingleton(exact) if exact is not None else None,
        clusters=beam.pvalue.AsSingleton(clusters) if clusters is not None else None,
    ).with_outputs(_REJECTED, _SPENT, main="kept")
    # The Reshuffle commits the deciding bundle before its file goes (a retried bundle must
    # still find it).
    decided = res[_SPENT] | "CommitDecisions" >> beam.Reshuffle() | "DeleteSpent" >> beam.Map(delete_file)
    lookups = [lk for lk in (exact, clusters, mh["candidate_lookup"] if minhash is not None else None) if lk is not None]
    if lookups:
        # Every reader of the lookups is done once every spill file is decided.
        (decided | "AllDecided" >> beam.combiners.Count.Globally()
         | "DeleteLookups" >> beam.Map(_delete_lookups, *(beam.pvalue.AsSingleton(lk) for lk in lookups)))
    out.update(kept=res.kept, rejected=res[_REJECTED], errors=errors)
    return out


class ExactDedup(beam.PTransform):
    """Documents whose (normalized) texts hash alike: one kept per group, the smallest id.

    Ids must be unique (the pipeline's reader guarantees it).
    """

    def __init__(self, cfg: ExactDedupConfig, spill_dir: str | None = None) -> None:
        super().__init__()
        self.cfg, self.spill_dir = cfg, spill_dir

    def expand(self, docs):
        return deduplicate(docs, self.cfg, None, self.spill_dir)


class MinHashDedup(beam.PTransform):
    """Near-duplicate removal with MinHash LSH, exact verification and connected components.

    ``expand`` returns ``kept`` and ``rejected`` plus two diagnostic collections used by the
    evaluation: ``candidates`` (every LSH candidate pair with its similarity, ``(a, b, sim)``)
    and ``edges`` (the pairs accepted as near-duplicates). Ids must be unique.
    """

    def __init__(self, cfg: MinHashDedupConfig, spill_dir: str | None = None) -> None:
        super().__init__()
        self.cfg, self.spill_dir = cfg, spill_dir
        self.bands, self.rows = resolve_bands(
            cfg.threshold, cfg.num_perm, cfg.bands, cfg.rows, cfg.fp_weight
        )

    def expand(self, docs):
        return deduplicate(docs, None, self, self.spill_dir)


# ---------------------------------------------------------------- both


class Deduplicate(beam.PTransform):
    """Exact dedup, then MinHash near-dup dedup; either may be off (None).

    Exact groups are computed first and exact copies are left out of MinHash (their
    representative stands for them), then one pass applies both decisions. The result is the
    same as running ExactDedup and MinHashDedup one after the other, with one spill and one
    deciding pass fewer. ``spill_dir``: see :func:`deduplicate`.
    """

    def __init__(self, cfg: DedupConfig, spill_dir: str | None = None) -> None:
        super().__init__()
        self.cfg, self.spill_dir = cfg, spill_dir
        # Resolved here so a bad setting (bands*rows > num_perm) fails when the pipeline is
        # constructed, not in a worker.
        self.minhash = MinHashDedup(cfg.minhash) if cfg.minhash is not None else None

    def expand(self, docs):
        if self.cfg.exact is None and self.minhash is None:
            none = docs.pipeline | "NoDedup" >> beam.Create([])
            return {"kept": docs, "rejected": none, "errors": none}
        out = deduplicate(docs, self.cfg.exact, self.minhash, self.spill_dir)
        return {"kept": out["kept"], "rejected": out["rejected"], "errors": out["errors"]}
